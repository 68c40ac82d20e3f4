//! `doctor` against the sandbox: all green with a proper setup; each broken step named
//! with its fix.

use photo_sync::config::Env;
use photo_sync::doctor::{self, Outcome};
use photo_sync::sandbox::{Sandbox, SandboxConfig};

fn outcome(checks: &[doctor::Check], name: &str) -> Outcome {
    checks
        .iter()
        .find(|c| c.name == name)
        .map(|c| c.outcome)
        .unwrap_or_else(|| panic!("no check {name:?}"))
}

/// A complete setup passes every check that applies; exit code 0.
#[tokio::test]
async fn a_good_setup_passes() {
    let sb = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let (env, options) = sb.endpoints().client_env("secret").unwrap();
    let checks = doctor::run(&env, options).await;
    for c in &checks {
        assert_ne!(c.outcome, Outcome::Fail, "{c}");
    }
    for name in [
        "configuration",
        "token for Graph",
        "app roles",
        "Graph reachable, users readable",
        "photos readable",
    ] {
        assert_eq!(outcome(&checks, name), Outcome::Pass, "{name}");
    }
    assert_eq!(doctor::exit_code(&checks), 0);
}

/// Without the photo write permission the roles check fails and names the permission to
/// grant; reading photos still works (User.Read.All reads them, m365-facts A§1.4).
#[tokio::test]
async fn a_missing_permission_is_named() {
    let sb = Sandbox::start(SandboxConfig {
        granted_roles: vec!["User.Read.All".into()],
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let (env, options) = sb.endpoints().client_env("secret").unwrap();
    let checks = doctor::run(&env, options).await;
    let roles = checks.iter().find(|c| c.name == "app roles").unwrap();
    assert_eq!(roles.outcome, Outcome::Fail);
    assert!(
        roles
            .fix
            .as_deref()
            .unwrap()
            .contains("ProfilePhoto.ReadWrite.All"),
        "{roles}"
    );
    assert_eq!(outcome(&checks, "photos readable"), Outcome::Pass);
    assert_eq!(doctor::exit_code(&checks), 1);
}

/// Nothing configured: the first check fails and says which key to set.
#[tokio::test]
async fn no_configuration_says_what_to_set() {
    let checks = doctor::run(&Env::default(), Default::default()).await;
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].outcome, Outcome::Fail);
    assert!(
        checks[0].detail.contains("PHOTOSYNC_CREDENTIAL"),
        "{}",
        checks[0]
    );
}

/// A wrong secret fails at the token step with Entra's code.
#[tokio::test]
async fn a_wrong_secret_stops_at_the_token() {
    let sb = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let (env, options) = sb.endpoints().client_env("secret").unwrap();
    let checks = doctor::run(&env.with("AZURE_CLIENT_SECRET", "nope"), options).await;
    let last = checks.last().unwrap();
    assert_eq!(
        (last.name, last.outcome),
        ("token for Graph", Outcome::Fail)
    );
    assert!(last.detail.contains("AADSTS7000215"), "{last}");
}

/// With the SharePoint target on: a certificate credential passes every check; a client
/// secret is named as the reason SharePoint will refuse.
#[tokio::test]
async fn sharepoint_checks_follow_the_credential() {
    let sb = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let ep = sb.endpoints();
    let (env, options) = ep.client_env("certificate").unwrap();
    let checks = doctor::run(&ep.sharepoint_env(env), options).await;
    for c in &checks {
        assert_ne!(c.outcome, Outcome::Fail, "{c}");
    }
    assert_eq!(outcome(&checks, "token for SharePoint"), Outcome::Pass);
    assert_eq!(outcome(&checks, "SharePoint photo library"), Outcome::Pass);

    let (env, options) = ep.client_env("secret").unwrap();
    let checks = doctor::run(&ep.sharepoint_env(env), options).await;
    assert_eq!(outcome(&checks, "SharePoint credential"), Outcome::Fail);
    let lib = checks
        .iter()
        .find(|c| c.name == "SharePoint photo library")
        .unwrap();
    assert_eq!(lib.outcome, Outcome::Fail);
    assert!(
        lib.detail.contains("certificate") || lib.detail.contains("app only"),
        "{lib}"
    );
}

/// The tenant photo policy: skipped (with a fix) when not readable, passed for `cloud`,
/// failed when photos are mastered on premises.
#[tokio::test]
async fn the_photo_policy_is_read_when_permitted() {
    let roles = |extra: &[&str]| {
        let mut r = vec![
            "User.Read.All".to_string(),
            "ProfilePhoto.ReadWrite.All".to_string(),
        ];
        r.extend(extra.iter().map(|s| s.to_string()));
        r
    };
    for (granted, source, expect) in [
        (roles(&[]), Some("cloud"), Outcome::Skip),
        (
            roles(&["PeopleSettings.Read.All"]),
            Some("cloud"),
            Outcome::Pass,
        ),
        (
            roles(&["PeopleSettings.Read.All"]),
            Some("onPremises"),
            Outcome::Fail,
        ),
        (roles(&["PeopleSettings.Read.All"]), None, Outcome::Skip),
    ] {
        let sb = Sandbox::start(SandboxConfig {
            granted_roles: granted,
            photo_update_source: source.map(str::to_owned),
            ..SandboxConfig::default()
        })
        .await
        .unwrap();
        let (env, options) = sb.endpoints().client_env("secret").unwrap();
        let checks = doctor::run(&env, options).await;
        assert_eq!(
            outcome(&checks, "tenant photo policy"),
            expect,
            "{source:?}"
        );
    }
}
