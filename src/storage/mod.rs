//! Azure Storage over its REST APIs (PRODUCT.md §6): the Table service that holds the
//! ledger, the Blob container that holds the photo store, and the Storage queue that
//! carries the per-user jobs on Azure. One caller, [`StorageClient`], signs every
//! request (Shared Key from a connection string, or a bearer token from the managed
//! identity), times it out, and retries throttling and outages with the same policy as
//! the Microsoft 365 calls. Tested against Azurite, the emulator users run.
//!
//! The services themselves are thin: [`table`], [`blob`] and [`queue`] turn one
//! operation into one request and one typed answer.

pub mod account;
pub mod blob;
mod client;
pub mod queue;
mod sign;
pub mod table;

pub use account::{Service, StorageAccount, StorageAuth, STORAGE_RESOURCE};
pub use client::{StorageClient, StorageRequest, StorageResponse};

/// Why a storage call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StorageError {
    /// The service answered with an error status.
    #[error("storage {service} answered {status} {code}: {message}")]
    Service {
        /// `blob`, `queue` or `table`.
        service: &'static str,
        /// The HTTP status.
        status: u16,
        /// The service's error code (`EntityAlreadyExists`, `BlobNotFound`, …).
        code: String,
        /// The service's sentence (never a key or token).
        message: String,
    },
    /// No answer: connection refused, reset or timed out.
    #[error("storage {service} unreachable: {detail}")]
    Unreachable {
        /// `blob`, `queue` or `table`.
        service: &'static str,
        /// What happened.
        detail: String,
    },
    /// No token for storage could be had.
    #[error("no storage token: {0}")]
    Auth(String),
    /// The storage settings are unusable.
    #[error("storage settings: {0}")]
    Config(String),
    /// The service answered 2xx with a body we cannot read.
    #[error("storage {service} sent an unreadable answer: {detail}")]
    BadAnswer {
        /// `blob`, `queue` or `table`.
        service: &'static str,
        /// What is wrong with it.
        detail: String,
    },
}

impl StorageError {
    /// The HTTP status the service answered, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            StorageError::Service { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The service's error code, when it answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            StorageError::Service { code, .. } => Some(code),
            _ => None,
        }
    }

    /// 404: the entity, blob, container or queue does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// 409: it exists already (or is being deleted).
    pub fn is_conflict(&self) -> bool {
        self.status() == Some(409)
    }

    /// 412: the `If-Match` / `If-None-Match` condition did not hold.
    pub fn is_precondition_failed(&self) -> bool {
        self.status() == Some(412)
    }

    /// True when trying again later can help (throttling, outages, no answer, a token
    /// endpoint that failed).
    pub fn is_retryable(&self) -> bool {
        match self {
            StorageError::Service { status, .. } => {
                matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
            }
            StorageError::Unreachable { .. } | StorageError::Auth(_) => true,
            StorageError::Config(_) | StorageError::BadAnswer { .. } => false,
        }
    }
}

impl From<StorageError> for crate::ledger::LedgerError {
    fn from(e: StorageError) -> Self {
        use crate::ledger::LedgerError;
        match e {
            StorageError::Config(m) => LedgerError::Config(m),
            StorageError::BadAnswer { .. } => LedgerError::Corrupt(e.to_string()),
            // A refused credential (403) is an operator's fix, but the job must be kept
            // for after the fix: it counts as unavailable, with the reason.
            other => LedgerError::Unavailable(other.to_string()),
        }
    }
}

impl From<StorageError> for crate::queue::QueueError {
    fn from(e: StorageError) -> Self {
        crate::queue::QueueError::Unavailable(e.to_string())
    }
}

/// The text between `<tag>` and `</tag>` in a small XML answer, unescaped.
pub(crate) fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&close)?;
    Some(xml_unescape(&xml[start..end]))
}

/// Every `<tag>…</tag>` body in order, raw (not unescaped: read fields from it with
/// [`xml_text`]).
pub(crate) fn xml_all(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(after[..j].to_string());
        rest = &after[j + close.len()..];
    }
    out
}

/// The five predefined XML entities and numeric references.
pub(crate) fn xml_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let Some(end) = tail.find(';') else {
            out.push_str(tail);
            return out;
        };
        let entity = &tail[1..end];
        let ch = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match ch {
            Some(c) => out.push(c),
            None => out.push_str(&tail[..=end]),
        }
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Escapes text for an XML element body.
pub(crate) fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_helpers_read_storage_answers() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>QueueNotFound</Code><Message>The &quot;q&quot; &amp; &#x41;&#66;</Message></Error>";
        assert_eq!(xml_text(xml, "Code").as_deref(), Some("QueueNotFound"));
        assert_eq!(xml_text(xml, "Message").as_deref(), Some("The \"q\" & AB"));
        assert_eq!(xml_all("<a>1</a><a>2</a><a>", "a"), vec!["1", "2"]);
        assert_eq!(xml_unescape("a & b &bogus; c"), "a & b &bogus; c");
    }

    #[test]
    fn retryable_statuses() {
        let e = |status| StorageError::Service {
            service: "table",
            status,
            code: String::new(),
            message: String::new(),
        };
        assert!(e(503).is_retryable() && e(429).is_retryable() && e(500).is_retryable());
        assert!(!e(404).is_retryable() && !e(409).is_retryable() && !e(403).is_retryable());
        assert!(e(409).is_conflict() && e(412).is_precondition_failed() && e(404).is_not_found());
    }
}
