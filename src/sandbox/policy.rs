//! The tenant's photo update policy, `GET /beta/admin/people/photoUpdateSettings`
//! (m365-facts A§0, A§1.4: June 2024, beta; where photos may be changed). Reading it needs
//! a PeopleSettings permission.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::auth_check::{Caller, Denied};
use super::error::GraphFault;
use super::server::Shared;

const ROLES: &[&str] = &["PeopleSettings.Read.All", "PeopleSettings.ReadWrite.All"];

/// `photoUpdateSettings`: `source` and `allowedRoles`, or 404 when the tenant has none.
pub(crate) async fn photo_update_settings(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
) -> Result<Json<Value>, GraphFault> {
    caller.require(ROLES, Denied::Directory)?;
    match &shared.config.photo_update_source {
        Some(source) => Ok(Json(json!({
            "@odata.context": "https://graph.microsoft.com/beta/$metadata#admin/people/photoUpdateSettings/$entity",
            "source": source,
            "allowedRoles": [],
        }))),
        None => Err(GraphFault::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            "photoUpdateSettings has not been set for this tenant.",
        )),
    }
}
