//! The profile photo store (m365-facts A§1): round trip, sizes, variants, refusals.

use photo_sync::samples::{jpeg, Portrait};
use photo_sync::sandbox::{BadContentType, NoMailbox, NoPhoto, PhotoDelete, Sandbox, Variants};
use serde_json::Value;

use crate::helpers::{client, get, graph_token, start_with};

async fn put(sb: &Sandbox, token: &str, id: &str, ct: &str, body: Vec<u8>) -> (u16, Value) {
    let r = client()
        .put(format!(
            "{}/v1.0/users/{id}/photo/$value",
            sb.endpoints().graph_url
        ))
        .bearer_auth(token)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn bytes(sb: &Sandbox, token: &str, path: &str) -> (u16, Vec<u8>, String) {
    let r = client()
        .get(format!("{}/v1.0{path}", sb.endpoints().graph_url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let etag = r
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, r.bytes().await.unwrap().to_vec(), etag)
}

fn jpeg_size(b: &[u8]) -> (u16, u16) {
    let mut d = jpeg_decoder::Decoder::new(b);
    d.decode().unwrap();
    let i = d.info().unwrap();
    (i.width, i.height)
}

#[tokio::test]
async fn uploads_are_re_encoded_on_read_and_change_the_etag() {
    let sb = start_with(30, |_| {}).await;
    let token = graph_token(&sb).await;
    let id = sb
        .tenant()
        .users()
        .iter()
        .find(|u| u.has_mailbox)
        .unwrap()
        .id
        .clone();
    let (_, _, before) = get(&sb, &token, &format!("/users/{id}/photo")).await;
    let uploaded = jpeg(&Portrait::new(800, 600, 9).render(), 95);
    let (status, _) = put(&sb, &token, &id, "image/jpeg", uploaded.clone()).await;
    assert_eq!(status, 200);

    let (status, _, meta) = get(&sb, &token, &format!("/users/{id}/photo")).await;
    assert_eq!(status, 200);
    assert_eq!(meta["id"], "600x600");
    assert_eq!(meta["@odata.mediaContentType"], "image/jpeg");
    let etag = meta["@odata.mediaEtag"].as_str().unwrap().to_string();
    assert!(etag.starts_with('"') && etag.len() == 10, "{etag}");
    assert_ne!(before["@odata.mediaEtag"].as_str(), Some(etag.as_str()));

    let (status, read, header_etag) =
        bytes(&sb, &token, &format!("/users/{id}/photo/$value")).await;
    assert_eq!(status, 200);
    assert_ne!(read, uploaded, "the store re-encodes");
    assert_eq!(jpeg_size(&read), (600, 600));
    assert_eq!(header_etag, etag);
    let (status, small, _) = bytes(&sb, &token, &format!("/users/{id}/photos/96x96/$value")).await;
    assert_eq!(status, 200);
    assert_eq!(jpeg_size(&small), (96, 96));
    // m365-facts A§1.2: a size larger than what was uploaded is not there.
    let (status, _, _) = bytes(&sb, &token, &format!("/users/{id}/photos/648x648/$value")).await;
    assert_eq!(status, 404);
    let (_, _, list) = get(&sb, &token, &format!("/users/{id}/photos")).await;
    assert_eq!(
        list["value"].as_array().unwrap().len(),
        8,
        "48…504 are ≤ 600"
    );

    let stored = sb.tenant().photo(&id).unwrap();
    assert_eq!(stored.bytes.to_vec(), uploaded);
    assert_eq!(format!("\"{}\"", stored.etag), etag);
    assert!(stored.upload_count >= 1);

    // An admin changing it elsewhere is visible through Graph with a new etag.
    let new_etag = sb
        .tenant()
        .set_photo(&id, &jpeg(&Portrait::new(300, 300, 1).render(), 90))
        .unwrap();
    let (_, _, meta) = get(&sb, &token, &format!("/users/{id}/photo")).await;
    assert_eq!(meta["@odata.mediaEtag"], format!("\"{new_etag}\""));
    assert_eq!(meta["width"], 300);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_user_without_photo_looks_like_either_documented_shape() {
    let sb = start_with(60, |_| {}).await;
    let token = graph_token(&sb).await;
    let t = sb.tenant();
    let id = t
        .users()
        .into_iter()
        .find(|u| t.photo(&u.id).is_none() && u.has_mailbox)
        .unwrap()
        .id;
    let (status, _, v) = get(&sb, &token, &format!("/users/{id}/photo")).await;
    assert_eq!(status, 404);
    assert_eq!(v["error"]["code"], "ImageNotFound");
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("ImageNotFoundException"));

    t.set_variants(Variants {
        no_photo: NoPhoto::Placeholder,
        ..Variants::default()
    });
    let (status, _, v) = get(&sb, &token, &format!("/users/{id}/photo")).await;
    assert_eq!(status, 200);
    assert_eq!(v["id"], "1x1");
    assert_eq!(v["@odata.mediaContentType"], "image/gif");
    assert_eq!(v["@odata.mediaEtag"], "");
    let (status, _, _) = bytes(&sb, &token, &format!("/users/{id}/photo/$value")).await;
    assert_eq!(status, 404, "$value is 404 in both shapes");
    sb.shutdown().await;
}

#[tokio::test]
async fn bad_uploads_get_413_400_and_the_content_type_variant() {
    let sb = start_with(20, |_| {}).await;
    let token = graph_token(&sb).await;
    let id = sb.tenant().users()[0].id.clone();
    let (status, v) = put(
        &sb,
        &token,
        &id,
        "image/jpeg",
        vec![0xFF; 4 * 1024 * 1024 + 1],
    )
    .await;
    assert_eq!(status, 413, "{v}");
    let (status, _) = put(
        &sb,
        &token,
        &id,
        "image/jpeg",
        b"\xFF\xD8\xFFnot really".to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    let good = jpeg(&Portrait::new(100, 100, 2).render(), 90);
    let (status, _) = put(&sb, &token, &id, "application/octet-stream", good.clone()).await;
    assert_eq!(status, 415);
    sb.tenant().set_variants(Variants {
        bad_content_type: BadContentType::Internal500,
        ..Variants::default()
    });
    let (status, v) = put(&sb, &token, &id, "application/octet-stream", good).await;
    assert_eq!(status, 500);
    assert_eq!(v["error"]["code"], "ErrorInternalServerError");
    sb.shutdown().await;
}

#[tokio::test]
async fn delete_and_mailbox_variants() {
    let sb = start_with(100, |_| {}).await;
    let token = graph_token(&sb).await;
    let t = sb.tenant();
    let id = t
        .users()
        .into_iter()
        .find(|u| t.photo(&u.id).is_some())
        .unwrap()
        .id;
    let url = format!("{}/v1.0/users/{id}/photo/$value", sb.endpoints().graph_url);
    t.set_variants(Variants {
        photo_delete: PhotoDelete::Legacy405,
        ..Variants::default()
    });
    let r = client()
        .delete(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    t.set_variants(Variants::default());
    let r = client()
        .delete(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(t.photo(&id).is_none());

    let no_mbx = t.users().into_iter().find(|u| !u.has_mailbox).unwrap().id;
    let good = jpeg(&Portrait::new(100, 100, 2).render(), 90);
    assert_eq!(
        put(&sb, &token, &no_mbx, "image/jpeg", good.clone())
            .await
            .0,
        200
    );
    t.set_variants(Variants {
        no_mailbox: NoMailbox::Legacy,
        ..Variants::default()
    });
    let (status, v) = put(&sb, &token, &no_mbx, "image/jpeg", good).await;
    assert_eq!(status, 404);
    assert_eq!(v["error"]["code"], "ErrorNonExistentMailbox");
    sb.shutdown().await;
}
