//! The sync engine (PRODUCT.md §3): for one user, resolve the authoritative photo by
//! source precedence, normalise it once, write every target whose fingerprint differs and
//! record each write in the ledger after the target accepted it ([`Engine::sync_user`]);
//! for the tenant, renew subscriptions, walk users by delta and find drift cheaply from
//! batched photo metadata against the ledger ([`Engine::reconcile`]).
//!
//! Plain functions over the clients and stores; transport (HTTP triggers, queues, the
//! CLI) lives at the edges and calls in here.

mod decide;
mod reconcile;
mod settings;
mod subscriptions;
mod user;

use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;

pub use decide::{decide, Decision};
pub use reconcile::ReconcileReport;
pub use settings::{LeaverPolicy, SourceKind, SubscriptionSettings, SyncSettings};
pub use subscriptions::SubscriptionReport;

use crate::graph::{GraphClient, M365Error};
use crate::ledger::{Ledger, LedgerError};
use crate::photo::PhotoError;
use crate::photostore::PhotoStore;
use crate::sharepoint::SharePointClient;

/// Why a sync or reconcile step failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Microsoft 365 refused or failed.
    #[error(transparent)]
    M365(#[from] M365Error),
    /// The ledger or photo store failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The photo cannot be used.
    #[error("the photo cannot be used: {0}")]
    Photo(#[from] PhotoError),
    /// No directory user matches the job's keys.
    #[error("no user in the directory matches {0}")]
    NoSuchUser(String),
    /// The HR photo could not be fetched.
    #[error("the HR photo could not be fetched: {reason}")]
    Fetch {
        /// What went wrong.
        reason: String,
        /// True when a later attempt may succeed.
        retryable: bool,
    },
    /// The queue could not take the jobs.
    #[error(transparent)]
    Queue(#[from] crate::queue::QueueError),
    /// Settings make the step impossible.
    #[error("configuration: {0}")]
    Config(String),
}

impl SyncError {
    /// True when a later attempt may succeed (throttling, outages, timeouts).
    pub fn is_retryable(&self) -> bool {
        match self {
            SyncError::M365(e) => e.is_retryable(),
            SyncError::Ledger(e) => e.is_retryable(),
            SyncError::Queue(e) => e.is_retryable(),
            SyncError::Fetch { retryable, .. } => *retryable,
            SyncError::Photo(_) | SyncError::NoSuchUser(_) | SyncError::Config(_) => false,
        }
    }
}

/// Fetches a photo from an HR `photoUrl` (the SSRF-safe fetcher in production).
#[async_trait::async_trait]
pub trait FetchPhoto: Send + Sync {
    /// The bytes at `url`, or why not.
    async fn fetch(&self, url: &str) -> Result<Bytes, SyncError>;
}

/// What happened to one target for one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
pub enum TargetOutcome {
    /// Written (or, on a dry run, would have been).
    Written {
        /// Bytes written.
        bytes: usize,
    },
    /// Already held the right photo.
    Unchanged,
    /// Not touched, with why.
    Skipped {
        /// Why.
        reason: String,
    },
    /// Removed (leaver policy `remove`).
    Removed,
    /// Failed.
    Failed {
        /// Why.
        reason: String,
        /// True when a later attempt may succeed.
        retryable: bool,
    },
}

/// What `sync_user` did for one user.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserReport {
    /// Object id (when resolved).
    pub user_id: Option<String>,
    /// UPN (when resolved).
    pub upn: Option<String>,
    /// Where the photo came from (`hr`, `m365`, ...), when there was one.
    pub source: Option<String>,
    /// Per target name.
    pub targets: Vec<(String, TargetOutcome)>,
    /// A sentence when nothing could be done for the user as a whole.
    pub note: Option<String>,
    /// True on a dry run.
    pub dry_run: bool,
}

impl UserReport {
    fn new(dry_run: bool) -> Self {
        Self {
            user_id: None,
            upn: None,
            source: None,
            targets: Vec::new(),
            note: None,
            dry_run,
        }
    }

    /// Targets written.
    pub fn written(&self) -> usize {
        self.targets
            .iter()
            .filter(|(_, o)| matches!(o, TargetOutcome::Written { .. } | TargetOutcome::Removed))
            .count()
    }

    /// The first failure that a later attempt may fix.
    pub fn retryable_failure(&self) -> Option<&str> {
        self.targets.iter().find_map(|(_, o)| match o {
            TargetOutcome::Failed {
                reason,
                retryable: true,
            } => Some(reason.as_str()),
            _ => None,
        })
    }

    /// The first failure of any kind.
    pub fn failure(&self) -> Option<&str> {
        self.targets.iter().find_map(|(_, o)| match o {
            TargetOutcome::Failed { reason, .. } => Some(reason.as_str()),
            _ => None,
        })
    }
}

/// Everything the engine works with.
#[derive(Clone)]
pub struct Engine {
    graph: Arc<GraphClient>,
    sharepoint: Option<Arc<SharePointClient>>,
    ledger: Arc<dyn Ledger>,
    photos: Arc<dyn PhotoStore>,
    fetcher: Option<Arc<dyn FetchPhoto>>,
    settings: Arc<SyncSettings>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine over these clients and stores.
    pub fn new(
        graph: Arc<GraphClient>,
        sharepoint: Option<Arc<SharePointClient>>,
        ledger: Arc<dyn Ledger>,
        photos: Arc<dyn PhotoStore>,
        settings: SyncSettings,
    ) -> Self {
        Self {
            graph,
            sharepoint,
            ledger,
            photos,
            fetcher: None,
            settings: Arc::new(settings),
        }
    }

    /// Uses `fetcher` for HR `photoUrl`s.
    pub fn with_fetcher(mut self, fetcher: Arc<dyn FetchPhoto>) -> Self {
        self.fetcher = Some(fetcher);
        self
    }

    /// The settings.
    pub fn settings(&self) -> &SyncSettings {
        &self.settings
    }

    /// The ledger.
    pub fn ledger(&self) -> &Arc<dyn Ledger> {
        &self.ledger
    }

    /// The photo store.
    pub fn photos(&self) -> &Arc<dyn PhotoStore> {
        &self.photos
    }

    /// The Graph client.
    pub fn graph(&self) -> &Arc<GraphClient> {
        &self.graph
    }
}
