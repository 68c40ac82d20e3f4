//! Keeping the `users` subscription alive (m365-facts B§1.1, §1.3, §1.4): exactly one
//! subscription per configured notification URL, renewed when fewer than three days are
//! left, recreated when Graph dropped it, reauthorized on `reauthorizationRequired`.
//! Graph's own list is the truth (the ledger may be new or restored); the ledger keeps a
//! copy for reports.

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{Engine, SyncError};
use crate::graph::{NewSubscription, Subscription};
use crate::ledger::{unix_now, SubscriptionRecord};

/// What `ensure_subscriptions` did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionReport {
    /// Ids created.
    pub created: Vec<String>,
    /// Ids renewed.
    pub renewed: Vec<String>,
    /// Ids that needed nothing.
    pub kept: Vec<String>,
    /// Why nothing was done (no notification URL configured).
    pub skipped: Option<String>,
}

fn expires_at(s: &Subscription) -> i64 {
    OffsetDateTime::parse(&s.expiration_date_time, &Rfc3339)
        .map(OffsetDateTime::unix_timestamp)
        .unwrap_or(0) // unreadable: treat as expiring, so it is renewed
}

fn record(s: &Subscription) -> SubscriptionRecord {
    SubscriptionRecord {
        id: s.id.clone(),
        resource: s.resource.clone(),
        notification_url: s.notification_url.clone(),
        expires_at: expires_at(s),
    }
}

impl Engine {
    /// Graph's subscriptions that deliver to the configured notification URL.
    pub async fn our_subscriptions(&self) -> Result<Vec<Subscription>, SyncError> {
        let Some(cfg) = &self.settings.subscription else {
            return Ok(Vec::new());
        };
        let all = self.graph.list_subscriptions().await?;
        Ok(all
            .into_iter()
            .filter(|s| s.notification_url == cfg.notification_url)
            .collect())
    }

    /// Creates the subscription if missing, renews it when it expires within 3 days.
    pub async fn ensure_subscriptions(&self) -> Result<SubscriptionReport, SyncError> {
        let mut report = SubscriptionReport::default();
        let Some(cfg) = &self.settings.subscription else {
            report.skipped = Some("PHOTOSYNC_NOTIFICATION_URL is not set: no change notifications, the nightly reconcile alone finds changes".into());
            return Ok(report);
        };
        let ours = self.our_subscriptions().await?;
        let now = unix_now();
        let mut live = Vec::new();
        for s in ours {
            if expires_at(&s) - now > cfg.renew_within_secs {
                report.kept.push(s.id.clone());
                live.push(s);
                continue;
            }
            if self.settings.dry_run {
                report.renewed.push(s.id.clone());
                live.push(s);
                continue;
            }
            match self.graph.renew_subscription(&s.id, cfg.minutes).await {
                Ok(renewed) => {
                    report.renewed.push(renewed.id.clone());
                    live.push(renewed);
                }
                Err(e) if e.is_not_found() => {} // Graph dropped it meanwhile
                Err(e) => return Err(e.into()),
            }
        }
        if live.is_empty() && !self.settings.dry_run {
            let created = self
                .graph
                .create_subscription(&self.new_subscription()?)
                .await?;
            report.created.push(created.id.clone());
            live.push(created);
        } else if live.is_empty() {
            report.created.push("(dry run)".into());
        }
        if !self.settings.dry_run {
            let known = self.ledger.subscriptions().await?;
            for old in known.iter().filter(|k| !live.iter().any(|l| l.id == k.id)) {
                self.ledger.delete_subscription(&old.id).await?;
            }
            for s in &live {
                self.ledger.put_subscription(&record(s)).await?;
            }
        }
        Ok(report)
    }

    /// Deletes every subscription that delivers to the configured URL; returns their ids.
    pub async fn delete_subscriptions(&self) -> Result<Vec<String>, SyncError> {
        let mut deleted = Vec::new();
        for s in self.our_subscriptions().await? {
            if !self.settings.dry_run {
                match self.graph.delete_subscription(&s.id).await {
                    Ok(()) => {}
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e.into()),
                }
                self.ledger.delete_subscription(&s.id).await?;
            }
            deleted.push(s.id);
        }
        Ok(deleted)
    }

    /// A lifecycle event for one of our subscriptions (B§1.4): `reauthorizationRequired`
    /// renews (which also reauthorizes); `subscriptionRemoved` recreates; `missed` is
    /// left to the reconcile's delta walk. Returns what was done.
    pub async fn on_lifecycle(
        &self,
        subscription_id: &str,
        event: &str,
    ) -> Result<String, SyncError> {
        let Some(cfg) = &self.settings.subscription else {
            return Ok("ignored: no notification URL configured".into());
        };
        match event {
            "reauthorizationRequired" => {
                match self
                    .graph
                    .renew_subscription(subscription_id, cfg.minutes)
                    .await
                {
                    Ok(s) => {
                        self.ledger.put_subscription(&record(&s)).await?;
                        Ok(format!("renewed {}", s.id))
                    }
                    Err(e) if e.is_not_found() => {
                        self.ledger.delete_subscription(subscription_id).await?;
                        let r = self.ensure_subscriptions().await?;
                        Ok(format!("recreated: {:?}", r.created))
                    }
                    Err(e) => Err(e.into()),
                }
            }
            "subscriptionRemoved" => {
                self.ledger.delete_subscription(subscription_id).await?;
                let r = self.ensure_subscriptions().await?;
                Ok(format!("recreated: {:?}", r.created))
            }
            "missed" => {
                Ok("missed notifications: the next reconcile's delta walk finds them".into())
            }
            other => Ok(format!("ignored unknown lifecycle event {other:?}")),
        }
    }

    fn new_subscription(&self) -> Result<NewSubscription, SyncError> {
        let cfg = self
            .settings
            .subscription
            .as_ref()
            .ok_or_else(|| SyncError::Config("PHOTOSYNC_NOTIFICATION_URL is not set".into()))?;
        Ok(NewSubscription {
            resource: "/users".into(),
            notification_url: cfg.notification_url.clone(),
            lifecycle_notification_url: cfg.lifecycle_url.clone(),
            client_state: cfg.client_state.clone(),
            minutes: cfg.minutes,
        })
    }
}
