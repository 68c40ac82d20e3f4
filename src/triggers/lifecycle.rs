//! `POST /api/lifecycle`: Graph lifecycle events (m365-facts B§1.4). For `users` only
//! `reauthorizationRequired` applies; it is answered 202 first and acted on afterwards
//! (renew, which also reauthorizes). Parsed leniently: the real payload carries
//! `organizationId` instead of `tenantId`, empty `resource`, null `sequence`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::notifications::{bad_request, read_collection, validation_reply};
use super::App;

pub(crate) async fn handle(
    State(app): State<App>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if let Some(token) = query.get("validationToken") {
        return validation_reply(token);
    }
    let items = match read_collection(&body) {
        Ok(items) => items,
        Err(why) => return bad_request(&why),
    };
    let mut work = Vec::new();
    for item in items {
        let Some(event) = item.lifecycle_event.clone() else {
            continue;
        };
        if app.item_is_ours(&item).await {
            work.push((item.subscription_id, event));
        }
    }
    if !work.is_empty() {
        let engine = app.engine().clone();
        tokio::spawn(async move {
            for (id, event) in work {
                match engine.on_lifecycle(&id, &event).await {
                    Ok(done) => {
                        tracing::info!(subscription = %id, %event, %done, "lifecycle event handled")
                    }
                    Err(e) => {
                        tracing::warn!(subscription = %id, %event, error = %e, "lifecycle event failed; the reconcile renews")
                    }
                }
            }
        });
    }
    StatusCode::ACCEPTED.into_response()
}
