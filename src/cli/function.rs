//! `sync USER`, `reconcile`, `subscriptions ensure|list|delete` and `report`: the
//! function's work from the command line, through the same engine as the triggers.
//! With `--sandbox` they run against a fresh built-in sandbox tenant.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::auth::AuthOptions;
use crate::config::Env;
use crate::host::worker::{Worker, WorkerOptions};
use crate::host::{build, Deployment};
use crate::queue::{Cause, Job, UserRef};
use crate::sandbox::{Sandbox, SandboxConfig};

/// Where the function points: the configured tenant, or a fresh sandbox tenant.
pub(crate) struct Connected {
    pub deployment: Deployment,
    /// Kept alive while the command runs.
    #[allow(dead_code)] // held, never read: the tenant lives as long as the command
    pub sandbox: Option<Sandbox>,
}

/// Builds the function from the environment, or against a new sandbox tenant.
pub(crate) async fn connect(sandbox: bool, extra: &[(&str, String)]) -> anyhow::Result<Connected> {
    let (mut env, auth, sb) = if sandbox {
        let sb = Sandbox::start(SandboxConfig {
            allow_http_notification_url: true,
            ..SandboxConfig::default()
        })
        .await
        .context("starting the sandbox tenant")?;
        let (env, auth) = sb.endpoints().client_env("certificate")?;
        let env = sb.endpoints().sharepoint_env(env);
        let ledger =
            std::env::temp_dir().join(format!("photo-sync-sandbox-{}.db", std::process::id()));
        let env = env.with("PHOTOSYNC_LEDGER", format!("sqlite:{}", ledger.display()));
        (env, auth, Some(sb))
    } else {
        (Env::process(), AuthOptions::default(), None)
    };
    for (k, v) in extra {
        env = env.with(k, v.as_str());
    }
    let deployment = build(&env, auth).await.context(
        "the function is not configured (see README, Configuration); add --sandbox to try it on the built-in sandbox tenant",
    )?;
    Ok(Connected {
        deployment,
        sandbox: sb,
    })
}

/// A user reference from what an operator types: an object id (GUID), an address
/// (UPN, then mail), or an employee id.
pub(crate) fn user_ref(text: &str) -> UserRef {
    let t = text.trim();
    let guid = t.len() == 36 && t.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    if guid {
        UserRef::by_id(t)
    } else if t.contains('@') {
        UserRef {
            user_principal_name: Some(t.into()),
            mail: Some(t.into()),
            ..UserRef::default()
        }
    } else {
        UserRef {
            employee_id: Some(t.into()),
            ..UserRef::default()
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn dry(dry_run: bool) -> Vec<(&'static str, String)> {
    if dry_run {
        vec![("PHOTOSYNC_DRY_RUN", "true".into())]
    } else {
        Vec::new()
    }
}

/// `photo-sync sync USER [--dry-run] [--json] [--sandbox]`.
pub(crate) fn sync(
    user: &str,
    dry_run: bool,
    json: bool,
    sandbox: bool,
) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let c = connect(sandbox, &dry(dry_run)).await?;
        let job = Job {
            v: crate::queue::JOB_VERSION,
            user: user_ref(user),
            cause: Cause::Manual,
            hr_event: None,
        };
        let report = c.deployment.app.engine().sync_user(&job).await?;
        if json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            println!(
                "{} ({}){}",
                report.upn.as_deref().unwrap_or("?"),
                report.user_id.as_deref().unwrap_or("?"),
                if report.dry_run {
                    " — dry run, nothing written"
                } else {
                    ""
                }
            );
            println!("  source: {}", report.source.as_deref().unwrap_or("none"));
            for (target, outcome) in &report.targets {
                println!("  {target}: {}", serde_json::to_string(outcome)?);
            }
            if let Some(note) = &report.note {
                println!("  {note}");
            }
        }
        Ok(if report.failure().is_some() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    })
}

/// `photo-sync reconcile [--dry-run] [--full] [--no-sync] [--json] [--sandbox]`: finds
/// drift, queues jobs on the local queue and (unless `--no-sync`) runs them.
pub(crate) fn reconcile(
    dry_run: bool,
    full: bool,
    no_sync: bool,
    json: bool,
    sandbox: bool,
) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let c = connect(sandbox, &dry(dry_run)).await?;
        let app = &c.deployment.app;
        let tty = std::io::stderr().is_terminal() && !json;
        let spinner = progress_spinner(tty, "checking users");
        let ticker = spinner.clone();
        let progress = move |n: u64| {
            ticker.set_position(n);
        };
        let report = app
            .engine()
            .reconcile(app.sink().as_ref(), full, &progress)
            .await?;
        spinner.finish_and_clear();
        let mut stats = None;
        if !no_sync && !dry_run {
            if let Some(queue) = &c.deployment.local_queue {
                let worker = Worker::new(app.clone(), queue.clone(), WorkerOptions::default());
                let bar = progress_bar(tty, queue.depth().await.unwrap_or(0));
                let watch = {
                    let (bar, queue) = (bar.clone(), queue.clone());
                    tokio::spawn(async move {
                        loop {
                            if let Ok(left) = queue.depth().await {
                                bar.set_position(bar.length().unwrap_or(0).saturating_sub(left));
                            }
                            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                        }
                    })
                };
                let drained = worker.drain().await;
                watch.abort();
                bar.finish_and_clear();
                stats = Some(drained?);
            }
        }
        if json {
            println!(
                "{}",
                serde_json::json!({"reconcile": report, "jobs": stats})
            );
        } else {
            println!(
                "{} users checked ({}), {} jobs queued{}",
                report.checked,
                if report.full_walk {
                    "full walk"
                } else {
                    "incremental"
                },
                report.enqueued,
                if report.dry_run {
                    " — dry run, nothing written"
                } else {
                    ""
                }
            );
            for (why, n) in &report.reasons {
                println!("  {n:>6}  {why}");
            }
            if let Some(e) = &report.subscription_error {
                println!("  subscriptions: {e}");
            }
            if let Some(s) = stats {
                println!(
                    "jobs: {} done, {} retried later, {} poisoned",
                    s.done, s.retried, s.poisoned
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `photo-sync subscriptions ensure|list|delete [--json]`.
pub(crate) fn subscriptions(action: &str, json: bool) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let c = connect(false, &[]).await?;
        let engine = c.deployment.app.engine();
        let value = match action {
            "ensure" => serde_json::to_value(engine.ensure_subscriptions().await?)?,
            "list" => serde_json::to_value(engine.our_subscriptions().await?)?,
            "delete" => serde_json::to_value(engine.delete_subscriptions().await?)?,
            other => anyhow::bail!("unknown action {other:?}: ensure, list or delete"),
        };
        if json {
            println!("{value}");
        } else {
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// `photo-sync report [--html FILE] [--json]`.
pub(crate) fn report(html: Option<PathBuf>, json: bool) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let c = connect(false, &[]).await?;
        let engine = c.deployment.app.engine();
        let poisoned = match (&c.deployment.local_queue, &c.deployment.azure_queue) {
            (Some(q), _) => q.poisoned().await?,
            (None, Some(q)) => q.poisoned().await?,
            (None, None) => Vec::new(),
        };
        let report = crate::report::collect(
            engine.ledger().as_ref(),
            engine.photos().as_ref(),
            poisoned,
            html.is_some(),
        )
        .await?;
        if let Some(path) = &html {
            std::fs::write(path, crate::report::render(&report, "photo-sync report"))
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
        if json || html.is_none() {
            println!("{}", serde_json::to_string(&report)?);
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// A spinner with a count and a rate on a terminal; hidden otherwise (PRODUCT.md §9).
fn progress_spinner(tty: bool, what: &str) -> indicatif::ProgressBar {
    if !tty {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg}: {human_pos} ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.set_message(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// A bar over the queued jobs on a terminal; hidden otherwise.
fn progress_bar(tty: bool, len: u64) -> indicatif::ProgressBar {
    if !tty || len == 0 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "syncing {bar:30} {human_pos}/{human_len} jobs (eta {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}
