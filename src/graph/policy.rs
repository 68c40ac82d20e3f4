//! The tenant's photo update policy, `photoUpdateSettings` (beta, June 2024; m365-facts
//! A§0, A§1.4): whether photos are changed in the cloud or on premises.

use super::{GraphCall, GraphClient, M365Error};

impl GraphClient {
    /// `source` of the tenant's photo update settings (`cloud` or `onPremises`), `None`
    /// when the tenant has none. Needs a PeopleSettings read permission; a 403 comes back
    /// as the error.
    pub async fn photo_update_policy(&self) -> Result<Option<String>, M365Error> {
        let url = format!("{}/beta/admin/people/photoUpdateSettings", self.root);
        match self
            .execute(&GraphCall::get(url, "photo update settings"))
            .await
        {
            Ok(r) => {
                let v: serde_json::Value = r.json("photo update settings")?;
                Ok(v.get("source").and_then(|s| s.as_str()).map(str::to_owned))
            }
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
