//! Which storage account, where its three services answer, and how photo-sync proves
//! who it is there: a connection string (account key: Azurite, or accounts without
//! Entra auth) or a bearer token for `https://storage.azure.com` from the configured
//! credential (managed identity on Azure). Read once from the settings.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::auth::TokenSource;
use crate::config::{Cloud, Env, Secret};

use super::StorageError;

/// The audience of storage tokens (all three services).
pub const STORAGE_RESOURCE: &str = "https://storage.azure.com";

/// Azurite's well-known development account and key (public; documented by Microsoft
/// for the emulator only).
pub const DEV_ACCOUNT: &str = "devstoreaccount1";
const DEV_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// One of the account's services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Blob storage (the photo store).
    Blob,
    /// Queue storage (the job queue).
    Queue,
    /// Table storage (the ledger).
    Table,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::Blob => "blob",
            Service::Queue => "queue",
            Service::Table => "table",
        }
    }
}

/// How requests are authorised.
#[derive(Clone)]
pub enum StorageAuth {
    /// Shared Key with the account key (base64 as the portal shows it).
    SharedKey(Secret),
    /// Bearer tokens for [`STORAGE_RESOURCE`].
    Token(Arc<dyn TokenSource>),
}

impl std::fmt::Debug for StorageAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StorageAuth::SharedKey(_) => f.write_str("SharedKey([redacted])"),
            StorageAuth::Token(_) => f.write_str("Token"),
        }
    }
}

/// A storage account: its name, the three service endpoints and the credential.
#[derive(Debug, Clone)]
pub struct StorageAccount {
    /// The account name (the Shared Key signer needs it).
    pub name: String,
    endpoints: BTreeMap<&'static str, String>,
    /// How requests are authorised.
    pub auth: StorageAuth,
}

impl StorageAccount {
    /// The endpoint of one service, without a trailing slash (path-style for Azurite:
    /// `http://127.0.0.1:10002/devstoreaccount1`).
    pub fn endpoint(&self, service: Service) -> &str {
        self.endpoints
            .get(service.name())
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// True when the endpoint puts the account name in the path (the emulator), which
    /// the Shared Key canonical resource must repeat.
    pub fn path_style(&self, service: Service) -> bool {
        let ep = self.endpoint(service);
        let after_scheme = ep.split_once("://").map_or(ep, |(_, rest)| rest);
        after_scheme
            .split_once('/')
            .is_some_and(|(_, path)| !path.trim_matches('/').is_empty())
    }

    /// An account reached with Entra tokens on the cloud's standard endpoints
    /// (`https://{name}.{service}.core.windows.net`), or on `overrides` per service.
    pub fn with_token(
        name: &str,
        cloud: Cloud,
        overrides: [Option<String>; 3],
        tokens: Arc<dyn TokenSource>,
    ) -> Result<Self, StorageError> {
        check_account_name(name)?;
        let suffix = cloud_suffix(cloud);
        let mut endpoints = BTreeMap::new();
        for (service, custom) in [Service::Blob, Service::Queue, Service::Table]
            .into_iter()
            .zip(overrides)
        {
            let url =
                custom.unwrap_or_else(|| format!("https://{name}.{}.{suffix}", service.name()));
            endpoints.insert(service.name(), checked_endpoint(&url)?);
        }
        Ok(Self {
            name: name.to_string(),
            endpoints,
            auth: StorageAuth::Token(tokens),
        })
    }

    /// Parses a connection string (`DefaultEndpointsProtocol=…;AccountName=…;
    /// AccountKey=…;EndpointSuffix=…` with optional `BlobEndpoint=`, `QueueEndpoint=`,
    /// `TableEndpoint=`), or `UseDevelopmentStorage=true` (Azurite's default ports).
    /// Errors never repeat the key.
    pub fn from_connection_string(text: &str) -> Result<Self, StorageError> {
        let mut parts: BTreeMap<String, String> = BTreeMap::new();
        for piece in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((k, v)) = piece.split_once('=') else {
                return Err(StorageError::Config(
                    "the connection string has a part without '=' (expected Name=value;…)".into(),
                ));
            };
            parts.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
        if parts
            .get("usedevelopmentstorage")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            let mut endpoints = BTreeMap::new();
            for (service, port) in [
                (Service::Blob, 10000),
                (Service::Queue, 10001),
                (Service::Table, 10002),
            ] {
                endpoints.insert(
                    service.name(),
                    format!("http://127.0.0.1:{port}/{DEV_ACCOUNT}"),
                );
            }
            return Ok(Self {
                name: DEV_ACCOUNT.into(),
                endpoints,
                auth: StorageAuth::SharedKey(Secret::new(DEV_KEY)),
            });
        }
        let name = parts.get("accountname").cloned().ok_or_else(|| {
            StorageError::Config("the connection string has no AccountName".into())
        })?;
        check_account_name(&name)?;
        let key = parts.get("accountkey").cloned().ok_or_else(|| {
            StorageError::Config(
                "the connection string has no AccountKey (for managed identity, set the account name instead of a connection string)".into(),
            )
        })?;
        if base64_len(&key).is_none() {
            return Err(StorageError::Config(
                "the connection string's AccountKey is not base64".into(),
            ));
        }
        let protocol = parts
            .get("defaultendpointsprotocol")
            .cloned()
            .unwrap_or_else(|| "https".into());
        let suffix = parts
            .get("endpointsuffix")
            .cloned()
            .unwrap_or_else(|| "core.windows.net".into());
        let mut endpoints = BTreeMap::new();
        for service in [Service::Blob, Service::Queue, Service::Table] {
            let url = parts
                .get(&format!("{}endpoint", service.name()))
                .cloned()
                .unwrap_or_else(|| format!("{protocol}://{name}.{}.{suffix}", service.name()));
            endpoints.insert(service.name(), checked_endpoint(&url)?);
        }
        Ok(Self {
            name,
            endpoints,
            auth: StorageAuth::SharedKey(Secret::new(key)),
        })
    }

    /// The account named `name` from the settings: the connection string in
    /// `PHOTOSYNC_STORAGE_CONNECTION` or `AzureWebJobsStorage` when it names this account
    /// (or `name` is empty), else Entra tokens on the standard endpoints (overridable
    /// with `AzureWebJobsStorage__blobServiceUri` / `__queueServiceUri` /
    /// `__tableServiceUri`, the Functions host's identity-based connection settings).
    pub fn from_env(
        env: &Env,
        name: &str,
        cloud: Cloud,
        tokens: Option<Arc<dyn TokenSource>>,
    ) -> Result<Self, StorageError> {
        for key in ["PHOTOSYNC_STORAGE_CONNECTION", "AzureWebJobsStorage"] {
            let Some(text) = env.get(key).filter(|t| t.contains('=')) else {
                continue;
            };
            let account = Self::from_connection_string(text)
                .map_err(|e| StorageError::Config(format!("{key}: {e}")))?;
            if name.is_empty() || account.name == name {
                return Ok(account);
            }
        }
        let name = if name.is_empty() {
            env.get("AzureWebJobsStorage__accountName")
                .or_else(|| env.get("AzureWebJobsStorage").filter(|v| !v.contains('=')))
                .ok_or_else(|| {
                    StorageError::Config(
                        "no storage account: set AzureWebJobsStorage (a connection string) or AzureWebJobsStorage__accountName".into(),
                    )
                })?
        } else {
            name
        };
        let tokens = tokens.ok_or_else(|| {
            StorageError::Config(format!(
                "storage account {name} needs a credential (managed identity) or a connection string in PHOTOSYNC_STORAGE_CONNECTION"
            ))
        })?;
        let over = |k: &str| {
            env.get(&format!("AzureWebJobsStorage__{k}ServiceUri"))
                .map(str::to_string)
        };
        Self::with_token(
            name,
            cloud,
            [over("blob"), over("queue"), over("table")],
            tokens,
        )
    }
}

/// The storage DNS suffix of each cloud (m365-facts A§5 names the clouds).
fn cloud_suffix(cloud: Cloud) -> &'static str {
    match cloud {
        Cloud::Global => "core.windows.net",
        Cloud::UsGov | Cloud::UsGovDod => "core.usgovcloudapi.net",
        Cloud::China => "core.chinacloudapi.cn",
    }
}

/// Account names: 3–24 lower-case letters and digits (Azurite's is the exception).
fn check_account_name(name: &str) -> Result<(), StorageError> {
    let ok = (3..=24).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if ok || name == DEV_ACCOUNT {
        Ok(())
    } else {
        Err(StorageError::Config(format!(
            "{name:?} is not a storage account name (3 to 24 lower-case letters and digits)"
        )))
    }
}

/// An endpoint must be http(s); plain http only on loopback (Azurite).
fn checked_endpoint(url: &str) -> Result<String, StorageError> {
    let trimmed = url.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(trimmed)
        .map_err(|e| StorageError::Config(format!("{trimmed:?} is not a URL: {e}")))?;
    let host = parsed.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(trimmed.to_string()),
        "http" if loopback => Ok(trimmed.to_string()),
        _ => Err(StorageError::Config(format!(
            "{trimmed:?}: storage endpoints must use https (http only on loopback, for Azurite)"
        ))),
    }
}

fn base64_len(text: &str) -> Option<usize> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()
        .map(|b| b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn development_storage_is_azurite_on_loopback() {
        let a = StorageAccount::from_connection_string("UseDevelopmentStorage=true").unwrap();
        assert_eq!(a.name, DEV_ACCOUNT);
        assert_eq!(
            a.endpoint(Service::Table),
            "http://127.0.0.1:10002/devstoreaccount1"
        );
        assert!(a.path_style(Service::Table));
    }

    #[test]
    fn connection_string_with_suffix_and_custom_endpoint() {
        let a = StorageAccount::from_connection_string(
            "DefaultEndpointsProtocol=https;AccountName=contosophotos;AccountKey=a2V5;EndpointSuffix=core.chinacloudapi.cn;QueueEndpoint=https://q.example.test/",
        )
        .unwrap();
        assert_eq!(
            a.endpoint(Service::Blob),
            "https://contosophotos.blob.core.chinacloudapi.cn"
        );
        assert_eq!(a.endpoint(Service::Queue), "https://q.example.test");
        assert!(!a.path_style(Service::Blob));
        assert!(
            !format!("{a:?}").contains("a2V5"),
            "the key never shows in Debug"
        );
    }

    #[test]
    fn bad_connection_strings_say_what_is_wrong_without_the_key() {
        for (text, needle) in [
            (
                "AccountName=x;AccountKey=a2V5",
                "not a storage account name",
            ),
            ("AccountName=contoso", "no AccountKey"),
            ("AccountName=contoso;AccountKey=not base64!", "not base64"),
            ("garbage", "without '='"),
            (
                "AccountName=contoso;AccountKey=a2V5;BlobEndpoint=http://10.0.0.1/",
                "https",
            ),
        ] {
            let e = StorageAccount::from_connection_string(text)
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{text}: {e}");
            assert!(!e.contains("a2V5"), "{e}");
        }
    }
}
