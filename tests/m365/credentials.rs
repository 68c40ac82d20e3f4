//! Each credential kind signs in to the sandbox through the settings a deployment uses.
//! (Managed identity has its own test binary: `tests/identity.rs`.)

use std::sync::Arc;

use photo_sync::auth::{Credentials, TokenSource};
use photo_sync::config::M365Settings;
use photo_sync::graph::GraphClient;
use photo_sync::sandbox::{Sandbox, SandboxConfig};

use crate::helpers::quick_policy;

async fn users_seen(sb: &Sandbox, settings: &M365Settings, creds: Arc<dyn TokenSource>) -> usize {
    let graph = GraphClient::standalone(
        reqwest::Client::new(),
        &sb.endpoints().graph_url,
        &settings.graph_resource,
        creds,
        quick_policy(),
        2,
    );
    graph.users_page(None, 7).await.unwrap().value.len()
}

/// Workload identity federation: an external token in a file (as on AKS, or written by a
/// sidecar on AWS) is exchanged for a Graph token (m365-facts B§3.4).
#[tokio::test]
async fn workload_identity_from_a_token_file() {
    let sb = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let ep = sb.endpoints().clone();
    let dir = std::env::temp_dir().join(format!("photo-sync-wif-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    std::fs::write(
        &file,
        sb.tenant()
            .federated_token("system:serviceaccount:photo-sync:sync"),
    )
    .unwrap();
    let (env, options) = ep.client_env("secret").unwrap();
    let env = env
        .with("PHOTOSYNC_CREDENTIAL", "workload-identity")
        .with("AZURE_CLIENT_ID", &ep.client_id)
        .with("AZURE_FEDERATED_TOKEN_FILE", file.to_string_lossy())
        .with("AZURE_CLIENT_SECRET", "");
    let settings = M365Settings::from_env(&env).unwrap();
    assert_eq!(settings.credential.name(), "workload-identity");
    let creds = Arc::new(Credentials::from_settings(&settings, options.clone()).unwrap());
    assert_eq!(users_seen(&sb, &settings, creds).await, 7);

    // A token the sandbox's federated credential does not trust is refused with a hint.
    std::fs::write(&file, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.").unwrap();
    let creds = Credentials::from_settings(&settings, options).unwrap();
    let e = creds
        .token("https://graph.microsoft.com")
        .await
        .unwrap_err();
    assert!(!e.is_retryable(), "{e}");
    assert!(e.to_string().contains("AADSTS"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A client secret over the TLS login endpoint; the token is cached between calls.
#[tokio::test]
async fn client_secret_tokens_are_cached() {
    let sb = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let (env, options) = sb.endpoints().client_env("secret").unwrap();
    let settings = M365Settings::from_env(&env).unwrap();
    let creds = Arc::new(Credentials::from_settings(&settings, options).unwrap());
    for _ in 0..3 {
        assert_eq!(users_seen(&sb, &settings, Arc::clone(&creds) as _).await, 7);
    }
    assert_eq!(creds.fetched(), 1);
    assert_eq!(sb.tenant().stats().tokens_issued, 1);
}

/// A login authority that is not https is refused before any request (azure_identity's
/// rule, m365-facts B§3.5), with a message naming the setting.
#[tokio::test]
async fn a_plain_http_authority_is_refused_up_front() {
    let sb = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let (env, options) = sb.endpoints().client_env("secret").unwrap();
    let env = env.with("AZURE_AUTHORITY_HOST", "http://127.0.0.1:9");
    let settings = M365Settings::from_env(&env).unwrap();
    let e = Credentials::from_settings(&settings, options).unwrap_err();
    assert!(e.to_string().contains("HTTPS"), "{e}");
}
