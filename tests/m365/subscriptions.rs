//! Subscriptions through the Graph client against the sandbox: the validation handshake
//! is answered by a receiver on loopback; create, list, renew, reauthorize, delete.

use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use photo_sync::config::Secret;
use photo_sync::graph::NewSubscription;
use photo_sync::sandbox::{Sandbox, SandboxConfig};

use crate::helpers::{graph_for, serve};

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

/// Echoes `validationToken` as text/plain (B§1.2) when `echo` is true; records bodies.
fn receiver(seen: Seen, echo: bool) -> Router {
    Router::new()
        .route(
            "/api/notifications",
            post(
                move |State(seen): State<Seen>,
                      Query(q): Query<std::collections::HashMap<String, String>>,
                      body: String| async move {
                    if let Some(token) = q.get("validationToken") {
                        if !echo {
                            return (StatusCode::OK, "wrong").into_response();
                        }
                        return ([("content-type", "text/plain")], token.clone()).into_response();
                    }
                    seen.0.lock().unwrap().push(body);
                    StatusCode::ACCEPTED.into_response()
                },
            ),
        )
        .with_state(seen)
}

fn new_sub(url: &str) -> NewSubscription {
    NewSubscription {
        resource: "/users".into(),
        notification_url: format!("{url}/api/notifications"),
        lifecycle_notification_url: None,
        client_state: Secret::new("a-client-state-of-decent-length"),
        minutes: 60 * 24 * 3,
    }
}

async fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig {
        allow_http_notification_url: true,
        ..SandboxConfig::default()
    })
    .await
    .unwrap()
}

/// The whole life of a subscription, and a change notification in the real shape.
#[tokio::test]
async fn create_list_renew_reauthorize_delete() {
    let sb = sandbox().await;
    let (graph, _creds) = graph_for(&sb).await;
    let seen = Seen::default();
    let url = serve(receiver(seen.clone(), true)).await;
    let sub = graph.create_subscription(&new_sub(&url)).await.unwrap();
    assert_eq!(sub.change_type, "updated,deleted");
    let listed = graph.list_subscriptions().await.unwrap();
    assert_eq!(
        listed.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        [sub.id.as_str()]
    );

    let renewed = graph
        .renew_subscription(&sub.id, 60 * 24 * 20)
        .await
        .unwrap();
    assert!(
        renewed.expiration_date_time > sub.expiration_date_time,
        "{renewed:?}"
    );
    graph.reauthorize_subscription(&sub.id).await.unwrap();

    // A user change reaches the receiver in Graph's payload shape (B§1.6).
    let user = sb.tenant().users()[0].clone();
    sb.tenant()
        .update_user(&user.id, |u| u.display_name = "Changed".into())
        .unwrap();
    let mut body = None;
    for _ in 0..100 {
        if let Some(b) = seen.0.lock().unwrap().first().cloned() {
            body = Some(b);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let v: serde_json::Value =
        serde_json::from_str(&body.expect("no notification arrived")).unwrap();
    let n = &v["value"][0];
    assert_eq!(n["changeType"], "updated");
    assert_eq!(n["resource"], format!("Users/{}", user.id));
    assert_eq!(n["clientState"], "a-client-state-of-decent-length");
    let seq = n["resourceData"]["sequenceNumber"]
        .as_u64()
        .expect("an integer sequenceNumber");
    assert!(seq > 1u64 << 53, "{seq}");

    graph.delete_subscription(&sub.id).await.unwrap();
    assert!(graph.list_subscriptions().await.unwrap().is_empty());
    graph.delete_subscription(&sub.id).await.unwrap(); // already gone: fine
}

/// A receiver that fails the handshake makes the create fail with Graph's 400; rules are
/// checked before anything is sent.
#[tokio::test]
async fn a_failed_handshake_and_bad_requests_are_refused() {
    let sb = sandbox().await;
    let (graph, _creds) = graph_for(&sb).await;
    let url = serve(receiver(Seen::default(), false)).await;
    let e = graph.create_subscription(&new_sub(&url)).await.unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");

    let mut s = new_sub("http://example.com");
    let e = graph.create_subscription(&s).await.unwrap_err();
    assert!(e.to_string().contains("https"), "{e}");
    s.notification_url = "https://example.com/api/notifications".into();
    s.client_state = Secret::new("x".repeat(129));
    let e = graph.create_subscription(&s).await.unwrap_err();
    assert!(e.to_string().contains("128"), "{e}");
    assert!(!e.to_string().contains(&"x".repeat(129)));
}
