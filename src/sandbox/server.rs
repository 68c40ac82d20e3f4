//! Serving: the shared state every route sees, the plain and TLS loopback listeners, a
//! per-connection kill switch (so a fault can close a connection without answering),
//! and the router that puts the token, Graph, SharePoint and HR routes together.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post};
use axum::serve::{IncomingStream, Listener};
use axum::Router;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use super::certs::Registry;
use super::clock::Clock;
use super::config::SandboxConfig;
use super::rng::Rng;
use super::subscriptions::Book;
use super::tenant::{State, Stats};
use super::throttle::Limiter;
use super::token::Keys;
use super::{
    batch, control, delta, gate, hr, login, photos, policy, render, sharepoint, subscriptions,
    users,
};

/// Ids and secrets of the simulated tenant. Debug redacts the secrets.
pub(crate) struct Ids {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub app_object_id: String,
    pub system_mi_client_id: String,
    pub system_mi_object_id: String,
    pub user_mi_client_id: String,
    pub user_mi_object_id: String,
    pub user_mi_resource_id: String,
    pub identity_header: String,
}

impl std::fmt::Debug for Ids {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ids")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("identity_header", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// Atomic request counters (the photo concurrency peak lives in the limiter).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub directory_reads: AtomicU64,
    pub photo_reads: AtomicU64,
    pub photo_writes: AtomicU64,
    pub batch_envelopes: AtomicU64,
    pub batch_items: AtomicU64,
    pub throttled_429: AtomicU64,
    pub unavailable_503: AtomicU64,
    pub tokens_issued: AtomicU64,
}

/// What every route of one sandbox shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: SandboxConfig,
    pub ids: Ids,
    pub keys: Keys,
    pub clock: Clock,
    state: Mutex<State>,
    pub counters: Counters,
    pub limiter: Limiter,
    pub fault_rng: Mutex<Rng>,
    pub batch_rng: Mutex<Rng>,
    pub cache: Mutex<render::Cache>,
    /// `http://127.0.0.1:PORT`, known once the plain listener is bound.
    pub base_url: OnceLock<String>,
    /// `https://127.0.0.1:TLSPORT`, known once the TLS listener is bound.
    pub tls_base_url: OnceLock<String>,
    /// The `/v1.0` router with its gate, for `$batch` to dispatch items through.
    pub graph: OnceLock<Router>,
    pub shutdown: watch::Sender<bool>,
    request_seq: AtomicU64,
    /// Subscriptions and the notification record.
    subs: Mutex<Book>,
    /// Counts notifications that settled (for `Tenant::wait_for_notifications`).
    pub settled: watch::Sender<u64>,
    /// Posts notifications and handshakes (no proxy; per-request deadlines).
    pub notifier: reqwest::Client,
    /// Where deliveries run (the runtime the sandbox started on).
    pub runtime: Option<tokio::runtime::Handle>,
    /// Certificates registered on the app (m365-facts B§3.3).
    certs: Mutex<Registry>,
    /// SharePoint files and profile properties.
    sharepoint: Mutex<sharepoint::Store>,
    /// The HR system's photos.
    hr: Mutex<hr::Store>,
}

impl Shared {
    pub fn new(config: SandboxConfig, ids: Ids, keys: Keys, state: State) -> Self {
        let limiter = Limiter::new(config.limits, config.users);
        let seed = config.seed;
        Self {
            config,
            ids,
            keys,
            clock: Clock::new(),
            state: Mutex::new(state),
            counters: Counters::default(),
            limiter,
            fault_rng: Mutex::new(Rng::new(seed, 0xFA17)),
            batch_rng: Mutex::new(Rng::new(seed, 0xBA7C)),
            cache: Mutex::new(render::Cache::default()),
            base_url: OnceLock::new(),
            tls_base_url: OnceLock::new(),
            graph: OnceLock::new(),
            shutdown: watch::channel(false).0,
            request_seq: AtomicU64::new(0),
            subs: Mutex::new(Book::default()),
            settled: watch::channel(0).0,
            notifier: reqwest::Client::builder()
                .no_proxy()
                .build()
                .unwrap_or_default(),
            runtime: tokio::runtime::Handle::try_current().ok(),
            certs: Mutex::new(Registry::default()),
            sharepoint: Mutex::new(sharepoint::Store::default()),
            hr: Mutex::new(hr::Store::default()),
        }
    }

    /// Subscriptions and deliveries, even after a poisoned lock.
    pub fn subs(&self) -> MutexGuard<'_, Book> {
        self.subs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The app's registered certificates.
    pub fn certs(&self) -> MutexGuard<'_, Registry> {
        self.certs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// SharePoint's files and profile properties.
    pub fn sharepoint(&self) -> MutexGuard<'_, sharepoint::Store> {
        self.sharepoint.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The HR system's photos.
    pub fn hr(&self) -> MutexGuard<'_, hr::Store> {
        self.hr.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The state, even after a panic elsewhere poisoned the lock.
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn graph_base(&self) -> String {
        format!("{}/v1.0", self.base_url.get().map_or("", String::as_str))
    }

    /// A fresh request id (GUID-shaped, deterministic per sandbox).
    pub fn request_id(&self) -> String {
        let n = self.request_seq.fetch_add(1, Ordering::Relaxed);
        Rng::new(self.config.seed, 0x1D00_0000 + n).guid()
    }

    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Stats {
            directory_reads: l(&c.directory_reads),
            photo_reads: l(&c.photo_reads),
            photo_writes: l(&c.photo_writes),
            batch_envelopes: l(&c.batch_envelopes),
            batch_items: l(&c.batch_items),
            throttled_429: l(&c.throttled_429),
            unavailable_503: l(&c.unavailable_503),
            peak_photo_concurrency: self.limiter.peak(),
            tokens_issued: l(&c.tokens_issued),
        }
    }

    /// Resolves when [`crate::sandbox::Sandbox::shutdown`] is called.
    pub async fn shutting_down(&self) {
        let mut rx = self.shutdown.subscribe();
        let _ = rx.wait_for(|v| *v).await;
    }
}

/// The whole sandbox router: token endpoints, the managed-identity endpoint, Graph,
/// SharePoint (`/sp/{site}/…`) and the HR system (`/hr/…`).
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let graph = Router::new()
        .route("/users", get(users::list))
        .route("/users/delta", get(delta::delta))
        .route("/users/{id}", get(users::get_one))
        .route("/users/{id}/photo", get(photos::metadata))
        .route(
            "/users/{id}/photo/$value",
            get(photos::read)
                .put(photos::write)
                .patch(photos::write)
                .delete(photos::delete),
        )
        .route("/users/{id}/photos", get(photos::list))
        .route("/users/{id}/photos/{size}", get(photos::size_metadata))
        .route("/users/{id}/photos/{size}/$value", get(photos::size_read))
        .route("/$batch", post(batch::batch))
        .route(
            "/subscriptions",
            get(subscriptions::list).post(subscriptions::create),
        )
        .route(
            "/subscriptions/{id}",
            get(subscriptions::get_one)
                .patch(subscriptions::renew)
                .delete(subscriptions::delete),
        )
        .route(
            "/subscriptions/{id}/reauthorize",
            post(subscriptions::reauthorize),
        )
        .fallback(gate::not_found)
        .method_not_allowed_fallback(gate::method_not_allowed)
        // m365-facts A§1.2: the REST request-size limit is 4 MB (photo PUTs read their
        // own body with the same cap); past it the gate writes a 413 in Graph's shape.
        .layer(DefaultBodyLimit::max(photos::MAX_UPLOAD))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            gate::gate,
        ))
        .with_state(Arc::clone(&shared));
    let beta = Router::new()
        .route(
            "/admin/people/photoUpdateSettings",
            get(policy::photo_update_settings),
        )
        .fallback(gate::not_found)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            gate::gate,
        ))
        .with_state(Arc::clone(&shared));
    let graph = Router::new().nest("/v1.0", graph);
    let beta = Router::new().nest("/beta", beta);
    let _ = shared.graph.set(graph.clone());
    Router::new()
        .route("/msi/token", get(login::managed_identity))
        .route("/{tenant}/oauth2/v2.0/token", post(login::token))
        .route("/sp/{site}/{*rest}", any(sharepoint::dispatch))
        .route("/hr/photos/{file}", get(hr::photo))
        .fallback(gate::outside_graph)
        .method_not_allowed_fallback(gate::outside_method)
        .with_state(Arc::clone(&shared))
        .merge(control::router(shared))
        .merge(graph)
        .merge(beta)
}

/// The peer address and the switch that makes the connection fail its next IO.
#[derive(Debug, Clone)]
pub(crate) struct ConnInfo {
    #[allow(dead_code)]
    pub remote: SocketAddr,
    pub kill: Arc<AtomicBool>,
}

impl ConnInfo {
    fn new(remote: SocketAddr) -> Self {
        Self {
            remote,
            kill: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// A stream whose reads and writes fail once its kill switch is set, so hyper closes
/// the connection without writing the response.
pub(crate) struct Killable<T> {
    inner: T,
    kill: Arc<AtomicBool>,
}

fn killed() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionReset,
        "sandbox fault: connection dropped",
    )
}

impl<T: AsyncRead + Unpin> AsyncRead for Killable<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.kill.load(Ordering::Relaxed) {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Killable<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.kill.load(Ordering::Relaxed) {
            return Poll::Ready(Err(killed()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Plain HTTP on loopback (Graph, the managed-identity endpoint).
pub(crate) struct PlainListener(pub TcpListener);

impl Listener for PlainListener {
    type Io = Killable<TcpStream>;
    type Addr = ConnInfo;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((tcp, remote)) => {
                    let info = ConnInfo::new(remote);
                    let io = Killable {
                        inner: tcp,
                        kill: Arc::clone(&info.kill),
                    };
                    return (io, info);
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr().map(ConnInfo::new)
    }
}

/// HTTPS on loopback, for the login authority (azure_identity refuses plain http,
/// m365-facts B§3.5).
pub(crate) struct TlsListener {
    pub tcp: TcpListener,
    pub acceptor: TlsAcceptor,
}

impl Listener for TlsListener {
    type Io = Killable<tokio_rustls::server::TlsStream<TcpStream>>;
    type Addr = ConnInfo;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, remote)) = self.tcp.accept().await else {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            };
            // A client that never finishes its handshake must not stall the listener.
            let handshake = self.acceptor.accept(tcp);
            if let Ok(Ok(tls)) = tokio::time::timeout(Duration::from_secs(10), handshake).await {
                let info = ConnInfo::new(remote);
                let io = Killable {
                    inner: tls,
                    kill: Arc::clone(&info.kill),
                };
                return (io, info);
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr().map(ConnInfo::new)
    }
}

impl Connected<IncomingStream<'_, PlainListener>> for ConnInfo {
    fn connect_info(stream: IncomingStream<'_, PlainListener>) -> Self {
        stream.remote_addr().clone()
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for ConnInfo {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A self-signed certificate for 127.0.0.1/localhost: (acceptor, certificate PEM).
pub(crate) fn tls_acceptor() -> Result<(TlsAcceptor, String), String> {
    use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio_rustls::rustls::{crypto::aws_lc_rs, ServerConfig};
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .map_err(|e| e.to_string())?;
    let pem = certified.cert.pem();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let mut config = ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((TlsAcceptor::from(Arc::new(config)), pem))
}
