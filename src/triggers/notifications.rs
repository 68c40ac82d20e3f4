//! `POST /api/notifications`: Graph change notifications for `users` (m365-facts B§1).
//! The `validationToken` handshake answers the decoded token as `text/plain` (B§1.2).
//! Otherwise each item is checked on its own — `clientState` in constant time, tenant,
//! subscription ours (B§1.5: one POST may mix subscriptions and tenants) — deduplicated on
//! (subscription, user, sequenceNumber) because duplicates and replays are expected, and
//! queued. The answer is 202 once the jobs are persisted, 503 only when they could not be
//! (so Graph retries); nothing slow happens before answering (B§1.5: 3 s).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{same_secret, App, NOTIFICATION_DEDUPE_SECS};
use crate::ledger::unix_now;
use crate::queue::{Cause, Job};

/// The handshake answer (B§1.2): 200, `text/plain`, the decoded token as the body.
pub(crate) fn validation_reply(token: &str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        token.to_string(),
    )
        .into_response()
}

/// A JSON error body for requests that are not Graph's.
pub(crate) fn bad_request(detail: &str) -> Response {
    let body = serde_json::json!({
        "type": "about:blank", "title": "Bad Request", "status": 400, "detail": detail
    });
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

/// One notification's fields, read leniently (B§1.6: the real payload differs from the
/// documented one: `Users/{id}`, `organizationId`, sequence numbers beyond 2^53).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    pub subscription_id: String,
    pub client_state: Option<String>,
    pub tenant_id: Option<String>,
    pub user_id: Option<String>,
    pub sequence: Option<String>,
    pub lifecycle_event: Option<String>,
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A user id we are willing to queue: Graph object ids are GUIDs; anything long or with
/// control characters is not from Graph.
fn plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && !id.chars().any(char::is_control) && !id.contains('/')
}

impl Item {
    pub(crate) fn read(v: &Value) -> Option<Self> {
        let subscription_id = text(v, "subscriptionId")?;
        let data = v.get("resourceData").unwrap_or(&Value::Null);
        let user_id = text(data, "id").or_else(|| {
            // "Users/{id}" or "users/{id}"
            text(v, "resource").and_then(|r| {
                let (head, id) = r.split_once('/')?;
                head.eq_ignore_ascii_case("users").then(|| id.to_string())
            })
        });
        let sequence = data.get("sequenceNumber").and_then(|n| match n {
            Value::Number(n) => Some(n.to_string()),
            Value::String(s) => Some(s.clone()),
            _ => None,
        });
        Some(Self {
            subscription_id,
            client_state: text(v, "clientState"),
            tenant_id: text(v, "tenantId")
                .or_else(|| text(data, "organizationId"))
                .or_else(|| text(v, "organizationId")),
            user_id: user_id.filter(|id| plausible_id(id)),
            sequence,
            lifecycle_event: text(v, "lifecycleEvent"),
        })
    }
}

/// The items of a collection body, or why it is not one.
pub(crate) fn read_collection(body: &[u8]) -> Result<Vec<Item>, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let items = v
        .get("value")
        .and_then(Value::as_array)
        .ok_or("the body has no \"value\" array of notifications")?;
    Ok(items.iter().filter_map(Item::read).collect())
}

impl App {
    /// True when the item passes the per-item checks (clientState, tenant, ours).
    pub(crate) async fn item_is_ours(&self, item: &Item) -> bool {
        let Some(expected) = &self.inner.client_state else {
            return false; // not configured for notifications: nothing is ours
        };
        let given = item.client_state.as_deref().unwrap_or("");
        if !same_secret(given, expected.expose()) {
            return false;
        }
        if let (Some(want), Some(got)) = (&self.inner.tenant_id, &item.tenant_id) {
            if !want.eq_ignore_ascii_case(got) {
                return false;
            }
        }
        self.owns_subscription(&item.subscription_id).await
    }
}

pub(crate) async fn handle(
    State(app): State<App>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if let Some(token) = query.get("validationToken") {
        return validation_reply(token);
    }
    let items = match read_collection(&body) {
        Ok(items) => items,
        Err(why) => return bad_request(&why),
    };
    let now = unix_now();
    let mut jobs = Vec::new();
    let mut claimed = Vec::new();
    let mut ignored = 0usize;
    for item in &items {
        let Some(user) = item.user_id.as_deref() else {
            ignored += 1;
            continue;
        };
        if !app.item_is_ours(item).await {
            ignored += 1;
            continue;
        }
        let (key, ttl) = match &item.sequence {
            Some(seq) => (
                format!("n:{}:{user}:{seq}", item.subscription_id),
                NOTIFICATION_DEDUPE_SECS,
            ),
            // No sequence number: only collapse a burst (one change, several notifications).
            None => (format!("n:{}:{user}:-", item.subscription_id), 60),
        };
        match app.ledger().claim(&key, now, now + ttl).await {
            Ok(true) => {
                claimed.push(key);
                jobs.push(Job::for_user(user, Cause::Notification));
            }
            Ok(false) => {} // a duplicate or replay: already queued
            Err(e) => {
                tracing::error!(error = %e, "notification could not be persisted; Graph will retry");
                release(&app, &claimed).await;
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
        }
    }
    if !jobs.is_empty() {
        if let Err(e) = app.sink().send(&jobs).await {
            tracing::error!(error = %e, "notification jobs could not be queued; Graph will retry");
            release(&app, &claimed).await;
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    }
    tracing::debug!(queued = jobs.len(), ignored, "notifications accepted");
    StatusCode::ACCEPTED.into_response()
}

async fn release(app: &App, keys: &[String]) {
    for key in keys {
        let _ = app.ledger().release(key).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_real_world_shape() {
        let body = br##"{"value":[{"changeType":"updated","clientState":"s","resource":"Users/abc",
            "resourceData":{"@odata.type":"#Microsoft.Graph.User","@odata.id":"Users/abc","id":"abc",
            "organizationId":"t1","sequenceNumber":638059995676961300},
            "subscriptionExpirationDateTime":"2022-12-10T10:23:45.9356913-08:00",
            "subscriptionId":"sub1","tenantId":"t1"}]}"##;
        let items = read_collection(body).expect("collection");
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].user_id.as_deref(), Some("abc"));
        assert_eq!(items[0].sequence.as_deref(), Some("638059995676961300"));
        assert_eq!(items[0].tenant_id.as_deref(), Some("t1"));
    }

    #[test]
    fn user_id_from_resource_and_implausible_ids_dropped() {
        let v = serde_json::json!({"subscriptionId":"s","resource":"users/xyz"});
        assert_eq!(
            Item::read(&v).and_then(|i| i.user_id).as_deref(),
            Some("xyz")
        );
        let v = serde_json::json!({"subscriptionId":"s","resourceData":{"id":"a/b"}});
        assert_eq!(Item::read(&v).and_then(|i| i.user_id), None);
        let v = serde_json::json!({"resourceData":{"id":"a"}});
        assert!(Item::read(&v).is_none());
    }

    #[test]
    fn malformed_bodies_are_reasons() {
        assert!(read_collection(b"{").is_err());
        assert!(read_collection(b"{\"value\":3}").is_err());
        assert_eq!(
            read_collection(b"{\"value\":[1,\"x\",null]}").map(|v| v.len()),
            Ok(0)
        );
    }
}
