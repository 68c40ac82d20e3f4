//! The `sandbox` and `doctor` commands as a user runs them.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_photo-sync"))
}

/// `photo-sync sandbox` prints its endpoints as JSON on the first line and serves them.
#[tokio::test]
async fn sandbox_prints_its_endpoints_first_and_serves() {
    let mut child = bin()
        .args(["sandbox", "--users", "20"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ep: serde_json::Value = serde_json::from_str(&line).unwrap();
    let graph = ep["graph_url"].as_str().unwrap();
    let resp = reqwest::get(format!("{graph}/v1.0/users")).await.unwrap();
    assert_eq!(resp.status(), 401, "no token, no users");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// `photo-sync doctor --sandbox` passes; `doctor` with nothing configured fails (exit 1)
/// and names the setting.
#[test]
fn doctor_against_the_sandbox_and_unconfigured() {
    let out = bin().args(["doctor", "--sandbox"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("✓ token for Graph"), "{text}");
    assert!(!text.contains('✗'), "{text}");

    let out = bin()
        .args(["doctor", "--json"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let checks: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(checks[0]["outcome"], "fail");
    assert!(checks[0]["detail"]
        .as_str()
        .unwrap()
        .contains("PHOTOSYNC_CREDENTIAL"));
}
