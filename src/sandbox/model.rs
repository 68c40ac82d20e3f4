//! The public data the sandbox hands out: users, stored photos, counters, the request
//! log. Plain values; the state that owns them lives in `tenant`.

use bytes::Bytes;
use serde::Serialize;

/// A directory user as the sandbox holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxUser {
    /// Object id (GUID).
    pub id: String,
    /// userPrincipalName.
    pub user_principal_name: String,
    /// Primary SMTP address; `None` for users without a mailbox.
    pub mail: Option<String>,
    /// HR employee id; missing for guests and some members.
    pub employee_id: Option<String>,
    /// Display name.
    pub display_name: String,
    /// Given name.
    pub given_name: Option<String>,
    /// Surname.
    pub surname: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// "Member" or "Guest".
    pub user_type: String,
    /// Has an Exchange Online mailbox (sandbox-only; not a Graph property).
    #[serde(skip)]
    pub has_mailbox: bool,
    /// Sign-in allowed.
    pub account_enabled: bool,
}

/// What [`Tenant::create_user`] needs; the rest is derived.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// userPrincipalName (must be unique).
    pub user_principal_name: String,
    /// Display name.
    pub display_name: String,
    /// Mail; `None` means no mailbox.
    pub mail: Option<String>,
    /// Employee id.
    pub employee_id: Option<String>,
}

/// A user's photo as stored (what was uploaded, not what reads return).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPhoto {
    /// The bytes as uploaded (for seeded users: the seeded JPEG).
    pub bytes: Bytes,
    /// `@odata.mediaEtag` without quotes.
    pub etag: String,
    /// Uploads through Graph or [`Tenant::set_photo`] since start.
    pub upload_count: u32,
    /// Side of the largest rendition served.
    pub side: u32,
}

/// Request counts by class, and throttling outcomes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// GETs on users, users/{id} and delta (each batch item counted too).
    pub directory_reads: u64,
    /// Photo GETs.
    pub photo_reads: u64,
    /// Photo PUT/PATCH/DELETE.
    pub photo_writes: u64,
    /// `$batch` envelopes.
    pub batch_envelopes: u64,
    /// Requests inside `$batch` envelopes.
    pub batch_items: u64,
    /// 429 answers (throttling and faults).
    pub throttled_429: u64,
    /// 503 answers.
    pub unavailable_503: u64,
    /// Most photo requests ever in flight at once for one app+mailbox.
    pub peak_photo_concurrency: u32,
    /// Tokens issued (both token endpoints).
    pub tokens_issued: u64,
}

/// One logged Graph request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedRequest {
    /// Method.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// Status answered.
    pub status: u16,
    /// True for a request inside a `$batch`.
    pub in_batch: bool,
}

/// Why the sandbox POSTed to a subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum NotificationKind {
    /// The validation handshake (m365-facts B§1.2); `body` holds the decoded token.
    Validation,
    /// A change notification (B§1.6).
    Change,
    /// A lifecycle notification (B§1.4).
    Lifecycle,
}

/// Where a notification ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DeliveryOutcome {
    /// Still being tried.
    Pending,
    /// A 2xx answered (the handshake: the right token came back).
    Delivered,
    /// Every try failed.
    GaveUp,
    /// Not sent: the subscription waits for reauthorization (B§1.4, changes are lost).
    Paused,
}

/// One POST try.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryAttempt {
    /// Status answered, if any.
    pub status: Option<u16>,
    /// `timeout` or `connection failed` when nothing was answered.
    pub error: Option<String>,
}

/// One notification the sandbox sent (or tried to), for tests to inspect.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    /// Order of creation, from 1.
    pub seq: u64,
    /// What it was.
    pub kind: NotificationKind,
    /// The subscription it belongs to (empty for a handshake before creation).
    pub subscription_id: String,
    /// The URL POSTed to.
    pub url: String,
    /// The body sent (JSON text; for a handshake, the decoded validation token).
    pub body: String,
    /// Every try, in order.
    pub attempts: Vec<DeliveryAttempt>,
    /// Where it ended.
    pub outcome: DeliveryOutcome,
}

impl std::fmt::Debug for Notification {
    // The body carries the subscriber's clientState: not for logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notification")
            .field("seq", &self.seq)
            .field("kind", &self.kind)
            .field("subscription_id", &self.subscription_id)
            .field("url", &self.url)
            .field("body_len", &self.body.len())
            .field("attempts", &self.attempts)
            .field("outcome", &self.outcome)
            .finish()
    }
}

impl Notification {
    /// The body as JSON (Null for a handshake).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A subscription as the sandbox holds it (without its clientState).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxSubscription {
    /// Subscription id.
    pub id: String,
    /// The resource as given (`/users`, `/users/{id}`).
    pub resource: String,
    /// The owning app (client id).
    pub application_id: String,
    /// `updated`, `deleted` or both, comma-separated.
    pub change_type: String,
    /// Where change notifications go.
    pub notification_url: String,
    /// Where lifecycle notifications go.
    pub lifecycle_notification_url: Option<String>,
    /// RFC 3339 (UTC).
    pub expiration_date_time: String,
    /// Waiting for reauthorization after `reauthorizationRequired` (B§1.4).
    pub paused: bool,
}

/// What the HR webhook receiver answered (PRODUCT.md §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HrDelivery {
    /// `webhook-id` sent.
    pub webhook_id: String,
    /// `webhook-timestamp` sent (Unix seconds).
    pub timestamp: i64,
    /// Status answered.
    pub status: u16,
    /// Body answered.
    pub body: String,
}
