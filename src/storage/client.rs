//! The one caller for the three storage services: builds the URL, adds `x-ms-date` and
//! `x-ms-version`, authorises (Shared Key or bearer), bounds each attempt with a
//! timeout, and retries 408/429/5xx and dropped connections with the shared
//! [`RetryPolicy`] (honouring `Retry-After`). Error bodies become [`StorageError`]s.

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use reqwest::Method;

use super::account::{Service, StorageAccount, StorageAuth, STORAGE_RESOURCE};
use super::sign::{authorization, string_to_sign, ToSign};
use super::StorageError;
use crate::rest::{parse_retry_after, Decision, Failure, Jitter, RetryPolicy};

/// The REST version photo-sync speaks (supported by Azurite 3.35 and the service).
pub const API_VERSION: &str = "2021-12-02";

/// One request, before signing.
#[derive(Debug, Clone)]
pub struct StorageRequest {
    /// Which service.
    pub service: Service,
    /// The verb (`MERGE` for Table merges).
    pub method: Method,
    /// The path after the endpoint, starting with `/`, already percent-encoded.
    pub path: String,
    /// Query parameters, not encoded.
    pub query: Vec<(String, String)>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl StorageRequest {
    /// A request without body or extra headers.
    pub fn new(service: Service, method: Method, path: impl Into<String>) -> Self {
        Self {
            service,
            method,
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a query parameter.
    pub fn query(mut self, key: &str, value: impl Into<String>) -> Self {
        self.query.push((key.to_string(), value.into()));
        self
    }

    /// Adds a header.
    pub fn header(mut self, key: &str, value: impl Into<String>) -> Self {
        self.headers.push((key.to_string(), value.into()));
        self
    }

    /// Sets the body and its content type.
    pub fn body(mut self, content_type: &str, body: impl Into<Bytes>) -> Self {
        self.headers
            .push(("Content-Type".into(), content_type.into()));
        self.body = body.into();
        self
    }
}

/// A 2xx answer.
#[derive(Debug, Clone)]
pub struct StorageResponse {
    /// The status.
    pub status: u16,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl StorageResponse {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The signed, retrying caller for one account.
#[derive(Clone)]
pub struct StorageClient {
    http: reqwest::Client,
    account: Arc<StorageAccount>,
    policy: RetryPolicy,
    jitter: Arc<Mutex<Jitter>>,
}

impl std::fmt::Debug for StorageClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageClient")
            .field("account", &self.account.name)
            .finish_non_exhaustive()
    }
}

impl StorageClient {
    /// A caller for `account` with the given retry policy.
    pub fn new(account: StorageAccount, policy: RetryPolicy) -> Result<Self, StorageError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("photo-sync/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| StorageError::Config(format!("HTTP client: {e}")))?;
        Ok(Self::with_http(account, policy, http))
    }

    /// A caller over a given HTTP client (one that trusts a test CA, say).
    pub fn with_http(account: StorageAccount, policy: RetryPolicy, http: reqwest::Client) -> Self {
        Self {
            http,
            account: Arc::new(account),
            policy,
            jitter: Arc::new(Mutex::new(Jitter::new())),
        }
    }

    /// The account.
    pub fn account(&self) -> &StorageAccount {
        &self.account
    }

    /// Sends `req`; an error `tolerated` accepts (409 for "create", 404 for "delete")
    /// comes back as `None` instead.
    pub async fn send_unless(
        &self,
        req: &StorageRequest,
        tolerated: fn(&StorageError) -> bool,
    ) -> Result<Option<StorageResponse>, StorageError> {
        match self.send(req).await {
            Ok(resp) => Ok(Some(resp)),
            Err(e) if tolerated(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sends `req`, retrying what may heal. Non-2xx answers are errors.
    pub async fn send(&self, req: &StorageRequest) -> Result<StorageResponse, StorageError> {
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let (err, failure) = match self.attempt(req).await {
                Ok(resp) => return Ok(resp),
                Err(pair) => pair,
            };
            let jitter = self.jitter.lock().map(|mut j| j.sample()).unwrap_or(0.5);
            match self
                .policy
                .decide(attempt, started.elapsed(), failure, jitter)
            {
                Decision::RetryAfter(wait) => {
                    tracing::debug!(service = ?req.service, attempt, ?wait, error = %err, "storage call retried");
                    tokio::time::sleep(wait).await;
                }
                Decision::GiveUp => return Err(err),
            }
        }
    }

    async fn attempt(
        &self,
        req: &StorageRequest,
    ) -> Result<StorageResponse, (StorageError, Failure)> {
        let service_name = service_label(req.service);
        let base = self.account.endpoint(req.service);
        let mut url = reqwest::Url::parse(&format!("{base}{}", req.path)).map_err(|e| {
            (
                StorageError::Config(format!("bad storage URL {base}{}: {e}", req.path)),
                Failure::Permanent,
            )
        })?;
        if !req.query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(req.query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        let mut headers = req.headers.clone();
        headers.push((
            "x-ms-date".into(),
            httpdate::fmt_http_date(SystemTime::now()),
        ));
        headers.push(("x-ms-version".into(), API_VERSION.into()));
        let auth = match &self.account.auth {
            StorageAuth::SharedKey(key) => {
                let query: Vec<(String, String)> = url
                    .query_pairs()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                let to_sign = string_to_sign(
                    req.service,
                    &self.account.name,
                    &ToSign {
                        method: req.method.as_str(),
                        path: url.path(),
                        query: &query,
                        headers: &headers,
                        content_length: req.body.len(),
                    },
                );
                authorization(&self.account.name, key.expose(), &to_sign).ok_or_else(|| {
                    (
                        StorageError::Config("the account key is not base64".into()),
                        Failure::Permanent,
                    )
                })?
            }
            StorageAuth::Token(tokens) => tokens
                .token(STORAGE_RESOURCE)
                .await
                .map_err(|e| (StorageError::Auth(e.to_string()), Failure::Transport))?
                .bearer(),
        };
        let mut builder = self
            .http
            .request(req.method.clone(), url)
            .timeout(self.policy.attempt_timeout)
            .header("Authorization", auth)
            .body(req.body.clone());
        for (k, v) in &headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let resp = builder.send().await.map_err(|e| {
            (
                StorageError::Unreachable {
                    service: service_name,
                    detail: describe(&e),
                },
                Failure::Transport,
            )
        })?;
        let status = resp.status().as_u16();
        let resp_headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(|e| {
            (
                StorageError::Unreachable {
                    service: service_name,
                    detail: describe(&e),
                },
                Failure::Transport,
            )
        })?;
        if (200..300).contains(&status) {
            return Ok(StorageResponse {
                status,
                headers: resp_headers,
                body,
            });
        }
        let retry_after = resp_headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let failure = match status {
            429 => Failure::Throttled(retry_after),
            408 | 500 | 502 | 503 | 504 => Failure::Unavailable(retry_after),
            _ => Failure::Permanent,
        };
        Err((
            service_error(req.service, status, &resp_headers, &body),
            failure,
        ))
    }
}

fn service_label(service: Service) -> &'static str {
    match service {
        Service::Blob => "blob",
        Service::Queue => "queue",
        Service::Table => "table",
    }
}

/// Reads the error code and sentence from the header, the XML (Blob, Queue) or the
/// OData JSON (Table) body.
fn service_error(
    service: Service,
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> StorageError {
    let text = String::from_utf8_lossy(body);
    let json: Option<serde_json::Value> = serde_json::from_str(&text).ok();
    let odata = json.as_ref().and_then(|j| j.get("odata.error"));
    let code = headers
        .get("x-ms-error-code")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| odata.and_then(|o| o["code"].as_str()).map(str::to_string))
        .or_else(|| super::xml_text(&text, "Code"))
        .unwrap_or_default();
    let message = odata
        .and_then(|o| o["message"]["value"].as_str().or(o["message"].as_str()))
        .map(str::to_string)
        .or_else(|| super::xml_text(&text, "Message"))
        .unwrap_or_else(|| text.chars().take(200).collect())
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    StorageError::Service {
        service: service_label(service),
        status,
        code,
        message,
    }
}

/// What went wrong on the wire, without the URL's query (it may hold a SAS).
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "request failed"
    };
    let mut detail = what.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = format!("{detail}: {s}");
        source = s.source();
    }
    detail
}
