//! A whole deployment on loopback: the sandbox tenant, the function's router served over
//! real HTTP (so Graph's validation handshake and notifications reach it), a SQLite
//! ledger in a fresh folder, the durable local queue and its worker.

use std::sync::Arc;
use std::time::Duration;

use photo_sync::config::Env;
use photo_sync::host::worker::{Worker, WorkerOptions};
use photo_sync::host::{build, Deployment};
use photo_sync::ledger::Ledger;
use photo_sync::queue::LocalQueue;
use photo_sync::sandbox::{Sandbox, SandboxConfig};
use photo_sync::triggers::{router, App};

/// The clientState the rig's subscriptions use.
pub const CLIENT_STATE: &str = "rig-client-state-0123456789";

/// Everything a test drives.
pub struct Rig {
    pub sandbox: Sandbox,
    pub app: App,
    pub queue: LocalQueue,
    pub worker: Worker,
    /// `http://127.0.0.1:PORT` of the function.
    pub base: String,
    #[allow(dead_code)] // for tests that start more hosts on the same settings
    pub env: Env,
    /// The rig's folder (the ledger's file), removed when the rig is dropped: last, after
    /// everything using it.
    #[allow(dead_code)]
    pub dir: tempfile::TempDir,
}

/// A fresh folder under the system temp dir, removed when the guard is dropped.
pub fn temp_dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("photo-sync-{tag}-"))
        .tempdir()
        .unwrap()
}

/// The default sandbox for these tests: small, documented throttling, http callbacks.
pub fn sandbox_config(users: usize) -> SandboxConfig {
    SandboxConfig {
        users,
        seed: 7,
        allow_http_notification_url: true,
        ..SandboxConfig::default()
    }
}

/// A rig over `config`, with extra settings.
pub async fn rig(config: SandboxConfig, extra: &[(&str, &str)]) -> Rig {
    rig_with(config, extra, |_| Vec::new()).await
}

/// A rig whose settings may depend on the sandbox's endpoints.
pub async fn rig_with(
    config: SandboxConfig,
    extra: &[(&str, &str)],
    more: impl FnOnce(&photo_sync::sandbox::Endpoints) -> Vec<(String, String)>,
) -> Rig {
    let sandbox = Sandbox::start(config).await.unwrap();
    let dir = temp_dir("rig");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (mut env, auth) = sandbox.endpoints().client_env("secret").unwrap();
    env = env
        .with(
            "PHOTOSYNC_LEDGER",
            format!("sqlite:{}", dir.path().join("ledger.db").display()),
        )
        .with(
            "PHOTOSYNC_NOTIFICATION_URL",
            format!("{base}/api/notifications"),
        )
        .with("PHOTOSYNC_CLIENT_STATE", CLIENT_STATE)
        .with("PHOTOSYNC_HTTP_TIMEOUT_SECS", "10");
    for (k, v) in extra {
        env = env.with(k, *v);
    }
    for (k, v) in more(sandbox.endpoints()) {
        env = env.with(&k, v);
    }
    if env
        .get("PHOTOSYNC_TARGETS")
        .is_some_and(|t| t.contains("sharepoint"))
    {
        env = sandbox.endpoints().sharepoint_env(env);
    }
    let Deployment {
        app, local_queue, ..
    } = build(&env, auth).await.unwrap();
    let queue = local_queue.unwrap();
    let router = router(app.clone());
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    let worker = Worker::new(
        app.clone(),
        queue.clone(),
        WorkerOptions {
            concurrency: 4,
            visibility: Duration::from_secs(60),
            backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(200),
            idle: Duration::from_millis(20),
        },
    );
    Rig {
        sandbox,
        app,
        queue,
        worker,
        base,
        env,
        dir,
    }
}

impl Rig {
    pub fn ledger(&self) -> &Arc<dyn Ledger> {
        self.app.engine().ledger()
    }

    /// Runs the reconcile onto the local queue.
    pub async fn reconcile(&self) -> photo_sync::sync::ReconcileReport {
        self.app
            .engine()
            .reconcile(self.app.sink().as_ref(), false, &|_| {})
            .await
            .unwrap()
    }

    /// Runs queued jobs until the queue is empty (retries included, bounded).
    pub async fn drain(&self) -> photo_sync::host::worker::WorkerStats {
        let mut total = photo_sync::host::worker::WorkerStats::default();
        for _ in 0..200 {
            let s = self.worker.drain().await.unwrap();
            total.add(s);
            if self.queue.depth().await.unwrap() == 0 {
                return total;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the queue did not drain");
    }

    /// Object ids of users whose employee id the HR system has a photo for, with it.
    pub fn hr_users(&self) -> Vec<(String, String, bytes::Bytes)> {
        let t = self.sandbox.tenant();
        t.users()
            .into_iter()
            .filter(|u| u.account_enabled && u.has_mailbox)
            .filter_map(|u| {
                let e = u.employee_id.clone()?;
                let photo = t.hr_photo(&e)?;
                Some((u.id, e, photo))
            })
            .collect()
    }
}
