//! The sandbox's own control plane under `/_sandbox/…`: what an admin would do in the
//! Entra and Microsoft 365 admin centers (create, change and delete users, replace
//! photos behind a tool's back), plus the knobs only a simulation has (move the clock,
//! invalidate delta tokens, read the counters). Scripts and the conformance suite use it
//! over HTTP; it is not part of Graph, so it needs no token, and the sandbox only ever
//! listens on loopback. Errors use Graph's error body so one parser reads both.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::SandboxError;
use super::server::Shared;
use super::tenant::{NewUser, Tenant};

/// The largest body a control call takes.
const CONTROL_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// The control routes, mounted at `/_sandbox`.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/_sandbox/users", get(users).post(create))
        .route(
            "/_sandbox/users/{id}",
            axum::routing::patch(update).delete(delete),
        )
        .route("/_sandbox/users/{id}/photo", axum::routing::put(put_photo))
        .route("/_sandbox/clock/advance", post(advance))
        .route("/_sandbox/delta/invalidate", post(invalidate))
        .route("/_sandbox/stats", get(stats))
        // A photo replaced "behind a script's back" may be a whole phone JPEG.
        .layer(axum::extract::DefaultBodyLimit::max(CONTROL_BODY_LIMIT))
        .with_state(shared)
}

fn tenant(shared: Arc<Shared>) -> Tenant {
    Tenant { shared }
}

/// A control-plane error in Graph's body shape (no gate: rendered here).
fn fault(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({ "error": { "code": code, "message": message.into() } });
    (status, Json(body)).into_response()
}

fn from_sandbox(e: &SandboxError) -> Response {
    match e {
        SandboxError::NoSuchUser(_) => fault(StatusCode::NOT_FOUND, "NoSuchUser", e.to_string()),
        SandboxError::DuplicateUser(_) => {
            fault(StatusCode::CONFLICT, "DuplicateUser", e.to_string())
        }
        SandboxError::BadPhoto(_) => fault(StatusCode::BAD_REQUEST, "BadPhoto", e.to_string()),
        _ => fault(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SandboxError",
            e.to_string(),
        ),
    }
}

/// A control call's JSON body, or the sentence that says why it is not one.
fn json_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body)
        .map_err(|e| format!("The request body is not the JSON this control route takes: {e}."))
}

fn bad_body(message: String) -> Response {
    fault(StatusCode::BAD_REQUEST, "BadRequest", message)
}

/// `GET /_sandbox/users`: every live user with what the sandbox knows beyond Graph
/// (photo, mailbox), so a script can pick users to try.
async fn users(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let s = shared.state();
    let value: Vec<Value> = s
        .users
        .values()
        .map(|r| {
            let mut u = serde_json::to_value(&r.user).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut u {
                m.insert("hasMailbox".into(), Value::Bool(r.user.has_mailbox));
                m.insert(
                    "hasPhoto".into(),
                    Value::Bool(!matches!(r.photo, super::tenant::PhotoSlot::None)),
                );
            }
            u
        })
        .collect();
    Json(json!({ "value": value }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Create {
    user_principal_name: String,
    display_name: String,
    mail: Option<String>,
    employee_id: Option<String>,
}

/// `POST /_sandbox/users` → 201 with the user (feeds delta and notifications).
async fn create(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let c: Create = match json_body(&body) {
        Ok(c) => c,
        Err(m) => return bad_body(m),
    };
    let new = NewUser {
        user_principal_name: c.user_principal_name,
        display_name: c.display_name,
        mail: c.mail,
        employee_id: c.employee_id,
    };
    match tenant(shared).create_user(new) {
        Ok(u) => (StatusCode::CREATED, Json(u)).into_response(),
        Err(e) => from_sandbox(&e),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Update {
    display_name: Option<String>,
    job_title: Option<String>,
    account_enabled: Option<bool>,
    employee_id: Option<String>,
    user_principal_name: Option<String>,
}

/// `PATCH /_sandbox/users/{id}` → 200 with the user as it is now.
async fn update(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let u: Update = match json_body(&body) {
        Ok(u) => u,
        Err(m) => return bad_body(m),
    };
    let result = tenant(shared).update_user(&id, |user| {
        if let Some(v) = u.display_name {
            user.display_name = v;
        }
        if let Some(v) = u.job_title {
            user.job_title = Some(v);
        }
        if let Some(v) = u.account_enabled {
            user.account_enabled = v;
        }
        if let Some(v) = u.employee_id {
            user.employee_id = Some(v);
        }
        if let Some(v) = u.user_principal_name {
            user.user_principal_name = v;
        }
    });
    match result {
        Ok(u) => Json(u).into_response(),
        Err(e) => from_sandbox(&e),
    }
}

/// `DELETE /_sandbox/users/{id}`: soft delete (delta: `@removed: changed`); with
/// `?permanent=true`, permanent (`@removed: deleted`).
async fn delete(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    uri: axum::http::Uri,
) -> Response {
    let permanent = super::odata::query_pairs(uri.query())
        .iter()
        .any(|(k, v)| k == "permanent" && v == "true");
    let t = tenant(shared);
    let result = if permanent {
        t.purge_user(&id)
    } else {
        t.delete_user(&id)
    };
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => from_sandbox(&e),
    }
}

/// `PUT /_sandbox/users/{id}/photo`: replace the photo as another tool would (empty
/// body: remove it). No throttling, no token: this is drift, not a Graph call.
async fn put_photo(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let t = tenant(shared);
    let result = if body.is_empty() {
        t.delete_photo(&id).map(|()| String::new())
    } else {
        t.set_photo(&id, &body)
    };
    match result {
        Ok(etag) => Json(json!({ "mediaEtag": etag })).into_response(),
        Err(e) => from_sandbox(&e),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Advance {
    seconds: u64,
}

/// `POST /_sandbox/clock/advance {"seconds": N}`: token expiry, throttle windows and
/// delta-token age move on without waiting.
async fn advance(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let a: Advance = match json_body(&body) {
        Ok(a) => a,
        Err(m) => return bad_body(m),
    };
    // Ten years is more than any rule in the sandbox needs.
    if a.seconds > 10 * 365 * 24 * 3600 {
        return fault(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "seconds: at most ten years (315360000).",
        );
    }
    shared.clock.advance(Duration::from_secs(a.seconds));
    Json(json!({ "now": super::subscriptions::graph_time(shared.clock.now()) })).into_response()
}

/// `POST /_sandbox/delta/invalidate`: every outstanding delta token answers 410.
async fn invalidate(State(shared): State<Arc<Shared>>) -> StatusCode {
    tenant(shared).invalidate_delta_tokens();
    StatusCode::NO_CONTENT
}

/// `GET /_sandbox/stats`: request counters.
async fn stats(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(serde_json::to_value(shared.stats()).unwrap_or(Value::Null))
}
