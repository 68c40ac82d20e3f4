//! `photo-sync demo`: runs [`crate::host::demo`] and prints its summary.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;

use crate::host::demo::{run as run_demo, DemoOptions};

/// Options of `photo-sync demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// Users in the sandbox tenant.
    #[arg(long, default_value_t = 200)]
    users: usize,
    /// Seed for the tenant (same seed, same tenant).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Latency added to each Graph answer, milliseconds.
    #[arg(long, default_value_t = 2)]
    latency_ms: u64,
    /// Folder for the ledger and the HTML report.
    #[arg(long, default_value = "demo")]
    dir: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let opts = DemoOptions {
        users: args.users,
        seed: args.seed,
        latency: Duration::from_millis(args.latency_ms),
        dir: args.dir.clone(),
    };
    let s = rt.block_on(run_demo(&opts))?;
    if args.json {
        println!("{}", serde_json::to_string(&s)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "photo-sync demo against the sandbox tenant ({} users)\n",
        s.users
    );
    for (i, step) in s.steps.iter().enumerate() {
        let j = &step.jobs;
        let written: Vec<String> = j.written.iter().map(|(t, n)| format!("{t} {n}")).collect();
        println!("{}. {}", i + 1, step.name);
        println!(
            "   {} jobs, written: {}, unchanged: {}, failed: {}, poisoned: {} ({} ms)",
            j.done + j.poisoned,
            if written.is_empty() {
                "none".into()
            } else {
                written.join(", ")
            },
            j.unchanged,
            j.failed.len(),
            j.poisoned,
            step.ms
        );
    }
    let t = &s.total;
    println!("\nSummary");
    println!("  users checked by the last reconcile: {}", s.checked);
    for (target, n) in &t.written {
        println!("  written to {target}: {n}");
    }
    println!("  already right (unchanged): {}", t.unchanged);
    for (why, n) in &t.skipped {
        println!("  skipped ({why}): {n}");
    }
    println!("  failed: {}", t.failed.len());
    for (who, why) in t.failed.iter().take(10) {
        println!("    {who}: {why}");
    }
    println!("  poisoned jobs: {}", t.poisoned);
    let answers: Vec<String> = s
        .hr_answers
        .iter()
        .map(|(k, v)| format!("{v}×{k}"))
        .collect();
    println!("  HR webhooks answered: {}", answers.join(", "));
    println!(
        "  jobs queued by the final reconcile: {} (0 = nothing left to do)",
        s.final_enqueued
    );
    println!("  report: {}", s.report.display());
    println!("  time: {:.1} s", s.ms as f64 / 1000.0);
    Ok(ExitCode::SUCCESS)
}
