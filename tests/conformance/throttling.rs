//! Throttling per the documented limits (m365-facts B§2.3): Outlook's four concurrent
//! photo requests per app and mailbox, identity resource units per app+tenant, answered
//! 429 with `Retry-After` and the `x-ms-throttle-*` headers; `--throttle off` has none,
//! `--throttle harsh` reaches them within seconds.

use futures::future::join_all;

use crate::target::{seg, Answer, Target};

async fn burst(t: &Target, path: &str, n: usize) -> Vec<Answer> {
    join_all((0..n).map(|_| t.get(path))).await
}

fn throttled(answers: &[Answer]) -> Vec<&Answer> {
    answers.iter().filter(|a| a.status == 429).collect()
}

fn check_429(a: &Answer) {
    a.graph_error(429);
    let wait: f64 = a
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("Retry-After in seconds");
    assert!(wait > 0.0);
}

/// B§2.3: at most 4 photo requests at once per app+mailbox; more are refused, not queued.
#[tokio::test]
async fn photo_requests_beyond_four_at_once_per_mailbox_are_429() {
    let t = Target::new(&["--throttle", "documented", "--latency-ms", "1000"]).await;
    if t.stop_unless(
        t.is_sandbox(),
        "throttling a real tenant on purpose is not a test",
    ) {
        return;
    }
    let user = t.user_with_photo().await;
    let answers = burst(&t, &format!("/users/{}/photo", seg(&user)), 12).await;
    let refused = throttled(&answers);
    let ok = answers.iter().filter(|a| a.status == 200).count();
    assert!(
        !refused.is_empty(),
        "12 at once on one mailbox must be throttled"
    );
    assert!(ok >= 4, "four at once are allowed: {ok}");
    for a in refused {
        check_429(a);
        assert!(a
            .header("x-ms-throttle-scope")
            .is_some_and(|s| s.starts_with("Mailbox_Application")));
        assert!(a.header("x-ms-throttle-information").is_some());
    }
}

/// `--throttle off`: the same burst is served whole.
#[tokio::test]
async fn throttle_off_serves_every_request() {
    let t = Target::sandbox(&["--throttle", "off", "--latency-ms", "300"]).await;
    let user = t.user_with_photo().await;
    let answers = burst(&t, &format!("/users/{}/photo", seg(&user)), 12).await;
    assert!(
        answers.iter().all(|a| a.status == 200),
        "no limits with --throttle off"
    );
}

/// `--throttle harsh`: identity reads run out of resource units within a few hundred
/// requests (documented: 5,000 per 10 s for a 50–500-user tenant; harsh: 250), and the
/// answer names the scope; `x-ms-resource-unit` states each request's cost.
#[tokio::test]
async fn harsh_throttling_runs_out_of_resource_units_quickly() {
    let t = Target::sandbox(&["--throttle", "harsh"]).await;
    let first = t.get("/users?$top=5&$select=id").await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.header("x-ms-resource-unit").as_deref(),
        Some("1"),
        "$select and $top<20 cost 1"
    );
    let mut refused = None;
    for _ in 0..30 {
        let answers = burst(&t, "/users", 10).await;
        if let Some(a) = answers.into_iter().find(|a| a.status == 429) {
            refused = Some(a);
            break;
        }
    }
    let a = refused.expect("harsh limits refuse within 300 requests");
    check_429(&a);
    assert!(a.header("x-ms-throttle-scope").is_some());

    let documented = Target::sandbox(&["--throttle", "documented"]).await;
    let answers = burst(&documented, "/users", 100).await;
    assert!(
        answers.iter().all(|a| a.status == 200),
        "100 reads are within the documented limits"
    );
}
