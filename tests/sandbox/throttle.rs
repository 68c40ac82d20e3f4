//! Limits (m365-facts B§2.3) and seeded faults.

use std::time::Duration;

use photo_sync::sandbox::{Faults, RetryAfterFormat, Variants};

use crate::helpers::{client, get, graph_token, start_with};

#[tokio::test]
async fn a_burst_beyond_the_resource_units_gets_429_until_the_bucket_refills() {
    let sb = start_with(20, |c| c.limits.resource_units_small = 20).await;
    let token = graph_token(&sb).await;
    let mut statuses = Vec::new();
    for _ in 0..11 {
        let (status, headers, _) = get(&sb, &token, "/users").await;
        if status == 200 {
            assert_eq!(headers["x-ms-resource-unit"], "2");
        }
        statuses.push((status, headers));
    }
    assert!(statuses[..10].iter().all(|(s, _)| *s == 200));
    let (status, headers) = &statuses[10];
    assert_eq!(*status, 429);
    let wait: u64 = headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .expect("integer seconds by default");
    assert!((1..=10).contains(&wait));
    assert_eq!(
        headers["x-ms-throttle-information"],
        "ResourceUnitLimitExceeded"
    );
    assert!(headers["x-ms-throttle-scope"]
        .to_str()
        .unwrap()
        .starts_with("Tenant_Application/"));
    // $select and a small $top make a request cheaper (cost 1) but the bucket is empty.
    sb.tenant().set_variants(Variants {
        retry_after: RetryAfterFormat::Fractional,
        ..Variants::default()
    });
    let (status, headers, v) = get(&sb, &token, "/users?$select=id&$top=5").await;
    assert_eq!(status, 429);
    assert_eq!(v["error"]["code"], "Request_ThrottledTemporarily");
    assert!(headers["retry-after"].to_str().unwrap().contains('.'));

    sb.tenant().advance_clock(Duration::from_secs(10));
    let token = graph_token(&sb).await;
    assert_eq!(get(&sb, &token, "/users").await.0, 200);
    assert!(sb.tenant().stats().throttled_429 >= 2);
    sb.shutdown().await;
}

async fn concurrent_photo_reads(throttle: bool) -> (usize, u32) {
    let sb = start_with(20, |c| {
        c.throttle = throttle;
        c.latency = Duration::from_millis(300);
    })
    .await;
    let token = graph_token(&sb).await;
    let id = sb.tenant().users()[0].id.clone();
    let url = format!("{}/v1.0/users/{id}/photo", sb.endpoints().graph_url);
    let calls = (0..8).map(|_| client().get(&url).bearer_auth(&token).send());
    let results = futures::future::join_all(calls).await;
    let throttled = results
        .iter()
        .filter(|r| r.as_ref().unwrap().status() == 429)
        .count();
    let peak = sb.tenant().stats().peak_photo_concurrency;
    sb.shutdown().await;
    (throttled, peak)
}

#[tokio::test]
async fn a_mailbox_takes_four_concurrent_photo_requests() {
    let (throttled, peak) = concurrent_photo_reads(true).await;
    assert_eq!(peak, 4);
    assert_eq!(throttled, 4);
    let (throttled, peak) = concurrent_photo_reads(false).await;
    assert_eq!(throttled, 0);
    assert!(
        peak > 4,
        "without limits the peak shows the client's real concurrency: {peak}"
    );
}

#[tokio::test]
async fn seeded_faults_answer_503_429_drop_and_hold() {
    let sb = start_with(10, |c| {
        c.faults = Faults {
            rate_503: 1.0,
            ..Faults::default()
        }
    })
    .await;
    let token = graph_token(&sb).await;
    let (status, _, v) = get(&sb, &token, "/users").await;
    assert_eq!(status, 503);
    assert_eq!(v["error"]["code"], "ServiceUnavailable");
    sb.shutdown().await;

    let sb = start_with(10, |c| {
        c.faults = Faults {
            rate_429: 1.0,
            ..Faults::default()
        }
    })
    .await;
    let token = graph_token(&sb).await;
    let (status, headers, _) = get(&sb, &token, "/users").await;
    assert_eq!(status, 429);
    assert!(headers.contains_key("retry-after"));
    sb.shutdown().await;

    let sb = start_with(10, |c| {
        c.faults = Faults {
            rate_drop: 1.0,
            ..Faults::default()
        }
    })
    .await;
    let token = graph_token(&sb).await;
    let err = client()
        .get(format!("{}/v1.0/users", sb.endpoints().graph_url))
        .bearer_auth(&token)
        .send()
        .await
        .expect_err("the connection closes without a response");
    assert!(!err.is_timeout(), "{err}");
    sb.shutdown().await;

    let sb = start_with(10, |c| {
        c.faults = Faults {
            rate_timeout: 1.0,
            ..Faults::default()
        }
    })
    .await;
    let token = graph_token(&sb).await;
    let err = client()
        .get(format!("{}/v1.0/users", sb.endpoints().graph_url))
        .bearer_auth(&token)
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .expect_err("held");
    assert!(err.is_timeout(), "{err}");
    sb.shutdown().await;
}

/// B§2.3: the global per-app rate counts every `$batch` item.
#[tokio::test]
async fn batch_items_count_against_the_global_app_rate() {
    let sb = start_with(20, |c| c.limits.app_requests_per_second = 25).await;
    let token = graph_token(&sb).await;
    let id = sb.tenant().users()[0].id.clone();
    let requests: Vec<_> = (0..20)
        .map(|i| serde_json::json!({"id": i.to_string(), "method": "GET", "url": format!("/users/{id}/photo")}))
        .collect();
    let body = serde_json::json!({ "requests": requests });
    let url = format!("{}/v1.0/$batch", sb.endpoints().graph_url);
    let mut throttled = Vec::new();
    for _ in 0..2 {
        let v: serde_json::Value = client()
            .post(&url)
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for r in v["responses"].as_array().unwrap() {
            if r["status"] == 429 {
                throttled.push(r["headers"].clone());
            }
        }
    }
    // 40 items against a bucket of 25 (refilling at 25/s): most of the second batch is refused.
    assert!((10..=15).contains(&throttled.len()), "{}", throttled.len());
    assert!(throttled[0]["X-Ms-Throttle-Scope"]
        .as_str()
        .unwrap()
        .starts_with("Application/"));
    assert!(throttled[0]["Retry-After"].is_string());
    sb.shutdown().await;
}
