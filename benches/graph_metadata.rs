//! Benchmark (not a test): check the photo metadata of every user of a large sandbox
//! tenant the way the nightly reconcile does on an unchanged tenant — the saved delta link
//! (nothing changed) then `$batch` photo metadata for every known user — with 20 ms
//! simulated latency. The first full delta round, which learns the users, is timed
//! separately. The sandbox runs in its own process (`photo-sync
//! sandbox`), so the CPU time and peak memory printed are the client's alone.
//!
//! `cargo bench --bench graph_metadata` (env `USERS`, default 100000; `LATENCY_MS`, 20;
//! `PARALLEL`, 8). Results: BENCHMARKS.md.

#![allow(clippy::unwrap_used)] // a benchmark binary: a failed unwrap is a failed run

mod common;

use common::{spawn_sandbox, var};

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use photo_sync::auth::{AuthOptions, Credentials, TokenSource};
use photo_sync::config::{Env, M365Settings};
use photo_sync::graph::{GraphClient, PhotoState};
use photo_sync::rest::RestClient;

/// (user+system CPU seconds, peak RSS in MiB) of this process, from /proc.
fn usage() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // After the ")", field 14 (utime) is index 11 and 15 (stime) index 12; 100 ticks/s.
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    (cpu, hwm / 1024.0)
}

fn main() {
    let users = var("USERS", 100_000);
    let latency = var("LATENCY_MS", 20);
    let parallel = var("PARALLEL", 8) as usize;
    let (mut child, ep) = spawn_sandbox(users, latency);
    let s = |k: &str| ep[k].as_str().unwrap().to_owned();
    let env = Env::default()
        .with("PHOTOSYNC_GRAPH_URL", s("graph_url"))
        .with("AZURE_AUTHORITY_HOST", s("authority_host"))
        .with("AZURE_TENANT_ID", s("tenant_id"))
        .with("AZURE_CLIENT_ID", s("client_id"))
        .with("AZURE_CLIENT_SECRET", s("client_secret"))
        .with("PHOTOSYNC_CREDENTIAL", "secret")
        .with("PHOTOSYNC_GRAPH_CONCURRENCY", parallel.to_string());
    let cert = reqwest::Certificate::from_pem(s("ca_pem").as_bytes()).unwrap();
    let options = AuthOptions {
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
    let result = rt.block_on(async {
        let settings = M365Settings::from_env(&env).unwrap();
        let creds: Arc<dyn TokenSource> =
            Arc::new(Credentials::from_settings(&settings, options).unwrap());
        let http = RestClient::default_http(parallel).unwrap();
        let rest = Arc::new(RestClient::new(http, creds, settings.retry, parallel, 4));
        let graph = GraphClient::new(&settings, Arc::clone(&rest));
        // Setup: the first full delta round learns every user (and the delta link).
        let setup_started = Instant::now();
        let mut ids = Vec::with_capacity(users as usize);
        let round = graph
            .users_delta(None, |page| {
                ids.extend(page.users.into_iter().map(|u| u.id))
            })
            .await
            .unwrap();
        let listed = setup_started.elapsed();
        let setup_requests = rest.counters.requests.load(Ordering::Relaxed);

        // The nightly check: delta from the saved link, then every user's photo metadata.
        let (cpu0, _) = usage();
        let started = Instant::now();
        let mut changed = 0;
        graph
            .users_delta(Some(&round.delta_link), |page| {
                changed += page.users.len() + page.removed.len()
            })
            .await
            .unwrap();
        assert_eq!(changed, 0, "the tenant changed during the benchmark");
        let states = graph.photo_meta_many(&ids, parallel).await;
        let total = started.elapsed();
        let present = states
            .iter()
            .filter(|s| matches!(s, Ok(PhotoState::Present(_))))
            .count();
        let failed = states.iter().filter(|s| s.is_err()).count();
        drop(states);
        rest.counters
            .requests
            .fetch_sub(setup_requests, Ordering::Relaxed);
        (
            ids.len(),
            listed,
            total,
            present,
            failed,
            rest,
            setup_requests,
            cpu0,
        )
    });
    let (n, listed, total, present, failed, rest, setup_requests, cpu0) = result;
    let (cpu1, peak_mib) = usage();
    let requests = rest.counters.requests.load(Ordering::Relaxed);
    let throttled = rest.counters.throttled.load(Ordering::Relaxed);
    let retries = rest.counters.retries.load(Ordering::Relaxed);
    let _ = child.kill();
    let _ = child.wait();
    let cpu_ms_per_request = (cpu1 - cpu0) * 1e3 / requests.max(1) as f64;
    let out = serde_json::json!({
        "users": n, "latency_ms": latency, "parallel": parallel, "setup_requests": setup_requests,
        "setup_full_delta_s": listed.as_secs_f64(), "nightly_check_s": total.as_secs_f64(),
        "requests": requests, "users_per_request": n as f64 / requests.max(1) as f64,
        "throttled_429": throttled, "retries": retries,
        "with_photo": present, "failed": failed,
        "client_cpu_s": cpu1 - cpu0, "client_cpu_ms_per_request": cpu_ms_per_request,
        "client_cpu_ms_per_user": (cpu1 - cpu0) * 1e3 / n.max(1) as f64,
        "client_peak_rss_mib": peak_mib,
    });
    println!("{}", serde_json::to_string_pretty(&out).unwrap());
}
