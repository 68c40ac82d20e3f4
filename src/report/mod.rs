//! The report people look at (PRODUCT.md §9): per user, where the photo came from, what
//! each target holds and when it was written, the last failure; the poison queue with
//! reasons; totals. As JSON for machines and as one self-contained HTML page (no
//! scripts, no external resources; every value escaped by [`escape`]).

mod html;

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Serialize;

pub use html::{escape, render};

use crate::ledger::{FailureRecord, Ledger, LedgerError, TargetRecord};
use crate::photostore::PhotoStore;
use crate::queue::PoisonedJob;

/// One user's line.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRow {
    /// Object id.
    pub id: String,
    /// UPN, when known.
    pub upn: Option<String>,
    /// Where the accepted photo came from.
    pub origin: Option<String>,
    /// Per target.
    pub targets: BTreeMap<String, TargetRecord>,
    /// The last failure.
    pub failure: Option<FailureRecord>,
    /// The smallest accepted rendition as a `data:` URL, for the HTML page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thumbnail: Option<String>,
}

/// Totals.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    /// Users in the ledger.
    pub users: u64,
    /// Users with an accepted photo, per origin.
    pub by_origin: BTreeMap<String, u64>,
    /// Users recorded per target.
    pub per_target: BTreeMap<String, u64>,
    /// Users whose last attempt failed and may succeed later.
    pub retrying: u64,
    /// Users whose last attempt failed for good (until the source changes).
    pub failed: u64,
    /// Messages in the poison queue.
    pub poisoned: u64,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// When it was made (RFC 3339).
    pub generated_at: String,
    /// Totals.
    pub totals: Totals,
    /// Users with something to show (a photo, a target record or a failure), by id.
    pub users: Vec<UserRow>,
    /// Given-up messages with their reasons.
    pub poisoned: Vec<PoisonedJob>,
}

/// Reads the report from the stores. Users with nothing recorded are counted, not listed.
pub async fn collect(
    ledger: &dyn Ledger,
    photos: &dyn PhotoStore,
    poisoned: Vec<PoisonedJob>,
    with_thumbnails: bool,
) -> Result<Report, LedgerError> {
    let mut totals = Totals {
        poisoned: poisoned.len() as u64,
        ..Totals::default()
    };
    let mut users = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = ledger.users(after.as_deref(), 1000).await?;
        let Some((last, _)) = page.last() else { break };
        after = Some(last.clone());
        let full = page.len() == 1000;
        for (id, state) in page {
            totals.users += 1;
            if let Some(s) = &state.source {
                *totals.by_origin.entry(s.origin.clone()).or_default() += 1;
            }
            for t in state.targets.keys() {
                *totals.per_target.entry(t.clone()).or_default() += 1;
            }
            match &state.failure {
                Some(f) if f.retryable => totals.retrying += 1,
                Some(_) => totals.failed += 1,
                None => {}
            }
            if state.source.is_none() && state.targets.is_empty() && state.failure.is_none() {
                continue;
            }
            let thumbnail = if with_thumbnails && state.source.is_some() {
                photos.photo(&id).await?.and_then(|p| {
                    let small = p.renditions.iter().min_by_key(|r| r.side)?;
                    Some(format!(
                        "data:image/jpeg;base64,{}",
                        base64::engine::general_purpose::STANDARD.encode(&small.jpeg)
                    ))
                })
            } else {
                None
            };
            users.push(UserRow {
                id,
                upn: state.upn,
                origin: state.source.map(|s| s.origin),
                targets: state.targets,
                failure: state.failure,
                thumbnail,
            });
        }
        if !full {
            break;
        }
    }
    let generated_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    Ok(Report {
        generated_at,
        totals,
        users,
        poisoned,
    })
}
