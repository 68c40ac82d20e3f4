//! `/subscriptions` on `users` (m365-facts B§1.1–1.3): create (with the validation
//! handshake), list, get, renew, reauthorize, delete; the documented limits and errors.
//! Deliveries live in `notify`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::auth_check::{Caller, Denied, DIRECTORY_READ};
use super::error::GraphFault;
use super::model::{Notification, SandboxSubscription};
use super::notify;
use super::server::Shared;

/// B§1.1: the longest a directory subscription may live, in minutes.
pub(crate) const MAX_MINUTES: i64 = 41_760;
/// B§1.1: shorter lifetimes are raised to this many minutes.
pub(crate) const MIN_MINUTES: i64 = 45;
/// B§1.1: subscriptions per app+tenant pair for `user`.
pub(crate) const QUOTA_PER_APP: usize = 100;
/// B§1.1: `clientState` is at most 128 characters (subscription resource).
pub(crate) const MAX_CLIENT_STATE: usize = 128;
/// Clients compute expiry from their own clock; tolerate this much skew.
const SKEW: time::Duration = time::Duration::minutes(5);

/// One live subscription.
#[derive(Debug, Clone)]
pub(crate) struct Sub {
    pub id: String,
    pub resource: String,
    /// `None` for `/users`, the user id for `/users/{id}`.
    pub target: Option<String>,
    pub app_id: String,
    pub creator_id: String,
    pub change_types: Vec<String>,
    pub client_state: Option<String>,
    pub notification_url: String,
    pub lifecycle_url: Option<String>,
    pub expires: OffsetDateTime,
    pub tls: String,
    /// Set by `reauthorizationRequired`, cleared by reauthorize or renew (B§1.4).
    pub paused: bool,
}

/// Subscriptions and the record of deliveries.
#[derive(Debug, Default)]
pub(crate) struct Book {
    pub subs: BTreeMap<String, Sub>,
    pub records: Vec<Notification>,
    pub last_sequence: u64,
    created: u64,
}

impl Book {
    /// Drop subscriptions past their expiry (B§1.3: Graph deletes them).
    pub fn sweep(&mut self, now: OffsetDateTime) {
        self.subs.retain(|_, s| s.expires > now);
    }
}

impl Sub {
    pub fn public(&self) -> SandboxSubscription {
        SandboxSubscription {
            id: self.id.clone(),
            resource: self.resource.clone(),
            application_id: self.app_id.clone(),
            change_type: self.change_types.join(","),
            notification_url: self.notification_url.clone(),
            lifecycle_notification_url: self.lifecycle_url.clone(),
            expiration_date_time: graph_time(self.expires),
            paused: self.paused,
        }
    }

    fn json(&self) -> Value {
        json!({
            "id": self.id,
            "resource": self.resource,
            "applicationId": self.app_id,
            "changeType": self.change_types.join(","),
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "notificationQueryOptions": null,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": graph_time(self.expires),
            "creatorId": self.creator_id,
            "includeResourceData": false,
            "latestSupportedTlsVersion": self.tls,
            "encryptionCertificate": null,
            "encryptionCertificateId": null,
            "notificationUrlAppId": null,
            "notificationContentType": "application/json",
        })
    }
}

/// Graph's timestamps: seven fraction digits and `Z` (`2016-11-20T18:23:45.9356913Z`).
pub(crate) fn graph_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 100
    )
}

fn invalid(message: impl Into<String>) -> GraphFault {
    GraphFault::new(StatusCode::BAD_REQUEST, "InvalidRequest", message)
}

fn not_found(id: &str) -> GraphFault {
    GraphFault::new(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        format!("Subscription '{id}' was not found."),
    )
}

fn parse_body(body: &[u8]) -> Result<serde_json::Map<String, Value>, GraphFault> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(GraphFault::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and \
             payload is of valid JSON format.",
        )),
    }
}

/// B§1.1: at most 41,760 minutes ahead (400 beyond), at least 45 (raised).
fn expiry(shared: &Shared, raw: Option<&Value>) -> Result<OffsetDateTime, GraphFault> {
    let raw = raw
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("Required property 'expirationDateTime' is missing."))?;
    let at = OffsetDateTime::parse(raw, &Rfc3339)
        .map_err(|_| invalid(format!("Invalid 'expirationDateTime' value: '{raw}'.")))?;
    let now = shared.clock.now();
    if at > now + time::Duration::minutes(MAX_MINUTES) + SKEW {
        return Err(invalid(format!(
            "Subscription expiration can only be {MAX_MINUTES} minutes in the future."
        )));
    }
    Ok(at.max(now + time::Duration::minutes(MIN_MINUTES)))
}

/// B§1.1: only `https` (unless the config allows loopback http for tests and the demo).
fn check_url(shared: &Shared, name: &str, url: &str) -> Result<(), GraphFault> {
    let ok = url.starts_with("https://")
        || (shared.config.allow_http_notification_url && url.starts_with("http://"));
    if ok && reqwest::Url::parse(url).is_ok() {
        Ok(())
    } else {
        Err(invalid(format!(
            "Invalid '{name}': '{url}'. The URL must be a valid HTTPS URL."
        )))
    }
}

/// `POST /subscriptions`.
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, GraphFault> {
    // B§1.1: User.Read.All (or a broader directory role) is required for `users`.
    caller.require(DIRECTORY_READ, Denied::Directory)?;
    let b = parse_body(&body)?;
    let text = |k: &str| b.get(k).and_then(Value::as_str).map(str::to_string);
    let change_type =
        text("changeType").ok_or_else(|| invalid("Required property 'changeType' is missing."))?;
    // B§1.1: users support only `updated` and `deleted` (`created` is refused).
    let mut change_types = Vec::new();
    for ct in change_type.split(',').map(str::trim) {
        if ct != "updated" && ct != "deleted" {
            return Err(invalid(format!("Invalid 'changeType' attribute: '{ct}'.")));
        }
        if !change_types.iter().any(|c| c == ct) {
            change_types.push(ct.to_string());
        }
    }
    let resource =
        text("resource").ok_or_else(|| invalid("Required property 'resource' is missing."))?;
    let target = match resource
        .trim_start_matches('/')
        .split('/')
        .collect::<Vec<_>>()[..]
    {
        [u] if u.eq_ignore_ascii_case("users") => None,
        [u, key] if u.eq_ignore_ascii_case("users") && !key.is_empty() => Some(
            shared
                .state()
                .resolve(key)
                .ok_or_else(|| GraphFault::user_not_found(key))?,
        ),
        _ => {
            return Err(invalid(format!(
                "Resource '{resource}' is not supported by this sandbox (users only)."
            )))
        }
    };
    let notification_url = text("notificationUrl")
        .ok_or_else(|| invalid("Required property 'notificationUrl' is missing."))?;
    check_url(&shared, "notificationUrl", &notification_url)?;
    let lifecycle_url = text("lifecycleNotificationUrl");
    if let Some(u) = &lifecycle_url {
        check_url(&shared, "lifecycleNotificationUrl", u)?;
    }
    let client_state = text("clientState");
    if client_state
        .as_ref()
        .is_some_and(|c| c.chars().count() > MAX_CLIENT_STATE)
    {
        return Err(invalid(format!(
            "The 'clientState' property must be at most {MAX_CLIENT_STATE} characters long."
        )));
    }
    let tls = text("latestSupportedTlsVersion").unwrap_or_else(|| "v1_2".into());
    if !["v1_0", "v1_1", "v1_2", "v1_3"].contains(&tls.as_str()) {
        return Err(invalid(format!(
            "Invalid 'latestSupportedTlsVersion' value: '{tls}'."
        )));
    }
    let expires = expiry(&shared, b.get("expirationDateTime"))?;
    let app_id = caller.claims.appid.clone();
    {
        let mut book = shared.subs();
        book.sweep(shared.clock.now());
        let owned = book.subs.values().filter(|s| s.app_id == app_id).count();
        if owned >= QUOTA_PER_APP {
            // B§1.1: over quota → 403, naming the limit.
            return Err(GraphFault::new(
                StatusCode::FORBIDDEN,
                "ExtensionError",
                format!(
                    "Subscription creation failed: the limit of {QUOTA_PER_APP} 'user' \
                     subscriptions per application per tenant has been reached."
                ),
            ));
        }
    }
    // B§1.2: both URLs are validated (twice when equal) before the subscription exists.
    notify::validate(&shared, &notification_url).await?;
    if let Some(u) = &lifecycle_url {
        notify::validate(&shared, u).await?;
    }
    let sub = {
        let mut book = shared.subs();
        book.created += 1;
        let id = super::rng::Rng::new(shared.config.seed, 0x5B5B_0000 + book.created).guid();
        let sub = Sub {
            id: id.clone(),
            resource,
            target,
            app_id,
            creator_id: caller.claims.oid.clone(),
            change_types,
            client_state,
            notification_url,
            lifecycle_url,
            expires,
            tls,
            paused: false,
        };
        book.subs.insert(id, sub.clone());
        sub
    };
    let mut body = sub.json();
    body["@odata.context"] =
        json!("https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity");
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Run `f` on the caller's subscription `id` (404 when missing or another app's).
fn with_sub<T>(
    shared: &Shared,
    caller: &Caller,
    id: &str,
    f: impl FnOnce(&mut Sub) -> T,
) -> Result<T, GraphFault> {
    let mut book = shared.subs();
    book.sweep(shared.clock.now());
    match book.subs.get_mut(id) {
        Some(s) if s.app_id == caller.claims.appid => Ok(f(s)),
        _ => Err(not_found(id)),
    }
}

/// `GET /subscriptions`: the caller's subscriptions.
pub(crate) async fn list(State(shared): State<Arc<Shared>>, caller: Caller) -> Json<Value> {
    let mut book = shared.subs();
    book.sweep(shared.clock.now());
    let value: Vec<Value> = book
        .subs
        .values()
        .filter(|s| s.app_id == caller.claims.appid)
        .map(Sub::json)
        .collect();
    Json(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions",
        "value": value,
    }))
}

/// `GET /subscriptions/{id}`.
pub(crate) async fn get_one(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, GraphFault> {
    with_sub(&shared, &caller, &id, |s| Json(s.json()))
}

/// `PATCH /subscriptions/{id}`: renew (B§1.3: 200 + the subscription; also reauthorizes).
pub(crate) async fn renew(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, GraphFault> {
    let b = parse_body(&body)?;
    let expires = expiry(&shared, b.get("expirationDateTime"))?;
    with_sub(&shared, &caller, &id, |s| {
        s.expires = expires;
        s.paused = false;
        Json(s.json())
    })
}

/// `POST /subscriptions/{id}/reauthorize`: 204 No Content (subscription-reauthorize.md).
pub(crate) async fn reauthorize(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, GraphFault> {
    with_sub(&shared, &caller, &id, |s| s.paused = false)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /subscriptions/{id}`: 204 (B§1.3); unknown → 404.
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, GraphFault> {
    with_sub(&shared, &caller, &id, |_| ())?;
    shared.subs().subs.remove(&id);
    Ok(StatusCode::NO_CONTENT)
}
