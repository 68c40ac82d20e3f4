//! The sync engine through the queue: writes once, restores drift, survives crashes and
//! throttling, applies the leaver policy, and turns bad input into reasons.

use std::time::Duration;

use photo_sync::graph::PhotoState;
use photo_sync::ledger::unix_now;
use photo_sync::photo::{self, PerceptualHash};
use photo_sync::photostore::InboxPhoto;
use photo_sync::queue::{Cause, Job, JobSink, UserRef};
use photo_sync::sandbox::Faults;

use super::rig::{rig, sandbox_config, Rig};

fn inbox(bytes: &[u8]) -> InboxPhoto {
    InboxPhoto {
        event_type: "photo.updated".into(),
        bytes: bytes.to_vec(),
        content_type: Some("image/jpeg".into()),
        photo_url: None,
        crop: None,
        received_at: unix_now(),
    }
}

/// Queues an HR job for the employee, as the webhook would.
async fn hr_job(r: &Rig, event: &str, employee: &str, bytes: &[u8]) {
    r.app
        .engine()
        .photos()
        .put_inbox(event, &inbox(bytes))
        .await
        .unwrap();
    let job = Job {
        v: 1,
        user: UserRef {
            employee_id: Some(employee.into()),
            ..UserRef::default()
        },
        cause: Cause::Hr,
        hr_event: Some(event.into()),
    };
    r.queue.send(&[job]).await.unwrap();
}

/// The Microsoft 365 photo of `id` is perceptually the photo the ledger says was written.
fn holds_written_photo(r: &Rig, id: &str, phash: u64) -> bool {
    let held = r.sandbox.tenant().photo(id).expect("a photo");
    let h = photo::perceptual_hash(&held.bytes, &photo::Limits::default()).unwrap();
    photo::same_photo(h, PerceptualHash(phash))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_tenant_reconcile_writes_nothing_and_keeps_one_subscription() {
    let r = rig(sandbox_config(25), &[]).await;
    let first = r.reconcile().await;
    assert!(first.full_walk);
    assert_eq!(first.checked, 25, "{first:?}");
    assert_eq!(
        first.enqueued, 0,
        "m365 is the only source and target: {first:?}"
    );
    assert_eq!(first.subscriptions.as_ref().unwrap().created.len(), 1);
    assert_eq!(r.sandbox.tenant().subscriptions().len(), 1);
    let second = r.reconcile().await;
    assert!(!second.full_walk);
    assert_eq!(second.enqueued, 0);
    assert_eq!(second.subscriptions.as_ref().unwrap().created.len(), 0);
    assert_eq!(r.sandbox.tenant().subscriptions().len(), 1);
    assert_eq!(r.sandbox.tenant().stats().photo_writes, 0);
    assert_eq!(r.ledger().subscriptions().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hr_photo_written_once_then_drift_restored_and_own_write_does_not_loop() {
    let r = rig(sandbox_config(20), &[]).await;
    r.reconcile().await;
    let users = r.hr_users();
    let (id, employee, _) = users.first().cloned().unwrap();
    // HR's new photo: another portrait than the one Microsoft 365 holds.
    let hr = users[1].2.clone();
    hr_job(&r, "evt-1", &employee, &hr).await;
    let s = r.drain().await;
    assert_eq!((s.done, s.poisoned), (1, 0));
    let t = r.sandbox.tenant();
    assert_eq!(t.stats().photo_writes, 1);
    let state = r.ledger().user(&id).await.unwrap().unwrap();
    let rec = state.targets.get("m365").unwrap().clone();
    let etag = rec.etag.as_deref().unwrap().trim_matches('"');
    assert_eq!(etag, t.photo(&id).unwrap().etag.trim_matches('"'));
    assert!(holds_written_photo(&r, &id, rec.phash));
    assert_eq!(state.source.unwrap().origin, "hr");

    // The same HR photo again, and a notification for the user: nothing is written.
    hr_job(&r, "evt-2", &employee, &hr).await;
    r.queue
        .send(&[Job::for_user(&id, Cause::Notification)])
        .await
        .unwrap();
    r.drain().await;
    assert_eq!(t.stats().photo_writes, 1, "a repeated job must not write");
    assert_eq!(r.reconcile().await.enqueued, 0);

    // Someone uploads another photo in Microsoft 365: the reconcile restores HR's.
    let other = users.get(2).map(|u| u.2.clone()).unwrap();
    t.set_photo(&id, &other).unwrap();
    let report = r.reconcile().await;
    assert_eq!(report.enqueued, 1, "{report:?}");
    r.drain().await;
    assert_eq!(t.stats().photo_writes, 2);
    assert!(holds_written_photo(&r, &id, rec.phash));
    assert_eq!(r.reconcile().await.enqueued, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_interrupted_after_its_write_is_redelivered_and_writes_nothing_more() {
    let r = rig(sandbox_config(15), &[]).await;
    let users = r.hr_users();
    let (id, employee, _) = users.first().cloned().unwrap();
    hr_job(&r, "evt-crash", &employee, &users[1].2).await;
    // A worker takes the message and dies after writing and recording, before completing.
    let taken = r
        .queue
        .receive(1, Duration::from_millis(300))
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    let job = Job::from_message(&taken[0].body).unwrap();
    r.app.engine().sync_user(&job).await.unwrap();
    assert_eq!(r.sandbox.tenant().stats().photo_writes, 1);
    // Dies after the write but before the ledger record: the record still says pending.
    let mut rec = r.ledger().user(&id).await.unwrap().unwrap().targets["m365"].clone();
    rec.sha256 = format!("pending:{}", rec.sha256);
    rec.etag = None;
    r.ledger().put_target(&id, "m365", &rec).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let s = r.drain().await;
    assert_eq!(s.done, 1, "redelivered once and completed");
    assert_eq!(
        r.sandbox.tenant().stats().photo_writes,
        1,
        "the store already held it"
    );
    assert!(r
        .ledger()
        .user(&id)
        .await
        .unwrap()
        .unwrap()
        .targets
        .contains_key("m365"));
    assert!(
        r.queue.complete(&taken[0]).await.is_err(),
        "the dead worker's receipt is stale"
    );
    assert_eq!(r.queue.depth().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_and_failing_writes_succeed_after_retry_after() {
    let mut cfg = sandbox_config(30);
    cfg.faults = Faults {
        rate_429: 0.25,
        rate_503: 0.1,
        ..Faults::default()
    };
    let r = rig(cfg, &[("PHOTOSYNC_HTTP_MAX_ATTEMPTS", "10")]).await;
    let users: Vec<_> = r.hr_users().into_iter().take(6).collect();
    for (i, (_, employee, _)) in users.iter().enumerate() {
        // Each gets the next one's portrait, so every one is a real write.
        let hr = &users[(i + 1) % users.len()].2;
        hr_job(&r, &format!("evt-t{i}"), employee, hr).await;
    }
    let s = r.drain().await;
    assert_eq!(s.poisoned, 0);
    let t = r.sandbox.tenant();
    assert!(t.stats().throttled_429 > 0, "the faults fired");
    for (id, _, _) in &users {
        let rec = r.ledger().user(id).await.unwrap().unwrap();
        let phash = rec.targets.get("m365").expect("written").phash;
        assert!(holds_written_photo(&r, id, phash));
        assert!(rec.failure.is_none());
        // The stats count every attempt; the store counts what it accepted.
        assert_eq!(
            t.photo(id).unwrap().upload_count,
            1,
            "one accepted upload per user"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaver_policy_remove_deletes_the_photo_of_a_disabled_user() {
    let r = rig(sandbox_config(15), &[("PHOTOSYNC_LEAVER_POLICY", "remove")]).await;
    r.reconcile().await;
    let t = r.sandbox.tenant();
    let leaver = t
        .users()
        .into_iter()
        .find(|u| u.account_enabled && u.has_mailbox && t.photo(&u.id).is_some())
        .unwrap();
    t.update_user(&leaver.id, |u| u.account_enabled = false)
        .unwrap();
    let report = r.reconcile().await;
    assert_eq!(report.enqueued, 1, "{report:?}");
    r.drain().await;
    assert!(t.photo(&leaver.id).is_none());
    let meta = r.app.engine().graph().photo_meta(&leaver.id).await.unwrap();
    assert_eq!(meta, PhotoState::Absent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_becomes_reasons_and_changes_nothing() {
    let r = rig(sandbox_config(12), &[]).await;
    let (id, employee, _) = r.hr_users().first().cloned().unwrap();
    // Not an image: a permanent failure recorded for the user, the job completes.
    hr_job(&r, "evt-bad", &employee, b"GIF89a this is no image at all").await;
    // A user nobody has, and a message that is not a job: poisoned with their reasons.
    let ghost = Job {
        v: 1,
        user: UserRef {
            user_principal_name: Some("o'neil/#EXT#@nowhere.example".into()),
            ..UserRef::default()
        },
        cause: Cause::Manual,
        hr_event: None,
    };
    r.queue.send(&[ghost]).await.unwrap();
    r.queue
        .send_raw(vec!["{\"v\":1}".into(), "not json".into()])
        .await
        .unwrap();
    let s = r.drain().await;
    assert_eq!((s.done, s.poisoned), (1, 3), "{s:?}");
    let poisoned = r.queue.poisoned().await.unwrap();
    assert!(poisoned
        .iter()
        .any(|p| p.reason.contains("no user in the directory")));
    assert!(poisoned.iter().any(|p| p.reason.contains("not a job")));
    assert!(poisoned.iter().any(|p| p.reason.contains("not JSON")));
    let failure = r
        .ledger()
        .user(&id)
        .await
        .unwrap()
        .unwrap()
        .failure
        .unwrap();
    assert!(!failure.retryable);
    assert!(failure.error.contains("photo"), "{}", failure.error);
    assert_eq!(r.sandbox.tenant().stats().photo_writes, 0);
}
