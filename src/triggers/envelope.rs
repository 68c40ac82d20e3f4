//! The Azure Functions custom-handler protocol for non-forwarded functions (m365-facts
//! B§4.2): the host POSTs `{"Data":{…},"Metadata":{…}}` to `/{FunctionName}` and reads
//! `{"Outputs":{…},"Logs":[…],"ReturnValue":…}`. Values may arrive as objects or as
//! JSON-encoded strings (numbers too: `DequeueCount` is `"1"`), so every read unwraps one
//! level of string encoding. A non-2xx answer fails the invocation: the queue retries it
//! and, after `maxDequeueCount`, moves it to `<queue>-poison`; the timer does not retry.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use super::App;
use crate::queue::{CollectingSink, Job};

/// The queue output binding the timer returns its jobs in (function.json of `reconcile`).
pub const JOBS_BINDING: &str = "jobs";
/// The queue trigger's binding name (function.json of `sync-user`).
pub const MESSAGE_BINDING: &str = "msg";

/// One invocation from the host.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// Trigger and input bindings by name.
    pub data: Map<String, Value>,
    /// Trigger metadata.
    pub metadata: Map<String, Value>,
}

/// One level of JSON string encoding removed (a string holding JSON becomes that JSON).
pub fn unwrap_value(v: &Value) -> Value {
    match v {
        Value::String(s) => serde_json::from_str(s).unwrap_or_else(|_| v.clone()),
        other => other.clone(),
    }
}

impl Invocation {
    /// Reads the host's body, leniently; errors say what is wrong.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default()); // a manual run with no body
        }
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| format!("the invocation body is not JSON: {e}"))?;
        let Value::Object(mut top) = unwrap_value(&v) else {
            return Err("the invocation body is not a JSON object".into());
        };
        let mut part = |name: &str| match top.remove(name).map(|v| unwrap_value(&v)) {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m),
            Some(_) => Err(format!("\"{name}\" is not an object")),
        };
        Ok(Self {
            data: part("Data")?,
            metadata: part("Metadata")?,
        })
    }

    /// A binding's value, one level of string encoding removed.
    pub fn data(&self, name: &str) -> Option<Value> {
        self.data.get(name).map(unwrap_value)
    }

    /// A metadata number given as a number or a string (`DequeueCount`).
    pub fn metadata_u32(&self, key: &str) -> Option<u32> {
        match unwrap_value(self.metadata.get(key)?) {
            Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The queue message text: the named binding, or the only one.
    pub fn message(&self) -> Option<String> {
        let raw = self.data.get(MESSAGE_BINDING).or_else(|| {
            (self.data.len() == 1)
                .then(|| self.data.values().next())
                .flatten()
        })?;
        Some(match raw {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }
}

/// What the handler answers the host.
#[derive(Debug, Clone, Default)]
pub struct InvocationReply {
    /// Output bindings by name.
    pub outputs: Map<String, Value>,
    /// Lines for the invocation log.
    pub logs: Vec<String>,
    /// The `$return` value.
    pub return_value: Value,
}

impl InvocationReply {
    /// The reply with `status` (2xx: success; anything else fails the invocation).
    pub fn into_response(self, status: StatusCode) -> Response {
        let body =
            json!({"Outputs": self.outputs, "Logs": self.logs, "ReturnValue": self.return_value});
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}

fn failed(status: StatusCode, why: String) -> Response {
    InvocationReply {
        logs: vec![why],
        ..InvocationReply::default()
    }
    .into_response(status)
}

/// `POST /reconcile`: the timer. Jobs go back as the `jobs` queue output binding.
pub(crate) async fn reconcile(State(app): State<App>, body: Bytes) -> Response {
    let inv = match Invocation::parse(&body) {
        Ok(inv) => inv,
        Err(why) => return failed(StatusCode::BAD_REQUEST, why),
    };
    let past_due = inv
        .data
        .values()
        .map(unwrap_value)
        .any(|t| t.get("IsPastDue").and_then(Value::as_bool) == Some(true));
    let sink = CollectingSink::default();
    match app.engine().reconcile(&sink, false, &|_| {}).await {
        Ok(report) => {
            let jobs: Vec<Value> = sink
                .take()
                .iter()
                .map(|j| Value::String(j.to_message()))
                .collect();
            let mut reply = InvocationReply::default();
            reply.logs.push(format!(
                "reconcile: {} users checked, {} jobs queued{}{}",
                report.checked,
                jobs.len(),
                if report.full_walk { ", full walk" } else { "" },
                if past_due { " (past due)" } else { "" }
            ));
            reply
                .outputs
                .insert(JOBS_BINDING.into(), Value::Array(jobs));
            reply.return_value = serde_json::to_value(&report).unwrap_or(Value::Null);
            reply.into_response(StatusCode::OK)
        }
        Err(e) => failed(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("reconcile failed: {e}"),
        ),
    }
}

/// `POST /sync-user`: one queue message.
pub(crate) async fn sync_user(State(app): State<App>, body: Bytes) -> Response {
    let inv = match Invocation::parse(&body) {
        Ok(inv) => inv,
        Err(why) => return failed(StatusCode::BAD_REQUEST, why),
    };
    let Some(message) = inv.message() else {
        return failed(
            StatusCode::BAD_REQUEST,
            format!("no \"{MESSAGE_BINDING}\" in Data"),
        );
    };
    let dequeue_count = inv.metadata_u32("DequeueCount").unwrap_or(1);
    let outcome = match Job::from_message(&message) {
        Ok(job) => app.run_job(&job, dequeue_count).await,
        Err(why) => JobOutcome::GiveUp(why),
    };
    match outcome {
        JobOutcome::Done(report) => InvocationReply {
            logs: vec![format!(
                "sync-user {}: {} written",
                report.user_id.as_deref().unwrap_or("?"),
                report.written()
            )],
            return_value: serde_json::to_value(&report).unwrap_or(Value::Null),
            ..InvocationReply::default()
        }
        .into_response(StatusCode::OK),
        JobOutcome::Retry(why) => failed(StatusCode::INTERNAL_SERVER_ERROR, why),
        JobOutcome::GiveUp(why) => match app.give_up(&message, &why).await {
            Ok(()) => failed(StatusCode::OK, format!("message poisoned: {why}")),
            // Could not record it: let the host retry and poison it itself.
            Err(e) => failed(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("{why}; poison record failed: {e}"),
            ),
        },
    }
}

/// What became of one job.
#[derive(Debug)]
pub enum JobOutcome {
    /// Finished (failures of single targets are in the ledger).
    Done(Box<crate::sync::UserReport>),
    /// Try again later.
    Retry(String),
    /// Never retry: poison with this reason.
    GiveUp(String),
}

impl App {
    /// Runs one job for any queue host: what to do with the message afterwards.
    pub async fn run_job(&self, job: &Job, dequeue_count: u32) -> JobOutcome {
        let max = self.engine().settings().max_attempts;
        match self.engine().sync_user(job).await {
            Ok(report) => match report.retryable_failure() {
                Some(why) if dequeue_count < max => JobOutcome::Retry(why.to_string()),
                Some(why) => JobOutcome::GiveUp(format!("{why} (after {dequeue_count} attempts)")),
                None => JobOutcome::Done(Box::new(report)),
            },
            Err(e) if e.is_retryable() && dequeue_count < max => JobOutcome::Retry(e.to_string()),
            Err(e) => JobOutcome::GiveUp(e.to_string()),
        }
    }

    /// Records a message as given up (poison with reason).
    pub async fn give_up(&self, message: &str, why: &str) -> Result<(), crate::queue::QueueError> {
        tracing::warn!(reason = %why, "job given up");
        match &self.inner.poison {
            Some(p) => p.poison(message, why).await,
            None => Err(crate::queue::QueueError::Unavailable(
                "no poison queue configured".into(),
            )),
        }
    }
}
