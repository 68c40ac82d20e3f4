//! The `photo-sync` binary: everything lives in the library; this only starts the CLI.

fn main() -> std::process::ExitCode {
    photo_sync::cli::main()
}
