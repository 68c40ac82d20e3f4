//! Canned answers for what the sandbox cannot produce. Each test names the rule it checks.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use photo_sync::graph::{M365Error, PhotoState, UserKey};

use crate::helpers::{client, quick_policy, serve};

fn counter() -> Arc<AtomicU32> {
    Arc::new(AtomicU32::new(0))
}

/// 429 with fractional `Retry-After`, then 503 with an HTTP date, then success: the client
/// waits what each says (m365-facts B§2.3) and sends the bearer token every time.
#[tokio::test]
async fn throttling_answers_are_retried_after_the_time_they_give() {
    let n = counter();
    let seen = Arc::clone(&n);
    let app = Router::new().route(
        "/v1.0/users/{id}",
        get(move |headers: HeaderMap| {
            let n = Arc::clone(&seen);
            async move {
                assert_eq!(headers["authorization"], "Bearer test-token-value");
                match n.fetch_add(1, Ordering::SeqCst) {
                    0 => (
                        StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", "0.3")],
                        "{}",
                    )
                        .into_response(),
                    1 => {
                        let at = httpdate::fmt_http_date(
                            std::time::SystemTime::now() + Duration::from_secs(1),
                        );
                        (StatusCode::SERVICE_UNAVAILABLE, [("retry-after", at)], "").into_response()
                    }
                    _ => axum::Json(
                        serde_json::json!({"id": "u1", "userPrincipalName": "a@contoso.com"}),
                    )
                    .into_response(),
                }
            }
        }),
    );
    let base = serve(app).await;
    let graph = client(&base, quick_policy());
    let t = Instant::now();
    let user = graph
        .user(&UserKey::Id("u1".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.id, "u1");
    assert_eq!(n.load(Ordering::SeqCst), 3);
    // 0.3 s + the rest of the HTTP-date second (whole seconds: at least 0.3 + ~0.0–1.0).
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(graph.rest().counters.throttled.load(Ordering::SeqCst), 1);
    assert_eq!(graph.rest().counters.retries.load(Ordering::SeqCst), 2);
}

/// A proxy's HTML page, a truncated JSON body and a 2xx with the wrong shape each give a
/// typed error with a sentence, never a panic.
#[tokio::test]
async fn foreign_and_broken_bodies_are_typed_errors() {
    let app = Router::new()
        .route(
            "/v1.0/users/{id}",
            get(|axum::extract::Path(id): axum::extract::Path<String>| async move {
                match id.as_str() {
                    "html" => (
                        StatusCode::FORBIDDEN,
                        [("content-type", "text/html")],
                        "<!DOCTYPE html><html><head><title>Access denied by corporate proxy</title></head></html>",
                    )
                        .into_response(),
                    "truncated" => (StatusCode::OK, [("content-type", "application/json")], r#"{"id":"x","userPrinc"#).into_response(),
                    "html200" => (StatusCode::OK, [("content-type", "text/html")], "<html><body>Sign in to continue</body></html>").into_response(),
                    "denied" => (
                        StatusCode::FORBIDDEN,
                        r#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}"#,
                    )
                        .into_response(),
                    "huge" => (
                        StatusCode::OK,
                        r#"{"id":"x","userPrincipalName":"a@b","employeeId":"E1","accountEnabled":true,"extra":123456789012345678901234567890}"#,
                    )
                        .into_response(),
                    _ => (StatusCode::OK, [("content-type", "application/json")], r#"[1,2,3]"#).into_response(),
                }
            }),
        );
    let graph = client(&serve(app).await, quick_policy());
    let e = graph.user(&UserKey::Id("html".into())).await.unwrap_err();
    assert_eq!(e.code(), Some("HtmlErrorPage"));
    assert!(
        e.to_string().contains("Access denied by corporate proxy"),
        "{e}"
    );
    let e = graph
        .user(&UserKey::Id("truncated".into()))
        .await
        .unwrap_err();
    assert!(matches!(e, M365Error::Decode { .. }), "{e}");
    let e = graph
        .user(&UserKey::Id("html200".into()))
        .await
        .unwrap_err();
    assert!(matches!(e, M365Error::Decode { .. }), "{e}");
    let e = graph.user(&UserKey::Id("denied".into())).await.unwrap_err();
    assert!(e.to_string().contains("grant User.Read.All"), "{e}");
    // Numbers beyond 2^53 (and beyond u64) in fields we do not read change nothing.
    let u = graph
        .user(&UserKey::Id("huge".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u.employee_id.as_deref(), Some("E1"));
    let e = graph.user(&UserKey::Id("array".into())).await.unwrap_err();
    assert!(matches!(e, M365Error::Decode { .. }), "{e}");
    assert!(!e.to_string().contains("test-token-value"));
}

/// An endpoint that never answers: each attempt times out, the call ends after the
/// policy's attempts, well before anything hangs.
#[tokio::test]
async fn a_hanging_endpoint_times_out_per_attempt_and_gives_up() {
    let n = counter();
    let seen = Arc::clone(&n);
    let app = Router::new().route(
        "/v1.0/users/{id}/photo",
        get(move || {
            seen.fetch_add(1, Ordering::SeqCst);
            async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                ""
            }
        }),
    );
    let graph = client(&serve(app).await, quick_policy());
    let t = Instant::now();
    let e = graph.photo_meta("u1").await.unwrap_err();
    assert!(matches!(e, M365Error::Timeout { attempts: 4, .. }), "{e}");
    assert!(e.is_retryable());
    assert_eq!(n.load(Ordering::SeqCst), 4);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
}

/// A connection closed without an answer is retried for a read.
#[tokio::test]
async fn a_dropped_connection_is_retried_for_reads() {
    // A raw TCP server: the first connection is closed at once, later ones get an answer.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let n = counter();
    let seen = Arc::clone(&n);
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let k = seen.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                if k == 0 {
                    return; // drop: no answer at all
                }
                let body = r#"{"@odata.mediaContentType":"image/jpeg","@odata.mediaEtag":"\"E1\"","id":"648x648","width":648,"height":648}"#;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    let graph = client(&format!("http://{addr}"), quick_policy());
    match graph.photo_meta("u1").await.unwrap() {
        PhotoState::Present(m) => assert_eq!(m.etag, "\"E1\""),
        PhotoState::Absent => panic!("photo read as absent"),
    }
    assert_eq!(n.load(Ordering::SeqCst), 2);
}

/// A `nextLink` pointing at another host is refused: the token is never sent elsewhere.
#[tokio::test]
async fn links_to_other_hosts_are_never_followed() {
    let app = Router::new().route(
        "/v1.0/users",
        get(|| async {
            axum::Json(serde_json::json!({
                "value": [{"id": "a"}],
                "@odata.nextLink": "https://evil.example/v1.0/users?$skiptoken=x"
            }))
        }),
    );
    let graph = client(&serve(app).await, quick_policy());
    let page = graph.users_page(None, 10).await.unwrap();
    let e = graph
        .users_page(page.next_link.as_deref(), 10)
        .await
        .unwrap_err();
    assert!(matches!(e, M365Error::Refused(_)), "{e}");
    assert!(e.to_string().contains("evil.example"), "{e}");
}

/// A 400 is not retried; the error carries Graph's code, message and request id.
#[tokio::test]
async fn client_errors_are_not_retried() {
    let n = counter();
    let seen = Arc::clone(&n);
    let app = Router::new().route(
        "/v1.0/users",
        get(move || {
            seen.fetch_add(1, Ordering::SeqCst);
            async {
                (
                    StatusCode::BAD_REQUEST,
                    [("request-id", "r-1")],
                    r#"{"error":{"code":"Request_UnsupportedQuery","message":"Unsupported Query."}}"#,
                )
            }
        }),
    );
    let graph = client(&serve(app).await, quick_policy());
    let e = graph
        .user(&UserKey::Mail("x@contoso.com".into()))
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), e.code()),
        (Some(400), Some("Request_UnsupportedQuery"))
    );
    assert!(e.to_string().contains("r-1"));
    assert_eq!(n.load(Ordering::SeqCst), 1);
}
