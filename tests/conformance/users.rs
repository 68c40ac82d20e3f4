//! Users (user-list.md; m365-facts A§7, A§8.1): paging with `@odata.nextLink` and `$top`,
//! `$select`, `$filter` on UPN, mail and employeeId with OData literal rules,
//! case-insensitive UPN lookups, guests' `#EXT#` UPNs.

use std::collections::HashSet;

use serde_json::Value;

use crate::target::{q, seg, Target};

/// `$top` pages, each `@odata.nextLink` absolute and followed to the end, no user twice.
#[tokio::test]
async fn paging_follows_next_links_with_top_until_every_user_was_seen_once() {
    let t = Target::new(&[]).await;
    let mut url = t.url("/users?$top=7&$select=id,userPrincipalName");
    let mut seen = HashSet::new();
    let mut pages = 0;
    while pages < 40 {
        let a = t.get(&url).await;
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        let body = a.json();
        let page = body["value"].as_array().expect("value");
        assert!(page.len() <= 7, "at most $top per page");
        for u in page {
            assert!(
                seen.insert(u["id"].as_str().unwrap().to_owned()),
                "{u} twice"
            );
        }
        pages += 1;
        match body["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(next.starts_with("http"), "absolute nextLink: {next}");
                assert_eq!(page.len(), 7, "only the last page is short");
                url = next.to_owned();
            }
            None => break,
        }
    }
    assert!(pages > 1, "more than one page");
    if t.is_sandbox() {
        assert_eq!(seen.len(), t.sandbox_users().await.len(), "every user once");
    }
    let bad = t.get("/users?$top=1000").await;
    assert_eq!(bad.graph_error(400), "Request_BadRequest", "$top over 999");
}

/// `$select` returns exactly the properties asked for (plus OData annotations).
#[tokio::test]
async fn select_returns_exactly_the_properties_asked_for() {
    let t = Target::new(&[]).await;
    let a = t.get("/users?$top=3&$select=id,employeeId,mail").await;
    assert_eq!(a.status, 200);
    let body = a.json();
    assert!(body["@odata.context"]
        .as_str()
        .is_some_and(|c| c.contains("$metadata#users(id,employeeId,mail)")));
    for u in body["value"].as_array().unwrap() {
        let mut keys: Vec<&str> = u.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["employeeId", "id", "mail"], "{u}");
    }
}

async fn filter(t: &Target, expr: &str) -> (u16, Vec<Value>) {
    let a = t
        .get(&format!(
            "/users?$select=id,userPrincipalName&$filter={}",
            q(expr)
        ))
        .await;
    let rows = a.json()["value"].as_array().cloned().unwrap_or_default();
    (a.status, rows)
}

/// `$filter` with `eq` on userPrincipalName (any case), mail and employeeId finds the
/// user; a doubled quote is a quote; a bare quote is a 400.
#[tokio::test]
async fn filters_on_upn_mail_and_employee_id_follow_odata_literal_rules() {
    let t = Target::new(&["--users", "300"]).await;
    let upn = t.user_with_photo().await;
    let me = t
        .get(&format!("/users/{}?$select=id,mail,employeeId", seg(&upn)))
        .await
        .json();
    let id = me["id"].as_str().expect("id").to_owned();
    let ids = |rows: &[Value]| -> Vec<String> {
        rows.iter()
            .map(|r| r["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let (s, rows) = filter(&t, &format!("userPrincipalName eq '{upn}'")).await;
    assert_eq!((s, ids(&rows)), (200, vec![id.clone()]), "by UPN");
    let (s, rows) = filter(
        &t,
        &format!("userPrincipalName eq '{}'", upn.to_uppercase()),
    )
    .await;
    assert_eq!((s, ids(&rows)), (200, vec![id.clone()]), "UPN in capitals");
    if let Some(mail) = me["mail"].as_str() {
        let (s, rows) = filter(&t, &format!("mail eq '{mail}'")).await;
        assert_eq!((s, ids(&rows)), (200, vec![id.clone()]), "by mail");
    }
    if let Some(emp) = me["employeeId"].as_str() {
        let (s, rows) = filter(&t, &format!("employeeId eq '{emp}'")).await;
        assert_eq!((s, ids(&rows)), (200, vec![id.clone()]), "by employeeId");
    }
    // A doubled quote is one quote inside the literal: valid, and matches nobody here.
    let (s, rows) = filter(&t, "userPrincipalName eq 'o''nobody@example.invalid'").await;
    assert_eq!((s, rows.len()), (200, 0), "doubled quote");
    let a = t
        .get(&format!(
            "/users?$filter={}",
            q("userPrincipalName eq 'o'nobody@example.invalid'")
        ))
        .await;
    a.graph_error(400);
    let a = t
        .get(&format!(
            "/users?$filter={}",
            q("userPrincipalName eq 'unterminated")
        ))
        .await;
    a.graph_error(400);

    if t.is_sandbox() {
        // A seeded user whose UPN carries an apostrophe is found through its escaped form.
        let users = t.sandbox_users().await;
        let quoted = users
            .iter()
            .filter_map(|u| u["userPrincipalName"].as_str())
            .find(|u| u.contains('\''));
        let upn = quoted.expect("the seed has a UPN with an apostrophe");
        let (s, rows) = filter(
            &t,
            &format!("userPrincipalName eq '{}'", upn.replace('\'', "''")),
        )
        .await;
        assert_eq!((s, rows.len()), (200, 1), "{upn}");
    }
}

/// `GET /users/{UPN}` ignores case; guests' `#EXT#` UPNs resolve when `#` is encoded.
#[tokio::test]
async fn upn_lookups_ignore_case_and_guests_resolve_encoded() {
    let t = Target::new(&[]).await;
    let upn = t.user_with_photo().await;
    let lower = t.get(&format!("/users/{}", seg(&upn.to_lowercase()))).await;
    let upper = t.get(&format!("/users/{}", seg(&upn.to_uppercase()))).await;
    assert_eq!((lower.status, upper.status), (200, 200));
    assert_eq!(lower.json()["id"], upper.json()["id"]);
    let id = lower.json()["id"].as_str().unwrap().to_owned();
    let by_id = t.get(&format!("/users/{id}")).await;
    assert_eq!(
        by_id.json()["userPrincipalName"].as_str(),
        Some(upn.as_str())
    );

    let nobody = t.get("/users/nobody%40example.invalid").await;
    assert_eq!(nobody.graph_error(404), "Request_ResourceNotFound");

    let Some(guest) = t.guest().await else {
        t.stop_unless(false, "no CONFORMANCE_GUEST given");
        return;
    };
    assert!(guest.contains("#EXT#"), "{guest}");
    let a = t.get(&format!("/users/{}", seg(&guest))).await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.json()["userPrincipalName"].as_str(), Some(guest.as_str()));
    let (s, rows) = filter(&t, &format!("userPrincipalName eq '{guest}'")).await;
    assert_eq!((s, rows.len()), (200, 1), "guest by filter with %23");
}
