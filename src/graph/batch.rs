//! JSON batching (m365-facts B§2.2): at most 20 requests per `$batch`, answers matched by
//! id (they come back in any order), each item's status read on its own, and throttled
//! items (429, or 503 with `Retry-After`) sent again in a new batch after the longest
//! `Retry-After` — SDKs don't do this, so we do.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::stream::{self, StreamExt};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::pace::Pace;
use super::photo::{is_no_photo, meta_from_json};
use super::{GraphCall, GraphClient, M365Error, PhotoState};
use crate::rest::{parse_retry_after, Decision, Failure};

/// Graph's limit on requests per batch.
pub const MAX_BATCH: usize = 20;

/// One request inside a batch (GETs only: whether photo uploads work inside `$batch` is
/// UNCONFIRMED, B§2.2, so writes go direct).
#[derive(Debug, Clone)]
pub struct BatchItem {
    /// URL relative to the version root: `/users/{id}/photo`.
    pub url: String,
}

/// One answer.
#[derive(Debug, Clone)]
pub struct BatchReply {
    /// HTTP status of the item.
    pub status: u16,
    /// The item's headers (lower-case names).
    pub headers: HashMap<String, String>,
    /// The item's body (JSON; binary bodies arrive base64 in a string).
    pub body: serde_json::Value,
}

#[derive(Serialize)]
struct Envelope<'a> {
    requests: Vec<Req<'a>>,
}

#[derive(Serialize)]
struct Req<'a> {
    id: String,
    method: &'static str,
    url: &'a str,
}

#[derive(Deserialize)]
struct Answer {
    responses: Vec<ItemAnswer>,
}

#[derive(Deserialize)]
struct ItemAnswer {
    id: String,
    status: u16,
    #[serde(default)]
    headers: HashMap<String, String>,
    #[serde(default)]
    body: serde_json::Value,
}

impl GraphClient {
    /// Run every item, in batches of 20, up to `parallel` batches at once; one result per
    /// item, in the order given. Throttled items are retried per the policy.
    pub async fn batch(
        &self,
        items: &[BatchItem],
        parallel: usize,
    ) -> Vec<Result<BatchReply, M365Error>> {
        self.batch_map(items, parallel, |r| r).await
    }

    /// [`GraphClient::batch`], turning each answer into a `T` as soon as its batch is
    /// back, so a 100,000-item run never holds 100,000 raw answers. Items throttled in the
    /// first pass are pooled and resent together in full batches of 20 after the longest
    /// `Retry-After`, rather than each batch resending its few: fewer requests.
    pub async fn batch_map<T>(
        &self,
        items: &[BatchItem],
        parallel: usize,
        map: impl Fn(Result<BatchReply, M365Error>) -> T,
    ) -> Vec<T> {
        let map = &map;
        let pace = &Pace::new(parallel);
        let mut out: Vec<Option<T>> = Vec::with_capacity(items.len());
        let mut deferred: Vec<usize> = Vec::new();
        let mut wait = Duration::ZERO;
        // The futures are made up front (not by a closure inside the stream) so the
        // whole future stays `Send` for callers that spawn it (axum handlers).
        let first: Vec<_> = items
            .chunks(MAX_BATCH)
            .enumerate()
            .map(|(k, chunk)| async move {
                let (replies, later) = self.batch_chunk(chunk, pace, true).await;
                let mapped: Vec<Option<T>> = replies.into_iter().map(|r| r.map(map)).collect();
                (k * MAX_BATCH, mapped, later)
            })
            .collect();
        let mut done = stream::iter(first).buffered(parallel.max(1));
        while let Some((base, mapped, later)) = done.next().await {
            out.extend(mapped);
            for (i, w) in later {
                deferred.push(base + i);
                wait = wait.max(w);
            }
        }
        drop(done);
        if !deferred.is_empty() {
            self.rest().pause_for(wait);
            let pooled: Vec<BatchItem> = deferred.iter().map(|&i| items[i].clone()).collect();
            let resend: Vec<_> = pooled
                .chunks(MAX_BATCH)
                .map(|chunk| async move {
                    let (replies, _) = self.batch_chunk(chunk, pace, false).await;
                    replies
                        .into_iter()
                        .map(|r| r.map(map))
                        .collect::<Vec<Option<T>>>()
                })
                .collect();
            let again: Vec<Vec<Option<T>>> = stream::iter(resend)
                .buffered(parallel.max(1))
                .collect()
                .await;
            for (&i, r) in deferred.iter().zip(again.into_iter().flatten()) {
                out[i] = r;
            }
        }
        out.into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    map(Err(M365Error::Decode {
                        what: "$batch".into(),
                        detail: "an item was never answered".into(),
                    }))
                })
            })
            .collect()
    }

    /// One chunk of ≤ 20, with per-item retries; with `defer`, items to retry are handed
    /// back (index, wait) instead of being resent here. Unanswered slots are `None`.
    #[allow(clippy::type_complexity)]
    async fn batch_chunk(
        &self,
        chunk: &[BatchItem],
        pace: &Pace,
        defer: bool,
    ) -> (
        Vec<Option<Result<BatchReply, M365Error>>>,
        Vec<(usize, Duration)>,
    ) {
        let mut results: Vec<Option<Result<BatchReply, M365Error>>> = vec![None; chunk.len()];
        let mut pending: Vec<usize> = (0..chunk.len()).collect();
        let started = Instant::now();
        let mut round = 0u32;
        while !pending.is_empty() {
            round += 1;
            let slot = pace.slot().await;
            let sent = self.send_batch(chunk, &pending).await;
            let throttled = match &sent {
                Ok(a) => a.values().any(|x| x.status == 429),
                Err(e) => e.is_throttled(),
            };
            pace.done(slot, throttled);
            let answers = match sent {
                Ok(a) => a,
                Err(e) => {
                    for &i in &pending {
                        results[i] = Some(Err(e.clone()));
                    }
                    break;
                }
            };
            let mut again = Vec::new();
            let mut wait: Option<Duration> = None;
            for &i in &pending {
                let Some(a) = answers.get(&i.to_string()) else {
                    results[i] = Some(Err(M365Error::Decode {
                        what: "$batch".into(),
                        detail: format!("no answer for item {i}"),
                    }));
                    continue;
                };
                let retry_after = a
                    .headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
                    .and_then(|(_, v)| parse_retry_after(v, SystemTime::now()));
                let failure = match a.status {
                    429 => Some(Failure::Throttled(retry_after)),
                    502..=504 => Some(Failure::Unavailable(retry_after)),
                    _ => None,
                };
                if a.status == 429 {
                    self.rest()
                        .counters
                        .throttled
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                let reply = BatchReply {
                    status: a.status,
                    headers: a.headers.clone(),
                    body: a.body.clone(),
                };
                match failure {
                    Some(f) => {
                        let jitter = self.rest().jitter();
                        match self
                            .rest()
                            .policy()
                            .decide(round, started.elapsed(), f, jitter)
                        {
                            Decision::RetryAfter(w) => {
                                wait = Some(wait.map_or(w, |x| x.max(w)));
                                again.push(i);
                            }
                            Decision::GiveUp => results[i] = Some(Ok(reply)),
                        }
                    }
                    None => results[i] = Some(Ok(reply)),
                }
            }
            if let (true, Some(w)) = (defer, wait) {
                // Other batches hold off too; these items wait for the pooled resend.
                self.rest().pause_for(w);
                self.rest()
                    .counters
                    .retries
                    .fetch_add(again.len() as u64, std::sync::atomic::Ordering::Relaxed);
                return (results, again.into_iter().map(|i| (i, w)).collect());
            }
            if let Some(w) = wait {
                // B§2.2: resend the failed items in a new batch after the longest
                // Retry-After; other batches hold off too.
                self.rest().pause_for(w);
                self.rest()
                    .counters
                    .retries
                    .fetch_add(again.len() as u64, std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(w).await;
            }
            pending = again;
        }
        (results, Vec::new())
    }

    async fn send_batch(
        &self,
        chunk: &[BatchItem],
        which: &[usize],
    ) -> Result<HashMap<String, ItemAnswer>, M365Error> {
        let env = Envelope {
            requests: which
                .iter()
                .map(|&i| Req {
                    id: i.to_string(),
                    method: "GET",
                    url: &chunk[i].url,
                })
                .collect(),
        };
        let body = serde_json::to_vec(&env).map_err(|e| M365Error::Refused(e.to_string()))?;
        let call = GraphCall {
            method: Method::POST,
            target: "/$batch".into(),
            body: Some((Bytes::from(body), "application/json")),
            mailbox: None,
            idempotent: true, // every item is a GET
            what: "$batch",
        };
        let answer: Answer = self.execute(&call).await?.json("$batch")?;
        Ok(answer
            .responses
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect())
    }

    /// Photo metadata for many users through `$batch` (about one request per 20 users,
    /// PRODUCT.md §10); one result per id, in order.
    pub async fn photo_meta_many(
        &self,
        ids: &[String],
        parallel: usize,
    ) -> Vec<Result<PhotoState, M365Error>> {
        let items: Vec<BatchItem> = ids
            .iter()
            .map(|id| BatchItem {
                url: format!("/users/{}/photo", super::odata::path_segment(id)),
            })
            .collect();
        self.batch_map(&items, parallel, |r| {
            let reply = r?;
            if (200..300).contains(&reply.status) {
                let raw = serde_json::to_vec(&reply.body)
                    .map_err(|e| M365Error::Refused(e.to_string()))?;
                return meta_from_json(&raw);
            }
            let raw = serde_json::to_vec(&reply.body).unwrap_or_default();
            let request_id = reply.headers.get("request-id").cloned();
            let e = M365Error::from_body("Graph", reply.status, &raw, request_id, None);
            if is_no_photo(&e) {
                Ok(PhotoState::Absent)
            } else {
                Err(e)
            }
        })
        .await
    }
}
