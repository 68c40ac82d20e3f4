//! `photo-sync doctor [--json] [--sandbox]`: run the checks and print ✓/✗ lines (or JSON);
//! exit 0 only when nothing failed.

use std::process::ExitCode;

use anyhow::Context;

use crate::auth::AuthOptions;
use crate::config::Env;
use crate::doctor;

/// Run doctor against the process environment, or against a fresh sandbox tenant.
pub fn run(json: bool, sandbox: bool) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let checks = rt.block_on(async {
        if sandbox {
            let sb = crate::sandbox::Sandbox::start(crate::sandbox::SandboxConfig::default())
                .await
                .context("starting the sandbox tenant")?;
            let (env, options) = sb.endpoints().client_env("secret")?;
            let checks = doctor::run(&env, options).await;
            sb.shutdown().await;
            anyhow::Ok(checks)
        } else {
            anyhow::Ok(doctor::run(&Env::process(), AuthOptions::default()).await)
        }
    })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&checks)?);
    } else {
        for c in &checks {
            println!("{c}");
        }
    }
    Ok(ExitCode::from(doctor::exit_code(&checks)))
}
