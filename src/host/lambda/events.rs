//! The non-HTTP events the Lambda host takes, which `lambda_http`'s `pass_through` turns
//! into `POST /events` with the raw event as the body (m365-facts B§5): an EventBridge
//! scheduled event runs the reconcile; an SQS event runs one job per record and answers
//! `{"batchItemFailures":[…]}` so SQS redelivers only the records that may still succeed.
//! Parsing is plain functions; [`handle`] is the route.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use serde::Serialize;
use serde_json::{json, Value};

use crate::queue::Job;
use crate::triggers::{App, JobOutcome};

/// What the route says it takes, in every refusal.
pub const EXPECTED: &str = "an EventBridge scheduled event (\"source\":\"aws.events\", \
\"detail-type\":\"Scheduled Event\") or an SQS event (\"Records\" with \"eventSource\":\"aws:sqs\")";

/// SQS records run at once within one batch.
const RECORD_CONCURRENCY: usize = 4;

/// Why an event could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The body is not JSON.
    #[error("the event is not JSON: {0}")]
    NotJson(String),
    /// JSON, but not an event this function takes.
    #[error("not an event photo-sync takes ({0}); expected {EXPECTED}")]
    Unknown(String),
    /// An SQS event with a record we cannot read (no `messageId` to report it by).
    #[error("SQS record {index} is unreadable: {why}")]
    BadRecord {
        /// Position in `Records`.
        index: usize,
        /// What is wrong.
        why: String,
    },
}

impl EventError {
    /// True when failing the invocation (so the whole event is delivered again) is the
    /// safe answer: an SQS batch we cannot account for record by record.
    pub fn is_retryable(&self) -> bool {
        matches!(self, EventError::BadRecord { .. })
    }
}

/// An EventBridge scheduled event (the rule's fields we log).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScheduledEvent {
    /// The event id.
    pub id: Option<String>,
    /// When the rule fired.
    pub time: Option<String>,
    /// The rule's ARN(s).
    pub resources: Vec<String>,
}

/// One SQS message of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsRecord {
    /// What `batchItemFailures` names it by.
    pub message_id: String,
    /// The message text (a job, one hopes).
    pub body: String,
    /// `attributes.ApproximateReceiveCount` (1 on first delivery).
    pub receive_count: u32,
}

/// An event the host takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Run the reconcile.
    Scheduled(ScheduledEvent),
    /// Run these jobs.
    Sqs(Vec<SqsRecord>),
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// A count given as a string (`"1"`, as SQS sends it) or a number.
fn count(v: Option<&Value>) -> Option<u32> {
    match v? {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        _ => None,
    }
}

impl SqsRecord {
    /// Reads record `index` of an SQS event.
    pub fn read(index: usize, v: &Value) -> Result<Self, EventError> {
        let message_id = text(v, "messageId")
            .filter(|id| !id.is_empty())
            .ok_or_else(|| EventError::BadRecord {
                index,
                why: "no \"messageId\"".into(),
            })?;
        Ok(Self {
            message_id,
            // A record without a body is not a job: it is poisoned like any other.
            body: text(v, "body").unwrap_or_default(),
            receive_count: count(v.pointer("/attributes/ApproximateReceiveCount"))
                .unwrap_or(1)
                .max(1),
        })
    }
}

/// Reads a pass-through event: an SQS batch, an EventBridge scheduled event, or an error
/// naming what it is and what was expected.
pub fn parse_event(body: &[u8]) -> Result<Event, EventError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| EventError::NotJson(e.to_string()))?;
    if let Some(records) = v.get("Records").and_then(Value::as_array) {
        let sources: Vec<String> = records
            .iter()
            .map(|r| {
                text(r, "eventSource")
                    .or_else(|| text(r, "EventSource"))
                    .unwrap_or_else(|| "?".into())
            })
            .collect();
        if records.is_empty() || sources.iter().any(|s| s != "aws:sqs") {
            let mut seen = sources;
            seen.dedup();
            return Err(EventError::Unknown(format!(
                "{} records from {}",
                records.len(),
                if seen.is_empty() {
                    "nowhere".into()
                } else {
                    seen.join(", ")
                }
            )));
        }
        return records
            .iter()
            .enumerate()
            .map(|(i, r)| SqsRecord::read(i, r))
            .collect::<Result<Vec<_>, _>>()
            .map(Event::Sqs);
    }
    let detail_type = text(&v, "detail-type");
    let source = text(&v, "source");
    if detail_type.as_deref() == Some("Scheduled Event") && source.as_deref() == Some("aws.events")
    {
        return Ok(Event::Scheduled(ScheduledEvent {
            id: text(&v, "id"),
            time: text(&v, "time"),
            resources: v
                .get("resources")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|r| r.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        }));
    }
    Err(EventError::Unknown(match (source, detail_type) {
        (Some(s), Some(d)) => format!("source {s:?}, detail-type {d:?}"),
        (Some(s), None) => format!("source {s:?}"),
        _ if v.is_object() => "a JSON object with neither \"Records\" nor \"source\"".into(),
        _ => "not a JSON object".into(),
    }))
}

/// One record `batchItemFailures` lists (aws_lambda_events `BatchItemFailure`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    /// The record's `messageId`.
    pub item_identifier: String,
}

/// The SQS partial-batch answer (m365-facts B§5): only the listed records are
/// redelivered; the event source mapping needs `ReportBatchItemFailures`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    /// Records to deliver again.
    pub batch_item_failures: Vec<BatchItemFailure>,
}

impl BatchResponse {
    /// The answer listing `ids`.
    pub fn failing(ids: impl IntoIterator<Item = String>) -> Self {
        Self {
            batch_item_failures: ids
                .into_iter()
                .map(|item_identifier| BatchItemFailure { item_identifier })
                .collect(),
        }
    }
}

fn json_reply(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// `POST /events`. A 5xx answer becomes a failed invocation (see the host); a 4xx one a
/// result carrying the error, since delivering the same event again cannot help.
pub async fn handle(State(app): State<App>, body: Bytes) -> Response {
    match parse_event(&body) {
        Ok(Event::Scheduled(ev)) => reconcile(&app, ev).await,
        Ok(Event::Sqs(records)) => {
            let answer = run_records(&app, records).await;
            json_reply(StatusCode::OK, &json!(answer))
        }
        Err(e) if e.is_retryable() => {
            tracing::error!(error = %e, "SQS event not readable; the whole batch will be redelivered");
            json_reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"error": e.to_string()}),
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, "event refused");
            json_reply(
                StatusCode::BAD_REQUEST,
                &json!({"error": e.to_string(), "expected": EXPECTED}),
            )
        }
    }
}

async fn reconcile(app: &App, ev: ScheduledEvent) -> Response {
    tracing::info!(event = ?ev.id, time = ?ev.time, "scheduled reconcile");
    match app
        .engine()
        .reconcile(app.sink().as_ref(), false, &|_| {})
        .await
    {
        Ok(report) => json_reply(
            StatusCode::OK,
            &json!({"event": ev.id, "reconcile": report}),
        ),
        // A failed invocation: Lambda retries asynchronous invocations (EventBridge's).
        Err(e) => json_reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"error": format!("reconcile failed: {e}")}),
        ),
    }
}

/// Runs every record; the ids of those SQS should deliver again.
pub async fn run_records(app: &App, records: Vec<SqsRecord>) -> BatchResponse {
    let total = records.len();
    let failed: Vec<String> = futures::stream::iter(records)
        .map(|r| async move {
            let again = run_record(app, &r).await;
            again.then_some(r.message_id)
        })
        .buffered(RECORD_CONCURRENCY)
        .filter_map(|id| async move { id })
        .collect()
        .await;
    tracing::info!(records = total, redeliver = failed.len(), "SQS batch done");
    BatchResponse::failing(failed)
}

/// Runs one record: true when SQS must deliver it again.
async fn run_record(app: &App, r: &SqsRecord) -> bool {
    let outcome = match Job::from_message(&r.body) {
        Ok(job) => app.run_job(&job, r.receive_count).await,
        Err(why) => JobOutcome::GiveUp(why),
    };
    match outcome {
        JobOutcome::Done(_) => false,
        JobOutcome::Retry(why) => {
            tracing::info!(message = %r.message_id, reason = %why, "job will be retried");
            true
        }
        // Poisoned: never again. If the poison record itself fails, the message stays
        // on the queue (listed), so it is never lost.
        JobOutcome::GiveUp(why) => match app.give_up(&r.body, &why).await {
            Ok(()) => false,
            Err(e) => {
                tracing::warn!(message = %r.message_id, error = %e, "poison record failed; the message stays on the queue");
                true
            }
        },
    }
}

#[cfg(test)]
mod tests;
