//! Fuzz the normaliser entry point: any bytes must give renditions or a typed error,
//! never a panic, a hang or an allocation past the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use photo_sync::photo::{normalize, Limits, Options};

fuzz_target!(|data: &[u8]| {
    // Small limits keep each run fast; the limits themselves are what is under test.
    let opts = Options {
        limits: Limits { max_pixels: 4_000_000, max_side: 4096, ..Limits::default() },
        ..Options::default()
    };
    if let Ok(n) = normalize(data, &opts) {
        for r in &n.renditions {
            assert!(r.side <= r.spec.size);
            assert!(r.spec.hard_limit.is_none_or(|l| r.jpeg.len() <= l));
        }
    }
});
