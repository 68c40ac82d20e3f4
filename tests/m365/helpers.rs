//! Shared test plumbing: a loopback server for canned answers and a client pointed at it.

use std::sync::Arc;
use std::time::Duration;

use photo_sync::auth::StaticToken;
use photo_sync::config::Secret;
use photo_sync::graph::{GraphClient, RetryPolicy};

/// Serve `router` on a free loopback port; returns `http://127.0.0.1:PORT`.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    format!("http://{addr}")
}

/// A quick policy for tests: short timeouts and backoff.
pub fn quick_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        max_elapsed: Duration::from_secs(20),
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_secs(5),
        attempt_timeout: Duration::from_millis(500),
    }
}

/// A Graph client for `base` with a fixed token.
pub fn client(base: &str, policy: RetryPolicy) -> GraphClient {
    GraphClient::standalone(
        reqwest::Client::new(),
        base,
        "https://graph.microsoft.com",
        Arc::new(StaticToken(Secret::new("test-token-value"))),
        policy,
        8,
    )
}
