//! Errors of every Microsoft 365 call (Graph and SharePoint): what the service said
//! (status, error code, request id) or why no answer came, with predicates so callers
//! never match variants.

use std::time::Duration;

use crate::auth::AuthError;

/// A failed Graph or SharePoint call, after the retry policy gave up.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum M365Error {
    /// No token.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The service answered with an error status.
    #[error("{service} answered {status} {code}: {message}{rid}{hint}", hint = hint(*.status, .code, .message).map(|h| format!(" — {h}")).unwrap_or_default(), rid = .request_id.as_deref().map(|r| format!(" (request-id {r})")).unwrap_or_default())]
    Status {
        /// `Graph` or `SharePoint`.
        service: &'static str,
        /// HTTP status.
        status: u16,
        /// The service's error code (`Request_ResourceNotFound`, `ImageNotFound`,
        /// `-2147024891, System.UnauthorizedAccessException`, …), or a description of a
        /// body that was not the service's (an HTML page from a proxy).
        code: String,
        /// The service's message, or an excerpt.
        message: String,
        /// `request-id` for Microsoft support.
        request_id: Option<String>,
        /// The last `Retry-After` seen, when giving up on throttling.
        retry_after: Option<Duration>,
    },
    /// Every attempt timed out.
    #[error("no answer from {service} within {timeout:?} ({attempts} attempts)")]
    Timeout {
        /// `Graph` or `SharePoint`.
        service: &'static str,
        /// Per-attempt timeout.
        timeout: Duration,
        /// Attempts made.
        attempts: u32,
    },
    /// The connection failed (refused, reset, dropped mid-response).
    #[error("could not reach {service}: {detail} ({attempts} attempts)")]
    Transport {
        /// `Graph` or `SharePoint`.
        service: &'static str,
        /// What failed.
        detail: String,
        /// Attempts made.
        attempts: u32,
    },
    /// A 2xx answer we could not read (malformed or truncated JSON, missing fields).
    #[error("unreadable answer for {what}: {detail}")]
    Decode {
        /// Which call.
        what: String,
        /// What was wrong (no body contents beyond a short excerpt).
        detail: String,
    },
    /// We refused to send something (a link to another host, an empty id, > 4 MB).
    #[error("{0}")]
    Refused(String),
}

impl M365Error {
    /// Trying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Auth(a) => a.is_retryable(),
            Self::Status { status, .. } => matches!(status, 429 | 500 | 502 | 503 | 504),
            Self::Timeout { .. } | Self::Transport { .. } => true,
            Self::Decode { .. } | Self::Refused(_) => false,
        }
    }

    /// 404 (user or photo not there).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Status { status: 404, .. })
    }

    /// 429 after the policy ran out of patience.
    pub fn is_throttled(&self) -> bool {
        matches!(self, Self::Status { status: 429, .. })
    }

    /// The service's error code, if it answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Status { code, .. } => Some(code),
            _ => None,
        }
    }

    /// HTTP status, if the service answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Build from a non-2xx answer's body: Graph's `{"error":{"code","message"}}`,
    /// SharePoint's `{"odata.error":{"code","message":{"value"}}}`, or anything else (HTML
    /// from a proxy, empty, truncated) described in a sentence.
    pub fn from_body(
        service: &'static str,
        status: u16,
        body: &[u8],
        request_id: Option<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        let (code, message) = service_error(body).unwrap_or_else(|| describe_foreign_body(body));
        Self::Status {
            service,
            status,
            code,
            message,
            request_id,
            retry_after,
        }
    }
}

/// What an admin should check for a refusal, when the answer makes it clear.
fn hint(status: u16, code: &str, message: &str) -> Option<&'static str> {
    let m = message.to_ascii_lowercase();
    Some(match (status, code) {
        (401, _) if m.contains("audience") => {
            "the token is for another audience: check PHOTOSYNC_CLOUD and PHOTOSYNC_GRAPH_URL belong to the same cloud"
        }
        (401, _) if m.contains("app only token") || m.contains("unsupported app only") => {
            "SharePoint refuses app-only tokens from a client secret: use a certificate or a managed identity"
        }
        (401, "InvalidAuthenticationToken") => "the token was refused: check the tenant and the credential",
        (403, "Authorization_RequestDenied") => {
            "missing application permission: grant User.Read.All (reads) and admin consent"
        }
        (403, "ErrorAccessDenied") | (403, "AccessDenied") => {
            "missing application permission: grant ProfilePhoto.ReadWrite.All and admin consent"
        }
        (403, c) if c.contains("UnauthorizedAccess") => {
            "missing SharePoint permission: grant Sites.FullControl.All (application) and admin consent"
        }
        _ => return None,
    })
}

/// Code and message from Graph's or SharePoint's error JSON (`message` is a string in
/// Graph's, `{"lang","value"}` in SharePoint's).
fn service_error(body: &[u8]) -> Option<(String, String)> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let e = v.get("error").or_else(|| v.get("odata.error"))?;
    let code = e
        .get("code")
        .and_then(|c| c.as_str())
        .unwrap_or_default()
        .to_owned();
    let message = match e.get("message") {
        Some(serde_json::Value::String(m)) => m.clone(),
        Some(m) => m
            .get("value")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned(),
        None => String::new(),
    };
    Some((code, message))
}

/// A sentence about a body that is not the service's error JSON.
fn describe_foreign_body(body: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(&body[..body.len().min(2048)]);
    let t = text.trim();
    if t.is_empty() {
        return ("EmptyBody".into(), "no error details in the answer".into());
    }
    let lower = t.to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") || lower.contains("<body")
    {
        let title = lower
            .find("<title>")
            .and_then(|s| {
                t[s + 7..]
                    .find("</title>")
                    .map(|e| t[s + 7..s + 7 + e].trim().to_owned())
            })
            .unwrap_or_default();
        return (
            "HtmlErrorPage".into(),
            format!(
                "an HTML page instead of the service's JSON (a proxy or gateway answered): {title:?}"
            ),
        );
    }
    (
        "UnrecognisedBody".into(),
        format!("not the service's error JSON: {:?}", excerpt(t, 120)),
    )
}

/// At most `n` characters.
pub(crate) fn excerpt(s: &str, n: usize) -> String {
    let mut out: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_error_bodies_and_proxy_pages_both_read_as_sentences() {
        let e = M365Error::from_body(
            "Graph",
            404,
            br#"{"error":{"code":"Request_ResourceNotFound","message":"Resource 'x' does not exist.","innerError":{}}}"#,
            Some("rid".into()),
            None,
        );
        assert!(e.is_not_found() && e.code() == Some("Request_ResourceNotFound"));
        assert!(e.to_string().contains("request-id rid"), "{e}");
        let e = M365Error::from_body(
            "Graph",
            502,
            b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
            None,
            None,
        );
        assert_eq!(e.code(), Some("HtmlErrorPage"));
        assert!(
            e.to_string().contains("502 Bad Gateway") && e.is_retryable(),
            "{e}"
        );
        let e = M365Error::from_body("Graph", 400, b"{\"error\":{\"code\":\"Bad", None, None);
        assert_eq!(e.code(), Some("UnrecognisedBody"));
        assert!(!e.is_retryable());
    }
}
