//! The HR webhook over real HTTP: signed events accepted once, forged, stale and replayed
//! ones refused or ignored, bad bodies answered with problem JSON, photo URLs fetched only
//! from allowed, public (or explicitly trusted) addresses.

use photo_sync::ledger::unix_now;
use photo_sync::sandbox::{standard_webhook_signature, HrPhotoMode};
use serde_json::{json, Value};

use super::rig::{rig, rig_with, sandbox_config, Rig};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn hr_rig() -> Rig {
    rig(
        sandbox_config(15),
        &[
            ("PHOTOSYNC_HR_WEBHOOK_SECRET", SECRET),
            ("PHOTOSYNC_HR_PHOTO_HOSTS", "hr.example.com"),
        ],
    )
    .await
}

async fn post(r: &Rig, id: &str, ts: i64, body: &str, secret: &str) -> (u16, Value) {
    let sig = standard_webhook_signature(secret, id, ts, body).unwrap();
    let resp = reqwest::Client::new()
        .post(format!("{}/api/hr-webhook", r.base))
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", sig)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_events_are_accepted_once_and_forgeries_refused() {
    let r = hr_rig().await;
    let t = r.sandbox.tenant();
    let users = r.hr_users();
    let (id, employee, _) = users[0].clone();
    t.hr_set_photo(&employee, &users[1].2);
    let event = t
        .hr_event(&employee, HrPhotoMode::Inline)
        .unwrap()
        .to_string();
    let now = unix_now();
    let (status, body) = post(&r, "msg_1", now, &event, SECRET).await;
    assert_eq!((status, body["status"].as_str()), (202, Some("accepted")));
    // The same delivery again (a replay): acknowledged, not queued twice.
    let (status, body) = post(&r, "msg_1", now, &event, SECRET).await;
    assert_eq!((status, body["status"].as_str()), (202, Some("duplicate")));
    assert_eq!(r.queue.depth().await.unwrap(), 1);
    // Forged: wrong key; stale; tampered body (signature of another body).
    let wrong = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(post(&r, "msg_2", now, &event, wrong).await.0, 401);
    let (status, problem) = post(&r, "msg_3", now - 301, &event, SECRET).await;
    assert_eq!(status, 401);
    assert_eq!(problem["status"], 401);
    assert!(problem["detail"].as_str().unwrap().contains("window"));
    let sig = standard_webhook_signature(SECRET, "msg_4", now, &event).unwrap();
    let resp = reqwest::Client::new()
        .post(format!("{}/api/hr-webhook", r.base))
        .header("webhook-id", "msg_4")
        .header("webhook-timestamp", now.to_string())
        .header("webhook-signature", sig)
        .body(event.replace("photo.updated", "photo.deleted"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    assert_eq!(
        r.queue.depth().await.unwrap(),
        1,
        "nothing forged was queued"
    );
    r.drain().await;
    let rec = r.ledger().user(&id).await.unwrap().unwrap();
    assert_eq!(rec.source.unwrap().origin, "hr");
    assert!(rec.targets.contains_key("m365"));
    assert_eq!(t.photo(&id).unwrap().upload_count, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_get_problem_answers_and_change_nothing() {
    let r = hr_rig().await;
    let now = unix_now();
    let jpeg = "/9j/4AAQ";
    let cases: Vec<(String, u16)> = vec![
        ("{not json".into(), 400),
        (json!({"type": "photo.updated"}).to_string(), 400),
        (json!({"type": "photo.updated", "employee": {}}).to_string(), 422),
        (json!({"type": "photo.moved", "employee": {"employeeId": "E1"}}).to_string(), 422),
        (json!({"type": "photo.updated", "employee": {"employeeId": "E1"}, "photo": {"contentType": "text/html", "data": jpeg}}).to_string(), 422),
        (json!({"type": "photo.updated", "employee": {"employeeId": "E1"}, "photo": {"contentType": "image/jpeg", "data": "%%%"}}).to_string(), 422),
        (json!({"type": "photo.updated", "employee": {"employeeId": "E1"}, "photo": {"contentType": "image/jpeg", "data": jpeg}, "photoUrl": "https://hr.example.com/a.jpg"}).to_string(), 422),
        (json!({"type": "photo.updated", "employee": {"employeeId": "E1"}}).to_string(), 422),
        (json!({"type": "photo.updated", "employee": {"employeeId": "E1"}, "photoUrl": "http://hr.example.com/a.jpg"}).to_string(), 422),
        (json!({"type": "photo.updated", "employee": {"employeeId": "E1"}, "photoUrl": "https://169.254.169.254/latest/meta-data"}).to_string(), 422),
        (json!({"type": "photo.updated", "employee": {"employeeId": "E1"}, "photo": {"contentType": "image/jpeg", "data": jpeg}, "crop": {"x": 0, "y": 0, "width": 0, "height": 10}}).to_string(), 422),
    ];
    for (i, (body, want)) in cases.iter().enumerate() {
        let (status, problem) = post(&r, &format!("bad_{i}"), now, body, SECRET).await;
        assert_eq!(status, *want, "case {i}: {body} → {problem}");
        assert_eq!(
            problem["status"].as_u64(),
            Some(u64::from(*want)),
            "case {i}"
        );
        assert!(!problem["detail"].as_str().unwrap_or("").is_empty());
    }
    // Over 16 MB: 413 before anything else.
    let huge = "x".repeat(16 * 1024 * 1024 + 10);
    let sent = reqwest::Client::new()
        .post(format!("{}/api/hr-webhook", r.base))
        .body(huge)
        .send()
        .await;
    match sent {
        Ok(resp) => assert_eq!(resp.status(), 413),
        // The server may answer 413 and close before the client finished writing.
        Err(e) => assert!(e.is_request(), "{e}"),
    }
    // No headers at all.
    let resp = reqwest::Client::new()
        .post(format!("{}/api/hr-webhook", r.base))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(r.queue.depth().await.unwrap(), 0);
    assert_eq!(r.sandbox.tenant().stats().photo_writes, 0);
    // Odd identifiers pass through intact and end as a reason, not a crash.
    let odd = json!({"type": "photo.updated",
        "employee": {"userPrincipalName": "o'brien/x#EXT#@contoso.onmicrosoft.com", "mail": "zoë@contoso.com"},
        "photo": {"contentType": "image/jpeg", "data": jpeg}}).to_string();
    assert_eq!(post(&r, "odd_1", now, &odd, SECRET).await.0, 202);
    let s = r.drain().await;
    assert_eq!(s.poisoned, 1);
    let reason = &r.queue.poisoned().await.unwrap()[0].reason;
    assert!(
        reason.contains("o'brien/x#EXT#@contoso.onmicrosoft.com"),
        "{reason}"
    );
    let resp = reqwest::get(format!("{}/", r.base)).await.unwrap();
    assert_eq!(resp.status(), 200, "still serving");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photo_urls_are_fetched_only_from_allowed_public_or_trusted_addresses() {
    // The sandbox's HR listener is on loopback: allowed by name but not trusted, the
    // fetch is refused and the reason recorded.
    let r = rig(
        sandbox_config(12),
        &[
            ("PHOTOSYNC_HR_WEBHOOK_SECRET", SECRET),
            ("PHOTOSYNC_HR_PHOTO_HOSTS", "127.0.0.1,localhost"),
        ],
    )
    .await;
    let t = r.sandbox.tenant();
    let users = r.hr_users();
    let (id, employee, _) = users[0].clone();
    t.hr_set_photo(&employee, &users[1].2);
    let event = t.hr_event(&employee, HrPhotoMode::Url).unwrap().to_string();
    assert_eq!(post(&r, "url_1", unix_now(), &event, SECRET).await.0, 202);
    r.drain().await;
    let failure = r
        .ledger()
        .user(&id)
        .await
        .unwrap()
        .unwrap()
        .failure
        .unwrap();
    assert!(failure.error.contains("loopback"), "{}", failure.error);
    assert!(!failure.retryable);
    assert_eq!(t.stats().photo_writes, 0);

    // Trusted by exact address (and its CA): fetched and written.
    let mut ca_dir = None;
    let r = rig_with(
        sandbox_config(12),
        &[
            ("PHOTOSYNC_HR_WEBHOOK_SECRET", SECRET),
            ("PHOTOSYNC_HR_PHOTO_HOSTS", "127.0.0.1"),
        ],
        |e| {
            let hr = reqwest::Url::parse(&e.hr_https_url).unwrap();
            let dir = ca_dir.insert(super::rig::temp_dir("ca"));
            let ca = dir.path().join("ca.pem");
            std::fs::write(&ca, &e.ca_pem).unwrap();
            vec![
                (
                    "PHOTOSYNC_HR_PHOTO_TRUSTED".into(),
                    format!("{}:{}", hr.host_str().unwrap(), hr.port().unwrap()),
                ),
                (
                    "PHOTOSYNC_HR_PHOTO_CA_FILE".into(),
                    ca.display().to_string(),
                ),
            ]
        },
    )
    .await;
    let t = r.sandbox.tenant();
    let users = r.hr_users();
    let (id, employee, _) = users[0].clone();
    t.hr_set_photo(&employee, &users[1].2);
    let event = t.hr_event(&employee, HrPhotoMode::Url).unwrap().to_string();
    assert_eq!(post(&r, "url_2", unix_now(), &event, SECRET).await.0, 202);
    r.drain().await;
    let rec = r.ledger().user(&id).await.unwrap().unwrap();
    assert!(rec.failure.is_none(), "{:?}", rec.failure);
    assert_eq!(t.photo(&id).unwrap().upload_count, 1);
}
