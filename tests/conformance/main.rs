//! The conformance suite: the documented behaviour of the Microsoft 365 endpoints that
//! photo-sync uses (m365-facts.md, cited per rule), checked over real HTTP. It runs
//! against `photo-sync sandbox` processes by default, and can be pointed at a real
//! tenant's test users (read-only unless allowed; see `target.rs`), so the sandbox is
//! held to the service and not only to photo-sync's expectations.

mod batch;
mod cli;
mod delta;
mod errors;
mod example;
mod identity;
mod photos;
mod subscriptions;
mod target;
mod throttling;
mod users;
