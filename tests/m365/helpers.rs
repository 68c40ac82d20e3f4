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

/// A Graph client on `sb` signed in with the registered app's client secret over the
/// sandbox's TLS login endpoint, through the same settings path a deployment uses.
pub async fn graph_for(
    sb: &photo_sync::sandbox::Sandbox,
) -> (GraphClient, Arc<dyn photo_sync::auth::TokenSource>) {
    graph_with(sb, quick_policy()).await
}

/// [`graph_for`] with a given retry policy.
pub async fn graph_with(
    sb: &photo_sync::sandbox::Sandbox,
    policy: RetryPolicy,
) -> (GraphClient, Arc<dyn photo_sync::auth::TokenSource>) {
    use photo_sync::auth::Credentials;
    use photo_sync::config::M365Settings;
    let (env, options) = sb.endpoints().client_env("secret").unwrap();
    let settings = M365Settings::from_env(&env).unwrap();
    let creds: Arc<dyn photo_sync::auth::TokenSource> =
        Arc::new(Credentials::from_settings(&settings, options).unwrap());
    let graph = GraphClient::standalone(
        reqwest::Client::new(),
        &settings.graph_url,
        &settings.graph_resource,
        Arc::clone(&creds),
        policy,
        16,
    );
    (graph, creds)
}
