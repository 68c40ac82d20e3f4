//! Secrets and tokens never appear in errors, logs or `Debug` output.

use std::io::Write;
use std::sync::{Arc, Mutex};

use photo_sync::auth::{Credentials, TokenSource};
use photo_sync::config::M365Settings;
use photo_sync::graph::UserKey;
use photo_sync::sandbox::{Faults, Sandbox, SandboxConfig};

use photo_sync::graph::RetryPolicy;

use crate::helpers::{graph_with, quick_policy};

/// Collects everything `tracing` writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A wrong secret is refused with Entra's code and a hint, and neither the wrong nor the
/// right secret shows in the error or in any `Debug`.
#[tokio::test]
async fn a_wrong_secret_is_named_not_shown() {
    let sb = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let ep = sb.endpoints().clone();
    let (env, options) = ep.client_env("secret").unwrap();
    let wrong = "Wr0ng~SecretValue-0123456789abcdefghijkl";
    let settings = M365Settings::from_env(&env.with("AZURE_CLIENT_SECRET", wrong)).unwrap();
    let creds = Credentials::from_settings(&settings, options).unwrap();
    let e = creds
        .token("https://graph.microsoft.com")
        .await
        .unwrap_err();
    let text = format!("{e} {e:?}");
    assert!(text.contains("AADSTS7000215"), "{text}");
    assert!(text.contains("AZURE_CLIENT_SECRET"), "{text}");
    for secret in [wrong, ep.client_secret.as_str()] {
        assert!(!text.contains(secret));
        assert!(!format!("{settings:?} {creds:?} {ep:?}").contains(secret));
    }
}

/// A run with retries at debug level logs nothing secret: no bearer token, no client
/// secret.
#[tokio::test]
async fn logs_carry_no_tokens() {
    let sb = Sandbox::start(SandboxConfig {
        faults: Faults {
            rate_503: 0.2,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let policy = RetryPolicy {
        max_attempts: 8,
        ..quick_policy()
    };
    let (graph, creds) = graph_with(&sb, policy).await;
    for u in sb.tenant().users().iter().take(20) {
        graph.user(&UserKey::Id(u.id.clone())).await.unwrap();
    }
    let token = creds.token("https://graph.microsoft.com").await.unwrap();
    let bearer = token.bearer();
    let raw = bearer.trim_start_matches("Bearer ");
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("retrying"),
        "no retry was logged: the test did not test"
    );
    assert!(!logs.contains(raw), "a token was logged");
    assert!(
        !logs.contains(&sb.endpoints().client_secret),
        "the secret was logged"
    );
    assert!(!format!("{graph:?} {token:?}").contains(raw));
}
