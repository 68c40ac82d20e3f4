//! Seeded tenants: same seed, same tenant; 100k users start fast.

use std::time::Instant;

use photo_sync::sandbox::{Sandbox, SandboxConfig};

use crate::helpers::start_with;

#[tokio::test]
async fn same_seed_gives_the_same_tenant_and_another_seed_another() {
    let a = start_with(200, |c| c.seed = 42).await;
    let b = start_with(200, |c| c.seed = 42).await;
    let c = start_with(200, |c| c.seed = 43).await;
    assert_eq!(a.tenant().users(), b.tenant().users());
    assert_eq!(a.endpoints().tenant_id, b.endpoints().tenant_id);
    assert_ne!(a.tenant().users(), c.tenant().users());
    let id = &a.tenant().users()[0].id;
    assert_eq!(
        a.tenant().photo(id).map(|p| p.etag),
        b.tenant().photo(id).map(|p| p.etag)
    );
    for s in [a, b, c] {
        s.shutdown().await;
    }
}

#[tokio::test]
async fn a_hundred_thousand_users_seed_quickly_with_realistic_variety() {
    let started = Instant::now();
    let sb = Sandbox::start(SandboxConfig {
        users: 100_000,
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let took = started.elapsed();
    let users = sb.tenant().users();
    assert_eq!(users.len(), 100_000);
    // "well under a second" in release; debug builds of the test get 5x slack.
    assert!(took.as_secs_f64() < 5.0, "took {took:?}");
    let share = |f: &dyn Fn(&photo_sync::sandbox::SandboxUser) -> bool| {
        users.iter().filter(|u| f(u)).count() as f64 / users.len() as f64
    };
    let guests = share(&|u| u.user_type == "Guest");
    assert!((0.02..0.04).contains(&guests), "{guests}");
    let no_mailbox = share(&|u| !u.has_mailbox && u.user_type == "Member");
    assert!((0.03..0.07).contains(&no_mailbox), "{no_mailbox}");
    assert!(share(&|u| !u.account_enabled) > 0.01);
    assert!(share(&|u| u.employee_id.is_none() && u.user_type == "Member") > 0.03);
    assert!(
        share(&|u| u
            .mail
            .as_deref()
            .is_some_and(|m| m != u.user_principal_name))
            > 0.05
    );
    assert!(users.iter().any(|u| u.display_name.contains("O'Brien")));
    assert!(users.iter().any(|u| u.display_name.contains('王')));
    assert!(users.iter().any(|u| u.display_name.contains("Zoë")));
    assert!(users.iter().any(
        |u| u.user_principal_name.ends_with("@contoso.onmicrosoft.com") && u.user_type == "Member"
    ));
    sb.shutdown().await;
}
