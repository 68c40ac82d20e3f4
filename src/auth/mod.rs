//! Access tokens for Graph and SharePoint. The credential is an `azure_identity` one,
//! chosen by configuration ([`CredentialChoice`], PRODUCT.md §6); tokens are cached per
//! resource and refreshed five minutes before they expire. Tokens never appear in
//! `Debug`, logs or errors.

mod certificate;
mod error;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, Transport};
use azure_identity::{
    ClientAssertionCredential, ClientAssertionCredentialOptions, ClientSecretCredential,
    ClientSecretCredentialOptions, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use tokio::time::Instant;

pub use certificate::CertificateAssertion;
pub use error::AuthError;

use crate::config::{CredentialChoice, M365Settings, Secret};

/// Refresh a cached token when less than this is left (as azure_identity does).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// The longest a token request may take, all of the credential's own retries included: a
/// token endpoint that hangs must not hang photo-sync.
pub const TOKEN_TIMEOUT: Duration = Duration::from_secs(60);

/// A bearer token for one resource.
#[derive(Clone)]
pub struct Token {
    secret: Secret,
    /// When it stops being valid, on the runtime's clock (pausable in tests).
    valid_until: Instant,
}

impl Token {
    /// A token valid for `lifetime` from now.
    pub fn new(secret: impl Into<String>, lifetime: Duration) -> Self {
        Self {
            secret: Secret::new(secret),
            valid_until: Instant::now() + lifetime,
        }
    }

    /// The `Authorization` header value.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.secret.expose())
    }

    /// Time left.
    pub fn remaining(&self) -> Duration {
        self.valid_until.saturating_duration_since(Instant::now())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("secret", &"[redacted]")
            .field("remaining", &self.remaining())
            .finish()
    }
}

/// Something that hands out tokens for a resource (`https://graph.microsoft.com`).
#[async_trait::async_trait]
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// A token whose audience is `resource`, valid for at least a few minutes.
    async fn token(&self, resource: &str) -> Result<Token, AuthError>;
}

/// Options that only tests and the sandbox need.
#[derive(Debug, Default, Clone)]
pub struct AuthOptions {
    /// The HTTP client the credential uses (e.g. one that trusts the sandbox's TLS
    /// certificate). Default: azure_core's own.
    pub http: Option<reqwest::Client>,
}

/// The configured credential plus a per-resource token cache.
pub struct Credentials {
    kind: &'static str,
    credential: Arc<dyn TokenCredential>,
    cache: Mutex<HashMap<String, Token>>,
    /// One refresh at a time: concurrent callers wait for it instead of stampeding the
    /// token endpoint (m365-facts B§2.3: repeated 429s there mean tokens aren't cached).
    refresh: tokio::sync::Mutex<()>,
    fetched: AtomicU64,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("kind", &self.kind)
            .field("fetched", &self.fetched.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Build the credential the settings choose.
    ///
    /// Managed identity is read by `azure_identity` from the process environment
    /// (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`); the others take their values from
    /// `settings`.
    pub fn from_settings(settings: &M365Settings, options: AuthOptions) -> Result<Self, AuthError> {
        let client_options = || {
            let mut o = ClientOptions {
                transport: options.http.clone().map(|c| Transport::new(Arc::new(c))),
                ..Default::default()
            };
            let mut custom = azure_core::cloud::CustomConfiguration::default();
            custom.authority_host = settings.authority_host.clone();
            o.cloud = Some(Arc::new(custom.into()));
            o
        };
        let need = |v: &Option<String>, key: &'static str| {
            v.clone()
                .ok_or(AuthError::Config(format!("{key} is not set")))
        };
        let map = |e: azure_core::Error| AuthError::from_azure(&e, "creating the credential");
        let credential: Arc<dyn TokenCredential> = match &settings.credential {
            CredentialChoice::ManagedIdentity { client_id } => {
                if settings.identity_endpoint.is_none() {
                    tracing::warn!("managed identity chosen without IDENTITY_ENDPOINT: using the Azure VM metadata endpoint");
                }
                // The managed-identity endpoint is local plain HTTP: no cloud authority.
                let mut client_options = client_options();
                client_options.cloud = None;
                let o = ManagedIdentityCredentialOptions {
                    user_assigned_id: client_id.clone().map(UserAssignedId::ClientId),
                    client_options,
                };
                ManagedIdentityCredential::new(Some(o)).map_err(map)?
            }
            CredentialChoice::WorkloadIdentity { token_file } => {
                let o = WorkloadIdentityCredentialOptions {
                    tenant_id: Some(need(&settings.tenant_id, "AZURE_TENANT_ID")?),
                    client_id: Some(need(&settings.client_id, "AZURE_CLIENT_ID")?),
                    token_file_path: Some(token_file.clone()),
                    credential_options: ClientAssertionCredentialOptions {
                        client_options: client_options(),
                    },
                };
                WorkloadIdentityCredential::new(Some(o)).map_err(map)?
            }
            CredentialChoice::ClientSecret { secret } => {
                let o = ClientSecretCredentialOptions {
                    client_options: client_options(),
                };
                ClientSecretCredential::new(
                    &need(&settings.tenant_id, "AZURE_TENANT_ID")?,
                    need(&settings.client_id, "AZURE_CLIENT_ID")?,
                    secret.expose().to_owned().into(),
                    Some(o),
                )
                .map_err(map)?
            }
            CredentialChoice::ClientCertificate { path } => {
                let tenant = need(&settings.tenant_id, "AZURE_TENANT_ID")?;
                let client_id = need(&settings.client_id, "AZURE_CLIENT_ID")?;
                let token_url = format!("{}/{tenant}/oauth2/v2.0/token", settings.authority_host);
                let assertion = CertificateAssertion::from_pem_file(path, &client_id, &token_url)?;
                let o = ClientAssertionCredentialOptions {
                    client_options: client_options(),
                };
                ClientAssertionCredential::new(tenant, client_id, assertion, Some(o))
                    .map_err(map)?
            }
        };
        Ok(Self::with_credential(
            settings.credential.name(),
            credential,
        ))
    }

    /// Wrap any `azure_identity` credential (tests use a counting fake).
    pub fn with_credential(kind: &'static str, credential: Arc<dyn TokenCredential>) -> Self {
        Self {
            kind,
            credential,
            cache: Mutex::new(HashMap::new()),
            refresh: tokio::sync::Mutex::new(()),
            fetched: AtomicU64::new(0),
        }
    }

    /// Which credential this is (`managed-identity`, `secret`, …).
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// How many tokens were fetched from the credential (not served from the cache).
    pub fn fetched(&self) -> u64 {
        self.fetched.load(Ordering::Relaxed)
    }

    fn cached(&self, resource: &str) -> Option<Token> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(resource)
            .filter(|t| t.remaining() > REFRESH_MARGIN)
            .cloned()
    }
}

#[async_trait::async_trait]
impl TokenSource for Credentials {
    async fn token(&self, resource: &str) -> Result<Token, AuthError> {
        if let Some(t) = self.cached(resource) {
            return Ok(t);
        }
        let _one_at_a_time = self.refresh.lock().await;
        if let Some(t) = self.cached(resource) {
            return Ok(t);
        }
        let scope = format!("{}/.default", resource.trim_end_matches('/'));
        let got = tokio::time::timeout(TOKEN_TIMEOUT, self.credential.get_token(&[scope.as_str()], None))
            .await
            .map_err(|_| AuthError::Unreachable {
                resource: resource.to_owned(),
                detail: format!("no token within {} s", TOKEN_TIMEOUT.as_secs()),
                hint: "the token endpoint did not answer: check IDENTITY_ENDPOINT or AZURE_AUTHORITY_HOST and outbound network",
            })?
            .map_err(|e| AuthError::from_azure(&e, resource))?;
        self.fetched.fetch_add(1, Ordering::Relaxed);
        let left = (got.expires_on - time::OffsetDateTime::now_utc())
            .try_into()
            .unwrap_or(Duration::ZERO);
        let token = Token::new(got.token.secret(), left);
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(resource.to_owned(), token.clone());
        Ok(token)
    }
}

/// A fixed token (the sandbox's admin tools and narrow tests).
#[derive(Clone)]
pub struct StaticToken(pub Secret);

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticToken([redacted])")
    }
}

#[async_trait::async_trait]
impl TokenSource for StaticToken {
    async fn token(&self, _resource: &str) -> Result<Token, AuthError> {
        Ok(Token::new(self.0.expose(), Duration::from_secs(3600)))
    }
}

#[cfg(test)]
mod tests;
