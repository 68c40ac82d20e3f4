//! The command line: parses arguments with clap and calls the library. Each command
//! returns an exit code: 0 success, 2 when an input was refused (bad photo), 1 otherwise.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use crate::photo::{self, CropBox, CropMode, Normalized, Options, PhotoError, QualityRange};
use crate::samples;

mod demo;
mod doctor;
mod function;
mod package;
mod sandbox;
mod serve;

/// Keeps every Microsoft 365 user's profile photo the same in every store.
#[derive(Debug, Parser)]
#[command(name = "photo-sync", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Normalise photos into every rendition of the chosen targets.
    Normalize(NormalizeArgs),
    /// Run the whole function against the built-in sandbox tenant: the nightly
    /// reconcile, HR webhooks, a change notification, drift and its repair; print a
    /// summary and write the HTML report.
    Demo(demo::DemoArgs),
    /// Serve the function: the Azure Functions custom handler under the Functions host,
    /// or standalone with the local queue worker and the reconcile schedule.
    Serve(serve::ServeArgs),
    /// Sync one user now (object id, UPN, mail or employee id).
    Sync {
        /// The user.
        user: String,
        /// Decide and report; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// Use a fresh built-in sandbox tenant instead of the configured one.
        #[arg(long)]
        sandbox: bool,
    },
    /// Find drift (subscriptions, delta, photo metadata), queue jobs and run them.
    Reconcile {
        /// Decide and report; queue and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Walk every user from scratch instead of from the saved delta link.
        #[arg(long)]
        full: bool,
        /// Only queue the jobs (a `serve` host or the Functions queue runs them).
        #[arg(long)]
        no_sync: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// Use a fresh built-in sandbox tenant instead of the configured one.
        #[arg(long)]
        sandbox: bool,
    },
    /// Graph change-notification subscriptions: `ensure`, `list` or `delete`.
    Subscriptions {
        /// ensure, list or delete.
        action: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The report: per user, source and targets; failures; the poison queue.
    Report {
        /// Write the HTML page here.
        #[arg(long)]
        html: Option<PathBuf>,
        /// Print JSON (the default when no --html is given).
        #[arg(long)]
        json: bool,
    },
    /// Check configuration, tokens, reachability, permissions and the tenant's photo
    /// policy, and say what to fix. Exit 0 only when nothing failed.
    Doctor {
        /// Print the checks as JSON.
        #[arg(long)]
        json: bool,
        /// Check a fresh built-in sandbox tenant instead of the configured one.
        #[arg(long)]
        sandbox: bool,
    },
    /// Run the sandbox tenant alone; the first output line is a JSON object of its
    /// endpoints. Serves until interrupted.
    Sandbox(sandbox::SandboxArgs),
    /// Write the deployment packages around this executable: the Azure Functions zip
    /// (binary, host.json, function folders) and the AWS Lambda zip (`bootstrap`).
    Package {
        /// Destination folder.
        #[arg(long, default_value = "dist")]
        out: PathBuf,
        /// Package this executable instead of the running one.
        #[arg(long)]
        binary: Option<PathBuf>,
    },
    /// Write the generated sample photos (named by what they should become) to a folder.
    Samples {
        /// Destination folder.
        #[arg(long, default_value = "samples")]
        out: PathBuf,
        /// Also normalise every sample into this folder and check each came out as its
        /// name says (renditions, or refused for the right reason).
        #[arg(long)]
        normalize: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
struct NormalizeArgs {
    /// Photos to normalise.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Folder for the renditions: `<stem>.<target>.<size>.jpg`.
    #[arg(long)]
    out: PathBuf,
    /// Comma-separated targets: m365, ad, sharepoint.
    #[arg(long, default_value = "m365,ad,sharepoint")]
    targets: String,
    /// One JSON object per input per line instead of the table.
    #[arg(long)]
    json: bool,
    /// Crop: `attention` (default), `centre`, or a box `X,Y,WIDTH,HEIGHT` in upright pixels.
    #[arg(long, default_value = "attention")]
    crop: String,
    /// JPEG quality range the budget search may use, `MIN-MAX`.
    #[arg(long, default_value = "60-92")]
    quality: String,
    /// SharePoint large thumbnail size (200 or 300).
    #[arg(long, default_value_t = 300)]
    sharepoint_large: u32,
    /// Benchmarking: normalise each input this many times in-process and print the median
    /// time of the normaliser alone (no file I/O) on standard error.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    repeat: u32,
}

/// Run the CLI and map the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Normalize(args) => normalize(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Sync {
            user,
            dry_run,
            json,
            sandbox,
        } => function::sync(&user, dry_run, json, sandbox),
        Command::Reconcile {
            dry_run,
            full,
            no_sync,
            json,
            sandbox,
        } => function::reconcile(dry_run, full, no_sync, json, sandbox),
        Command::Subscriptions { action, json } => function::subscriptions(&action, json),
        Command::Report { html, json } => function::report(html, json),
        Command::Doctor { json, sandbox } => doctor::run(json, sandbox),
        Command::Sandbox(args) => sandbox::run(&args),
        Command::Package { out, binary } => package::run(&out, binary.as_ref()),
        Command::Samples {
            out,
            normalize: Some(renditions),
        } => normalize_samples(&out, &renditions),
        Command::Samples {
            out,
            normalize: None,
        } => write_samples(&out).map(|n| {
            println!("wrote {n} sample photos to {}", out.display());
            ExitCode::SUCCESS
        }),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::from(1)
    })
}

fn options(args: &NormalizeArgs) -> anyhow::Result<Options> {
    let crop = match args.crop.as_str() {
        "attention" => CropMode::Attention,
        "centre" | "center" => CropMode::Centre,
        b => {
            let v: Vec<u32> = b
                .split(',')
                .map(|p| p.trim().parse())
                .collect::<Result<_, _>>()
                .with_context(|| format!("--crop {b:?}: expected attention, centre or X,Y,W,H"))?;
            let [x, y, width, height] = v[..] else {
                bail!("--crop {b:?}: a box needs four numbers X,Y,W,H");
            };
            CropMode::Box(CropBox {
                x,
                y,
                width,
                height,
            })
        }
    };
    let (min, max) = args
        .quality
        .split_once('-')
        .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)))
        .with_context(|| {
            format!(
                "--quality {:?}: expected MIN-MAX such as 60-92",
                args.quality
            )
        })?;
    let opts = Options {
        targets: photo::parse_targets(&args.targets)?,
        crop,
        quality: QualityRange { min, max },
        sharepoint_large: args.sharepoint_large,
        ..Options::default()
    };
    opts.validate()?;
    Ok(opts)
}

fn normalize(args: &NormalizeArgs) -> anyhow::Result<ExitCode> {
    let opts = options(args)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the output folder {}", args.out.display()))?;
    let mut failed = 0;
    for input in &args.inputs {
        if args.repeat > 1 {
            in_process_median(input, &opts, args.repeat);
        }
        let started = Instant::now();
        let outcome = normalize_file(input, &args.out, &opts);
        let ms = started.elapsed().as_secs_f64() * 1e3;
        if outcome.is_err() {
            failed += 1;
        }
        if args.json {
            println!("{}", report::json_line(input, &outcome, ms));
        } else {
            print!("{}", report::text(input, &outcome, ms));
        }
    }
    Ok(if failed > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Why one input produced no renditions.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InputError {
    #[error("cannot read the file: {0}")]
    Read(std::io::Error),
    #[error(transparent)]
    Photo(#[from] PhotoError),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl InputError {
    fn code(&self) -> &'static str {
        match self {
            InputError::Read(_) => "read_failed",
            InputError::Photo(e) => e.code(),
            InputError::Write { .. } => "write_failed",
        }
    }
}

/// The renditions written for one input, with their paths.
pub(crate) type Written = (Normalized, Vec<PathBuf>);

fn normalize_file(input: &Path, out: &Path, opts: &Options) -> Result<Written, InputError> {
    let bytes = std::fs::read(input).map_err(InputError::Read)?;
    let n = photo::normalize(&bytes, opts)?;
    let stem = input
        .file_stem()
        .map_or("photo".into(), |s| s.to_string_lossy());
    let mut paths = Vec::new();
    for r in &n.renditions {
        let path = out.join(format!("{stem}.{}.{}.jpg", r.spec.target, r.spec.size));
        std::fs::write(&path, &r.jpeg).map_err(|source| InputError::Write {
            path: path.clone(),
            source,
        })?;
        paths.push(path);
    }
    Ok((n, paths))
}

/// Time the normaliser alone, `repeat` times on the same bytes, and print the median.
fn in_process_median(input: &Path, opts: &Options, repeat: u32) {
    let Ok(bytes) = std::fs::read(input) else {
        return;
    };
    let mut stages: Vec<(&'static str, Vec<f64>)> = Vec::new();
    let mut ms: Vec<f64> = (0..repeat)
        .map(|_| {
            let t = Instant::now();
            let n = std::hint::black_box(photo::normalize(&bytes, opts));
            let ms = t.elapsed().as_secs_f64() * 1e3;
            for (name, v) in n.map(|n| n.stages_ms).unwrap_or_default() {
                match stages.iter_mut().find(|s| s.0 == name) {
                    Some(s) => s.1.push(v),
                    None => stages.push((name, vec![v])),
                }
            }
            ms
        })
        .collect();
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let per_stage: Vec<String> = stages
        .iter_mut()
        .map(|(name, v)| format!("{name} {:.2}", median(v)))
        .collect();
    eprintln!(
        "{}: in-process median {:.2} ms over {repeat} runs (stage medians: {})",
        input.display(),
        median(&mut ms),
        per_stage.join(", ")
    );
}

fn write_samples(dir: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let set = samples::catalogue();
    for s in &set {
        let p = dir.join(&s.name);
        std::fs::write(&p, &s.bytes).with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(set.len())
}

fn normalize_samples(sample_dir: &Path, out: &Path) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    write_samples(sample_dir)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let opts = Options::default();
    let (mut ok, mut refused, mut surprises) = (0, 0, Vec::new());
    for s in samples::catalogue() {
        let t = Instant::now();
        let outcome = normalize_file(&sample_dir.join(&s.name), out, &opts);
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let path = sample_dir.join(&s.name);
        match (&outcome, s.expect) {
            (Ok(_), samples::Expect::Renditions) => ok += 1,
            (Err(e), samples::Expect::Refused(code)) if e.code() == code => {
                // A bad sample refused with the right reason is the demo working.
                println!("{}  refused as expected ({code}): {e}", path.display());
                refused += 1;
                continue;
            }
            _ => surprises.push(s.name.clone()),
        }
        print!("{}", report::text(&path, &outcome, ms));
    }
    println!(
        "\n{ok} photos normalised into {}, {refused} refused as expected, {} unexpected results, {:.0} ms in all",
        out.display(),
        surprises.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    if surprises.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("unexpected: {}", surprises.join(", "));
        Ok(ExitCode::from(1))
    }
}

mod report {
    //! How one input's outcome is printed: a table for people, JSON lines for machines.
    use std::fmt::Write as _;
    use std::path::Path;

    use serde_json::json;

    use super::{InputError, Written};

    pub fn text(input: &Path, outcome: &Result<Written, InputError>, ms: f64) -> String {
        let mut s = String::new();
        match outcome {
            Ok((n, paths)) => {
                let src = &n.source;
                let _ = writeln!(
                    s,
                    "{}  {} {}x{} orientation {}  crop {}x{} at {},{}  decoded {}x{}  {ms:.1} ms",
                    input.display(),
                    src.format.name(),
                    src.width,
                    src.height,
                    src.orientation,
                    n.crop.width,
                    n.crop.height,
                    n.crop.x,
                    n.crop.y,
                    n.decoded.0,
                    n.decoded.1
                );
                for (r, p) in n.renditions.iter().zip(paths) {
                    let _ = writeln!(
                        s,
                        "  {:<10} {:>3}x{:<3}  q{:<2} {:>7} B{}  {}",
                        r.spec.target.name(),
                        r.side,
                        r.side,
                        r.quality,
                        r.jpeg.len(),
                        if r.over_budget { " (over budget)" } else { "" },
                        p.display()
                    );
                }
            }
            Err(e) => {
                let _ = writeln!(s, "{}  FAILED ({}): {e}", input.display(), e.code());
            }
        }
        s
    }

    pub fn json_line(input: &Path, outcome: &Result<Written, InputError>, ms: f64) -> String {
        let v = match outcome {
            Ok((n, paths)) => json!({
                "input": input,
                "ok": true,
                "ms": ms,
                "source": n.source,
                "source_sha256": n.source_sha256,
                "crop": n.crop,
                "decoded": {"width": n.decoded.0, "height": n.decoded.1},
                "color": n.color,
                "phash": n.phash.to_hex(),
                "stages_ms": n.stages_ms.iter().map(|(k, v)| (k.to_string(), json!((v * 100.0).round() / 100.0))).collect::<serde_json::Map<_, _>>(),
                "renditions": n.renditions.iter().zip(paths).map(|(r, p)| json!({
                    "target": r.spec.target.name(),
                    "size": r.spec.size,
                    "width": r.side,
                    "height": r.side,
                    "path": p,
                    "bytes": r.jpeg.len(),
                    "budget": r.spec.budget,
                    "quality": r.quality,
                    "over_budget": r.over_budget,
                    "attempts": r.attempts,
                    "sha256": r.sha256,
                })).collect::<Vec<_>>(),
            }),
            Err(e) => json!({
                "input": input,
                "ok": false,
                "ms": ms,
                "error": {"code": e.code(), "message": e.to_string()},
            }),
        };
        v.to_string()
    }
}
