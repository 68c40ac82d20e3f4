//! SharePoint classic profiles (m365-facts A§4) under `/sp/{tenant}-my` and
//! `/sp/{tenant}-admin`: the My Site host's `User Photos/Profile Pictures` folder
//! (`GetFolderByServerRelativeUrl`, `Files/add`, `GetFileByServerRelativeUrl/$value`) and
//! the admin host's `PeopleManager/SetSingleValueProfileProperty` (A§4.3). Auth and
//! error shapes live in `sp_auth`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use percent_encoding::percent_decode_str;

use super::model::LoggedRequest;
use super::server::Shared;
use super::sp_auth::{authorize, fault, sp_error, SITES_FULL, SITES_READ, SITES_WRITE};
use super::sp_store::{add_file, folder_json, set_property};
use super::tenant::REQUEST_LOG_CAP;

pub(crate) use super::sp_store::Store;

use super::sp_store::PHOTO_FOLDER;
/// Uploads larger than this are refused before reading them whole.
const MAX_FILE: usize = 32 * 1024 * 1024;

/// `/sp/{site}/…`: every SharePoint request.
pub(crate) async fn dispatch(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (method, uri) = (req.method().clone(), req.uri().clone());
    let request_id = shared.request_id();
    let mut response = route(&shared, req).await;
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert(HeaderName::from_static("sprequestguid"), v.clone());
        h.insert(HeaderName::from_static("request-id"), v);
    }
    let mut s = shared.state();
    if s.log.len() >= REQUEST_LOG_CAP {
        s.log.pop_front();
    }
    s.log.push_back(LoggedRequest {
        method: method.to_string(),
        uri: uri.to_string(),
        status: response.status().as_u16(),
        in_batch: false,
    });
    response
}

async fn route(shared: &Shared, req: Request) -> Response {
    let verbose = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("odata=verbose"));
    let raw_path = req.uri().path().to_string();
    let t = &shared.config.tenant_name;
    let rest = raw_path.strip_prefix("/sp/").unwrap_or("");
    let (site, api) = rest.split_once('/').unwrap_or((rest, ""));
    let admin = if site.eq_ignore_ascii_case(&format!("{t}-my")) {
        false
    } else if site.eq_ignore_ascii_case(&format!("{t}-admin")) {
        true
    } else {
        return file_not_found(verbose);
    };
    let Some(api) = strip_ci(api, "_api/") else {
        return file_not_found(verbose);
    };
    if let Some(r) = fault(shared, verbose) {
        return r;
    }
    let api = percent_decode_str(api).decode_utf8_lossy().into_owned();
    let method = req.method().clone();
    let headers = req.headers().clone();
    let body = req.into_body();
    let site_path = format!("/sp/{site}");
    if admin {
        if strip_ci(
            &api,
            "SP.UserProfiles.PeopleManager/SetSingleValueProfileProperty",
        )
        .is_some_and(str::is_empty)
        {
            if method != Method::POST {
                return wrong_method(&method, "SetSingleValueProfileProperty", verbose);
            }
            if let Err(r) = authorize(shared, &headers, SITES_FULL, verbose) {
                return *r;
            }
            return match read(body).await {
                Ok(b) => set_property(shared, &b, verbose),
                Err(r) => r,
            };
        }
        return resource_not_found(&api, verbose);
    }
    if let Some(after) = strip_ci(&api, "web/GetFolderByServerRelativeUrl(") {
        let Some((folder, rest)) =
            literal(after).and_then(|(f, r)| Some((f, r.strip_prefix(')')?)))
        else {
            return bad_syntax(verbose);
        };
        if !is_photo_folder(&site_path, &folder) {
            return match authorize(shared, &headers, SITES_READ, verbose) {
                Err(r) => *r,
                Ok(_) => file_not_found(verbose),
            };
        }
        if rest.is_empty() {
            if method != Method::GET {
                return wrong_method(&method, "GetFolderByServerRelativeUrl", verbose);
            }
            if let Err(r) = authorize(shared, &headers, SITES_READ, verbose) {
                return *r;
            }
            return folder_json(shared, &site_path, verbose);
        }
        let Some(args) = strip_ci(rest, "/Files/add(") else {
            return resource_not_found(rest, verbose);
        };
        let Some((name, overwrite)) = add_args(args) else {
            return bad_syntax(verbose);
        };
        if method != Method::POST {
            return wrong_method(&method, "Add", verbose);
        }
        if let Err(r) = authorize(shared, &headers, SITES_WRITE, verbose) {
            return *r;
        }
        return match read(body).await {
            Ok(b) => add_file(shared, &site_path, &name, overwrite, b, verbose),
            Err(r) => r,
        };
    }
    if let Some(after) = strip_ci(&api, "web/GetFileByServerRelativeUrl(") {
        let Some((path, rest)) = literal(after) else {
            return bad_syntax(verbose);
        };
        if !rest.eq_ignore_ascii_case(")/$value") || method != Method::GET {
            return resource_not_found(rest, verbose);
        }
        if let Err(r) = authorize(shared, &headers, SITES_READ, verbose) {
            return *r;
        }
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", &path));
        let file = is_photo_folder(&site_path, dir)
            .then(|| shared.sharepoint().file(name))
            .flatten();
        return match file {
            Some(bytes) => ([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response(),
            None => file_not_found(verbose),
        };
    }
    resource_not_found(&api, verbose)
}

fn strip_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

/// An OData string literal at the start of `s` (`'O''Brien'` → `O'Brien`), and the rest.
fn literal(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('\'')?;
    let mut out = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            if chars.peek().map(|(_, n)| *n) == Some('\'') {
                chars.next();
                out.push('\'');
            } else {
                return Some((out, body.get(i + 1..)?));
            }
        } else {
            out.push(c);
        }
    }
    None
}

/// `url='name',overwrite=true)` → (name, overwrite). `overwrite` defaults to false.
fn add_args(s: &str) -> Option<(String, bool)> {
    let (name, rest) = literal(strip_ci(s, "url=")?)?;
    let overwrite = if rest == ")" {
        false
    } else {
        let flag = strip_ci(rest, ",overwrite=")?.strip_suffix(')')?;
        match flag.to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            _ => return None,
        }
    };
    Some((name, overwrite))
}

/// The folder as server-relative (`/sp/contoso-my/User Photos/Profile Pictures`) or
/// web-relative (`User Photos/Profile Pictures`), any case, trailing slash allowed.
fn is_photo_folder(site_path: &str, folder: &str) -> bool {
    let f = folder.trim_end_matches('/');
    f.eq_ignore_ascii_case(&format!("{site_path}/{PHOTO_FOLDER}"))
        || f.eq_ignore_ascii_case(PHOTO_FOLDER)
}

async fn read(body: Body) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, MAX_FILE).await.map_err(|_| {
        sp_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "-2147024809, System.ArgumentException",
            "The request message is too big. The server does not allow messages larger than \
             33554432 bytes.",
            false,
        )
    })
}

fn file_not_found(verbose: bool) -> Response {
    sp_error(
        StatusCode::NOT_FOUND,
        "-2147024894, System.IO.FileNotFoundException",
        "File Not Found.",
        verbose,
    )
}

fn resource_not_found(what: &str, verbose: bool) -> Response {
    sp_error(
        StatusCode::NOT_FOUND,
        "-1, Microsoft.SharePoint.Client.ResourceNotFoundException",
        &format!("Cannot find resource for the request {what}."),
        verbose,
    )
}

fn bad_syntax(verbose: bool) -> Response {
    sp_error(
        StatusCode::BAD_REQUEST,
        "-1, Microsoft.SharePoint.Client.InvalidClientQueryException",
        "The expression is not valid.",
        verbose,
    )
}

fn wrong_method(method: &Method, resource: &str, verbose: bool) -> Response {
    sp_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "-1, Microsoft.SharePoint.Client.ClientServiceException",
        &format!(
            "The HTTP method '{method}' cannot be used to access the resource '{resource}'. \
             Please use correct HTTP method to invoke the resource."
        ),
        verbose,
    )
}
