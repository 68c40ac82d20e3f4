//! `photo-sync serve`: the one router on a port. Under the Azure Functions host
//! (`FUNCTIONS_CUSTOMHANDLER_PORT` set, m365-facts B§4.1) it is the custom handler: the
//! host runs the timer and the queue trigger. Standalone it also runs the durable local
//! queue's worker and the reconcile on its schedule (`PHOTOSYNC_RECONCILE_SCHEDULE`,
//! NCRONTAB, default `0 0 2 * * *`). With no tenant configured it refuses to start and
//! names the missing settings; `--sandbox` runs it against the built-in sandbox tenant.
//! Under AWS Lambda (`AWS_LAMBDA_RUNTIME_API` set, m365-facts B§5) it runs the Lambda
//! host instead, with SQS as the job queue (a build with `--features lambda`).

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::config::Env;
use crate::host::worker::{Worker, WorkerOptions};
#[cfg(feature = "lambda")]
use crate::queue::{JobSink, Poison};
#[cfg(feature = "lambda")]
use std::sync::Arc;

/// Options of `photo-sync serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (standalone; the Functions host's port wins when set).
    #[arg(long, default_value = "127.0.0.1:7071")]
    listen: SocketAddr,
    /// Run against a fresh built-in sandbox tenant (never chosen silently).
    #[arg(long)]
    sandbox: bool,
    /// Do not run queued jobs in this process.
    #[arg(long)]
    no_worker: bool,
    /// Do not run the reconcile on its schedule.
    #[arg(long)]
    no_scheduler: bool,
}

/// Structured logs: JSON when standard error is not a terminal (PRODUCT.md §9).
pub(crate) fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PHOTOSYNC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if std::io::stderr().is_terminal() {
        builder.try_init()
    } else {
        builder.json().try_init()
    };
}

pub(crate) fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    init_logs();
    let process = Env::process();
    if let Some(api) = process.get("AWS_LAMBDA_RUNTIME_API") {
        return lambda(args, &process, api);
    }
    let functions_port = process
        .get("FUNCTIONS_CUSTOMHANDLER_PORT")
        .map(str::to_string);
    let addr: SocketAddr = match &functions_port {
        Some(p) => format!("127.0.0.1:{p}")
            .parse()
            .with_context(|| format!("FUNCTIONS_CUSTOMHANDLER_PORT={p:?} is not a port"))?,
        None => args.listen,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        // Listen first: the host's readiness ping is answered as soon as the router is up.
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening on {addr}"))?;
        let extra = if args.sandbox {
            let base = format!("http://{}", listener.local_addr()?);
            vec![
                ("PHOTOSYNC_NOTIFICATION_URL", format!("{base}/api/notifications")),
                ("PHOTOSYNC_CLIENT_STATE", format!("sandbox-client-state-{}", std::process::id())),
            ]
        } else {
            Vec::new()
        };
        let c = super::function::connect(args.sandbox, &extra).await?;
        let app = c.deployment.app.clone();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut tasks = Vec::new();
        let standalone = functions_port.is_none();
        // Under the Functions host the timer's jobs arrive through the queue trigger, but
        // the HTTP functions' jobs go to the local queue (the Storage-queue client is not
        // built yet), so this instance runs them itself.
        if !args.no_worker {
            if let Some(queue) = &c.deployment.local_queue {
                let worker = Worker::new(app.clone(), queue.clone(), WorkerOptions::default());
                let stop = stop_rx.clone();
                tasks.push(tokio::spawn(async move { worker.run(stop).await }));
            }
        }
        if standalone && !args.no_scheduler {
            let schedule = Env::process()
                .get("PHOTOSYNC_RECONCILE_SCHEDULE")
                .unwrap_or(crate::host::DEFAULT_SCHEDULE)
                .to_string();
            let app = app.clone();
            let stop = stop_rx.clone();
            let scheduled = crate::host::scheduled_reconcile(app, &schedule, stop)?;
            tasks.push(tokio::spawn(scheduled));
        }
        tracing::info!(%addr, functions = !standalone, sandbox = args.sandbox, "photo-sync serving");
        let router = crate::triggers::router(app);
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("serving")?;
        let _ = stop_tx.send(true);
        for t in tasks {
            let _ = t.await;
        }
        drop(c);
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The Lambda host: the app with SQS as its sink and poison queue, run by the Lambda
/// runtime loop. A start that fails is reported to the Runtime API's init error.
#[cfg(feature = "lambda")]
fn lambda(args: &ServeArgs, process: &Env, runtime_api: &str) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        let started = async {
            let sqs = crate::host::sqs_queue(process)?.context(
                "PHOTOSYNC_SQS_QUEUE_URL is not set: on AWS Lambda jobs go to an SQS queue",
            )?;
            // The sandbox builds its own settings; the function's public URL and
            // clientState still come from the Lambda environment when given.
            let extra: Vec<(&str, String)> =
                ["PHOTOSYNC_NOTIFICATION_URL", "PHOTOSYNC_CLIENT_STATE"]
                    .into_iter()
                    .filter(|_| args.sandbox)
                    .filter_map(|k| Some((k, process.get(k)?.to_string())))
                    .collect();
            let c = super::function::connect(args.sandbox, &extra).await?;
            let app = c
                .deployment
                .app
                .clone()
                .with_sink(Arc::clone(&sqs) as Arc<dyn JobSink>)
                .with_poison(sqs as Arc<dyn Poison>);
            anyhow::Ok((c, app))
        }
        .await;
        let (c, app) = match started {
            Ok(v) => v,
            Err(e) => {
                crate::host::lambda::report_init_error(runtime_api, &format!("{e:#}")).await;
                return Err(e);
            }
        };
        tracing::info!(sandbox = args.sandbox, "photo-sync on AWS Lambda");
        crate::host::lambda::run(app).await?;
        drop(c);
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Without the Lambda host compiled in, say how to get it.
#[cfg(not(feature = "lambda"))]
fn lambda(_args: &ServeArgs, _process: &Env, _runtime_api: &str) -> anyhow::Result<ExitCode> {
    anyhow::bail!(
        "AWS_LAMBDA_RUNTIME_API is set, so this is AWS Lambda, but this photo-sync was built \
         without the Lambda host: build it with `cargo build --release --features lambda`"
    )
}

/// Resolves on Ctrl-C or SIGTERM (the Functions host and systemd stop with SIGTERM).
pub(crate) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
