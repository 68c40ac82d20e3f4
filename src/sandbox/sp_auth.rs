//! SharePoint's answers that are not about the request itself: its error bodies
//! (`odata.error`, or `error` under `odata=verbose`), the bearer-token check (m365-facts
//! A§4.4: only certificate-based app-only tokens; client-secret tokens get 401
//! "Unsupported app only token."), its app roles, and throttling faults.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::config::Faults;
use super::server::Shared;
use super::token::{Claims, TokenFault};

/// SharePoint Online's first-party app id, an accepted audience.
const SHAREPOINT_APP_ID: &str = "00000003-0000-0ff1-ce00-000000000000";

/// Roles that can read the photo library.
pub(crate) const SITES_READ: &[&str] = &[
    "Sites.Read.All",
    "Sites.ReadWrite.All",
    "Sites.Manage.All",
    "Sites.FullControl.All",
];
/// Roles that can add files.
pub(crate) const SITES_WRITE: &[&str] = &[
    "Sites.ReadWrite.All",
    "Sites.Manage.All",
    "Sites.FullControl.All",
];
/// A§4.4: profile writes on the admin host need `Sites.FullControl.All`.
pub(crate) const SITES_FULL: &[&str] = &["Sites.FullControl.All"];

/// A SharePoint REST error: `{"odata.error":{"code","message":{"lang","value"}}}` under
/// `odata=nometadata`/`minimalmetadata`, `{"error":{…}}` under `odata=verbose`.
pub(crate) fn sp_error(status: StatusCode, code: &str, message: &str, verbose: bool) -> Response {
    let inner = json!({"code": code, "message": {"lang": "en-US", "value": message}});
    let body = if verbose {
        json!({ "error": inner })
    } else {
        json!({ "odata.error": inner })
    };
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;odata=nometadata;charset=utf-8"),
    );
    r
}

/// The access-denied answer for a token without the needed role.
pub(crate) fn access_denied(verbose: bool) -> Response {
    sp_error(
        StatusCode::FORBIDDEN,
        "-2147024891, System.UnauthorizedAccessException",
        "Access denied. You do not have permission to perform this action or access this \
         resource.",
        verbose,
    )
}

/// Token refusals come before SharePoint's object model: `{"error_description": …}`
/// with a `WWW-Authenticate` challenge and `x-ms-diagnostics`.
fn token_refused(shared: &Shared, description: &str) -> Response {
    let mut r = (
        StatusCode::UNAUTHORIZED,
        json!({ "error_description": description }).to_string(),
    )
        .into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let challenge = format!(
        "Bearer realm=\"{}\",client_id=\"{SHAREPOINT_APP_ID}\",trusted_issuers=\"00000001-0000-0000-c000-000000000000@*,https://sts.windows.net/*/\",authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\"",
        shared.ids.tenant_id
    );
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        h.insert(header::WWW_AUTHENTICATE, v);
    }
    h.insert(
        "x-ms-diagnostics",
        HeaderValue::from_static(
            "3001000;reason=\"There has been an error authenticating the request.\";category=\"invalid_client\"",
        ),
    );
    r
}

/// Audiences SharePoint accepts for this tenant (the root, My Site and admin hosts).
fn audience_ok(shared: &Shared, aud: &str) -> bool {
    let t = &shared.config.tenant_name;
    let aud = aud.trim_end_matches('/');
    aud == SHAREPOINT_APP_ID
        || [
            format!("https://{t}.sharepoint.com"),
            format!("https://{t}-my.sharepoint.com"),
            format!("https://{t}-admin.sharepoint.com"),
        ]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(aud))
}

/// Check the bearer token; Ok carries the claims when it has one of `roles`.
pub(crate) fn authorize(
    shared: &Shared,
    headers: &HeaderMap,
    roles: &[&str],
    verbose: bool,
) -> Result<Claims, Box<Response>> {
    check_token(shared, headers, roles, verbose).map_err(Box::new)
}

#[allow(clippy::result_large_err)] // boxed by `authorize`
fn check_token(
    shared: &Shared,
    headers: &HeaderMap,
    roles: &[&str],
    verbose: bool,
) -> Result<Claims, Response> {
    let token = super::auth_check::bearer_token(headers);
    let malformed = "Invalid JWT token. The token is not in the expected format.";
    if token.is_empty() {
        return Err(token_refused(shared, malformed));
    }
    let claims = match shared.keys.verify_access(token, shared.clock.unix()) {
        Ok(c) => c,
        Err(TokenFault::Expired) => {
            return Err(token_refused(
                shared,
                "Invalid JWT token. The token is expired.",
            ))
        }
        Err(TokenFault::Malformed) => return Err(token_refused(shared, malformed)),
        Err(TokenFault::BadSignature) => {
            return Err(token_refused(shared, "Invalid issuer or signature."))
        }
    };
    if claims.tid != shared.ids.tenant_id {
        return Err(token_refused(shared, "Invalid issuer or signature."));
    }
    if !audience_ok(shared, &claims.aud) {
        return Err(token_refused(
            shared,
            &format!("Invalid audience Uri '{}'.", claims.aud),
        ));
    }
    // A§4.4: app-only tokens from a client secret (appidacr 1) are refused; certificate,
    // managed identity and federated tokens (appidacr 2) are accepted.
    if claims.idtyp == "app" && claims.appidacr == "1" {
        return Err(token_refused(shared, "Unsupported app only token."));
    }
    if !claims.roles.iter().any(|r| roles.contains(&r.as_str())) {
        return Err(access_denied(verbose));
    }
    Ok(claims)
}

/// Seeded 429/503 faults, as on Graph (`Faults::rate_429`, `rate_503`), with
/// `Retry-After` (SharePoint's throttling guidance: honour it).
pub(crate) fn fault(shared: &Shared, verbose: bool) -> Option<Response> {
    let f = shared.config.faults;
    if f == Faults::default() {
        return None;
    }
    let (roll, extra) = {
        let mut rng = shared.fault_rng.lock().unwrap_or_else(|e| e.into_inner());
        (rng.unit(), rng.unit())
    };
    let status = if roll < f.rate_503 {
        StatusCode::SERVICE_UNAVAILABLE
    } else if roll < f.rate_503 + f.rate_429 {
        StatusCode::TOO_MANY_REQUESTS
    } else {
        return None;
    };
    let format = shared.state().variants.retry_after;
    let wait = std::time::Duration::from_secs_f64(1.0 + extra * 4.0);
    let mut r = sp_error(
        status,
        "-2146232832, Microsoft.SharePoint.SPServerTooBusyException",
        "The server is busy. Please try again later.",
        verbose,
    );
    if let Ok(v) = HeaderValue::from_str(&format.render(wait)) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Some(r)
}
