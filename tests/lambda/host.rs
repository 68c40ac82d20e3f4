//! The photo-sync binary as a Lambda function: `photo-sync serve --sandbox` with
//! `AWS_LAMBDA_RUNTIME_API` pointing at the fake Runtime API, its jobs on moto's SQS, its
//! tenant the built-in sandbox (the same `--sandbox` the standalone host and the demo
//! use: an in-process simulated Microsoft 365 tenant, seeded users, real HTTP).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use photo_sync::queue::{Cause, Job};
use photo_sync::sandbox::{Sandbox, SandboxConfig};

use crate::moto::Moto;
use crate::runtime::{FakeRuntime, Outcome};

/// The function's process, killed on drop; its log kept for failures.
struct Function {
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

impl Function {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (at most `timeout`) for the process to exit; its exit code.
    fn exit_within(&mut self, timeout: Duration) -> Option<i32> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

/// Starts the binary under `runtime` with `env` (plus the variables Lambda always sets).
fn function(runtime: &FakeRuntime, env: &[(&str, String)]) -> Function {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let log = std::env::temp_dir().join(format!(
        "photo-sync-lambda-{}-{}.log",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_photo-sync"));
    cmd.args(["serve", "--sandbox"])
        .env_remove("FUNCTIONS_CUSTOMHANDLER_PORT")
        .env("AWS_LAMBDA_RUNTIME_API", &runtime.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "photo-sync")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing-secret-key")
        .env("AWS_SESSION_TOKEN", "testing-session-token")
        .env("PHOTOSYNC_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Function {
        child: cmd.spawn().expect("starting photo-sync"),
        log,
    }
}

/// An API Gateway HTTP API (payload 2.0) event, after AWS's documented example.
fn http_event(method: &str, path: &str, query: &str, body: Option<&str>) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"accept": "*/*", "content-type": "text/plain", "host": "abc123.execute-api.us-east-1.amazonaws.com", "user-agent": "Microsoft-Skype/1.0"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "Microsoft-Skype/1.0"},
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "$default",
            "stage": "$default",
            "time": "10/Mar/2026:00:03:59 +0000",
            "timeEpoch": 1773101039000u64
        },
        "body": body,
        "isBase64Encoded": false
    })
}

fn sqs_event(records: &[(&str, &str)]) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|(id, body)| {
            json!({
                "messageId": id, "receiptHandle": "handle", "body": body,
                "md5OfBody": "x", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:jobs",
                "eventSource": "aws:sqs", "awsRegion": "us-east-1",
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1520621625029",
                               "SenderId": "AROAIWPX5BD2BHG722MW4:sender", "ApproximateFirstReceiveTimestamp": "1520621634884"},
                "messageAttributes": {}
            })
        })
        .collect();
    json!({ "Records": records })
}

fn schedule_event() -> Value {
    json!({"version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
           "source": "aws.events", "account": "123456789012", "time": "2026-12-02T02:00:00Z", "region": "us-east-1",
           "resources": ["arn:aws:events:us-east-1:123456789012:rule/photo-sync-nightly"], "detail": {}})
}

fn response(outcome: Outcome, f: &Function) -> Value {
    match outcome {
        Outcome::Response(v) => v,
        Outcome::Error(e) => panic!("invocation failed: {e}\n--- function log ---\n{}", f.log()),
    }
}

/// One function, every kind of event in turn: HTTP through API Gateway, the nightly
/// EventBridge schedule filling SQS, an SQS batch with a good job and a non-job, and an
/// event it does not take.
#[tokio::test(flavor = "multi_thread")]
async fn the_binary_serves_http_schedules_and_sqs_batches_on_lambda() {
    // `--sandbox` seeds the default sandbox tenant; the same seed here gives the same
    // users, so the test knows who exists in the function's tenant.
    let sandbox = Sandbox::start(SandboxConfig {
        allow_http_notification_url: true,
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let users = sandbox.tenant().users();
    let member = users
        .iter()
        .find(|u| u.account_enabled && u.has_mailbox && u.employee_id.is_some())
        .unwrap()
        .clone();
    sandbox.shutdown().await;
    let moto = Moto::start().await;
    let jobs = moto.create_queue("photo-sync-jobs").await;
    let dlq = moto.create_queue("photo-sync-dlq").await;
    let runtime = FakeRuntime::start().await;
    let f = function(
        &runtime,
        &[
            ("PHOTOSYNC_SQS_QUEUE_URL", jobs.clone()),
            ("PHOTOSYNC_SQS_POISON_URL", dlq.clone()),
            ("PHOTOSYNC_SQS_ENDPOINT", moto.endpoint.clone()),
        ],
    );

    // GET / through API Gateway: the router's ping.
    let r = response(runtime.invoke(http_event("GET", "/", "", None)).await, &f);
    assert_eq!(r["statusCode"], json!(200), "{r}");
    assert_eq!(r["body"], json!("photo-sync"), "{r}");

    // Graph's validation handshake: 200 text/plain with the decoded token.
    let r = response(
        runtime
            .invoke(http_event(
                "POST",
                "/api/notifications",
                "validationToken=Validation%3A%20Testing%20client%20application%20reachability+1",
                None,
            ))
            .await,
        &f,
    );
    assert_eq!(r["statusCode"], json!(200), "{r}");
    let content_type = r["headers"]["content-type"].as_str().unwrap_or_default();
    assert!(content_type.starts_with("text/plain"), "{r}");
    assert_eq!(
        r["body"],
        json!("Validation: Testing client application reachability 1"),
        "{r}"
    );

    // The nightly schedule: the reconcile walks the tenant and puts what it finds on
    // SQS (a fresh sandbox tenant has no drift, so the count may be zero).
    let r = response(runtime.invoke(schedule_event()).await, &f);
    assert_eq!(r["reconcile"]["checked"], json!(users.len()), "{r}");
    assert_eq!(r["event"], json!("53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa"));
    let enqueued = r["reconcile"]["enqueued"].as_u64().unwrap();
    let bodies = moto.drain(&jobs).await;
    assert_eq!(bodies.len() as u64, enqueued, "every job is on the queue");

    // An SQS batch: a real user's job, one for a user the tenant does not have, and a
    // message that is not a job. None is redelivered.
    let good = Job::for_user(&member.id, Cause::Manual).to_message();
    let unknown = Job::for_user("00000000-0000-0000-0000-00000000dead", Cause::Manual).to_message();
    let r = response(
        runtime
            .invoke(sqs_event(&[
                ("good-1", &good),
                ("unknown-1", &unknown),
                ("bad-1", "hello, not a job"),
            ]))
            .await,
        &f,
    );
    assert_eq!(r, json!({"batchItemFailures": []}), "none is redelivered");
    let poisoned: Vec<Value> = moto
        .drain(&dlq)
        .await
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    let messages: Vec<&str> = poisoned
        .iter()
        .map(|p| p["message"].as_str().unwrap())
        .collect();
    // The engine finishes a job for a user the tenant does not have (it records the
    // note); only the message that is not a job is poisoned.
    assert_eq!(messages, vec!["hello, not a job"], "{poisoned:?}");
    let bad = poisoned
        .iter()
        .find(|p| p["message"] == json!("hello, not a job"))
        .unwrap();
    assert!(
        bad["reason"].as_str().unwrap().contains("not JSON"),
        "{bad}"
    );
    let job = Job::from_message(&good).unwrap();

    // The same job again: still done, nothing poisoned (jobs are idempotent).
    let again = job.to_message();
    let r = response(runtime.invoke(sqs_event(&[("good-2", &again)])).await, &f);
    assert_eq!(r, json!({"batchItemFailures": []}));
    assert!(moto.drain(&dlq).await.is_empty());

    // Something else: refused with what it expected, as the invocation's result.
    let r = response(
        runtime
            .invoke(json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {}}))
            .await,
        &f,
    );
    assert!(r["error"].as_str().unwrap().contains("aws.s3"), "{r}");
    assert!(
        r["expected"].as_str().unwrap().contains("Scheduled Event"),
        "{r}"
    );

    // No secret in the function's log.
    let log = f.log();
    assert!(!log.contains("testing-secret-key") && !log.contains("testing-session-token"));
}

/// Without a poison queue a message that is not a job cannot be recorded, so it stays
/// on the queue: listed in batchItemFailures (SQS's redrive policy takes it later).
#[tokio::test(flavor = "multi_thread")]
async fn without_a_poison_queue_a_non_job_is_left_on_the_queue() {
    let moto = Moto::start().await;
    let jobs = moto.create_queue("jobs").await;
    let runtime = FakeRuntime::start().await;
    let f = function(
        &runtime,
        &[
            ("PHOTOSYNC_SQS_QUEUE_URL", jobs),
            ("PHOTOSYNC_SQS_ENDPOINT", moto.endpoint.clone()),
        ],
    );
    let r = response(
        runtime
            .invoke(sqs_event(&[("m-1", "{\"v\":1}"), ("m-2", "[]")]))
            .await,
        &f,
    );
    assert_eq!(
        r,
        json!({"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}]})
    );
}

/// A start without the job queue's URL is reported to the Runtime API's init error and
/// the process exits, naming the setting.
#[tokio::test(flavor = "multi_thread")]
async fn a_start_without_the_queue_url_is_an_init_error() {
    let runtime = FakeRuntime::start().await;
    let mut f = function(&runtime, &[]);
    let code = f.exit_within(Duration::from_secs(60));
    assert!(
        matches!(code, Some(c) if c != 0),
        "exit {code:?}\n{}",
        f.log()
    );
    let errors = runtime.init_errors();
    assert_eq!(errors.len(), 1, "{}", f.log());
    let (headers, body) = &errors[0];
    assert_eq!(
        headers["lambda-runtime-function-error-type"],
        "Runtime.InitError"
    );
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("PHOTOSYNC_SQS_QUEUE_URL"),
        "{body}"
    );
}
