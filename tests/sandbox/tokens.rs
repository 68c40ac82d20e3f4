//! Token endpoints (m365-facts B§3.1, B§3.3) and Graph's 401/403 answers.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{client, get, graph_token, mi_token, start_with, tls_client};

#[tokio::test]
async fn managed_identity_tokens_carry_expires_on_as_a_string_and_work_on_graph() {
    let sb = start_with(20, |_| {}).await;
    let e = sb.endpoints().clone();
    let r = client()
        .get(&e.identity_endpoint)
        .query(&[
            ("resource", "https://graph.microsoft.com"),
            ("api-version", "2019-08-01"),
        ])
        .header("X-IDENTITY-HEADER", &e.identity_header)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let expires_on = v["expires_on"]
        .as_str()
        .expect("expires_on must be a string");
    assert!(expires_on.parse::<i64>().unwrap() > 1_600_000_000);
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["resource"], "https://graph.microsoft.com");
    let token = v["access_token"].as_str().unwrap();
    assert_eq!(token.split('.').count(), 3);
    let (status, _, _) = get(&sb, token, "/users?$top=1").await;
    assert_eq!(status, 200);

    // The user-assigned identity by client id.
    let v: Value = client()
        .get(&e.identity_endpoint)
        .query(&[
            ("resource", "https://graph.microsoft.com"),
            ("api-version", "2019-08-01"),
            ("client_id", e.managed_identity_client_id.as_str()),
        ])
        .header("X-IDENTITY-HEADER", &e.identity_header)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["client_id"], e.managed_identity_client_id.as_str());
    sb.shutdown().await;
}

#[tokio::test]
async fn managed_identity_refuses_bad_headers_and_unknown_identities() {
    let sb = start_with(10, |_| {}).await;
    let e = sb.endpoints().clone();
    let q = [
        ("resource", "https://graph.microsoft.com"),
        ("api-version", "2019-08-01"),
    ];
    let missing = client()
        .get(&e.identity_endpoint)
        .query(&q)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);
    let wrong = client()
        .get(&e.identity_endpoint)
        .query(&q)
        .header("X-IDENTITY-HEADER", "guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let unknown = client()
        .get(&e.identity_endpoint)
        .query(&[
            q[0],
            q[1],
            ("client_id", "00000000-0000-0000-0000-000000000000"),
        ])
        .header("X-IDENTITY-HEADER", &e.identity_header)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
    let v: Value = unknown.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains("managed identity"));
    sb.shutdown().await;
}

async fn v2(sb: &photo_sync::sandbox::Sandbox, form: &[(&str, &str)]) -> (u16, Value) {
    let e = sb.endpoints();
    let url = format!("{}/{}/oauth2/v2.0/token", e.authority_host, e.tenant_id);
    let r = tls_client(sb).post(url).form(form).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn client_credentials_over_tls_give_expires_in_as_a_number() {
    let sb = start_with(10, |_| {}).await;
    let e = sb.endpoints().clone();
    assert!(e.authority_host.starts_with("https://127.0.0.1:"));
    let base = [
        ("grant_type", "client_credentials"),
        ("client_id", e.client_id.as_str()),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let (status, v) = v2(
        &sb,
        &[
            base[0],
            base[1],
            base[2],
            ("client_secret", &e.client_secret),
        ],
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["expires_in"], 3599);
    assert!(v["expires_in"].is_number());
    assert_eq!(v["token_type"], "Bearer");
    let token = v["access_token"].as_str().unwrap();
    assert_eq!(get(&sb, token, "/users?$top=1").await.0, 200);

    let (status, v) = v2(
        &sb,
        &[base[0], base[1], base[2], ("client_secret", "wrong")],
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(v["error"], "invalid_client");
    assert_eq!(v["error_codes"][0], 7000215);
    assert!(v["error_description"]
        .as_str()
        .unwrap()
        .starts_with("AADSTS7000215: Invalid client secret provided."));
    for key in ["timestamp", "trace_id", "correlation_id"] {
        assert!(v[key].is_string(), "{key} missing: {v}");
    }

    let (status, v) = v2(
        &sb,
        &[
            base[0],
            base[1],
            ("scope", "https://graph.microsoft.com/User.Read.All"),
            ("client_secret", &e.client_secret),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(v["error"], "invalid_scope");
    sb.shutdown().await;
}

#[tokio::test]
async fn federated_assertions_are_exchanged_and_forgeries_refused() {
    let sb = start_with(10, |_| {}).await;
    let e = sb.endpoints().clone();
    let assertion = sb
        .tenant()
        .federated_token("arn:aws:iam::123456789012:role/photo-sync");
    let form = |a: &str| {
        vec![
            ("grant_type", "client_credentials".to_string()),
            ("client_id", e.client_id.clone()),
            ("scope", "https://graph.microsoft.com/.default".to_string()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_string(),
            ),
            ("client_assertion", a.to_string()),
        ]
    };
    let url = format!("{}/{}/oauth2/v2.0/token", e.authority_host, e.tenant_id);
    let r = tls_client(&sb)
        .post(&url)
        .form(&form(&assertion))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut forged = assertion.clone();
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    let r = tls_client(&sb)
        .post(&url)
        .form(&form(&forged))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    sb.shutdown().await;
}

#[tokio::test]
async fn graph_answers_401_with_graph_error_shape_and_matching_request_ids() {
    let sb = start_with(10, |_| {}).await;
    let url = format!("{}/v1.0/users", sb.endpoints().graph_url);
    let r = client()
        .get(&url)
        .header("client-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let request_id = r.headers()["request-id"].to_str().unwrap().to_string();
    assert_eq!(r.headers()["client-request-id"], "abc-123");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "InvalidAuthenticationToken");
    assert_eq!(v["error"]["message"], "Access token is empty.");
    assert_eq!(v["error"]["innerError"]["request-id"], request_id.as_str());
    assert_eq!(v["error"]["innerError"]["client-request-id"], "abc-123");

    let (status, _, v) = get(&sb, "not.a.token", "/users").await;
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (401, Some("InvalidAuthenticationToken"))
    );

    // A SharePoint token is the wrong audience for Graph.
    let sp = mi_token(&sb, "https://contoso.sharepoint.com").await;
    let (status, _, v) = get(&sb, &sp, "/users").await;
    assert_eq!(status, 401);
    assert!(v["error"]["message"].as_str().unwrap().contains("audience"));

    let token = graph_token(&sb).await;
    sb.tenant().advance_clock(Duration::from_secs(3600));
    let (status, _, v) = get(&sb, &token, "/users").await;
    assert_eq!(status, 401);
    assert_eq!(
        v["error"]["message"],
        "Access token has expired or is not yet valid."
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn missing_app_roles_get_the_right_403_per_service() {
    let sb = start_with(20, |c| {
        c.granted_roles = vec!["ProfilePhoto.Read.All".into()]
    })
    .await;
    let token = graph_token(&sb).await;
    let (status, _, v) = get(&sb, &token, "/users").await;
    assert_eq!(status, 403);
    assert_eq!(v["error"]["code"], "Authorization_RequestDenied");
    let id = sb.tenant().users()[0].id.clone();
    let r = client()
        .put(format!(
            "{}/v1.0/users/{id}/photo/$value",
            sb.endpoints().graph_url
        ))
        .bearer_auth(&token)
        .header("content-type", "image/jpeg")
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "ErrorAccessDenied");
    sb.shutdown().await;
}
