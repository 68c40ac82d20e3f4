//! Profile photos (m365-facts A§1): metadata with `@odata.mediaEtag`, the bytes (largest
//! or a fixed size), upload and delete. Both "no photo" shapes — 404 `ImageNotFound` and
//! the 200 1x1 GIF with an empty etag (A§1.3) — read as [`PhotoState::Absent`].

use bytes::Bytes;
use reqwest::Method;
use serde::Deserialize;

use super::odata::path_segment;
use super::{GraphCall, GraphClient, M365Error};
use crate::rest::Reply;

/// Graph's request-size limit for a photo upload (m365-facts A§1.2).
pub const MAX_UPLOAD: usize = 4 * 1024 * 1024;

/// What Graph says about a photo.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PhotoMeta {
    /// `@odata.mediaEtag`: changes when the photo does (as Microsoft's own Graph Toolkit assumes).
    pub etag: String,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
    /// `@odata.mediaContentType`.
    pub content_type: String,
}

/// A user's photo as Graph reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum PhotoState {
    /// No photo (either documented shape).
    Absent,
    /// A photo.
    Present(PhotoMeta),
}

#[derive(Deserialize)]
struct MetaBody {
    #[serde(rename = "@odata.mediaEtag", default)]
    etag: Option<String>,
    #[serde(rename = "@odata.mediaContentType", default)]
    content_type: Option<String>,
    #[serde(default)]
    width: Option<u64>,
    #[serde(default)]
    height: Option<u64>,
}

/// Interpret a metadata answer (also used for `$batch` items).
pub(crate) fn meta_from_json(body: &[u8]) -> Result<PhotoState, M365Error> {
    let m: MetaBody = serde_json::from_slice(body).map_err(|e| M365Error::Decode {
        what: "photo metadata".into(),
        detail: e.to_string(),
    })?;
    let (w, h) = (m.width.unwrap_or(0), m.height.unwrap_or(0));
    let etag = m.etag.unwrap_or_default();
    // A§1.3: the documented "no photo" answer is 200, 1x1, image/gif, empty etag.
    if etag.is_empty() || (w <= 1 && h <= 1) {
        return Ok(PhotoState::Absent);
    }
    Ok(PhotoState::Present(PhotoMeta {
        etag,
        width: u32::try_from(w).unwrap_or(u32::MAX),
        height: u32::try_from(h).unwrap_or(u32::MAX),
        content_type: m.content_type.unwrap_or_default(),
    }))
}

/// A 404 about a missing photo rather than a missing user: Graph says `ImageNotFound`
/// (A§1.6); a bare 404 on a photo path is read the same way.
pub(crate) fn is_no_photo(e: &M365Error) -> bool {
    e.is_not_found()
        && !matches!(
            e.code(),
            Some("Request_ResourceNotFound") | Some("ResourceNotFound")
        )
}

impl GraphClient {
    /// Photo metadata for user `id` (object id preferred, m365-facts A§7).
    pub async fn photo_meta(&self, id: &str) -> Result<PhotoState, M365Error> {
        let mut call = GraphCall::get(
            format!("/users/{}/photo", path_segment(id)),
            "photo metadata",
        );
        call.mailbox = Some(id.to_owned());
        match self.execute(&call).await {
            Ok(r) => meta_from_json(&r.body),
            Err(e) if is_no_photo(&e) => Ok(PhotoState::Absent),
            Err(e) => Err(e),
        }
    }

    /// The largest photo's bytes, or `None` when there is no photo.
    pub async fn photo(&self, id: &str) -> Result<Option<Bytes>, M365Error> {
        self.photo_bytes(format!("/users/{}/photo/$value", path_segment(id)), id)
            .await
    }

    /// A fixed-size rendition (`48x48` … `648x648`, A§1.2), or `None` when Graph has none
    /// that large (a smaller upload) or no photo at all.
    pub async fn photo_sized(&self, id: &str, side: u32) -> Result<Option<Bytes>, M365Error> {
        self.photo_bytes(
            format!("/users/{}/photos/{side}x{side}/$value", path_segment(id)),
            id,
        )
        .await
    }

    async fn photo_bytes(&self, target: String, id: &str) -> Result<Option<Bytes>, M365Error> {
        let mut call = GraphCall::get(target, "photo");
        call.mailbox = Some(id.to_owned());
        match self.execute(&call).await {
            Ok(r) if is_placeholder(&r) => Ok(None),
            Ok(r) => Ok(Some(r.body)),
            Err(e) if is_no_photo(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Upload a JPEG (or PNG) as the user's photo: `PUT /users/{id}/photo/$value`
    /// (A§1.1), never over 4 MB (A§1.2). Returns the status (200 documented).
    pub async fn put_photo(
        &self,
        id: &str,
        bytes: Bytes,
        content_type: &'static str,
    ) -> Result<u16, M365Error> {
        if bytes.len() > MAX_UPLOAD {
            return Err(M365Error::Refused(format!(
                "a {}-byte photo is over Graph's 4 MB upload limit",
                bytes.len()
            )));
        }
        if !matches!(content_type, "image/jpeg" | "image/png") {
            // A§8.2: application/octet-stream gets ErrorInternalServerError.
            return Err(M365Error::Refused(format!(
                "photo content type {content_type} (use image/jpeg)"
            )));
        }
        let call = GraphCall {
            method: Method::PUT,
            target: format!("/users/{}/photo/$value", path_segment(id)),
            body: Some((bytes, content_type)),
            mailbox: Some(id.to_owned()),
            idempotent: true,
            what: "photo upload",
        };
        Ok(self.execute(&call).await?.status)
    }

    /// Remove the user's photo: `DELETE /users/{id}/photo/$value` (A§1.1). A photo that
    /// is already gone counts as removed.
    pub async fn delete_photo(&self, id: &str) -> Result<(), M365Error> {
        let call = GraphCall {
            method: Method::DELETE,
            target: format!("/users/{}/photo/$value", path_segment(id)),
            body: None,
            mailbox: Some(id.to_owned()),
            idempotent: true,
            what: "photo delete",
        };
        match self.execute(&call).await {
            Ok(_) => Ok(()),
            Err(e) if is_no_photo(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// The 1x1 GIF some tenants serve for "no photo" (A§1.3).
fn is_placeholder(r: &Reply) -> bool {
    let gif = r
        .headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("image/gif"));
    gif && r.body.len() < 100
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_no_photo_shapes_read_as_absent() {
        let gif = br#"{"@odata.context":"x","@odata.mediaContentType":"image/gif","@odata.mediaEtag":"","id":"1x1","width":1,"height":1}"#;
        assert_eq!(meta_from_json(gif).unwrap(), PhotoState::Absent);
        let real = br#"{"@odata.mediaContentType":"image/jpeg","@odata.mediaEtag":"\"BA09D118\"","id":"648x648","width":648,"height":648}"#;
        match meta_from_json(real).unwrap() {
            PhotoState::Present(m) => assert_eq!((m.etag.as_str(), m.width), ("\"BA09D118\"", 648)),
            PhotoState::Absent => panic!("a photo read as absent"),
        }
        let e = M365Error::from_body(
            "Graph",
            404,
            br#"{"error":{"code":"ImageNotFound","message":"x"}}"#,
            None,
            None,
        );
        assert!(is_no_photo(&e));
        let e = M365Error::from_body(
            "Graph",
            404,
            br#"{"error":{"code":"Request_ResourceNotFound","message":"x"}}"#,
            None,
            None,
        );
        assert!(!is_no_photo(&e), "a missing user is not a missing photo");
    }

    #[test]
    fn truncated_metadata_is_a_decode_error() {
        let e = meta_from_json(br#"{"@odata.mediaEtag":"abc","wid"#).unwrap_err();
        assert!(matches!(e, M365Error::Decode { .. }), "{e}");
    }
}
