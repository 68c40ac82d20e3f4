//! Managed identity against the sandbox's App Service token endpoint. `azure_identity`
//! reads `IDENTITY_ENDPOINT`/`IDENTITY_HEADER` from the process environment, so this is
//! its own test binary with a single-threaded runtime: the variables are set while no
//! other thread exists.

#![allow(clippy::unwrap_used)] // a test binary: a failed unwrap is a failed test

use std::sync::Arc;

use photo_sync::auth::{Credentials, TokenSource};
use photo_sync::config::{Env, M365Settings};
use photo_sync::graph::{GraphClient, RetryPolicy};
use photo_sync::sandbox::{Sandbox, SandboxConfig};

/// System-assigned and user-assigned identities both get Graph tokens (with `expires_on`
/// sent as a string, m365-facts B§3.1) that Graph accepts; tokens are cached; a wrong
/// user-assigned client id is refused with a hint.
#[test]
fn managed_identity_tokens_work_against_graph() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sb = Sandbox::start(SandboxConfig::default()).await.unwrap();
        let ep = sb.endpoints().clone();
        // Safe: a current-thread runtime, and this test binary has no other test threads.
        std::env::set_var("IDENTITY_ENDPOINT", &ep.identity_endpoint);
        std::env::set_var("IDENTITY_HEADER", &ep.identity_header);
        let (env, _) = ep.client_env("managed-identity").unwrap();

        for client_id in [None, Some(ep.managed_identity_client_id.clone())] {
            let env = match &client_id {
                Some(id) => env.clone().with("AZURE_CLIENT_ID", id),
                None => env.clone(),
            };
            let settings = M365Settings::from_env(&env).unwrap();
            assert_eq!(settings.credential.name(), "managed-identity");
            let creds =
                Arc::new(Credentials::from_settings(&settings, Default::default()).unwrap());
            let graph = GraphClient::standalone(
                reqwest::Client::new(),
                &settings.graph_url,
                &settings.graph_resource,
                Arc::clone(&creds) as Arc<dyn TokenSource>,
                RetryPolicy::default(),
                4,
            );
            let page = graph.users_page(None, 3).await.unwrap();
            assert_eq!(page.value.len(), 3, "{client_id:?}");
            graph.users_page(None, 3).await.unwrap();
            assert_eq!(creds.fetched(), 1, "the second call used the cached token");
        }

        let env = Env::default()
            .with("IDENTITY_ENDPOINT", &ep.identity_endpoint)
            .with("IDENTITY_HEADER", &ep.identity_header)
            .with("AZURE_CLIENT_ID", "00000000-0000-0000-0000-00000000dead");
        let settings = M365Settings::from_env(&env).unwrap();
        let creds = Credentials::from_settings(&settings, Default::default()).unwrap();
        let e = creds
            .token("https://graph.microsoft.com")
            .await
            .unwrap_err();
        assert!(!e.is_retryable(), "{e}");
        assert!(!e.to_string().contains(&ep.identity_header), "{e}");
        sb.shutdown().await;
    });
}
