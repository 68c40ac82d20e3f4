//! The bearer-token check in front of every Graph route: missing, malformed, forged,
//! expired or wrong-audience tokens get 401 `InvalidAuthenticationToken` (with Graph's
//! real messages); a token without the needed app role gets 403.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};

use super::error::GraphFault;
use super::server::Shared;
use super::token::{Claims, TokenFault};

/// Audiences Graph accepts: its URI (with or without slash) and its app id.
pub(crate) const GRAPH_AUDIENCES: [&str; 3] = [
    "https://graph.microsoft.com",
    "https://graph.microsoft.com/",
    "00000003-0000-0000-c000-000000000000",
];

/// Roles that allow reading users (user-list.md, user-delta.md).
pub(crate) const DIRECTORY_READ: &[&str] = &[
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
/// Roles that allow reading photos (m365-facts A§1.4).
pub(crate) const PHOTO_READ: &[&str] = &[
    "ProfilePhoto.Read.All",
    "ProfilePhoto.ReadWrite.All",
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
/// Roles that allow writing photos (m365-facts A§1.4).
pub(crate) const PHOTO_WRITE: &[&str] = &["ProfilePhoto.ReadWrite.All", "User.ReadWrite.All"];

/// The verified caller of a Graph route.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub claims: Claims,
}

/// Which 403 a missing role produces.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Denied {
    /// Directory: `Authorization_RequestDenied`.
    Directory,
    /// Outlook photo service: `ErrorAccessDenied`.
    Photo,
}

impl Caller {
    /// Ok when the token carries any of `roles`.
    pub fn require(&self, roles: &[&str], denied: Denied) -> Result<(), GraphFault> {
        if self
            .claims
            .roles
            .iter()
            .any(|r| roles.contains(&r.as_str()))
        {
            return Ok(());
        }
        Err(match denied {
            Denied::Directory => GraphFault::new(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            ),
            Denied::Photo => GraphFault::new(
                StatusCode::FORBIDDEN,
                "ErrorAccessDenied",
                "Access is denied. Check credentials and try again.",
            ),
        })
    }
}

fn unauthorized(message: &str) -> GraphFault {
    GraphFault::new(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", message).with_header(
        header::WWW_AUTHENTICATE,
        "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"".into(),
    )
}

/// The bearer token of a request (Graph's and SharePoint's checks), or "".
pub(crate) fn bearer_token(headers: &HeaderMap) -> &str {
    let raw = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    raw.strip_prefix("Bearer ")
        .or_else(|| raw.strip_prefix("bearer "))
        .unwrap_or("")
        .trim()
}

/// Check the request's bearer token against this tenant and Graph's audience.
pub(crate) fn check(shared: &Shared, headers: &HeaderMap) -> Result<Caller, GraphFault> {
    let token = bearer_token(headers);
    if token.is_empty() {
        return Err(unauthorized("Access token is empty."));
    }
    let claims = match shared.keys.verify_access(token, shared.clock.unix()) {
        Ok(c) => c,
        Err(TokenFault::Expired) => {
            return Err(unauthorized(
                "Access token has expired or is not yet valid.",
            ))
        }
        Err(TokenFault::Malformed) => {
            return Err(unauthorized(
                "IDX14100: JWT is not well formed, there are no dots (.).",
            ))
        }
        Err(TokenFault::BadSignature) => {
            return Err(unauthorized("Access token validation failure."))
        }
    };
    if !GRAPH_AUDIENCES.contains(&claims.aud.as_str()) {
        return Err(unauthorized(
            "Access token validation failure. Invalid audience.",
        ));
    }
    if claims.tid != shared.ids.tenant_id {
        return Err(unauthorized("Access token validation failure."));
    }
    Ok(Caller { claims })
}

impl FromRequestParts<Arc<Shared>> for Caller {
    type Rejection = GraphFault;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<Shared>,
    ) -> Result<Self, Self::Rejection> {
        check(state, &parts.headers)
    }
}
