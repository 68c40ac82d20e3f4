//! The profile photo API (m365-facts A§1): metadata, `$value` (largest), fixed sizes,
//! PUT/PATCH (4 MB, JPEG/PNG, decoded and re-encoded), DELETE, and the UNCONFIRMED
//! variants for users without photo or mailbox.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::auth_check::{Caller, Denied, PHOTO_READ, PHOTO_WRITE};
use super::config::{BadContentType, NoMailbox, NoPhoto, PhotoDelete};
use super::error::GraphFault;
use super::render::{self, SIZES};
use super::server::Shared;
use super::tenant::{PhotoSlot, Tenant};

/// m365-facts A§1.2: "Max upload: 4 MB per request".
pub(crate) const MAX_UPLOAD: usize = 4 * 1024 * 1024;

/// What a photo route needs to know about the user.
struct Target {
    id: String,
    slot: PhotoSlot,
    etag: String,
    side: u32,
}

fn image_not_found() -> GraphFault {
    // m365-facts A§1.3, A§1.6: no photo, wrong identifier or unknown user.
    GraphFault::new(
        StatusCode::NOT_FOUND,
        "ImageNotFound",
        "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was \
         thrown.",
    )
}

fn no_mailbox() -> GraphFault {
    // m365-facts A§1.5 (legacy known issue).
    GraphFault::new(
        StatusCode::NOT_FOUND,
        "ErrorNonExistentMailbox",
        "The SMTP address has no mailbox associated with it.",
    )
}

/// Look the user up; Err for unknown users and (legacy variant) users without mailbox.
fn target(shared: &Shared, key: &str) -> Result<Target, GraphFault> {
    let s = shared.state();
    let r = s
        .resolve(key)
        .and_then(|id| s.users.get(&id))
        .ok_or_else(image_not_found)?;
    if !r.user.has_mailbox && s.variants.no_mailbox == NoMailbox::Legacy {
        return Err(no_mailbox());
    }
    let side = match &r.photo {
        PhotoSlot::None => 0,
        PhotoSlot::Seeded { side, .. } => *side,
        PhotoSlot::Uploaded(p) => p.side,
    };
    Ok(Target {
        id: r.user.id.clone(),
        slot: r.photo.clone(),
        etag: r.etag.clone(),
        side,
    })
}

fn meta(key: &str, path: &str, etag: &str, side: u32, content_type: &str) -> Value {
    json!({
        "@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#users('{key}')/{path}/$entity"),
        "@odata.mediaContentType": content_type,
        "@odata.mediaEtag": if etag.is_empty() { String::new() } else { format!("\"{etag}\"") },
        "id": format!("{side}x{side}"),
        "width": side,
        "height": side,
    })
}

/// Metadata for `size` (None = largest), honouring the no-photo variant.
fn metadata_for(shared: &Shared, key: &str, size: Option<u32>) -> Result<Value, GraphFault> {
    let t = target(shared, key)?;
    let path = size.map_or("photo".to_string(), |s| format!("photos('{s}x{s}')"));
    let available = t.side > 0 && size.is_none_or(|s| s <= t.side);
    if available {
        return Ok(meta(
            key,
            &path,
            &t.etag,
            size.unwrap_or(t.side),
            "image/jpeg",
        ));
    }
    match shared.state().variants.no_photo.for_user(&t.id) {
        // m365-facts A§1.3: documented placeholder, 1x1 GIF with an empty mediaEtag.
        NoPhoto::Placeholder => Ok(meta(key, &path, "", 1, "image/gif")),
        NoPhoto::NotFound | NoPhoto::Mixed => Err(image_not_found()),
    }
}

/// The JPEG served for `size`, re-encoded from the stored master and cached per etag.
async fn bytes_for(shared: &Arc<Shared>, t: Target, size: u32) -> Result<Bytes, GraphFault> {
    let cached = shared.cache.lock().ok().and_then(|c| c.get(&t.etag, size));
    if let Some(b) = cached {
        return Ok(b);
    }
    let (slot, side) = (t.slot.clone(), t.side);
    let made = tokio::task::spawn_blocking(move || -> Result<Bytes, String> {
        let master = match slot {
            PhotoSlot::None => return Err("no photo".into()),
            PhotoSlot::Seeded { seed, side } => {
                render::rendition(&render::seeded(seed, side)?, side)?
            }
            PhotoSlot::Uploaded(p) => p.master.clone(),
        };
        if size >= side {
            Ok(master)
        } else {
            render::rendition(&master, size)
        }
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r)
    .map_err(|e| {
        GraphFault::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ErrorInternalServerError",
            format!("An internal server error occurred. The operation failed. ({e})"),
        )
    })?;
    if let Ok(mut c) = shared.cache.lock() {
        c.put(&t.etag, size, made.clone());
    }
    Ok(made)
}

async fn serve_bytes(
    shared: &Arc<Shared>,
    key: &str,
    size: Option<u32>,
) -> Result<Response, GraphFault> {
    let t = target(shared, key)?;
    let size = size.unwrap_or(t.side);
    // $value for a missing photo or size is 404 in both variants (m365-facts A§1.2, A§1.3).
    if t.side == 0 || size > t.side {
        return Err(image_not_found());
    }
    let etag = format!("\"{}\"", t.etag);
    let bytes = bytes_for(shared, t, size).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg".to_string()),
            (header::ETAG, etag),
        ],
        Body::from(bytes),
    )
        .into_response())
}

/// `"48x48"` → 48, only for the sizes Graph serves.
fn parse_size(raw: &str) -> Result<u32, GraphFault> {
    let (w, h) = raw.split_once('x').ok_or_else(image_not_found)?;
    match (w.parse::<u32>(), h.parse::<u32>()) {
        (Ok(w), Ok(h)) if w == h && SIZES.contains(&w) => Ok(w),
        _ => Err(image_not_found()),
    }
}

/// `GET /users/{id}/photo`.
pub(crate) async fn metadata(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(key): Path<String>,
) -> Result<Json<Value>, GraphFault> {
    caller.require(PHOTO_READ, Denied::Photo)?;
    metadata_for(&shared, &key, None).map(Json)
}

/// `GET /users/{id}/photo/$value`: the largest available.
pub(crate) async fn read(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(key): Path<String>,
) -> Result<Response, GraphFault> {
    caller.require(PHOTO_READ, Denied::Photo)?;
    serve_bytes(&shared, &key, None).await
}

/// `GET /users/{id}/photos`: every size available.
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(key): Path<String>,
) -> Result<Json<Value>, GraphFault> {
    caller.require(PHOTO_READ, Denied::Photo)?;
    let t = target(&shared, &key)?;
    if t.side == 0 && shared.state().variants.no_photo.for_user(&t.id) == NoPhoto::NotFound {
        return Err(image_not_found());
    }
    let value: Vec<Value> = SIZES
        .iter()
        .filter(|&&s| s <= t.side)
        .map(|&s| {
            meta(
                &key,
                &format!("photos('{s}x{s}')"),
                &t.etag,
                s,
                "image/jpeg",
            )
        })
        .collect();
    Ok(Json(json!({
        "@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#users('{key}')/photos"),
        "value": value,
    })))
}

/// `GET /users/{id}/photos/{size}`.
pub(crate) async fn size_metadata(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path((key, size)): Path<(String, String)>,
) -> Result<Json<Value>, GraphFault> {
    caller.require(PHOTO_READ, Denied::Photo)?;
    metadata_for(&shared, &key, Some(parse_size(&size)?)).map(Json)
}

/// `GET /users/{id}/photos/{size}/$value`.
pub(crate) async fn size_read(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path((key, size)): Path<(String, String)>,
) -> Result<Response, GraphFault> {
    caller.require(PHOTO_READ, Denied::Photo)?;
    let size = parse_size(&size)?;
    serve_bytes(&shared, &key, Some(size)).await
}

fn content_type_ok(headers: &HeaderMap) -> bool {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "image/jpeg" || mime == "image/png"
}

fn bad_content_type(variant: BadContentType) -> GraphFault {
    match variant {
        BadContentType::Unsupported415 => GraphFault::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            "The content type of the request is not supported. Use image/jpeg or image/png.",
        ),
        BadContentType::BadRequest400 => GraphFault::new(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidRequest",
            "The request is invalid: unsupported Content-Type for a photo.",
        ),
        // m365-facts A§1.6 / A§8.2 (msgraph-sdk-dotnet#237).
        BadContentType::Internal500 => GraphFault::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ErrorInternalServerError",
            "An internal server error occurred. The operation failed.",
        ),
    }
}

/// `PUT`/`PATCH /users/{id}/photo/$value` → 200 (m365-facts A§1.1).
pub(crate) async fn write(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, GraphFault> {
    caller.require(PHOTO_WRITE, Denied::Photo)?;
    target(&shared, &key)?;
    if !content_type_ok(&headers) {
        return Err(bad_content_type(shared.state().variants.bad_content_type));
    }
    let too_large = || {
        GraphFault::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            "The request body is larger than the 4 MB a photo upload may be.",
        )
    };
    let bytes = axum::body::to_bytes(body, MAX_UPLOAD + 1)
        .await
        .map_err(|_| too_large())?;
    if bytes.len() > MAX_UPLOAD {
        return Err(too_large());
    }
    let ingested = tokio::task::spawn_blocking(move || render::ingest(&bytes))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r)
        .map_err(|why| {
            GraphFault::new(
                StatusCode::BAD_REQUEST,
                "ErrorInvalidImage",
                format!("The photo could not be processed: {why}"),
            )
        })?;
    let tenant = Tenant { shared };
    tenant
        .store_photo(&key, PhotoSlot::Uploaded(Arc::new(ingested)))
        .map_err(|_| image_not_found())?;
    Ok(StatusCode::OK)
}

/// `DELETE /users/{id}/photo/$value` → 200, or 405 in the legacy variant.
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(key): Path<String>,
) -> Result<StatusCode, GraphFault> {
    caller.require(PHOTO_WRITE, Denied::Photo)?;
    if shared.state().variants.photo_delete == PhotoDelete::Legacy405 {
        // m365-facts A§1.1: "DELETE used to return 405 / Method is not allowed".
        return Err(GraphFault::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "ErrorInvalidRequest",
            "Method is not allowed.",
        ));
    }
    let t = target(&shared, &key)?;
    if t.side == 0 {
        return Err(image_not_found());
    }
    Tenant { shared }
        .store_photo(&key, PhotoSlot::None)
        .map_err(|_| image_not_found())?;
    Ok(StatusCode::OK)
}
