//! Change-notification subscriptions on users (m365-facts B§1.1–1.6): the validation
//! handshake (201 only after the endpoint echoes the decoded token in time, 400
//! otherwise), the maximum lifetime, `clientState` ≤ 128, only `updated` and `deleted`,
//! https only, and notifications in Graph's payload shape.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use reqwest::Method;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::target::Target;

/// How the test endpoint answers the validation request.
#[derive(Clone, Copy, PartialEq)]
enum Echo {
    /// The decoded token as text/plain, at once.
    Token,
    /// Some other text.
    Wrong,
    /// The token, but after Graph's 10 s.
    Late,
}

#[derive(Clone)]
struct Endpoint {
    echo: Echo,
    received: Arc<Mutex<Vec<Value>>>,
}

async fn receive(
    State(ep): State<Endpoint>,
    Query(q): Query<Vec<(String, String)>>,
    body: axum::body::Bytes,
) -> axum::response::Response {
    if let Some((_, token)) = q.iter().find(|(k, _)| k == "validationToken") {
        return match ep.echo {
            Echo::Token => ([("content-type", "text/plain")], token.clone()).into_response(),
            Echo::Wrong => ([("content-type", "text/plain")], "not the token").into_response(),
            Echo::Late => {
                tokio::time::sleep(Duration::from_secs(12)).await;
                ([("content-type", "text/plain")], token.clone()).into_response()
            }
        };
    }
    if let Ok(v) = serde_json::from_slice::<Value>(&body) {
        ep.received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(v);
    }
    StatusCode::ACCEPTED.into_response()
}

/// A notification endpoint on loopback: (URL, what it received).
async fn endpoint(echo: Echo) -> (String, Arc<Mutex<Vec<Value>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(Endpoint {
            echo,
            received: Arc::clone(&received),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), received)
}

fn minutes_ahead(m: i64) -> String {
    (OffsetDateTime::now_utc() + time::Duration::minutes(m))
        .format(&Rfc3339)
        .expect("time")
}

fn body(url: &str, change_type: &str, minutes: i64, client_state: &str) -> Value {
    json!({
        "changeType": change_type,
        "notificationUrl": url,
        "resource": "/users",
        "expirationDateTime": minutes_ahead(minutes),
        "clientState": client_state,
    })
}

/// B§1.1: 41,760 minutes at most, shorter than 45 raised to 45; `created` refused;
/// `clientState` at most 128 characters; plain http refused unless the sandbox allows it.
#[tokio::test]
async fn subscription_rules_are_enforced() {
    let t = Target::new(&["--allow-http-notifications"]).await;
    if t.stop_unless(t.is_sandbox(), "subscriptions need a public https endpoint") {
        return;
    }
    let (url, _) = endpoint(Echo::Token).await;
    let code = t
        .post("/subscriptions", &body(&url, "created", 60, "s"))
        .await
        .graph_error(400);
    assert_eq!(code, "InvalidRequest");
    t.post("/subscriptions", &body(&url, "updated", 41_760 + 10, "s"))
        .await
        .graph_error(400);
    t.post(
        "/subscriptions",
        &body(&url, "updated", 60, &"x".repeat(129)),
    )
    .await
    .graph_error(400);

    let ok = t
        .post(
            "/subscriptions",
            &body(&url, "updated,deleted", 41_760 - 10, &"x".repeat(128)),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", String::from_utf8_lossy(&ok.body));
    let sub = ok.json();
    assert_eq!(sub["changeType"], "updated,deleted");
    assert!(sub["id"].is_string());
    let short = t
        .post("/subscriptions", &body(&url, "updated", 5, "s"))
        .await;
    assert_eq!(short.status, 201);
    let exp = OffsetDateTime::parse(
        short.json()["expirationDateTime"].as_str().unwrap(),
        &Rfc3339,
    )
    .unwrap();
    assert!(
        exp >= OffsetDateTime::now_utc() + time::Duration::minutes(44),
        "raised to 45 minutes: {exp}"
    );

    let strict = Target::sandbox(&[]).await;
    let code = strict
        .post("/subscriptions", &body(&url, "updated", 60, "s"))
        .await
        .graph_error(400);
    assert_eq!(
        code, "InvalidRequest",
        "http refused without --allow-http-notifications"
    );
}

/// B§1.2: 201 only after the endpoint echoes the decoded token within 10 s; a wrong
/// answer or a late one is 400 and no subscription exists. Then a user change arrives
/// as Graph sends it (B§1.6).
#[tokio::test]
async fn the_handshake_decides_and_notifications_follow() {
    let t = Target::new(&["--allow-http-notifications"]).await;
    if t.stop_unless(t.is_sandbox(), "subscriptions need a public https endpoint") {
        return;
    }
    for echo in [Echo::Wrong, Echo::Late] {
        let (url, _) = endpoint(echo).await;
        let started = std::time::Instant::now();
        t.post("/subscriptions", &body(&url, "updated", 60, "s"))
            .await
            .graph_error(400);
        if echo == Echo::Late {
            assert!(
                started.elapsed() >= Duration::from_secs(9),
                "Graph waits its 10 s"
            );
        }
    }
    let listed = t.get("/subscriptions").await.json();
    assert_eq!(
        listed["value"].as_array().map(Vec::len),
        Some(0),
        "failed handshakes leave nothing"
    );

    let (url, received) = endpoint(Echo::Token).await;
    let ok = t
        .post("/subscriptions", &body(&url, "updated", 60, "our-state"))
        .await;
    assert_eq!(ok.status, 201, "{}", String::from_utf8_lossy(&ok.body));
    let sub_id = ok.json()["id"].as_str().unwrap().to_owned();
    let users = t.sandbox_users().await;
    let id = users[0]["id"].as_str().unwrap().to_owned();
    let a = t
        .control(
            Method::PATCH,
            &format!("/users/{id}"),
            Some(json!({"jobTitle": "Notified"})),
        )
        .await;
    assert_eq!(a.status, 200);
    let mut got = None;
    for _ in 0..100 {
        got = received
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .first()
            .cloned();
        if got.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let n = got.expect("a notification within 5 s");
    let item = &n["value"][0];
    assert_eq!(item["changeType"], "updated");
    assert_eq!(item["clientState"], "our-state");
    assert_eq!(item["subscriptionId"].as_str(), Some(sub_id.as_str()));
    assert_eq!(item["resource"], format!("Users/{id}"));
    assert_eq!(item["resourceData"]["id"].as_str(), Some(id.as_str()));
    assert!(item["resourceData"]["sequenceNumber"].is_u64(), "{item}");
}
