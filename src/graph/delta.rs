//! `/users/delta` (m365-facts B§2.1): page through `@odata.nextLink` to the
//! `@odata.deltaLink`, keep the whole link for next time, and start over with a full
//! round when Graph says the saved state is gone (410, or an expired token).

use serde::Deserialize;

use super::users::{User, USER_SELECT};
use super::{GraphCall, GraphClient, M365Error};

/// A user removed since the last round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    /// Object id.
    pub id: String,
    /// `changed` (soft-deleted, restorable) or `deleted` (permanent).
    pub reason: String,
}

/// One page of changes.
#[derive(Debug, Clone, Default)]
pub struct DeltaPage {
    /// Users added or changed (with the selected properties).
    pub users: Vec<User>,
    /// Users removed.
    pub removed: Vec<Removed>,
}

/// The end of a round.
#[derive(Debug, Clone)]
pub struct DeltaRound {
    /// Save this whole URL; the next round starts from it.
    pub delta_link: String,
    /// True when the saved link was refused and the round started from scratch (every
    /// user came back).
    pub restarted: bool,
    /// Pages read.
    pub pages: u32,
}

#[derive(Deserialize)]
struct RawPage {
    value: Vec<serde_json::Value>,
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink", default)]
    delta_link: Option<String>,
}

impl GraphClient {
    /// Run one delta round from `saved` (a previous round's link, or `None` for a full
    /// round), handing each page to `on_page` as it arrives so memory stays flat.
    pub async fn users_delta(
        &self,
        saved: Option<&str>,
        mut on_page: impl FnMut(DeltaPage) + Send,
    ) -> Result<DeltaRound, M365Error> {
        let mut restarted = false;
        let mut next = match saved {
            Some(link) => link.to_owned(),
            None => format!("/users/delta?$select={USER_SELECT}"),
        };
        let mut pages = 0u32;
        loop {
            let reply = match self
                .execute(&GraphCall::get(next.clone(), "users delta"))
                .await
            {
                Ok(r) => r,
                Err(e) if saved.is_some() && !restarted && state_gone(&e) => {
                    // B§2.1: 410 Gone (or an expired token) → full resync.
                    tracing::info!(error = %e, "delta state refused; starting a full round");
                    restarted = true;
                    next = format!("/users/delta?$select={USER_SELECT}");
                    continue;
                }
                Err(e) => return Err(e),
            };
            pages += 1;
            let raw: RawPage = reply.json("users delta")?;
            on_page(split(raw.value)?);
            match (raw.next_link, raw.delta_link) {
                (Some(n), _) => next = n,
                (None, Some(d)) => {
                    return Ok(DeltaRound {
                        delta_link: d,
                        restarted,
                        pages,
                    })
                }
                (None, None) => {
                    return Err(M365Error::Decode {
                        what: "users delta".into(),
                        detail: "a page with neither @odata.nextLink nor @odata.deltaLink".into(),
                    })
                }
            }
        }
    }
}

/// 410 Gone, or a 400-class answer naming expired/unknown sync state.
fn state_gone(e: &M365Error) -> bool {
    match (e.status(), e.code()) {
        (Some(410), _) => true,
        (Some(400..=499), Some(code)) => {
            let c = code.to_ascii_lowercase();
            c.contains("syncstatenotfound") || c.contains("resyncrequired") || c.contains("expired")
        }
        _ => false,
    }
}

fn split(values: Vec<serde_json::Value>) -> Result<DeltaPage, M365Error> {
    let mut page = DeltaPage::default();
    for v in values {
        if let Some(removed) = v.get("@removed") {
            let id = v
                .get("id")
                .and_then(|i| i.as_str())
                .unwrap_or_default()
                .to_owned();
            let reason = removed
                .get("reason")
                .and_then(|r| r.as_str())
                .unwrap_or("deleted")
                .to_owned();
            if !id.is_empty() {
                page.removed.push(Removed { id, reason });
            }
            continue;
        }
        let user: User = serde_json::from_value(v).map_err(|e| M365Error::Decode {
            what: "users delta".into(),
            detail: e.to_string(),
        })?;
        page.users.push(user);
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removed_entries_are_told_apart_from_users() {
        let page = split(vec![
            serde_json::json!({"id": "a", "userPrincipalName": "a@x"}),
            serde_json::json!({"id": "b", "@removed": {"reason": "changed"}}),
        ])
        .unwrap();
        assert_eq!(page.users.len(), 1);
        assert_eq!(
            page.removed,
            vec![Removed {
                id: "b".into(),
                reason: "changed".into()
            }]
        );
    }

    #[test]
    fn gone_state_is_recognised() {
        let e = M365Error::from_body("Graph", 410, b"", None, None);
        assert!(state_gone(&e));
        let e = M365Error::from_body(
            "Graph",
            400,
            br#"{"error":{"code":"syncStateNotFound","message":"x"}}"#,
            None,
            None,
        );
        assert!(state_gone(&e));
        let e = M365Error::from_body(
            "Graph",
            400,
            br#"{"error":{"code":"BadRequest","message":"x"}}"#,
            None,
            None,
        );
        assert!(!state_gone(&e));
    }
}
