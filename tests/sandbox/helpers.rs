//! Start a sandbox and talk to it.

use photo_sync::sandbox::{Sandbox, SandboxConfig};
use serde_json::Value;

/// A plain HTTP client (no proxy from the environment).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A client that trusts the sandbox's login certificate and nothing else.
pub fn tls_client(sb: &Sandbox) -> reqwest::Client {
    let cert = reqwest::Certificate::from_pem(sb.endpoints().ca_pem.as_bytes()).unwrap();
    reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([cert])
        .build()
        .unwrap()
}

/// A sandbox with `users` users and the default config otherwise.
pub async fn start_with(users: usize, tweak: impl FnOnce(&mut SandboxConfig)) -> Sandbox {
    let mut cfg = SandboxConfig {
        users,
        allow_http_notification_url: true,
        ..SandboxConfig::default()
    };
    tweak(&mut cfg);
    Sandbox::start(cfg).await.unwrap()
}

/// A Graph token from the managed-identity endpoint (system-assigned).
pub async fn graph_token(sb: &Sandbox) -> String {
    let e = sb.endpoints();
    let v: Value = client()
        .get(&e.identity_endpoint)
        .query(&[
            ("resource", "https://graph.microsoft.com"),
            ("api-version", "2019-08-01"),
        ])
        .header("X-IDENTITY-HEADER", &e.identity_header)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

/// GET `path` (after /v1.0) with the token; (status, headers, JSON or Null).
pub async fn get(
    sb: &Sandbox,
    token: &str,
    path: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let url = if path.starts_with("http") {
        path.to_string()
    } else {
        format!("{}/v1.0{path}", sb.endpoints().graph_url)
    };
    let r = client().get(url).bearer_auth(token).send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.bytes().await.unwrap();
    (
        status,
        headers,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}
