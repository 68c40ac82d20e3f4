//! `photo-sync doctor`: checks, with the real configuration, each step photo-sync needs —
//! settings, tokens, reachability, permissions, the tenant's photo policy — and says what
//! to fix. The same code runs against the sandbox tenant.

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

use crate::auth::{AuthOptions, Credentials, TokenSource};
use crate::config::{CredentialChoice, Env, M365Settings};
use crate::graph::{GraphClient, PhotoState, UserPage};
use crate::rest::RestClient;
use crate::sharepoint::SharePointClient;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Works.
    Pass,
    /// Broken: photo-sync will fail until fixed.
    Fail,
    /// Could not be checked, or not needed with this configuration.
    Skip,
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// How it came out.
    pub outcome: Outcome,
    /// What was seen.
    pub detail: String,
    /// What to do, when it failed or was skipped for a reason the admin can change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = match self.outcome {
            Outcome::Pass => "✓",
            Outcome::Fail => "✗",
            Outcome::Skip => "–",
        };
        write!(f, "{mark} {}: {}", self.name, self.detail)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n    fix: {fix}")?;
        }
        Ok(())
    }
}

/// The app roles that let photo-sync read users and write photos (PRODUCT.md §8,
/// m365-facts A§1.4).
const READ_ROLES: [&str; 4] = [
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const WRITE_ROLES: [&str; 2] = ["ProfilePhoto.ReadWrite.All", "User.ReadWrite.All"];

fn check(
    name: &'static str,
    outcome: Outcome,
    detail: impl Into<String>,
    fix: Option<String>,
) -> Check {
    Check {
        name,
        outcome,
        detail: detail.into(),
        fix,
    }
}

/// Run every check; stops early only where later checks cannot mean anything.
pub async fn run(env: &Env, options: AuthOptions) -> Vec<Check> {
    let mut out = Vec::new();
    let settings = match M365Settings::from_env(env) {
        Ok(s) => {
            out.push(check(
                "configuration",
                Outcome::Pass,
                format!(
                    "credential {}, cloud {:?}, Graph {}",
                    s.credential.name(),
                    s.cloud,
                    s.graph_url
                ),
                None,
            ));
            s
        }
        Err(e) => {
            out.push(check(
                "configuration",
                Outcome::Fail,
                e.to_string(),
                Some("set the key named above (README: Configuration)".into()),
            ));
            return out;
        }
    };
    let creds: Arc<Credentials> = match Credentials::from_settings(&settings, options.clone()) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            out.push(check("credential", Outcome::Fail, e.to_string(), None));
            return out;
        }
    };
    let graph_token = match creds.token(&settings.graph_resource).await {
        Ok(t) => {
            let claims = claims(&t.bearer());
            out.push(check(
                "token for Graph",
                Outcome::Pass,
                format!(
                    "{} token for {}, valid {} more minutes",
                    creds.kind(),
                    settings.graph_resource,
                    t.remaining().as_secs() / 60
                ),
                None,
            ));
            claims
        }
        Err(e) => {
            out.push(check("token for Graph", Outcome::Fail, e.to_string(), None));
            return out;
        }
    };
    out.push(roles_check(graph_token.as_ref()));

    let http = options
        .http
        .clone()
        .map(Ok)
        .unwrap_or_else(|| RestClient::default_http(4));
    let http = match http {
        Ok(h) => h,
        Err(e) => {
            out.push(check("HTTP client", Outcome::Fail, e.to_string(), None));
            return out;
        }
    };
    let rest = Arc::new(RestClient::new(
        http,
        Arc::clone(&creds) as _,
        settings.retry,
        4,
        4,
    ));
    let graph = GraphClient::new(&settings, Arc::clone(&rest));
    out.extend(graph_checks(&graph).await);
    out.push(policy_check(&graph).await);
    out.extend(sharepoint_checks(&settings, &creds, rest).await);
    out.push(check(
        "on-premises AD (LDAP)",
        Outcome::Skip,
        "the AD target is not configured",
        None,
    ));
    out
}

/// The token's claims, when it is a JWT (Entra's are; an opaque token gives `None`).
fn claims(bearer: &str) -> Option<serde_json::Value> {
    let token = bearer.strip_prefix("Bearer ")?;
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?).ok()
}

fn roles_check(claims: Option<&serde_json::Value>) -> Check {
    let Some(c) = claims else {
        return check(
            "app roles",
            Outcome::Skip,
            "the token is not a JWT; roles are checked by the calls below",
            None,
        );
    };
    let roles: Vec<&str> = c
        .get("roles")
        .and_then(|r| r.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let read = READ_ROLES.iter().any(|r| roles.contains(r));
    let write = WRITE_ROLES.iter().any(|r| roles.contains(r));
    let listed = if roles.is_empty() {
        "none".to_owned()
    } else {
        roles.join(", ")
    };
    if read && write {
        return check(
            "app roles",
            Outcome::Pass,
            format!("granted: {listed}"),
            None,
        );
    }
    let mut missing = Vec::new();
    if !read {
        missing.push("User.Read.All");
    }
    if !write {
        missing.push("ProfilePhoto.ReadWrite.All");
    }
    check(
        "app roles",
        Outcome::Fail,
        format!("granted: {listed}; missing {}", missing.join(" and ")),
        Some(format!(
            "grant the Microsoft Graph application permission(s) {} to the app or managed identity and give admin consent (infra/ does this)",
            missing.join(", ")
        )),
    )
}

async fn graph_checks(graph: &GraphClient) -> Vec<Check> {
    let mut out = Vec::new();
    let page: UserPage = match graph.users_page(None, 1).await {
        Ok(p) => {
            out.push(check(
                "Graph reachable, users readable",
                Outcome::Pass,
                format!("read {} user(s)", p.value.len()),
                None,
            ));
            p
        }
        Err(e) => {
            let fix = match e.status() {
                Some(401) => Some("the token was refused: check PHOTOSYNC_CLOUD / PHOTOSYNC_GRAPH_URL match the tenant's cloud".into()),
                Some(403) => Some("grant User.Read.All (application) and admin consent".into()),
                None => Some("check outbound network to the Graph URL".into()),
                _ => None,
            };
            out.push(check(
                "Graph reachable, users readable",
                Outcome::Fail,
                e.to_string(),
                fix,
            ));
            return out;
        }
    };
    let Some(user) = page.value.first() else {
        out.push(check(
            "photos readable",
            Outcome::Skip,
            "the tenant has no users",
            None,
        ));
        return out;
    };
    match graph.photo_meta(&user.id).await {
        Ok(state) => {
            let seen = match state {
                PhotoState::Present(m) => format!("a {}x{} photo", m.width, m.height),
                PhotoState::Absent => "no photo (readable)".into(),
            };
            out.push(check(
                "photos readable",
                Outcome::Pass,
                format!("first user has {seen}"),
                None,
            ));
        }
        Err(e) => {
            let fix = (e.status() == Some(403)).then(|| {
                "grant ProfilePhoto.ReadWrite.All (application) and admin consent".to_owned()
            });
            out.push(check("photos readable", Outcome::Fail, e.to_string(), fix));
        }
    }
    out
}

/// The tenant's photo update policy (beta `photoUpdateSettings`, m365-facts A§0): where
/// photos may be changed. Readable only with PeopleSettings permissions; skipped if not.
async fn policy_check(graph: &GraphClient) -> Check {
    match graph.photo_update_policy().await {
        Ok(Some(source)) if source.eq_ignore_ascii_case("onPremises") => check(
            "tenant photo policy",
            Outcome::Fail,
            "photos are mastered on premises (photoUpdateSettings.source = onPremises): Graph writes will be refused",
            Some("turn on the AD target (thumbnailPhoto over LDAP) or set the policy's source to cloud".into()),
        ),
        Ok(Some(source)) => check("tenant photo policy", Outcome::Pass, format!("photos are updated in the {source}"), None),
        Ok(None) => check("tenant photo policy", Outcome::Skip, "no photoUpdateSettings in this tenant", None),
        Err(e) => check(
            "tenant photo policy",
            Outcome::Skip,
            format!("not readable: {e}"),
            Some("optional: grant PeopleSettings.Read.All to let doctor read it".into()),
        ),
    }
}

async fn sharepoint_checks(
    settings: &M365Settings,
    creds: &Arc<Credentials>,
    rest: Arc<RestClient>,
) -> Vec<Check> {
    let Some(sp) = SharePointClient::from_settings(settings, rest) else {
        return vec![check(
            "SharePoint (classic profiles)",
            Outcome::Skip,
            "the SharePoint target is not configured",
            None,
        )];
    };
    let mut out = Vec::new();
    if matches!(settings.credential, CredentialChoice::ClientSecret { .. }) {
        out.push(check(
            "SharePoint credential",
            Outcome::Fail,
            "SharePoint Online refuses app-only tokens from a client secret (m365-facts A§4.4)",
            Some("use a certificate (AZURE_CLIENT_CERTIFICATE_PATH) or a managed identity".into()),
        ));
    }
    let resource = settings.sharepoint_resource().unwrap_or_default();
    match creds.token(&resource).await {
        Ok(_) => out.push(check(
            "token for SharePoint",
            Outcome::Pass,
            format!("token for {resource}"),
            None,
        )),
        Err(e) => out.push(check(
            "token for SharePoint",
            Outcome::Fail,
            e.to_string(),
            None,
        )),
    }
    match sp.check_folder().await {
        Ok(()) => out.push(check(
            "SharePoint photo library",
            Outcome::Pass,
            "User Photos/Profile Pictures is reachable",
            None,
        )),
        Err(e) => {
            let fix = match e.status() {
                Some(401) | Some(403) => Some("grant SharePoint Sites.FullControl.All (application) with a certificate credential".into()),
                Some(404) => Some("check PHOTOSYNC_SHAREPOINT_MYSITE_URL (the -my host) and the library's locale".into()),
                _ => None,
            };
            out.push(check(
                "SharePoint photo library",
                Outcome::Fail,
                e.to_string(),
                fix,
            ));
        }
    }
    out
}

/// Exit code for a report: 0 only when nothing failed.
pub fn exit_code(checks: &[Check]) -> u8 {
    u8::from(checks.iter().any(|c| c.outcome == Outcome::Fail))
}
