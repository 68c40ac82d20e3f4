//! Deployment packages (PRODUCT.md §9): the Azure Functions zip — the binary,
//! `host.json` and one folder per function with its `function.json` (m365-facts B§4.1;
//! the same files as in the repository, built into the binary) — and the AWS Lambda zip
//! for the `provided.al2023` runtime, whose entry point must be an executable named
//! `bootstrap` at the root (m365-facts B§5). Both are written by [`zip`], deterministic.

pub mod zip;

use zip::{Entry, ZipError};

/// `host.json`, as in the repository root.
pub const HOST_JSON: &str = include_str!("../../host.json");

/// Each function's folder name and `function.json`, as in `functions/`.
pub const FUNCTIONS: &[(&str, &str)] = &[
    (
        "hr-webhook",
        include_str!("../../functions/hr-webhook/function.json"),
    ),
    (
        "lifecycle",
        include_str!("../../functions/lifecycle/function.json"),
    ),
    (
        "notifications",
        include_str!("../../functions/notifications/function.json"),
    ),
    (
        "reconcile",
        include_str!("../../functions/reconcile/function.json"),
    ),
    (
        "sync-user",
        include_str!("../../functions/sync-user/function.json"),
    ),
];

/// The executable's name in the Functions package (`host.json`'s `defaultExecutablePath`).
pub const FUNCTIONS_EXECUTABLE: &str = "photo-sync";

/// The Azure Functions zip around `binary` (for zip deploy / Flex Consumption).
pub fn functions_zip(binary: &[u8]) -> Result<Vec<u8>, ZipError> {
    let mut entries = vec![
        Entry {
            name: "host.json".into(),
            data: HOST_JSON.as_bytes(),
            mode: 0o644,
        },
        Entry {
            name: FUNCTIONS_EXECUTABLE.into(),
            data: binary,
            mode: 0o755,
        },
    ];
    for (name, json) in FUNCTIONS {
        entries.push(Entry {
            name: format!("{name}/function.json"),
            data: json.as_bytes(),
            mode: 0o644,
        });
    }
    zip::write(&entries)
}

/// The Lambda zip: `binary` as `bootstrap`.
pub fn lambda_zip(binary: &[u8]) -> Result<Vec<u8>, ZipError> {
    zip::write(&[Entry {
        name: "bootstrap".into(),
        data: binary,
        mode: 0o755,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_json_names_the_packaged_executable() {
        let host: serde_json::Value = serde_json::from_str(HOST_JSON).unwrap_or_default();
        assert_eq!(
            host["customHandler"]["description"]["defaultExecutablePath"],
            FUNCTIONS_EXECUTABLE
        );
        for (_, json) in FUNCTIONS {
            assert!(serde_json::from_str::<serde_json::Value>(json).is_ok());
        }
    }

    #[test]
    fn archives_are_deterministic_and_compressible_entries_shrink() {
        let data = vec![7u8; 100_000];
        let a = functions_zip(&data).unwrap_or_default();
        assert_eq!(a, functions_zip(&data).unwrap_or_default());
        assert!(a.len() < 20_000, "{}", a.len());
        assert_eq!(&a[..4], b"PK\x03\x04");
    }
}
