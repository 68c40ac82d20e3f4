//! The Azure Storage job queue on Azurite: jobs arrive base64-encoded as the Functions
//! host expects, in full; poison records keep their reason; the host's own poison
//! messages read as such; the client's errors name the service's code.

use base64::Engine as _;
use photo_sync::queue::{AzureQueue, Cause, Job, JobSink, Poison};
use photo_sync::storage::queue::QueueClient;
use photo_sync::storage::{Service, StorageAccount, StorageRequest};

use super::azurite::{azurite, unique};
use super::backends::azurite_client;

async fn fresh_queue() -> (AzureQueue, QueueClient, QueueClient) {
    let name = unique("jobs-");
    let jobs = QueueClient::new(azurite_client(), &name).unwrap();
    let poison = QueueClient::new(azurite_client(), &format!("{name}-poison")).unwrap();
    (
        AzureQueue::open(jobs.clone(), poison.clone())
            .await
            .unwrap(),
        jobs,
        poison,
    )
}

#[tokio::test]
async fn jobs_arrive_once_each_as_base64_messages() {
    let (queue, jobs, _) = fresh_queue().await;
    let mut sent: Vec<Job> = (0..45)
        .map(|i| Job::for_user(format!("user-{i:02}"), Cause::Reconcile))
        .collect();
    sent[3].hr_event = Some("msg_abc".into());
    sent[4].user.user_principal_name = Some("o'brien+x@contoso.com".into());
    queue.send(&sent).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..10 {
        let batch = jobs.receive(32, 30).await.unwrap();
        if batch.is_empty() {
            break;
        }
        for m in batch {
            got.push(Job::from_message(&m.text).unwrap());
            jobs.delete(&m.id, m.pop_receipt.as_deref().unwrap())
                .await
                .unwrap();
        }
    }
    got.sort_by_key(|j| j.user.label());
    sent.sort_by_key(|j| j.user.label());
    assert_eq!(got, sent);
    assert!(
        jobs.peek(32).await.unwrap().is_empty(),
        "every message was taken"
    );
}

#[tokio::test]
async fn raw_wire_form_is_base64_json() {
    // What the Functions host reads (messageEncoding base64): base64 of the JSON job.
    let (queue, jobs, _) = fresh_queue().await;
    queue
        .send(&[Job::for_user("u-1", Cause::Manual)])
        .await
        .unwrap();
    let path = format!("/{}/messages", jobs.name());
    let url = format!(
        "http://127.0.0.1:{}/devstoreaccount1{path}?peekonly=true",
        azurite().queue_port
    );
    assert_eq!(
        reqwest::get(&url).await.unwrap().status().as_u16(),
        403,
        "anonymous access refused"
    );
    let req =
        StorageRequest::new(Service::Queue, reqwest::Method::GET, path).query("peekonly", "true");
    let xml = String::from_utf8(azurite_client().send(&req).await.unwrap().body.to_vec()).unwrap();
    let expected = base64::engine::general_purpose::STANDARD
        .encode(r#"{"v":1,"user":{"id":"u-1"},"cause":"manual"}"#);
    assert!(
        xml.contains(&format!("<MessageText>{expected}</MessageText>")),
        "{xml}"
    );
}

#[tokio::test]
async fn poison_keeps_reasons_and_reads_the_hosts_own() {
    let (queue, _, poison) = fresh_queue().await;
    queue
        .poison(
            "{\"not\":\"a job\"}",
            "the message is not a job (missing field `user`)",
        )
        .await
        .unwrap();
    // The Functions host moves a failing message to <queue>-poison as it was.
    poison
        .put(r#"{"v":1,"user":{"id":"u-9"},"cause":"hr"}"#)
        .await
        .unwrap();
    let listed = queue.poisoned().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].body, "{\"not\":\"a job\"}");
    assert!(listed[0].reason.contains("not a job"));
    assert!(listed[0].poisoned_at > 1_700_000_000);
    assert_eq!(
        listed[1].body,
        r#"{"v":1,"user":{"id":"u-9"},"cause":"hr"}"#
    );
    assert!(
        listed[1].reason.contains("maxDequeueCount"),
        "{}",
        listed[1].reason
    );
}

#[tokio::test]
async fn service_errors_name_the_code_and_never_the_key() {
    let missing = QueueClient::new(azurite_client(), &unique("missing-")).unwrap();
    let e = missing.put("x").await.unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert_eq!(e.code(), Some("QueueNotFound"));
    assert!(!e.is_retryable());

    // A wrong key: 403 AuthenticationFailed, and the message never carries the key.
    let wrong_key = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ==";
    let text = azurite().connection_string.replace(
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
        wrong_key,
    );
    let account = StorageAccount::from_connection_string(&text).unwrap();
    let client =
        photo_sync::storage::StorageClient::new(account, photo_sync::rest::RetryPolicy::default())
            .unwrap();
    let e = QueueClient::new(client, "anything")
        .unwrap()
        .ensure()
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(403), "{e}");
    assert!(!e.to_string().contains(wrong_key) && !format!("{e:?}").contains(wrong_key));
}

#[tokio::test]
async fn a_message_over_the_service_limit_is_refused_before_sending() {
    let (_, jobs, _) = fresh_queue().await;
    let e = jobs.put(&"x".repeat(60 * 1024)).await.unwrap_err();
    assert!(
        e.to_string().contains("64") || e.to_string().contains("65536"),
        "{e}"
    );
    assert!(jobs.peek(1).await.unwrap().is_empty());
}
