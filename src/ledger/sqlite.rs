//! The SQLite ledger: the embedded default (`PHOTOSYNC_LEDGER=sqlite:PATH`), created on
//! first use, migrations versioned in `schema_migrations`.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{params, OptionalExtension};

use super::db::Db;
use super::{
    FailureRecord, Ledger, LedgerError, SourceRecord, SubscriptionRecord, TargetRecord, UserState,
};

const MIGRATIONS: &[&str] = &["
    CREATE TABLE users (
        user_id TEXT PRIMARY KEY,
        upn TEXT,
        source TEXT,
        failure TEXT
    );
    CREATE TABLE targets (
        user_id TEXT NOT NULL,
        target TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        phash INTEGER NOT NULL,
        etag TEXT,
        written_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, target)
    );
    CREATE TABLE cursors (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE subscriptions (
        id TEXT PRIMARY KEY,
        resource TEXT NOT NULL,
        notification_url TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    );
    CREATE TABLE dedupe (key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
    CREATE INDEX dedupe_expiry ON dedupe (expires_at);
"];

/// The ledger in a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteLedger {
    db: Db,
}

impl SqliteLedger {
    /// Opens or creates the ledger at `path`.
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        Self::with_db(Db::open(path)?)
    }

    /// The ledger on an already open file (shared with the photo store and local queue).
    pub fn with_db(db: Db) -> Result<Self, LedgerError> {
        db.migrate("ledger", MIGRATIONS)?;
        Ok(Self { db })
    }

    /// The shared file.
    pub fn db(&self) -> &Db {
        &self.db
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn from_json<T: serde::de::DeserializeOwned>(
    text: Option<String>,
) -> Result<Option<T>, LedgerError> {
    text.map(|t| serde_json::from_str(&t).map_err(|e| LedgerError::Corrupt(e.to_string())))
        .transpose()
}

type UserRow = (String, Option<String>, Option<String>, Option<String>);
type TargetRow = (String, String, String, i64, Option<String>, i64);

fn assemble(
    users: Vec<UserRow>,
    targets: Vec<TargetRow>,
) -> Result<Vec<(String, UserState)>, LedgerError> {
    let mut out: BTreeMap<String, UserState> = BTreeMap::new();
    for (id, upn, source, failure) in users {
        out.insert(
            id,
            UserState {
                upn,
                source: from_json(source)?,
                targets: BTreeMap::new(),
                failure: from_json(failure)?,
            },
        );
    }
    for (id, target, sha256, phash, etag, written_at) in targets {
        out.entry(id).or_default().targets.insert(
            target,
            TargetRecord {
                sha256,
                phash: phash as u64,
                etag,
                written_at,
            },
        );
    }
    Ok(out.into_iter().collect())
}

fn read_target(r: &rusqlite::Row<'_>) -> rusqlite::Result<TargetRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn read_user(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

#[async_trait::async_trait]
impl Ledger for SqliteLedger {
    async fn user(&self, user_id: &str) -> Result<Option<UserState>, LedgerError> {
        let id = user_id.to_string();
        let (users, targets) = self
            .db
            .run(move |c| {
                let users = c
                    .prepare_cached("SELECT user_id, upn, source, failure FROM users WHERE user_id = ?1")?
                    .query_map([&id], read_user)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let targets = c
                    .prepare_cached(
                        "SELECT user_id, target, sha256, phash, etag, written_at FROM targets WHERE user_id = ?1",
                    )?
                    .query_map([&id], read_target)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok((users, targets))
            })
            .await?;
        Ok(assemble(users, targets)?.into_iter().next().map(|(_, s)| s))
    }

    async fn note_users(&self, users: &[(String, Option<String>)]) -> Result<(), LedgerError> {
        let users = users.to_vec();
        self.db
            .run(move |c| {
                let tx = c.transaction()?;
                {
                    let mut upsert = tx.prepare_cached(
                        "INSERT INTO users (user_id, upn) VALUES (?1, ?2)
                         ON CONFLICT(user_id) DO UPDATE SET upn = COALESCE(excluded.upn, users.upn)",
                    )?;
                    for (id, upn) in &users {
                        upsert.execute(params![id, upn])?;
                    }
                }
                tx.commit()
            })
            .await
    }

    async fn put_source(
        &self,
        user_id: &str,
        upn: Option<&str>,
        source: &SourceRecord,
    ) -> Result<(), LedgerError> {
        let (id, upn, json) = (
            user_id.to_string(),
            upn.map(str::to_string),
            to_json(source),
        );
        self.db
            .run(move |c| {
                c.execute(
                    "INSERT INTO users (user_id, upn, source) VALUES (?1, ?2, ?3)
                     ON CONFLICT(user_id) DO UPDATE SET source = excluded.source,
                        upn = COALESCE(excluded.upn, users.upn)",
                    params![id, upn, json],
                )
            })
            .await
            .map(drop)
    }

    async fn put_target(
        &self,
        user_id: &str,
        target: &str,
        record: &TargetRecord,
    ) -> Result<(), LedgerError> {
        let (id, target, r) = (user_id.to_string(), target.to_string(), record.clone());
        self.db
            .run(move |c| {
                c.execute(
                    "INSERT INTO targets (user_id, target, sha256, phash, etag, written_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT(user_id, target) DO UPDATE SET sha256 = excluded.sha256,
                        phash = excluded.phash, etag = excluded.etag, written_at = excluded.written_at",
                    params![id, target, r.sha256, r.phash as i64, r.etag, r.written_at],
                )?;
                c.execute("INSERT OR IGNORE INTO users (user_id) VALUES (?1)", [&id])
            })
            .await
            .map(drop)
    }

    async fn clear_target(&self, user_id: &str, target: &str) -> Result<(), LedgerError> {
        let (id, target) = (user_id.to_string(), target.to_string());
        self.db
            .run(move |c| {
                c.execute(
                    "DELETE FROM targets WHERE user_id = ?1 AND target = ?2",
                    [&id, &target],
                )
            })
            .await
            .map(drop)
    }

    async fn put_failure(
        &self,
        user_id: &str,
        failure: Option<&FailureRecord>,
    ) -> Result<(), LedgerError> {
        let (id, json) = (user_id.to_string(), failure.map(to_json));
        self.db
            .run(move |c| {
                c.execute(
                    "INSERT INTO users (user_id, failure) VALUES (?1, ?2)
                     ON CONFLICT(user_id) DO UPDATE SET failure = excluded.failure",
                    params![id, json],
                )
            })
            .await
            .map(drop)
    }

    async fn forget_user(&self, user_id: &str) -> Result<(), LedgerError> {
        let id = user_id.to_string();
        self.db
            .run(move |c| {
                let tx = c.transaction()?;
                tx.execute("DELETE FROM targets WHERE user_id = ?1", [&id])?;
                tx.execute("DELETE FROM users WHERE user_id = ?1", [&id])?;
                tx.commit()
            })
            .await
    }

    async fn users(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, UserState)>, LedgerError> {
        let after = after.unwrap_or("").to_string();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let (users, targets) = self
            .db
            .run(move |c| {
                let tx = c.transaction()?;
                let users = tx
                    .prepare_cached(
                        "SELECT user_id, upn, source, failure FROM users WHERE user_id > ?1
                         ORDER BY user_id LIMIT ?2",
                    )?
                    .query_map(params![after, limit], read_user)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                let last = users.last().map(|u| u.0.clone()).unwrap_or_default();
                let targets = tx
                    .prepare_cached(
                        "SELECT user_id, target, sha256, phash, etag, written_at FROM targets
                         WHERE user_id > ?1 AND user_id <= ?2",
                    )?
                    .query_map(params![after, last], read_target)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                tx.commit()?;
                Ok((users, targets))
            })
            .await?;
        assemble(users, targets)
    }

    async fn cursor(&self, name: &str) -> Result<Option<String>, LedgerError> {
        let name = name.to_string();
        self.db
            .run(move |c| {
                c.query_row("SELECT value FROM cursors WHERE name = ?1", [&name], |r| {
                    r.get(0)
                })
                .optional()
            })
            .await
    }

    async fn set_cursor(&self, name: &str, value: Option<&str>) -> Result<(), LedgerError> {
        let (name, value) = (name.to_string(), value.map(str::to_string));
        self.db
            .run(move |c| match value {
                Some(v) => c.execute(
                    "INSERT INTO cursors (name, value) VALUES (?1, ?2)
                     ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                    [&name, &v],
                ),
                None => c.execute("DELETE FROM cursors WHERE name = ?1", [&name]),
            })
            .await
            .map(drop)
    }

    async fn subscriptions(&self) -> Result<Vec<SubscriptionRecord>, LedgerError> {
        self.db
            .run(|c| {
                c.prepare_cached(
                    "SELECT id, resource, notification_url, expires_at FROM subscriptions ORDER BY id",
                )?
                .query_map([], |r| {
                    Ok(SubscriptionRecord {
                        id: r.get(0)?,
                        resource: r.get(1)?,
                        notification_url: r.get(2)?,
                        expires_at: r.get(3)?,
                    })
                })?
                .collect()
            })
            .await
    }

    async fn put_subscription(&self, sub: &SubscriptionRecord) -> Result<(), LedgerError> {
        let s = sub.clone();
        self.db
            .run(move |c| {
                c.execute(
                    "INSERT INTO subscriptions (id, resource, notification_url, expires_at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(id) DO UPDATE SET resource = excluded.resource,
                        notification_url = excluded.notification_url, expires_at = excluded.expires_at",
                    params![s.id, s.resource, s.notification_url, s.expires_at],
                )
            })
            .await
            .map(drop)
    }

    async fn delete_subscription(&self, id: &str) -> Result<(), LedgerError> {
        let id = id.to_string();
        self.db
            .run(move |c| c.execute("DELETE FROM subscriptions WHERE id = ?1", [&id]))
            .await
            .map(drop)
    }

    async fn claim(&self, key: &str, now: i64, expires_at: i64) -> Result<bool, LedgerError> {
        let key = key.to_string();
        self.db
            .run(move |c| {
                // Insert, or take over a claim that has expired; a live claim is untouched.
                let changed = c.execute(
                    "INSERT INTO dedupe (key, expires_at) VALUES (?1, ?2)
                     ON CONFLICT(key) DO UPDATE SET expires_at = excluded.expires_at
                     WHERE dedupe.expires_at <= ?3",
                    params![key, expires_at, now],
                )?;
                Ok(changed == 1)
            })
            .await
    }

    async fn release(&self, key: &str) -> Result<(), LedgerError> {
        let key = key.to_string();
        self.db
            .run(move |c| c.execute("DELETE FROM dedupe WHERE key = ?1", [&key]))
            .await
            .map(drop)
    }

    async fn purge_expired(&self, now: i64) -> Result<u64, LedgerError> {
        self.db
            .run(move |c| c.execute("DELETE FROM dedupe WHERE expires_at <= ?1", [now]))
            .await
            .map(|n| n as u64)
    }
}
