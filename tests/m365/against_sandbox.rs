//! The Graph client against the sandbox tenant over real HTTP: identifiers, paging,
//! photos (round trip, both "no photo" shapes), `$batch`, throttling and faults, delta.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use photo_sync::graph::{GraphClient, PhotoState, UserKey};
use photo_sync::photo;
use photo_sync::sandbox::{Faults, Limits, NoPhoto, Sandbox, SandboxConfig, Variants};

use photo_sync::graph::RetryPolicy;

use crate::helpers::{graph_for, graph_with, quick_policy};

async fn sandbox(users: usize) -> Sandbox {
    Sandbox::start(SandboxConfig {
        users,
        seed: 7,
        ..SandboxConfig::default()
    })
    .await
    .unwrap()
}

/// A 648 JPEG made by our own normaliser from a generated portrait.
fn portrait_jpeg(seed: u64) -> Bytes {
    let p = photo_sync::samples::Portrait::new(900, 1200, seed).render();
    let src = photo_sync::samples::jpeg(&p, 90);
    let n = photo::normalize(&src, &photo::Options::default()).unwrap();
    Bytes::from(n.renditions[0].jpeg.clone())
}

/// Users are found by object id, UPN (guests' `#EXT#` too), mail and employeeId, with
/// quotes in values escaped; a missing user is `None`, not an error.
#[tokio::test]
async fn users_resolve_by_every_key() {
    let sb = sandbox(300).await;
    let (graph, _creds) = graph_for(&sb).await;
    let users = sb.tenant().users();
    let guest = users
        .iter()
        .find(|u| u.user_type == "Guest")
        .expect("a seeded guest");
    assert!(guest.user_principal_name.contains("#EXT#"));
    let got = graph
        .user(&UserKey::Upn(guest.user_principal_name.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.id, guest.id);

    let quoted = users
        .iter()
        .find(|u| u.mail.as_deref().is_some_and(|m| m.contains('\'')))
        .expect("a seeded mail with an apostrophe");
    let got = graph
        .user(&UserKey::Mail(quoted.mail.clone().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.id, quoted.id);

    let with_emp = users.iter().find(|u| u.employee_id.is_some()).unwrap();
    let got = graph
        .resolve(&[
            UserKey::EmployeeId("nobody-has-this".into()),
            UserKey::EmployeeId(with_emp.employee_id.clone().unwrap()),
        ])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.id, with_emp.id);
    let got = graph
        .user(&UserKey::Id(with_emp.id.clone()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got.user_principal_name.as_deref(),
        Some(with_emp.user_principal_name.as_str())
    );

    assert_eq!(
        graph
            .user(&UserKey::Upn("no.one@contoso.com".into()))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        graph
            .user(&UserKey::Mail("x'/..?#@contoso.com".into()))
            .await
            .unwrap(),
        None
    );
}

/// Paging with `$top` visits every user exactly once.
#[tokio::test]
async fn paging_visits_every_user_once() {
    let sb = sandbox(1_234).await;
    let (graph, _creds) = graph_for(&sb).await;
    let mut seen = std::collections::HashSet::new();
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = graph.users_page(next.as_deref(), 500).await.unwrap();
        pages += 1;
        for u in page.value {
            assert!(seen.insert(u.id), "a user came back twice");
        }
        match page.next_link {
            Some(n) => next = Some(n),
            None => break,
        }
    }
    assert_eq!(seen.len(), 1_234);
    assert_eq!(pages, 3);
}

/// Upload, read back (re-encoded by the store: different bytes, same photo), the etag
/// changes on every write, delete → absent.
#[tokio::test]
async fn photo_round_trip_through_the_store() {
    let sb = sandbox(20).await;
    let (graph, _creds) = graph_for(&sb).await;
    let user = sb
        .tenant()
        .users()
        .into_iter()
        .find(|u| u.mail.is_some())
        .unwrap();
    let first = portrait_jpeg(1);
    assert_eq!(
        graph
            .put_photo(&user.id, first.clone(), "image/jpeg")
            .await
            .unwrap(),
        200
    );
    let PhotoState::Present(m1) = graph.photo_meta(&user.id).await.unwrap() else {
        panic!("no photo after upload");
    };
    assert_eq!((m1.width, m1.height), (648, 648));
    let read = graph.photo(&user.id).await.unwrap().unwrap();
    assert_ne!(read, first, "the store re-encodes what it is given");
    let limits = photo::Limits::default();
    let ours = photo::perceptual_hash(&first, &limits).unwrap();
    let theirs = photo::perceptual_hash(&read, &limits).unwrap();
    assert!(
        photo::same_photo(ours, theirs),
        "distance {}",
        ours.distance(theirs)
    );
    let small = graph.photo_sized(&user.id, 96).await.unwrap().unwrap();
    let h = photo::header::jpeg_header(&small).unwrap();
    assert_eq!((h.width, h.height), (96, 96));

    graph
        .put_photo(&user.id, portrait_jpeg(2), "image/jpeg")
        .await
        .unwrap();
    let PhotoState::Present(m2) = graph.photo_meta(&user.id).await.unwrap() else {
        panic!("no photo after the second upload");
    };
    assert_ne!(m1.etag, m2.etag);

    graph.delete_photo(&user.id).await.unwrap();
    assert_eq!(
        graph.photo_meta(&user.id).await.unwrap(),
        PhotoState::Absent
    );
    assert_eq!(graph.photo(&user.id).await.unwrap(), None);
    graph.delete_photo(&user.id).await.unwrap(); // already gone: still fine
}

/// Both documented "no photo" answers (404 ImageNotFound; 200 1x1 GIF with an empty
/// etag, m365-facts A§1.3) read as absent; undecodable uploads are refused by the store.
#[tokio::test]
async fn no_photo_in_either_shape_and_bad_uploads() {
    for variant in [NoPhoto::NotFound, NoPhoto::Placeholder] {
        let sb = Sandbox::start(SandboxConfig {
            users: 20,
            variants: Variants {
                no_photo: variant,
                ..Variants::default()
            },
            ..SandboxConfig::default()
        })
        .await
        .unwrap();
        let (graph, _creds) = graph_for(&sb).await;
        let user = sb
            .tenant()
            .users()
            .into_iter()
            .find(|u| u.mail.is_some())
            .unwrap();
        sb.tenant().delete_photo(&user.id).unwrap();
        assert_eq!(
            graph.photo_meta(&user.id).await.unwrap(),
            PhotoState::Absent,
            "{variant:?}"
        );
        assert_eq!(graph.photo(&user.id).await.unwrap(), None, "{variant:?}");

        let e = graph
            .put_photo(
                &user.id,
                Bytes::from_static(b"not a photo at all"),
                "image/jpeg",
            )
            .await
            .unwrap_err();
        assert_eq!(e.status(), Some(400), "{e}");
        assert!(!e.is_retryable());
    }
}

/// Photo metadata for many users through `$batch`: one request per 20 users, answers
/// matched although they come back out of order, each matching the tenant's truth.
#[tokio::test]
async fn batched_photo_metadata_matches_the_tenant() {
    let sb = sandbox(400).await;
    let (graph, _creds) = graph_for(&sb).await;
    let users = sb.tenant().users();
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let before = graph.rest().counters.requests.load(Ordering::SeqCst);
    let states = graph.photo_meta_many(&ids, 4).await;
    let sent = graph.rest().counters.requests.load(Ordering::SeqCst) - before;
    assert_eq!(sent, 20, "400 users in batches of 20");
    let mut present = 0;
    for (u, s) in users.iter().zip(&states) {
        let truth = sb.tenant().photo(&u.id);
        match s.as_ref().unwrap() {
            PhotoState::Present(m) => {
                present += 1;
                assert_eq!(m.etag.trim_matches('"'), truth.unwrap().etag, "{}", u.id);
            }
            PhotoState::Absent => assert!(truth.is_none(), "{} has a photo", u.id),
        }
    }
    assert!(present > 200 && present < 400, "{present}");
    assert_eq!(sb.tenant().stats().batch_items, 400);
}

/// Under throttling (limits lowered so a burst trips them) and random 429/503/dropped
/// connections, every call still completes, by honouring Retry-After and backing off.
#[tokio::test]
async fn throttling_and_faults_lose_nothing() {
    let sb = Sandbox::start(SandboxConfig {
        users: 120,
        limits: Limits {
            resource_units_medium: 60,
            ..Limits::default()
        },
        faults: Faults {
            rate_429: 0.05,
            rate_503: 0.05,
            rate_drop: 0.03,
            ..Faults::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let policy = RetryPolicy {
        max_attempts: 8,
        max_elapsed: Duration::from_secs(90),
        max_delay: Duration::from_secs(30),
        ..quick_policy()
    };
    let (graph, _creds) = graph_with(&sb, policy).await;
    let graph = Arc::new(graph);
    let users = sb.tenant().users();
    let tasks = users.iter().map(|u| {
        let g = Arc::clone(&graph);
        let id = u.id.clone();
        tokio::spawn(async move { g.user(&UserKey::Id(id)).await })
    });
    let results = futures::future::join_all(tasks).await;
    for r in results {
        assert!(r.unwrap().unwrap().is_some());
    }
    let stats = sb.tenant().stats();
    assert!(stats.throttled_429 > 0, "{stats:?}");
    assert!(graph.rest().counters.retries.load(Ordering::SeqCst) > 0);
}

/// At most four photo requests per mailbox are in flight, however many are asked for.
#[tokio::test]
async fn photo_requests_per_mailbox_stay_at_four() {
    let sb = Sandbox::start(SandboxConfig {
        users: 10,
        latency: Duration::from_millis(30),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let (graph, _creds) = graph_for(&sb).await;
    let graph = Arc::new(graph);
    let user = sb
        .tenant()
        .users()
        .into_iter()
        .find(|u| sb.tenant().photo(&u.id).is_some())
        .unwrap();
    let tasks = (0..16).map(|_| {
        let g = Arc::clone(&graph);
        let id = user.id.clone();
        tokio::spawn(async move { g.photo_meta(&id).await })
    });
    for r in futures::future::join_all(tasks).await {
        assert!(matches!(r.unwrap().unwrap(), PhotoState::Present(_)));
    }
    let stats = sb.tenant().stats();
    assert!(stats.peak_photo_concurrency <= 4, "{stats:?}");
    assert_eq!(stats.throttled_429, 0, "{stats:?}");
}

/// Delta: a full round, then only what changed (an update, a soft delete), then a full
/// restart when the saved state is gone (410).
#[tokio::test]
async fn delta_rounds_see_changes_and_restart_when_state_is_gone() {
    let sb = sandbox(250).await;
    let (graph, _creds) = graph_for(&sb).await;
    let mut seen = 0;
    let round = graph
        .users_delta(None, |p| seen += p.users.len())
        .await
        .unwrap();
    assert_eq!(seen, 250);
    assert!(!round.restarted);

    let users = sb.tenant().users();
    sb.tenant()
        .update_user(&users[3].id, |u| u.display_name = "Renamed Person".into())
        .unwrap();
    sb.tenant().delete_user(&users[4].id).unwrap();
    let (mut changed, mut removed) = (Vec::new(), Vec::new());
    let round2 = graph
        .users_delta(Some(&round.delta_link), |p| {
            changed.extend(p.users);
            removed.extend(p.removed);
        })
        .await
        .unwrap();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].display_name.as_deref(), Some("Renamed Person"));
    assert_eq!(removed.len(), 1);
    assert_eq!(
        (removed[0].id.as_str(), removed[0].reason.as_str()),
        (users[4].id.as_str(), "changed")
    );

    sb.tenant().invalidate_delta_tokens();
    let mut again = 0;
    let round3 = graph
        .users_delta(Some(&round2.delta_link), |p| again += p.users.len())
        .await
        .unwrap();
    assert!(round3.restarted);
    assert_eq!(again, 249, "every live user comes back after a restart");
}

/// A client pointed at a sandbox with a client made by hand works the same (no settings).
#[tokio::test]
async fn a_graph_client_from_parts_works() {
    let sb = sandbox(10).await;
    let (graph, creds) = graph_for(&sb).await;
    let g2 = GraphClient::standalone(
        reqwest::Client::new(),
        &sb.endpoints().graph_url,
        "https://graph.microsoft.com",
        creds,
        quick_policy(),
        2,
    );
    let a = graph.users_page(None, 5).await.unwrap();
    let b = g2.users_page(None, 5).await.unwrap();
    assert_eq!(a.value, b.value);
}

/// Under the app-wide request limit, throttled batch items are pooled and resent in full
/// batches: every answer still matches the tenant, with few extra requests.
#[tokio::test]
async fn throttled_batch_items_are_pooled_and_all_answered() {
    let sb = Sandbox::start(SandboxConfig {
        users: 400,
        seed: 7,
        limits: Limits {
            app_requests_per_second: 150,
            ..Limits::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let policy = RetryPolicy {
        max_attempts: 8,
        max_elapsed: Duration::from_secs(60),
        max_delay: Duration::from_secs(30),
        ..quick_policy()
    };
    let (graph, _creds) = graph_with(&sb, policy).await;
    let users = sb.tenant().users();
    let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
    let states = graph.photo_meta_many(&ids, 8).await;
    for (u, s) in users.iter().zip(&states) {
        let truth = sb.tenant().photo(&u.id).is_some();
        assert_eq!(
            matches!(s.as_ref().unwrap(), PhotoState::Present(_)),
            truth,
            "{}",
            u.id
        );
    }
    let throttled = graph.rest().counters.throttled.load(Ordering::SeqCst);
    let sent = graph.rest().counters.requests.load(Ordering::SeqCst);
    assert!(throttled > 0, "the limit never bit: the test did not test");
    assert!(
        sent <= 20 + throttled.div_ceil(20) + 8,
        "{sent} requests for {throttled} throttled items"
    );
}
