//! The Microsoft 365 clients over real HTTP on loopback: against the sandbox tenant, and
//! against canned answers for what the sandbox cannot produce (proxy pages, truncated
//! bodies, hangs, dropped connections).

#![allow(clippy::unwrap_used)] // a test binary: a failed unwrap is a failed test

mod against_sandbox; // the Graph client against the sandbox tenant
mod canned;
mod cli; // photo-sync sandbox / doctor as commands
mod credentials; // workload identity, secret, authority rules
mod doctor; // photo-sync doctor against the sandbox // narrow protocol cases: retry, timeouts, foreign bodies, link safety
mod helpers;
mod secrets;
mod sharepoint; // thumbnails and profile properties with a certificate
mod subscriptions; // create/list/renew/reauthorize/delete and a real notification // no secret or token in errors, logs or Debug
