//! The HR webhook contract (PRODUCT.md §5): Standard Webhooks signatures (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>` — several for key
//! rotation), a ±5-minute replay window, the event body, and RFC 9457 problem answers.
//! Pure functions; the handler in `triggers` persists and queues.

pub mod fetch;

use aws_lc_rs::hmac;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::{ConfigError, Env, Secret};
use crate::queue::UserRef;

/// Largest body accepted (PRODUCT.md §5: 16 MB).
pub const MAX_BODY: usize = 16 * 1024 * 1024;
/// Timestamps further than this from now are refused (seconds).
pub const TOLERANCE_SECS: i64 = 5 * 60;
/// How long a `webhook-id` is remembered (longer than any sender's retry schedule).
pub const DEDUPE_SECS: i64 = 7 * 24 * 3600;

/// Why an HR request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HrError {
    /// Signature headers missing, malformed, stale, or not matching (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Not JSON, or not the event's shape (400).
    #[error("{0}")]
    Malformed(String),
    /// Valid JSON that cannot be used (422).
    #[error("{0}")]
    Unusable(String),
    /// Over the size limit (413).
    #[error("the body is over the 16 MB limit")]
    TooLarge,
    /// The event could not be persisted; the sender should retry (503).
    #[error("{0}")]
    Unavailable(String),
}

impl HrError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            HrError::Unauthorized(_) => 401,
            HrError::Malformed(_) => 400,
            HrError::Unusable(_) => 422,
            HrError::TooLarge => 413,
            HrError::Unavailable(_) => 503,
        }
    }

    /// True when the sender should try again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, HrError::Unavailable(_))
    }

    /// The RFC 9457 problem body.
    pub fn problem(&self) -> Value {
        let title = match self {
            HrError::Unauthorized(_) => "Unauthorized",
            HrError::Malformed(_) => "Bad Request",
            HrError::Unusable(_) => "Unprocessable Content",
            HrError::TooLarge => "Content Too Large",
            HrError::Unavailable(_) => "Service Unavailable",
        };
        json!({"type": "about:blank", "title": title, "status": self.status(), "detail": self.to_string()})
    }
}

/// The HR side's settings.
#[derive(Debug, Clone)]
pub struct HrSettings {
    /// Signing keys (several during rotation), decoded from `whsec_<base64>`.
    pub keys: Vec<Secret>,
    /// Hosts `photoUrl` may name (`*.example.com` allowed).
    pub photo_hosts: Vec<String>,
    /// Largest photo fetched from a URL, bytes.
    pub photo_max_bytes: usize,
    /// Timeout of a photo fetch, seconds.
    pub photo_timeout_secs: u64,
    /// Exact socket addresses a photo may come from although private (a test HR system
    /// on this machine, e.g. the sandbox), `PHOTOSYNC_HR_PHOTO_TRUSTED`.
    pub trusted: Vec<std::net::SocketAddr>,
    /// An extra root certificate (PEM file) for the HR photo host.
    pub ca_pem: Option<String>,
}

fn invalid(key: &'static str, value: &str, why: &str) -> ConfigError {
    ConfigError::Invalid {
        key,
        value: value.to_string(),
        why: why.to_string(),
    }
}

impl HrSettings {
    /// `None` when `PHOTOSYNC_HR_WEBHOOK_SECRET` is not set (the webhook then answers 401).
    pub fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let Some(secrets) = env.get("PHOTOSYNC_HR_WEBHOOK_SECRET") else {
            return Ok(None);
        };
        let mut keys = Vec::new();
        for s in secrets.split([' ', ',']).filter(|s| !s.is_empty()) {
            let raw = s.strip_prefix("whsec_").ok_or_else(|| {
                invalid(
                    "PHOTOSYNC_HR_WEBHOOK_SECRET",
                    "(hidden)",
                    "secrets look like whsec_<base64>",
                )
            })?;
            let key = STANDARD.decode(raw).map_err(|_| {
                invalid(
                    "PHOTOSYNC_HR_WEBHOOK_SECRET",
                    "(hidden)",
                    "the part after whsec_ is not base64",
                )
            })?;
            if key.len() < 16 {
                return Err(invalid(
                    "PHOTOSYNC_HR_WEBHOOK_SECRET",
                    "(hidden)",
                    "a key shorter than 16 bytes",
                ));
            }
            keys.push(Secret::new(STANDARD.encode(key)));
        }
        let photo_hosts = env
            .get("PHOTOSYNC_HR_PHOTO_HOSTS")
            .map(|v| {
                v.split(',')
                    .map(|h| h.trim().to_ascii_lowercase())
                    .filter(|h| !h.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let number = |key: &'static str, default: u64| -> Result<u64, ConfigError> {
            env.get(key).map_or(Ok(default), |v| {
                v.parse().map_err(|_| invalid(key, v, "a whole number"))
            })
        };
        let mut trusted = Vec::new();
        if let Some(v) = env.get("PHOTOSYNC_HR_PHOTO_TRUSTED") {
            for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                trusted.push(
                    part.parse()
                        .map_err(|_| invalid("PHOTOSYNC_HR_PHOTO_TRUSTED", v, "IP:PORT list"))?,
                );
            }
        }
        let ca_pem = match env.get("PHOTOSYNC_HR_PHOTO_CA_FILE") {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| invalid("PHOTOSYNC_HR_PHOTO_CA_FILE", path, &e.to_string()))?,
            ),
            None => None,
        };
        Ok(Some(Self {
            keys,
            photo_hosts,
            photo_max_bytes: number("PHOTOSYNC_HR_PHOTO_MAX_BYTES", 20 * 1024 * 1024)? as usize,
            photo_timeout_secs: number("PHOTOSYNC_HR_PHOTO_TIMEOUT_SECS", 20)?,
            trusted,
            ca_pem,
        }))
    }
}

/// Checks the Standard Webhooks headers against `body`; returns the `webhook-id`.
pub fn verify(
    keys: &[Secret],
    id: Option<&str>,
    timestamp: Option<&str>,
    signatures: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<String, HrError> {
    let unauthorized = |why: &str| HrError::Unauthorized(why.to_string());
    let id = id
        .filter(|v| !v.is_empty() && v.len() <= 256)
        .ok_or_else(|| unauthorized("the webhook-id header is missing"))?;
    let ts: i64 = timestamp
        .ok_or_else(|| unauthorized("the webhook-timestamp header is missing"))?
        .trim()
        .parse()
        .map_err(|_| unauthorized("webhook-timestamp is not Unix seconds"))?;
    if (now - ts).abs() > TOLERANCE_SECS {
        return Err(unauthorized(
            "webhook-timestamp is outside the 5-minute window (replay or clock skew)",
        ));
    }
    let signatures =
        signatures.ok_or_else(|| unauthorized("the webhook-signature header is missing"))?;
    let mut signed = Vec::with_capacity(id.len() + 24 + body.len());
    signed.extend_from_slice(format!("{id}.{ts}.").as_bytes());
    signed.extend_from_slice(body);
    for key in keys {
        let Ok(raw) = STANDARD.decode(key.expose()) else {
            continue;
        };
        let key = hmac::Key::new(hmac::HMAC_SHA256, &raw);
        for sig in signatures.split(' ') {
            let Some(b64) = sig.strip_prefix("v1,") else {
                continue;
            };
            let Ok(tag) = STANDARD.decode(b64) else {
                continue;
            };
            // hmac::verify compares in constant time.
            if hmac::verify(&key, &signed, &tag).is_ok() {
                return Ok(id.to_string());
            }
        }
    }
    Err(unauthorized(
        "no webhook-signature matches (wrong secret, or the body was changed)",
    ))
}

/// The photo an event carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HrPhoto {
    /// Inline bytes.
    Inline {
        /// Bytes.
        bytes: Vec<u8>,
        /// Declared type.
        content_type: String,
    },
    /// To fetch from an allow-listed https URL.
    Url(String),
    /// `photo.deleted`.
    Withdrawn,
}

/// A verified, validated event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HrEvent {
    /// Who.
    pub user: UserRef,
    /// The photo.
    pub photo: HrPhoto,
    /// Explicit crop box.
    pub crop: Option<[u32; 4]>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEvent {
    #[serde(rename = "type")]
    kind: String,
    employee: RawEmployee,
    photo: Option<RawPhoto>,
    photo_url: Option<String>,
    crop: Option<RawCrop>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEmployee {
    id: Option<String>,
    employee_id: Option<String>,
    user_principal_name: Option<String>,
    mail: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPhoto {
    content_type: String,
    data: String,
}

#[derive(Deserialize)]
struct RawCrop {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
}

const CONTENT_TYPES: [&str; 7] = [
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/gif",
    "image/bmp",
    "image/tiff",
    "image/jpg",
];

/// Parses the body: 400 when it is not the event's JSON shape, 422 when it cannot be used.
pub fn parse(body: &[u8]) -> Result<HrEvent, HrError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| HrError::Malformed(format!("the body is not JSON: {e}")))?;
    let raw: RawEvent = serde_json::from_value(value)
        .map_err(|e| HrError::Malformed(format!("the body is not an HR photo event: {e}")))?;
    let clean = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let user = UserRef {
        id: clean(raw.employee.id),
        user_principal_name: clean(raw.employee.user_principal_name),
        mail: clean(raw.employee.mail),
        employee_id: clean(raw.employee.employee_id),
    };
    if user.is_empty() {
        return Err(HrError::Unusable(
            "employee has no key: give employeeId, userPrincipalName or mail".into(),
        ));
    }
    let crop = match raw.crop {
        Some(c) if c.width == 0 || c.height == 0 => {
            return Err(HrError::Unusable("crop has a zero width or height".into()))
        }
        Some(c) => Some([c.x, c.y, c.width, c.height]),
        None => None,
    };
    let photo = match (raw.kind.as_str(), raw.photo, raw.photo_url) {
        ("photo.deleted", _, _) => HrPhoto::Withdrawn,
        ("photo.updated", Some(_), Some(_)) => {
            return Err(HrError::Unusable("give photo or photoUrl, not both".into()))
        }
        ("photo.updated", Some(p), None) => {
            let ct = p.content_type.trim().to_ascii_lowercase();
            if !CONTENT_TYPES.contains(&ct.as_str()) {
                return Err(HrError::Unusable(format!(
                    "photo.contentType {ct:?} is not an image type photo-sync reads"
                )));
            }
            let bytes = STANDARD
                .decode(p.data.trim())
                .map_err(|_| HrError::Unusable("photo.data is not base64".into()))?;
            if bytes.is_empty() {
                return Err(HrError::Unusable("photo.data is empty".into()));
            }
            HrPhoto::Inline {
                bytes,
                content_type: ct,
            }
        }
        ("photo.updated", None, Some(url)) => HrPhoto::Url(url),
        ("photo.updated", None, None) => {
            return Err(HrError::Unusable(
                "photo.updated needs photo or photoUrl".into(),
            ))
        }
        (other, _, _) => {
            return Err(HrError::Unusable(format!(
                "unknown event type {other:?}: photo.updated or photo.deleted"
            )))
        }
    };
    Ok(HrEvent { user, photo, crop })
}
