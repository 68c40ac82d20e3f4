//! `POST /v1.0/$batch` (m365-facts B§2.2): at most 20 requests with unique ids and
//! relative urls, each dispatched through the same Graph router (so each is checked and
//! throttled on its own), `dependsOn` honoured with 424 for failed dependencies, and the
//! responses returned in a seeded shuffled order.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use tower::ServiceExt as _;

use super::auth_check::Caller;
use super::error::GraphFault;
use super::gate::InBatch;
use super::server::Shared;

/// json-batching.md: "JSON batch requests are currently limited to 20 individual requests."
pub(crate) const MAX_REQUESTS: usize = 20;
/// Largest inner response body read back.
const MAX_ITEM_BODY: usize = 16 * 1024 * 1024;

/// One parsed request of the envelope.
#[derive(Debug, Clone)]
struct Item {
    id: String,
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Value>,
    depends_on: Vec<String>,
}

fn malformed(message: impl Into<String>) -> GraphFault {
    GraphFault::new(StatusCode::BAD_REQUEST, "BadRequest", message)
}

fn parse(body: &Bytes) -> Result<Vec<Item>, GraphFault> {
    let v: Value =
        serde_json::from_slice(body).map_err(|_| malformed("Invalid batch payload format."))?;
    let requests = v
        .get("requests")
        .and_then(Value::as_array)
        .ok_or_else(|| malformed("Invalid batch payload format: 'requests' array is missing."))?;
    if requests.is_empty() {
        return Err(malformed(
            "Invalid batch payload format: 'requests' is empty.",
        ));
    }
    if requests.len() > MAX_REQUESTS {
        return Err(malformed(format!(
            "Number of requests inside batch exceeds the limit of {MAX_REQUESTS}."
        )));
    }
    let mut items = Vec::with_capacity(requests.len());
    let mut ids = HashSet::new();
    for r in requests {
        let field = |k: &str| r.get(k).and_then(Value::as_str);
        let id = field("id").ok_or_else(|| malformed("Each request must have an 'id'."))?;
        if !ids.insert(id.to_string()) {
            return Err(malformed(format!(
                "Request id '{id}' is not unique within the batch."
            )));
        }
        let method = field("method")
            .and_then(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok())
            .ok_or_else(|| malformed(format!("Request '{id}' has no valid 'method'.")))?;
        let url = field("url").ok_or_else(|| malformed(format!("Request '{id}' has no 'url'.")))?;
        if url.contains("://") {
            return Err(malformed(format!(
                "Request '{id}': the url must be relative."
            )));
        }
        let headers: Vec<(String, String)> = r
            .get("headers")
            .and_then(Value::as_object)
            .map(|h| {
                h.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let body = r.get("body").cloned();
        if body.is_some()
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            return Err(malformed(format!(
                "Request '{id}': a Content-Type header is required when a body is present."
            )));
        }
        let depends_on: Vec<String> = r
            .get("dependsOn")
            .and_then(Value::as_array)
            .map(|d| {
                d.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        items.push(Item {
            id: id.to_string(),
            method,
            url: url.to_string(),
            headers,
            body,
            depends_on,
        });
    }
    for it in &items {
        if let Some(d) = it.depends_on.iter().find(|d| !ids.contains(*d)) {
            return Err(malformed(format!(
                "Request '{}' depends on unknown request '{d}'.",
                it.id
            )));
        }
    }
    Ok(items)
}

/// `POST /$batch`.
pub(crate) async fn batch(
    State(shared): State<Arc<Shared>>,
    _caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, GraphFault> {
    let items = parse(&body)?;
    let mut status: HashMap<String, u16> = HashMap::new();
    let mut responses: Vec<Value> = Vec::with_capacity(items.len());
    let mut pending: Vec<Item> = items;
    while !pending.is_empty() {
        let (ready, waiting): (Vec<Item>, Vec<Item>) = pending
            .into_iter()
            .partition(|it| it.depends_on.iter().all(|d| status.contains_key(d)));
        if ready.is_empty() {
            // A dependency cycle: nothing can run.
            for it in &waiting {
                status.insert(it.id.clone(), 424);
                responses.push(failed_dependency(&shared, &it.id));
            }
            break;
        }
        let runs = ready.into_iter().map(|it| {
            let shared = Arc::clone(&shared);
            let headers = headers.clone();
            let dep_failed = it
                .depends_on
                .iter()
                .any(|d| status.get(d).is_none_or(|s| !(200..300).contains(s)));
            async move {
                if dep_failed {
                    (it.id.clone(), 424, failed_dependency(&shared, &it.id))
                } else {
                    run(&shared, &headers, it).await
                }
            }
        });
        for (id, code, value) in futures::future::join_all(runs).await {
            status.insert(id, code);
            responses.push(value);
        }
        pending = waiting;
    }
    // json-batching.md: responses may come back in any order.
    shared
        .batch_rng
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .shuffle(&mut responses);
    Ok(Json(json!({ "responses": responses })))
}

fn failed_dependency(shared: &Shared, id: &str) -> Value {
    json!({
        "id": id,
        "status": 424,
        "headers": {"Content-Type": "application/json"},
        "body": {"error": {
            "code": "FailedDependency",
            "message": "The request was not run because a request it depends on failed.",
            "innerError": {"date": shared.clock.graph_date(), "request-id": shared.request_id()},
        }},
    })
}

fn item_error(id: &str, status: u16, message: &str) -> (String, u16, Value) {
    let v = json!({
        "id": id,
        "status": status,
        "headers": {"Content-Type": "application/json"},
        "body": {"error": {"code": "BadRequest", "message": message}},
    });
    (id.to_string(), status, v)
}

/// Dispatch one item through the Graph router and turn the answer into JSON.
async fn run(shared: &Arc<Shared>, outer: &HeaderMap, it: Item) -> (String, u16, Value) {
    let path = format!("/v1.0/{}", it.url.trim_start_matches('/'));
    if path.starts_with("/v1.0/$batch") {
        return item_error(&it.id, 400, "A batch cannot contain another batch.");
    }
    let content_type = it
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.to_ascii_lowercase());
    let body = match (&it.body, content_type.as_deref()) {
        (None, _) => Vec::new(),
        (Some(Value::String(s)), Some(ct)) if !ct.contains("json") => match STANDARD.decode(s) {
            Ok(b) => b,
            Err(_) => return item_error(&it.id, 400, "The body is not valid base64."),
        },
        (Some(v), _) => v.to_string().into_bytes(),
    };
    let mut builder = Request::builder().method(it.method.clone()).uri(&path);
    for name in [
        header::AUTHORIZATION,
        HeaderName::from_static("client-request-id"),
    ] {
        if let Some(v) = outer.get(&name) {
            builder = builder.header(name, v.clone());
        }
    }
    for (k, v) in &it.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    builder = builder.header(header::CONTENT_LENGTH, body.len());
    let Ok(mut req) = builder.body(Body::from(body)) else {
        return item_error(&it.id, 400, "The request url or headers are invalid.");
    };
    req.extensions_mut().insert(InBatch);
    let Some(router) = shared.graph.get().cloned() else {
        return item_error(&it.id, 500, "The batch dispatcher is not ready.");
    };
    let response = match router.oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let status = response.status().as_u16();
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, MAX_ITEM_BODY).await.unwrap_or_default();
    let mut headers = Map::new();
    for (name, value) in &parts.headers {
        if name == header::CONTENT_LENGTH {
            continue;
        }
        if let Ok(v) = value.to_str() {
            headers.insert(canonical(name.as_str()), Value::String(v.to_string()));
        }
    }
    let ct = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .unwrap_or("");
    let mut v = json!({"id": it.id, "status": status, "headers": headers});
    if !bytes.is_empty() {
        // JSON bodies come back as JSON, anything else as base64 (json-batching.md).
        let body = if ct.contains("json") {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        } else {
            Value::String(STANDARD.encode(&bytes))
        };
        v["body"] = body;
    }
    (it.id, status, v)
}

/// `content-type` → `Content-Type`, `retry-after` → `Retry-After`.
fn canonical(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("-")
}
