//! The standalone host's durable queue: messages in a SQLite table, invisible for a
//! visibility timeout once received, counted per delivery, and moved to the poison table
//! with their reason after too many attempts — the Storage-queue semantics the Functions
//! host gives `sync-user` on Azure (m365-facts Part B §4.2: 5 attempts, then poison).

use std::time::Duration;

use rusqlite::params;

use super::{Job, JobSink, QueueError};
use crate::ledger::db::Db;
use crate::ledger::LedgerError;

const MIGRATIONS: &[&str] = &["
    CREATE TABLE queue (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        body TEXT NOT NULL,
        visible_at INTEGER NOT NULL,
        dequeue_count INTEGER NOT NULL DEFAULT 0,
        receipt TEXT,
        inserted_at INTEGER NOT NULL
    );
    CREATE INDEX queue_visible ON queue (visible_at, id);
    CREATE TABLE poison (
        id INTEGER PRIMARY KEY,
        body TEXT NOT NULL,
        dequeue_count INTEGER NOT NULL,
        reason TEXT NOT NULL,
        poisoned_at INTEGER NOT NULL
    );
"];

/// One received message. Complete it, release it for a later attempt, or poison it.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Message id.
    pub id: i64,
    /// This delivery's receipt: a later delivery of the same message gets a new one.
    pub receipt: String,
    /// How many times the message has been delivered, this one included.
    pub dequeue_count: u32,
    /// The message text.
    pub body: String,
}

/// A message that will not be retried, with why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PoisonedJob {
    /// Message id.
    pub id: i64,
    /// The message text.
    pub body: String,
    /// Deliveries it had.
    pub dequeue_count: u32,
    /// Why it was given up.
    pub reason: String,
    /// When, Unix seconds.
    pub poisoned_at: i64,
}

/// The durable local queue.
#[derive(Debug, Clone)]
pub struct LocalQueue {
    db: Db,
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn queue_err(e: LedgerError) -> QueueError {
    QueueError::Unavailable(e.to_string())
}

impl LocalQueue {
    /// The queue in an open SQLite file (normally the ledger's).
    pub fn with_db(db: Db) -> Result<Self, LedgerError> {
        db.migrate("queue", MIGRATIONS)?;
        Ok(Self { db })
    }

    /// Enqueues raw message texts (as an operator would).
    pub async fn send_raw(&self, bodies: Vec<String>) -> Result<(), QueueError> {
        let now = now_ms();
        self.db
            .run(move |c| {
                let tx = c.transaction()?;
                {
                    let mut insert = tx.prepare_cached(
                        "INSERT INTO queue (body, visible_at, inserted_at) VALUES (?1, ?2, ?2)",
                    )?;
                    for body in &bodies {
                        insert.execute(params![body, now])?;
                    }
                }
                tx.commit()
            })
            .await
            .map_err(queue_err)
    }

    /// Takes up to `max` visible messages and hides them for `visibility`.
    pub async fn receive(
        &self,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        let now = now_ms();
        let hidden_until = now + i64::try_from(visibility.as_millis()).unwrap_or(i64::MAX / 2);
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        self.db
            .run(move |c| {
                let tx = c.transaction()?;
                let rows: Vec<(i64, String, u32)> = tx
                    .prepare_cached(
                        "SELECT id, body, dequeue_count FROM queue WHERE visible_at <= ?1
                         ORDER BY visible_at, id LIMIT ?2",
                    )?
                    .query_map(params![now, max], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                let mut out = Vec::with_capacity(rows.len());
                for (id, body, count) in rows {
                    let receipt = format!("{id}-{now}-{}", count + 1);
                    tx.execute(
                        "UPDATE queue SET visible_at = ?1, dequeue_count = dequeue_count + 1,
                            receipt = ?2 WHERE id = ?3",
                        params![hidden_until, receipt, id],
                    )?;
                    out.push(Delivery {
                        id,
                        receipt,
                        dequeue_count: count + 1,
                        body,
                    });
                }
                tx.commit()?;
                Ok(out)
            })
            .await
            .map_err(queue_err)
    }

    /// Deletes a delivered message (done).
    pub async fn complete(&self, d: &Delivery) -> Result<(), QueueError> {
        let (id, receipt) = (d.id, d.receipt.clone());
        let n = self
            .db
            .run(move |c| {
                c.execute(
                    "DELETE FROM queue WHERE id = ?1 AND receipt = ?2",
                    params![id, receipt],
                )
            })
            .await
            .map_err(queue_err)?;
        if n == 0 {
            return Err(QueueError::Lost(d.id.to_string()));
        }
        Ok(())
    }

    /// Makes a delivered message visible again after `delay` (a retryable failure).
    pub async fn release(&self, d: &Delivery, delay: Duration) -> Result<(), QueueError> {
        let (id, receipt) = (d.id, d.receipt.clone());
        let at = now_ms() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
        self.db
            .run(move |c| {
                c.execute(
                    "UPDATE queue SET visible_at = ?1 WHERE id = ?2 AND receipt = ?3",
                    params![at, id, receipt],
                )
            })
            .await
            .map(drop)
            .map_err(queue_err)
    }

    /// Moves a delivered message to the poison table with its reason.
    pub async fn poison(&self, d: &Delivery, reason: &str) -> Result<(), QueueError> {
        let (id, receipt, reason) = (d.id, d.receipt.clone(), reason.to_string());
        let at = now_ms() / 1000;
        self.db
            .run(move |c| {
                let tx = c.transaction()?;
                let moved = tx.execute(
                    "INSERT INTO poison (id, body, dequeue_count, reason, poisoned_at)
                     SELECT id, body, dequeue_count, ?1, ?2 FROM queue WHERE id = ?3 AND receipt = ?4",
                    params![reason, at, id, receipt],
                )?;
                tx.execute("DELETE FROM queue WHERE id = ?1 AND receipt = ?2", params![id, receipt])?;
                tx.commit()?;
                Ok(moved)
            })
            .await
            .map_err(queue_err)
            .and_then(|n| if n == 0 { Err(QueueError::Lost(d.id.to_string())) } else { Ok(()) })
    }

    /// Poisoned messages, newest first.
    pub async fn poisoned(&self) -> Result<Vec<PoisonedJob>, QueueError> {
        self.db
            .run(|c| {
                c.prepare_cached(
                    "SELECT id, body, dequeue_count, reason, poisoned_at FROM poison ORDER BY poisoned_at DESC, id DESC",
                )?
                .query_map([], |r| {
                    Ok(PoisonedJob {
                        id: r.get(0)?,
                        body: r.get(1)?,
                        dequeue_count: r.get(2)?,
                        reason: r.get(3)?,
                        poisoned_at: r.get(4)?,
                    })
                })?
                .collect()
            })
            .await
            .map_err(queue_err)
    }

    /// Messages waiting (visible or not).
    pub async fn depth(&self) -> Result<u64, QueueError> {
        self.db
            .run(|c| c.query_row("SELECT COUNT(*) FROM queue", [], |r| r.get::<_, i64>(0)))
            .await
            .map(|n| n as u64)
            .map_err(queue_err)
    }
}

#[async_trait::async_trait]
impl super::Poison for LocalQueue {
    /// Messages poisoned without a delivery (from the Functions envelope) get negative ids.
    async fn poison(&self, body: &str, reason: &str) -> Result<(), QueueError> {
        let (body, reason) = (body.to_string(), reason.to_string());
        let at = now_ms() / 1000;
        self.db
            .run(move |c| {
                c.execute(
                    "INSERT INTO poison (id, body, dequeue_count, reason, poisoned_at)
                     VALUES ((SELECT MIN(COALESCE(MIN(id), 0), 0) - 1 FROM poison), ?1, 1, ?2, ?3)",
                    params![body, reason, at],
                )
            })
            .await
            .map(drop)
            .map_err(queue_err)
    }
}

#[async_trait::async_trait]
impl JobSink for LocalQueue {
    async fn send(&self, jobs: &[Job]) -> Result<(), QueueError> {
        self.send_raw(jobs.iter().map(Job::to_message).collect())
            .await
    }
}
