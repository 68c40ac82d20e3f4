//! How a photo-sync process is pointed at a running sandbox: the same settings an admin
//! would give for a real tenant (PRODUCT.md §6: `PHOTOSYNC_GRAPH_URL` and
//! `AZURE_AUTHORITY_HOST` overrides), plus an HTTP client that trusts the sandbox's
//! self-signed login certificate. Nothing else in photo-sync knows it is a sandbox.

use crate::auth::AuthOptions;
use crate::config::Env;

use super::{Endpoints, SandboxError};

impl Endpoints {
    /// Settings and auth options for a client using `credential`: `secret` (the
    /// registered app's client secret, over the TLS login endpoint), `certificate` (the
    /// registered certificate and key, written to a PEM file in the temp folder) or
    /// `managed-identity` (App Service style; `azure_identity` reads `IDENTITY_ENDPOINT`
    /// and `IDENTITY_HEADER` from the *process* environment, so the caller must also set
    /// those there before building credentials).
    pub fn client_env(&self, credential: &str) -> Result<(Env, AuthOptions), SandboxError> {
        let mut env = Env::default()
            .with("PHOTOSYNC_GRAPH_URL", &self.graph_url)
            .with("AZURE_AUTHORITY_HOST", &self.authority_host)
            .with("AZURE_TENANT_ID", &self.tenant_id)
            .with("PHOTOSYNC_CREDENTIAL", credential);
        env = match credential {
            "secret" => env
                .with("AZURE_CLIENT_ID", &self.client_id)
                .with("AZURE_CLIENT_SECRET", &self.client_secret),
            "certificate" => {
                let path = std::env::temp_dir().join(format!(
                    "photo-sync-sandbox-{}-{}.pem",
                    std::process::id(),
                    self.client_id
                ));
                std::fs::write(&path, &self.client_certificate_pem).map_err(|e| {
                    SandboxError::Config(format!("writing {}: {e}", path.display()))
                })?;
                env.with("AZURE_CLIENT_ID", &self.client_id)
                    .with("AZURE_CLIENT_CERTIFICATE_PATH", path.to_string_lossy())
            }
            "managed-identity" => env
                .with("IDENTITY_ENDPOINT", &self.identity_endpoint)
                .with("IDENTITY_HEADER", &self.identity_header),
            other => {
                return Err(SandboxError::Config(format!(
                    "client_env supports secret, certificate and managed-identity, not {other}"
                )))
            }
        };
        Ok((env, self.auth_options()?))
    }

    /// The settings that turn the classic SharePoint target on against this sandbox.
    pub fn sharepoint_env(&self, env: Env) -> Env {
        env.with(
            "PHOTOSYNC_SHAREPOINT_MYSITE_URL",
            &self.sharepoint_mysite_url,
        )
        .with("PHOTOSYNC_SHAREPOINT_ADMIN_URL", &self.sharepoint_admin_url)
        .with("PHOTOSYNC_SHAREPOINT_RESOURCE", &self.sharepoint_resource)
    }

    /// An HTTP client that trusts the sandbox's login certificate.
    pub fn auth_options(&self) -> Result<AuthOptions, SandboxError> {
        let cert = reqwest::Certificate::from_pem(self.ca_pem.as_bytes())
            .map_err(|e| SandboxError::Config(format!("sandbox certificate: {e}")))?;
        let http = reqwest::Client::builder()
            .add_root_certificate(cert)
            .build()
            .map_err(|e| SandboxError::Config(format!("HTTP client: {e}")))?;
        Ok(AuthOptions { http: Some(http) })
    }
}
