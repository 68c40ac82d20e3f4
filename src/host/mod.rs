//! Hosting: building the function from configuration once ([`build`]), and the hosts
//! that run the one router — the Azure Functions custom handler and the standalone
//! `photo-sync serve` with its durable local queue worker and in-process scheduler.

pub mod backends;
pub mod demo;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod schedule;
pub mod worker;

use std::sync::Arc;

use anyhow::Context as _;

use crate::auth::{AuthOptions, Credentials};
use crate::config::{Env, M365Settings};
use crate::graph::GraphClient;
use crate::queue::{AzureQueue, LocalQueue};
use crate::rest::RestClient;
use crate::sharepoint::SharePointClient;
use crate::sync::{Engine, SyncSettings};
use crate::triggers::App;

/// The function, built: the handlers' state and, for the standalone host, its queue.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The handlers' state (engine, sink, poison).
    pub app: App,
    /// The durable local queue, when jobs go to it.
    pub local_queue: Option<LocalQueue>,
    /// The Azure Storage queue, when jobs go to it.
    pub azure_queue: Option<AzureQueue>,
}

pub use backends::{LedgerLocation, Locations, PhotoStoreLocation, QueueLocation};

/// Builds everything from configuration: credentials, Graph and SharePoint clients, the
/// ledger, photo store and queue. Fails with the settings that are missing or wrong.
pub async fn build(env: &Env, auth: AuthOptions) -> anyhow::Result<Deployment> {
    let m365 = M365Settings::from_env(env).context("Microsoft 365 settings")?;
    let sync = SyncSettings::from_env(env).context("sync settings")?;
    let tokens: Arc<dyn crate::auth::TokenSource> =
        Arc::new(Credentials::from_settings(&m365, auth.clone()).context("credential")?);
    let http = match auth.http {
        Some(h) => h,
        None => RestClient::default_http(m365.graph_concurrency)?,
    };
    let rest = Arc::new(RestClient::new(
        http,
        Arc::clone(&tokens),
        m365.retry,
        m365.graph_concurrency,
        m365.photo_concurrency_per_mailbox,
    ));
    let graph = Arc::new(GraphClient::new(&m365, Arc::clone(&rest)));
    let sharepoint = if sync.targets.contains(&crate::photo::Target::SharePoint) {
        let sp = SharePointClient::from_settings(&m365, Arc::clone(&rest)).context(
            "PHOTOSYNC_TARGETS includes sharepoint, so PHOTOSYNC_SHAREPOINT_MYSITE_URL must be set",
        )?;
        Some(Arc::new(sp))
    } else {
        None
    };
    let locations = Locations::from_env(env)?;
    let b = backends::open(&locations, env, m365.cloud, tokens).await?;
    let hr = crate::hr::HrSettings::from_env(env).context("HR webhook settings")?;
    let mut engine = Engine::new(graph, sharepoint, b.ledger, b.photos, sync);
    if let Some(hr) = &hr {
        let fetcher = crate::hr::fetch::PhotoFetcher::new(hr).context("HR photo fetcher")?;
        engine = engine.with_fetcher(Arc::new(fetcher));
    }
    let mut app = App::new(engine, b.sink, m365.tenant_id.clone()).with_poison(b.poison);
    if let Some(hr) = hr {
        app = app.with_hr(hr);
    }
    Ok(Deployment {
        app,
        local_queue: b.local_queue,
        azure_queue: b.azure_queue,
    })
}

/// The SQS queue when `PHOTOSYNC_SQS_QUEUE_URL` is set (the Lambda host's job sink and
/// poison queue), `None` otherwise.
pub fn sqs_queue(env: &Env) -> anyhow::Result<Option<Arc<crate::queue::SqsQueue>>> {
    match crate::queue::SqsSettings::from_env(env).context("SQS settings")? {
        Some(s) => Ok(Some(Arc::new(crate::queue::SqsQueue::new(s)?))),
        None => Ok(None),
    }
}

/// The reconcile's default schedule: 02:00 every night (NCRONTAB, six fields).
pub const DEFAULT_SCHEDULE: &str = "0 0 2 * * *";

/// The standalone host's in-process timer: runs the reconcile onto the app's queue at
/// every time `schedule` names, until `stop` turns true. The schedule is checked now, so
/// a bad one stops the start with its reason.
pub fn scheduled_reconcile(
    app: App,
    schedule: &str,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    let schedule = schedule::Schedule::parse(schedule)
        .with_context(|| format!("PHOTOSYNC_RECONCILE_SCHEDULE={schedule:?}"))?;
    Ok(async move {
        loop {
            let now = time::OffsetDateTime::now_utc();
            let Some(next) = schedule.next_after(now) else {
                tracing::warn!("the reconcile schedule names no future time; the timer stops");
                return;
            };
            let wait = (next - now).try_into().unwrap_or(std::time::Duration::ZERO);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
            match app
                .engine()
                .reconcile(app.sink().as_ref(), false, &|_| {})
                .await
            {
                Ok(r) => tracing::info!(
                    checked = r.checked,
                    queued = r.enqueued,
                    "scheduled reconcile done"
                ),
                Err(e) => {
                    tracing::error!(error = %e, "scheduled reconcile failed; the next run tries again")
                }
            }
        }
    })
}
