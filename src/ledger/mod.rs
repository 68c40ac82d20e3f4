//! The ledger (PRODUCT.md §6): what photo-sync knows per user — the fingerprint of the
//! accepted source photo, what it wrote to each target and what it saw there afterwards,
//! the last failure — plus the subscriptions it owns, named cursors (the delta link, the
//! time of the last full walk) and dedupe keys with an expiry.
//!
//! One trait, [`Ledger`], with SQLite as the embedded default ([`SqliteLedger`]) and Azure
//! Table storage for Azure deployments ([`TableLedger`]); both pass the same test suite. The sync engine
//! writes a target's record only *after* the target accepted the write, so a process that
//! dies in between repeats the write, and a repeated write is a no-op for the store.

pub mod db;
mod sqlite;
mod table;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use sqlite::SqliteLedger;
pub use table::{row_key, TableLedger};

/// Why the ledger could not answer.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The database or storage service failed; the operation may succeed later.
    #[error("ledger storage unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be read back (a bug or a hand-edited store).
    #[error("ledger record is corrupt: {0}")]
    Corrupt(String),
    /// The ledger location in the configuration is unusable.
    #[error("ledger configuration: {0}")]
    Config(String),
}

impl LedgerError {
    /// True when trying again later can help.
    pub fn is_retryable(&self) -> bool {
        matches!(self, LedgerError::Unavailable(_))
    }
}

/// The source photo photo-sync last accepted for a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRecord {
    /// Which source it came from: `hr`, `folder` or `m365`.
    pub origin: String,
    /// SHA-256 (hex) of the original bytes as the source gave them.
    pub sha256: String,
    /// Perceptual hash of the normalised square.
    pub phash: u64,
    /// When it was accepted, Unix seconds.
    pub accepted_at: i64,
}

/// What photo-sync wrote to one target for a user, and what it saw there afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRecord {
    /// SHA-256 (hex) of the rendition written.
    pub sha256: String,
    /// Perceptual hash of the rendition written (stores re-encode, so bytes differ).
    pub phash: u64,
    /// The store's own version marker after the write (Graph `@odata.mediaEtag`), when it
    /// has one: a later read with the same marker needs no download.
    pub etag: Option<String>,
    /// When it was written, Unix seconds.
    pub written_at: i64,
}

/// The last failure for a user, kept until a run succeeds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRecord {
    /// Consecutive failed attempts.
    pub attempts: u32,
    /// The reason, as a sentence for people (never a secret).
    pub error: String,
    /// True when a later attempt may succeed.
    pub retryable: bool,
    /// When it happened, Unix seconds.
    pub at: i64,
}

/// Everything the ledger holds about one user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserState {
    /// The user principal name when known (for reports).
    pub upn: Option<String>,
    /// The accepted source photo.
    pub source: Option<SourceRecord>,
    /// Per target name (`m365`, `ad`, `sharepoint`).
    pub targets: BTreeMap<String, TargetRecord>,
    /// The last failure, if the last attempt failed.
    pub failure: Option<FailureRecord>,
}

/// A Graph subscription photo-sync created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionRecord {
    /// Graph's subscription id.
    pub id: String,
    /// The subscribed resource (`users`).
    pub resource: String,
    /// Where Graph delivers.
    pub notification_url: String,
    /// Expiry, Unix seconds.
    pub expires_at: i64,
}

/// The ledger's operations. Every method is one round trip to the store; none holds a
/// lock across calls, so any number of instances can share one ledger.
#[async_trait::async_trait]
pub trait Ledger: Send + Sync {
    /// What is known about a user (`None`: nothing yet).
    async fn user(&self, user_id: &str) -> Result<Option<UserState>, LedgerError>;
    /// Adds users to the roster the reconcile checks (or updates their UPN); existing
    /// records are kept. One round trip per call, however many users.
    async fn note_users(&self, users: &[(String, Option<String>)]) -> Result<(), LedgerError>;
    /// Records the accepted source photo (and the UPN for reports).
    async fn put_source(
        &self,
        user_id: &str,
        upn: Option<&str>,
        source: &SourceRecord,
    ) -> Result<(), LedgerError>;
    /// Records what was written to one target, after the target accepted it.
    async fn put_target(
        &self,
        user_id: &str,
        target: &str,
        record: &TargetRecord,
    ) -> Result<(), LedgerError>;
    /// Forgets one target's record (after the photo was removed there).
    async fn clear_target(&self, user_id: &str, target: &str) -> Result<(), LedgerError>;
    /// Sets (or with `None` clears) the user's last failure.
    async fn put_failure(
        &self,
        user_id: &str,
        failure: Option<&FailureRecord>,
    ) -> Result<(), LedgerError>;
    /// Forgets a user entirely (deleted from the directory).
    async fn forget_user(&self, user_id: &str) -> Result<(), LedgerError>;
    /// Users in id order, starting after `after`, at most `limit`.
    async fn users(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, UserState)>, LedgerError>;
    /// A named cursor (`delta`, `last_full_walk`, ...).
    async fn cursor(&self, name: &str) -> Result<Option<String>, LedgerError>;
    /// Sets or (with `None`) clears a named cursor.
    async fn set_cursor(&self, name: &str, value: Option<&str>) -> Result<(), LedgerError>;
    /// Subscriptions photo-sync owns.
    async fn subscriptions(&self) -> Result<Vec<SubscriptionRecord>, LedgerError>;
    /// Adds or replaces a subscription.
    async fn put_subscription(&self, sub: &SubscriptionRecord) -> Result<(), LedgerError>;
    /// Forgets a subscription.
    async fn delete_subscription(&self, id: &str) -> Result<(), LedgerError>;
    /// Claims a dedupe key until `expires_at` (Unix seconds). True when this call is the
    /// first claim (or the earlier claim had expired by `now`); false for a duplicate.
    async fn claim(&self, key: &str, now: i64, expires_at: i64) -> Result<bool, LedgerError>;
    /// Releases a claim (the work it guarded could not be queued).
    async fn release(&self, key: &str) -> Result<(), LedgerError>;
    /// Deletes dedupe keys that expired before `now`; returns how many.
    async fn purge_expired(&self, now: i64) -> Result<u64, LedgerError>;
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
