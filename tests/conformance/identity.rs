//! Identity: the App Service managed-identity protocol (m365-facts B§3.1, B§3.5) and
//! Graph's refusal of tokens it cannot accept (401 `InvalidAuthenticationToken`).

use base64::Engine as _;
use reqwest::Method;
use serde_json::{json, Value};

use crate::target::Target;

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT with a payload");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&raw).expect("JSON claims")
}

/// B§3.1: `X-IDENTITY-HEADER` is required, `expires_on` is a string of epoch seconds,
/// the token carries the resource as its audience.
#[tokio::test]
async fn managed_identity_endpoint_speaks_the_app_service_protocol() {
    let t = Target::new(&[]).await;
    if t.stop_unless(t.is_sandbox(), "the identity endpoint exists only on Azure") {
        return;
    }
    let endpoint = t.endpoint("identity_endpoint");
    let query = [
        ("api-version", "2019-08-01"),
        ("resource", "https://graph.microsoft.com"),
    ];
    let without = t.send(t.http.get(&endpoint).query(&query)).await;
    assert_eq!(without.status, 400, "no X-IDENTITY-HEADER");
    let wrong = t
        .send(
            t.http
                .get(&endpoint)
                .query(&query)
                .header("X-IDENTITY-HEADER", "not-the-header"),
        )
        .await;
    assert!(
        matches!(wrong.status, 400 | 401),
        "a wrong header is refused"
    );

    let ok = t
        .send(
            t.http
                .get(&endpoint)
                .query(&query)
                .header("X-IDENTITY-HEADER", t.endpoint("identity_header")),
        )
        .await;
    assert_eq!(ok.status, 200);
    let body = ok.json();
    let expires_on = body["expires_on"].as_str().expect("expires_on is a string");
    let exp: i64 = expires_on.parse().expect("epoch seconds");
    assert!(exp > 1_700_000_000, "{exp}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["resource"], "https://graph.microsoft.com");
    let c = claims(body["access_token"].as_str().unwrap());
    assert_eq!(c["aud"], "https://graph.microsoft.com");
    assert_eq!(c["tid"], t.endpoint("tenant_id"));
    assert_eq!(
        c["exp"].as_i64(),
        Some(exp),
        "expires_on is the token's exp"
    );

    let no_resource = t
        .send(
            t.http
                .get(&endpoint)
                .query(&[("api-version", "2019-08-01")])
                .header("X-IDENTITY-HEADER", t.endpoint("identity_header")),
        )
        .await;
    assert_eq!(no_resource.status, 400, "resource is required");
}

/// Graph answers 401 `InvalidAuthenticationToken` to a missing, malformed, forged,
/// expired or wrong-audience token, in its error shape.
#[tokio::test]
async fn graph_refuses_tokens_it_cannot_accept() {
    let t = Target::new(&[]).await;
    let users = t.url("/users?$top=1");
    let expect_401 = |a: crate::target::Answer, what: &str| {
        let code = a.graph_error(401);
        assert_eq!(code, "InvalidAuthenticationToken", "{what}");
    };
    expect_401(t.send(t.http.get(&users)).await, "no token");
    expect_401(
        t.send(t.http.get(&users).bearer_auth("not-a-token")).await,
        "malformed",
    );
    let mut parts: Vec<String> = t.token.split('.').map(str::to_owned).collect();
    if let Some(sig) = parts.get_mut(2) {
        let flipped = if sig.starts_with('A') { "B" } else { "A" };
        sig.replace_range(0..1, flipped);
    }
    expect_401(
        t.send(t.http.get(&users).bearer_auth(parts.join(".")))
            .await,
        "forged signature",
    );
    assert_eq!(
        t.get("/users?$top=1").await.status,
        200,
        "the real token works"
    );
    if t.stop_unless(
        t.is_sandbox(),
        "expired and storage tokens need the sandbox",
    ) {
        return;
    }
    let storage = t.identity_token("https://storage.azure.com").await;
    expect_401(
        t.send(t.http.get(&users).bearer_auth(storage)).await,
        "wrong audience",
    );
    let a = t
        .control(
            Method::POST,
            "/clock/advance",
            Some(json!({"seconds": 26 * 3600})),
        )
        .await;
    assert_eq!(a.status, 200);
    expect_401(t.get("/users?$top=1").await, "expired");
}
