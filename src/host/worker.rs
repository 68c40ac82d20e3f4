//! The standalone host's queue worker: takes messages from the durable local queue, runs
//! each as a `sync-user` job, and completes, releases (with backoff) or poisons it — the
//! same outcomes the Functions host gives the queue trigger. A job in flight when the
//! process dies stays in the queue and is delivered again after its visibility timeout.

use std::time::Duration;

use futures::StreamExt as _;

use std::collections::BTreeMap;

use crate::queue::{Delivery, Job, LocalQueue};
use crate::sync::{TargetOutcome, UserReport};
use crate::triggers::{App, JobOutcome};

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Jobs run at once.
    pub concurrency: usize,
    /// How long a received message stays hidden (longer than any job takes).
    pub visibility: Duration,
    /// First retry delay; doubled per attempt up to `max_backoff`.
    pub backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
    /// Sleep when the queue is empty.
    pub idle: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            concurrency: 8,
            visibility: Duration::from_secs(300),
            backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(300),
            idle: Duration::from_millis(250),
        }
    }
}

/// What a worker pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct WorkerStats {
    /// Jobs completed.
    pub done: u64,
    /// Jobs released for a later attempt.
    pub retried: u64,
    /// Jobs poisoned.
    pub poisoned: u64,
    /// Targets written (or removed), per target.
    pub written: BTreeMap<String, u64>,
    /// Targets that already held the right photo.
    pub unchanged: u64,
    /// Targets skipped, per reason.
    pub skipped: BTreeMap<String, u64>,
    /// Failures recorded for users (user, reason).
    pub failed: Vec<(String, String)>,
}

impl WorkerStats {
    /// True when the pass found nothing to do.
    pub fn is_idle(&self) -> bool {
        self.done == 0 && self.retried == 0 && self.poisoned == 0
    }

    /// Adds another pass's numbers.
    pub fn add(&mut self, other: WorkerStats) {
        self.done += other.done;
        self.retried += other.retried;
        self.poisoned += other.poisoned;
        for (k, v) in other.written {
            *self.written.entry(k).or_default() += v;
        }
        self.unchanged += other.unchanged;
        for (k, v) in other.skipped {
            *self.skipped.entry(k).or_default() += v;
        }
        self.failed.extend(other.failed);
    }

    fn count(&mut self, report: &UserReport) {
        let who = report
            .upn
            .clone()
            .or_else(|| report.user_id.clone())
            .unwrap_or_default();
        if let (true, Some(note)) = (report.targets.is_empty(), &report.note) {
            *self.skipped.entry(note.clone()).or_default() += 1;
        }
        for (target, outcome) in &report.targets {
            match outcome {
                TargetOutcome::Written { .. } | TargetOutcome::Removed => {
                    *self.written.entry(target.clone()).or_default() += 1;
                }
                TargetOutcome::Unchanged => self.unchanged += 1,
                TargetOutcome::Skipped { reason } => {
                    *self.skipped.entry(reason.clone()).or_default() += 1;
                }
                TargetOutcome::Failed { reason, .. } => {
                    self.failed
                        .push((who.clone(), format!("{target}: {reason}")));
                }
            }
        }
    }
}

/// Runs jobs from a local queue.
#[derive(Debug, Clone)]
pub struct Worker {
    app: App,
    queue: LocalQueue,
    opts: WorkerOptions,
}

impl Worker {
    /// A worker for `queue`.
    pub fn new(app: App, queue: LocalQueue, opts: WorkerOptions) -> Self {
        Self { app, queue, opts }
    }

    /// One pass: every message visible now (up to `concurrency` at a time). Returns
    /// what happened; zero of everything means the queue had nothing visible.
    pub async fn pass(&self) -> anyhow::Result<WorkerStats> {
        let batch = self
            .queue
            .receive(self.opts.concurrency.max(1) * 4, self.opts.visibility)
            .await?;
        let results: Vec<anyhow::Result<WorkerStats>> = futures::stream::iter(batch)
            .map(|d| self.handle(d))
            .buffer_unordered(self.opts.concurrency.max(1))
            .collect()
            .await;
        let mut stats = WorkerStats::default();
        for r in results {
            stats.add(r?);
        }
        Ok(stats)
    }

    /// Runs passes until the queue holds nothing visible; returns the totals.
    pub async fn drain(&self) -> anyhow::Result<WorkerStats> {
        let mut total = WorkerStats::default();
        loop {
            let s = self.pass().await?;
            if s.is_idle() {
                return Ok(total);
            }
            total.add(s);
        }
    }

    /// Runs until `stop` turns true.
    pub async fn run(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        while !*stop.borrow() {
            let idle = match self.pass().await {
                Ok(s) => s.is_idle(),
                Err(e) => {
                    tracing::error!(error = %e, "queue worker pass failed");
                    true
                }
            };
            if idle {
                tokio::select! {
                    _ = tokio::time::sleep(self.opts.idle) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }

    async fn handle(&self, d: Delivery) -> anyhow::Result<WorkerStats> {
        use tracing::Instrument as _;
        let span = tracing::info_span!("sync-user", message = d.id, attempt = d.dequeue_count);
        self.handle_in_span(d).instrument(span).await
    }

    async fn handle_in_span(&self, d: Delivery) -> anyhow::Result<WorkerStats> {
        let outcome = match Job::from_message(&d.body) {
            Ok(job) => self.app.run_job(&job, d.dequeue_count).await,
            Err(why) => JobOutcome::GiveUp(why),
        };
        let mut stats = WorkerStats::default();
        match outcome {
            JobOutcome::Done(report) => {
                self.queue.complete(&d).await?;
                stats.done = 1;
                stats.count(&report);
            }
            JobOutcome::Retry(why) => {
                let exp = d.dequeue_count.saturating_sub(1).min(16);
                let delay = self
                    .opts
                    .backoff
                    .saturating_mul(1 << exp)
                    .min(self.opts.max_backoff);
                tracing::info!(reason = %why, ?delay, "job will be retried");
                self.queue.release(&d, delay).await?;
                stats.retried = 1;
            }
            JobOutcome::GiveUp(why) => {
                tracing::warn!(reason = %why, "job poisoned");
                self.queue.poison(&d, &why).await?;
                stats.poisoned = 1;
            }
        }
        Ok(stats)
    }
}
