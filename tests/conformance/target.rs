//! What the rules run against. By default a `photo-sync sandbox` process started here
//! with the rule's options (so the command itself, its flags and its first output line
//! are part of what is checked). With `CONFORMANCE_GRAPH_URL` set, a real tenant:
//!
//! | variable | meaning |
//! |---|---|
//! | `CONFORMANCE_GRAPH_URL` | e.g. `https://graph.microsoft.com` (the rules add `/v1.0`) |
//! | `CONFORMANCE_TOKEN` | a Graph access token (e.g. `az account get-access-token --resource-type ms-graph --query accessToken -o tsv`) |
//! | `CONFORMANCE_USER_WITH_PHOTO` | UPN of a test user who has a photo |
//! | `CONFORMANCE_USER_WITHOUT_PHOTO` | UPN of a test user without one (optional) |
//! | `CONFORMANCE_GUEST` | UPN (`…#EXT#@…`) of a guest (optional) |
//! | `CONFORMANCE_WRITE=1` | allow rules that write (photo PUTs on the two test users); off by default |
//!
//! Rules that need what only the sandbox has (its control plane, its knobs) or a write
//! that was not allowed say so on stderr and check nothing else against a tenant; run
//! against the sandbox (CI does), every rule runs.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// An answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON (Null when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Assert Graph's error shape with this status and return `error.code`.
    pub fn graph_error(&self, status: u16) -> String {
        let body = self.json();
        assert_eq!(
            self.status,
            status,
            "status; body {}",
            String::from_utf8_lossy(&self.body)
        );
        let err = &body["error"];
        assert!(
            err["code"].as_str().is_some_and(|c| !c.is_empty()),
            "error.code in {body}"
        );
        assert!(err["message"].is_string(), "error.message in {body}");
        assert!(
            err["innerError"]["request-id"].is_string() && err["innerError"]["date"].is_string(),
            "error.innerError with request-id and date in {body}"
        );
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "JSON content type"
        );
        err["code"].as_str().unwrap_or_default().to_owned()
    }
}

/// A service to check, and how to reach it.
pub struct Target {
    /// Graph root without `/v1.0`.
    pub graph: String,
    /// A Graph token.
    pub token: String,
    /// The first output line of `photo-sync sandbox` (Null against a tenant).
    pub endpoints: Value,
    /// Writes allowed.
    pub write: bool,
    pub http: reqwest::Client,
    child: Option<Child>,
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// An HTTP client that ignores proxy settings and never waits forever.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client")
}

impl Target {
    /// A real tenant when `CONFORMANCE_GRAPH_URL` is set, else a sandbox with `args`.
    pub async fn new(args: &[&str]) -> Target {
        match std::env::var("CONFORMANCE_GRAPH_URL") {
            Ok(graph) if !graph.is_empty() => Target {
                graph: graph.trim_end_matches('/').to_owned(),
                token: std::env::var("CONFORMANCE_TOKEN")
                    .expect("CONFORMANCE_TOKEN: a Graph access token for the tenant"),
                endpoints: Value::Null,
                write: std::env::var("CONFORMANCE_WRITE").is_ok_and(|v| v == "1"),
                http: client(),
                child: None,
            },
            _ => Self::sandbox(args).await,
        }
    }

    /// Always a sandbox process (`photo-sync sandbox --port 0 ARGS`).
    pub async fn sandbox(args: &[&str]) -> Target {
        let mut child = Command::new(env!("CARGO_BIN_EXE_photo-sync"))
            .args(["sandbox", "--port", "0"])
            .args(if args.contains(&"--users") {
                &[][..]
            } else {
                &["--users", "60"][..]
            })
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting photo-sync sandbox");
        let mut line = String::new();
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        out.read_line(&mut line).expect("first line");
        // The rest (the guide for people) is read and dropped.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let endpoints: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("first line is one JSON object: {e}: {line:?}"));
        let mut t = Target {
            graph: endpoints["graph_url"]
                .as_str()
                .expect("graph_url")
                .to_owned(),
            token: String::new(),
            endpoints,
            write: true,
            http: client(),
            child: Some(child),
        };
        t.token = t.identity_token("https://graph.microsoft.com").await;
        t
    }

    /// Is this the sandbox (control plane and knobs available)?
    pub fn is_sandbox(&self) -> bool {
        !self.endpoints.is_null()
    }

    /// Say why a rule checks no more here; true when it must stop.
    pub fn stop_unless(&self, needed: bool, why: &str) -> bool {
        if !needed {
            eprintln!("conformance: not checked against this tenant: {why}");
        }
        !needed
    }

    /// An endpoint from the first line.
    pub fn endpoint(&self, key: &str) -> String {
        self.endpoints[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} in the endpoints line"))
            .to_owned()
    }

    /// A token from the App Service managed-identity endpoint (m365-facts B§3.1).
    pub async fn identity_token(&self, resource: &str) -> String {
        let a = self
            .send(
                self.http
                    .get(self.endpoint("identity_endpoint"))
                    .header("X-IDENTITY-HEADER", self.endpoint("identity_header"))
                    .query(&[("api-version", "2019-08-01"), ("resource", resource)]),
            )
            .await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        a.json()["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// A Graph URL: absolute links as given, paths under `/v1.0`.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}/v1.0{path}", self.graph)
        }
    }

    /// Send and read the whole answer.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let r = req
            .send()
            .await
            .expect("an answer, not a dropped connection");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.bytes().await.expect("a whole body").to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// GET a Graph path with the token.
    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.http.get(self.url(path)).bearer_auth(&self.token))
            .await
    }

    /// POST JSON to a Graph path with the token.
    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(
            self.http
                .post(self.url(path))
                .bearer_auth(&self.token)
                .json(body),
        )
        .await
    }

    /// POST a raw body labelled as JSON (whether or not it is) to a Graph path.
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Answer {
        self.send(
            self.http
                .post(self.url(path))
                .bearer_auth(&self.token)
                .header("content-type", "application/json")
                .body(body),
        )
        .await
    }

    /// A control-plane call (sandbox only).
    pub async fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.endpoint("control_url")));
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.send(req).await
    }

    /// The sandbox's users with `hasPhoto`, `hasMailbox` (control plane).
    pub async fn sandbox_users(&self) -> Vec<Value> {
        let a = self.control(reqwest::Method::GET, "/users", None).await;
        assert_eq!(a.status, 200);
        a.json()["value"].as_array().cloned().unwrap_or_default()
    }

    /// A user with a photo: the configured one, or the sandbox's first.
    pub async fn user_with_photo(&self) -> String {
        if !self.is_sandbox() {
            return std::env::var("CONFORMANCE_USER_WITH_PHOTO")
                .expect("CONFORMANCE_USER_WITH_PHOTO: a test user with a photo");
        }
        self.sandbox_user(|u| u["hasPhoto"] == true && u["userType"] == "Member")
            .await
            .expect("a seeded user with a photo")
    }

    /// A user without a photo, if one is known.
    pub async fn user_without_photo(&self) -> Option<String> {
        if !self.is_sandbox() {
            return std::env::var("CONFORMANCE_USER_WITHOUT_PHOTO").ok();
        }
        self.sandbox_user(|u| u["hasPhoto"] == false && u["hasMailbox"] == true)
            .await
    }

    /// A guest's UPN (`#EXT#`), if one is known.
    pub async fn guest(&self) -> Option<String> {
        if !self.is_sandbox() {
            return std::env::var("CONFORMANCE_GUEST").ok();
        }
        self.sandbox_user(|u| u["userType"] == "Guest").await
    }

    async fn sandbox_user(&self, pred: impl Fn(&Value) -> bool) -> Option<String> {
        self.sandbox_users()
            .await
            .into_iter()
            .find(|u| pred(u))
            .and_then(|u| u["userPrincipalName"].as_str().map(str::to_owned))
    }
}

/// Percent-encode a path segment (`#` → `%23`, m365-facts A§7).
pub fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Percent-encode a query value.
pub fn q(s: &str) -> String {
    seg(s)
}
