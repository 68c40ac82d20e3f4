//! `reconcile`: keep the subscription alive, walk users by delta (a full walk on the
//! first run, after Graph refuses the saved link, or every `full_walk_days`), then check
//! every known user's photo metadata in `$batch` envelopes of 20 against the ledger and
//! queue one job per user that needs work (m365-facts B§2.1, §2.2, §1.7: photo changes
//! show up neither in delta nor in notifications, so the metadata check covers everyone).
//! Over an unchanged tenant it queues nothing and writes nothing.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{decide, Decision, Engine, LeaverPolicy, SubscriptionReport, SyncError};
use crate::graph::DeltaPage;
use crate::ledger::unix_now;
use crate::queue::{Cause, Job, JobSink};

/// Users read from the ledger (and checked) per round.
const PAGE: usize = 1000;
/// Jobs sent to the queue per call.
const SEND_CHUNK: usize = 256;

/// What a reconcile did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileReport {
    /// Subscription upkeep (or why it failed).
    pub subscriptions: Option<SubscriptionReport>,
    /// Why subscription upkeep failed, when it did (the reconcile goes on).
    pub subscription_error: Option<String>,
    /// True when the delta walk started from scratch.
    pub full_walk: bool,
    /// Users that delta reported added or changed.
    pub delta_users: u64,
    /// Users that delta reported removed (forgotten by the ledger).
    pub removed: u64,
    /// Users whose photo metadata was checked.
    pub checked: u64,
    /// Users whose metadata could not be read (retried next run).
    pub unreadable: u64,
    /// Jobs queued.
    pub enqueued: u64,
    /// Jobs queued per reason.
    pub reasons: BTreeMap<String, u64>,
    /// True on a dry run (nothing queued, nothing written).
    pub dry_run: bool,
    /// Wall time, milliseconds.
    pub elapsed_ms: u64,
}

impl Engine {
    /// One reconcile. `force_full` walks every user from scratch; `progress` is told
    /// how many users were checked so far.
    pub async fn reconcile(
        &self,
        sink: &dyn JobSink,
        force_full: bool,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<ReconcileReport, SyncError> {
        let started = std::time::Instant::now();
        let dry = self.settings.dry_run;
        let mut report = ReconcileReport {
            dry_run: dry,
            ..ReconcileReport::default()
        };
        match self.ensure_subscriptions().await {
            Ok(s) => report.subscriptions = Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "subscription upkeep failed; the reconcile goes on");
                report.subscription_error = Some(e.to_string());
            }
        }
        if !dry {
            self.ledger.purge_expired(unix_now()).await?;
        }
        let leaver_jobs = self.walk_delta(force_full, &mut report).await?;
        self.send(
            sink,
            &leaver_jobs,
            &mut report,
            "the account is disabled (leaver policy remove)",
        )
        .await?;

        let mut after: Option<String> = None;
        loop {
            let page = self.ledger.users(after.as_deref(), PAGE).await?;
            let Some((last, _)) = page.last() else { break };
            after = Some(last.clone());
            let ids: Vec<String> = page.iter().map(|(id, _)| id.clone()).collect();
            let metas = self
                .graph
                .photo_meta_many(&ids, self.settings.batch_parallel)
                .await;
            let mut jobs = Vec::new();
            for ((id, state), meta) in page.iter().zip(metas) {
                report.checked += 1;
                let meta = match meta {
                    Ok(m) => m,
                    Err(e) if e.is_not_found() => continue, // deleted since the walk
                    Err(e) => {
                        tracing::debug!(user = %id, error = %e, "photo metadata unreadable");
                        report.unreadable += 1;
                        continue;
                    }
                };
                if let Decision::Enqueue(why) = decide(
                    Some(state),
                    &meta,
                    &self.settings.targets,
                    self.settings.max_attempts,
                ) {
                    *report.reasons.entry(why.to_string()).or_default() += 1;
                    jobs.push(Job::for_user(id.clone(), Cause::Reconcile));
                }
            }
            self.send(sink, &jobs, &mut report, "").await?;
            progress(report.checked);
            if page.len() < PAGE {
                break;
            }
        }
        report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(report)
    }

    async fn send(
        &self,
        sink: &dyn JobSink,
        jobs: &[Job],
        report: &mut ReconcileReport,
        reason: &str,
    ) -> Result<(), SyncError> {
        if jobs.is_empty() {
            return Ok(());
        }
        if !reason.is_empty() {
            *report.reasons.entry(reason.to_string()).or_default() += jobs.len() as u64;
        }
        report.enqueued += jobs.len() as u64;
        if self.settings.dry_run {
            return Ok(());
        }
        for chunk in jobs.chunks(SEND_CHUNK) {
            sink.send(chunk).await?;
        }
        Ok(())
    }

    /// Runs one delta round, keeping the ledger's roster current; returns leaver jobs.
    async fn walk_delta(
        &self,
        force_full: bool,
        report: &mut ReconcileReport,
    ) -> Result<Vec<Job>, SyncError> {
        let now = unix_now();
        let last_full: i64 = self
            .ledger
            .cursor("last_full_walk")
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let saved = self.ledger.cursor("delta").await?;
        let due = now - last_full >= self.settings.full_walk_days * 86_400;
        let saved = if force_full || due { None } else { saved };
        report.full_walk = saved.is_none();

        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<DeltaPage>();
        let walk = async {
            let r = self
                .graph
                .users_delta(saved.as_deref(), |page| {
                    let _ = tx.send(page);
                })
                .await;
            drop(tx);
            r
        };
        let remove_disabled = self.settings.leaver == LeaverPolicy::Remove;
        let incremental = saved.is_some();
        let apply = async {
            let mut stats = (0u64, 0u64);
            let mut leavers = Vec::new();
            while let Some(page) = rx.recv().await {
                stats.0 += page.users.len() as u64;
                stats.1 += page.removed.len() as u64;
                if self.settings.dry_run {
                    continue;
                }
                let roster: Vec<(String, Option<String>)> = page
                    .users
                    .iter()
                    .map(|u| (u.id.clone(), u.user_principal_name.clone()))
                    .collect();
                self.ledger.note_users(&roster).await?;
                for u in &page.users {
                    if u.account_enabled == Some(false) {
                        if remove_disabled {
                            leavers.push(Job::for_user(u.id.clone(), Cause::Reconcile));
                        }
                    } else if incremental {
                        // A changed user gets a fresh chance: a permanent failure (or the
                        // disabled state) is cleared so the metadata check decides anew.
                        let failed = self.ledger.user(&u.id).await?.and_then(|s| s.failure);
                        if failed.is_some_and(|f| !f.retryable) {
                            self.ledger.put_failure(&u.id, None).await?;
                        }
                    }
                }
                for r in &page.removed {
                    self.ledger.forget_user(&r.id).await?;
                    self.photos.delete_photo(&r.id).await?;
                }
            }
            Ok::<_, SyncError>((stats, leavers))
        };
        let (round, applied) = tokio::join!(walk, apply);
        let round = round?;
        let ((users, removed), leavers) = applied?;
        report.delta_users = users;
        report.removed = removed;
        report.full_walk |= round.restarted;
        if !self.settings.dry_run {
            self.ledger
                .set_cursor("delta", Some(&round.delta_link))
                .await?;
            if report.full_walk {
                self.ledger
                    .set_cursor("last_full_walk", Some(&now.to_string()))
                    .await?;
            }
        }
        Ok(leavers)
    }
}
