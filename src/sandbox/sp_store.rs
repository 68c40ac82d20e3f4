//! SharePoint's state and the answers that change it: the photo folder's files
//! (`Files/add`, m365-facts A§4.1) and profile properties (`SetSingleValueProfileProperty`,
//! A§4.2–4.3), with the [`Tenant`] accessors tests use. Routing is in `sharepoint`.

use std::collections::{BTreeMap, HashMap};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{json, Value};

use super::config::UnknownProfile;
use super::server::Shared;
use super::sp_auth::sp_error;
use super::tenant::Tenant;

/// A§4.1: the library folder, relative to the My Site host's root web (English locale).
pub(crate) const PHOTO_FOLDER: &str = "User Photos/Profile Pictures";

/// One file in the photo folder.
#[derive(Debug, Clone)]
struct SpFile {
    name: String,
    bytes: Bytes,
    created: String,
    modified: String,
    unique_id: String,
    version: u32,
}

/// SharePoint's state: the photo folder's files (by lower-case name) and profile
/// properties by (user id, property name).
#[derive(Debug, Default)]
pub(crate) struct Store {
    files: BTreeMap<String, SpFile>,
    props: HashMap<(String, String), String>,
}

impl Store {
    /// A file's bytes by name (any case).
    pub fn file(&self, name: &str) -> Option<Bytes> {
        self.files
            .get(&name.to_lowercase())
            .map(|f| f.bytes.clone())
    }
}

fn ok_json(body: Value, verbose: bool) -> Response {
    let body = if verbose { json!({ "d": body }) } else { body };
    let mut r = (StatusCode::OK, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;odata=nometadata;charset=utf-8"),
    );
    r
}

fn sp_now(shared: &Shared) -> String {
    format!("{}Z", shared.clock.graph_date())
}

pub(crate) fn folder_json(shared: &Shared, site_path: &str, verbose: bool) -> Response {
    let count = shared.sharepoint().files.len();
    ok_json(
        json!({
            "Exists": true,
            "IsWOPIEnabled": false,
            "ItemCount": count,
            "Name": "Profile Pictures",
            "ProgID": null,
            "ServerRelativeUrl": format!("{site_path}/{PHOTO_FOLDER}"),
            "TimeCreated": "2015-06-01T08:00:00Z",
            "TimeLastModified": sp_now(shared),
            "UniqueId": super::rng::Rng::new(shared.config.seed, 0xF01D).guid(),
            "WelcomePage": "",
        }),
        verbose,
    )
}

/// Image formats a picture library takes here (JPEG, PNG, GIF, BMP by signature).
fn is_image(b: &[u8]) -> bool {
    b.starts_with(&[0xFF, 0xD8, 0xFF])
        || b.starts_with(b"\x89PNG\r\n\x1a\n")
        || b.starts_with(b"GIF8")
        || b.starts_with(b"BM")
}

pub(crate) fn add_file(
    shared: &Shared,
    site_path: &str,
    name: &str,
    overwrite: bool,
    bytes: Bytes,
    verbose: bool,
) -> Response {
    let bad = |m: &str| {
        sp_error(
            StatusCode::BAD_REQUEST,
            "-2147024809, System.ArgumentException",
            m,
            verbose,
        )
    };
    if name.is_empty()
        || name.trim() != name
        || name
            .chars()
            .any(|c| matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|'))
    {
        return bad("The file name is invalid.");
    }
    // The sandbox's picture library takes images only, so a pipeline bug that uploads
    // something else shows at once.
    if !is_image(&bytes) {
        return bad("The file is not a valid image.");
    }
    let now = sp_now(shared);
    let folder = format!("{site_path}/{PHOTO_FOLDER}");
    let mut store = shared.sharepoint();
    let key = name.to_lowercase();
    let file = match store.files.get_mut(&key) {
        Some(existing) if !overwrite => {
            let message = format!(
                "A file with the name {}/{} already exists. It was last modified by \
                 i:0i.t|00000003-0000-0ff1-ce00-000000000000|app@sharepoint on {}.",
                folder.trim_start_matches('/'),
                existing.name,
                existing.modified
            );
            return sp_error(
                StatusCode::BAD_REQUEST,
                "-2130575257, Microsoft.SharePoint.SPException",
                &message,
                verbose,
            );
        }
        Some(existing) => {
            existing.bytes = bytes;
            existing.modified = now;
            existing.version += 1;
            existing.clone()
        }
        None => {
            let n = store.files.len() as u64;
            let f = SpFile {
                name: name.to_string(),
                bytes,
                created: now.clone(),
                modified: now,
                unique_id: super::rng::Rng::new(shared.config.seed, 0x5F11_0000 + n).guid(),
                version: 1,
            };
            store.files.insert(key, f.clone());
            f
        }
    };
    drop(store);
    ok_json(
        json!({
            "CheckInComment": "",
            "CheckOutType": 2,
            "ContentTag": format!("{{{}}},{},1", file.unique_id.to_uppercase(), file.version),
            "CustomizedPageStatus": 0,
            "ETag": format!("\"{{{}}},{}\"", file.unique_id.to_uppercase(), file.version),
            "Exists": true,
            "IrmEnabled": false,
            // Int64 values are strings in SharePoint's JSON.
            "Length": file.bytes.len().to_string(),
            "Level": 1,
            "LinkingUri": null,
            "LinkingUrl": "",
            "MajorVersion": file.version,
            "MinorVersion": 0,
            "Name": file.name,
            "ServerRelativeUrl": format!("{folder}/{}", file.name),
            "TimeCreated": file.created,
            "TimeLastModified": file.modified,
            "Title": null,
            "UIVersion": 512 * file.version,
            "UIVersionLabel": format!("{}.0", file.version),
            "UniqueId": file.unique_id,
        }),
        verbose,
    )
}

/// A§4.3: `{"accountName":"i:0#.f|membership|<upn>","propertyName","propertyValue"}`.
pub(crate) fn set_property(shared: &Shared, body: &[u8], verbose: bool) -> Response {
    let query = |m: &str| {
        sp_error(
            StatusCode::BAD_REQUEST,
            "-1, Microsoft.SharePoint.Client.InvalidClientQueryException",
            m,
            verbose,
        )
    };
    let Ok(Value::Object(b)) = serde_json::from_slice::<Value>(body) else {
        return query("Invalid JSON. A token was not recognized in the JSON content.");
    };
    let text = |k: &str| b.get(k).and_then(Value::as_str);
    let (Some(account), Some(property)) = (text("accountName"), text("propertyName")) else {
        let missing = if text("accountName").is_none() {
            "accountName"
        } else {
            "propertyName"
        };
        return query(&format!(
            "The parameter {missing} does not exist in method SetSingleValueProfileProperty."
        ));
    };
    let value = text("propertyValue").unwrap_or("").to_string();
    let user = {
        let s = shared.state();
        account
            .strip_prefix("i:0#.f|membership|")
            .and_then(|upn| s.by_upn.get(&upn.to_lowercase()).cloned())
    };
    let Some(user) = user else {
        let status = match shared.state().variants.unknown_profile {
            UnknownProfile::ServerError500 => StatusCode::INTERNAL_SERVER_ERROR,
            UnknownProfile::BadRequest400 => StatusCode::BAD_REQUEST,
        };
        return sp_error(
            status,
            "-2146233088, Microsoft.Office.Server.UserProfiles.UserNotFoundException",
            "User Profile Error 1000: User Not Found: Could not load profile data from the \
             database.",
            verbose,
        );
    };
    shared
        .sharepoint()
        .props
        .insert((user, property.to_string()), value);
    ok_json(json!({ "odata.null": true }), verbose)
}

impl Tenant {
    /// A file in the My Site host's `User Photos/Profile Pictures` folder (any case).
    pub fn sharepoint_file(&self, name: &str) -> Option<Bytes> {
        let store = self.shared.sharepoint();
        store
            .files
            .get(&name.to_lowercase())
            .map(|f| f.bytes.clone())
    }

    /// The names of every file in that folder, sorted.
    pub fn sharepoint_files(&self) -> Vec<String> {
        let store = self.shared.sharepoint();
        store.files.values().map(|f| f.name.clone()).collect()
    }

    /// A user's SharePoint profile property as last set (by UPN or object id).
    pub fn profile_property(&self, user: &str, name: &str) -> Option<String> {
        let id = self.state().resolve(user)?;
        let store = self.shared.sharepoint();
        store.props.get(&(id, name.to_string())).cloned()
    }
}
