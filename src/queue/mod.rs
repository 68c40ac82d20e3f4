//! The job queue (PRODUCT.md §6): one message per user that needs work, one schema for
//! every producer (notifications, HR webhook, reconcile, operators by hand).
//!
//! Producers use [`JobSink`]. On Azure the messages go to a Storage queue (the Functions
//! host runs `sync-user` per message and moves a message that keeps failing to
//! `<queue>-poison`); on Lambda to SQS ([`SqsQueue`]); the standalone host uses [`LocalQueue`], a durable
//! SQLite-backed queue with visibility timeouts, dequeue counts and a poison table.

mod azure;
mod local;
pub mod sigv4;
mod sqs;

use serde::{Deserialize, Serialize};

pub use azure::{AzureQueue, DEFAULT_QUEUE};
pub use local::{Delivery, LocalQueue, PoisonedJob};
pub use sqs::{SqsError, SqsQueue, SqsSettings, MAX_BATCH};

/// The version of the message schema this build writes.
pub const JOB_VERSION: u32 = 1;

/// Why a queue operation failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The queue store failed; the operation may succeed later.
    #[error("queue unavailable: {0}")]
    Unavailable(String),
    /// A message could not be serialised (a bug).
    #[error("queue message: {0}")]
    Message(String),
    /// A delivery's receipt no longer matches (it timed out and was delivered again).
    #[error("queue message {0} was redelivered to another worker")]
    Lost(String),
}

impl QueueError {
    /// True when trying again later can help.
    pub fn is_retryable(&self) -> bool {
        matches!(self, QueueError::Unavailable(_))
    }
}

/// How to find the user. At least one key; resolved in the order id, UPN, mail,
/// employee id (PRODUCT.md §5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRef {
    /// Entra object id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// User principal name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
    /// Primary SMTP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<String>,
    /// HR employee id (`employeeId` in Entra).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_id: Option<String>,
}

impl UserRef {
    /// A reference by object id.
    pub fn by_id(id: impl Into<String>) -> Self {
        Self {
            id: Some(id.into()),
            ..Self::default()
        }
    }

    /// True when no key is set.
    pub fn is_empty(&self) -> bool {
        self.id.is_none()
            && self.user_principal_name.is_none()
            && self.mail.is_none()
            && self.employee_id.is_none()
    }

    /// The keys in resolution order.
    pub fn keys(&self) -> Vec<crate::graph::UserKey> {
        use crate::graph::UserKey;
        let mut keys = Vec::new();
        if let Some(v) = &self.id {
            keys.push(UserKey::Id(v.clone()));
        }
        if let Some(v) = &self.user_principal_name {
            keys.push(UserKey::Upn(v.clone()));
        }
        if let Some(v) = &self.mail {
            keys.push(UserKey::Mail(v.clone()));
        }
        if let Some(v) = &self.employee_id {
            keys.push(UserKey::EmployeeId(v.clone()));
        }
        keys
    }

    /// A short label for logs and reports (the first key).
    pub fn label(&self) -> String {
        self.id
            .as_deref()
            .or(self.user_principal_name.as_deref())
            .or(self.mail.as_deref())
            .or(self.employee_id.as_deref())
            .unwrap_or("(no key)")
            .to_string()
    }
}

/// What caused a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cause {
    /// A Graph change notification.
    Notification,
    /// An HR webhook event.
    Hr,
    /// The reconcile found drift.
    Reconcile,
    /// An operator (`photo-sync sync USER`, or a message enqueued by hand).
    Manual,
}

/// One queue message: sync this user.
///
/// The JSON form is the documented message schema (README, "Queue messages"):
/// `{"v":1,"user":{"id":"…"},"cause":"reconcile"}`, plus `"hrEvent":"…"` when an HR
/// webhook stored a photo for the job to pick up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// Schema version ([`JOB_VERSION`]); a missing version reads as 1.
    #[serde(default = "default_version")]
    pub v: u32,
    /// Who.
    pub user: UserRef,
    /// Why.
    #[serde(default = "default_cause")]
    pub cause: Cause,
    /// The HR event whose photo waits in the photo store's inbox.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hr_event: Option<String>,
}

fn default_version() -> u32 {
    JOB_VERSION
}

fn default_cause() -> Cause {
    Cause::Manual
}

impl Job {
    /// A job for a user by object id.
    pub fn for_user(id: impl Into<String>, cause: Cause) -> Self {
        Self {
            v: JOB_VERSION,
            user: UserRef::by_id(id),
            cause,
            hr_event: None,
        }
    }

    /// The message text.
    pub fn to_message(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a message leniently: the JSON object, or the object JSON-encoded once more
    /// (how the Functions host hands queue messages to custom handlers, m365-facts
    /// Part B §4.2). Errors say what is wrong, for the poison record.
    pub fn from_message(text: &str) -> Result<Self, String> {
        let value: serde_json::Value = serde_json::from_str(text.trim())
            .map_err(|e| format!("the message is not JSON: {e}"))?;
        let value = match value {
            serde_json::Value::String(inner) => serde_json::from_str(&inner)
                .map_err(|e| format!("the message is a string that is not JSON: {e}"))?,
            other => other,
        };
        let job: Job =
            serde_json::from_value(value).map_err(|e| format!("the message is not a job ({e})"))?;
        if job.v > JOB_VERSION {
            return Err(format!(
                "message schema version {} is newer than this build's {JOB_VERSION}",
                job.v
            ));
        }
        if job.user.is_empty() {
            return Err(
                "the message names no user (id, userPrincipalName, mail or employeeId)".into(),
            );
        }
        Ok(job)
    }
}

/// Where producers put jobs.
#[async_trait::async_trait]
pub trait JobSink: Send + Sync {
    /// Enqueues every job, or fails (some may have been enqueued: jobs are idempotent).
    async fn send(&self, jobs: &[Job]) -> Result<(), QueueError>;
}

/// Where a message that can never succeed goes, with its reason (the standalone queue's
/// poison table; `<queue>-poison` on Azure), so an operator sees it in the report.
#[async_trait::async_trait]
pub trait Poison: Send + Sync {
    /// Records `body` as given up, with `reason`.
    async fn poison(&self, body: &str, reason: &str) -> Result<(), QueueError>;
}

/// A sink that keeps the jobs in memory: the Functions timer returns them as its queue
/// output binding, and dry runs count them.
#[derive(Debug, Default)]
pub struct CollectingSink {
    jobs: std::sync::Mutex<Vec<Job>>,
}

impl CollectingSink {
    /// The jobs collected so far, in order; the sink is left empty.
    pub fn take(&self) -> Vec<Job> {
        std::mem::take(&mut *self.jobs.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[async_trait::async_trait]
impl JobSink for CollectingSink {
    async fn send(&self, jobs: &[Job]) -> Result<(), QueueError> {
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(jobs);
        Ok(())
    }
}
