//! What the engine does, read once from the environment (PRODUCT.md §7): targets, source
//! precedence, leaver policy, dry run, and the subscription the reconcile keeps alive.

use crate::config::{ConfigError, Env, Secret};
use crate::photo::{self, Target};

/// Where authoritative photos come from, in precedence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// Pushed by the HR webhook (kept in the photo store once accepted).
    Hr,
    /// The current Microsoft 365 photo.
    M365,
}

impl SourceKind {
    /// The name used in settings, the ledger and reports.
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Hr => "hr",
            SourceKind::M365 => "m365",
        }
    }
}

/// What happens to a disabled or deleted user's photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LeaverPolicy {
    /// Leave the photos where they are (default).
    Keep,
    /// Remove the Microsoft 365 photo of disabled users.
    Remove,
}

/// The Graph subscription the reconcile keeps alive.
#[derive(Debug, Clone)]
pub struct SubscriptionSettings {
    /// https URL of the `notifications` function (`PHOTOSYNC_NOTIFICATION_URL`).
    pub notification_url: String,
    /// https URL of the `lifecycle` function (`PHOTOSYNC_LIFECYCLE_URL`, by default the
    /// notification URL with `notifications` replaced by `lifecycle`).
    pub lifecycle_url: Option<String>,
    /// Echoed in every notification (`PHOTOSYNC_CLIENT_STATE`, ≤ 128 characters, B§1.1).
    pub client_state: Secret,
    /// Lifetime asked for, minutes (B§1.1: at most 41,760).
    pub minutes: i64,
    /// Renew when fewer than this many seconds are left (3 days).
    pub renew_within_secs: i64,
}

/// The engine's settings.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// Targets written, in order.
    pub targets: Vec<Target>,
    /// Sources, highest precedence first.
    pub sources: Vec<SourceKind>,
    /// Leaver policy.
    pub leaver: LeaverPolicy,
    /// Decide and report, write nothing.
    pub dry_run: bool,
    /// The normaliser's options (targets set from `targets`).
    pub photo: photo::Options,
    /// Full delta walk at least this often, days.
    pub full_walk_days: i64,
    /// Attempts before a failing user is left for an operator.
    pub max_attempts: u32,
    /// `$batch` envelopes in flight during the reconcile.
    pub batch_parallel: usize,
    /// The subscription to keep alive; `None` when no notification URL is configured.
    pub subscription: Option<SubscriptionSettings>,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            targets: vec![Target::M365],
            sources: vec![SourceKind::Hr, SourceKind::M365],
            leaver: LeaverPolicy::Keep,
            dry_run: false,
            photo: photo::Options {
                targets: vec![Target::M365],
                ..photo::Options::default()
            },
            full_walk_days: 7,
            max_attempts: 5,
            batch_parallel: 4,
            subscription: None,
        }
    }
}

fn invalid(key: &'static str, value: &str, why: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        value: value.to_string(),
        why: why.into(),
    }
}

fn number<T: std::str::FromStr>(
    env: &Env,
    key: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match env.get(key) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| invalid(key, v, "a whole number")),
    }
}

impl SyncSettings {
    /// Reads `PHOTOSYNC_TARGETS`, `PHOTOSYNC_SOURCES`, `PHOTOSYNC_LEAVER_POLICY`,
    /// `PHOTOSYNC_DRY_RUN`, `PHOTOSYNC_FULL_WALK_DAYS`, `PHOTOSYNC_MAX_ATTEMPTS`,
    /// `PHOTOSYNC_NOTIFICATION_URL`, `PHOTOSYNC_LIFECYCLE_URL`, `PHOTOSYNC_CLIENT_STATE`.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let mut s = Self::default();
        if let Some(v) = env.get("PHOTOSYNC_TARGETS") {
            s.targets = photo::parse_targets(v)
                .map_err(|e| invalid("PHOTOSYNC_TARGETS", v, e.to_string()))?;
            if s.targets.contains(&Target::Ad) {
                return Err(invalid(
                    "PHOTOSYNC_TARGETS",
                    v,
                    "the ad target (LDAP thumbnailPhoto) is not available in this version; use m365 and/or sharepoint",
                ));
            }
        }
        if let Some(v) = env.get("PHOTOSYNC_SOURCES") {
            let mut sources = Vec::new();
            for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let kind = match part.to_ascii_lowercase().as_str() {
                    "hr" => SourceKind::Hr,
                    "m365" => SourceKind::M365,
                    "folder" => return Err(invalid(
                        "PHOTOSYNC_SOURCES",
                        v,
                        "the folder source is not available in this version; use hr and/or m365",
                    )),
                    _ => return Err(invalid("PHOTOSYNC_SOURCES", v, "a list of hr, m365")),
                };
                if !sources.contains(&kind) {
                    sources.push(kind);
                }
            }
            if sources.is_empty() {
                return Err(invalid("PHOTOSYNC_SOURCES", v, "at least one of hr, m365"));
            }
            s.sources = sources;
        }
        if let Some(v) = env.get("PHOTOSYNC_LEAVER_POLICY") {
            s.leaver = match v.to_ascii_lowercase().as_str() {
                "keep" => LeaverPolicy::Keep,
                "remove" => LeaverPolicy::Remove,
                _ => return Err(invalid("PHOTOSYNC_LEAVER_POLICY", v, "keep or remove")),
            };
        }
        if let Some(v) = env.get("PHOTOSYNC_DRY_RUN") {
            s.dry_run = match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" => false,
                _ => return Err(invalid("PHOTOSYNC_DRY_RUN", v, "true or false")),
            };
        }
        s.full_walk_days = number(env, "PHOTOSYNC_FULL_WALK_DAYS", 7)?;
        if s.full_walk_days < 1 {
            return Err(invalid(
                "PHOTOSYNC_FULL_WALK_DAYS",
                &s.full_walk_days.to_string(),
                "at least 1",
            ));
        }
        s.max_attempts = number(env, "PHOTOSYNC_MAX_ATTEMPTS", 5)?.max(1);
        s.photo.targets = s.targets.clone();
        s.subscription = SubscriptionSettings::from_env(env)?;
        Ok(s)
    }
}

impl SubscriptionSettings {
    /// `None` when `PHOTOSYNC_NOTIFICATION_URL` is not set.
    pub fn from_env(env: &Env) -> Result<Option<Self>, ConfigError> {
        let Some(url) = env.get("PHOTOSYNC_NOTIFICATION_URL") else {
            return Ok(None);
        };
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| invalid("PHOTOSYNC_NOTIFICATION_URL", url, e.to_string()))?;
        let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost"));
        if parsed.scheme() != "https" && !loopback {
            return Err(invalid(
                "PHOTOSYNC_NOTIFICATION_URL",
                url,
                "Graph delivers only to https URLs (m365-facts B§1.1)",
            ));
        }
        let client_state = env.get("PHOTOSYNC_CLIENT_STATE").ok_or(ConfigError::Missing {
            key: "PHOTOSYNC_CLIENT_STATE",
            why: "notifications are checked against it (a random string of up to 128 characters)",
        })?;
        let n = client_state.chars().count();
        if !(16..=128).contains(&n) {
            return Err(invalid(
                "PHOTOSYNC_CLIENT_STATE",
                "(hidden)",
                format!("{n} characters; use 16 to 128 (B§1.1 allows at most 128)"),
            ));
        }
        let lifecycle_url = env
            .get("PHOTOSYNC_LIFECYCLE_URL")
            .map(str::to_string)
            .or_else(|| {
                url.contains("/notifications")
                    .then(|| url.replacen("/notifications", "/lifecycle", 1))
            });
        Ok(Some(Self {
            notification_url: url.to_string(),
            lifecycle_url,
            client_state: Secret::new(client_state),
            minutes: number(env, "PHOTOSYNC_SUBSCRIPTION_MINUTES", 41_760_i64)?.clamp(45, 41_760),
            renew_within_secs: 3 * 24 * 3600,
        }))
    }
}
