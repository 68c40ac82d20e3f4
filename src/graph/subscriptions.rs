//! Change-notification subscriptions on `users` (m365-facts B§1.1–1.3): create, renew,
//! reauthorize, list, delete. Rules checked before sending: `changeType` only
//! `updated`/`deleted`, expiry ≤ 41,760 minutes, `clientState` ≤ 128 characters, https.

use bytes::Bytes;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::odata::path_segment;
use super::{GraphCall, GraphClient, M365Error};
use crate::config::Secret;

/// B§1.1: the longest a directory subscription may live.
pub const MAX_MINUTES: i64 = 41_760;

/// A subscription as Graph returns it.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    /// Subscription id.
    pub id: String,
    /// `/users` or `/users/{id}`.
    #[serde(default)]
    pub resource: String,
    /// `updated,deleted`.
    #[serde(default)]
    pub change_type: String,
    /// Where notifications go.
    #[serde(default)]
    pub notification_url: String,
    /// Where lifecycle events go.
    #[serde(default)]
    pub lifecycle_notification_url: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub expiration_date_time: String,
}

/// What to subscribe to.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    /// `/users`.
    pub resource: String,
    /// https URL of the notifications function.
    pub notification_url: String,
    /// https URL of the lifecycle function.
    pub lifecycle_notification_url: Option<String>,
    /// Shared secret echoed in every notification (≤ 128 characters).
    pub client_state: Secret,
    /// Lifetime asked for, in minutes (capped to the maximum).
    pub minutes: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody<'a> {
    change_type: &'static str,
    notification_url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    lifecycle_notification_url: Option<&'a str>,
    resource: &'a str,
    expiration_date_time: String,
    client_state: &'a str,
}

#[derive(Deserialize)]
struct List {
    value: Vec<Subscription>,
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
}

fn expiry(minutes: i64) -> Result<String, M365Error> {
    let at = OffsetDateTime::now_utc() + time::Duration::minutes(minutes.clamp(45, MAX_MINUTES));
    at.format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| M365Error::Refused(e.to_string()))
}

impl GraphClient {
    /// Create a subscription (Graph validates the URL with a handshake before answering).
    pub async fn create_subscription(
        &self,
        s: &NewSubscription,
    ) -> Result<Subscription, M365Error> {
        // B§1.1: Graph accepts only https; plain http is let through for loopback alone
        // (the sandbox tenant, local development), which Graph itself could never call.
        let ok = |u: &str| {
            u.starts_with("https://")
                || u.starts_with("http://127.0.0.1:")
                || u.starts_with("http://localhost:")
        };
        if !ok(&s.notification_url) || !s.lifecycle_notification_url.as_deref().is_none_or(ok) {
            return Err(M365Error::Refused(
                "notification URLs must be https (m365-facts B§1.1)".into(),
            ));
        }
        if s.client_state.expose().chars().count() > 128 {
            return Err(M365Error::Refused(
                "clientState is longer than 128 characters (B§1.1)".into(),
            ));
        }
        let body = CreateBody {
            change_type: "updated,deleted",
            notification_url: &s.notification_url,
            lifecycle_notification_url: s.lifecycle_notification_url.as_deref(),
            resource: &s.resource,
            expiration_date_time: expiry(s.minutes)?,
            client_state: s.client_state.expose(),
        };
        let call = GraphCall {
            method: Method::POST,
            target: "/subscriptions".into(),
            body: Some((json(&body)?, "application/json")),
            mailbox: None,
            idempotent: false, // a resend could create a second subscription
            what: "create subscription",
        };
        self.execute(&call).await?.json("subscription")
    }

    /// Extend a subscription by `minutes` from now (renewing also reauthorizes, B§1.3).
    pub async fn renew_subscription(
        &self,
        id: &str,
        minutes: i64,
    ) -> Result<Subscription, M365Error> {
        let body = serde_json::json!({ "expirationDateTime": expiry(minutes)? });
        let call = GraphCall {
            method: Method::PATCH,
            target: format!("/subscriptions/{}", path_segment(id)),
            body: Some((json(&body)?, "application/json")),
            mailbox: None,
            idempotent: true,
            what: "renew subscription",
        };
        self.execute(&call).await?.json("subscription")
    }

    /// Reauthorize without extending (B§1.3).
    pub async fn reauthorize_subscription(&self, id: &str) -> Result<(), M365Error> {
        let call = GraphCall {
            method: Method::POST,
            target: format!("/subscriptions/{}/reauthorize", path_segment(id)),
            body: Some((Bytes::new(), "application/json")),
            mailbox: None,
            idempotent: true,
            what: "reauthorize subscription",
        };
        self.execute(&call).await.map(|_| ())
    }

    /// Every subscription this app owns in the tenant.
    pub async fn list_subscriptions(&self) -> Result<Vec<Subscription>, M365Error> {
        let mut all = Vec::new();
        let mut next = "/subscriptions".to_owned();
        loop {
            let page: List = self
                .execute(&GraphCall::get(next, "list subscriptions"))
                .await?
                .json("subscriptions")?;
            all.extend(page.value);
            match page.next_link {
                Some(n) => next = n,
                None => return Ok(all),
            }
        }
    }

    /// Delete a subscription; one already gone counts as deleted.
    pub async fn delete_subscription(&self, id: &str) -> Result<(), M365Error> {
        let call = GraphCall {
            method: Method::DELETE,
            target: format!("/subscriptions/{}", path_segment(id)),
            body: None,
            mailbox: None,
            idempotent: true,
            what: "delete subscription",
        };
        match self.execute(&call).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }
}

fn json<T: Serialize>(v: &T) -> Result<Bytes, M365Error> {
    serde_json::to_vec(v)
        .map(Bytes::from)
        .map_err(|e| M365Error::Refused(e.to_string()))
}
