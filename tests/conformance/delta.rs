//! `/users/delta` (m365-facts B§2.1): pages to a `deltaLink`, later rounds carry only
//! changes, invalidated tokens get 410 with a `Location`, expired ones 400
//! `syncStateNotFound` or 410 (`--delta-expired`).

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{json, Value};

use crate::target::Target;

/// Follow `@odata.nextLink` to the `@odata.deltaLink`: (rows, deltaLink).
async fn round(t: &Target, start: &str) -> (Vec<Value>, String) {
    let mut rows = Vec::new();
    let mut url = start.to_owned();
    for _ in 0..2_000 {
        let a = t.get(&url).await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        let page = a.json();
        rows.extend(page["value"].as_array().cloned().unwrap_or_default());
        if let Some(next) = page["@odata.nextLink"].as_str() {
            assert!(next.contains("$skiptoken="), "{next}");
            url = next.to_owned();
        } else {
            let delta = page["@odata.deltaLink"]
                .as_str()
                .expect("deltaLink on the last page");
            assert!(delta.contains("$deltatoken="), "{delta}");
            return (rows, delta.to_owned());
        }
    }
    panic!("no deltaLink after 2,000 pages");
}

/// A full round sees every user once; the next round from the deltaLink only what
/// changed since: a new user, a changed title, a soft-deleted user as `@removed`.
#[tokio::test]
async fn later_rounds_carry_only_changes() {
    let t = Target::new(&[]).await;
    let (first, link) = round(&t, "/users/delta?$select=id,displayName,jobTitle").await;
    assert!(!first.is_empty());
    let (quiet, link2) = round(&t, &link).await;
    if t.stop_unless(
        t.is_sandbox(),
        "changes are made through the sandbox's control plane",
    ) {
        assert!(
            quiet.len() < first.len(),
            "a second round is not a full one"
        );
        return;
    }
    assert!(quiet.is_empty(), "nothing changed: {quiet:?}");
    let mut ids: Vec<String> = first
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len(),
        t.sandbox_users().await.len(),
        "the full round saw every user once"
    );

    let made = t
        .control(Method::POST, "/users", Some(json!({"userPrincipalName": "new.hire@contoso.onmicrosoft.com", "displayName": "New Hire"})))
        .await;
    assert_eq!(made.status, 201, "{}", String::from_utf8_lossy(&made.body));
    let new_id = made.json()["id"].as_str().unwrap().to_owned();
    let changed = t
        .control(
            Method::PATCH,
            &format!("/users/{}", ids[0]),
            Some(json!({"jobTitle": "Chief Photographer"})),
        )
        .await;
    assert_eq!(changed.status, 200);
    let gone = t
        .control(Method::DELETE, &format!("/users/{}", ids[1]), None)
        .await;
    assert_eq!(gone.status, 204);

    let (rows, _) = round(&t, &link2).await;
    let by_id: HashMap<&str, &Value> = rows
        .iter()
        .filter_map(|r| Some((r["id"].as_str()?, r)))
        .collect();
    assert_eq!(by_id.len(), 3, "exactly the three changes: {rows:?}");
    assert_eq!(by_id[new_id.as_str()]["displayName"], "New Hire");
    assert_eq!(by_id[ids[0].as_str()]["jobTitle"], "Chief Photographer");
    assert_eq!(by_id[ids[1].as_str()]["@removed"]["reason"], "changed");
}

/// An invalidated token: 410 Gone with a `Location` to start over. A token past its
/// seven days: 400 `syncStateNotFound` by default, 410 with `--delta-expired 410`.
#[tokio::test]
async fn invalidated_and_expired_tokens_ask_for_a_full_sync() {
    let t = Target::new(&[]).await;
    if t.stop_unless(
        t.is_sandbox(),
        "token invalidation and expiry need the sandbox's clock",
    ) {
        return;
    }
    let (_, link) = round(&t, "/users/delta?$select=id").await;
    let a = t.control(Method::POST, "/delta/invalidate", None).await;
    assert_eq!(a.status, 204);
    let gone = t.get(&link).await;
    gone.graph_error(410);
    let location = gone.header("location").expect("Location");
    assert!(
        location.ends_with("/v1.0/users/delta?$select=id"),
        "{location}"
    );

    for (flag, status, code) in [
        ("400", 400, "syncStateNotFound"),
        ("410", 410, "resyncRequired"),
    ] {
        let mut t = Target::sandbox(&["--delta-expired", flag]).await;
        let (_, link) = round(&t, "/users/delta").await;
        let a = t
            .control(
                Method::POST,
                "/clock/advance",
                Some(json!({"seconds": 8 * 24 * 3600})),
            )
            .await;
        assert_eq!(a.status, 200);
        t.token = t.identity_token("https://graph.microsoft.com").await;
        let a = t.get(&link).await;
        assert_eq!(a.graph_error(status), code, "--delta-expired {flag}");
    }
}
