//! A fake Lambda Runtime API (axum on 127.0.0.1:0): `GET /invocation/next` hands out
//! the events the test queues (long-polling like the real one), `POST …/response` and
//! `…/error` carry the function's answers back, `POST /init/error` records a failed
//! start.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `POST /invocation/{id}/response`.
    Response(Value),
    /// `POST /invocation/{id}/error`.
    Error(Value),
}

#[derive(Clone)]
struct Shared {
    events: Arc<tokio::sync::Mutex<mpsc::Receiver<(String, Value)>>>,
    waiting: Arc<Mutex<HashMap<String, oneshot::Sender<Outcome>>>>,
    init_errors: Arc<Mutex<Vec<(HeaderMap, Value)>>>,
}

/// The running fake.
pub struct FakeRuntime {
    /// `127.0.0.1:PORT`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    send: mpsc::Sender<(String, Value)>,
    shared: Shared,
    next_id: AtomicU64,
}

async fn next(State(s): State<Shared>) -> impl IntoResponse {
    let (id, event) = match s.events.lock().await.recv().await {
        Some(e) => e,
        None => return (StatusCode::GONE, HeaderMap::new(), String::new()),
    };
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 60_000;
    let mut h = HeaderMap::new();
    h.insert("Lambda-Runtime-Aws-Request-Id", id.parse().unwrap());
    h.insert(
        "Lambda-Runtime-Deadline-Ms",
        deadline.to_string().parse().unwrap(),
    );
    h.insert(
        "Lambda-Runtime-Invoked-Function-Arn",
        "arn:aws:lambda:us-east-1:123456789012:function:photo-sync"
            .parse()
            .unwrap(),
    );
    h.insert(
        "Lambda-Runtime-Trace-Id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
            .parse()
            .unwrap(),
    );
    h.insert("content-type", "application/json".parse().unwrap());
    (StatusCode::OK, h, event.to_string())
}

fn finish(s: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    match s.waiting.lock().unwrap().remove(id) {
        Some(tx) => {
            let _ = tx.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(State(s): State<Shared>, Path(id): Path<String>, body: String) -> StatusCode {
    finish(
        &s,
        &id,
        Outcome::Response(serde_json::from_str(&body).unwrap_or(Value::Null)),
    )
}

async fn error(State(s): State<Shared>, Path(id): Path<String>, body: String) -> StatusCode {
    finish(
        &s,
        &id,
        Outcome::Error(serde_json::from_str(&body).unwrap_or(Value::Null)),
    )
}

async fn init_error(State(s): State<Shared>, headers: HeaderMap, body: String) -> StatusCode {
    s.init_errors
        .lock()
        .unwrap()
        .push((headers, serde_json::from_str(&body).unwrap_or(Value::Null)));
    StatusCode::ACCEPTED
}

impl FakeRuntime {
    /// Starts the fake.
    pub async fn start() -> Self {
        let (send, recv) = mpsc::channel(16);
        let shared = Shared {
            events: Arc::new(tokio::sync::Mutex::new(recv)),
            waiting: Arc::default(),
            init_errors: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            address,
            send,
            shared,
            next_id: AtomicU64::new(1),
        }
    }

    /// Hands `event` to the function and waits (at most `timeout`) for its answer.
    pub async fn invoke_within(&self, event: Value, timeout: Duration) -> Outcome {
        let id = format!("req-{}", self.next_id.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        self.shared.waiting.lock().unwrap().insert(id.clone(), tx);
        self.send.send((id.clone(), event)).await.unwrap();
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(outcome)) => outcome,
            _ => panic!("no answer to invocation {id} within {timeout:?}"),
        }
    }

    /// [`Self::invoke_within`] 120 s.
    pub async fn invoke(&self, event: Value) -> Outcome {
        self.invoke_within(event, Duration::from_secs(120)).await
    }

    /// The init errors posted so far.
    pub fn init_errors(&self) -> Vec<(HeaderMap, Value)> {
        self.shared.init_errors.lock().unwrap().clone()
    }
}
