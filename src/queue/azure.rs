//! The Azure Storage queue (`PHOTOSYNC_QUEUE=azure:ACCOUNT/QUEUE`, default queue
//! `photo-sync-jobs`): where the forwarded HTTP functions and the timer put their jobs
//! on Azure, and where the Functions host's `sync-user` trigger takes them from. Messages
//! are base64 text (the host's default `messageEncoding`, m365-facts B§4.2).
//!
//! Poison: the host itself moves a message that failed `maxDequeueCount` times to
//! `<queue>-poison` as it was. photo-sync puts there the messages it gives up on at
//! once, wrapped as `{"poisoned": <message>, "reason": "…", "at": <unix seconds>}`, so
//! the report can show why.

use futures::StreamExt as _;
use serde::{Deserialize, Serialize};

use super::{Job, JobSink, Poison, PoisonedJob, QueueError};
use crate::storage::queue::QueueClient;

/// The default queue name (README, "Queue messages").
pub const DEFAULT_QUEUE: &str = "photo-sync-jobs";

/// How many messages are put at once.
const PUT_CONCURRENCY: usize = 16;

/// A job queue on Azure Storage, with its poison queue.
#[derive(Debug, Clone)]
pub struct AzureQueue {
    jobs: QueueClient,
    poison: QueueClient,
}

#[derive(Serialize, Deserialize)]
struct Wrapped {
    poisoned: String,
    reason: String,
    at: i64,
}

impl AzureQueue {
    /// The queue and `<queue>-poison` (both created when missing).
    pub async fn open(jobs: QueueClient, poison: QueueClient) -> Result<Self, QueueError> {
        jobs.ensure().await?;
        poison.ensure().await?;
        Ok(Self { jobs, poison })
    }

    /// The job queue.
    pub fn jobs(&self) -> &QueueClient {
        &self.jobs
    }

    /// The first (up to 32) messages of the poison queue, with photo-sync's reason when
    /// it put them there, else "failed N deliveries".
    pub async fn poisoned(&self) -> Result<Vec<PoisonedJob>, QueueError> {
        let peeked = self.poison.peek(32).await?;
        Ok(peeked
            .into_iter()
            .enumerate()
            .map(|(i, m)| {
                let inserted = httpdate::parse_http_date(&m.inserted)
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_secs() as i64);
                match serde_json::from_str::<Wrapped>(&m.text) {
                    Ok(w) => PoisonedJob {
                        id: i as i64,
                        body: w.poisoned,
                        dequeue_count: m.dequeue_count,
                        reason: w.reason,
                        poisoned_at: w.at,
                    },
                    Err(_) => PoisonedJob {
                        id: i as i64,
                        body: m.text,
                        dequeue_count: m.dequeue_count,
                        reason:
                            "the Functions host gave up after its maxDequeueCount deliveries failed"
                                .into(),
                        poisoned_at: inserted,
                    },
                }
            })
            .collect())
    }
}

#[async_trait::async_trait]
impl JobSink for AzureQueue {
    async fn send(&self, jobs: &[Job]) -> Result<(), QueueError> {
        let messages: Vec<String> = jobs.iter().map(Job::to_message).collect();
        let client = self.jobs.clone();
        let results: Vec<Result<(), QueueError>> = futures::stream::iter(messages)
            .map(move |text| {
                let client = client.clone();
                async move { client.put(&text).await.map_err(QueueError::from) }
            })
            .buffer_unordered(PUT_CONCURRENCY)
            .collect()
            .await;
        results.into_iter().collect()
    }
}

#[async_trait::async_trait]
impl Poison for AzureQueue {
    async fn poison(&self, body: &str, reason: &str) -> Result<(), QueueError> {
        // A body too big for one message keeps its start: the reason matters more.
        let keep: String = body.chars().take(16 * 1024).collect();
        let wrapped = Wrapped {
            poisoned: keep,
            reason: reason.to_string(),
            at: crate::ledger::unix_now(),
        };
        let text =
            serde_json::to_string(&wrapped).map_err(|e| QueueError::Message(e.to_string()))?;
        self.poison.put(&text).await.map_err(QueueError::from)
    }
}
