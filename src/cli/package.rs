//! `photo-sync package [--out DIR] [--binary PATH]`: writes the Azure Functions zip and
//! the AWS Lambda zip around an executable (by default the running one) and says what
//! each holds. Deploy with `az functionapp deployment source config-zip` / Flex
//! Consumption's one-deploy, and `aws lambda update-function-code --zip-file`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

pub(crate) fn run(out: &Path, binary: Option<&PathBuf>) -> anyhow::Result<ExitCode> {
    let exe = match binary {
        Some(path) => path.clone(),
        None => std::env::current_exe().context("finding the running executable")?,
    };
    let bytes = std::fs::read(&exe).with_context(|| format!("reading {}", exe.display()))?;
    if !bytes.starts_with(b"\x7fELF") {
        anyhow::bail!(
            "{} is not a Linux (ELF) executable: Azure Functions on Linux and Lambda's provided.al2023 run Linux binaries",
            exe.display()
        );
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let functions = out.join("photo-sync-functions.zip");
    std::fs::write(&functions, crate::package::functions_zip(&bytes)?)
        .with_context(|| format!("writing {}", functions.display()))?;
    // The running executable knows whether it has the Lambda host; another one is
    // taken at its word.
    let lambda =
        (binary.is_some() || cfg!(feature = "lambda")).then(|| out.join("photo-sync-lambda.zip"));
    if let Some(lambda) = &lambda {
        std::fs::write(lambda, crate::package::lambda_zip(&bytes)?)
            .with_context(|| format!("writing {}", lambda.display()))?;
    }
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    println!(
        "packaged {} ({:.1} MB)",
        exe.display(),
        bytes.len() as f64 / 1e6
    );
    println!(
        "  {} ({:.1} MB): host.json, {} function folders, {}",
        functions.display(),
        size(&functions),
        crate::package::FUNCTIONS.len(),
        crate::package::FUNCTIONS_EXECUTABLE
    );
    match &lambda {
        Some(lambda) => println!("  {} ({:.1} MB): bootstrap", lambda.display(), size(lambda)),
        None => println!(
            "  no Lambda zip: this build has no Lambda host (`cargo build --release --features lambda,fast-codecs`)"
        ),
    }
    if binary.is_none() && !cfg!(feature = "fast-codecs") {
        println!("  note: this build uses the pure-Rust codecs; `cargo build --release --features fast-codecs` is faster in production");
    }
    Ok(ExitCode::SUCCESS)
}
