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
    mi_token(sb, "https://graph.microsoft.com").await
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

/// A Graph or SharePoint token from the managed-identity endpoint for `resource`.
pub async fn mi_token(sb: &Sandbox, resource: &str) -> String {
    let e = sb.endpoints();
    let v: Value = client()
        .get(&e.identity_endpoint)
        .query(&[("resource", resource), ("api-version", "2019-08-01")])
        .header("X-IDENTITY-HEADER", &e.identity_header)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

/// One request a [`Receiver`] got.
#[derive(Debug, Clone)]
pub struct Hit {
    pub path: String,
    pub query: Option<String>,
    pub content_type: String,
    pub body: String,
}

/// How a [`Receiver`] answers.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Echo the decoded validation token (text/plain); 202 for notifications.
    Echo,
    /// Echo the token, but as application/json.
    EchoJson,
    /// Answer the handshake with the wrong body.
    WrongToken,
    /// Answer everything with this status.
    Status(u16),
    /// Sleep this long, then behave as `Echo`.
    Sleep(std::time::Duration),
}

/// A tiny webhook receiver on loopback that records every request.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub hits: std::sync::Arc<std::sync::Mutex<Vec<Hit>>>,
    pub mode: std::sync::Arc<std::sync::Mutex<Mode>>,
    /// Statuses for the next notifications (front first); 202 once empty.
    pub statuses: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<u16>>>,
}

impl Receiver {
    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
}

pub async fn receiver() -> Receiver {
    use axum::response::IntoResponse;
    let rx = Receiver {
        url: String::new(),
        hits: Default::default(),
        mode: std::sync::Arc::new(std::sync::Mutex::new(Mode::Echo)),
        statuses: Default::default(),
    };
    let state = rx.clone();
    let handler = move |req: axum::extract::Request| {
        let state = state.clone();
        async move {
            let path = req.uri().path().to_string();
            let query = req.uri().query().map(str::to_string);
            let content_type = req
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let body = axum::body::to_bytes(req.into_body(), 1 << 20)
                .await
                .unwrap_or_default();
            let body = String::from_utf8_lossy(&body).into_owned();
            state.hits.lock().unwrap().push(Hit {
                path,
                query: query.clone(),
                content_type,
                body,
            });
            let mode = state.mode.lock().unwrap().clone();
            if let Mode::Sleep(d) = mode {
                tokio::time::sleep(d).await;
            }
            let token = query.as_deref().and_then(|q| {
                reqwest::Url::parse(&format!("http://x/?{q}"))
                    .ok()?
                    .query_pairs()
                    .find(|(k, _)| k == "validationToken")
                    .map(|(_, v)| v.into_owned())
            });
            let status = |s: u16| axum::http::StatusCode::from_u16(s).unwrap();
            match (mode, token) {
                (Mode::Status(s), _) => status(s).into_response(),
                (Mode::WrongToken, Some(_)) => "not the token".into_response(),
                (Mode::EchoJson, Some(t)) => {
                    ([("content-type", "application/json")], t).into_response()
                }
                (_, Some(t)) => ([("content-type", "text/plain")], t).into_response(),
                (_, None) => {
                    let next = state.statuses.lock().unwrap().pop_front().unwrap_or(202);
                    status(next).into_response()
                }
            }
        }
    };
    let app = axum::Router::new().fallback(handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Receiver { url, ..rx }
}
