//! The classic SharePoint profile client (optional target, off by default): the three
//! thumbnails into the My Site host's `User Photos/Profile Pictures` library, then
//! `PictureURL` and `SPS-PicturePlaceholderState=0` through the admin host's
//! `SetSingleValueProfileProperty` (m365-facts A§4.1–4.3).
//!
//! SharePoint Online accepts app-only tokens only from a **certificate** credential (or a
//! managed identity); a client secret is refused (A§4.4). Since MC653734 modern
//! SharePoint shows the Microsoft 365 photo, so this target serves classic pages only.

mod names;

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use reqwest::Method;

pub use names::{account_name, file_stem};

use crate::config::M365Settings;
use crate::graph::odata::{path_segment, string_literal};
use crate::rest::{Call, M365Error, RestClient};

/// The library folder, relative to the My Site host's root web (A§4.1, English locale).
pub const PHOTO_FOLDER: &str = "User Photos/Profile Pictures";

/// SharePoint's three thumbnails (A§4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thumb {
    /// 48 px, `_SThumb`.
    Small,
    /// 72 px, `_MThumb` (the one `PictureURL` names).
    Medium,
    /// 200 or 300 px, `_LThumb`.
    Large,
}

impl Thumb {
    /// File-name suffix.
    pub fn suffix(self) -> &'static str {
        match self {
            Self::Small => "_SThumb.jpg",
            Self::Medium => "_MThumb.jpg",
            Self::Large => "_LThumb.jpg",
        }
    }
}

/// The classic SharePoint client.
pub struct SharePointClient {
    rest: Arc<RestClient>,
    mysite: String,
    admin: String,
    resource: String,
}

impl fmt::Debug for SharePointClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharePointClient")
            .field("mysite", &self.mysite)
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

const NOMETADATA: &str = "application/json;odata=nometadata";

/// A SharePoint REST call (every one is idempotent: reads, overwrites, property sets).
fn sp_call(
    method: Method,
    url: String,
    body: Option<(Bytes, &'static str)>,
    what: &'static str,
) -> Call {
    Call {
        service: "SharePoint",
        method,
        url,
        body,
        accept: Some(NOMETADATA),
        mailbox: None,
        idempotent: true,
        what,
    }
}

impl SharePointClient {
    /// From the settings, or `None` when the SharePoint target is not configured.
    pub fn from_settings(settings: &M365Settings, rest: Arc<RestClient>) -> Option<Self> {
        Some(Self::new(
            rest,
            settings.sharepoint_mysite_url.as_deref()?,
            settings.sharepoint_admin_url.as_deref()?,
            &settings.sharepoint_resource()?,
        ))
    }

    /// From parts: the My Site host URL, the admin host URL, the token audience.
    pub fn new(rest: Arc<RestClient>, mysite: &str, admin: &str, resource: &str) -> Self {
        Self {
            rest,
            mysite: mysite.trim_end_matches('/').to_owned(),
            admin: admin.trim_end_matches('/').to_owned(),
            resource: resource.trim_end_matches('/').to_owned(),
        }
    }

    /// The URL `PictureURL` should hold for `upn`: the medium thumbnail (A§4.2).
    pub fn picture_url(&self, upn: &str) -> String {
        format!(
            "{}/{PHOTO_FOLDER}/{}{}",
            self.mysite,
            file_stem(upn),
            Thumb::Medium.suffix()
        )
    }

    /// The server-relative folder URL (the My Site host's path, then the library folder).
    fn folder(&self) -> String {
        let path = self
            .mysite
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or("");
        format!("{path}/{PHOTO_FOLDER}")
    }

    /// Check the photo library folder exists and is readable with our token.
    pub async fn check_folder(&self) -> Result<(), M365Error> {
        let url = format!(
            "{}/_api/web/GetFolderByServerRelativeUrl({})",
            self.mysite,
            path_segment(&string_literal(&self.folder())),
        );
        let call = sp_call(Method::GET, url, None, "SharePoint photo folder");
        self.rest.execute(&call, &self.resource).await.map(|_| ())
    }

    /// Upload one thumbnail (overwriting), `Files/add` on the library folder.
    pub async fn upload(&self, upn: &str, thumb: Thumb, jpeg: Bytes) -> Result<(), M365Error> {
        let name = format!("{}{}", file_stem(upn), thumb.suffix());
        let url = format!(
            "{}/_api/web/GetFolderByServerRelativeUrl({})/Files/add(url={},overwrite=true)",
            self.mysite,
            path_segment(&string_literal(&self.folder())),
            path_segment(&string_literal(&name)),
        );
        // overwrite=true: sending the same file again is harmless.
        let call = sp_call(
            Method::POST,
            url,
            Some((jpeg, "image/jpeg")),
            "SharePoint thumbnail upload",
        );
        self.rest.execute(&call, &self.resource).await.map(|_| ())
    }

    /// Set one single-valued profile property of `upn` on the admin host.
    pub async fn set_property(&self, upn: &str, name: &str, value: &str) -> Result<(), M365Error> {
        let body = serde_json::json!({
            "accountName": account_name(upn),
            "propertyName": name,
            "propertyValue": value,
        });
        let url = format!(
            "{}/_api/SP.UserProfiles.PeopleManager/SetSingleValueProfileProperty",
            self.admin
        );
        let body = Some((Bytes::from(body.to_string()), NOMETADATA));
        let call = sp_call(Method::POST, url, body, "SharePoint profile property");
        self.rest.execute(&call, &self.resource).await.map(|_| ())
    }

    /// The whole write for one user: three thumbnails (small, medium, large), then
    /// `PictureURL` and `SPS-PicturePlaceholderState=0` (A§4.2), in that order so the
    /// profile never points at a file that is not there yet.
    pub async fn write_photo(
        &self,
        upn: &str,
        thumbs: [(Thumb, Bytes); 3],
    ) -> Result<(), M365Error> {
        for (thumb, jpeg) in thumbs {
            self.upload(upn, thumb, jpeg).await?;
        }
        self.set_property(upn, "PictureURL", &self.picture_url(upn))
            .await?;
        self.set_property(upn, "SPS-PicturePlaceholderState", "0")
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::StaticToken;
    use crate::config::Secret;
    use crate::rest::RetryPolicy;

    fn client(mysite: &str) -> SharePointClient {
        let rest = RestClient::new(
            reqwest::Client::new(),
            Arc::new(StaticToken(Secret::new("t"))),
            RetryPolicy::default(),
            1,
            1,
        );
        SharePointClient::new(
            Arc::new(rest),
            mysite,
            "https://contoso-admin.sharepoint.com",
            "https://contoso.sharepoint.com",
        )
    }

    #[test]
    fn picture_url_names_the_medium_thumbnail() {
        let c = client("https://contoso-my.sharepoint.com/");
        assert_eq!(
            c.picture_url("john.doe@contoso.com"),
            "https://contoso-my.sharepoint.com/User Photos/Profile Pictures/john_doe_contoso_com_MThumb.jpg"
        );
        assert_eq!(c.folder(), "/User Photos/Profile Pictures");
        assert_eq!(
            client("http://127.0.0.1:9/sp/contoso-my").folder(),
            "/sp/contoso-my/User Photos/Profile Pictures"
        );
    }
}
