//! Benchmark (not a test): the nightly reconcile's own memory. The sandbox tenant runs in
//! its own process (`photo-sync sandbox`), so the peak RSS printed is the function's
//! alone: its engine, ledger (SQLite) and queue, through a first run (full delta walk)
//! and an unchanged night. The drift half is in `benches/reconcile.rs`, which needs the
//! tenant in-process to replace photos behind photo-sync's back.
//!
//! `cargo bench --bench reconcile_alone` (env `USERS`, default 100000; `LATENCY_MS`, 20).
//! Results: BENCHMARKS.md.

#![allow(clippy::unwrap_used)] // a benchmark binary: a failed unwrap is a failed run

mod common;

use common::{peak_rss_mib, spawn_sandbox, var};

use std::sync::atomic::Ordering;
use std::time::Instant;

use photo_sync::auth::AuthOptions;
use photo_sync::config::Env;
use photo_sync::host::{build, Deployment};

fn main() {
    let users = var("USERS", 100_000);
    let latency = var("LATENCY_MS", 20);
    let (mut child, ep) = spawn_sandbox(users, latency);
    let s = |k: &str| ep[k].as_str().unwrap().to_owned();
    let dir = std::env::temp_dir().join(format!("photo-sync-bench-alone-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let env = Env::default()
        .with("PHOTOSYNC_GRAPH_URL", s("graph_url"))
        .with("AZURE_AUTHORITY_HOST", s("authority_host"))
        .with("AZURE_TENANT_ID", s("tenant_id"))
        .with("AZURE_CLIENT_ID", s("client_id"))
        .with("AZURE_CLIENT_SECRET", s("client_secret"))
        .with("PHOTOSYNC_CREDENTIAL", "secret")
        .with("PHOTOSYNC_GRAPH_CONCURRENCY", "16")
        .with(
            "PHOTOSYNC_LEDGER",
            format!("sqlite:{}", dir.join("ledger.db").display()),
        );
    let cert = reqwest::Certificate::from_pem(s("ca_pem").as_bytes()).unwrap();
    let auth = AuthOptions {
        http: Some(
            reqwest::Client::builder()
                .add_root_certificate(cert)
                .build()
                .unwrap(),
        ),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let Deployment { app, .. } = build(&env, auth).await.unwrap();
        let engine = app.engine().clone();
        let rest = engine.graph().rest();
        println!("{users} users, {latency} ms latency, sandbox in its own process; function RSS before: {:.0} MiB", peak_rss_mib());
        for name in ["first run (full walk)", "unchanged tenant"] {
            let r0 = rest.counters.requests.load(Ordering::Relaxed);
            let started = Instant::now();
            let report = engine.reconcile(app.sink().as_ref(), false, &|_| {}).await.unwrap();
            let requests = rest.counters.requests.load(Ordering::Relaxed) - r0;
            println!(
                "{name}: {} users checked, {requests} Graph requests ({:.1} users/request), {} jobs, {:.1} s, function peak RSS {:.0} MiB",
                report.checked,
                report.checked as f64 / requests.max(1) as f64,
                report.enqueued,
                started.elapsed().as_secs_f64(),
                peak_rss_mib()
            );
        }
    });
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
