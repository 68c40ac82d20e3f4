//! photo-sync keeps every Microsoft 365 user's profile photo the same in every store:
//! the Microsoft 365 profile (Graph), on-premises AD `thumbnailPhoto` and classic
//! SharePoint profile thumbnails, with the HR system as the source of truth.
//!
//! # Layout
//! - [`photo`]: the normaliser — bytes in, one JPEG rendition per target out; pure,
//!   synchronous, deterministic, bounded by limits read from the header.
//! - [`samples`]: generated sample photos (portraits, every orientation, format and
//!   hostile case), named by what they should become; used by tests and `photo-sync demo`.
//! - [`cli`]: the command line (`normalize`, `demo`, `samples`); the binary only calls it.

pub mod cli;
pub mod photo;
pub mod samples;
