//! Users: look one up by object id, UPN, mail or `employeeId` (PRODUCT.md §5 order), and
//! list them page by page with `$select`.

use serde::Deserialize;

use super::odata::{filter_eq, path_segment};
use super::{GraphCall, GraphClient, M365Error};

/// The properties photo-sync reads (`$select` makes directory reads cheaper,
/// m365-facts B§2.3).
pub const USER_SELECT: &str =
    "id,userPrincipalName,mail,employeeId,displayName,accountEnabled,userType";

/// A directory user, as much as photo-sync needs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// Object id.
    pub id: String,
    /// UPN (`#EXT#` for guests).
    #[serde(default)]
    pub user_principal_name: Option<String>,
    /// Primary SMTP address.
    #[serde(default)]
    pub mail: Option<String>,
    /// HR's id.
    #[serde(default)]
    pub employee_id: Option<String>,
    /// Name shown.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Sign-in allowed.
    #[serde(default)]
    pub account_enabled: Option<bool>,
    /// `Member` or `Guest`.
    #[serde(default)]
    pub user_type: Option<String>,
}

/// How a user is named by a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserKey {
    /// Entra object id.
    Id(String),
    /// User principal name.
    Upn(String),
    /// Mail address (may differ from the UPN, m365-facts A§8.1).
    Mail(String),
    /// `employeeId`.
    EmployeeId(String),
}

impl UserKey {
    fn value(&self) -> &str {
        match self {
            Self::Id(v) | Self::Upn(v) | Self::Mail(v) | Self::EmployeeId(v) => v,
        }
    }
}

/// One page of users and the link to the next.
#[derive(Debug, Clone, Deserialize)]
pub struct UserPage {
    /// The users.
    pub value: Vec<User>,
    /// Next page, absent on the last.
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
}

impl GraphClient {
    /// The user `key` names, or `None` when there is none. A mail or employeeId that
    /// matches several users is an error, never a guess.
    pub async fn user(&self, key: &UserKey) -> Result<Option<User>, M365Error> {
        if key.value().trim().is_empty() {
            return Err(M365Error::Refused("an empty user identifier".into()));
        }
        match key {
            UserKey::Id(v) | UserKey::Upn(v) => {
                let call = GraphCall::get(
                    format!("/users/{}?$select={USER_SELECT}", path_segment(v)),
                    "user",
                );
                match self.execute(&call).await {
                    Ok(r) => Ok(Some(r.json("user")?)),
                    Err(e) if e.is_not_found() => Ok(None),
                    Err(e) => Err(e),
                }
            }
            UserKey::Mail(v) | UserKey::EmployeeId(v) => {
                let property = if matches!(key, UserKey::Mail(_)) {
                    "mail"
                } else {
                    "employeeId"
                };
                let call = GraphCall::get(
                    format!(
                        "/users?{}&$select={USER_SELECT}&$top=2",
                        filter_eq(property, v)
                    ),
                    "user by filter",
                );
                let page: UserPage = self.execute(&call).await?.json("user by filter")?;
                match page.value.len() {
                    0 => Ok(None),
                    1 => Ok(page.value.into_iter().next()),
                    _ => Err(M365Error::Refused(format!(
                        "{property} {v:?} matches more than one user; use the object id or UPN"
                    ))),
                }
            }
        }
    }

    /// The first user found by any of `keys`, tried in order.
    pub async fn resolve(&self, keys: &[UserKey]) -> Result<Option<User>, M365Error> {
        for k in keys {
            if let Some(u) = self.user(k).await? {
                return Ok(Some(u));
            }
        }
        Ok(None)
    }

    /// One page of users: `None` starts at the beginning, else the previous page's
    /// `next_link`. `page_size` is clamped to Graph's 1..=999.
    pub async fn users_page(
        &self,
        next_link: Option<&str>,
        page_size: u32,
    ) -> Result<UserPage, M365Error> {
        let target = match next_link {
            Some(link) => link.to_owned(),
            None => format!(
                "/users?$select={USER_SELECT}&$top={}",
                page_size.clamp(1, 999)
            ),
        };
        self.execute(&GraphCall::get(target, "users page"))
            .await?
            .json("users page")
    }
}
