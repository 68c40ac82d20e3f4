//! The photo store in the SQLite ledger file (the embedded default).

use rusqlite::{params, OptionalExtension};

use super::{InboxPhoto, PhotoStore, StoreError, StoredPhoto};
use crate::ledger::db::Db;

const MIGRATIONS: &[&str] = &["
    CREATE TABLE photos (user_id TEXT PRIMARY KEY, photo TEXT NOT NULL);
    CREATE TABLE inbox (event_id TEXT PRIMARY KEY, item TEXT NOT NULL, received_at INTEGER NOT NULL);
"];

/// Accepted photos and the HR inbox in SQLite (JSON rows, JPEGs base64: renditions are
/// small — ≤ 100 KB for the largest).
#[derive(Debug, Clone)]
pub struct SqlitePhotoStore {
    db: Db,
}

impl SqlitePhotoStore {
    /// The store on an open file (normally the ledger's).
    pub fn with_db(db: Db) -> Result<Self, StoreError> {
        db.migrate("photostore", MIGRATIONS)?;
        Ok(Self { db })
    }
}

fn decode<T: serde::de::DeserializeOwned>(text: Option<String>) -> Result<Option<T>, StoreError> {
    text.map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}

#[async_trait::async_trait]
impl PhotoStore for SqlitePhotoStore {
    async fn photo(&self, user_id: &str) -> Result<Option<StoredPhoto>, StoreError> {
        let id = user_id.to_string();
        let text = self
            .db
            .run(move |c| {
                c.query_row("SELECT photo FROM photos WHERE user_id = ?1", [&id], |r| {
                    r.get(0)
                })
                .optional()
            })
            .await?;
        decode(text)
    }

    async fn put_photo(&self, user_id: &str, photo: &StoredPhoto) -> Result<(), StoreError> {
        let id = user_id.to_string();
        let json = serde_json::to_string(photo).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.db
            .run(move |c| {
                c.execute(
                    "INSERT INTO photos (user_id, photo) VALUES (?1, ?2)
                     ON CONFLICT(user_id) DO UPDATE SET photo = excluded.photo",
                    [&id, &json],
                )
            })
            .await
            .map(drop)
    }

    async fn delete_photo(&self, user_id: &str) -> Result<(), StoreError> {
        let id = user_id.to_string();
        self.db
            .run(move |c| c.execute("DELETE FROM photos WHERE user_id = ?1", [&id]))
            .await
            .map(drop)
    }

    async fn put_inbox(&self, event_id: &str, item: &InboxPhoto) -> Result<(), StoreError> {
        let id = event_id.to_string();
        let json = serde_json::to_string(item).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let at = item.received_at;
        self.db
            .run(move |c| {
                c.execute(
                    "INSERT OR IGNORE INTO inbox (event_id, item, received_at) VALUES (?1, ?2, ?3)",
                    params![id, json, at],
                )
            })
            .await
            .map(drop)
    }

    async fn inbox(&self, event_id: &str) -> Result<Option<InboxPhoto>, StoreError> {
        let id = event_id.to_string();
        let text = self
            .db
            .run(move |c| {
                c.query_row("SELECT item FROM inbox WHERE event_id = ?1", [&id], |r| {
                    r.get(0)
                })
                .optional()
            })
            .await?;
        decode(text)
    }

    async fn delete_inbox(&self, event_id: &str) -> Result<(), StoreError> {
        let id = event_id.to_string();
        self.db
            .run(move |c| c.execute("DELETE FROM inbox WHERE event_id = ?1", [&id]))
            .await
            .map(drop)
    }
}
