//! The AWS Lambda host (m365-facts B§5): the one router run through `lambda_http::run`.
//! API Gateway (REST and HTTP APIs), ALB and Function URL requests reach the router as
//! HTTP; every other event arrives through `pass_through` as `POST /events` and goes to
//! a separate router ([`events`]) that HTTP callers can never reach. Jobs go to SQS
//! ([`crate::queue::SqsQueue`]). An `/events` answer of 5xx becomes a failed invocation
//! (`errorType: Retryable`) so Lambda delivers the event again.

pub mod events;

use std::task::{Context, Poll};

use axum::routing::post;
use axum::Router;
use lambda_http::request::RequestContext;
use lambda_http::{BoxFuture, Service};
use tower::ServiceExt as _;

use crate::triggers::App;

pub use events::{parse_event, BatchResponse, Event, EventError, ScheduledEvent, SqsRecord};

/// Largest `/events` answer read back to report a failed invocation.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Why the Lambda host stopped, or why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum LambdaError {
    /// An event's work failed and delivering it again may succeed.
    #[error("{0}")]
    Retryable(String),
    /// The runtime loop ended (the Runtime API refused or went away).
    #[error("Lambda runtime: {0}")]
    Runtime(String),
}

impl LambdaError {
    /// True when a redelivery of the event may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, LambdaError::Retryable(_))
    }
}

impl From<LambdaError> for lambda_http::lambda_runtime::Diagnostic {
    fn from(e: LambdaError) -> Self {
        lambda_http::lambda_runtime::Diagnostic {
            error_type: if e.is_retryable() {
                "Retryable".into()
            } else {
                "NonRetryable".into()
            },
            error_message: e.to_string(),
        }
    }
}

/// What `lambda_http::run` drives: HTTP requests to the router, pass-through events to
/// the events router.
#[derive(Clone)]
pub struct LambdaService {
    http: Router,
    events: Router,
}

impl std::fmt::Debug for LambdaService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LambdaService").finish_non_exhaustive()
    }
}

impl LambdaService {
    /// The service over `app` (whose sink should be SQS).
    pub fn new(app: App) -> Self {
        Self {
            http: crate::triggers::router(app.clone()),
            events: Router::new()
                .route("/events", post(events::handle))
                .with_state(app),
        }
    }
}

impl Service<lambda_http::Request> for LambdaService {
    type Response = axum::response::Response;
    type Error = LambdaError;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: lambda_http::Request) -> Self::Future {
        let pass_through = matches!(
            req.extensions().get::<RequestContext>(),
            Some(RequestContext::PassThrough)
        );
        let router = if pass_through {
            self.events.clone()
        } else {
            self.http.clone()
        };
        Box::pin(async move {
            let resp = match router.oneshot(req).await {
                Ok(resp) => resp,
                Err(never) => match never {},
            };
            if pass_through && resp.status().is_server_error() {
                let body = axum::body::to_bytes(resp.into_body(), ERROR_BODY_LIMIT)
                    .await
                    .unwrap_or_default();
                return Err(LambdaError::Retryable(
                    String::from_utf8_lossy(&body).into_owned(),
                ));
            }
            Ok(resp)
        })
    }
}

/// Runs the Lambda runtime loop over `app` until the Runtime API goes away.
pub async fn run(app: App) -> Result<(), LambdaError> {
    lambda_http::run(LambdaService::new(app))
        .await
        .map_err(|e| LambdaError::Runtime(e.to_string()))
}

/// Tells the Runtime API that initialisation failed (`POST /runtime/init/error`), so
/// Lambda reports `why` instead of a bare exit. `why` must hold no secret (settings
/// errors name keys, never values). Failures to report are logged.
pub async fn report_init_error(runtime_api: &str, why: &str) {
    let url = format!("http://{runtime_api}/2018-06-01/runtime/init/error");
    let body = serde_json::json!({"errorType": "Runtime.InitError", "errorMessage": why});
    let sent = reqwest::Client::new()
        .post(&url)
        .header("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")
        .timeout(std::time::Duration::from_secs(5))
        .json(&body)
        .send()
        .await;
    if let Err(e) = sent {
        tracing::error!(error = %e, "could not report the init error to the Runtime API");
    }
}
