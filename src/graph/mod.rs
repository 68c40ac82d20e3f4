//! The Microsoft Graph client: users, delta, photos, `$batch`, subscriptions. Every call
//! goes through [`GraphClient::execute`], which applies the one retry policy
//! ([`retry`]), a timeout per attempt, a global concurrency limit and at most four photo
//! requests per mailbox (m365-facts B§2.3).

mod batch;
mod delta;
mod error;
pub mod odata;
mod photo;
mod retry;
mod subscriptions;
mod users;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{HeaderMap, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Method;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

pub use batch::{BatchItem, BatchReply};
pub use delta::{DeltaPage, DeltaRound, Removed};
pub use error::GraphError;
pub use photo::{PhotoMeta, PhotoState};
pub use retry::{parse_retry_after, Decision, Failure, Jitter, RetryPolicy};
pub use subscriptions::{NewSubscription, Subscription};
pub use users::{User, UserKey, UserPage, USER_SELECT};

use crate::auth::TokenSource;
use crate::config::M365Settings;

/// Graph's API version path.
const VERSION: &str = "v1.0";

/// Counters for reports and benchmarks.
#[derive(Debug, Default)]
pub struct Counters {
    /// HTTP requests sent (each attempt, each `$batch` envelope counts one).
    pub requests: AtomicU64,
    /// Attempts that were retried.
    pub retries: AtomicU64,
    /// 429 answers seen (top level and inside batches).
    pub throttled: AtomicU64,
}

/// One call to make.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub method: Method,
    /// Relative to `{graph}/v1.0` (starting with `/`), or an absolute link Graph gave us.
    pub target: String,
    pub body: Option<(Bytes, &'static str)>,
    /// Photo calls name the mailbox (user id) they count against.
    pub mailbox: Option<String>,
    /// Safe to resend after a dropped connection (GET, PUT, DELETE, PATCH of a value).
    pub idempotent: bool,
    pub what: &'static str,
}

impl Call {
    pub fn get(target: impl Into<String>, what: &'static str) -> Self {
        Self {
            method: Method::GET,
            target: target.into(),
            body: None,
            mailbox: None,
            idempotent: true,
            what,
        }
    }
}

/// A 2xx answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, GraphError> {
        serde_json::from_slice(&self.body).map_err(|e| GraphError::Decode {
            what: what.to_owned(),
            detail: format!(
                "{e} (body starts {:?})",
                error::excerpt(
                    &String::from_utf8_lossy(&self.body[..self.body.len().min(200)]),
                    80
                )
            ),
        })
    }
}

/// The Graph client. Cheap to share behind an `Arc`.
pub struct GraphClient {
    http: reqwest::Client,
    root: String,
    base: String,
    resource: String,
    tokens: Arc<dyn TokenSource>,
    policy: RetryPolicy,
    global: Arc<Semaphore>,
    per_mailbox: usize,
    mailboxes: Mutex<HashMap<String, Arc<Semaphore>>>,
    jitter: Mutex<Jitter>,
    /// Request counters.
    pub counters: Counters,
}

impl fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphClient")
            .field("base", &self.base)
            .field("resource", &self.resource)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl GraphClient {
    /// A client for the settings' Graph endpoint and audience.
    pub fn new(settings: &M365Settings, tokens: Arc<dyn TokenSource>) -> Result<Self, GraphError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("photo-sync/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(settings.graph_concurrency.max(4))
            .build()
            .map_err(|e| GraphError::Refused(format!("HTTP client: {e}")))?;
        Ok(Self::with_http(
            http,
            &settings.graph_url,
            &settings.graph_resource,
            tokens,
            settings.retry,
            settings.graph_concurrency,
            settings.photo_concurrency_per_mailbox,
        ))
    }

    /// A client from parts (tests and the sandbox tools).
    pub fn with_http(
        http: reqwest::Client,
        graph_url: &str,
        resource: &str,
        tokens: Arc<dyn TokenSource>,
        policy: RetryPolicy,
        concurrency: usize,
        per_mailbox: usize,
    ) -> Self {
        let root = graph_url.trim_end_matches('/').to_owned();
        Self {
            http,
            base: format!("{root}/{VERSION}"),
            root,
            resource: resource.to_owned(),
            tokens,
            policy,
            global: Arc::new(Semaphore::new(concurrency.max(1))),
            per_mailbox: per_mailbox.max(1),
            mailboxes: Mutex::new(HashMap::new()),
            jitter: Mutex::new(Jitter::new()),
            counters: Counters::default(),
        }
    }

    /// The retry policy in force.
    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    fn url_for(&self, target: &str) -> Result<String, GraphError> {
        if target.starts_with('/') {
            return Ok(format!("{}{target}", self.base));
        }
        // Links Graph hands back (nextLink, deltaLink) must point at Graph itself: a token
        // is never sent to another host.
        if target.starts_with(&format!("{}/", self.root)) {
            return Ok(target.to_owned());
        }
        Err(GraphError::Refused(format!(
            "refusing to follow a link outside {}: {}",
            self.root,
            error::excerpt(target, 80)
        )))
    }

    async fn permits(
        &self,
        mailbox: Option<&str>,
    ) -> Result<(OwnedSemaphorePermit, Option<OwnedSemaphorePermit>), GraphError> {
        let closed = |_| GraphError::Refused("the client is shutting down".into());
        let global = Arc::clone(&self.global)
            .acquire_owned()
            .await
            .map_err(closed)?;
        let Some(m) = mailbox else {
            return Ok((global, None));
        };
        let sem = {
            let mut map = self.mailboxes.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() > 10_000 {
                // Forget idle mailboxes so the map stays small on a 300,000-user tenant.
                map.retain(|_, s| Arc::strong_count(s) > 1);
            }
            Arc::clone(
                map.entry(m.to_owned())
                    .or_insert_with(|| Arc::new(Semaphore::new(self.per_mailbox))),
            )
        };
        let local = sem.acquire_owned().await.map_err(closed)?;
        Ok((global, Some(local)))
    }

    /// Send `call`, retrying per the policy; a 2xx [`Reply`] or the final error.
    pub(crate) async fn execute(&self, call: &Call) -> Result<Reply, GraphError> {
        let url = self.url_for(&call.target)?;
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome = self.attempt(call, &url).await;
            let (failure, error) = match outcome {
                Ok(reply) => return Ok(reply),
                Err(Attempt::Answered { failure, error }) => (failure, error),
                Err(Attempt::NoAnswer { sent, error }) if sent && !call.idempotent => {
                    return Err(error)
                }
                Err(Attempt::NoAnswer { error, .. }) => (Failure::Transport, error),
                Err(Attempt::Fatal(error)) => return Err(error),
            };
            let jitter = self.jitter.lock().unwrap_or_else(|p| p.into_inner()).sample();
            match self
                .policy
                .decide(attempt, started.elapsed(), failure, jitter)
            {
                Decision::GiveUp => return Err(with_attempts(error, attempt)),
                Decision::RetryAfter(wait) => {
                    self.counters.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(what = call.what, attempt, ?wait, %error, "retrying Graph call");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn attempt(&self, call: &Call, url: &str) -> Result<Reply, Attempt> {
        let token = self.tokens.token(&self.resource).await.map_err(|e| {
            if e.is_retryable() {
                Attempt::NoAnswer {
                    sent: false,
                    error: e.into(),
                }
            } else {
                Attempt::Fatal(e.into())
            }
        })?;
        let _permits = self
            .permits(call.mailbox.as_deref())
            .await
            .map_err(Attempt::Fatal)?;
        let mut req = self
            .http
            .request(call.method.clone(), url)
            .timeout(self.policy.attempt_timeout)
            .header(reqwest::header::AUTHORIZATION, token.bearer());
        if let Some((body, content_type)) = &call.body {
            req = req.header(CONTENT_TYPE, *content_type).body(body.clone());
        }
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let timeout = self.policy.attempt_timeout;
        let resp = req.send().await.map_err(|e| transport(e, timeout, false))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| transport(e, timeout, true))?;
        if (200..300).contains(&status) {
            return Ok(Reply {
                status,
                headers,
                body,
            });
        }
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let request_id = headers
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let failure = match status {
            429 => {
                self.counters.throttled.fetch_add(1, Ordering::Relaxed);
                Failure::Throttled(retry_after)
            }
            502..=504 => Failure::Unavailable(retry_after),
            _ => Failure::Permanent,
        };
        Err(Attempt::Answered {
            failure,
            error: GraphError::from_body(status, &body, request_id, retry_after),
        })
    }
}

/// How one attempt failed.
enum Attempt {
    /// An error status.
    Answered { failure: Failure, error: GraphError },
    /// No (complete) answer; `sent` when the request may have reached the server.
    NoAnswer { sent: bool, error: GraphError },
    /// Not worth retrying at all.
    Fatal(GraphError),
}

fn transport(e: reqwest::Error, timeout: Duration, sent: bool) -> Attempt {
    let error = if e.is_timeout() {
        GraphError::Timeout {
            timeout,
            attempts: 1,
        }
    } else {
        let mut detail = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            detail = format!("{detail}: {s}");
            source = s.source();
        }
        GraphError::Transport {
            detail,
            attempts: 1,
        }
    };
    // A connect failure never reached the server; anything later might have.
    let sent = sent || !e.is_connect();
    Attempt::NoAnswer { sent, error }
}

fn with_attempts(e: GraphError, n: u32) -> GraphError {
    match e {
        GraphError::Timeout { timeout, .. } => GraphError::Timeout {
            timeout,
            attempts: n,
        },
        GraphError::Transport { detail, .. } => GraphError::Transport {
            detail,
            attempts: n,
        },
        other => other,
    }
}
