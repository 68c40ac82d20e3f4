//! The HR system (PRODUCT.md §5): photos with drift, and signed HR events.

use aws_lc_rs::hmac;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use photo_sync::sandbox::{standard_webhook_signature, HrPhotoMode};
use serde_json::Value;

use crate::helpers::{client, receiver, start_with};

#[tokio::test]
async fn hr_photos_exist_for_most_employees_and_some_drift_from_microsoft_365() {
    let sb = start_with(60, |_| {}).await;
    let tenant = sb.tenant();
    let e = sb.endpoints().clone();
    let (mut same, mut drift, mut none) = (0, 0, 0);
    for u in tenant.users() {
        let Some(emp) = u.employee_id.clone() else {
            continue;
        };
        let r = client()
            .get(format!("{}/photos/{emp}.jpg", e.hr_url))
            .send()
            .await
            .unwrap();
        match (r.status().as_u16(), tenant.photo(&u.id)) {
            (404, _) => none += 1,
            (200, m365) => {
                assert_eq!(r.headers()["content-type"], "image/jpeg");
                let hr = r.bytes().await.unwrap();
                assert_eq!(&hr[..3], &[0xFF, 0xD8, 0xFF]);
                let equal = m365.is_some_and(|p| p.side == 648 && p.bytes == hr);
                if equal {
                    same += 1
                } else {
                    drift += 1
                }
            }
            (s, _) => panic!("unexpected status {s}"),
        }
    }
    assert!(same > 0 && drift > 0 && none > 0, "{same} {drift} {none}");
    tenant.hr_set_photo("E999999", b"\xFF\xD8\xFFnew");
    let r = client()
        .get(format!("{}/photos/E999999.jpg", e.hr_url))
        .send()
        .await
        .unwrap();
    assert_eq!(&r.bytes().await.unwrap()[..], b"\xFF\xD8\xFFnew");
    let r = client()
        .get(format!("{}/photos/nobody.jpg", e.hr_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    sb.shutdown().await;
}

#[tokio::test]
async fn hr_events_are_signed_per_standard_webhooks() {
    let sb = start_with(20, |_| {}).await;
    let tenant = sb.tenant();
    let rx = receiver().await;
    let key = [42u8; 24];
    let secret = format!("whsec_{}", STANDARD.encode(key));
    let user = tenant
        .users()
        .into_iter()
        .find(|u| u.employee_id.is_some())
        .unwrap();
    let emp = user.employee_id.clone().unwrap();
    tenant.hr_set_photo(&emp, b"\xFF\xD8\xFFphoto");
    let event = tenant.hr_event(&emp, HrPhotoMode::Inline).unwrap();
    assert_eq!(event["type"], "photo.updated");
    assert_eq!(
        event["employee"]["userPrincipalName"],
        user.user_principal_name.as_str()
    );
    assert_eq!(
        STANDARD
            .decode(event["photo"]["data"].as_str().unwrap())
            .unwrap(),
        b"\xFF\xD8\xFFphoto"
    );
    let delivery = tenant
        .send_hr_event(&format!("{}/api/hr-webhook", rx.url), &secret, &event)
        .await
        .unwrap();
    assert_eq!(delivery.status, 202);
    assert!(delivery.webhook_id.starts_with("msg_"));

    // Recompute the HMAC the way a receiver must.
    let hit = rx.hits().pop().unwrap();
    let signed = format!(
        "{}.{}.{}",
        delivery.webhook_id, delivery.timestamp, hit.body
    );
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), signed.as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(tag.as_ref()));
    assert_eq!(
        standard_webhook_signature(&secret, &delivery.webhook_id, delivery.timestamp, &hit.body)
            .unwrap(),
        expected
    );
    let body: Value = serde_json::from_str(&hit.body).unwrap();
    assert_eq!(body, event);
    assert!((delivery.timestamp - time::OffsetDateTime::now_utc().unix_timestamp()).abs() < 60);

    let by_url = tenant.hr_event(&emp, HrPhotoMode::Url).unwrap();
    let url = by_url["photoUrl"].as_str().unwrap();
    assert!(
        url.starts_with("https://127.0.0.1:") && url.ends_with(&format!("/hr/photos/{emp}.jpg"))
    );
    let deleted = tenant.hr_event(&emp, HrPhotoMode::Deleted).unwrap();
    assert_eq!(deleted["type"], "photo.deleted");
    assert!(standard_webhook_signature("whsec_***", "a", 1, "b").is_err());
    sb.shutdown().await;
}
