//! The token cache: per resource, refreshed near expiry, single-flight; on a paused clock.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};

use super::*;

/// Counts calls and hands out hour-long tokens named after the scope and call number.
#[derive(Debug, Default)]
struct Counting(AtomicU32);

#[async_trait::async_trait]
impl TokenCredential for Counting {
    async fn get_token(
        &self,
        scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(AccessToken::new(
            format!("{}#{n}", scopes[0]),
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }
}

#[tokio::test(start_paused = true)]
async fn tokens_are_cached_per_resource_and_refreshed_five_minutes_before_expiry() {
    let fake = Arc::new(Counting::default());
    let creds = Credentials::with_credential("fake", Arc::clone(&fake) as _);
    let g1 = creds.token("https://graph.microsoft.com").await.unwrap();
    let g2 = creds.token("https://graph.microsoft.com").await.unwrap();
    assert_eq!(g1.bearer(), g2.bearer());
    assert_eq!(g1.bearer(), "Bearer https://graph.microsoft.com/.default#1");
    let sp = creds.token("https://contoso.sharepoint.com").await.unwrap();
    assert_eq!(
        sp.bearer(),
        "Bearer https://contoso.sharepoint.com/.default#2"
    );
    assert_eq!(fake.0.load(Ordering::SeqCst), 2);

    tokio::time::advance(Duration::from_secs(54 * 60)).await;
    assert_eq!(
        creds
            .token("https://graph.microsoft.com")
            .await
            .unwrap()
            .bearer(),
        g1.bearer()
    );
    tokio::time::advance(Duration::from_secs(2 * 60)).await; // 4 min left: refresh
    let g3 = creds.token("https://graph.microsoft.com").await.unwrap();
    assert_ne!(g3.bearer(), g1.bearer());
    assert_eq!(creds.fetched(), 3);
}

#[tokio::test(start_paused = true)]
async fn concurrent_callers_share_one_fetch() {
    let fake = Arc::new(Counting::default());
    let creds = Arc::new(Credentials::with_credential("fake", Arc::clone(&fake) as _));
    let calls = (0..20).map(|_| {
        let c = Arc::clone(&creds);
        tokio::spawn(async move {
            c.token("https://graph.microsoft.com")
                .await
                .unwrap()
                .bearer()
        })
    });
    let got = futures::future::join_all(calls).await;
    assert!(got.iter().all(|g| g.as_ref().unwrap().ends_with("#1")));
    assert_eq!(fake.0.load(Ordering::SeqCst), 1);
}

#[test]
fn tokens_never_show_in_debug() {
    let t = Token::new("eyJ0eXAiOi.c2VjcmV0.sig", Duration::from_secs(60));
    assert!(!format!("{t:?}").contains("c2VjcmV0"), "{t:?}");
    let s = StaticToken(Secret::new("eyJ0eXAiOi.c2VjcmV0.sig"));
    assert!(!format!("{s:?}").contains("c2VjcmV0"), "{s:?}");
}

/// Never answers.
#[derive(Debug)]
struct Hanging;

#[async_trait::async_trait]
impl TokenCredential for Hanging {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        std::future::pending().await
    }
}

#[tokio::test(start_paused = true)]
async fn a_hanging_token_endpoint_becomes_a_retryable_error_after_the_timeout() {
    let creds = Credentials::with_credential("fake", Arc::new(Hanging));
    let started = tokio::time::Instant::now();
    let e = creds
        .token("https://graph.microsoft.com")
        .await
        .unwrap_err();
    assert_eq!(started.elapsed(), TOKEN_TIMEOUT);
    assert!(e.is_retryable(), "{e}");
    assert!(e.to_string().contains("did not answer"), "{e}");
}
