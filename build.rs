//! Build script: on Linux with the GNU toolchain, hands the linker `link/hot-text.ld`,
//! which packs the functions a normalise run executes into one output section. The kernel
//! maps code 64 KB around each page a process first touches, so scattered hot code costs
//! resident memory; packed, the 12 MP run's peak RSS drops by about 4 MB (BENCHMARKS.md,
//! "the hot code packed together"). `bench/hot_text.py` regenerates the file; a stale one
//! only packs less.

use std::env;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link/hot-text.ld");
    let linux = env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let gnu = env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|e| e == "gnu");
    let Ok(dir) = env::var("CARGO_MANIFEST_DIR") else {
        return;
    };
    let script = Path::new(&dir).join("link/hot-text.ld");
    if linux && gnu && script.is_file() {
        // `-T FILE` through the C compiler driver: two arguments, so no path splitting.
        println!("cargo:rustc-link-arg-bins=-T");
        println!("cargo:rustc-link-arg-bins={}", script.display());
    }
}
