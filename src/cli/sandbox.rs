//! `photo-sync sandbox`: the sandbox tenant alone, for trying scripts and tools safely.
//! Its first output line is a JSON object of its endpoints (PRODUCT.md §9); it serves
//! until interrupted (Ctrl-C or SIGTERM).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use crate::sandbox::{Faults, Sandbox, SandboxConfig};

/// Options of `photo-sync sandbox`.
#[derive(Debug, clap::Args)]
pub struct SandboxArgs {
    /// Seeded users (10 to 100,000).
    #[arg(long, default_value_t = 50)]
    users: usize,
    /// Seed: the same seed gives the same tenant.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Latency added to every Graph and SharePoint answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of Graph requests answered 429 (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    rate_429: f64,
    /// Share of Graph requests answered 503 (0 to 1).
    #[arg(long, default_value_t = 0.0)]
    rate_503: f64,
    /// Turn off the model of the documented service limits.
    #[arg(long)]
    no_throttle: bool,
    /// Accept http:// notification URLs (real Graph demands https).
    #[arg(long)]
    allow_http_notifications: bool,
}

/// Start the sandbox, print its endpoints, serve until interrupted.
pub fn run(args: &SandboxArgs) -> anyhow::Result<ExitCode> {
    for (name, rate) in [("--rate-429", args.rate_429), ("--rate-503", args.rate_503)] {
        if !(0.0..=1.0).contains(&rate) {
            anyhow::bail!("{name} {rate}: a share between 0 and 1");
        }
    }
    let config = SandboxConfig {
        users: args.users,
        seed: args.seed,
        latency: Duration::from_millis(args.latency_ms),
        faults: Faults {
            rate_429: args.rate_429,
            rate_503: args.rate_503,
            ..Faults::default()
        },
        throttle: !args.no_throttle,
        allow_http_notification_url: args.allow_http_notifications,
        ..SandboxConfig::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        let sb = Sandbox::start(config)
            .await
            .context("starting the sandbox tenant")?;
        println!("{}", serde_json::to_string(sb.endpoints())?);
        shutdown_signal().await;
        sb.shutdown().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
