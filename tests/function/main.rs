//! The function end to end against the sandbox tenant over loopback: reconcile, HR jobs,
//! change notifications, drift, crashes, throttling, leavers and bad input.

#![allow(clippy::unwrap_used)] // a test binary: a failed unwrap is a failed test

mod demo;
mod hr;
mod layout;
mod notifications;
mod package;
mod report;
mod rig;
mod sync;
