//! The sandbox tenant: an in-process, stateful simulation of the Microsoft 365 endpoints
//! photo-sync uses (token, Graph, SharePoint) and of the HR system, served over real HTTP
//! on loopback and faithful to `m365-facts.md`. Tests, the Graph client's tests and
//! `photo-sync demo` all talk to it.
//!
//! # Layout
//! - [`config`]: [`SandboxConfig`], fault rates, limits, one knob per UNCONFIRMED fact.
//! - `server`: shared state, plain and TLS listeners, the router.
//! - `gate`: middleware in front of every Graph route: request ids, faults, throttling,
//!   latency, Graph's error body, counters.
//! - `login`: the v2 client-credentials and App Service managed-identity token endpoints;
//!   `token` mints and checks JWT-shaped tokens; `certs` registers certificates and checks
//!   RS256 client assertions; `auth_check` guards Graph routes.
//! - `users`, `odata`: `/users` with paging, `$select`, `$filter`; `delta`: `/users/delta`.
//! - `photos`, `render`: the profile photo store; `batch`: `$batch`; `throttle`: limits.
//! - `subscriptions`: `/subscriptions` (create with handshake, renew, reauthorize, delete);
//!   `notify`: handshakes, change and lifecycle notifications, delivery and its record.
//! - `sharepoint`: routing for the My Site photo folder and the admin host's profile
//!   properties; `sp_store`: the files and properties; `sp_auth`: SharePoint's token
//!   rules, error bodies and throttling faults.
//! - `hr`: the HR system's photos and Standard-Webhooks-signed HR events.
//! - `control`: the sandbox's own control plane under `/_sandbox` (admin-centre changes,
//!   the clock, delta invalidation, counters), for scripts and the conformance suite.
//! - `tenant`: the state and the [`Tenant`] handle; `model`: the values it hands out;
//!   `seed`: deterministic users; `client_env`: settings that point photo-sync at it.

mod auth_check;
mod batch;
mod certs;
mod client_env;
mod clock;
pub mod config;
mod control;
mod delta;
mod error;
mod gate;
mod hr;
mod login;
mod model;
mod notify;
mod odata;
mod photos;
mod policy;
mod render;
mod rng;
mod seed;
mod server;
mod sharepoint;
mod sp_auth;
mod sp_store;
mod subscriptions;
mod tenant;
mod throttle;
mod token;
mod users;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use config::{
    BadContentType, Delivery, DeltaExpired, Faults, LifecycleShape, Limits, NoMailbox, NoPhoto,
    PhotoDelete, RetryAfterFormat, SandboxConfig, UnknownProfile, ValidationContentType, Variants,
};
pub use error::{GraphFault, SandboxError};
pub use hr::{standard_webhook_signature, HrPhotoMode};
pub use model::{
    DeliveryAttempt, DeliveryOutcome, HrDelivery, Notification, NotificationKind,
    SandboxSubscription,
};
pub use tenant::{LoggedRequest, NewUser, SandboxUser, Stats, StoredPhoto, Tenant};

use server::{ConnInfo, Ids, PlainListener, Shared, TlsListener};

/// Where a running sandbox listens, and the credentials it accepts.
#[derive(Serialize, Clone)]
pub struct Endpoints {
    /// `http://127.0.0.1:PORT`; the client appends `/v1.0/...`.
    pub graph_url: String,
    /// App Service managed-identity endpoint (`IDENTITY_ENDPOINT`).
    pub identity_endpoint: String,
    /// The `X-IDENTITY-HEADER` value (`IDENTITY_HEADER`).
    pub identity_header: String,
    /// `https://127.0.0.1:TLSPORT`, the login authority (`AZURE_AUTHORITY_HOST`).
    pub authority_host: String,
    /// PEM of the self-signed certificate the TLS listener presents.
    pub ca_pem: String,
    /// Directory (tenant) id.
    pub tenant_id: String,
    /// The registered app's client id.
    pub client_id: String,
    /// The registered app's client secret.
    pub client_secret: String,
    /// Client id of the user-assigned managed identity.
    pub managed_identity_client_id: String,
    /// SharePoint: the My Site host, where profile photos live (the same URL as
    /// `sharepoint_mysite_url`; named as `photo-sync sandbox` prints it).
    pub sharepoint_url: String,
    /// SharePoint My Site host (`{graph_url}/sp/{tenant}-my`).
    pub sharepoint_mysite_url: String,
    /// SharePoint admin host (`{graph_url}/sp/{tenant}-admin`).
    pub sharepoint_admin_url: String,
    /// The audience SharePoint tokens are requested for (`https://{tenant}.sharepoint.com`).
    pub sharepoint_resource: String,
    /// HR system, plain http (`{graph_url}/hr`); photos at `/photos/{employeeId}.jpg`.
    pub hr_url: String,
    /// The same HR system over the TLS listener (trust `ca_pem`).
    pub hr_https_url: String,
    /// The v2 token URL, the `aud` a certificate assertion must carry.
    pub token_url: String,
    /// The sandbox's own control plane (`/_sandbox`): users, photos, clock, counters.
    pub control_url: String,
    /// PEM of a certificate registered on the app AND its PKCS#8 RSA private key, for
    /// certificate credentials (m365-facts B§3.3). Shared by every sandbox of a process.
    pub client_certificate_pem: String,
}

impl std::fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoints")
            .field("graph_url", &self.graph_url)
            .field("identity_endpoint", &self.identity_endpoint)
            .field("identity_header", &"[redacted]")
            .field("authority_host", &self.authority_host)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field(
                "managed_identity_client_id",
                &self.managed_identity_client_id,
            )
            .field("sharepoint_url", &self.sharepoint_url)
            .field("sharepoint_mysite_url", &self.sharepoint_mysite_url)
            .field("sharepoint_admin_url", &self.sharepoint_admin_url)
            .field("sharepoint_resource", &self.sharepoint_resource)
            .field("hr_url", &self.hr_url)
            .field("hr_https_url", &self.hr_https_url)
            .field("token_url", &self.token_url)
            .field("control_url", &self.control_url)
            .field("client_certificate_pem", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// A running sandbox tenant. Dropping it without [`Sandbox::shutdown`] leaves the
/// listeners running until the runtime ends.
pub struct Sandbox {
    endpoints: Endpoints,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("endpoints", &self.endpoints)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Seed the tenant, bind loopback listeners (plain and TLS) and start serving.
    pub async fn start(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        let mut rng = rng::Rng::new(config.seed, 0x1D5);
        let secret = random_secret()?;
        let identity_header = random_secret()?;
        let ids = Ids {
            tenant_id: rng.guid(),
            client_id: rng.guid(),
            client_secret: secret,
            app_object_id: rng.guid(),
            system_mi_client_id: rng.guid(),
            system_mi_object_id: rng.guid(),
            user_mi_client_id: rng.guid(),
            user_mi_object_id: rng.guid(),
            user_mi_resource_id: format!(
                "/subscriptions/{}/resourcegroups/photo-sync/providers/\
                 Microsoft.ManagedIdentity/userAssignedIdentities/photo-sync",
                rng.guid()
            ),
            identity_header,
        };
        let keys = token::Keys::generate().map_err(SandboxError::Tls)?;
        let users = seed::users(config.seed, config.users, &config.tenant_name);
        let state = tenant::State::new(users, config.variants);
        let hr_store = hr::Store::seeded(config.seed, &state);
        let tenant_name = config.tenant_name.clone();
        let port = config.port;
        let shared = Arc::new(Shared::new(config, ids, keys, state));
        *shared.hr() = hr_store;
        let client_certificate_pem =
            certs::shared_client_certificate().map_err(SandboxError::Tls)?;
        shared
            .certs()
            .register(&client_certificate_pem)
            .map_err(SandboxError::Tls)?;

        let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let plain = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
        let tls = TcpListener::bind(loopback).await?;
        let base = format!("http://{}", plain.local_addr()?);
        let authority = format!("https://{}", tls.local_addr()?);
        let _ = shared.base_url.set(base.clone());
        let _ = shared.tls_base_url.set(authority.clone());
        let (acceptor, ca_pem) = server::tls_acceptor().map_err(SandboxError::Tls)?;

        let app = server::router(Arc::clone(&shared));
        let mut tasks = Vec::new();
        let s = Arc::clone(&shared);
        let plain_app = app.clone();
        tasks.push(tokio::spawn(async move {
            let make = plain_app.into_make_service_with_connect_info::<ConnInfo>();
            let _ = axum::serve(PlainListener(plain), make)
                .with_graceful_shutdown(async move { s.shutting_down().await })
                .await;
        }));
        let s = Arc::clone(&shared);
        tasks.push(tokio::spawn(async move {
            let make = app.into_make_service_with_connect_info::<ConnInfo>();
            let listener = TlsListener { tcp: tls, acceptor };
            let _ = axum::serve(listener, make)
                .with_graceful_shutdown(async move { s.shutting_down().await })
                .await;
        }));

        let endpoints = Endpoints {
            graph_url: base.clone(),
            identity_endpoint: format!("{base}/msi/token"),
            identity_header: shared.ids.identity_header.clone(),
            authority_host: authority.clone(),
            ca_pem,
            tenant_id: shared.ids.tenant_id.clone(),
            client_id: shared.ids.client_id.clone(),
            client_secret: shared.ids.client_secret.clone(),
            managed_identity_client_id: shared.ids.user_mi_client_id.clone(),
            sharepoint_url: format!("{base}/sp/{tenant_name}-my"),
            sharepoint_mysite_url: format!("{base}/sp/{tenant_name}-my"),
            sharepoint_admin_url: format!("{base}/sp/{tenant_name}-admin"),
            sharepoint_resource: format!("https://{tenant_name}.sharepoint.com"),
            hr_url: format!("{base}/hr"),
            hr_https_url: format!("{authority}/hr"),
            token_url: format!("{authority}/{}/oauth2/v2.0/token", shared.ids.tenant_id),
            control_url: format!("{base}/_sandbox"),
            client_certificate_pem,
        };
        Ok(Sandbox {
            endpoints,
            shared,
            tasks,
        })
    }

    /// Where it listens and which credentials it accepts.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// A handle on the tenant's state.
    pub fn tenant(&self) -> Tenant {
        Tenant {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Stop serving: held ("timeout") requests end, open connections close.
    pub async fn shutdown(self) {
        let _ = self.shared.shutdown.send(true);
        for task in self.tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

/// A client-secret-shaped random string (40 characters, `~` at position 4 as Entra's).
fn random_secret() -> Result<String, SandboxError> {
    use aws_lc_rs::rand::SecureRandom;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.";
    let mut raw = [0u8; 40];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut raw)
        .map_err(|e| SandboxError::Tls(e.to_string()))?;
    let mut s: String = raw
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    s.replace_range(3..4, "8");
    s.replace_range(4..5, "Q");
    s.replace_range(5..6, "~");
    Ok(s)
}
