//! `/users`: paging, `$top`, `$select`, `$filter` literals, UPN paths with `#EXT#`.

use std::collections::HashSet;

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::Value;

use crate::helpers::{client, get, graph_token, start_with};

#[tokio::test]
async fn users_page_with_next_links_until_every_user_was_seen_once() {
    let sb = start_with(250, |_| {}).await;
    let token = graph_token(&sb).await;
    let (_, _, first) = get(&sb, &token, "/users").await;
    assert_eq!(
        first["value"].as_array().unwrap().len(),
        100,
        "default page size"
    );
    assert!(
        first["value"][0].get("employeeId").is_none(),
        "not in the default set"
    );
    assert!(first["value"][0].get("businessPhones").is_some());

    let mut seen = HashSet::new();
    let mut next = Some(format!("{}/v1.0/users?$top=70", sb.endpoints().graph_url));
    let mut pages = 0;
    while let Some(url) = next {
        let (status, _, page) = get(&sb, &token, &url).await;
        assert_eq!(status, 200);
        for u in page["value"].as_array().unwrap() {
            assert!(seen.insert(u["id"].as_str().unwrap().to_string()));
        }
        next = page["@odata.nextLink"].as_str().map(str::to_owned);
        pages += 1;
    }
    assert_eq!(seen.len(), 250);
    assert_eq!(pages, 4);

    let (status, _, v) = get(&sb, &token, "/users?$top=1000").await;
    assert_eq!(status, 400);
    assert!(v["error"]["message"].as_str().unwrap().contains("999"));
    sb.shutdown().await;
}

#[tokio::test]
async fn select_returns_exactly_the_properties_asked_for() {
    let sb = start_with(20, |_| {}).await;
    let token = graph_token(&sb).await;
    let (_, _, v) = get(&sb, &token, "/users?$select=employeeId,userType&$top=3").await;
    let keys: HashSet<&str> = v["value"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, HashSet::from(["id", "employeeId", "userType"]));
    assert!(v["@odata.context"]
        .as_str()
        .unwrap()
        .ends_with("#users(employeeId,userType,id)"));
    let (status, _, _) = get(&sb, &token, "/users?$select=nonsense").await;
    assert_eq!(status, 400);
    sb.shutdown().await;
}

async fn filter(sb: &photo_sync::sandbox::Sandbox, token: &str, f: &str) -> (u16, Value) {
    let r = client()
        .get(format!("{}/v1.0/users", sb.endpoints().graph_url))
        .query(&[("$filter", f)])
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn filters_unescape_doubled_quotes_and_refuse_bare_ones() {
    let sb = start_with(300, |_| {}).await;
    let token = graph_token(&sb).await;
    let users = sb.tenant().users();
    let quoted = users
        .iter()
        .find(|u| u.user_principal_name.contains('\'') && u.user_type == "Member")
        .expect("seed has an O'Brien");
    let upn = &quoted.user_principal_name;
    let (status, v) = filter(
        &sb,
        &token,
        &format!("userPrincipalName eq '{}'", upn.replace('\'', "''")),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(v["value"].as_array().unwrap().len(), 1);
    assert_eq!(v["value"][0]["id"], quoted.id.as_str());

    let (status, v) = filter(&sb, &token, &format!("userPrincipalName eq '{upn}'")).await;
    assert_eq!(status, 400, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Syntax error") || msg.contains("unterminated"),
        "{msg}"
    );

    let with_eid = users.iter().find(|u| u.employee_id.is_some()).unwrap();
    let eid = with_eid.employee_id.clone().unwrap();
    let (_, v) = filter(&sb, &token, &format!("employeeId eq '{eid}'")).await;
    assert_eq!(v["value"][0]["id"], with_eid.id.as_str());
    let (status, _) = filter(&sb, &token, "jobTitle eq 'x'").await;
    assert_eq!(status, 400);
    sb.shutdown().await;
}

#[tokio::test]
async fn guests_resolve_by_encoded_ext_upn_in_paths_and_filters() {
    let sb = start_with(300, |_| {}).await;
    let token = graph_token(&sb).await;
    let guest = sb
        .tenant()
        .users()
        .into_iter()
        .find(|u| u.user_type == "Guest")
        .expect("~3% guests");
    assert!(guest.user_principal_name.contains("#EXT#"));
    assert!(guest.employee_id.is_none());
    let path = utf8_percent_encode(&guest.user_principal_name, NON_ALPHANUMERIC).to_string();
    assert!(path.contains("%23EXT%23"));
    let (status, _, v) = get(&sb, &token, &format!("/users/{path}?$select=userType")).await;
    assert_eq!(status, 200);
    assert_eq!(v["userType"], "Guest");
    assert_eq!(v["id"], guest.id.as_str());
    let (_, v) = filter(
        &sb,
        &token,
        &format!("userPrincipalName eq '{}'", guest.user_principal_name),
    )
    .await;
    assert_eq!(v["value"].as_array().unwrap().len(), 1);

    let (status, _, v) = get(&sb, &token, "/users/nobody@contoso.com").await;
    assert_eq!(status, 404);
    assert_eq!(v["error"]["code"], "Request_ResourceNotFound");
    sb.shutdown().await;
}
