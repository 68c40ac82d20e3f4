//! `GET /users/delta` (m365-facts B§2.1): a full first round paged with `$skiptoken`,
//! then a `@odata.deltaLink` whose `$deltatoken` encodes where the change log stood and
//! the `$select`; later rounds return only users changed since, `@removed` for deletes.
//! Tokens die after 7 days (400 `syncStateNotFound`) or when invalidated (410 Gone).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::auth_check::{Caller, Denied, DIRECTORY_READ};
use super::config::DeltaExpired;
use super::error::GraphFault;
use super::odata;
use super::server::Shared;
use super::tenant::ChangeKind;
use super::users::{context, next_link, user_json};

/// Users per delta page.
const PAGE: usize = 100;
/// Directory delta tokens last 7 days (m365-facts B§2.1).
const TOKEN_LIFETIME_SECS: i64 = 7 * 24 * 3600;

/// What a `$skiptoken` or `$deltatoken` carries.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cursor {
    /// Delta epoch at issue; a newer epoch means 410.
    e: u64,
    /// Changes after this sequence number are "new" (0 = full round).
    s: u64,
    /// Changes up to this sequence number are included in this round.
    u: u64,
    /// Page position: last id served.
    a: Option<String>,
    /// Unix time the round started.
    t: i64,
    /// `$select` of the first call.
    sel: Option<Vec<String>>,
    /// Full round (all live users) vs incremental.
    full: bool,
}

fn encode(c: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(c).unwrap_or_default())
}

fn decode(raw: &str) -> Option<Cursor> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(raw).ok()?).ok()
}

fn sync_state_not_found() -> GraphFault {
    GraphFault::new(
        StatusCode::BAD_REQUEST,
        "syncStateNotFound",
        "The sync state was not found or has expired. Start a new delta query without a token.",
    )
}

/// One row of a delta page: a user's current state or its removal.
enum Row {
    Live(Map<String, Value>),
    Removed(&'static str),
}

/// `GET /users/delta`.
pub(crate) async fn delta(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    uri: Uri,
) -> Result<Json<Value>, GraphFault> {
    caller.require(DIRECTORY_READ, Denied::Directory)?;
    let pairs = odata::query_pairs(uri.query());
    for key in ["$top", "$orderby", "$expand", "$filter"] {
        if odata::option(&pairs, key).is_some() {
            return Err(GraphFault::new(
                StatusCode::BAD_REQUEST,
                "Request_UnsupportedQuery",
                format!(
                    "The query option '{key}' is not supported on delta in the sandbox tenant."
                ),
            ));
        }
    }
    let base = format!("{}/users/delta", shared.graph_base());
    let now = shared.clock.unix();
    let (epoch, head) = {
        let s = shared.state();
        (s.delta_epoch, s.next_seq - 1)
    };
    let token = odata::option(&pairs, "$deltatoken").or(odata::option(&pairs, "$skiptoken"));
    let mut cursor = match token {
        None => Cursor {
            e: epoch,
            s: 0,
            u: head,
            a: None,
            t: now,
            sel: odata::select(odata::option(&pairs, "$select"))?,
            full: true,
        },
        Some("latest") => {
            // "sync from now": no data, a deltaLink at the head of the log.
            let sel = odata::select(odata::option(&pairs, "$select"))?;
            let c = Cursor {
                e: epoch,
                s: head,
                u: head,
                a: None,
                t: now,
                sel,
                full: false,
            };
            return Ok(Json(page_json(&base, &c, Vec::new(), None)));
        }
        Some(raw) => decode(raw).ok_or_else(sync_state_not_found)?,
    };
    let resync = |cursor: &Cursor| {
        let location = match &cursor.sel {
            Some(sel) => format!("{base}?$select={}", sel.join(",")),
            None => base.clone(),
        };
        GraphFault::new(
            StatusCode::GONE,
            "resyncRequired",
            "The delta token is no longer valid. Replace any local data with a full sync from \
             the URL in the Location header.",
        )
        .with_header(header::LOCATION, location)
    };
    if cursor.e != epoch {
        return Err(resync(&cursor));
    }
    if now - cursor.t > TOKEN_LIFETIME_SECS {
        // m365-facts B§2.1: expiry answers differ between sources; a knob picks.
        return Err(match shared.state().variants.delta_expired {
            DeltaExpired::SyncStateNotFound400 => sync_state_not_found(),
            DeltaExpired::Gone410 => resync(&cursor),
        });
    }
    // A deltaLink starts a new incremental round up to the current head.
    if odata::option(&pairs, "$deltatoken").is_some() {
        cursor = Cursor {
            u: head,
            a: None,
            t: now,
            full: false,
            ..cursor
        };
    }
    let (rows, last) = collect(&shared, &cursor);
    Ok(Json(page_json(&base, &cursor, rows, last)))
}

/// The rows of one page and, when more follow, the id to continue after.
fn collect(shared: &Shared, c: &Cursor) -> (Vec<(String, Row)>, Option<String>) {
    let s = shared.state();
    let sel = c.sel.as_deref();
    let after = |id: &String| c.a.as_ref().is_none_or(|a| id > a);
    let mut rows: Vec<(String, Row)> = Vec::new();
    if c.full {
        for (id, r) in s.users.iter().filter(|(id, _)| after(id)).take(PAGE + 1) {
            rows.push((id.clone(), Row::Live(user_json(&r.user, sel))));
        }
    } else {
        // Last change per user in (s, u]; with $select only selected properties count.
        let mut latest: BTreeMap<&String, (ChangeKind, bool)> = BTreeMap::new();
        for ch in s.changes.iter().filter(|ch| ch.seq > c.s && ch.seq <= c.u) {
            let relevant = match (sel, ch.kind) {
                (Some(sel), ChangeKind::Updated) if !ch.props.is_empty() => {
                    ch.props.iter().any(|p| sel.iter().any(|q| q == p))
                }
                _ => true,
            };
            let entry = latest.entry(&ch.id).or_insert((ch.kind, false));
            entry.0 = ch.kind;
            entry.1 |= relevant;
        }
        for (id, (kind, relevant)) in latest.into_iter().filter(|(id, _)| after(id)) {
            let row = match (kind, s.users.get(id)) {
                (ChangeKind::Deleted, _) => Row::Removed("deleted"),
                (_, None) => Row::Removed("changed"),
                (_, Some(_)) if !relevant => continue,
                (_, Some(r)) => Row::Live(user_json(&r.user, sel)),
            };
            rows.push((id.clone(), row));
            if rows.len() > PAGE {
                break;
            }
        }
    }
    if rows.len() > PAGE {
        rows.truncate(PAGE);
        let last = rows.last().map(|(id, _)| id.clone());
        (rows, last)
    } else {
        (rows, None)
    }
}

fn page_json(base: &str, c: &Cursor, rows: Vec<(String, Row)>, last: Option<String>) -> Value {
    let value: Vec<Value> = rows
        .into_iter()
        .map(|(id, row)| match row {
            Row::Live(m) => Value::Object(m),
            Row::Removed(reason) => json!({"id": id, "@removed": {"reason": reason}}),
        })
        .collect();
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        Value::String(context(c.sel.as_deref(), false)),
    );
    match last {
        Some(last) => {
            let next = Cursor {
                a: Some(last),
                ..c.clone()
            };
            body.insert(
                "@odata.nextLink".into(),
                Value::String(next_link(base, &[], "$skiptoken", &encode(&next))),
            );
        }
        None => {
            let done = Cursor {
                s: c.u,
                a: None,
                full: false,
                ..c.clone()
            };
            body.insert(
                "@odata.deltaLink".into(),
                Value::String(next_link(base, &[], "$deltatoken", &encode(&done))),
            );
        }
    }
    body.insert("value".into(), Value::Array(value));
    Value::Object(body)
}
