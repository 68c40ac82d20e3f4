//! Graph change notifications through the real endpoint: the handshake, clientState,
//! duplicates, bad bodies.

use std::time::Duration;

use super::rig::{rig, sandbox_config, CLIENT_STATE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_are_deduplicated_checked_and_queued() {
    let mut cfg = sandbox_config(12);
    cfg.variants.duplicate_notifications = true;
    let r = rig(cfg, &[]).await;
    r.reconcile().await; // creates the subscription through the real handshake
    let t = r.sandbox.tenant();
    let sub = t.subscriptions().first().cloned().unwrap();
    let user = t.users().into_iter().next().unwrap();
    t.update_user(&user.id, |u| u.job_title = Some("Photo tester".into()))
        .unwrap();
    let delivered = t.wait_for_notifications(3, Duration::from_secs(10)).await;
    assert!(
        delivered.len() >= 3,
        "handshake + two copies: {}",
        delivered.len()
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(r.queue.depth().await.unwrap(), 1, "two copies, one job");

    let http = reqwest::Client::new();
    let url = format!("{}/api/notifications", r.base);
    // Wrong clientState, foreign subscription: 202, nothing queued.
    for (state, sub_id) in [("wrong", sub.id.as_str()), (CLIENT_STATE, "not-ours")] {
        let body = serde_json::json!({"value":[{"subscriptionId": sub_id, "clientState": state,
            "changeType":"updated","resource": format!("Users/{}", user.id),
            "resourceData":{"id": user.id, "sequenceNumber": 1}}]});
        let resp = http.post(&url).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), 202);
    }
    assert_eq!(r.queue.depth().await.unwrap(), 1);
    // Not JSON, no value array: 400 with a reason.
    for bad in ["{", "{\"value\":7}", ""] {
        let resp = http.post(&url).body(bad).send().await.unwrap();
        assert_eq!(resp.status(), 400);
        assert!(resp.text().await.unwrap().contains("detail"));
    }
    // Oversized: refused before it is read.
    let huge = "x".repeat(2 * 1024 * 1024);
    let resp = http.post(&url).body(huge).send().await.unwrap();
    assert_eq!(resp.status(), 413);
    // The handshake: decoded token, text/plain.
    let resp = http
        .post(format!("{url}?validationToken=a%2Bb%20c%3Cscript%3E"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(resp.text().await.unwrap(), "a+b c<script>");
    // The job runs; m365 is the only source and target, so nothing is written.
    r.drain().await;
    assert_eq!(t.stats().photo_writes, 0);
}
