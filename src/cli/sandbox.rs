//! `photo-sync sandbox`: the sandbox tenant alone, for trying scripts and tools safely.
//! Its first output line is one JSON object naming its endpoints (PRODUCT.md §9); then,
//! for people, the settings that point photo-sync (or any tool that uses App Service
//! managed identity) at it and a few seeded users to try. It serves until interrupted
//! (Ctrl-C or SIGTERM).

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use crate::sandbox::{
    DeltaExpired, Endpoints, Faults, Limits, NoPhoto, Sandbox, SandboxConfig, SandboxUser, Variants,
};

/// `--throttle`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Throttle {
    /// No limits.
    Off,
    /// The documented Graph and Outlook limits (m365-facts B§2.3).
    Documented,
    /// Every limit cut to a twentieth: throttling within seconds.
    Harsh,
}

impl Throttle {
    /// The limits enforced, or None for no throttling at all.
    fn limits(self) -> Option<Limits> {
        match self {
            Throttle::Off => None,
            Throttle::Documented => Some(Limits::default()),
            Throttle::Harsh => Some(Limits::harsh()),
        }
    }
}

/// `--no-photo-shape` (m365-facts A§1.3: sources disagree).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum NoPhotoShape {
    /// Metadata and `$value` answer 404 `ImageNotFound`.
    #[value(name = "404")]
    NotFound,
    /// Metadata is a 1x1 GIF placeholder with an empty mediaEtag; `$value` 404.
    Gif,
    /// Both, fixed per user.
    Mixed,
}

/// `--delta-expired` (m365-facts B§2.1).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum DeltaExpiry {
    /// 400 `syncStateNotFound`.
    #[value(name = "400")]
    SyncStateNotFound,
    /// 410 Gone with a `Location` for a full resync.
    #[value(name = "410")]
    Gone,
}

/// Options of `photo-sync sandbox`.
#[derive(Debug, clap::Args)]
pub struct SandboxArgs {
    /// Loopback port for Graph, identity, SharePoint and HR (0 picks a free one). The TLS
    /// login authority always takes a free port.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Seeded users (10 to 100,000).
    #[arg(long, default_value_t = 50)]
    users: usize,
    /// Seed: the same seed gives the same tenant.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Latency added to every Graph and SharePoint answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Service limits: off, documented, or harsh (a twentieth of each).
    #[arg(long, value_enum, default_value = "documented")]
    throttle: Throttle,
    /// What a user without a photo looks like: 404, gif (1x1 placeholder) or mixed.
    #[arg(long, value_enum, default_value = "404")]
    no_photo_shape: NoPhotoShape,
    /// What a delta token past its 7 days gets: 400 syncStateNotFound or 410 Gone.
    #[arg(long, value_enum, default_value = "400")]
    delta_expired: DeltaExpiry,
    /// Share of Graph requests answered 429 at random (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    rate_429: f64,
    /// Share of Graph requests answered 503 at random (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    rate_503: f64,
    /// Accept http:// notification URLs (real Graph demands https).
    #[arg(long)]
    allow_http_notifications: bool,
}

impl SandboxArgs {
    /// The tenant these options describe.
    fn config(&self) -> anyhow::Result<SandboxConfig> {
        for (name, rate) in [("--rate-429", self.rate_429), ("--rate-503", self.rate_503)] {
            if !(0.0..=1.0).contains(&rate) {
                anyhow::bail!("{name} {rate}: give a share between 0 and 1");
            }
        }
        if !(10..=100_000).contains(&self.users) {
            anyhow::bail!("--users {}: give 10 to 100000", self.users);
        }
        let limits = self.throttle.limits();
        let variants = Variants {
            no_photo: match self.no_photo_shape {
                NoPhotoShape::NotFound => NoPhoto::NotFound,
                NoPhotoShape::Gif => NoPhoto::Placeholder,
                NoPhotoShape::Mixed => NoPhoto::Mixed,
            },
            delta_expired: match self.delta_expired {
                DeltaExpiry::SyncStateNotFound => DeltaExpired::SyncStateNotFound400,
                DeltaExpiry::Gone => DeltaExpired::Gone410,
            },
            ..Variants::default()
        };
        Ok(SandboxConfig {
            port: self.port,
            users: self.users,
            seed: self.seed,
            latency: Duration::from_millis(self.latency_ms),
            faults: Faults {
                rate_429: self.rate_429,
                rate_503: self.rate_503,
                ..Faults::default()
            },
            throttle: limits.is_some(),
            limits: limits.unwrap_or_default(),
            variants,
            allow_http_notification_url: self.allow_http_notifications,
            ..SandboxConfig::default()
        })
    }
}

/// Start the sandbox, print its endpoints, serve until interrupted.
pub fn run(args: &SandboxArgs) -> anyhow::Result<ExitCode> {
    let config = args.config()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        let sb = Sandbox::start(config).await.with_context(|| {
            if args.port == 0 {
                "starting the sandbox tenant".to_string()
            } else {
                format!(
                    "starting the sandbox tenant on 127.0.0.1:{} (is the port in use?)",
                    args.port
                )
            }
        })?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", serde_json::to_string(sb.endpoints())?)?;
        out.flush()?;
        // The guide is for people: a reader that took the first line and closed the
        // pipe (`| head -1`) must not stop the sandbox.
        let tenant = sb.tenant();
        let users: Vec<Listed> = tenant
            .users()
            .into_iter()
            .map(|u| {
                let has_photo = tenant.photo(&u.id).is_some();
                (u, has_photo)
            })
            .collect();
        let _ = write!(out, "{}", guide(sb.endpoints(), &users));
        let _ = out.flush();
        drop(out);
        super::serve::shutdown_signal().await;
        sb.shutdown().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// What a person reads after the JSON line: settings and users to try.
fn guide(ep: &Endpoints, users: &[Listed]) -> String {
    let mut s = String::new();
    s.push_str(
        "\n# The sandbox tenant is up. Point photo-sync, or any tool that uses App Service\n",
    );
    s.push_str("# managed identity (azure_identity, Azure.Identity, Az PowerShell), at it:\n");
    for (k, v) in [
        ("PHOTOSYNC_GRAPH_URL", ep.graph_url.as_str()),
        ("PHOTOSYNC_CREDENTIAL", "managed-identity"),
        ("IDENTITY_ENDPOINT", ep.identity_endpoint.as_str()),
        ("IDENTITY_HEADER", ep.identity_header.as_str()),
        ("AZURE_TENANT_ID", ep.tenant_id.as_str()),
    ] {
        s.push_str(&format!("export {k}='{v}'\n"));
    }
    s.push_str(&format!(
        "\n# A Graph token and a first call with curl:\n\
         TOKEN=$(curl -s -H \"X-IDENTITY-HEADER: $IDENTITY_HEADER\" \\\n  \
         \"$IDENTITY_ENDPOINT?api-version=2019-08-01&resource=https://graph.microsoft.com\" \
         | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')\n\
         curl -s -H \"Authorization: Bearer $TOKEN\" \"{}/v1.0/users?\\$top=5&\\$select=id,userPrincipalName\"\n",
        ep.graph_url
    ));
    s.push_str(&format!(
        "\n# Change the tenant as an admin would (create users, replace photos, move the\n\
         # clock): {}  (see README, \"Try your own scripts against the sandbox\")\n",
        ep.control_url
    ));
    s.push_str("\n# Users to try:\n");
    for (u, has_photo) in pick(users) {
        s.push_str(&format!(
            "  {:<52} id {}  employeeId {:<8} {:<6} {}\n",
            u.user_principal_name,
            u.id,
            u.employee_id.as_deref().unwrap_or("-"),
            u.user_type,
            if *has_photo { "photo" } else { "no photo" }
        ));
    }
    s
}

/// A seeded user and whether it has a photo.
type Listed = (SandboxUser, bool);
/// What makes a user worth showing.
type Wanted = dyn Fn(&Listed) -> bool;

/// A handful of telling users: members with and without a photo, a guest, one without
/// employee id, one with an apostrophe in the UPN.
fn pick(users: &[Listed]) -> Vec<&Listed> {
    fn member(u: &SandboxUser) -> bool {
        u.user_type == "Member"
    }
    let wanted: [&Wanted; 5] = [
        &|(u, p)| member(u) && *p,
        &|(u, p)| member(u) && !*p,
        &|(u, _)| u.user_type == "Guest",
        &|(u, _)| member(u) && u.employee_id.is_none(),
        &|(u, _)| u.user_principal_name.contains('\''),
    ];
    let mut picked: Vec<&Listed> = Vec::new();
    for want in wanted {
        if let Some(found) = users
            .iter()
            .find(|e| want(e) && !picked.iter().any(|p| p.0.id == e.0.id))
        {
            picked.push(found);
        }
    }
    picked
}
