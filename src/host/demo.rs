//! `photo-sync demo`: the whole function against the built-in sandbox tenant, through
//! the real HTTP paths — the router served on loopback, Graph's validation handshake and
//! change notifications, signed HR webhooks (inline photos and allow-listed URLs), the
//! nightly reconcile finding drift, the durable local queue — then a summary and the
//! HTML report.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::Engine as _;
use serde::Serialize;

use super::worker::{Worker, WorkerOptions, WorkerStats};
use super::{build, Deployment};
use crate::samples;
use crate::sandbox::{HrPhotoMode, Sandbox, SandboxConfig};
use crate::triggers::router;

/// What the demo runs on.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Seeded users (10..=100,000).
    pub users: usize,
    /// Seed for the tenant.
    pub seed: u64,
    /// Latency the sandbox adds to each Graph answer.
    pub latency: Duration,
    /// Where the ledger and the report go.
    pub dir: PathBuf,
}

/// One step of the demo and what it did.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// What happened.
    pub name: String,
    /// Jobs it produced and how they ended.
    pub jobs: WorkerStats,
    /// Milliseconds.
    pub ms: u64,
}

/// The demo's result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DemoSummary {
    /// Users in the tenant.
    pub users: usize,
    /// Users the last reconcile checked.
    pub checked: u64,
    /// Each step.
    pub steps: Vec<Step>,
    /// All steps together.
    pub total: WorkerStats,
    /// HR webhooks sent and how the function answered them (status → count).
    pub hr_answers: BTreeMap<u16, u64>,
    /// Jobs the last reconcile queued (0: nothing left to do).
    pub final_enqueued: u64,
    /// Graph photo uploads the tenant accepted, all steps.
    pub sandbox_photo_writes: u64,
    /// The HTML report.
    pub report: PathBuf,
    /// Milliseconds in all.
    pub ms: u64,
}

/// The HR webhook secret the demo configures (generated per run).
fn demo_secret(seed: u64) -> String {
    let bytes: Vec<u8> = (0..32u64)
        .map(|i| (seed.wrapping_mul(31).wrapping_add(i * 7919) % 251) as u8)
        .collect();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Sends one signed HR event; the HTTP status, or 0 when it could not be delivered.
async fn deliver(
    tenant: &crate::sandbox::Tenant,
    url: &str,
    secret: &str,
    event: &serde_json::Value,
) -> u16 {
    match tenant.send_hr_event(url, secret, event).await {
        Ok(answer) => answer.status,
        Err(e) => {
            tracing::warn!(error = %e, "HR webhook not delivered");
            0
        }
    }
}

/// Runs the demo.
pub async fn run(opts: &DemoOptions) -> anyhow::Result<DemoSummary> {
    let started = Instant::now();
    let mut config = SandboxConfig {
        users: opts.users,
        seed: opts.seed,
        latency: opts.latency,
        allow_http_notification_url: true,
        ..SandboxConfig::default()
    };
    config.variants.duplicate_notifications = true;
    let sandbox = Sandbox::start(config)
        .await
        .context("starting the sandbox tenant")?;
    std::fs::create_dir_all(&opts.dir)
        .with_context(|| format!("creating {}", opts.dir.display()))?;
    let ledger = opts.dir.join("demo-ledger.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", ledger.display()));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let secret = demo_secret(opts.seed);
    let (env, auth) = sandbox.endpoints().client_env("certificate")?;
    let hr_url = reqwest::Url::parse(&sandbox.endpoints().hr_https_url)?;
    let hr_host = hr_url.host_str().unwrap_or("127.0.0.1").to_string();
    // The sandbox's HR system listens on loopback: trusted by exact address only, with
    // its own CA (everything else private stays refused).
    let hr_addr = format!(
        "{hr_host}:{}",
        hr_url.port_or_known_default().unwrap_or(443)
    );
    let ca_file = opts.dir.join("sandbox-ca.pem");
    std::fs::write(&ca_file, &sandbox.endpoints().ca_pem)?;
    let env = sandbox
        .endpoints()
        .sharepoint_env(env)
        .with("PHOTOSYNC_TARGETS", "m365,sharepoint")
        .with("PHOTOSYNC_LEDGER", format!("sqlite:{}", ledger.display()))
        .with(
            "PHOTOSYNC_NOTIFICATION_URL",
            format!("{base}/api/notifications"),
        )
        .with(
            "PHOTOSYNC_CLIENT_STATE",
            format!("demo-client-state-{}", opts.seed),
        )
        .with("PHOTOSYNC_HR_WEBHOOK_SECRET", secret.clone())
        .with("PHOTOSYNC_HR_PHOTO_HOSTS", hr_host)
        .with("PHOTOSYNC_HR_PHOTO_TRUSTED", hr_addr)
        .with("PHOTOSYNC_HR_PHOTO_CA_FILE", ca_file.to_string_lossy());
    let Deployment {
        app, local_queue, ..
    } = build(&env, auth).await?;
    let queue = local_queue.context("the demo needs the local queue")?;
    let served = router(app.clone());
    let server = tokio::spawn(async move { axum::serve(listener, served).await });
    let worker = Worker::new(
        app.clone(),
        queue.clone(),
        WorkerOptions {
            concurrency: 8,
            backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
            ..WorkerOptions::default()
        },
    );
    let drain = || async {
        let mut total = WorkerStats::default();
        for _ in 0..600 {
            total.add(worker.drain().await?);
            if queue.depth().await? == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::Ok(total)
    };
    let engine = app.engine().clone();
    let sink = std::sync::Arc::clone(app.sink());
    let tenant = sandbox.tenant();
    let mut steps = Vec::new();
    let mut step = |name: &str, jobs: WorkerStats, t: Instant| {
        steps.push(Step {
            name: name.into(),
            jobs,
            ms: t.elapsed().as_millis() as u64,
        });
    };

    // 1. The first nightly run: subscription (real handshake), full delta walk, and the
    //    Microsoft 365 photos copied to SharePoint.
    let t = Instant::now();
    engine.reconcile(sink.as_ref(), false, &|_| {}).await?;
    step(
        "first reconcile: subscribe, walk every user, copy photos to SharePoint",
        drain().await?,
        t,
    );

    // 2. HR webhooks: HR's photos for employees whose photo differs, inline or by URL;
    //    a sideways phone photo, an oversized PNG, one too small; one withdrawn photo.
    let t = Instant::now();
    let url = format!("{base}/api/hr-webhook");
    let mut hr_answers: BTreeMap<u16, u64> = BTreeMap::new();
    let employees: Vec<String> = tenant
        .users()
        .into_iter()
        .filter(|u| u.account_enabled)
        .filter_map(|u| u.employee_id)
        .filter(|e| tenant.hr_photo(e).is_some())
        .collect();
    let mut sent = 0usize;
    let mut used = std::collections::HashSet::new();
    for (i, e) in employees.iter().enumerate() {
        let differs = tenant
            .user(e)
            .and_then(|u| tenant.photo(&u.id))
            .zip(tenant.hr_photo(e))
            .is_none_or(|(m, h)| m.bytes != h);
        if !differs && i % 7 != 0 {
            continue;
        }
        let mode = match sent % 3 {
            2 => HrPhotoMode::Url,
            _ => HrPhotoMode::Inline,
        };
        let event = tenant.hr_event(e, mode)?;
        let status = deliver(&tenant, &url, &secret, &event).await;
        *hr_answers.entry(status).or_default() += 1;
        used.insert(e.clone());
        sent += 1;
        // Leave three employees for the special photos below.
        if sent >= 40.min(employees.len().saturating_sub(3)) {
            break;
        }
    }
    let special: Vec<(&str, Vec<u8>)> = vec![
        (
            "phone photo lying on its side (EXIF orientation 6)",
            samples::oriented_jpeg(&samples::marked_square(1600, 11), 6),
        ),
        (
            "oversized 2400 px PNG",
            samples::png_rgb(&samples::marked_square(2400, 12)),
        ),
        (
            "photo below 96 px (refused with a reason)",
            samples::jpeg(&samples::marked_square(40, 13), 90),
        ),
    ];
    // Employees not sent above (a URL event fetches HR's current photo when it runs).
    let spare = employees.iter().rev().filter(|e| !used.contains(*e));
    for (e, (what, bytes)) in spare.zip(special) {
        tenant.hr_set_photo(e, &bytes);
        let event = tenant.hr_event(e, HrPhotoMode::Inline)?;
        let status = deliver(&tenant, &url, &secret, &event).await;
        tracing::info!(employee = %e, %what, status, "special HR photo sent");
        *hr_answers.entry(status).or_default() += 1;
    }
    step("HR webhooks: new official photos (inline and by URL), a sideways phone photo, an oversized PNG, a too-small photo", drain().await?, t);

    // 3. A change notification: a user's job title changes; Graph notifies (twice: the
    //    sandbox sends duplicates, as Graph does) and the job runs once.
    let t = Instant::now();
    if let Some(u) = tenant.users().into_iter().find(|u| u.account_enabled) {
        tenant.update_user(&u.id, |u| u.job_title = Some("Head of Photos".into()))?;
        tenant
            .wait_for_notifications(3, Duration::from_secs(10))
            .await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    step(
        "change notification (sent twice) for an updated user",
        drain().await?,
        t,
    );

    // 4. Drift: someone uploads other photos in Microsoft 365 and removes one; the
    //    nightly reconcile finds it from photo metadata and restores HR's photos.
    let t = Instant::now();
    let managed: Vec<(String, Option<String>)> = engine
        .ledger()
        .users(None, 10_000)
        .await?
        .into_iter()
        .filter(|(_, s)| s.source.as_ref().is_some_and(|s| s.origin == "hr") && s.failure.is_none())
        .map(|(id, s)| (id, s.upn))
        .take(4)
        .collect();
    let stray = samples::jpeg(&samples::marked_square(700, 99), 85);
    for (i, (id, _)) in managed.iter().enumerate() {
        if i == 0 {
            tenant.delete_photo(id)?;
        } else {
            tenant.set_photo(id, &stray)?;
        }
    }
    engine.reconcile(sink.as_ref(), false, &|_| {}).await?;
    step("drift: photos replaced or removed in Microsoft 365, found and restored by the nightly reconcile", drain().await?, t);

    // 5. The next night: nothing to do.
    let t = Instant::now();
    let last = engine.reconcile(sink.as_ref(), false, &|_| {}).await?;
    step(
        "next reconcile over the unchanged tenant",
        drain().await?,
        t,
    );

    let poisoned = queue.poisoned().await?;
    let report = crate::report::collect(
        engine.ledger().as_ref(),
        engine.photos().as_ref(),
        poisoned,
        true,
    )
    .await?;
    let report_path = opts.dir.join("demo-report.html");
    std::fs::write(
        &report_path,
        crate::report::render(&report, "photo-sync demo — sandbox tenant"),
    )
    .with_context(|| format!("writing {}", report_path.display()))?;
    let mut total = WorkerStats::default();
    for s in &steps {
        total.add(s.jobs.clone());
    }
    let summary = DemoSummary {
        users: tenant.users().len(),
        checked: last.checked,
        steps,
        total,
        hr_answers,
        final_enqueued: last.enqueued,
        sandbox_photo_writes: tenant.stats().photo_writes,
        report: report_path,
        ms: started.elapsed().as_millis() as u64,
    };
    server.abort();
    sandbox.shutdown().await;
    Ok(summary)
}
