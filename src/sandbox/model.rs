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
