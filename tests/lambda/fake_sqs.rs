//! A scripted fake SQS (axum on 127.0.0.1:0) for what moto cannot be made to do:
//! entries refused in `Failed`, 5xx answers; and a look at the signed headers.

use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use axum::routing::post;
use serde_json::{json, Value};

use photo_sync::queue::SqsQueue;
use photo_sync::queue::{Cause, Job, JobSink};

use crate::sqs::settings;

type Script = dyn Fn(usize, &Value) -> (u16, Value) + Send + Sync;

/// Calls received: headers and JSON body.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(HeaderMap, Value)>>>);

async fn fake(script: Arc<Script>) -> (String, Seen) {
    let seen = Seen::default();
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/",
        post(move |headers: HeaderMap, body: String| {
            let s = s.clone();
            let script = Arc::clone(&script);
            async move {
                let v: Value = serde_json::from_str(&body).unwrap();
                let n = {
                    let mut calls = s.0.lock().unwrap();
                    calls.push((headers, v.clone()));
                    calls.len() - 1
                };
                let (status, answer) = script(n, &v);
                (
                    axum::http::StatusCode::from_u16(status).unwrap(),
                    answer.to_string(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

fn ids(v: &Value) -> Vec<String> {
    v["Entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Id"].as_str().unwrap().to_string())
        .collect()
}

fn jobs(n: usize) -> Vec<Job> {
    (0..n)
        .map(|i| Job::for_user(format!("u{i}"), Cause::Manual))
        .collect()
}

#[tokio::test]
async fn entries_refused_by_sqs_are_sent_again_alone() {
    let script: Arc<Script> = Arc::new(|n, body| {
        if n == 0 {
            // The first call: entry m3 refused through no fault of the sender.
            assert_eq!(ids(body).len(), 10);
            (
                200,
                json!({"Successful": [], "Failed": [{"Id": "m3", "SenderFault": false, "Code": "InternalError"}]}),
            )
        } else {
            (200, json!({"Successful": [], "Failed": []}))
        }
    });
    let (base, seen) = fake(script).await;
    let q = SqsQueue::new(settings(&base, &format!("{base}/1/jobs"), None)).unwrap();

    q.send(&jobs(12)).await.unwrap();

    let calls = seen.0.lock().unwrap().clone();
    let batches: Vec<Vec<String>> = calls.iter().map(|(_, b)| ids(b)).collect();
    assert_eq!(batches.len(), 3, "{batches:?}");
    assert_eq!(batches[1], vec!["m10", "m11"]);
    assert_eq!(batches[2], vec!["m3"], "only the refused entry again");
    for b in &batches {
        let unique: std::collections::BTreeSet<_> = b.iter().collect();
        assert_eq!(unique.len(), b.len(), "ids unique per batch");
    }
}

#[tokio::test]
async fn entries_refused_every_time_end_in_an_error_after_the_bounded_rounds() {
    let script: Arc<Script> = Arc::new(|_, body| {
        let failed: Vec<Value> = ids(body)
            .into_iter()
            .filter(|id| id == "m0")
            .map(|id| json!({"Id": id, "SenderFault": false, "Code": "InternalError"}))
            .collect();
        (200, json!({"Failed": failed}))
    });
    let (base, seen) = fake(script).await;
    let q = SqsQueue::new(settings(&base, &format!("{base}/1/jobs"), None)).unwrap();

    let e = q.send(&jobs(2)).await.unwrap_err();

    assert!(e.to_string().contains("m0"), "{e}");
    assert_eq!(seen.0.lock().unwrap().len(), 3, "attempts = 3 rounds");
}

#[tokio::test]
async fn a_sender_fault_is_not_retried() {
    let script: Arc<Script> = Arc::new(|_, _| {
        (
            200,
            json!({"Failed": [{"Id": "m0", "SenderFault": true, "Code": "InvalidMessageContents"}]}),
        )
    });
    let (base, seen) = fake(script).await;
    let q = SqsQueue::new(settings(&base, &format!("{base}/1/jobs"), None)).unwrap();
    let e = q.send(&jobs(1)).await.unwrap_err();
    assert!(e.to_string().contains("InvalidMessageContents"), "{e}");
    assert_eq!(seen.0.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn server_errors_and_throttling_are_retried_then_succeed() {
    let script: Arc<Script> = Arc::new(|n, _| match n {
        0 => (
            500,
            json!({"__type": "com.amazonaws.sqs#InternalError", "message": "boom"}),
        ),
        1 => (
            400,
            json!({"__type": "com.amazonaws.sqs#RequestThrottled", "message": "slow down"}),
        ),
        _ => (200, json!({"Successful": [], "Failed": []})),
    });
    let (base, seen) = fake(script).await;
    let q = SqsQueue::new(settings(&base, &format!("{base}/1/jobs"), None)).unwrap();
    q.send(&jobs(1)).await.unwrap();
    assert_eq!(seen.0.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn requests_are_json_protocol_and_signed_with_the_session_token() {
    let script: Arc<Script> = Arc::new(|_, _| (200, json!({"Failed": []})));
    let (base, seen) = fake(script).await;
    let q = SqsQueue::new(settings(&base, &format!("{base}/1/jobs"), None)).unwrap();
    q.send(&jobs(1)).await.unwrap();

    let (headers, body) = seen.0.lock().unwrap()[0].clone();
    let h = |k: &str| headers.get(k).unwrap().to_str().unwrap().to_string();
    assert_eq!(h("content-type"), "application/x-amz-json-1.0");
    assert_eq!(h("x-amz-target"), "AmazonSQS.SendMessageBatch");
    assert_eq!(h("x-amz-security-token"), "testing-token");
    let auth = h("authorization");
    let date = h("x-amz-date");
    assert!(
        auth.starts_with(&format!(
            "AWS4-HMAC-SHA256 Credential=testing/{}/us-east-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature="
        , &date[..8])),
        "{auth}"
    );
    assert!(!auth.contains("testing-secret"));
    assert_eq!(body["QueueUrl"], json!(format!("{base}/1/jobs")));
    assert_eq!(
        Job::from_message(body["Entries"][0]["MessageBody"].as_str().unwrap()).unwrap(),
        jobs(1)[0]
    );
}
