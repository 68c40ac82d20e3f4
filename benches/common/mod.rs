//! What the benchmarks share: settings from the environment, this process's peak memory,
//! and the sandbox tenant started in its own process.

#![allow(dead_code)] // each bench binary uses its own part of this module

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

/// A whole-number setting from the environment, or `default`.
pub fn var(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// This process's peak resident memory (VmHWM) in MiB.
pub fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// `photo-sync sandbox --users USERS --latency-ms LATENCY` in its own process: the child
/// (kill it when done) and its endpoints line. The rest of its output is read and dropped.
pub fn spawn_sandbox(users: u64, latency_ms: u64) -> (Child, serde_json::Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_photo-sync"))
        .args([
            "sandbox",
            "--users",
            &users.to_string(),
            "--latency-ms",
            &latency_ms.to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting photo-sync sandbox");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("the endpoints line");
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let endpoints = serde_json::from_str(&line).expect("the endpoints line is JSON");
    (child, endpoints)
}
