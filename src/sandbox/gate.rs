//! The gate every Graph request (and every `$batch` item) passes: request ids, seeded
//! faults (drop, hold, 503, 429), the documented limits (m365-facts B§2.3), latency,
//! counters and the request log; on the way out it renders Graph's error body.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth_check;
use super::config::Faults;
use super::error::{graph_error_json, ErrorBody, GraphFault};
use super::odata::{decode_segment, query_pairs};
use super::server::{ConnInfo, Shared};
use super::tenant::{LoggedRequest, REQUEST_LOG_CAP};
use super::throttle::{Exceeded, InFlight};

/// Marks a request dispatched from inside a `$batch` envelope.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InBatch;

/// What kind of Graph request this is, for limits and counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Class {
    /// An identity GET costing this many resource units.
    DirectoryRead(u32),
    /// An identity write (1 RU + 1 write).
    DirectoryWrite,
    /// An Outlook photo GET for this mailbox (user id).
    PhotoRead(String),
    /// An Outlook photo write for this mailbox, with its upload size.
    PhotoWrite(String, u64),
    /// The `$batch` envelope.
    Batch,
    /// Anything else.
    Other,
}

pub(crate) fn classify(shared: &Shared, method: &Method, uri: &Uri, body_len: u64) -> Class {
    let path = uri.path().strip_prefix("/v1.0").unwrap_or(uri.path());
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode_segment)
        .collect();
    match segs.as_slice() {
        [b] if b == "$batch" => Class::Batch,
        [u, key, p, ..] if u == "users" && (p == "photo" || p == "photos") => {
            let mailbox = shared
                .state()
                .resolve(key)
                .unwrap_or_else(|| key.to_lowercase());
            if method == Method::GET {
                Class::PhotoRead(mailbox)
            } else {
                Class::PhotoWrite(mailbox, body_len)
            }
        }
        [u, ..] if u == "users" && method == Method::GET => {
            // throttling-limits.md: GET users costs 2; $select −1; $top < 20 −1; min 1.
            let q = query_pairs(uri.query());
            let mut cost: u32 = 2;
            if q.iter().any(|(k, _)| k == "$select") {
                cost -= 1;
            }
            let small_top = q
                .iter()
                .any(|(k, v)| k == "$top" && v.parse::<u32>().is_ok_and(|t| t < 20));
            if small_top {
                cost = cost.saturating_sub(1);
            }
            Class::DirectoryRead(cost.max(1))
        }
        [u, ..] if u == "users" => Class::DirectoryWrite,
        _ => Class::Other,
    }
}

fn count(shared: &Shared, class: &Class, in_batch: bool) {
    let c = &shared.counters;
    let counter = match class {
        Class::DirectoryRead(_) => Some(&c.directory_reads),
        Class::PhotoRead(_) => Some(&c.photo_reads),
        Class::PhotoWrite(..) => Some(&c.photo_writes),
        Class::Batch => Some(&c.batch_envelopes),
        Class::DirectoryWrite | Class::Other => None,
    };
    if let Some(counter) = counter {
        counter.fetch_add(1, Ordering::Relaxed);
    }
    if in_batch {
        c.batch_items.fetch_add(1, Ordering::Relaxed);
    }
}

/// The middleware.
pub(crate) async fn gate(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let request_id = shared.request_id();
    let client_request_id = req
        .headers()
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty() && s.len() <= 128)
        .map_or_else(|| request_id.clone(), str::to_owned);
    let in_batch = req.extensions().get::<InBatch>().is_some();
    let conn = req
        .extensions()
        .get::<ConnectInfo<ConnInfo>>()
        .map(|c| c.0.clone());
    // Read the whole body before anything answers, as a front end does: a client then
    // always sees the answer instead of a connection closed under its upload.
    let (parts, body) = req.into_parts();
    let Some(body) = read_body(body).await else {
        // m365-facts A§1.2: 4 MB per request.
        let fault = bare_fault(StatusCode::PAYLOAD_TOO_LARGE);
        return finish(
            &shared,
            fault.into_response(),
            &request_id,
            &client_request_id,
            None,
        );
    };
    let body_len = body.len() as u64;
    let req = Request::from_parts(parts, Body::from(body));
    let class = classify(&shared, req.method(), req.uri(), body_len);
    count(&shared, &class, in_batch);
    let (method, uri) = (req.method().to_string(), req.uri().to_string());

    let mut units = None;
    let app = auth_check::check(&shared, req.headers())
        .ok()
        .map(|c| c.claims.appid);
    let response = match admit(&shared, &class, app, in_batch, conn.as_ref()).await {
        Err(refused) => refused,
        Ok((guard, ru)) => {
            units = ru;
            let response = next.run(req).await;
            drop(guard);
            response
        }
    };
    let response = finish(&shared, response, &request_id, &client_request_id, units);
    let mut s = shared.state();
    if s.log.len() >= REQUEST_LOG_CAP {
        s.log.pop_front();
    }
    s.log.push_back(LoggedRequest {
        method,
        uri,
        status: response.status().as_u16(),
        in_batch,
    });
    response
}

/// The largest request body Graph takes (m365-facts A§1.2, the REST request-size limit).
const MAX_BODY: u64 = 4 * 1024 * 1024;

/// The whole body, or None when it is over [`MAX_BODY`] (then the rest is read and
/// dropped too: at most 64 MiB, for at most 30 s).
async fn read_body(body: Body) -> Option<bytes::Bytes> {
    use futures::StreamExt as _;
    let mut stream = body.into_data_stream();
    let mut kept = Vec::new();
    let mut seen = 0usize;
    let read = async {
        while let Some(Ok(chunk)) = stream.next().await {
            seen += chunk.len();
            if seen as u64 <= MAX_BODY {
                kept.extend_from_slice(&chunk);
            } else if seen > 64 * 1024 * 1024 {
                break;
            }
        }
    };
    let whole = tokio::time::timeout(std::time::Duration::from_secs(30), read).await;
    (whole.is_ok() && seen as u64 <= MAX_BODY).then(|| bytes::Bytes::from(kept))
}

/// Faults, limits and latency; Ok carries the photo in-flight guard and RU cost.
async fn admit(
    shared: &Shared,
    class: &Class,
    app: Option<String>,
    in_batch: bool,
    conn: Option<&ConnInfo>,
) -> Result<(Option<InFlight>, Option<u32>), Response> {
    fault(shared, in_batch, conn).await?;
    let enforce = shared.config.throttle && app.is_some();
    let app = app.unwrap_or_default();
    let now = shared.clock.instant();
    let mut guard = None;
    let mut units = None;
    if enforce && *class != Class::Batch {
        if let Err((exceeded, wait)) = shared.limiter.app(&app, now) {
            return Err(throttled(shared, exceeded, wait, &app).into_response());
        }
    }
    let refused = match class {
        Class::DirectoryRead(cost) => {
            units = Some(*cost);
            enforce
                .then(|| shared.limiter.identity(&app, *cost, false, now).err())
                .flatten()
        }
        Class::DirectoryWrite => {
            units = Some(1);
            enforce
                .then(|| shared.limiter.identity(&app, 1, true, now).err())
                .flatten()
        }
        Class::PhotoRead(mailbox) | Class::PhotoWrite(mailbox, _) => {
            let bytes = match class {
                Class::PhotoWrite(_, n) => *n,
                _ => 0,
            };
            match shared.limiter.photo(&app, mailbox, bytes, enforce, now) {
                Ok(g) => {
                    guard = Some(g);
                    None
                }
                Err(e) => Some(e),
            }
        }
        Class::Batch | Class::Other => None,
    };
    if let Some((exceeded, wait)) = refused {
        return Err(throttled(shared, exceeded, wait, &app).into_response());
    }
    let latency = shared.config.latency;
    if !in_batch && !latency.is_zero() {
        tokio::select! {
            _ = tokio::time::sleep(latency) => {}
            _ = shared.shutting_down() => {}
        }
    }
    Ok((guard, units))
}

/// Seeded random failures (never a dropped connection or a hold inside `$batch`).
async fn fault(shared: &Shared, in_batch: bool, conn: Option<&ConnInfo>) -> Result<(), Response> {
    let f = shared.config.faults;
    if f == Faults::default() {
        return Ok(());
    }
    let (roll, extra) = {
        let mut rng = shared.fault_rng.lock().unwrap_or_else(|e| e.into_inner());
        (rng.unit(), rng.unit())
    };
    let mut edge = 0.0;
    if !in_batch {
        edge += f.rate_drop;
        if roll < edge {
            if let Some(conn) = conn {
                conn.kill.store(true, Ordering::Relaxed);
            }
            return Err(StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
        edge += f.rate_timeout;
        if roll < edge {
            tokio::select! {
                _ = tokio::time::sleep(Faults::TIMEOUT_HOLD) => {}
                _ = shared.shutting_down() => {}
            }
            return Err(GraphFault::new(
                StatusCode::GATEWAY_TIMEOUT,
                "GatewayTimeout",
                "The gateway did not receive a response within the specified time period.",
            )
            .into_response());
        }
    }
    let format = shared.state().variants.retry_after;
    let wait = std::time::Duration::from_secs_f64(1.0 + extra * 4.0);
    edge += f.rate_503;
    if roll < edge {
        let mut e = GraphFault::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "The service is temporarily unavailable. Please retry later.",
        );
        // m365-facts B§2.3: Retry-After may be absent; then clients back off on their own.
        if extra < 0.5 {
            e = e.with_header(header::RETRY_AFTER, format.render(wait));
        }
        return Err(e.into_response());
    }
    edge += f.rate_429;
    if roll < edge {
        return Err(GraphFault::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests. Please retry after the time in the Retry-After header.",
        )
        .with_header(header::RETRY_AFTER, format.render(wait))
        .into_response());
    }
    Ok(())
}

fn throttled(
    shared: &Shared,
    exceeded: Exceeded,
    wait: std::time::Duration,
    app: &str,
) -> GraphFault {
    let format = shared.state().variants.retry_after;
    let tenant = &shared.ids.tenant_id;
    let (code, message, scope) = match exceeded {
        Exceeded::ResourceUnits | Exceeded::Writes => (
            "Request_ThrottledTemporarily",
            "Your request is throttled temporarily. Please try after the time in the \
             Retry-After header."
                .to_string(),
            format!("Tenant_Application/ReadWrite/{tenant}/{app}"),
        ),
        Exceeded::AppRequestRate => (
            "TooManyRequests",
            "Too many requests. Please retry after the time in the Retry-After header.".to_string(),
            format!("Application/ReadWrite/{app}"),
        ),
        other => (
            "ApplicationThrottled",
            format!("Application is over its {} limit.", other.information()),
            format!("Mailbox_Application/ReadWrite/{tenant}/{app}"),
        ),
    };
    GraphFault::new(StatusCode::TOO_MANY_REQUESTS, code, message)
        .with_header(header::RETRY_AFTER, format.render(wait))
        .with_header(HeaderName::from_static("x-ms-throttle-scope"), scope)
        .with_header(
            HeaderName::from_static("x-ms-throttle-information"),
            exceeded.information().into(),
        )
}

fn finish(
    shared: &Shared,
    response: Response,
    request_id: &str,
    client_request_id: &str,
    units: Option<u32>,
) -> Response {
    match response.status() {
        StatusCode::TOO_MANY_REQUESTS => {
            shared
                .counters
                .throttled_429
                .fetch_add(1, Ordering::Relaxed);
        }
        StatusCode::SERVICE_UNAVAILABLE => {
            shared
                .counters
                .unavailable_503
                .fetch_add(1, Ordering::Relaxed);
        }
        _ => {}
    }
    // An axum rejection (body over the limit, unreadable path) has no Graph body yet:
    // it gets one too, so every error answer has Graph's shape.
    let failed = response.status().is_client_error() || response.status().is_server_error();
    let error = response
        .extensions()
        .get::<ErrorBody>()
        .cloned()
        .or_else(|| {
            failed.then(|| {
                let fault = bare_fault(response.status());
                ErrorBody {
                    code: fault.code,
                    message: fault.message,
                }
            })
        });
    let mut response = match error {
        Some(body) => {
            let json = graph_error_json(
                &body,
                &shared.clock.graph_date(),
                request_id,
                client_request_id,
            );
            let (mut parts, _) = response.into_parts();
            parts.headers.remove(header::CONTENT_LENGTH);
            parts.headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Response::from_parts(parts, Body::from(json.to_string()))
        }
        None => response,
    };
    let h = response.headers_mut();
    for (name, value) in [
        ("request-id", request_id),
        ("client-request-id", client_request_id),
    ] {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(HeaderName::from_static(name), v);
        }
    }
    if let Some(units) = units {
        h.insert(
            HeaderName::from_static("x-ms-resource-unit"),
            HeaderValue::from(units),
        );
    }
    response
}

/// Graph's code and message for an error status that no route wrote a body for.
fn bare_fault(status: StatusCode) -> GraphFault {
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "RequestEntityTooLarge",
            "The request body is larger than the 4 MB Graph accepts.",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "UnsupportedMediaType",
            "The Content-Type of the request is not supported.",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request target.",
        ),
        s if s.is_client_error() => ("BadRequest", "The request could not be read."),
        _ => ("InternalServerError", "An internal server error occurred."),
    };
    GraphFault::new(status, code, message)
}

/// Anything outside `/v1.0` and `/beta` and the token, SharePoint and HR routes: Graph
/// answers 400 `BadRequest` "Invalid version." (seen in the field:
/// msgraph-sample-blazor-clientside#94, a request without `/v1.0`).
pub(crate) async fn outside_graph(State(shared): State<Arc<Shared>>) -> Response {
    let id = shared.request_id();
    let fault = GraphFault::new(StatusCode::BAD_REQUEST, "BadRequest", "Invalid version.");
    finish(&shared, fault.into_response(), &id, &id, None)
}

/// A method a non-Graph route (token, identity, HR) does not take, in Graph's shape.
pub(crate) async fn outside_method(State(shared): State<Arc<Shared>>) -> Response {
    let id = shared.request_id();
    finish(
        &shared,
        GraphFault::method_not_allowed().into_response(),
        &id,
        &id,
        None,
    )
}

/// Unknown Graph path.
pub(crate) async fn not_found(uri: Uri) -> GraphFault {
    // Inside the nested router the path has lost its `/v1.0` already.
    let path = uri.path().trim_start_matches('/');
    let seg = path
        .strip_prefix("v1.0/")
        .unwrap_or(path)
        .split('/')
        .next()
        .map(decode_segment)
        .unwrap_or_default();
    GraphFault::new(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        format!("Resource not found for the segment '{seg}'."),
    )
}

/// A method the route does not have.
pub(crate) async fn method_not_allowed() -> GraphFault {
    GraphFault::method_not_allowed()
}
