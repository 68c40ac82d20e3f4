//! Settings: read from the environment once (Functions app settings, Lambda environment,
//! a shell), validated, then passed down typed. Every error names the key to fix.
//! Secrets are held in [`Secret`], which never prints its value.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::rest::RetryPolicy;

/// A snapshot of environment variables: the process's, or a map (tests, `demo`).
#[derive(Clone, Default)]
pub struct Env(BTreeMap<String, String>);

impl Env {
    /// The current process environment (non-UTF-8 values are skipped).
    pub fn process() -> Self {
        Self(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        )
    }

    /// Exactly these variables.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// A variable, if set and not blank (trimmed).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    /// Set one variable (builder style).
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.0.insert(key.to_owned(), value.into());
        self
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only: values may be secrets.
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// A secret string (client secret, identity header, webhook key): `Debug` and `Display`
/// print `[redacted]`; [`Secret::expose`] is the only way to the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A settings problem: which key, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required key is missing.
    #[error("{key} is not set: {why}")]
    Missing {
        /// The environment variable.
        key: &'static str,
        /// What it is needed for.
        why: &'static str,
    },
    /// A key has a value we cannot use.
    #[error("{key}={value:?} is not valid: {why}")]
    Invalid {
        /// The environment variable.
        key: &'static str,
        /// The value given (never a secret's).
        value: String,
        /// What would be valid.
        why: String,
    },
}

/// The Microsoft cloud the tenant lives in (m365-facts A§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    /// Worldwide, including GCC (moderate).
    Global,
    /// US Government L4 (GCC High).
    UsGov,
    /// US Government L5 (DoD).
    UsGovDod,
    /// China, operated by 21Vianet.
    China,
}

impl Cloud {
    fn parse(value: &str) -> Result<Self, ConfigError> {
        Ok(match value.to_ascii_lowercase().as_str() {
            "global" | "public" | "gcc" => Self::Global,
            "usgov" | "gcchigh" | "gcc-high" => Self::UsGov,
            "usgov-dod" | "dod" => Self::UsGovDod,
            "china" => Self::China,
            _ => {
                return Err(ConfigError::Invalid {
                    key: "PHOTOSYNC_CLOUD",
                    value: value.to_owned(),
                    why: "use global, usgov, usgov-dod or china".into(),
                })
            }
        })
    }

    /// Graph's root URL and token audience (m365-facts A§5).
    pub fn graph_root(self) -> &'static str {
        match self {
            Self::Global => "https://graph.microsoft.com",
            Self::UsGov => "https://graph.microsoft.us",
            Self::UsGovDod => "https://dod-graph.microsoft.us",
            Self::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    /// The Entra ID login authority (m365-facts A§5).
    pub fn authority_host(self) -> &'static str {
        match self {
            Self::Global => "https://login.microsoftonline.com",
            Self::UsGov | Self::UsGovDod => "https://login.microsoftonline.us",
            Self::China => "https://login.chinacloudapi.cn",
        }
    }
}

/// How photo-sync gets its tokens (PRODUCT.md §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialChoice {
    /// App Service / Functions managed identity (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`);
    /// user-assigned when a client id is given. Chosen explicitly without those variables,
    /// it uses the Azure VM metadata endpoint (IMDS); detection never picks that.
    ManagedIdentity {
        /// Client id of a user-assigned identity (`AZURE_CLIENT_ID`).
        client_id: Option<String>,
    },
    /// Workload identity federation: an external token in a file, exchanged for an Entra
    /// token (AKS, or AWS with a federated credential).
    WorkloadIdentity {
        /// `AZURE_FEDERATED_TOKEN_FILE`.
        token_file: PathBuf,
    },
    /// An app registration with a certificate (PEM with key and certificate); the only
    /// app-only credential SharePoint accepts (m365-facts A§4.4).
    ClientCertificate {
        /// `AZURE_CLIENT_CERTIFICATE_PATH`.
        path: PathBuf,
    },
    /// An app registration with a client secret (Graph only; SharePoint refuses it).
    ClientSecret {
        /// `AZURE_CLIENT_SECRET`.
        secret: Secret,
    },
}

impl CredentialChoice {
    /// Short name for logs and `doctor`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ManagedIdentity { .. } => "managed-identity",
            Self::WorkloadIdentity { .. } => "workload-identity",
            Self::ClientCertificate { .. } => "certificate",
            Self::ClientSecret { .. } => "secret",
        }
    }
}

/// Everything needed to talk to Microsoft 365.
#[derive(Debug, Clone)]
pub struct M365Settings {
    /// Entra tenant id (GUID or domain).
    pub tenant_id: Option<String>,
    /// App registration (or user-assigned identity) client id.
    pub client_id: Option<String>,
    /// The cloud.
    pub cloud: Cloud,
    /// Where Graph requests go (`PHOTOSYNC_GRAPH_URL`, else the cloud's root).
    pub graph_url: String,
    /// The audience Graph tokens are requested for: the cloud's Graph root, also when
    /// `graph_url` points elsewhere (a proxy, the sandbox).
    pub graph_resource: String,
    /// Login authority (`AZURE_AUTHORITY_HOST`, else the cloud's).
    pub authority_host: String,
    /// The credential.
    pub credential: CredentialChoice,
    /// App Service managed identity endpoint and header, when present.
    pub identity_endpoint: Option<(String, Secret)>,
    /// Classic SharePoint My Site host (`PHOTOSYNC_SHAREPOINT_MYSITE_URL`), when on.
    pub sharepoint_mysite_url: Option<String>,
    /// SharePoint admin host (`PHOTOSYNC_SHAREPOINT_ADMIN_URL`, else derived from the My Site host).
    pub sharepoint_admin_url: Option<String>,
    /// SharePoint token audience override (`PHOTOSYNC_SHAREPOINT_RESOURCE`).
    pub sharepoint_resource: Option<String>,
    /// Retry policy for every outbound call.
    pub retry: RetryPolicy,
    /// Most Graph requests in flight at once, across all users (`PHOTOSYNC_GRAPH_CONCURRENCY`).
    pub graph_concurrency: usize,
    /// Most photo requests in flight per mailbox (m365-facts B§2.3: Outlook allows 4).
    pub photo_concurrency_per_mailbox: usize,
}

impl M365Settings {
    /// Read and validate. `credential` is chosen by `PHOTOSYNC_CREDENTIAL`
    /// (`managed-identity`, `workload-identity`, `certificate`, `secret`, or `auto`, the
    /// default, which detects from the variables present, in that order).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let cloud = env
            .get("PHOTOSYNC_CLOUD")
            .map(Cloud::parse)
            .transpose()?
            .unwrap_or(Cloud::Global);
        let graph_url = match env.get("PHOTOSYNC_GRAPH_URL") {
            Some(u) => http_url("PHOTOSYNC_GRAPH_URL", u)?,
            None => cloud.graph_root().to_owned(),
        };
        let authority_host = match env.get("AZURE_AUTHORITY_HOST") {
            Some(u) => http_url("AZURE_AUTHORITY_HOST", u)?,
            None => cloud.authority_host().to_owned(),
        };
        let identity_endpoint = match (env.get("IDENTITY_ENDPOINT"), env.get("IDENTITY_HEADER")) {
            (Some(e), Some(h)) => Some((http_url("IDENTITY_ENDPOINT", e)?, Secret::new(h))),
            _ => None,
        };
        let tenant_id = env.get("AZURE_TENANT_ID").map(str::to_owned);
        let client_id = env.get("AZURE_CLIENT_ID").map(str::to_owned);
        let credential = choose_credential(env, identity_endpoint.is_some())?;
        if !matches!(credential, CredentialChoice::ManagedIdentity { .. }) {
            if tenant_id.is_none() {
                return Err(ConfigError::Missing {
                    key: "AZURE_TENANT_ID",
                    why: "an app registration or federated credential signs in to one tenant",
                });
            }
            if client_id.is_none() {
                return Err(ConfigError::Missing {
                    key: "AZURE_CLIENT_ID",
                    why: "the app registration's application (client) id",
                });
            }
        }
        let sharepoint_mysite_url = env
            .get("PHOTOSYNC_SHAREPOINT_MYSITE_URL")
            .map(|u| http_url("PHOTOSYNC_SHAREPOINT_MYSITE_URL", u))
            .transpose()?;
        let sharepoint_admin_url = match env.get("PHOTOSYNC_SHAREPOINT_ADMIN_URL") {
            Some(u) => Some(http_url("PHOTOSYNC_SHAREPOINT_ADMIN_URL", u)?),
            None => sharepoint_mysite_url.as_deref().and_then(admin_from_mysite),
        };
        let sharepoint_resource = env
            .get("PHOTOSYNC_SHAREPOINT_RESOURCE")
            .map(|u| http_url("PHOTOSYNC_SHAREPOINT_RESOURCE", u))
            .transpose()?;
        let mut retry = RetryPolicy::default();
        if let Some(v) = env.get("PHOTOSYNC_HTTP_TIMEOUT_SECS") {
            retry.attempt_timeout =
                Duration::from_secs(positive("PHOTOSYNC_HTTP_TIMEOUT_SECS", v, 600)?);
        }
        if let Some(v) = env.get("PHOTOSYNC_HTTP_MAX_ATTEMPTS") {
            retry.max_attempts = positive("PHOTOSYNC_HTTP_MAX_ATTEMPTS", v, 20)? as u32;
        }
        let graph_concurrency = match env.get("PHOTOSYNC_GRAPH_CONCURRENCY") {
            Some(v) => positive("PHOTOSYNC_GRAPH_CONCURRENCY", v, 256)? as usize,
            None => 16,
        };
        Ok(Self {
            tenant_id,
            client_id: client_id.clone(),
            cloud,
            graph_url,
            graph_resource: cloud.graph_root().to_owned(),
            authority_host,
            credential,
            identity_endpoint,
            sharepoint_mysite_url,
            sharepoint_admin_url,
            sharepoint_resource,
            retry,
            graph_concurrency,
            photo_concurrency_per_mailbox: 4,
        })
    }

    /// The SharePoint token audience: `PHOTOSYNC_SHAREPOINT_RESOURCE`, else the tenant's
    /// root SharePoint host derived from the My Site host
    /// (`https://contoso-my.sharepoint.com` → `https://contoso.sharepoint.com`).
    pub fn sharepoint_resource(&self) -> Option<String> {
        if let Some(r) = &self.sharepoint_resource {
            return Some(r.clone());
        }
        let my = self.sharepoint_mysite_url.as_deref()?;
        my.contains("-my.").then(|| my.replacen("-my.", ".", 1))
    }
}

fn choose_credential(
    env: &Env,
    app_service_identity: bool,
) -> Result<CredentialChoice, ConfigError> {
    let client_id = env.get("AZURE_CLIENT_ID").map(str::to_owned);
    let token_file = env.get("AZURE_FEDERATED_TOKEN_FILE").map(PathBuf::from);
    let cert = env.get("AZURE_CLIENT_CERTIFICATE_PATH").map(PathBuf::from);
    let secret = env.get("AZURE_CLIENT_SECRET").map(Secret::new);
    let wanted = env
        .get("PHOTOSYNC_CREDENTIAL")
        .unwrap_or("auto")
        .to_ascii_lowercase();
    let missing = |key, why| ConfigError::Missing { key, why };
    Ok(match wanted.as_str() {
        "managed-identity" => CredentialChoice::ManagedIdentity { client_id },
        "workload-identity" => CredentialChoice::WorkloadIdentity {
            token_file: token_file.ok_or(missing(
                "AZURE_FEDERATED_TOKEN_FILE",
                "workload identity reads the external token from this file",
            ))?,
        },
        "certificate" => CredentialChoice::ClientCertificate {
            path: cert.ok_or(missing(
                "AZURE_CLIENT_CERTIFICATE_PATH",
                "a PEM file with the certificate and its private key",
            ))?,
        },
        "secret" => CredentialChoice::ClientSecret {
            secret: secret.ok_or(missing(
                "AZURE_CLIENT_SECRET",
                "the app registration's client secret",
            ))?,
        },
        "auto" => {
            if app_service_identity {
                CredentialChoice::ManagedIdentity { client_id }
            } else if let Some(token_file) = token_file {
                CredentialChoice::WorkloadIdentity { token_file }
            } else if let Some(path) = cert {
                CredentialChoice::ClientCertificate { path }
            } else if let Some(secret) = secret {
                CredentialChoice::ClientSecret { secret }
            } else {
                // Never guess the VM metadata address (PRODUCT.md §6): off Azure it hangs.
                return Err(missing(
                    "PHOTOSYNC_CREDENTIAL",
                    "no credential found: on Azure Functions enable a managed identity (IDENTITY_ENDPOINT), \
                     or set AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_CLIENT_SECRET \
                     with AZURE_TENANT_ID and AZURE_CLIENT_ID",
                ));
            }
        }
        other => {
            return Err(ConfigError::Invalid {
                key: "PHOTOSYNC_CREDENTIAL",
                value: other.to_owned(),
                why: "use auto, managed-identity, workload-identity, certificate or secret".into(),
            })
        }
    })
}

/// An absolute http(s) URL without a trailing slash.
fn http_url(key: &'static str, value: &str) -> Result<String, ConfigError> {
    let ok = value.starts_with("https://") || value.starts_with("http://");
    if !ok || value.contains(char::is_whitespace) {
        return Err(ConfigError::Invalid {
            key,
            value: value.to_owned(),
            why: "an absolute https:// URL".into(),
        });
    }
    Ok(value.trim_end_matches('/').to_owned())
}

fn positive(key: &'static str, value: &str, max: u64) -> Result<u64, ConfigError> {
    match value.parse::<u64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(ConfigError::Invalid {
            key,
            value: value.to_owned(),
            why: format!("a whole number from 1 to {max}"),
        }),
    }
}

/// `https://contoso-my.sharepoint.com` → `https://contoso-admin.sharepoint.com`.
fn admin_from_mysite(my: &str) -> Option<String> {
    my.contains("-my.")
        .then(|| my.replacen("-my.", "-admin.", 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn app_service_identity_is_detected_first() {
        let s = M365Settings::from_env(&env(&[
            ("IDENTITY_ENDPOINT", "http://127.0.0.1:4141/msi/token"),
            ("IDENTITY_HEADER", "h"),
            ("AZURE_CLIENT_SECRET", "s"),
        ]))
        .unwrap();
        assert_eq!(
            s.credential,
            CredentialChoice::ManagedIdentity { client_id: None }
        );
        assert_eq!(s.graph_url, "https://graph.microsoft.com");
    }

    #[test]
    fn nothing_configured_names_what_to_set_and_never_guesses_imds() {
        let e = M365Settings::from_env(&env(&[])).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("PHOTOSYNC_CREDENTIAL") && text.contains("IDENTITY_ENDPOINT"),
            "{text}"
        );
    }

    #[test]
    fn a_secret_needs_tenant_and_client_and_never_prints() {
        let e = M365Settings::from_env(&env(&[("AZURE_CLIENT_SECRET", "hunter2")])).unwrap_err();
        assert!(e.to_string().contains("AZURE_TENANT_ID"), "{e}");
        let s = M365Settings::from_env(&env(&[
            ("AZURE_CLIENT_SECRET", "hunter2"),
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
        ]))
        .unwrap();
        assert_eq!(s.credential.name(), "secret");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn national_clouds_set_graph_and_login_and_overrides_win() {
        let base = [
            ("AZURE_CLIENT_SECRET", "x"),
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
        ];
        let s = M365Settings::from_env(&env(&base).with("PHOTOSYNC_CLOUD", "usgov-dod")).unwrap();
        assert_eq!(s.graph_url, "https://dod-graph.microsoft.us");
        assert_eq!(s.authority_host, "https://login.microsoftonline.us");
        let s = M365Settings::from_env(
            &env(&base)
                .with("PHOTOSYNC_CLOUD", "china")
                .with("PHOTOSYNC_GRAPH_URL", "http://127.0.0.1:9/"),
        )
        .unwrap();
        assert_eq!(s.graph_url, "http://127.0.0.1:9");
        assert_eq!(s.graph_resource, "https://microsoftgraph.chinacloudapi.cn");
        let e = M365Settings::from_env(&env(&base).with("PHOTOSYNC_CLOUD", "mars")).unwrap_err();
        assert!(e.to_string().contains("PHOTOSYNC_CLOUD"), "{e}");
    }

    #[test]
    fn sharepoint_hosts_are_derived_from_the_my_site_host() {
        let s = M365Settings::from_env(&env(&[
            ("IDENTITY_ENDPOINT", "http://127.0.0.1:1/msi"),
            ("IDENTITY_HEADER", "h"),
            (
                "PHOTOSYNC_SHAREPOINT_MYSITE_URL",
                "https://contoso-my.sharepoint.com/",
            ),
        ]))
        .unwrap();
        assert_eq!(
            s.sharepoint_admin_url.as_deref(),
            Some("https://contoso-admin.sharepoint.com")
        );
        assert_eq!(
            s.sharepoint_resource().as_deref(),
            Some("https://contoso.sharepoint.com")
        );
    }

    #[test]
    fn numbers_are_checked_with_their_key() {
        let base = env(&[
            ("IDENTITY_ENDPOINT", "http://x/msi"),
            ("IDENTITY_HEADER", "h"),
        ]);
        let e = M365Settings::from_env(&base.clone().with("PHOTOSYNC_GRAPH_CONCURRENCY", "0"))
            .unwrap_err();
        assert!(e.to_string().contains("PHOTOSYNC_GRAPH_CONCURRENCY"), "{e}");
        let s = M365Settings::from_env(&base.with("PHOTOSYNC_HTTP_TIMEOUT_SECS", "5")).unwrap();
        assert_eq!(s.retry.attempt_timeout, Duration::from_secs(5));
    }
}
