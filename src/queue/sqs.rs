//! The SQS job sink and poison queue for the Lambda host: `SendMessageBatch` onto the
//! job queue (≤ 10 entries a call, ids unique per call, failed entries retried a bounded
//! number of times) and `SendMessage` onto a dead-letter queue with the reason. Speaks
//! SQS's AWS JSON 1.0 protocol (`POST /`, `X-Amz-Target: AmazonSQS.<Action>`) signed
//! with SigV4 ([`super::sigv4`]); every request has a timeout, and transport failures,
//! 5xx and throttling are retried with exponential backoff.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use super::sigv4::{self, AwsCredentials, Scope, SigningInput};
use super::{Job, JobSink, Poison, QueueError};
use crate::config::{ConfigError, Env, Secret};

/// Most entries one `SendMessageBatch` call takes (an SQS limit).
pub const MAX_BATCH: usize = 10;
const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// Why an SQS call failed.
#[derive(Debug, thiserror::Error)]
pub enum SqsError {
    /// The request did not get an answer (connect, timeout, reset).
    #[error("SQS unreachable: {0}")]
    Transport(String),
    /// SQS answered with an error (`code` is the `__type` without its namespace).
    #[error("SQS answered {status} {code}: {message}")]
    Service {
        /// HTTP status.
        status: u16,
        /// `QueueDoesNotExist`, `AccessDenied`, `ThrottlingException`, …
        code: String,
        /// SQS's text.
        message: String,
    },
    /// Some batch entries were still refused after every attempt (`id: code` each).
    #[error("SQS refused {} of the batch's messages: {}", .0.len(), .0.join(", "))]
    Refused(Vec<String>),
    /// SQS's answer was not what the protocol says.
    #[error("unexpected SQS answer: {0}")]
    Protocol(String),
}

impl SqsError {
    /// True when the same call may succeed later (transport, 5xx, throttling).
    pub fn is_retryable(&self) -> bool {
        match self {
            SqsError::Transport(_) => true,
            SqsError::Service { status, code, .. } => {
                *status >= 500
                    || matches!(
                        code.as_str(),
                        "ThrottlingException"
                            | "RequestThrottled"
                            | "KmsThrottled"
                            | "ServiceUnavailable"
                            | "InternalError"
                            | "InternalFailure"
                    )
            }
            SqsError::Refused(_) | SqsError::Protocol(_) => false,
        }
    }
}

impl From<SqsError> for QueueError {
    fn from(e: SqsError) -> Self {
        // Every SQS failure is "try later" to the producers: a notification answered
        // 503 is retried by Graph, an SQS record listed as failed is redelivered.
        QueueError::Unavailable(e.to_string())
    }
}

/// Where the Lambda host's queues are and how to reach them.
#[derive(Debug, Clone)]
pub struct SqsSettings {
    /// The job queue (`PHOTOSYNC_SQS_QUEUE_URL`).
    pub queue_url: String,
    /// The dead-letter queue for messages that can never succeed
    /// (`PHOTOSYNC_SQS_POISON_URL`); see [`SqsQueue`]'s `Poison` for what happens without.
    pub poison_url: Option<String>,
    /// The SQS endpoint requests go to (`PHOTOSYNC_SQS_ENDPOINT`, default
    /// `https://sqs.{region}.amazonaws.com`).
    pub endpoint: String,
    /// `AWS_REGION` (or `AWS_DEFAULT_REGION`).
    pub region: String,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.
    pub credentials: AwsCredentials,
    /// Timeout of each request.
    pub timeout: Duration,
    /// Attempts per call (and rounds for refused batch entries), the first included.
    pub attempts: u32,
    /// First retry delay, doubled per attempt.
    pub backoff: Duration,
}

impl SqsSettings {
    /// Reads the settings; `None` when `PHOTOSYNC_SQS_QUEUE_URL` is not set.
    pub fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let Some(queue_url) = env.get("PHOTOSYNC_SQS_QUEUE_URL") else {
            return Ok(None);
        };
        let url = |key: &'static str, v: &str| -> Result<String, ConfigError> {
            match reqwest::Url::parse(v) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                    Ok(v.trim_end_matches('/').to_string())
                }
                _ => Err(ConfigError::Invalid {
                    key,
                    value: v.to_string(),
                    why: "an http(s) URL".into(),
                }),
            }
        };
        let queue_url = url("PHOTOSYNC_SQS_QUEUE_URL", queue_url)?;
        let poison_url = env
            .get("PHOTOSYNC_SQS_POISON_URL")
            .map(|v| url("PHOTOSYNC_SQS_POISON_URL", v))
            .transpose()?;
        let region = env
            .get("AWS_REGION")
            .or_else(|| env.get("AWS_DEFAULT_REGION"))
            .ok_or(ConfigError::Missing {
                key: "AWS_REGION",
                why: "the SQS queue's region (Lambda sets it)",
            })?
            .to_string();
        let endpoint = match env.get("PHOTOSYNC_SQS_ENDPOINT") {
            Some(v) => url("PHOTOSYNC_SQS_ENDPOINT", v)?,
            None => format!("https://sqs.{region}.amazonaws.com"),
        };
        let access_key_id = env
            .get("AWS_ACCESS_KEY_ID")
            .ok_or(ConfigError::Missing {
                key: "AWS_ACCESS_KEY_ID",
                why: "SQS requests are signed (Lambda sets it from the execution role)",
            })?
            .to_string();
        let secret = env
            .get("AWS_SECRET_ACCESS_KEY")
            .ok_or(ConfigError::Missing {
                key: "AWS_SECRET_ACCESS_KEY",
                why: "SQS requests are signed (Lambda sets it from the execution role)",
            })?;
        Ok(Some(Self {
            queue_url,
            poison_url,
            endpoint,
            region,
            credentials: AwsCredentials {
                access_key_id,
                secret_access_key: Secret::new(secret),
                session_token: env.get("AWS_SESSION_TOKEN").map(Secret::new),
            },
            timeout: Duration::from_secs(10),
            attempts: 4,
            backoff: Duration::from_millis(200),
        }))
    }
}

/// The SQS queue: a [`JobSink`] for the job queue and a [`Poison`] for the dead-letter
/// queue.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    settings: SqsSettings,
    http: reqwest::Client,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchAnswer {
    #[serde(default)]
    failed: Vec<FailedEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FailedEntry {
    id: String,
    #[serde(default)]
    sender_fault: bool,
    #[serde(default)]
    code: String,
}

impl SqsQueue {
    /// A client for `settings`.
    pub fn new(settings: SqsSettings) -> Result<Self, SqsError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("photo-sync/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(settings.timeout)
            .timeout(settings.timeout)
            .build()
            .map_err(|e| SqsError::Transport(format!("HTTP client: {e}")))?;
        Ok(Self { settings, http })
    }

    /// The settings in force.
    pub fn settings(&self) -> &SqsSettings {
        &self.settings
    }

    /// One signed JSON-protocol call, once.
    async fn call_once(&self, action: &str, body: &[u8]) -> Result<Value, SqsError> {
        let s = &self.settings;
        let url = reqwest::Url::parse(&format!("{}/", s.endpoint))
            .map_err(|e| SqsError::Protocol(format!("endpoint {}: {e}", s.endpoint)))?;
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => return Err(SqsError::Protocol("endpoint has no host".into())),
        };
        let now = time::OffsetDateTime::now_utc();
        let amz_date = sigv4::amz_date(now);
        let target = format!("AmazonSQS.{action}");
        let mut headers: Vec<(&str, &str)> = vec![
            ("content-type", CONTENT_TYPE),
            ("host", &host),
            ("x-amz-date", &amz_date),
            ("x-amz-target", &target),
        ];
        let token = s.credentials.session_token.as_ref().map(Secret::expose);
        if let Some(t) = token {
            headers.push(("x-amz-security-token", t));
        }
        let scope = Scope {
            date: amz_date[..8].to_string(),
            region: s.region.clone(),
            service: "sqs".into(),
        };
        let input = SigningInput {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            payload: body,
        };
        let auth = sigv4::authorization(&s.credentials, &scope, &amz_date, &input);
        let mut req = self
            .http
            .post(url)
            .header("content-type", CONTENT_TYPE)
            .header("x-amz-date", &amz_date)
            .header("x-amz-target", &target)
            .header("authorization", auth)
            .body(body.to_vec());
        if let Some(t) = token {
            req = req.header("x-amz-security-token", t);
        }
        // reqwest's Display of an error carries the URL, never our headers.
        let resp = req
            .send()
            .await
            .map_err(|e| SqsError::Transport(e.to_string()))?;
        let status = resp.status().as_u16();
        let text = resp
            .text()
            .await
            .map_err(|e| SqsError::Transport(e.to_string()))?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            return Ok(value);
        }
        let code = value
            .get("__type")
            .and_then(Value::as_str)
            .map(|t| t.rsplit('#').next().unwrap_or(t).to_string())
            .unwrap_or_else(|| "Unknown".into());
        let message = value
            .get("message")
            .or_else(|| value.get("Message"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| text.chars().take(200).collect());
        Err(SqsError::Service {
            status,
            code,
            message,
        })
    }

    /// A call with retries of transport failures, 5xx and throttling.
    async fn call(&self, action: &str, body: &Value) -> Result<Value, SqsError> {
        let body = body.to_string().into_bytes();
        let mut attempt = 1;
        loop {
            match self.call_once(action, &body).await {
                Err(e) if e.is_retryable() && attempt < self.settings.attempts => {
                    let delay = self.delay(attempt);
                    tracing::info!(error = %e, ?delay, action, "SQS call will be retried");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn delay(&self, attempt: u32) -> Duration {
        self.settings
            .backoff
            .saturating_mul(1 << attempt.saturating_sub(1).min(10))
    }

    /// Sends `bodies` in batches of ten; entries SQS refuses through no fault of ours
    /// are sent again, up to `attempts` rounds in all.
    pub async fn send_bodies(&self, bodies: &[String]) -> Result<(), SqsError> {
        // Entry ids are the message's index: unique within every batch they are in.
        let mut pending: Vec<usize> = (0..bodies.len()).collect();
        let mut refused = Vec::new();
        let mut round = 1;
        while !pending.is_empty() {
            let mut again = Vec::new();
            for chunk in pending.chunks(MAX_BATCH) {
                let entries: Vec<Value> = chunk
                    .iter()
                    .map(|&i| json!({"Id": format!("m{i}"), "MessageBody": bodies[i]}))
                    .collect();
                let body = json!({"QueueUrl": self.settings.queue_url, "Entries": entries});
                let answer: BatchAnswer =
                    serde_json::from_value(self.call("SendMessageBatch", &body).await?)
                        .map_err(|e| SqsError::Protocol(format!("SendMessageBatch: {e}")))?;
                for f in answer.failed {
                    let index = f
                        .id
                        .strip_prefix('m')
                        .and_then(|n| n.parse::<usize>().ok())
                        .filter(|i| chunk.contains(i))
                        .ok_or_else(|| SqsError::Protocol(format!("unknown entry id {}", f.id)))?;
                    if f.sender_fault || round >= self.settings.attempts {
                        refused.push(format!("{}: {}", f.id, f.code));
                    } else {
                        again.push(index);
                    }
                }
            }
            if !again.is_empty() {
                tokio::time::sleep(self.delay(round)).await;
            }
            pending = again;
            round += 1;
        }
        if refused.is_empty() {
            Ok(())
        } else {
            Err(SqsError::Refused(refused))
        }
    }
}

#[async_trait::async_trait]
impl JobSink for SqsQueue {
    async fn send(&self, jobs: &[Job]) -> Result<(), QueueError> {
        let bodies: Vec<String> = jobs.iter().map(Job::to_message).collect();
        Ok(self.send_bodies(&bodies).await?)
    }
}

/// With `PHOTOSYNC_SQS_POISON_URL`: the message goes there as
/// `{"message": "<original body>", "reason": "…"}`. Without it: the refusal is logged
/// and an error returned, so the Lambda host lists the record as failed and SQS keeps
/// redelivering it until the job queue's own redrive policy (`maxReceiveCount`) moves
/// it to the dead-letter queue configured on the queue. Either way no message is lost.
#[async_trait::async_trait]
impl Poison for SqsQueue {
    async fn poison(&self, body: &str, reason: &str) -> Result<(), QueueError> {
        let Some(url) = &self.settings.poison_url else {
            tracing::warn!(
                reason,
                "no PHOTOSYNC_SQS_POISON_URL: the message is left to the queue's redrive policy"
            );
            return Err(QueueError::Unavailable(
                "PHOTOSYNC_SQS_POISON_URL is not set; the queue's redrive policy takes the message"
                    .into(),
            ));
        };
        let record = json!({"message": body, "reason": reason}).to_string();
        self.call(
            "SendMessage",
            &json!({"QueueUrl": url, "MessageBody": record}),
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env::from_pairs([
            (
                "PHOTOSYNC_SQS_QUEUE_URL",
                "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs",
            ),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "very-secret-key"),
            ("AWS_SESSION_TOKEN", "very-secret-token"),
        ])
    }

    #[test]
    fn settings_default_the_endpoint_from_the_region() {
        let s = SqsSettings::from_env(&env()).unwrap().unwrap();
        assert_eq!(s.endpoint, "https://sqs.eu-west-1.amazonaws.com");
        assert_eq!(s.poison_url, None);
        assert!(s.credentials.session_token.is_some());
    }

    #[test]
    fn no_queue_url_means_no_sqs() {
        assert!(SqsSettings::from_env(&Env::default()).unwrap().is_none());
    }

    #[test]
    fn missing_credentials_name_the_key() {
        let e = SqsSettings::from_env(&env().with("AWS_SECRET_ACCESS_KEY", ""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("AWS_SECRET_ACCESS_KEY"), "{e}");
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let s = SqsSettings::from_env(&env()).unwrap().unwrap();
        let shown = format!("{:?}", SqsQueue::new(s).unwrap());
        assert!(!shown.contains("very-secret"), "{shown}");
    }

    #[test]
    fn throttling_and_5xx_are_retryable_access_denied_is_not() {
        let e = |status, code: &str| SqsError::Service {
            status,
            code: code.into(),
            message: String::new(),
        };
        assert!(e(400, "ThrottlingException").is_retryable());
        assert!(e(503, "Whatever").is_retryable());
        assert!(!e(400, "AccessDenied").is_retryable());
        assert!(!e(400, "QueueDoesNotExist").is_retryable());
    }
}
