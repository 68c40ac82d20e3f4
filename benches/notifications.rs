//! Benchmark (not a test): the `notifications` endpoint under Graph-like load — an
//! open-loop generator sending `RATE` POSTs a second for `SECONDS` seconds over loopback,
//! each one change notification in Graph's real payload shape (10% exact duplicates, as
//! Graph sends), against the router with the SQLite ledger and the durable local queue.
//! Prints latency percentiles and checks that every unique notification became exactly
//! one queued job (zero lost, duplicates collapsed). Bounded: stops by itself.
//!
//! `cargo bench --bench notifications` (env `RATE`, default 1000; `SECONDS`, 30).
//! Results: BENCHMARKS.md.

#![allow(clippy::unwrap_used)] // a benchmark binary: a failed unwrap is a failed run

mod common;

use common::var;

use std::sync::Arc;
use std::time::{Duration, Instant};

use photo_sync::auth::StaticToken;
use photo_sync::config::{Env, Secret};
use photo_sync::graph::{GraphClient, RetryPolicy};
use photo_sync::ledger::db::Db;
use photo_sync::ledger::{Ledger, SqliteLedger, SubscriptionRecord};
use photo_sync::photostore::SqlitePhotoStore;
use photo_sync::queue::LocalQueue;
use photo_sync::sync::{Engine, SubscriptionSettings, SyncSettings};
use photo_sync::triggers::{router, App};

const STATE: &str = "bench-client-state-0123456789";
const SUB: &str = "7f105c7d-2dc5-4530-97cd-4e7ae6534c07";
const TENANT: &str = "84bd8158-6d4d-4958-8b9f-9d6445542f95";

fn body(user: u64, seq: u64) -> String {
    format!(
        r##"{{"value":[{{"changeType":"updated","clientState":"{STATE}","resource":"Users/{user:08x}-0000-4000-8000-000000000000","resourceData":{{"@odata.type":"#Microsoft.Graph.User","@odata.id":"Users/{user:08x}-0000-4000-8000-000000000000","id":"{user:08x}-0000-4000-8000-000000000000","organizationId":"{TENANT}","sequenceNumber":{seq}}},"subscriptionExpirationDateTime":"2026-12-10T10:23:45.9356913-08:00","subscriptionId":"{SUB}","tenantId":"{TENANT}"}}]}}"##
    )
}

fn main() {
    let rate = var("RATE", 1000);
    let seconds = var("SECONDS", 30);
    let dir = std::env::temp_dir().join(format!("photo-sync-bench-notify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // The server: its own runtime (two worker threads, as on a 2-core Functions host).
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (addr, queue) = server_rt.block_on(async {
        let db = Db::open(&dir.join("ledger.db")).unwrap();
        let ledger = Arc::new(SqliteLedger::with_db(db.clone()).unwrap());
        ledger
            .put_subscription(&SubscriptionRecord {
                id: SUB.into(),
                resource: "/users".into(),
                notification_url: "https://example.invalid/api/notifications".into(),
                expires_at: i64::MAX / 2,
            })
            .await
            .unwrap();
        let photos = Arc::new(SqlitePhotoStore::with_db(db.clone()).unwrap());
        let queue = LocalQueue::with_db(db).unwrap();
        let env = Env::default()
            .with(
                "PHOTOSYNC_NOTIFICATION_URL",
                "https://example.invalid/api/notifications",
            )
            .with("PHOTOSYNC_CLIENT_STATE", STATE);
        let settings = SyncSettings {
            subscription: SubscriptionSettings::from_env(&env).unwrap(),
            ..SyncSettings::default()
        };
        let graph = GraphClient::standalone(
            reqwest::Client::new(),
            "http://127.0.0.1:9",
            "https://graph.microsoft.com",
            Arc::new(StaticToken(Secret::new("unused"))),
            RetryPolicy::default(),
            4,
        );
        let engine = Engine::new(Arc::new(graph), None, ledger, photos, settings);
        let app = App::new(engine, Arc::new(queue.clone()), Some(TENANT.into()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router(app)).await.unwrap() });
        (addr, queue)
    });

    // The generator: open loop, one request every 1/RATE s whatever the answers do.
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let url = format!("http://{addr}/api/notifications");
    let total = rate * seconds;
    let started = Instant::now();
    let (latencies, statuses, unique) = client_rt.block_on(async move {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .unwrap();
        let interval = Duration::from_secs_f64(1.0 / rate as f64);
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let mut handles = Vec::with_capacity(total as usize);
        let mut unique = 0u64;
        for i in 0..total {
            tick.tick().await;
            // Every tenth request repeats the previous notification exactly.
            let (user, seq) = if i % 10 == 9 { (i - 1, i - 1) } else { (i, i) };
            if i % 10 != 9 {
                unique += 1;
            }
            let payload = body(user, 638_059_995_676_961_300 + seq);
            let http = http.clone();
            let url = url.clone();
            handles.push(tokio::spawn(async move {
                let t = Instant::now();
                let r = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(payload)
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                (t.elapsed(), r.map(|r| r.status().as_u16()).unwrap_or(0))
            }));
        }
        let mut lat = Vec::with_capacity(handles.len());
        let mut statuses = std::collections::BTreeMap::<u16, u64>::new();
        for h in handles {
            let (d, s) = h.await.unwrap();
            lat.push(d);
            *statuses.entry(s).or_default() += 1;
        }
        (lat, statuses, unique)
    });
    let wall = started.elapsed();
    let mut ms: Vec<f64> = latencies.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let pct = |p: f64| ms[((ms.len() as f64 - 1.0) * p).round() as usize];
    let queued = server_rt.block_on(queue.depth()).unwrap();
    println!(
        "notifications: {total} requests at {rate}/s for {seconds} s (wall {:.1} s); answers {statuses:?}",
        wall.as_secs_f64()
    );
    println!(
        "latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(0.999),
        ms[ms.len() - 1]
    );
    println!(
        "unique notifications {unique}, jobs queued {queued}, lost {}",
        unique.saturating_sub(queued)
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        statuses.get(&202).copied().unwrap_or(0),
        total,
        "every request answered 202"
    );
    assert_eq!(queued, unique, "one job per unique notification");
}
