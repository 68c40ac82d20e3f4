//! SharePoint classic profiles (m365-facts A§4): the photo folder, uploads, profile
//! properties, and the app-only token rules (A§4.4).

use std::sync::Arc;

use bytes::Bytes;
use photo_sync::auth::StaticToken;
use photo_sync::config::Secret;
use photo_sync::rest::{RestClient, RetryPolicy};
use photo_sync::sandbox::Sandbox;
use photo_sync::sharepoint::{SharePointClient, Thumb};
use serde_json::{json, Value};

use crate::helpers::{client, mi_token, start_with, tls_client};

const FOLDER: &str = "%27%2Fsp%2Fcontoso-my%2FUser%20Photos%2FProfile%20Pictures%27";

fn jpeg() -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0];
    b.extend_from_slice(&[0u8; 60]);
    b
}

async fn sp_token(sb: &Sandbox) -> String {
    mi_token(sb, &sb.endpoints().sharepoint_resource).await
}

/// A client-secret token for `resource` from the v2 endpoint.
async fn secret_token(sb: &Sandbox, resource: &str) -> String {
    let e = sb.endpoints();
    let scope = format!("{resource}/.default");
    let v: Value = tls_client(sb)
        .post(&e.token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", e.client_id.as_str()),
            ("client_secret", e.client_secret.as_str()),
            ("scope", scope.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

async fn upload(
    sb: &Sandbox,
    token: &str,
    name: &str,
    overwrite: bool,
    body: Vec<u8>,
) -> (u16, Value) {
    let url = format!(
        "{}/_api/web/GetFolderByServerRelativeUrl({FOLDER})/Files/add(url=%27{name}%27,overwrite={overwrite})",
        sb.endpoints().sharepoint_mysite_url
    );
    let r = client()
        .post(url)
        .bearer_auth(token)
        .header("content-type", "image/jpeg")
        .header("accept", "application/json;odata=nometadata")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(r.headers().contains_key("sprequestguid"));
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The photo-sync SharePoint client, end to end: three thumbnails, then the properties.
#[tokio::test]
async fn the_sharepoint_client_writes_thumbnails_and_properties() {
    let sb = start_with(20, |_| {}).await;
    let e = sb.endpoints().clone();
    let token = sp_token(&sb).await;
    let rest = RestClient::new(
        client(),
        Arc::new(StaticToken(Secret::new(&token))),
        RetryPolicy::default(),
        4,
        4,
    );
    let sp = SharePointClient::new(
        Arc::new(rest),
        &e.sharepoint_mysite_url,
        &e.sharepoint_admin_url,
        &e.sharepoint_resource,
    );
    sp.check_folder().await.unwrap();
    let user = sb.tenant().users()[2].clone();
    let upn = user.user_principal_name.clone();
    let thumbs = [
        (Thumb::Small, Bytes::from(jpeg())),
        (Thumb::Medium, Bytes::from(jpeg())),
        (Thumb::Large, Bytes::from(jpeg())),
    ];
    sp.write_photo(&upn, thumbs).await.unwrap();
    let tenant = sb.tenant();
    assert_eq!(tenant.sharepoint_files().len(), 3);
    let stem = photo_sync::sharepoint::file_stem(&upn);
    assert_eq!(
        tenant
            .sharepoint_file(&format!("{stem}_MThumb.jpg"))
            .unwrap(),
        Bytes::from(jpeg())
    );
    assert_eq!(
        tenant.profile_property(&upn, "PictureURL"),
        Some(sp.picture_url(&upn))
    );
    assert_eq!(
        tenant.profile_property(&user.id, "SPS-PicturePlaceholderState"),
        Some("0".into())
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn uploads_folder_and_properties_follow_sharepoint_rules() {
    let sb = start_with(20, |_| {}).await;
    let e = sb.endpoints().clone();
    let token = sp_token(&sb).await;

    let (s, file) = upload(&sb, &token, "a_b_MThumb.jpg", true, jpeg()).await;
    assert_eq!(s, 200, "{file}");
    assert_eq!(file["Name"], "a_b_MThumb.jpg");
    assert_eq!(file["Length"], "64");
    assert_eq!(
        file["ServerRelativeUrl"],
        "/sp/contoso-my/User Photos/Profile Pictures/a_b_MThumb.jpg"
    );
    let (s, err) = upload(&sb, &token, "a_b_MThumb.jpg", false, jpeg()).await;
    assert_eq!(s, 400);
    assert_eq!(
        err["odata.error"]["code"],
        "-2130575257, Microsoft.SharePoint.SPException"
    );
    let (s, err) = upload(&sb, &token, "notes.jpg", true, b"hello".to_vec()).await;
    assert_eq!(s, 400, "{err}");

    let folder = format!(
        "{}/_api/web/GetFolderByServerRelativeUrl({FOLDER})",
        e.sharepoint_mysite_url
    );
    let v: Value = client()
        .get(&folder)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["Name"], "Profile Pictures");
    assert_eq!(v["ItemCount"], 1);
    let missing = folder.replace("Profile%20Pictures", "Nope");
    let r = client()
        .get(missing)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["odata.error"]["message"]["value"], "File Not Found.");

    let set = format!(
        "{}/_api/SP.UserProfiles.PeopleManager/SetSingleValueProfileProperty",
        e.sharepoint_admin_url
    );
    let prop = |account: &str| {
        json!({"accountName": format!("i:0#.f|membership|{account}"),
               "propertyName": "SPS-PictureTimestamp", "propertyValue": "63605901091"})
    };
    let upn = sb.tenant().users()[0].user_principal_name.clone();
    let r = client()
        .post(&set)
        .bearer_auth(&token)
        .json(&prop(&upn.to_uppercase()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"odata.null": true})
    );
    assert_eq!(
        sb.tenant().profile_property(&upn, "SPS-PictureTimestamp"),
        Some("63605901091".into())
    );
    let r = client()
        .post(&set)
        .bearer_auth(&token)
        .json(&prop("ghost@contoso.com"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    let v: Value = r.json().await.unwrap();
    let message = v["odata.error"]["message"]["value"].as_str().unwrap();
    assert!(
        message.starts_with("User Profile Error 1000: User Not Found"),
        "{message}"
    );
    sb.shutdown().await;
}

/// A§4.4: client-secret app-only tokens are refused; Graph tokens are the wrong audience;
/// a token without Sites.FullControl.All cannot write profiles.
#[tokio::test]
async fn sharepoint_refuses_secret_tokens_wrong_audiences_and_missing_roles() {
    let sb = start_with(10, |_| {}).await;
    let e = sb.endpoints().clone();
    let secret = secret_token(&sb, &e.sharepoint_resource).await;
    let (s, v) = upload(&sb, &secret, "x_SThumb.jpg", true, jpeg()).await;
    assert_eq!(s, 401);
    assert_eq!(v["error_description"], "Unsupported app only token.");
    let graph = mi_token(&sb, "https://graph.microsoft.com").await;
    let (s, v) = upload(&sb, &graph, "x_SThumb.jpg", true, jpeg()).await;
    assert_eq!(s, 401);
    assert!(v["error_description"]
        .as_str()
        .unwrap()
        .contains("audience"));
    let (s, _) = upload(&sb, "", "x_SThumb.jpg", true, jpeg()).await;
    assert_eq!(s, 401);
    assert!(sb.tenant().sharepoint_files().is_empty());
    sb.shutdown().await;

    let sb = start_with(10, |c| {
        c.granted_sharepoint_roles = vec!["Sites.ReadWrite.All".into()]
    })
    .await;
    let token = sp_token(&sb).await;
    assert_eq!(
        upload(&sb, &token, "x_SThumb.jpg", true, jpeg()).await.0,
        200
    );
    let set = format!(
        "{}/_api/SP.UserProfiles.PeopleManager/SetSingleValueProfileProperty",
        sb.endpoints().sharepoint_admin_url
    );
    let body = json!({"accountName": "i:0#.f|membership|x@contoso.com", "propertyName": "PictureURL", "propertyValue": ""});
    let r = client()
        .post(&set)
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["odata.error"]["code"],
        "-2147024891, System.UnauthorizedAccessException"
    );
    sb.shutdown().await;
}
