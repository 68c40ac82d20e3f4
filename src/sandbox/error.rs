//! Errors: [`SandboxError`] for the Rust API, and [`GraphFault`], the error a Graph
//! route answers with. A `GraphFault` response carries its code and message as an
//! extension; the gate middleware renders Graph's body shape around it, so the
//! `request-id` in the body and in the headers always agree.

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// What can go wrong driving the sandbox from Rust.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// Binding or serving a listener failed.
    #[error("sandbox listener: {0}")]
    Io(#[from] std::io::Error),
    /// The TLS certificate or server config could not be built.
    #[error("sandbox TLS setup: {0}")]
    Tls(String),
    /// No user with that id or userPrincipalName.
    #[error("no sandbox user {0:?}")]
    NoSuchUser(String),
    /// A user with that userPrincipalName already exists.
    #[error("a sandbox user with userPrincipalName {0:?} already exists")]
    DuplicateUser(String),
    /// The photo could not be decoded or is too large.
    #[error("photo rejected: {0}")]
    BadPhoto(String),
    /// A client configuration for the sandbox could not be built.
    #[error("sandbox client configuration: {0}")]
    Config(String),
    /// No subscription with that id.
    #[error("no subscription {0:?}")]
    NoSuchSubscription(String),
    /// A POST the sandbox made (an HR event) got no answer.
    #[error("sandbox delivery failed: {0}")]
    Delivery(String),
    /// The subscription has no lifecycleNotificationUrl.
    #[error("subscription {0:?} has no lifecycleNotificationUrl")]
    NoLifecycleUrl(String),
}

/// Graph's error: status, `error.code`, `error.message` and extra headers.
#[derive(Debug, Clone)]
pub struct GraphFault {
    /// HTTP status.
    pub status: StatusCode,
    /// `error.code`.
    pub code: String,
    /// `error.message`.
    pub message: String,
    /// Extra response headers (e.g. `Retry-After`).
    pub headers: Vec<(HeaderName, String)>,
}

/// The code and message of an error response, left for the gate to render.
#[derive(Debug, Clone)]
pub(crate) struct ErrorBody {
    pub code: String,
    pub message: String,
}

impl GraphFault {
    /// An error with no extra headers.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            headers: Vec::new(),
        }
    }

    /// Add a header.
    pub fn with_header(mut self, name: HeaderName, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    /// 400 `Request_BadRequest`, the directory's generic client error.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
    }

    /// 404 `Request_ResourceNotFound` for a user (directory wording).
    pub fn user_not_found(key: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!(
                "Resource '{key}' does not exist or one of its queried reference-property \
                 objects are not present."
            ),
        )
    }

    /// 405 for a method the route does not support.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request target.",
        )
    }
}

impl IntoResponse for GraphFault {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                response.headers_mut().append(name, v);
            }
        }
        response.extensions_mut().insert(ErrorBody {
            code: self.code,
            message: self.message,
        });
        response
    }
}

/// Render Graph's error body (`{"error":{"code","message","innerError":{…}}}`).
pub(crate) fn graph_error_json(
    body: &ErrorBody,
    date: &str,
    request_id: &str,
    client_request_id: &str,
) -> serde_json::Value {
    serde_json::json!({
        "error": {
            "code": body.code,
            "message": body.message,
            "innerError": {
                "date": date,
                "request-id": request_id,
                "client-request-id": client_request_id,
            }
        }
    })
}
