//! The function's entry points, one axum router for every host (PRODUCT.md §2): the
//! custom-handler ping, the forwarded HTTP functions (`/api/notifications`,
//! `/api/lifecycle`, `/api/hr-webhook`) and the Functions host's envelopes for the timer
//! and the queue (`/reconcile`, `/sync-user`). Each handler checks its input, persists
//! the work (ledger dedupe key + queue message) and answers; the engine does the rest.

mod envelope;
mod hr;
mod lifecycle;
mod notifications;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

pub use envelope::{
    unwrap_value, Invocation, InvocationReply, JobOutcome, JOBS_BINDING, MESSAGE_BINDING,
};

use crate::config::Secret;
use crate::ledger::Ledger;
use crate::queue::{JobSink, Poison};
use crate::sync::Engine;

/// Largest body the notification and lifecycle endpoints read (Graph batches are small;
/// anything bigger is not Graph).
pub const NOTIFICATION_BODY_LIMIT: usize = 1024 * 1024;
/// How long a notification's dedupe key lives (Graph retries for up to 4 hours, B§1.5;
/// replays after outages come later, so a day).
pub const NOTIFICATION_DEDUPE_SECS: i64 = 24 * 3600;

/// What the handlers share.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    sink: Arc<dyn JobSink>,
    poison: Option<Arc<dyn Poison>>,
    client_state: Option<Secret>,
    tenant_id: Option<String>,
    hr: Option<crate::hr::HrSettings>,
    subs: std::sync::RwLock<SubCache>,
}

#[derive(Default)]
struct SubCache {
    ids: HashSet<String>,
    loaded: Option<Instant>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App").finish_non_exhaustive()
    }
}

impl App {
    /// Handlers over `engine`, putting jobs on `sink`. `tenant_id`, when set, is the only
    /// tenant whose notifications are accepted.
    pub fn new(engine: Engine, sink: Arc<dyn JobSink>, tenant_id: Option<String>) -> Self {
        let client_state = engine
            .settings()
            .subscription
            .as_ref()
            .map(|s| s.client_state.clone());
        Self {
            inner: Arc::new(Inner {
                engine,
                sink,
                poison: None,
                client_state,
                tenant_id,
                hr: None,
                subs: std::sync::RwLock::new(SubCache::default()),
            }),
        }
    }

    fn edit(self, f: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Arc::try_unwrap(self.inner).unwrap_or_else(|arc| Inner {
            engine: arc.engine.clone(),
            sink: Arc::clone(&arc.sink),
            poison: arc.poison.clone(),
            client_state: arc.client_state.clone(),
            tenant_id: arc.tenant_id.clone(),
            hr: arc.hr.clone(),
            subs: std::sync::RwLock::new(SubCache::default()),
        });
        f(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Puts jobs on `sink` instead (the Lambda host's SQS queue).
    pub fn with_sink(self, sink: Arc<dyn JobSink>) -> Self {
        self.edit(|i| i.sink = sink)
    }

    /// Where jobs that can never succeed go, with their reason.
    pub fn with_poison(self, poison: Arc<dyn Poison>) -> Self {
        self.edit(|i| i.poison = Some(poison))
    }

    /// Accepts HR webhooks signed with these settings' keys.
    pub fn with_hr(self, hr: crate::hr::HrSettings) -> Self {
        self.edit(|i| i.hr = Some(hr))
    }

    /// The HR webhook settings, when configured.
    pub fn hr(&self) -> Option<&crate::hr::HrSettings> {
        self.inner.hr.as_ref()
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The job sink.
    pub fn sink(&self) -> &Arc<dyn JobSink> {
        &self.inner.sink
    }

    fn ledger(&self) -> &Arc<dyn Ledger> {
        self.inner.engine.ledger()
    }

    /// True when `id` is a subscription photo-sync owns (cached; reloaded from the
    /// ledger at most every 5 s when an unknown id shows up, and every minute anyway).
    async fn owns_subscription(&self, id: &str) -> bool {
        let stale = {
            let cache = self.inner.subs.read().unwrap_or_else(|p| p.into_inner());
            if cache.ids.contains(id)
                && cache
                    .loaded
                    .is_some_and(|t| t.elapsed() < Duration::from_secs(60))
            {
                return true;
            }
            cache
                .loaded
                .is_none_or(|t| t.elapsed() > Duration::from_secs(5))
        };
        if stale {
            if let Ok(subs) = self.ledger().subscriptions().await {
                let mut cache = self.inner.subs.write().unwrap_or_else(|p| p.into_inner());
                cache.ids = subs.into_iter().map(|s| s.id).collect();
                cache.loaded = Some(Instant::now());
            }
        }
        let cache = self.inner.subs.read().unwrap_or_else(|p| p.into_inner());
        cache.ids.contains(id)
    }
}

/// The router every host serves.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/", get(ping))
        .route(
            "/api/notifications",
            post(notifications::handle).layer(DefaultBodyLimit::max(NOTIFICATION_BODY_LIMIT)),
        )
        .route(
            "/api/lifecycle",
            post(lifecycle::handle).layer(DefaultBodyLimit::max(NOTIFICATION_BODY_LIMIT)),
        )
        .route(
            "/api/hr-webhook",
            post(hr::handle).layer(DefaultBodyLimit::disable()),
        )
        .route("/reconcile", post(envelope::reconcile))
        .route("/sync-user", post(envelope::sync_user))
        .with_state(app)
}

/// The Functions host's readiness ping: any answer counts (B§4.1).
async fn ping() -> &'static str {
    "photo-sync"
}

/// Constant-time equality for secrets (clientState).
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    #[allow(deprecated)]
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}
