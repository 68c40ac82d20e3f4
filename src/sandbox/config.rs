//! What a sandbox tenant looks like and how it misbehaves: [`SandboxConfig`], its fault
//! rates, throttling limits, and one knob per fact m365-facts.md marks UNCONFIRMED.

use std::time::Duration;

/// Everything that shapes one sandbox tenant. Same config (and seed) → same tenant.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Seeds users, ids, photos and fault decisions.
    pub seed: u64,
    /// Seeded users, clamped to 10..=100_000.
    pub users: usize,
    /// Tenant short name: "contoso" → contoso.onmicrosoft.com, contoso.com,
    /// contoso-my.sharepoint.com.
    pub tenant_name: String,
    /// Added to every Graph response.
    pub latency: Duration,
    /// Random failures.
    pub faults: Faults,
    /// Model the documented service limits (m365-facts B§2.3).
    pub throttle: bool,
    /// The limits used when `throttle` is on.
    pub limits: Limits,
    /// One knob per UNCONFIRMED fact.
    pub variants: Variants,
    /// App roles put into every issued token.
    pub granted_roles: Vec<String>,
    /// Accept `http://` notification URLs (real Graph demands https, m365-facts B§1.1).
    pub allow_http_notification_url: bool,
    /// The tenant's `photoUpdateSettings.source` (`cloud` or `onPremises`, m365-facts A§0);
    /// `None` answers 404 as for a tenant that never set it.
    pub photo_update_source: Option<String>,
    /// SharePoint app roles put into tokens whose audience is a SharePoint host
    /// (m365-facts A§4.4: `Sites.FullControl.All`).
    pub granted_sharepoint_roles: Vec<String>,
    /// How change and lifecycle notifications are delivered (m365-facts B§1.2, B§1.5).
    pub delivery: Delivery,
    /// Loopback port of the plain listener (Graph, identity, SharePoint, HR); 0 picks a
    /// free one. The TLS login authority always takes a free port.
    pub port: u16,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            users: 50,
            tenant_name: "contoso".into(),
            latency: Duration::ZERO,
            faults: Faults::default(),
            throttle: true,
            limits: Limits::default(),
            variants: Variants::default(),
            granted_roles: vec!["User.Read.All".into(), "ProfilePhoto.ReadWrite.All".into()],
            photo_update_source: Some("cloud".into()),
            allow_http_notification_url: false,
            granted_sharepoint_roles: vec!["Sites.FullControl.All".into()],
            delivery: Delivery::default(),
            port: 0,
        }
    }
}

/// Notification delivery timings. Real Graph retries for up to 4 hours (m365-facts
/// B§1.5); the sandbox keeps it to a few tries so tests end quickly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Delivery {
    /// Per-POST deadline for notifications (B§1.5: Graph's client times out at 3 s).
    pub timeout: Duration,
    /// Deadline for the validation handshake answer (B§1.2: 10 s).
    pub validation_timeout: Duration,
    /// Tries per notification, the first included.
    pub attempts: u32,
    /// Wait before the first retry; doubles after each failure.
    pub first_retry: Duration,
}

impl Default for Delivery {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(3),
            validation_timeout: Duration::from_secs(10),
            attempts: 4,
            first_retry: Duration::from_secs(1),
        }
    }
}

/// Probabilities (0..=1) of each random failure per Graph request, drawn from a seeded RNG.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// 429 with `Retry-After`.
    pub rate_429: f64,
    /// 503, half of them with `Retry-After`.
    pub rate_503: f64,
    /// Hold the response for [`Faults::timeout_hold`] (never answers within a sane client
    /// timeout).
    pub rate_timeout: f64,
    /// Close the connection without a response.
    pub rate_drop: f64,
}

impl Faults {
    /// How long a "timeout" fault holds a request before answering 504.
    pub const TIMEOUT_HOLD: Duration = Duration::from_secs(600);
}

/// Service limits (m365-facts B§2.3, throttling-limits.md). The docs say the numbers drift,
/// so tests may lower them to provoke throttling quickly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Identity resource units per app+tenant per 10 s for a small tenant (< 50 users).
    pub resource_units_small: u32,
    /// … medium tenant (50–500 users).
    pub resource_units_medium: u32,
    /// … large tenant (> 500 users).
    pub resource_units_large: u32,
    /// Identity writes per app+tenant per 150 s.
    pub writes_per_150s: u32,
    /// Outlook photo API: concurrent requests per app+mailbox.
    pub photo_concurrency: u32,
    /// Outlook photo API: requests per app+mailbox per 10 minutes.
    pub photo_requests_per_10min: u32,
    /// Outlook photo API: upload bytes per app+mailbox per 30 s.
    pub photo_upload_bytes_per_30s: u64,
    /// Graph requests per second per app across all tenants (B§2.3 global cap); every
    /// `$batch` item counts, the envelope does not.
    pub app_requests_per_second: u32,
}

impl Limits {
    /// The documented limits cut to a twentieth (photo concurrency to 2).
    pub fn harsh() -> Self {
        let d = Self::default();
        Self {
            resource_units_small: d.resource_units_small / 20,
            resource_units_medium: d.resource_units_medium / 20,
            resource_units_large: d.resource_units_large / 20,
            writes_per_150s: d.writes_per_150s / 20,
            photo_concurrency: 2,
            photo_requests_per_10min: d.photo_requests_per_10min / 20,
            photo_upload_bytes_per_30s: d.photo_upload_bytes_per_30s / 20,
            app_requests_per_second: d.app_requests_per_second / 20,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            resource_units_small: 3_500,
            resource_units_medium: 5_000,
            resource_units_large: 8_000,
            writes_per_150s: 3_000,
            photo_concurrency: 4,
            photo_requests_per_10min: 10_000,
            photo_upload_bytes_per_30s: 15 * 1024 * 1024,
            app_requests_per_second: 2_000,
        }
    }
}

/// One knob per behaviour the sources disagree on; defaults are the documented variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Variants {
    /// What a user without a photo looks like (m365-facts A§1.3).
    pub no_photo: NoPhoto,
    /// What happens for users without a mailbox (m365-facts A§1.5).
    pub no_mailbox: NoMailbox,
    /// The answer to a photo PUT whose Content-Type is not image/jpeg or image/png
    /// (m365-facts A§1.6, A§8.2).
    pub bad_content_type: BadContentType,
    /// Whether `DELETE /users/{id}/photo/$value` works (m365-facts A§1.1, A§8.5).
    pub photo_delete: PhotoDelete,
    /// How `Retry-After` is written (m365-facts B§2.3: "seconds, possibly fractional").
    pub retry_after: RetryAfterFormat,
    /// Send every change notification twice (m365-facts B§1.5: duplicates are expected).
    pub duplicate_notifications: bool,
    /// The shape of lifecycle notifications (m365-facts B§1.4: docs and the field differ).
    pub lifecycle_shape: LifecycleShape,
    /// Whether the handshake answer must be `text/plain` (B§1.2 says to reply with it;
    /// whether Graph checks is UNCONFIRMED).
    pub validation_content_type: ValidationContentType,
    /// The status SharePoint answers `SetSingleValueProfileProperty` with for an unknown
    /// account (the message is known, the status is UNCONFIRMED).
    pub unknown_profile: UnknownProfile,
    /// What a delta token older than its lifetime gets (m365-facts B§2.1).
    pub delta_expired: DeltaExpired,
}

/// Lifecycle notification fields (m365-facts B§1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LifecycleShape {
    /// `subscriptionId, subscriptionExpirationDateTime, tenantId, clientState,
    /// lifecycleEvent` (change-notifications-lifecycle-events.md).
    #[default]
    Documented,
    /// As seen in the field (docs-contrib#84): `organizationId` instead of `tenantId`,
    /// `resource: ""`, `sequence: null`, `resourceData`, `encryptedContent: null`.
    Observed,
}

/// Whether the validation answer's Content-Type is checked (m365-facts B§1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValidationContentType {
    /// Only status 200 and the exact token body count.
    #[default]
    Ignored,
    /// A non-`text/plain` answer fails validation too.
    Required,
}

/// SharePoint's answer for a profile property of an unknown account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownProfile {
    /// 500 with `UserNotFoundException` (server exceptions surface as 500 in REST).
    #[default]
    ServerError500,
    /// 400 with the same body.
    BadRequest400,
}

/// A user without a photo (m365-facts A§1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoPhoto {
    /// Metadata and `$value` both 404 `ImageNotFound` (admin doc, Get-MgUserPhoto).
    #[default]
    NotFound,
    /// Metadata is 200 with a 1x1 GIF placeholder and an empty `@odata.mediaEtag`;
    /// `$value` is still 404 (profilephoto-get.md).
    Placeholder,
    /// Both in one tenant, fixed per user (the id's last hex digit: even → 404, odd →
    /// placeholder), for clients that must handle either shape on every user.
    Mixed,
}

impl NoPhoto {
    /// The shape a user with this object id gets: never `Mixed`.
    pub fn for_user(self, id: &str) -> NoPhoto {
        match self {
            NoPhoto::Mixed => {
                let odd = id
                    .chars()
                    .last()
                    .and_then(|c| c.to_digit(16))
                    .is_some_and(|d| d % 2 == 1);
                if odd {
                    NoPhoto::Placeholder
                } else {
                    NoPhoto::NotFound
                }
            }
            other => other,
        }
    }
}

/// What an expired delta token gets (m365-facts B§2.1: tokens last 7 days; "an expired
/// token gives a 40x error such as `syncStateNotFound`", while 410 Gone with a
/// `Location` asks for a full resync).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeltaExpired {
    /// 400 `syncStateNotFound`.
    #[default]
    SyncStateNotFound400,
    /// 410 Gone `resyncRequired` with `Location`, as an invalidated token gets.
    Gone410,
}

/// A user without an Exchange Online mailbox (m365-facts A§1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoMailbox {
    /// Photos are stored in Entra ID and work like any other (post-2024 expectation).
    #[default]
    Works,
    /// Legacy: 404 `ErrorNonExistentMailbox` for photo reads and writes (known-issues.md).
    Legacy,
}

/// A photo PUT with an unsupported Content-Type (m365-facts A§1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BadContentType {
    /// 415 Unsupported Media Type.
    #[default]
    Unsupported415,
    /// 400 Bad Request.
    BadRequest400,
    /// 500 `ErrorInternalServerError`, as reported for application/octet-stream
    /// (msgraph-sdk-dotnet#237).
    Internal500,
}

/// Photo DELETE support (m365-facts A§1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PhotoDelete {
    /// 200 OK (documented since 2023).
    #[default]
    Supported,
    /// 405 Method Not Allowed (before Oct 2023).
    Legacy405,
}

/// How `Retry-After` values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RetryAfterFormat {
    /// Whole seconds, rounded up.
    #[default]
    Integer,
    /// Seconds with three decimals, e.g. `2.128`.
    Fractional,
}

impl RetryAfterFormat {
    /// Render a wait in this format.
    pub fn render(self, wait: Duration) -> String {
        match self {
            RetryAfterFormat::Integer => wait.as_secs_f64().ceil().max(1.0).to_string(),
            RetryAfterFormat::Fractional => format!("{:.3}", wait.as_secs_f64().max(0.001)),
        }
    }
}
