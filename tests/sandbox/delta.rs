//! `/users/delta` (m365-facts B§2.1).

use std::collections::HashMap;
use std::time::Duration;

use photo_sync::sandbox::{NewUser, Sandbox};
use serde_json::Value;

use crate::helpers::{get, graph_token, start_with};

/// Follow nextLinks to the deltaLink: (all rows, deltaLink, pages).
async fn round(sb: &Sandbox, token: &str, start: &str) -> (Vec<Value>, String, usize) {
    let mut rows = Vec::new();
    let mut url = start.to_string();
    let mut pages = 0;
    loop {
        let (status, _, page) = get(sb, token, &url).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        rows.extend(page["value"].as_array().unwrap().iter().cloned());
        if let Some(next) = page["@odata.nextLink"].as_str() {
            assert!(next.contains("$skiptoken="));
            url = next.to_string();
        } else {
            let delta = page["@odata.deltaLink"]
                .as_str()
                .expect("deltaLink on the last page");
            assert!(delta.contains("$deltatoken="));
            return (rows, delta.to_string(), pages);
        }
    }
}

#[tokio::test]
async fn later_rounds_return_only_changes_with_removals() {
    let sb = start_with(250, |_| {}).await;
    let token = graph_token(&sb).await;
    let (rows, link, pages) = round(&sb, &token, "/users/delta").await;
    assert_eq!((rows.len(), pages), (250, 3));

    let t = sb.tenant();
    let users = t.users();
    t.update_user(&users[0].id, |u| u.display_name = "Renamed Person".into())
        .unwrap();
    t.delete_user(&users[1].id).unwrap();
    t.purge_user(&users[2].id).unwrap();
    let created = t
        .create_user(NewUser {
            user_principal_name: "new.starter@contoso.com".into(),
            display_name: "New Starter".into(),
            mail: Some("new.starter@contoso.com".into()),
            employee_id: Some("E999999".into()),
        })
        .unwrap();
    let (rows, link, _) = round(&sb, &token, &link).await;
    let by_id: HashMap<&str, &Value> = rows
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r))
        .collect();
    assert_eq!(by_id.len(), 4, "{rows:?}");
    assert_eq!(by_id[users[0].id.as_str()]["displayName"], "Renamed Person");
    assert_eq!(by_id[users[1].id.as_str()]["@removed"]["reason"], "changed");
    assert_eq!(by_id[users[2].id.as_str()]["@removed"]["reason"], "deleted");
    assert_eq!(
        by_id[created.id.as_str()]["userPrincipalName"],
        "new.starter@contoso.com"
    );

    let (rows, _, _) = round(&sb, &token, &link).await;
    assert!(rows.is_empty(), "nothing changed since: {rows:?}");
    sb.shutdown().await;
}

#[tokio::test]
async fn with_select_only_changes_to_selected_properties_surface() {
    let sb = start_with(20, |_| {}).await;
    let token = graph_token(&sb).await;
    let (rows, link, _) = round(&sb, &token, "/users/delta?$select=displayName,mail").await;
    assert_eq!(
        rows[0].as_object().unwrap().len(),
        3,
        "id + the two selected"
    );
    let t = sb.tenant();
    let users = t.users();
    t.update_user(&users[0].id, |u| u.job_title = Some("Chief Tester".into()))
        .unwrap();
    t.update_user(&users[1].id, |u| u.display_name = "Visible Change".into())
        .unwrap();
    let (rows, _, _) = round(&sb, &token, &link).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["id"], users[1].id.as_str());
    assert!(rows[0].get("jobTitle").is_none());
    sb.shutdown().await;
}

#[tokio::test]
async fn invalidated_tokens_get_410_with_location_and_old_ones_expire() {
    let sb = start_with(20, |_| {}).await;
    let token = graph_token(&sb).await;
    let (_, _, latest) = get(&sb, &token, "/users/delta?$deltatoken=latest").await;
    assert!(latest["value"].as_array().unwrap().is_empty());
    let link = latest["@odata.deltaLink"].as_str().unwrap().to_string();
    assert_eq!(get(&sb, &token, &link).await.0, 200);

    sb.tenant().invalidate_delta_tokens();
    let (status, headers, v) = get(&sb, &token, &link).await;
    assert_eq!(status, 410);
    assert!(headers["location"]
        .to_str()
        .unwrap()
        .ends_with("/v1.0/users/delta"));
    assert!(v["error"]["code"].is_string());

    let (_, fresh, _) = round(&sb, &token, "/users/delta").await;
    sb.tenant()
        .advance_clock(Duration::from_secs(8 * 24 * 3600));
    let token = graph_token(&sb).await;
    let (status, _, v) = get(&sb, &token, &fresh).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "syncStateNotFound");
    sb.shutdown().await;
}
