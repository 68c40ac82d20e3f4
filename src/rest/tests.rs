//! The retry loop on a paused clock: no network is touched (the token source fails or
//! records), so the runtime's auto-advancing clock measures exactly the waits.

use std::sync::Mutex;

use super::*;
use crate::auth::{AuthError, Token};

/// Fails every token request with a retryable error, recording when it was asked.
#[derive(Debug, Default)]
struct Down(Mutex<Vec<Instant>>);

#[async_trait::async_trait]
impl TokenSource for Down {
    async fn token(&self, resource: &str) -> Result<Token, AuthError> {
        self.0.lock().unwrap().push(Instant::now());
        Err(AuthError::Unreachable {
            resource: resource.to_owned(),
            detail: "connection refused".into(),
            hint: "test",
        })
    }
}

fn call() -> Call {
    Call {
        service: "Graph",
        method: Method::GET,
        url: "http://127.0.0.1:9/v1.0/users".into(),
        body: None,
        accept: None,
        mailbox: None,
        idempotent: true,
        what: "test",
    }
}

#[tokio::test(start_paused = true)]
async fn backoff_grows_between_attempts_and_stops_at_the_attempt_cap() {
    let down = Arc::new(Down::default());
    let policy = RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(400),
        ..RetryPolicy::default()
    };
    let rest = RestClient::new(reqwest::Client::new(), Arc::clone(&down) as _, policy, 4, 4);
    let e = rest
        .execute(&call(), "https://graph.microsoft.com")
        .await
        .unwrap_err();
    assert!(matches!(e, M365Error::Auth(_)), "{e}");
    let at = down.0.lock().unwrap().clone();
    assert_eq!(at.len(), 5, "one try per attempt");
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    for (n, gap) in gaps.iter().enumerate() {
        // Full jitter: between a tenth of the base and base·2^n.
        let cap = policy.base_delay * (1 << n);
        assert!(
            *gap >= policy.base_delay / 10 && *gap <= cap,
            "gap {n}: {gap:?} (cap {cap:?})"
        );
    }
    assert_eq!(rest.counters.retries.load(Ordering::Relaxed), 4);
}

#[tokio::test(start_paused = true)]
async fn a_pause_holds_every_new_request_until_it_ends() {
    let down = Arc::new(Down::default());
    let policy = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    let rest = RestClient::new(reqwest::Client::new(), Arc::clone(&down) as _, policy, 4, 4);
    let t0 = Instant::now();
    rest.pause_for(Duration::from_secs(7));
    rest.pause_for(Duration::from_secs(3)); // never shortens
    let _ = rest.execute(&call(), "https://graph.microsoft.com").await;
    assert_eq!(down.0.lock().unwrap()[0] - t0, Duration::from_secs(7));
}
