//! Profile photos (m365-facts A§1): both "no photo" shapes, the PUT rules (content
//! type, bytes that are no image, 4 MB, success), `mediaEtag` changing with the photo,
//! re-encoded reads, and `photos/{size}/$value` for the documented sizes.

use photo_sync::photo::{perceptual_hash, same_photo, Limits};
use photo_sync::samples::{jpeg, Portrait};
use reqwest::Method;
use serde_json::Value;

use crate::target::{seg, Answer, Target};

/// A1§1.2: the HD sizes Microsoft 365 serves.
const SIZES: [u32; 9] = [48, 64, 96, 120, 240, 360, 432, 504, 648];

fn jpeg_side(bytes: &[u8]) -> (u16, u16) {
    let mut d = jpeg_decoder::Decoder::new(bytes);
    d.read_info().expect("a JPEG header");
    let i = d.info().expect("info");
    (i.width, i.height)
}

async fn put(t: &Target, user: &str, content_type: &str, body: Vec<u8>) -> Answer {
    t.send(
        t.http
            .put(t.url(&format!("/users/{}/photo/$value", seg(user))))
            .bearer_auth(&t.token)
            .header("content-type", content_type)
            .body(body),
    )
    .await
}

/// Users without a photo for each `--no-photo-shape` (A§1.3: handle both shapes).
async fn photoless(t: &Target) -> Vec<String> {
    t.sandbox_users()
        .await
        .into_iter()
        .filter(|u| u["hasPhoto"] == false && u["hasMailbox"] == true)
        .filter_map(|u| u["id"].as_str().map(str::to_owned))
        .collect()
}

/// The two documented answers for a user without a photo: 404 `ImageNotFound`, or a 200
/// 1x1 `image/gif` placeholder with an empty `mediaEtag`; `$value` is 404 in both.
#[tokio::test]
async fn users_without_a_photo_answer_in_either_documented_shape() {
    let t = Target::new(&[]).await;
    if !t.is_sandbox() {
        let Some(user) = t.user_without_photo().await else {
            t.stop_unless(false, "no CONFORMANCE_USER_WITHOUT_PHOTO given");
            return;
        };
        let meta = t.get(&format!("/users/{}/photo", seg(&user))).await;
        match meta.status {
            404 => assert_eq!(meta.graph_error(404), "ImageNotFound"),
            200 => assert_eq!(meta.json()["@odata.mediaEtag"].as_str(), Some("")),
            other => panic!("neither documented shape: {other}"),
        }
        let value = t.get(&format!("/users/{}/photo/$value", seg(&user))).await;
        assert_eq!(value.status, 404);
        return;
    }
    for (shape, expect) in [
        ("404", [true, false]),
        ("gif", [false, true]),
        ("mixed", [true, true]),
    ] {
        let t = Target::sandbox(&["--no-photo-shape", shape]).await;
        let mut seen = [false, false];
        for id in photoless(&t).await {
            let meta = t.get(&format!("/users/{id}/photo")).await;
            if meta.status == 404 {
                assert_eq!(meta.graph_error(404), "ImageNotFound");
                seen[0] = true;
            } else {
                assert_eq!(meta.status, 200, "{shape}");
                let m = meta.json();
                assert_eq!(m["@odata.mediaContentType"], "image/gif", "{m}");
                assert_eq!(m["@odata.mediaEtag"], "", "{m}");
                assert_eq!(
                    (m["width"].as_u64(), m["height"].as_u64()),
                    (Some(1), Some(1))
                );
                seen[1] = true;
            }
            let value = t.get(&format!("/users/{id}/photo/$value")).await;
            assert_eq!(value.graph_error(404), "ImageNotFound", "{shape}");
        }
        assert_eq!(
            seen, expect,
            "--no-photo-shape {shape}: [404 seen, gif seen]"
        );
    }
}

/// PUT: a wrong Content-Type is 400 or 415, bytes that are no image 400, over 4 MB 413,
/// a JPEG 200; the `mediaEtag` changes; reads are re-encoded yet the same photo; every
/// documented size up to the upload is served at that size, larger ones are not.
#[tokio::test]
async fn photo_uploads_follow_the_documented_rules() {
    let t = Target::new(&[]).await;
    if t.stop_unless(t.write, "writes not allowed (CONFORMANCE_WRITE=1)") {
        return;
    }
    let user = t.user_with_photo().await;
    // Square: whether the service crops or letterboxes other shapes is UNCONFIRMED (A§1.2).
    let portrait = jpeg(&Portrait::new(520, 520, 17).render(), 92);

    let wrong = put(&t, &user, "text/plain", portrait.clone()).await;
    let code = if t.is_sandbox() {
        wrong.graph_error(415)
    } else {
        wrong.graph_error(wrong.status)
    };
    assert!(matches!(wrong.status, 400 | 415), "{code}");
    let garbage = put(&t, &user, "image/jpeg", b"this is not a photo".to_vec()).await;
    garbage.graph_error(400);
    let mut huge = portrait.clone();
    huge.resize(4 * 1024 * 1024 + 1, 0);
    put(&t, &user, "image/jpeg", huge).await.graph_error(413);

    let before = t.get(&format!("/users/{}/photo", seg(&user))).await.json();
    let ok = put(&t, &user, "image/jpeg", portrait.clone()).await;
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    let meta = t.get(&format!("/users/{}/photo", seg(&user))).await;
    assert_eq!(meta.status, 200);
    let meta = meta.json();
    assert_ne!(
        meta["@odata.mediaEtag"], before["@odata.mediaEtag"],
        "a new etag"
    );
    assert!(meta["@odata.mediaEtag"]
        .as_str()
        .is_some_and(|e| !e.is_empty()));
    assert_eq!(meta["@odata.mediaContentType"], "image/jpeg");

    let read = t.get(&format!("/users/{}/photo/$value", seg(&user))).await;
    assert_eq!(read.status, 200);
    assert_ne!(
        read.body, portrait,
        "the store re-encodes what it was given"
    );
    let limits = Limits::default();
    let (a, b) = (
        perceptual_hash(&portrait, &limits).expect("hash of the upload"),
        perceptual_hash(&read.body, &limits).expect("hash of the read"),
    );
    assert!(
        same_photo(a, b),
        "still the same photo ({} bits apart)",
        a.distance(b)
    );
    let largest = u32::from(jpeg_side(&read.body).0);
    assert!(
        largest <= 520,
        "never larger than the upload's short side: {largest}"
    );

    for size in SIZES {
        let a = t
            .get(&format!(
                "/users/{}/photos/{size}x{size}/$value",
                seg(&user)
            ))
            .await;
        if size <= largest {
            assert_eq!(a.status, 200, "{size}");
            assert_eq!(jpeg_side(&a.body), (size as u16, size as u16));
        } else {
            assert_eq!(a.status, 404, "{size} is larger than the upload");
        }
    }
    let list = t.get(&format!("/users/{}/photos", seg(&user))).await.json();
    let ids: Vec<&str> = list["value"]
        .as_array()
        .map(|v| v.iter().filter_map(|p| p["id"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        ids.contains(&"48x48") && ids.contains(&"504x504"),
        "{ids:?}"
    );

    if t.is_sandbox() {
        // Drift made elsewhere (the control plane) shows as a new etag too.
        let other = jpeg(&Portrait::new(300, 300, 3).render(), 90);
        let a = t
            .send(
                t.http
                    .request(
                        Method::PUT,
                        format!("{}/users/{}/photo", t.endpoint("control_url"), seg(&user)),
                    )
                    .body(other),
            )
            .await;
        assert_eq!(a.status, 200);
        let after = t.get(&format!("/users/{}/photo", seg(&user))).await.json();
        assert_ne!(after["@odata.mediaEtag"], meta["@odata.mediaEtag"]);
        assert_eq!(after["width"], Value::from(300));
    }
}
