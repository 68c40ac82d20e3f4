//! Storage reached with Entra tokens instead of a key — the managed-identity path on
//! Azure: the token comes from the sandbox tenant's token endpoint for audience
//! `https://storage.azure.com`, and Azurite, run over HTTPS with `--oauth basic`,
//! checks its issuer, audience and lifetime. A token for another audience is refused.

use std::sync::Arc;

use photo_sync::auth::{Credentials, Token, TokenSource};
use photo_sync::config::{Cloud, M365Settings};
use photo_sync::ledger::{Ledger, TableLedger};
use photo_sync::rest::RetryPolicy;
use photo_sync::sandbox::{Sandbox, SandboxConfig};
use photo_sync::storage::queue::QueueClient;
use photo_sync::storage::table::TableClient;
use photo_sync::storage::{StorageAccount, StorageClient};

use super::azurite::{azurite_oauth, unique};

fn tls_http(cert_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .build()
        .unwrap()
}

fn account(tokens: Arc<dyn TokenSource>) -> StorageClient {
    let (azurite, cert) = azurite_oauth();
    let plain = StorageAccount::from_connection_string(&azurite.connection_string).unwrap();
    let ep = |s| Some(plain.endpoint(s).to_string());
    use photo_sync::storage::Service::{Blob, Queue, Table};
    let account = StorageAccount::with_token(
        "devstoreaccount1",
        Cloud::Global,
        [ep(Blob), ep(Queue), ep(Table)],
        tokens,
    )
    .unwrap();
    StorageClient::with_http(
        account,
        RetryPolicy {
            max_attempts: 2,
            ..RetryPolicy::default()
        },
        tls_http(cert),
    )
}

/// Hands out the token of another resource whatever is asked (a misconfigured audience).
#[derive(Debug)]
struct WrongAudience(Arc<Credentials>);

#[async_trait::async_trait]
impl TokenSource for WrongAudience {
    async fn token(&self, _resource: &str) -> Result<Token, photo_sync::auth::AuthError> {
        self.0.token("https://graph.microsoft.com").await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_tokens_for_storage_open_the_ledger_and_the_queue() {
    let sandbox = Sandbox::start(SandboxConfig {
        users: 10,
        seed: 3,
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let (env, auth) = sandbox.endpoints().client_env("secret").unwrap();
    let settings = M365Settings::from_env(&env).unwrap();
    let creds = Arc::new(Credentials::from_settings(&settings, auth).unwrap());

    let table = TableClient::new(account(Arc::clone(&creds) as _), &unique("tok")).unwrap();
    let ledger = TableLedger::open(table).await.unwrap();
    assert!(ledger.claim("k", 1, 2).await.unwrap());
    ledger.set_cursor("delta", Some("link")).await.unwrap();
    assert_eq!(
        ledger.cursor("delta").await.unwrap().as_deref(),
        Some("link")
    );
    let queue = QueueClient::new(account(Arc::clone(&creds) as _), &unique("tok-")).unwrap();
    queue.ensure().await.unwrap();
    queue.put("hello").await.unwrap();
    assert_eq!(queue.peek(1).await.unwrap()[0].text, "hello");
    assert_eq!(
        creds.fetched(),
        1,
        "one storage token, cached for every later call"
    );

    // A Graph token is refused by storage: the audience is checked.
    let wrong = TableClient::new(
        account(Arc::new(WrongAudience(Arc::clone(&creds)))),
        &unique("tok"),
    )
    .unwrap();
    let e = wrong.ensure().await.unwrap_err();
    assert!(matches!(e.status(), Some(401 | 403)), "{e}");
    assert!(!e.is_retryable());
}
