//! The storage backends: one ledger suite and one photo-store suite, each run against
//! the embedded SQLite backend and the Azure backend (Table, Blob) on Azurite; the Azure
//! Storage job queue and its poison queue on Azurite; the client's errors and retries.

#![allow(clippy::unwrap_used)] // a test binary: a failed unwrap is a failed test

mod azurite;
mod backends;
mod function;
mod ledger_suite;
mod photostore_suite;
mod queue;
mod tokens;
