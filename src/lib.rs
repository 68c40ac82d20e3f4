//! photo-sync keeps every Microsoft 365 user's profile photo the same in every store:
//! the Microsoft 365 profile (Graph), on-premises AD `thumbnailPhoto` and classic
//! SharePoint profile thumbnails, with the HR system as the source of truth.
//!
//! # Layout
//! - [`photo`]: the normaliser — bytes in, one JPEG rendition per target out; pure,
//!   synchronous, deterministic, bounded by limits read from the header.
//! - [`config`]: settings read from the environment once and validated (cloud, tenant,
//!   credential, endpoints, limits), with messages that name the key.
//! - [`auth`]: access tokens from `azure_identity` credentials chosen by configuration
//!   (managed identity, workload identity federation, certificate, secret), cached per
//!   resource.
//! - [`graph`]: the Microsoft Graph client — users, delta, photos, `$batch`,
//!   subscriptions.
//! - [`rest`]: the caller every Microsoft 365 request goes through — token, timeout,
//!   concurrency limits and the one retry policy (`Retry-After`, backoff with jitter).
//! - [`sharepoint`]: the classic SharePoint profile client (thumbnails in the My Site
//!   host, `PictureURL`), an optional target.
//! - [`sandbox`]: the sandbox tenant, a faithful in-process simulation of the token,
//!   Graph, SharePoint and HR endpoints, used by tests and `photo-sync demo`.
//! - [`doctor`]: `photo-sync doctor` — checks settings, tokens, reachability, permissions
//!   and the tenant's photo policy, and says what to fix.
//! - [`samples`]: generated sample photos (portraits, every orientation, format and
//!   hostile case), named by what they should become; used by tests and `photo-sync demo`.
//! - [`ledger`]: what photo-sync knows per user, its subscriptions, cursors and dedupe
//!   keys; SQLite by default, Azure Table storage on Azure.
//! - [`photostore`]: the last accepted photo per user and the HR inbox.
//! - [`queue`]: the per-user job message, where producers put it, and the standalone
//!   host's durable SQLite queue.
//! - [`cli`]: the command line (`normalize`, `demo`, `samples`); the binary only calls it.

pub mod auth;
pub mod cli;
pub mod config;
pub mod doctor;
pub mod graph;
pub mod host;
pub mod hr;
pub mod ledger;
pub mod package;
pub mod photo;
pub mod photostore;
pub mod queue;
pub mod report;
pub mod rest;
pub mod samples;
pub mod sandbox;
pub mod sharepoint;
pub mod storage;
pub mod sync;
pub mod triggers;
