//! Subscriptions and change notifications (m365-facts B§1.1–1.6), with a loopback
//! receiver standing in for the notification function.

use std::time::Duration;

use photo_sync::sandbox::{
    DeliveryOutcome, LifecycleShape, NotificationKind, Sandbox, ValidationContentType,
};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::helpers::{client, graph_token, receiver, start_with, Mode, Receiver};

fn in_minutes(m: i64) -> String {
    (OffsetDateTime::now_utc() + time::Duration::minutes(m))
        .format(&Rfc3339)
        .unwrap()
}

async fn send(
    sb: &Sandbox,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{}/v1.0{path}", sb.endpoints().graph_url);
    let mut r = client().request(method, url).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let bytes = r.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn sub_body(rx: &Receiver, change: &str, minutes: i64) -> Value {
    json!({
        "changeType": change,
        "notificationUrl": format!("{}/notify?code=abc", rx.url),
        "lifecycleNotificationUrl": format!("{}/lifecycle", rx.url),
        "resource": "/users",
        "expirationDateTime": in_minutes(minutes),
        "clientState": "s3cret",
    })
}

async fn fast_sandbox(tweak: impl FnOnce(&mut photo_sync::sandbox::SandboxConfig)) -> Sandbox {
    start_with(20, |c| {
        c.delivery.first_retry = Duration::from_millis(20);
        c.delivery.attempts = 3;
        tweak(c);
    })
    .await
}

/// Create (with both handshakes), a notification per change in the captured real shape,
/// then list, renew, reauthorize and delete.
#[tokio::test]
async fn subscriptions_validate_then_carry_user_changes_in_the_real_shape() {
    let sb = fast_sandbox(|_| {}).await;
    let rx = receiver().await;
    let token = graph_token(&sb).await;
    let (status, sub) = send(
        &sb,
        &token,
        reqwest::Method::POST,
        "/subscriptions",
        Some(sub_body(&rx, "updated,deleted", 60)),
    )
    .await;
    assert_eq!(status, 201, "{sub}");
    let id = sub["id"].as_str().unwrap().to_string();
    assert_eq!(sub["changeType"], "updated,deleted");
    assert_eq!(sub["latestSupportedTlsVersion"], "v1_2");
    assert_eq!(sub["notificationContentType"], "application/json");
    assert!(sub["applicationId"].as_str().is_some_and(|a| !a.is_empty()));
    assert!(sub["creatorId"].as_str().is_some_and(|a| !a.is_empty()));
    let expires =
        OffsetDateTime::parse(sub["expirationDateTime"].as_str().unwrap(), &Rfc3339).unwrap();

    // B§1.2: two handshakes, text/plain, encoded token, the URL's own query kept.
    let hits = rx.hits();
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].content_type, "text/plain; charset=utf-8");
    let q = hits[0].query.clone().unwrap();
    assert!(
        q.starts_with("code=abc&validationToken=Validation%3A"),
        "{q}"
    );
    assert_eq!(hits[1].path, "/lifecycle");

    let tenant = sb.tenant();
    let user = tenant.users()[3].clone();
    tenant
        .update_user(&user.id, |u| u.job_title = Some("Chief Tester".into()))
        .unwrap();
    let records = tenant
        .wait_for_notifications(3, Duration::from_secs(5))
        .await;
    let change = records
        .iter()
        .find(|r| r.kind == NotificationKind::Change)
        .unwrap();
    assert_eq!(change.outcome, DeliveryOutcome::Delivered);
    let hit = rx.hits().into_iter().nth(2).unwrap();
    assert_eq!(hit.query.as_deref(), Some("code=abc"));
    let v: Value = serde_json::from_str(&hit.body).unwrap();
    let n = &v["value"][0];
    assert_eq!(n["changeType"], "updated");
    assert_eq!(n["clientState"], "s3cret");
    assert_eq!(n["resource"], format!("Users/{}", user.id));
    assert_eq!(n["subscriptionId"], id.as_str());
    assert_eq!(n["tenantId"], sb.endpoints().tenant_id.as_str());
    assert_eq!(n["resourceData"]["@odata.type"], "#Microsoft.Graph.User");
    assert_eq!(n["resourceData"]["id"], user.id.as_str());
    assert!(n.get("id").is_none());
    let seq1 = n["resourceData"]["sequenceNumber"].as_u64().unwrap();
    assert!(seq1 > 1 << 53);
    let exp = n["subscriptionExpirationDateTime"].as_str().unwrap();
    assert!(exp.ends_with("-08:00"), "{exp}");
    let exp = OffsetDateTime::parse(exp, &Rfc3339).unwrap();
    assert!((exp - expires).abs() < time::Duration::milliseconds(1));

    // Purge → `deleted`, with a larger sequence number.
    tenant.purge_user(&user.id).unwrap();
    tenant
        .wait_for_notifications(4, Duration::from_secs(5))
        .await;
    let v: Value = serde_json::from_str(&rx.hits()[3].body).unwrap();
    assert_eq!(v["value"][0]["changeType"], "deleted");
    assert!(
        v["value"][0]["resourceData"]["sequenceNumber"]
            .as_u64()
            .unwrap()
            > seq1
    );

    // List, get, renew, reauthorize, delete.
    let (s, list) = send(&sb, &token, reqwest::Method::GET, "/subscriptions", None).await;
    assert_eq!((s, list["value"].as_array().unwrap().len()), (200, 1));
    let path = format!("/subscriptions/{id}");
    let renew = json!({"expirationDateTime": in_minutes(2000)});
    let (s, renewed) = send(&sb, &token, reqwest::Method::PATCH, &path, Some(renew)).await;
    assert_eq!(s, 200);
    assert_ne!(renewed["expirationDateTime"], sub["expirationDateTime"]);
    let reauth = format!("{path}/reauthorize");
    let (s, _) = send(&sb, &token, reqwest::Method::POST, &reauth, None).await;
    assert_eq!(s, 204);
    assert_eq!(
        send(&sb, &token, reqwest::Method::DELETE, &path, None)
            .await
            .0,
        204
    );
    assert_eq!(
        send(&sb, &token, reqwest::Method::DELETE, &path, None)
            .await
            .0,
        404
    );
    assert_eq!(
        send(&sb, &token, reqwest::Method::GET, &path, None).await.0,
        404
    );
    tenant.delete_user(&tenant.users()[0].id).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(rx.hits().len(), 4, "no notification after delete");
    sb.shutdown().await;
}

#[tokio::test]
async fn subscription_rules_are_enforced() {
    let sb = fast_sandbox(|_| {}).await;
    let rx = receiver().await;
    let token = graph_token(&sb).await;
    let post = |body: Value| {
        send(
            &sb,
            &token,
            reqwest::Method::POST,
            "/subscriptions",
            Some(body),
        )
    };

    let (s, e) = post(sub_body(&rx, "created,updated", 60)).await;
    assert_eq!(s, 400);
    assert_eq!(e["error"]["code"], "InvalidRequest");
    assert_eq!(
        e["error"]["message"],
        "Invalid 'changeType' attribute: 'created'."
    );
    assert_eq!(post(sub_body(&rx, "updated", 41_800)).await.0, 400);
    let mut long_state = sub_body(&rx, "updated", 60);
    long_state["clientState"] = json!("x".repeat(129));
    assert_eq!(post(long_state).await.0, 400);
    let mut other = sub_body(&rx, "updated", 60);
    other["resource"] = json!("/groups");
    assert_eq!(post(other).await.0, 400);
    assert!(rx.hits().is_empty(), "refused before any handshake");

    // Under 45 minutes is raised to 45.
    let (s, sub) = post(sub_body(&rx, "updated", 5)).await;
    assert_eq!(s, 201);
    let at = OffsetDateTime::parse(sub["expirationDateTime"].as_str().unwrap(), &Rfc3339).unwrap();
    assert!(at > OffsetDateTime::now_utc() + time::Duration::minutes(44));

    // B§1.1: 100 per app+tenant, then 403.
    for _ in 1..100 {
        assert_eq!(post(sub_body(&rx, "updated", 60)).await.0, 201);
    }
    let (s, e) = post(sub_body(&rx, "updated", 60)).await;
    assert_eq!(s, 403, "{e}");
    assert_eq!(sb.tenant().subscriptions().len(), 100);
    sb.shutdown().await;

    // https only, and User.Read.All needed.
    let strict = start_with(10, |c| c.allow_http_notification_url = false).await;
    let token = graph_token(&strict).await;
    let (s, e) = send(
        &strict,
        &token,
        reqwest::Method::POST,
        "/subscriptions",
        Some(sub_body(&rx, "updated", 60)),
    )
    .await;
    assert_eq!(s, 400, "{e}");
    strict.shutdown().await;
    let weak = start_with(10, |c| {
        c.granted_roles = vec!["ProfilePhoto.ReadWrite.All".into()]
    })
    .await;
    let token = graph_token(&weak).await;
    let body = Some(sub_body(&rx, "updated", 60));
    let (s, _) = send(&weak, &token, reqwest::Method::POST, "/subscriptions", body).await;
    assert_eq!(s, 403);
    weak.shutdown().await;
}

#[tokio::test]
async fn failed_handshakes_refuse_the_subscription() {
    let sb = fast_sandbox(|c| c.delivery.validation_timeout = Duration::from_millis(300)).await;
    let rx = receiver().await;
    let token = graph_token(&sb).await;
    let cases = [
        (Mode::Status(404), "must respond with 200 OK"),
        (Mode::WrongToken, "exactly match"),
        (Mode::Sleep(Duration::from_secs(2)), "timeout"),
    ];
    for (mode, expected) in cases {
        rx.set_mode(mode);
        let body = Some(sub_body(&rx, "updated", 60));
        let (s, e) = send(&sb, &token, reqwest::Method::POST, "/subscriptions", body).await;
        assert_eq!(s, 400);
        let message = e["error"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{message}");
    }
    // The JSON-typed echo passes by default and fails when the variant requires text/plain.
    rx.set_mode(Mode::EchoJson);
    let body = Some(sub_body(&rx, "updated", 60));
    let (s, _) = send(&sb, &token, reqwest::Method::POST, "/subscriptions", body).await;
    assert_eq!(s, 201);
    let mut v = sb.tenant().variants();
    v.validation_content_type = ValidationContentType::Required;
    sb.tenant().set_variants(v);
    let body = Some(sub_body(&rx, "updated", 60));
    let (s, _) = send(&sb, &token, reqwest::Method::POST, "/subscriptions", body).await;
    assert_eq!(s, 400);
    assert_eq!(sb.tenant().subscriptions().len(), 1);
    sb.shutdown().await;
}

/// B§1.5: non-2xx and timeouts are retried a bounded number of times; duplicates on demand.
#[tokio::test]
async fn deliveries_retry_give_up_and_duplicate() {
    let sb = fast_sandbox(|c| c.delivery.timeout = Duration::from_millis(200)).await;
    let rx = receiver().await;
    let token = graph_token(&sb).await;
    let body = Some(sub_body(&rx, "updated", 60));
    assert_eq!(
        send(&sb, &token, reqwest::Method::POST, "/subscriptions", body)
            .await
            .0,
        201
    );
    let tenant = sb.tenant();
    let id = tenant.users()[0].id.clone();

    rx.statuses.lock().unwrap().extend([500, 503]);
    tenant
        .update_user(&id, |u| u.surname = Some("A".into()))
        .unwrap();
    let r = tenant
        .wait_for_notifications(3, Duration::from_secs(5))
        .await;
    let statuses: Vec<_> = r[2].attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, vec![Some(500), Some(503), Some(202)]);
    assert_eq!(r[2].outcome, DeliveryOutcome::Delivered);

    rx.set_mode(Mode::Sleep(Duration::from_secs(1)));
    tenant
        .update_user(&id, |u| u.surname = Some("B".into()))
        .unwrap();
    let r = tenant
        .wait_for_notifications(4, Duration::from_secs(5))
        .await;
    assert_eq!(r[3].outcome, DeliveryOutcome::GaveUp);
    assert_eq!(r[3].attempts.len(), 3);
    assert!(r[3]
        .attempts
        .iter()
        .all(|a| a.error.as_deref() == Some("timeout")));

    rx.set_mode(Mode::Echo);
    let mut v = tenant.variants();
    v.duplicate_notifications = true;
    tenant.set_variants(v);
    tenant
        .update_user(&id, |u| u.surname = Some("C".into()))
        .unwrap();
    let r = tenant
        .wait_for_notifications(6, Duration::from_secs(5))
        .await;
    assert_eq!(r.len(), 6);
    assert_eq!(r[4].body, r[5].body);
    assert_eq!(r[5].outcome, DeliveryOutcome::Delivered);
    sb.shutdown().await;
}

/// B§1.4: reauthorizationRequired in both shapes; notifications pause until reauthorized.
#[tokio::test]
async fn lifecycle_events_pause_notifications_until_reauthorized() {
    let sb = fast_sandbox(|_| {}).await;
    let rx = receiver().await;
    let token = graph_token(&sb).await;
    let body = Some(sub_body(&rx, "updated", 60));
    let (_, sub) = send(&sb, &token, reqwest::Method::POST, "/subscriptions", body).await;
    let id = sub["id"].as_str().unwrap();
    let tenant = sb.tenant();
    let n = tenant
        .send_lifecycle(id, "reauthorizationRequired")
        .await
        .unwrap();
    assert_eq!(n.outcome, DeliveryOutcome::Delivered);
    let v = n.json()["value"][0].clone();
    assert_eq!(v["lifecycleEvent"], "reauthorizationRequired");
    assert_eq!(v["tenantId"], sb.endpoints().tenant_id.as_str());
    assert_eq!(v["clientState"], "s3cret");
    assert_eq!(v["subscriptionId"], id);
    assert_eq!(rx.hits().last().unwrap().path, "/lifecycle");
    assert!(tenant.subscriptions()[0].paused);

    let user = tenant.users()[1].id.clone();
    tenant.update_user(&user, |u| u.job_title = None).unwrap();
    let r = tenant
        .wait_for_notifications(4, Duration::from_secs(5))
        .await;
    assert_eq!(r[3].outcome, DeliveryOutcome::Paused);
    let reauth = format!("/subscriptions/{id}/reauthorize");
    assert_eq!(
        send(&sb, &token, reqwest::Method::POST, &reauth, None)
            .await
            .0,
        204
    );
    tenant
        .update_user(&user, |u| u.job_title = Some("Back".into()))
        .unwrap();
    let r = tenant
        .wait_for_notifications(5, Duration::from_secs(5))
        .await;
    assert_eq!(r[4].outcome, DeliveryOutcome::Delivered);

    let mut variants = tenant.variants();
    variants.lifecycle_shape = LifecycleShape::Observed;
    tenant.set_variants(variants);
    let n = tenant
        .send_lifecycle(id, "reauthorizationRequired")
        .await
        .unwrap();
    let v = n.json()["value"][0].clone();
    assert!(v.get("tenantId").is_none());
    assert_eq!(v["organizationId"], sb.endpoints().tenant_id.as_str());
    assert_eq!(v["resource"], "");
    assert!(v["sequence"].is_null());
    assert!(tenant.send_lifecycle("nope", "missed").await.is_err());
    sb.shutdown().await;
}
