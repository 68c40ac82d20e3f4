//! Benchmark (not a test): the nightly reconcile over a large sandbox tenant, through
//! the same engine the timer runs — first run (full delta walk), an unchanged night, and
//! a night with 1% drift (Microsoft 365 photos replaced behind photo-sync's back for
//! users whose HR photo it holds), whose jobs are then run. Prints Graph requests (users
//! per request), jobs, writes, wall time and peak RSS. The sandbox runs in this process
//! (its state for 100,000 users is in the RSS; the RSS before the first run is printed
//! too).
//!
//! `cargo bench --bench reconcile` (env `USERS`, default 100000; `LATENCY_MS`, 20).
//! Results: BENCHMARKS.md.

#![allow(clippy::unwrap_used)] // a benchmark binary: a failed unwrap is a failed run

mod common;

use common::{peak_rss_mib, var};

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use photo_sync::graph::PhotoState;
use photo_sync::host::worker::{Worker, WorkerOptions};
use photo_sync::host::{build, Deployment};
use photo_sync::ledger::{unix_now, SourceRecord, TargetRecord};
use photo_sync::photostore::{StoredPhoto, StoredRendition};
use photo_sync::sandbox::{Sandbox, SandboxConfig};

fn main() {
    let users = var("USERS", 100_000) as usize;
    let latency = var("LATENCY_MS", 20);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let sb = Sandbox::start(SandboxConfig {
            users,
            latency: Duration::from_millis(latency),
            ..SandboxConfig::default()
        })
        .await
        .unwrap();
        let t = sb.tenant();
        let dir = std::env::temp_dir().join(format!("photo-sync-bench-reconcile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (env, auth) = sb.endpoints().client_env("secret").unwrap();
        let env = env
            .with("PHOTOSYNC_LEDGER", format!("sqlite:{}", dir.join("ledger.db").display()))
            .with("PHOTOSYNC_GRAPH_CONCURRENCY", "16");
        let Deployment { app, local_queue, .. } = build(&env, auth).await.unwrap();
        let queue = local_queue.unwrap();
        let engine = app.engine().clone();
        let rest = engine.graph().rest();
        let base_rss = peak_rss_mib();
        println!("{users} users, {latency} ms latency; RSS with the sandbox loaded: {base_rss:.0} MiB");

        let night = |name: &'static str| {
            let engine = engine.clone();
            let t = t.clone();
            let sink = std::sync::Arc::clone(app.sink());
            async move {
                let r0 = rest.counters.requests.load(Ordering::Relaxed);
                let w0 = t.stats().photo_writes;
                let started = Instant::now();
                let report = engine.reconcile(sink.as_ref(), false, &|_| {}).await.unwrap();
                let requests = rest.counters.requests.load(Ordering::Relaxed) - r0;
                println!(
                    "{name}: {} users checked, {requests} Graph requests ({:.1} users/request), {} jobs, {} writes, {:.1} s, peak RSS {:.0} MiB",
                    report.checked,
                    report.checked as f64 / requests.max(1) as f64,
                    report.enqueued,
                    t.stats().photo_writes - w0,
                    started.elapsed().as_secs_f64(),
                    peak_rss_mib()
                );
                report
            }
        };
        night("first run (full walk)").await;
        let unchanged = night("unchanged tenant").await;
        assert_eq!(unchanged.enqueued, 0);

        // 1% of users hold an HR photo photo-sync wrote (recorded with their current etag).
        let sample = photo_sync::samples::jpeg(&photo_sync::samples::marked_square(700, 5), 85);
        let normalized = photo_sync::photo::normalize(&sample, &photo_sync::photo::Options {
            targets: vec![photo_sync::photo::Target::M365],
            ..Default::default()
        })
        .unwrap();
        let stored = StoredPhoto {
            origin: "hr".into(),
            source_sha256: normalized.source_sha256.clone(),
            phash: normalized.phash.0,
            accepted_at: unix_now(),
            renditions: vec![StoredRendition {
                target: "m365".into(),
                side: normalized.renditions[0].side,
                jpeg: normalized.renditions[0].jpeg.clone(),
            }],
        };
        let drifted: Vec<String> = t
            .users()
            .into_iter()
            .filter(|u| u.has_mailbox && u.account_enabled)
            .step_by(100)
            .map(|u| u.id)
            .filter(|id| t.photo(id).is_some())
            .collect();
        for id in &drifted {
            let etag = match engine.graph().photo_meta(id).await.unwrap() {
                PhotoState::Present(m) => Some(m.etag),
                PhotoState::Absent => None,
            };
            engine.photos().put_photo(id, &stored).await.unwrap();
            let src = SourceRecord { origin: "hr".into(), sha256: stored.source_sha256.clone(), phash: stored.phash, accepted_at: unix_now() };
            engine.ledger().put_source(id, None, &src).await.unwrap();
            let rec = TargetRecord { sha256: normalized.renditions[0].sha256.clone(), phash: stored.phash, etag, written_at: unix_now() };
            engine.ledger().put_target(id, "m365", &rec).await.unwrap();
        }
        assert_eq!(night("unchanged, with HR photos recorded").await.enqueued, 0);
        let other = photo_sync::samples::jpeg(&photo_sync::samples::marked_square(700, 77), 85);
        for id in &drifted {
            t.set_photo(id, &other).unwrap();
        }
        let w0 = t.stats().photo_writes;
        let drift = night("1% drift").await;
        let worker = Worker::new(app.clone(), queue.clone(), WorkerOptions { concurrency: 16, ..WorkerOptions::default() });
        let started = Instant::now();
        let stats = worker.drain().await.unwrap();
        let writes = t.stats().photo_writes - w0;
        println!(
            "1% drift jobs: {} drifted users, {} jobs queued, {} done, {} photo writes, {:.1} s",
            drifted.len(),
            drift.enqueued,
            stats.done,
            writes,
            started.elapsed().as_secs_f64()
        );
        assert_eq!(drift.enqueued as usize, drifted.len());
        let _ = std::fs::remove_dir_all(&dir);
    });
}
