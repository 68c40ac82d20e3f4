//! The normaliser and its CLI, end to end on the generated samples. Outputs are always
//! decoded again (with jpeg-decoder) before anything is asserted about them.

#![allow(clippy::unwrap_used)] // a test binary: a failed unwrap is a failed test

mod bad_input; // every kind of bad input: typed refusal, never a panic
mod cli; // the `photo-sync normalize` command: output files, exit codes, JSON
mod color; // ICC conversion, alpha flattening, CMYK, grey
mod crop; // attention crop keeps the face, explicit boxes, never upscale
mod fingerprint; // determinism, SHA-256, perceptual hash across re-encoding and resizing
mod formats; // every sample: rendition sizes, byte budgets, no metadata
mod helpers;
mod layout; // the normaliser's code packed into .text.hot (peak RSS)
mod orientation; // all eight EXIF orientations land upright
