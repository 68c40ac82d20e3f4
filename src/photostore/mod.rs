//! The photo store (PRODUCT.md §6): the last accepted source photo per user — its
//! normalised renditions, the original bytes' hash, where it came from and when — so a
//! reconcile can restore drift in any store without asking the HR system again, and a
//! report can show what each store should hold. Also the *inbox*: photos an HR webhook
//! delivered, kept until the `sync-user` job that the webhook queued has taken them.
//!
//! One trait, [`PhotoStore`]: SQLite beside the ledger by default ([`SqlitePhotoStore`]),
//! a Blob container on Azure ([`BlobPhotoStore`]).

mod blob;
mod sqlite;

use serde::{Deserialize, Serialize};

pub use blob::BlobPhotoStore;
pub use sqlite::SqlitePhotoStore;

pub use crate::ledger::LedgerError as StoreError;

/// One stored rendition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRendition {
    /// Target name (`m365`, `ad`, `sharepoint`).
    pub target: String,
    /// Side in pixels.
    pub side: u32,
    /// The JPEG.
    #[serde(with = "b64")]
    pub jpeg: Vec<u8>,
}

/// The accepted photo for one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPhoto {
    /// `hr`, `folder` or `m365`.
    pub origin: String,
    /// SHA-256 (hex) of the original bytes.
    pub source_sha256: String,
    /// Perceptual hash of the normalised square.
    pub phash: u64,
    /// When accepted, Unix seconds.
    pub accepted_at: i64,
    /// Largest first.
    pub renditions: Vec<StoredRendition>,
}

impl StoredPhoto {
    /// The renditions for one target, largest first.
    pub fn for_target<'a>(&'a self, target: &'a str) -> impl Iterator<Item = &'a StoredRendition> {
        self.renditions.iter().filter(move |r| r.target == target)
    }
}

/// A photo an HR webhook delivered, waiting for its job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxPhoto {
    /// `photo.updated` or `photo.deleted`.
    pub event_type: String,
    /// The bytes as sent (empty for `photo.deleted`, or when `photo_url` is set).
    #[serde(with = "b64")]
    pub bytes: Vec<u8>,
    /// Content type the sender declared.
    pub content_type: Option<String>,
    /// An allow-listed URL to fetch the photo from instead.
    pub photo_url: Option<String>,
    /// Explicit crop box from the HR system: x, y, width, height.
    pub crop: Option<[u32; 4]>,
    /// When received, Unix seconds.
    pub received_at: i64,
}

/// Where accepted photos and inbox items live.
#[async_trait::async_trait]
pub trait PhotoStore: Send + Sync {
    /// The accepted photo for a user.
    async fn photo(&self, user_id: &str) -> Result<Option<StoredPhoto>, StoreError>;
    /// Replaces the accepted photo for a user.
    async fn put_photo(&self, user_id: &str, photo: &StoredPhoto) -> Result<(), StoreError>;
    /// Removes the accepted photo for a user.
    async fn delete_photo(&self, user_id: &str) -> Result<(), StoreError>;
    /// Stores an inbox item under its event id (idempotent: same id, same item).
    async fn put_inbox(&self, event_id: &str, item: &InboxPhoto) -> Result<(), StoreError>;
    /// An inbox item.
    async fn inbox(&self, event_id: &str) -> Result<Option<InboxPhoto>, StoreError>;
    /// Removes an inbox item once its photo was accepted (or rejected for good).
    async fn delete_inbox(&self, event_id: &str) -> Result<(), StoreError>;
}

mod b64 {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}
