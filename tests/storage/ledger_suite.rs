//! One suite for every ledger backend: each test is a function over `&dyn Ledger`,
//! run once on SQLite and once on Azure Table (Azurite) by `both!`.

use std::collections::BTreeSet;

use photo_sync::ledger::{FailureRecord, Ledger, SourceRecord, SubscriptionRecord, TargetRecord};

use super::backends::{sqlite_ledger, table_ledger};

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $(#[tokio::test] async fn $name() { let (ledger, _dir) = super::sqlite_ledger(); super::$name(&*ledger).await; })* }
        mod table { $(#[tokio::test] async fn $name() { super::$name(&*super::table_ledger().await).await; })* }
    };
}

both!(
    user_records_round_trip,
    clearing_and_forgetting,
    roster_pages_in_id_order_with_odd_ids,
    roster_keeps_known_upns_and_existing_records,
    cursors_and_subscriptions,
    claims_dedupe_expire_and_release,
    concurrent_claims_have_one_winner,
    unknown_target_names_are_refused_or_kept,
);

fn source(n: u64) -> SourceRecord {
    SourceRecord {
        origin: "hr".into(),
        sha256: format!("{n:064x}"),
        phash: n.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        accepted_at: 1_700_000_000 + n as i64,
    }
}

fn target(n: u64, etag: Option<&str>) -> TargetRecord {
    TargetRecord {
        sha256: format!("{:064x}", n + 1),
        phash: u64::MAX - n,
        etag: etag.map(str::to_string),
        written_at: 1_700_000_100,
    }
}

async fn user_records_round_trip(l: &dyn Ledger) {
    assert_eq!(l.user("u-1").await.unwrap(), None);
    l.put_source("u-1", Some("ada@contoso.com"), &source(1))
        .await
        .unwrap();
    l.put_target("u-1", "m365", &target(1, Some("W/\"etag-1\"")))
        .await
        .unwrap();
    l.put_target("u-1", "sharepoint", &target(2, None))
        .await
        .unwrap();
    let failure = FailureRecord {
        attempts: 2,
        error: "Graph said 503 — \"try later\"".into(),
        retryable: true,
        at: 1_700_000_200,
    };
    l.put_failure("u-1", Some(&failure)).await.unwrap();
    let got = l.user("u-1").await.unwrap().unwrap();
    assert_eq!(got.upn.as_deref(), Some("ada@contoso.com"));
    assert_eq!(got.source, Some(source(1)));
    assert_eq!(
        got.targets.get("m365"),
        Some(&target(1, Some("W/\"etag-1\"")))
    );
    assert_eq!(got.targets.get("sharepoint"), Some(&target(2, None)));
    assert_eq!(got.failure, Some(failure));
    // Large phash values (≥ 2^63) survive.
    assert_eq!(got.targets["m365"].phash, u64::MAX - 1);

    // A newer source replaces the old; the UPN is kept when not given.
    l.put_source("u-1", None, &source(9)).await.unwrap();
    l.put_failure("u-1", None).await.unwrap();
    let got = l.user("u-1").await.unwrap().unwrap();
    assert_eq!(got.source, Some(source(9)));
    assert_eq!(got.upn.as_deref(), Some("ada@contoso.com"));
    assert_eq!(got.failure, None);
    assert_eq!(got.targets.len(), 2);
}

async fn clearing_and_forgetting(l: &dyn Ledger) {
    l.put_target("u-2", "m365", &target(3, None)).await.unwrap();
    l.put_target("u-2", "ad", &target(4, None)).await.unwrap();
    l.clear_target("u-2", "m365").await.unwrap();
    let got = l.user("u-2").await.unwrap().unwrap();
    assert_eq!(got.targets.keys().collect::<Vec<_>>(), vec!["ad"]);
    // Clearing for a user the ledger never saw creates nobody.
    l.clear_target("nobody", "m365").await.unwrap();
    assert_eq!(l.user("nobody").await.unwrap(), None);
    l.forget_user("u-2").await.unwrap();
    assert_eq!(l.user("u-2").await.unwrap(), None);
    l.forget_user("u-2").await.unwrap(); // twice is fine
    assert!(l
        .users(None, 10)
        .await
        .unwrap()
        .iter()
        .all(|(id, _)| id != "u-2"));
}

async fn roster_pages_in_id_order_with_odd_ids(l: &dyn Ledger) {
    let mut ids: Vec<String> = (0..230)
        .map(|i| format!("{:08x}-0000-4000-8000-{:012x}", i * 7919 % 65_536, i))
        .collect();
    ids.extend(
        [
            "o'brien",
            "a/b\\c",
            "guest_contoso.com#EXT#@fabrikam.onmicrosoft.com",
            "émile",
            "100%",
            "q?x",
        ]
        .map(str::to_string),
    );
    let roster: Vec<(String, Option<String>)> = ids
        .iter()
        .map(|id| (id.clone(), Some(format!("{id}@x"))))
        .collect();
    l.note_users(&roster).await.unwrap();
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = l.users(after.as_deref(), 37).await.unwrap();
        assert!(page.len() <= 37);
        if page.is_empty() {
            break;
        }
        for (id, state) in &page {
            assert_eq!(
                state.upn.as_deref(),
                Some(format!("{id}@x").as_str()),
                "{id}"
            );
        }
        after = page.last().map(|(id, _)| id.clone());
        seen.extend(page.into_iter().map(|(id, _)| id));
    }
    let mut sorted = seen.clone();
    sorted.sort();
    // Ordered by id (ids with characters Table keys refuse may sort by their escapes, so
    // compare the plain ones' order and the whole set).
    let plain: Vec<&String> = seen
        .iter()
        .filter(|i| i.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .collect();
    let mut plain_sorted = plain.clone();
    plain_sorted.sort();
    assert_eq!(plain, plain_sorted);
    assert_eq!(
        seen.iter().collect::<BTreeSet<_>>(),
        ids.iter().collect::<BTreeSet<_>>()
    );
    assert_eq!(seen.len(), ids.len(), "no id twice");
    for odd in [
        "o'brien",
        "a/b\\c",
        "guest_contoso.com#EXT#@fabrikam.onmicrosoft.com",
        "émile",
        "100%",
        "q?x",
    ] {
        assert!(l.user(odd).await.unwrap().is_some(), "{odd}");
    }
}

async fn roster_keeps_known_upns_and_existing_records(l: &dyn Ledger) {
    l.put_source("r-1", Some("first@x"), &source(5))
        .await
        .unwrap();
    l.put_target("r-1", "m365", &target(5, Some("e5")))
        .await
        .unwrap();
    l.note_users(&[
        ("r-1".into(), None),
        ("r-2".into(), None),
        ("r-2".into(), Some("two@x".into())),
        ("r-3".into(), Some("three@x".into())),
    ])
    .await
    .unwrap();
    let r1 = l.user("r-1").await.unwrap().unwrap();
    assert_eq!(
        r1.upn.as_deref(),
        Some("first@x"),
        "an unknown UPN never replaces a known one"
    );
    assert_eq!(r1.source, Some(source(5)));
    assert_eq!(r1.targets["m365"].etag.as_deref(), Some("e5"));
    assert_eq!(
        l.user("r-2").await.unwrap().unwrap().upn.as_deref(),
        Some("two@x")
    );
    l.note_users(&[("r-3".into(), Some("renamed@x".into()))])
        .await
        .unwrap();
    assert_eq!(
        l.user("r-3").await.unwrap().unwrap().upn.as_deref(),
        Some("renamed@x")
    );
    l.note_users(&[]).await.unwrap();
}

async fn cursors_and_subscriptions(l: &dyn Ledger) {
    assert_eq!(l.cursor("delta").await.unwrap(), None);
    let link = format!(
        "https://graph.microsoft.com/v1.0/users/delta?$deltatoken={}",
        "x".repeat(2000)
    );
    l.set_cursor("delta", Some(&link)).await.unwrap();
    assert_eq!(
        l.cursor("delta").await.unwrap().as_deref(),
        Some(link.as_str())
    );
    l.set_cursor("delta", Some("second")).await.unwrap();
    assert_eq!(l.cursor("delta").await.unwrap().as_deref(), Some("second"));
    l.set_cursor("delta", None).await.unwrap();
    assert_eq!(l.cursor("delta").await.unwrap(), None);
    l.set_cursor("never-set", None).await.unwrap();

    assert!(l.subscriptions().await.unwrap().is_empty());
    let sub = |id: &str, exp| SubscriptionRecord {
        id: id.into(),
        resource: "users".into(),
        notification_url: "https://f.example/api/notifications".into(),
        expires_at: exp,
    };
    l.put_subscription(&sub("s-1", 1_800_000_000))
        .await
        .unwrap();
    l.put_subscription(&sub("s-2", 1_800_000_001))
        .await
        .unwrap();
    l.put_subscription(&sub("s-1", 1_900_000_000))
        .await
        .unwrap();
    let mut subs = l.subscriptions().await.unwrap();
    subs.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        subs,
        vec![sub("s-1", 1_900_000_000), sub("s-2", 1_800_000_001)]
    );
    l.delete_subscription("s-1").await.unwrap();
    l.delete_subscription("s-1").await.unwrap();
    assert_eq!(
        l.subscriptions().await.unwrap(),
        vec![sub("s-2", 1_800_000_001)]
    );
}

async fn claims_dedupe_expire_and_release(l: &dyn Ledger) {
    let key = "sub-1|user/with'odd#chars|18446744073709551615";
    assert!(l.claim(key, 1000, 2000).await.unwrap(), "first claim");
    assert!(
        !l.claim(key, 1500, 2500).await.unwrap(),
        "duplicate while live"
    );
    assert!(
        !l.claim(key, 1999, 3000).await.unwrap(),
        "still live just before expiry"
    );
    assert!(
        l.claim(key, 2000, 3000).await.unwrap(),
        "expired at 2000: taken over"
    );
    assert!(
        !l.claim(key, 2500, 3500).await.unwrap(),
        "the takeover holds until 3000"
    );
    l.release(key).await.unwrap();
    assert!(
        l.claim(key, 2600, 3600).await.unwrap(),
        "released: claimable again"
    );
    l.release("never-claimed").await.unwrap();

    for i in 0..5 {
        assert!(l.claim(&format!("old-{i}"), 100, 200 + i).await.unwrap());
    }
    assert!(l.claim("young", 100, 10_000).await.unwrap());
    assert_eq!(l.purge_expired(203).await.unwrap(), 4, "200..=203 expired");
    assert_eq!(l.purge_expired(203).await.unwrap(), 0);
    assert!(
        !l.claim("young", 300, 400).await.unwrap(),
        "purge left live claims"
    );
    assert!(
        l.claim("old-0", 300, 400).await.unwrap(),
        "purged keys are free"
    );
    assert!(
        !l.claim("old-4", 203, 400).await.unwrap(),
        "old-4 lives until 204"
    );
}

async fn concurrent_claims_have_one_winner(l: &dyn Ledger) {
    let wins = futures::future::join_all((0..16).map(|_| l.claim("race", 10, 20))).await;
    let won = wins.into_iter().map(Result::unwrap).filter(|w| *w).count();
    assert_eq!(won, 1, "exactly one of 16 concurrent claims wins");
    // And when the claim has expired, again exactly one takes it over.
    let wins = futures::future::join_all((0..16).map(|_| l.claim("race", 30, 40))).await;
    let won = wins.into_iter().map(Result::unwrap).filter(|w| *w).count();
    assert_eq!(won, 1, "exactly one of 16 concurrent takeovers wins");
}

async fn unknown_target_names_are_refused_or_kept(l: &dyn Ledger) {
    // The engine's target names are m365, ad and sharepoint; a backend that cannot hold
    // other names says so instead of storing something else.
    match l.put_target("t-1", "bad name!", &target(1, None)).await {
        Ok(()) => assert!(l
            .user("t-1")
            .await
            .unwrap()
            .unwrap()
            .targets
            .contains_key("bad name!")),
        Err(e) => assert!(e.to_string().contains("bad name!"), "{e}"),
    }
}
