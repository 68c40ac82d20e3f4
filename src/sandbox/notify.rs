//! Graph's side of webhooks: the validation handshake (m365-facts B§1.2), change
//! notifications for user changes in the real payload shape (B§1.6 sample 1), lifecycle
//! notifications (B§1.4), delivery with a 3 s deadline and bounded retries (B§1.5), and
//! the record tests read through [`Tenant::notifications`].

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::json;

use super::config::{LifecycleShape, ValidationContentType};
use super::error::{GraphFault, SandboxError};
use super::model::{
    DeliveryAttempt, DeliveryOutcome, Notification, NotificationKind, SandboxSubscription,
};
use super::server::Shared;
use super::subscriptions::graph_time;
use super::tenant::{ChangeKind, Tenant};

/// At most this many notifications are kept for inspection (oldest dropped).
const RECORD_CAP: usize = 10_000;
/// .NET ticks (100 ns) between 0001-01-01 and the Unix epoch.
const TICKS_AT_UNIX_EPOCH: i128 = 621_355_968_000_000_000;

fn record(shared: &Shared, kind: NotificationKind, sub: &str, url: &str, body: String) -> u64 {
    let mut book = shared.subs();
    if book.records.len() >= RECORD_CAP {
        book.records.remove(0);
    }
    let seq = book.records.last().map_or(1, |r| r.seq + 1);
    book.records.push(Notification {
        seq,
        kind,
        subscription_id: sub.to_string(),
        url: url.to_string(),
        body,
        attempts: Vec::new(),
        outcome: DeliveryOutcome::Pending,
    });
    seq
}

fn update(shared: &Shared, seq: u64, f: impl FnOnce(&mut Notification)) {
    let mut book = shared.subs();
    if let Some(r) = book.records.iter_mut().rev().find(|r| r.seq == seq) {
        f(r);
    }
}

fn settle(shared: &Shared, seq: u64, outcome: DeliveryOutcome) {
    update(shared, seq, |r| r.outcome = outcome);
    shared.settled.send_modify(|n| *n += 1);
}

fn failed(message: &str) -> GraphFault {
    GraphFault::new(StatusCode::BAD_REQUEST, "InvalidRequest", message)
}

/// B§1.2: POST `{url}?validationToken={encoded}` (`text/plain; charset=utf-8`); within
/// 10 s the endpoint must answer 200 with the decoded token as the body.
pub(crate) async fn validate(shared: &Shared, url: &str) -> Result<(), GraphFault> {
    // Real tokens are an opaque sentence of this shape; it needs encoding (spaces, colons).
    let token = format!(
        "Validation: Testing client application reachability for subscription Request-Id: {}",
        shared.request_id()
    );
    // B§1.1: a query string already on the URL is kept.
    let sep = if url.contains('?') { '&' } else { '?' };
    let target = format!(
        "{url}{sep}validationToken={}",
        utf8_percent_encode(&token, NON_ALPHANUMERIC)
    );
    let seq = record(shared, NotificationKind::Validation, "", url, token.clone());
    let sent = shared
        .notifier
        .post(&target)
        .header("content-type", "text/plain; charset=utf-8")
        .timeout(shared.config.delivery.validation_timeout)
        .send();
    let result = match sent.await {
        Err(e) => Err((None, e.is_timeout())),
        Ok(r) => {
            let status = r.status().as_u16();
            let plain = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.to_ascii_lowercase().starts_with("text/plain"));
            match tokio::time::timeout(shared.config.delivery.validation_timeout, r.text()).await {
                Ok(Ok(text)) => Ok((status, plain, text)),
                Ok(Err(_)) => Err((Some(status), false)),
                Err(_) => Err((Some(status), true)),
            }
        }
    };
    let (status, error) = match &result {
        Ok((s, ..)) => (Some(*s), None),
        Err((s, true)) => (*s, Some("timeout".to_string())),
        Err((s, false)) => (*s, Some("connection failed".to_string())),
    };
    update(shared, seq, |r| {
        r.attempts.push(DeliveryAttempt { status, error })
    });
    let strict = shared.state().variants.validation_content_type == ValidationContentType::Required;
    let verdict = match result {
        Err((_, true)) => Err(failed("Subscription validation request timeout.")),
        Ok((200, plain, body)) if body == token && (plain || !strict) => Ok(()),
        Ok((200, _, body)) if body == token => Err(failed(
            "Subscription validation request failed. Response must be of Content-Type \
             'text/plain'.",
        )),
        Ok((200, ..)) => Err(failed(
            "Subscription validation request failed. Response must exactly match \
             validationToken query parameter.",
        )),
        _ => Err(failed(
            "Subscription validation request failed. Notification endpoint must respond with \
             200 OK to validation request.",
        )),
    };
    let outcome = if verdict.is_ok() {
        DeliveryOutcome::Delivered
    } else {
        DeliveryOutcome::GaveUp
    };
    settle(shared, seq, outcome);
    verdict
}

/// A user changed: notify every live subscription covering it (B§1.1: create, update and
/// soft delete are `updated`; permanent delete is `deleted`).
pub(crate) fn user_changed(shared: &Arc<Shared>, user_id: &str, kind: ChangeKind) {
    let change = match kind {
        ChangeKind::Updated | ChangeKind::SoftDeleted => "updated",
        ChangeKind::Deleted => "deleted",
    };
    let Some(runtime) = shared.runtime.clone() else {
        return;
    };
    let copies = if shared.state().variants.duplicate_notifications {
        2 // B§1.5: duplicates are expected
    } else {
        1
    };
    let now = shared.clock.now();
    let mut sends = Vec::new();
    {
        let mut book = shared.subs();
        book.sweep(now);
        let covering: Vec<_> = book
            .subs
            .values()
            .filter(|s| s.target.as_deref().is_none_or(|t| t == user_id))
            .filter(|s| s.change_types.iter().any(|c| c == change))
            .cloned()
            .collect();
        for sub in covering {
            // Sequence numbers look like .NET ticks (> 2^53, B§1.6), strictly increasing.
            let ticks = (now.unix_timestamp_nanos() / 100 + TICKS_AT_UNIX_EPOCH) as u64;
            let sequence = ticks.max(book.last_sequence + 1);
            book.last_sequence = sequence;
            let body = json!({"value": [{
                "changeType": change,
                "clientState": sub.client_state,
                "resource": format!("Users/{user_id}"),
                "resourceData": {
                    "@odata.type": "#Microsoft.Graph.User",
                    "@odata.id": format!("Users/{user_id}"),
                    "id": user_id,
                    "organizationId": shared.ids.tenant_id,
                    "sequenceNumber": sequence,
                },
                "subscriptionExpirationDateTime": pacific_time(sub.expires),
                "subscriptionId": sub.id,
                "tenantId": shared.ids.tenant_id,
            }]})
            .to_string();
            sends.push((
                sub.id.clone(),
                sub.notification_url.clone(),
                body,
                sub.paused,
            ));
        }
    }
    for (sub_id, url, body, paused) in sends {
        for _ in 0..copies {
            let seq = record(
                shared,
                NotificationKind::Change,
                &sub_id,
                &url,
                body.clone(),
            );
            if paused {
                // B§1.4: notifications pause until reauthorized; these changes are lost.
                settle(shared, seq, DeliveryOutcome::Paused);
                continue;
            }
            let s = Arc::clone(shared);
            let (url, body) = (url.clone(), body.clone());
            runtime.spawn(async move { deliver(&s, seq, &url, body).await });
        }
    }
}

/// B§1.6 sample 1 writes the expiry with a non-Z offset (`…-08:00`).
fn pacific_time(t: time::OffsetDateTime) -> String {
    let offset = time::UtcOffset::from_hms(-8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let t = t.to_offset(offset);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}-08:00",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 100
    )
}

/// B§1.5: a 2xx within the deadline counts; otherwise retry with doubling waits, a
/// bounded number of times (Graph itself keeps trying for 4 hours).
async fn deliver(shared: &Shared, seq: u64, url: &str, body: String) {
    let d = shared.config.delivery;
    let mut wait = d.first_retry;
    let mut delivered = false;
    for attempt in 1..=d.attempts.max(1) {
        let sent = shared
            .notifier
            .post(url)
            .header("content-type", "application/json; charset=utf-8")
            .body(body.clone())
            .timeout(d.timeout)
            .send()
            .await;
        let try_ = match sent {
            Ok(r) => DeliveryAttempt {
                status: Some(r.status().as_u16()),
                error: None,
            },
            Err(e) => DeliveryAttempt {
                status: None,
                error: Some(
                    if e.is_timeout() {
                        "timeout"
                    } else {
                        "connection failed"
                    }
                    .into(),
                ),
            },
        };
        delivered = try_.status.is_some_and(|s| (200..300).contains(&s));
        update(shared, seq, |r| r.attempts.push(try_));
        if delivered || attempt == d.attempts {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shared.shutting_down() => break,
        }
        wait = wait.saturating_mul(2);
    }
    let outcome = if delivered {
        DeliveryOutcome::Delivered
    } else {
        DeliveryOutcome::GaveUp
    };
    settle(shared, seq, outcome);
}

impl Tenant {
    /// Every notification sent or being sent (handshakes included), oldest first.
    pub fn notifications(&self) -> Vec<Notification> {
        self.shared.subs().records.clone()
    }

    /// Wait until `count` notifications have settled (delivered, given up or paused)
    /// since start, or `within` passed; then the record.
    pub async fn wait_for_notifications(&self, count: u64, within: Duration) -> Vec<Notification> {
        let mut rx = self.shared.settled.subscribe();
        let _ = tokio::time::timeout(within, rx.wait_for(|n| *n >= count)).await;
        self.notifications()
    }

    /// The live subscriptions.
    pub fn subscriptions(&self) -> Vec<SandboxSubscription> {
        let mut book = self.shared.subs();
        book.sweep(self.shared.clock.now());
        book.subs.values().map(|s| s.public()).collect()
    }

    /// Send a lifecycle event (`reauthorizationRequired`, `subscriptionRemoved`, `missed`;
    /// only the first applies to `users`, B§1.4) to the subscription's
    /// lifecycleNotificationUrl, and wait for its delivery. `reauthorizationRequired`
    /// pauses change notifications until the app reauthorizes or renews;
    /// `subscriptionRemoved` deletes the subscription.
    pub async fn send_lifecycle(
        &self,
        subscription_id: &str,
        event: &str,
    ) -> Result<Notification, SandboxError> {
        if !["reauthorizationRequired", "subscriptionRemoved", "missed"].contains(&event) {
            return Err(SandboxError::Config(format!(
                "unknown lifecycle event {event:?}"
            )));
        }
        let shape = self.state().variants.lifecycle_shape;
        let shared = &self.shared;
        let (url, body) = {
            let mut book = shared.subs();
            book.sweep(shared.clock.now());
            let sub = book
                .subs
                .get_mut(subscription_id)
                .ok_or_else(|| SandboxError::NoSuchSubscription(subscription_id.into()))?;
            let url = sub
                .lifecycle_url
                .clone()
                .ok_or_else(|| SandboxError::NoLifecycleUrl(subscription_id.into()))?;
            if event == "reauthorizationRequired" {
                sub.paused = true;
            }
            let tenant = &shared.ids.tenant_id;
            let item = match shape {
                LifecycleShape::Documented => json!({
                    "subscriptionId": sub.id,
                    "subscriptionExpirationDateTime": graph_time(sub.expires),
                    "tenantId": tenant,
                    "clientState": sub.client_state,
                    "lifecycleEvent": event,
                }),
                LifecycleShape::Observed => json!({
                    "subscriptionId": sub.id,
                    "subscriptionExpirationDateTime": pacific_time(sub.expires),
                    "organizationId": tenant,
                    "clientState": sub.client_state,
                    "lifecycleEvent": event,
                    "resource": "",
                    "sequence": null,
                    "resourceData": null,
                    "encryptedContent": null,
                }),
            };
            let mut body = json!({"value": [item]});
            if shape == LifecycleShape::Observed {
                body["validationTokens"] = json!([]);
            }
            if event == "subscriptionRemoved" {
                book.subs.remove(subscription_id);
            }
            (url, body.to_string())
        };
        let seq = record(
            shared,
            NotificationKind::Lifecycle,
            subscription_id,
            &url,
            body.clone(),
        );
        deliver(shared, seq, &url, body).await;
        let found = shared
            .subs()
            .records
            .iter()
            .rev()
            .find(|r| r.seq == seq)
            .cloned();
        found.ok_or_else(|| SandboxError::NoSuchSubscription(subscription_id.into()))
    }
}
