//! The caller every Microsoft 365 request goes through, Graph and SharePoint alike: a
//! token for the resource, a timeout per attempt, a global concurrency limit, at most
//! four photo requests per mailbox (m365-facts B§2.3), and the one retry policy
//! ([`retry`]). Clients build a [`Call`]; this module sends it.

mod error;
mod retry;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Method;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

pub(crate) use error::excerpt;
pub use error::M365Error;
pub use retry::{parse_retry_after, Decision, Failure, Jitter, RetryPolicy};

use crate::auth::TokenSource;

/// Counters for reports and benchmarks.
#[derive(Debug, Default)]
pub struct Counters {
    /// HTTP requests sent (each attempt; a `$batch` envelope counts one).
    pub requests: AtomicU64,
    /// Attempts that were retried (batch items included).
    pub retries: AtomicU64,
    /// 429 answers seen (top level and inside batches).
    pub throttled: AtomicU64,
}

/// One request to make.
#[derive(Debug, Clone)]
pub struct Call {
    /// `Graph` or `SharePoint`, for messages.
    pub service: &'static str,
    /// Method.
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    /// Body and its content type.
    pub body: Option<(Bytes, &'static str)>,
    /// `Accept` header, when the service needs one (SharePoint's `odata=nometadata`).
    pub accept: Option<&'static str>,
    /// Photo calls name the mailbox (user id) they count against.
    pub mailbox: Option<String>,
    /// Safe to resend after a dropped connection (GET, PUT, DELETE, PATCH of a value).
    pub idempotent: bool,
    /// What the call is, for errors and logs.
    pub what: &'static str,
}

/// A 2xx answer.
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON of type `T`, or a [`M365Error::Decode`] naming `what`.
    pub fn json<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T, M365Error> {
        serde_json::from_slice(&self.body).map_err(|e| M365Error::Decode {
            what: what.to_owned(),
            detail: format!(
                "{e} (body starts {:?})",
                excerpt(
                    &String::from_utf8_lossy(&self.body[..self.body.len().min(200)]),
                    80
                )
            ),
        })
    }
}

/// Sends [`Call`]s with tokens, limits and retries. Shared by the Graph and SharePoint
/// clients of one process.
pub struct RestClient {
    http: reqwest::Client,
    tokens: Arc<dyn TokenSource>,
    policy: RetryPolicy,
    global: Arc<Semaphore>,
    per_mailbox: usize,
    mailboxes: Mutex<HashMap<String, Arc<Semaphore>>>,
    jitter: Mutex<Jitter>,
    /// After a 429 on a tenant-wide limit nobody sends until then: Graph keeps counting
    /// requests made while throttled (m365-facts B§2.3), so the herd waits together.
    paused_until: Mutex<Option<Instant>>,
    /// Request counters.
    pub counters: Counters,
}

impl fmt::Debug for RestClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestClient")
            .field("policy", &self.policy)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

impl RestClient {
    /// A caller with its HTTP client, token source, policy and limits.
    pub fn new(
        http: reqwest::Client,
        tokens: Arc<dyn TokenSource>,
        policy: RetryPolicy,
        concurrency: usize,
        per_mailbox: usize,
    ) -> Self {
        Self {
            http,
            tokens,
            policy,
            global: Arc::new(Semaphore::new(concurrency.max(1))),
            per_mailbox: per_mailbox.max(1),
            mailboxes: Mutex::new(HashMap::new()),
            jitter: Mutex::new(Jitter::new()),
            paused_until: Mutex::new(None),
            counters: Counters::default(),
        }
    }

    /// Hold every new request for `wait` (extends, never shortens, a pause in force).
    pub fn pause_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut p = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        if p.is_none_or(|cur| cur < until) {
            *p = Some(until);
        }
    }

    /// Wait out any pause in force (re-checking: it may be extended meanwhile).
    async fn wait_for_pause(&self) {
        loop {
            let until = *self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t).await,
                _ => return,
            }
        }
    }

    /// The default HTTP client: our user agent, a connect timeout, a pool sized for
    /// `concurrency`.
    pub fn default_http(concurrency: usize) -> Result<reqwest::Client, M365Error> {
        reqwest::Client::builder()
            .user_agent(concat!("photo-sync/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(concurrency.max(4))
            .build()
            .map_err(|e| M365Error::Refused(format!("HTTP client: {e}")))
    }

    /// The retry policy in force.
    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// A jitter sample for a retry decision.
    pub fn jitter(&self) -> f64 {
        self.jitter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .sample()
    }

    async fn permits(
        &self,
        mailbox: Option<&str>,
    ) -> Result<(OwnedSemaphorePermit, Option<OwnedSemaphorePermit>), M365Error> {
        let closed = |_| M365Error::Refused("the client is shutting down".into());
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

    /// Send `call` with a token for `resource`, retrying per the policy; a 2xx [`Reply`]
    /// or the final error.
    pub async fn execute(&self, call: &Call, resource: &str) -> Result<Reply, M365Error> {
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let (failure, error) = match self.attempt(call, resource).await {
                Ok(reply) => return Ok(reply),
                Err(Attempt::Answered { failure, error }) => (failure, error),
                Err(Attempt::NoAnswer { sent, error }) if sent && !call.idempotent => {
                    return Err(error)
                }
                Err(Attempt::NoAnswer { error, .. }) => (Failure::Transport, error),
                Err(Attempt::Fatal(error)) => return Err(error),
            };
            match self
                .policy
                .decide(attempt, started.elapsed(), failure, self.jitter())
            {
                Decision::GiveUp => return Err(with_attempts(error, attempt)),
                Decision::RetryAfter(wait) => {
                    self.counters.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(what = call.what, attempt, ?wait, %error, "retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    async fn attempt(&self, call: &Call, resource: &str) -> Result<Reply, Attempt> {
        self.wait_for_pause().await;
        let token = self.tokens.token(resource).await.map_err(|e| {
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
        let timeout = self.policy.attempt_timeout;
        let mut req = self
            .http
            .request(call.method.clone(), &call.url)
            .timeout(timeout)
            .header(reqwest::header::AUTHORIZATION, token.bearer());
        if let Some(accept) = call.accept {
            req = req.header(ACCEPT, accept);
        }
        if let Some((body, content_type)) = &call.body {
            req = req.header(CONTENT_TYPE, *content_type).body(body.clone());
        }
        self.counters.requests.fetch_add(1, Ordering::Relaxed);
        let resp = req
            .send()
            .await
            .map_err(|e| transport(call.service, e, timeout, false))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| transport(call.service, e, timeout, true))?;
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
        let request_id = ["request-id", "sprequestguid"]
            .iter()
            .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
            .map(str::to_owned);
        let failure = match status {
            429 => {
                self.counters.throttled.fetch_add(1, Ordering::Relaxed);
                // A mailbox's own limit (Outlook photo API) pauses only that call.
                if let (Some(wait), None) = (retry_after, &call.mailbox) {
                    self.pause_for(wait);
                }
                Failure::Throttled(retry_after)
            }
            502..=504 => Failure::Unavailable(retry_after),
            _ => Failure::Permanent,
        };
        Err(Attempt::Answered {
            failure,
            error: M365Error::from_body(call.service, status, &body, request_id, retry_after),
        })
    }
}

/// How one attempt failed.
enum Attempt {
    /// An error status.
    Answered { failure: Failure, error: M365Error },
    /// No (complete) answer; `sent` when the request may have reached the server.
    NoAnswer { sent: bool, error: M365Error },
    /// Not worth retrying at all.
    Fatal(M365Error),
}

fn transport(service: &'static str, e: reqwest::Error, timeout: Duration, sent: bool) -> Attempt {
    let error = if e.is_timeout() {
        M365Error::Timeout {
            service,
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
        M365Error::Transport {
            service,
            detail,
            attempts: 1,
        }
    };
    // A connect failure never reached the server; anything later might have.
    let sent = sent || !e.is_connect();
    Attempt::NoAnswer { sent, error }
}

fn with_attempts(e: M365Error, n: u32) -> M365Error {
    match e {
        M365Error::Timeout {
            service, timeout, ..
        } => M365Error::Timeout {
            service,
            timeout,
            attempts: n,
        },
        M365Error::Transport {
            service, detail, ..
        } => M365Error::Transport {
            service,
            detail,
            attempts: n,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests;
