//! The Microsoft 365 clients over real HTTP on loopback: against the sandbox tenant, and
//! against canned answers for what the sandbox cannot produce (proxy pages, truncated
//! bodies, hangs, dropped connections).

#![allow(clippy::unwrap_used)] // a test binary: a failed unwrap is a failed test

mod canned; // narrow protocol cases: retry, timeouts, foreign bodies, link safety
mod helpers;
