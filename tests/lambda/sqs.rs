//! `SqsQueue` against moto's SQS server over loopback.

use std::collections::BTreeSet;
use std::time::Duration;

use photo_sync::config::Secret;
use photo_sync::queue::sigv4::AwsCredentials;
use photo_sync::queue::{Cause, Job, JobSink, Poison, SqsQueue, SqsSettings};

use crate::moto::Moto;

/// Settings for a queue at `endpoint`.
pub fn settings(endpoint: &str, queue_url: &str, poison_url: Option<&str>) -> SqsSettings {
    SqsSettings {
        queue_url: queue_url.into(),
        poison_url: poison_url.map(str::to_string),
        endpoint: endpoint.into(),
        region: "us-east-1".into(),
        credentials: AwsCredentials {
            access_key_id: "testing".into(),
            secret_access_key: Secret::new("testing-secret"),
            session_token: Some(Secret::new("testing-token")),
        },
        timeout: Duration::from_secs(5),
        attempts: 3,
        backoff: Duration::from_millis(10),
    }
}

/// 25 jobs go out in batches of ten (moto refuses more than ten entries a call) and
/// come back as the same jobs.
#[tokio::test]
async fn twenty_five_jobs_round_trip_through_sqs() {
    let moto = Moto::start().await;
    let url = moto.create_queue("photo-sync-jobs").await;
    let queue = SqsQueue::new(settings(&moto.endpoint, &url, None)).unwrap();
    let jobs: Vec<Job> = (0..25)
        .map(|i| Job::for_user(format!("user-{i:02}"), Cause::Reconcile))
        .collect();

    queue.send(&jobs).await.unwrap();

    let received: BTreeSet<String> = moto
        .drain(&url)
        .await
        .iter()
        .map(|b| Job::from_message(b).unwrap().user.id.unwrap())
        .collect();
    let sent: BTreeSet<String> = jobs.iter().map(|j| j.user.id.clone().unwrap()).collect();
    assert_eq!(received.len(), 25);
    assert_eq!(received, sent);
}

#[tokio::test]
async fn a_poisoned_message_lands_on_the_dead_letter_queue_with_its_reason() {
    let moto = Moto::start().await;
    let url = moto.create_queue("jobs").await;
    let dlq = moto.create_queue("jobs-dlq").await;
    let queue = SqsQueue::new(settings(&moto.endpoint, &url, Some(&dlq))).unwrap();

    queue
        .poison("not a job {", "the message is not JSON")
        .await
        .unwrap();

    let bodies = moto.drain(&dlq).await;
    assert_eq!(bodies.len(), 1);
    let record: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(
        record,
        serde_json::json!({"message": "not a job {", "reason": "the message is not JSON"})
    );
    assert!(
        moto.drain(&url).await.is_empty(),
        "nothing on the job queue"
    );
}

#[tokio::test]
async fn without_a_poison_url_poisoning_fails_so_the_message_is_kept() {
    let moto = Moto::start().await;
    let url = moto.create_queue("jobs").await;
    let queue = SqsQueue::new(settings(&moto.endpoint, &url, None)).unwrap();
    let e = queue.poison("x", "why").await.unwrap_err();
    assert!(e.is_retryable());
    assert!(e.to_string().contains("PHOTOSYNC_SQS_POISON_URL"), "{e}");
}

#[tokio::test]
async fn a_missing_queue_is_an_error_that_names_it() {
    let moto = Moto::start().await;
    let missing = format!("{}/123456789012/no-such-queue", moto.endpoint);
    let queue = SqsQueue::new(settings(&moto.endpoint, &missing, None)).unwrap();
    let e = queue.send_bodies(&["{}".to_string()]).await.unwrap_err();
    assert!(!e.is_retryable(), "{e:?}");
    assert!(
        e.to_string().contains("QueueDoesNotExist") || e.to_string().contains("NonExistentQueue"),
        "{e}"
    );
}
