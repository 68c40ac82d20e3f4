//! The classic SharePoint client against the sandbox, signed in with a certificate.

use std::sync::Arc;

use bytes::Bytes;
use photo_sync::auth::Credentials;
use photo_sync::config::M365Settings;
use photo_sync::rest::RestClient;
use photo_sync::sandbox::{Sandbox, SandboxConfig};
use photo_sync::sharepoint::{file_stem, SharePointClient, Thumb};

use crate::helpers::quick_policy;

fn thumb(side: u32) -> Bytes {
    let p = photo_sync::samples::Portrait::new(side, side, 3).render();
    Bytes::from(photo_sync::samples::jpeg(&p, 85))
}

/// Three thumbnails land in the library, then PictureURL names the medium one and the
/// placeholder state is 0 (m365-facts A§4.2); a guest's UPN becomes a safe file name.
#[tokio::test]
async fn thumbnails_then_profile_properties() {
    let sb = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let ep = sb.endpoints();
    let (env, options) = ep.client_env("certificate").unwrap();
    let settings = M365Settings::from_env(&ep.sharepoint_env(env)).unwrap();
    let creds = Arc::new(Credentials::from_settings(&settings, options).unwrap());
    let rest = Arc::new(RestClient::new(
        reqwest::Client::new(),
        creds,
        quick_policy(),
        4,
        4,
    ));
    let sp = SharePointClient::from_settings(&settings, rest).unwrap();
    sp.check_folder().await.unwrap();

    let guest = sb
        .tenant()
        .users()
        .into_iter()
        .find(|u| u.user_type == "Guest")
        .unwrap();
    let upn = guest.user_principal_name.clone();
    sp.write_photo(
        &upn,
        [
            (Thumb::Small, thumb(48)),
            (Thumb::Medium, thumb(72)),
            (Thumb::Large, thumb(300)),
        ],
    )
    .await
    .unwrap();
    let stem = file_stem(&upn);
    for (suffix, bytes) in [
        ("_SThumb.jpg", thumb(48)),
        ("_MThumb.jpg", thumb(72)),
        ("_LThumb.jpg", thumb(300)),
    ] {
        let stored = sb
            .tenant()
            .sharepoint_file(&format!("{stem}{suffix}"))
            .unwrap_or_else(|| panic!("{suffix} missing"));
        assert_eq!(stored, bytes);
    }
    assert_eq!(
        sb.tenant().profile_property(&upn, "PictureURL").as_deref(),
        Some(sp.picture_url(&upn).as_str())
    );
    assert_eq!(
        sb.tenant()
            .profile_property(&upn, "SPS-PicturePlaceholderState")
            .as_deref(),
        Some("0")
    );

    // An unknown account is SharePoint's error, read into a sentence.
    let e = sp
        .set_property("nobody@contoso.com", "PictureURL", "x")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("SharePoint answered"), "{e}");
}
