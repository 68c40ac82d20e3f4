//! `sync-user`: one user, end to end. Resolve the user; pick the authoritative photo by
//! source precedence (an HR event's photo, else the accepted photo in the photo store,
//! else the current Microsoft 365 photo); normalise it once; write each target whose
//! fingerprint differs; record each target in the ledger after the write. A repeated job
//! finds every fingerprint equal and writes nothing (PRODUCT.md §8: own writes never loop).

use bytes::Bytes;

use super::{Engine, LeaverPolicy, SourceKind, SyncError, TargetOutcome, UserReport};
use crate::graph::{PhotoState, User};
use crate::ledger::{unix_now, FailureRecord, SourceRecord, TargetRecord, UserState};
use crate::photo::{self, CropBox, CropMode, PerceptualHash, Target};
use crate::photostore::{StoredPhoto, StoredRendition};
use crate::queue::Job;
use crate::sharepoint::Thumb;

/// A photo about to be accepted: the original bytes and where they came from.
struct Candidate {
    origin: SourceKind,
    bytes: Bytes,
    crop: Option<[u32; 4]>,
}

impl Engine {
    /// Runs one job. `Ok` carries what happened per target (failures included, each
    /// recorded in the ledger); `Err` only when the job as a whole could not run (the
    /// ledger or Graph unreachable, no such user) — the queue retries those that are
    /// retryable.
    pub async fn sync_user(&self, job: &Job) -> Result<UserReport, SyncError> {
        let mut report = UserReport::new(self.settings.dry_run);
        let keys = job.user.keys();
        let user = self.graph.resolve(&keys).await?;
        let Some(user) = user else {
            if let Some(id) = &job.user.id {
                // Deleted from the directory: forget what we knew.
                if !self.settings.dry_run {
                    self.ledger.forget_user(id).await?;
                    self.photos.delete_photo(id).await?;
                }
                report.user_id = Some(id.clone());
                report.note = Some("the user no longer exists in the directory; forgotten".into());
                return Ok(report);
            }
            return Err(SyncError::NoSuchUser(job.user.label()));
        };
        report.user_id = Some(user.id.clone());
        report.upn = user.user_principal_name.clone();
        let state = self.ledger.user(&user.id).await?.unwrap_or_default();

        if user.account_enabled == Some(false) {
            return self.leaver(&user, &state, report).await;
        }

        let result = match &job.hr_event {
            Some(event) => self.hr_candidate(&user, event).await,
            None => Ok(None),
        };
        let result = match result {
            Ok(candidate) => {
                self.sync_resolved(&user, &state, candidate, &mut report)
                    .await
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {}
            Err(e) => {
                report.targets.push((
                    "source".into(),
                    TargetOutcome::Failed {
                        reason: e.to_string(),
                        retryable: e.is_retryable(),
                    },
                ));
            }
        }
        self.record_failure(&user.id, &state, &report).await?;
        if report.retryable_failure().is_none() {
            if let Some(event) = &job.hr_event {
                if !self.settings.dry_run {
                    self.photos.delete_inbox(event).await?;
                }
            }
        }
        Ok(report)
    }

    async fn sync_resolved(
        &self,
        user: &User,
        state: &UserState,
        candidate: Option<Candidate>,
        report: &mut UserReport,
    ) -> Result<(), SyncError> {
        let targets = self.settings.targets.clone();
        let stored = match candidate {
            Some(c) => Some(self.accept(user, state, c).await?),
            None => match self.photos.photo(&user.id).await? {
                Some(p) if p.origin != SourceKind::M365.name() => Some(p),
                _ => None,
            },
        };
        if let Some(photo) = stored {
            report.source = Some(photo.origin.clone());
            for target in targets {
                let outcome = self.write_target(user, state, &photo, target).await;
                report.targets.push((target.name().into(), outcome));
            }
            return Ok(());
        }
        // Microsoft 365 is the source: it keeps its photo; the other targets follow it.
        if !self.settings.sources.contains(&SourceKind::M365) {
            report.note = Some("no photo in any configured source; nothing changed".into());
            return Ok(());
        }
        let followers: Vec<Target> = targets.into_iter().filter(|t| *t != Target::M365).collect();
        let meta = match self.graph.photo_meta(&user.id).await? {
            PhotoState::Absent => {
                report.note = Some("no photo in any source; nothing changed".into());
                return Ok(());
            }
            PhotoState::Present(meta) => meta,
        };
        report.source = Some(SourceKind::M365.name().into());
        if followers.is_empty() {
            report.note = Some("Microsoft 365 is the source and the only target".into());
            return Ok(());
        }
        let recorded = state.targets.get("m365").and_then(|t| t.etag.as_deref());
        let photo = if recorded == Some(meta.etag.as_str()) {
            self.photos.photo(&user.id).await?
        } else {
            None
        };
        let photo = match photo {
            Some(p) => p,
            None => {
                let Some(bytes) = self.graph.photo(&user.id).await? else {
                    report.note =
                        Some("the Microsoft 365 photo disappeared while reading it".into());
                    return Ok(());
                };
                let c = Candidate {
                    origin: SourceKind::M365,
                    bytes,
                    crop: None,
                };
                self.accept(user, state, c).await?
            }
        };
        if !self.settings.dry_run {
            let rec = TargetRecord {
                sha256: photo.source_sha256.clone(),
                phash: photo.phash,
                etag: Some(meta.etag.clone()),
                written_at: unix_now(),
            };
            self.ledger.put_target(&user.id, "m365", &rec).await?;
        }
        for target in followers {
            let outcome = self.write_target(user, state, &photo, target).await;
            report.targets.push((target.name().into(), outcome));
        }
        Ok(())
    }

    /// Normalises a new source photo and stores it (unless it is the one already held).
    async fn accept(
        &self,
        user: &User,
        state: &UserState,
        c: Candidate,
    ) -> Result<StoredPhoto, SyncError> {
        let sha = photo::sha256_hex(&c.bytes);
        if state.source.as_ref().is_some_and(|s| s.sha256 == sha) {
            if let Some(p) = self.photos.photo(&user.id).await? {
                if p.source_sha256 == sha && p.origin == c.origin.name() {
                    return Ok(p);
                }
            }
        }
        let mut opts = self.settings.photo.clone();
        let mut targets = self.settings.targets.clone();
        if !targets.contains(&Target::M365) {
            targets.push(Target::M365); // the 648 square is what reports show
        }
        opts.targets = targets;
        if let Some([x, y, width, height]) = c.crop {
            opts.crop = CropMode::Box(CropBox {
                x,
                y,
                width,
                height,
            });
        }
        let bytes = c.bytes.clone();
        let normalized = tokio::task::spawn_blocking(move || photo::normalize(&bytes, &opts))
            .await
            .map_err(|e| SyncError::Config(format!("normaliser task failed: {e}")))??;
        let stored = StoredPhoto {
            origin: c.origin.name().into(),
            source_sha256: sha,
            phash: normalized.phash.0,
            accepted_at: unix_now(),
            renditions: normalized
                .renditions
                .iter()
                .map(|r| StoredRendition {
                    target: r.spec.target.name().into(),
                    side: r.side,
                    jpeg: r.jpeg.clone(),
                })
                .collect(),
        };
        if !self.settings.dry_run {
            self.photos.put_photo(&user.id, &stored).await?;
            let source = SourceRecord {
                origin: stored.origin.clone(),
                sha256: stored.source_sha256.clone(),
                phash: stored.phash,
                accepted_at: stored.accepted_at,
            };
            self.ledger
                .put_source(&user.id, user.user_principal_name.as_deref(), &source)
                .await?;
        }
        Ok(stored)
    }

    /// Writes one target when what it holds differs; never fails the job as a whole.
    async fn write_target(
        &self,
        user: &User,
        state: &UserState,
        photo: &StoredPhoto,
        target: Target,
    ) -> TargetOutcome {
        let result = match target {
            Target::M365 => self.write_m365(user, state, photo).await,
            Target::SharePoint => self.write_sharepoint(user, state, photo).await,
            Target::Ad => Ok(TargetOutcome::Skipped {
                reason: "the ad target is not available in this version".into(),
            }),
        };
        result.unwrap_or_else(|e| TargetOutcome::Failed {
            reason: e.to_string(),
            retryable: e.is_retryable(),
        })
    }

    async fn write_m365(
        &self,
        user: &User,
        state: &UserState,
        photo: &StoredPhoto,
    ) -> Result<TargetOutcome, SyncError> {
        let Some(r) = photo.for_target("m365").next() else {
            return Ok(TargetOutcome::Skipped {
                reason: "no 648 px rendition".into(),
            });
        };
        let sha = photo::sha256_hex(&r.jpeg);
        let recorded = state.targets.get("m365");
        let now = self.graph.photo_meta(&user.id).await?;
        if let (Some(rec), PhotoState::Present(meta)) = (recorded, &now) {
            if rec.sha256 == sha && rec.etag.as_deref() == Some(meta.etag.as_str()) {
                return Ok(TargetOutcome::Unchanged);
            }
        }
        let pending = format!("{PENDING}{sha}");
        if let (Some(rec), PhotoState::Present(meta)) = (recorded, &now) {
            if rec.sha256 == pending {
                // An earlier attempt marked this write and may have died after the store
                // took it: if the store holds our photo, record it instead of writing.
                if let Some(held) = self.graph.photo(&user.id).await? {
                    let limits = self.settings.photo.limits;
                    let phash =
                        tokio::task::spawn_blocking(move || photo::perceptual_hash(&held, &limits))
                            .await
                            .ok()
                            .and_then(Result::ok);
                    if phash.is_some_and(|h| photo::same_photo(h, PerceptualHash(photo.phash))) {
                        if !self.settings.dry_run {
                            let rec = record(&sha, photo.phash, Some(meta.etag.clone()));
                            self.ledger.put_target(&user.id, "m365", &rec).await?;
                        }
                        return Ok(TargetOutcome::Unchanged);
                    }
                }
            }
        }
        if self.settings.dry_run {
            return Ok(TargetOutcome::Written {
                bytes: r.jpeg.len(),
            });
        }
        // Mark the write first: a crash after the store took it is then recognised on
        // redelivery (the photo is compared, not guessed: similar portraits are common).
        self.ledger
            .put_target(&user.id, "m365", &record(&pending, photo.phash, None))
            .await?;
        self.graph
            .put_photo(&user.id, Bytes::copy_from_slice(&r.jpeg), "image/jpeg")
            .await?;
        let etag = match self.graph.photo_meta(&user.id).await? {
            PhotoState::Present(meta) => Some(meta.etag),
            PhotoState::Absent => None,
        };
        self.ledger
            .put_target(&user.id, "m365", &record(&sha, photo.phash, etag))
            .await?;
        Ok(TargetOutcome::Written {
            bytes: r.jpeg.len(),
        })
    }

    async fn write_sharepoint(
        &self,
        user: &User,
        state: &UserState,
        photo: &StoredPhoto,
    ) -> Result<TargetOutcome, SyncError> {
        let Some(sp) = &self.sharepoint else {
            return Ok(TargetOutcome::Skipped {
                reason: "PHOTOSYNC_SHAREPOINT_MYSITE_URL is not set".into(),
            });
        };
        let Some(upn) = user.user_principal_name.as_deref() else {
            return Ok(TargetOutcome::Skipped {
                reason: "the user has no UPN".into(),
            });
        };
        let mut thumbs: Vec<&StoredRendition> = photo.for_target("sharepoint").collect();
        if thumbs.len() != 3 {
            return Ok(TargetOutcome::Skipped {
                reason: "the photo has no SharePoint renditions".into(),
            });
        }
        thumbs.sort_by_key(|r| std::cmp::Reverse(r.side));
        let sha = photo::sha256_hex(&thumbs[0].jpeg);
        if state
            .targets
            .get("sharepoint")
            .is_some_and(|t| t.sha256 == sha)
        {
            return Ok(TargetOutcome::Unchanged);
        }
        let bytes: usize = thumbs.iter().map(|t| t.jpeg.len()).sum();
        if self.settings.dry_run {
            return Ok(TargetOutcome::Written { bytes });
        }
        let b = |i: usize| Bytes::copy_from_slice(&thumbs[i].jpeg);
        sp.write_photo(
            upn,
            [
                (Thumb::Large, b(0)),
                (Thumb::Medium, b(1)),
                (Thumb::Small, b(2)),
            ],
        )
        .await?;
        self.ledger
            .put_target(&user.id, "sharepoint", &record(&sha, photo.phash, None))
            .await?;
        Ok(TargetOutcome::Written { bytes })
    }

    /// Disabled users: the leaver policy decides.
    async fn leaver(
        &self,
        user: &User,
        state: &UserState,
        mut report: UserReport,
    ) -> Result<UserReport, SyncError> {
        if self.settings.leaver == LeaverPolicy::Keep {
            let note = "the account is disabled; leaver policy keep leaves its photos";
            report.note = Some(note.into());
            // Recorded as a permanent state so the nightly reconcile does not queue the
            // user again; cleared when delta reports the user changed (re-enabled).
            if !self.settings.dry_run && state.failure.as_ref().is_none_or(|f| f.error != note) {
                let f = FailureRecord {
                    attempts: 1,
                    error: note.into(),
                    retryable: false,
                    at: unix_now(),
                };
                self.ledger.put_failure(&user.id, Some(&f)).await?;
            }
            return Ok(report);
        }
        if !self.settings.targets.contains(&Target::M365) {
            report.note = Some("the account is disabled; no target photo-sync can remove".into());
            return Ok(report);
        }
        let outcome = match self.graph.photo_meta(&user.id).await? {
            PhotoState::Absent => TargetOutcome::Unchanged,
            PhotoState::Present(_) if self.settings.dry_run => TargetOutcome::Removed,
            PhotoState::Present(_) => match self.graph.delete_photo(&user.id).await {
                Ok(()) => {
                    self.ledger.clear_target(&user.id, "m365").await?;
                    TargetOutcome::Removed
                }
                Err(e) => TargetOutcome::Failed {
                    retryable: e.is_retryable(),
                    reason: e.to_string(),
                },
            },
        };
        report.targets.push(("m365".into(), outcome));
        self.record_failure(&user.id, state, &report).await?;
        Ok(report)
    }

    /// The HR event's photo, from the inbox (inline) or its allow-listed URL.
    async fn hr_candidate(&self, user: &User, event: &str) -> Result<Option<Candidate>, SyncError> {
        let Some(item) = self.photos.inbox(event).await? else {
            return Ok(None); // already taken by an earlier delivery of this job
        };
        if item.event_type == "photo.deleted" {
            // HR withdrew its photo: the next source in precedence takes over.
            if !self.settings.dry_run {
                if let Some(p) = self.photos.photo(&user.id).await? {
                    if p.origin == SourceKind::Hr.name() {
                        self.photos.delete_photo(&user.id).await?;
                    }
                }
            }
            return Ok(None);
        }
        if !self.settings.sources.contains(&SourceKind::Hr) {
            return Ok(None);
        }
        let bytes = match &item.photo_url {
            Some(url) => {
                let fetcher = self.fetcher.as_ref().ok_or_else(|| {
                    SyncError::Config(
                        "an HR photoUrl arrived but no photo fetcher is configured".into(),
                    )
                })?;
                fetcher.fetch(url).await?
            }
            None => Bytes::from(item.bytes),
        };
        Ok(Some(Candidate {
            origin: SourceKind::Hr,
            bytes,
            crop: item.crop,
        }))
    }

    async fn record_failure(
        &self,
        user_id: &str,
        state: &UserState,
        report: &UserReport,
    ) -> Result<(), SyncError> {
        if self.settings.dry_run {
            return Ok(());
        }
        let failed = report.targets.iter().find_map(|(name, o)| match o {
            TargetOutcome::Failed { reason, retryable } => Some((name, reason, *retryable)),
            _ => None,
        });
        match failed {
            Some((name, reason, retryable)) => {
                let attempts = state.failure.as_ref().map_or(0, |f| f.attempts) + 1;
                let f = FailureRecord {
                    attempts,
                    error: format!("{name}: {reason}"),
                    retryable,
                    at: unix_now(),
                };
                self.ledger.put_failure(user_id, Some(&f)).await?;
            }
            None if state.failure.is_some() => self.ledger.put_failure(user_id, None).await?,
            None => {}
        }
        Ok(())
    }
}

/// Marks a target record whose write was started but not confirmed.
const PENDING: &str = "pending:";

fn record(sha: &str, phash: u64, etag: Option<String>) -> TargetRecord {
    TargetRecord {
        sha256: sha.to_string(),
        phash,
        etag,
        written_at: unix_now(),
    }
}
