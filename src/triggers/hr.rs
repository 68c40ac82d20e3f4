//! `POST /api/hr-webhook` (PRODUCT.md §5): read at most 16 MB, verify the Standard
//! Webhooks signature over the exact raw body, parse, drop a `webhook-id` already seen
//! (202), keep the photo in the photo store's inbox and queue one job. Errors are RFC 9457
//! problem documents: 400 malformed, 401 signature, 413 too large, 422 unusable, 503 when
//! the event could not be persisted (the sender retries).

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::App;
use crate::hr::{self, HrError, HrPhoto};
use crate::ledger::unix_now;
use crate::photostore::InboxPhoto;
use crate::queue::{Cause, Job, JOB_VERSION};

fn problem(e: &HrError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        e.problem().to_string(),
    )
        .into_response()
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

pub(crate) async fn handle(State(app): State<App>, headers: HeaderMap, body: Body) -> Response {
    match accept(&app, &headers, body).await {
        Ok(duplicate) => {
            let status = if duplicate { "duplicate" } else { "accepted" };
            (
                StatusCode::ACCEPTED,
                [(header::CONTENT_TYPE, "application/json")],
                format!("{{\"status\":\"{status}\"}}"),
            )
                .into_response()
        }
        Err(e) => {
            tracing::info!(status = e.status(), reason = %e, "HR webhook refused");
            problem(&e)
        }
    }
}

/// Ok(true) for a duplicate.
async fn accept(app: &App, headers: &HeaderMap, body: Body) -> Result<bool, HrError> {
    let Some(settings) = app.hr() else {
        return Err(HrError::Unauthorized(
            "the HR webhook is not configured (PHOTOSYNC_HR_WEBHOOK_SECRET)".into(),
        ));
    };
    if header(headers, "content-length")
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n > hr::MAX_BODY)
    {
        return Err(HrError::TooLarge);
    }
    let body = axum::body::to_bytes(body, hr::MAX_BODY)
        .await
        .map_err(|_| HrError::TooLarge)?;
    let now = unix_now();
    let id = hr::verify(
        &settings.keys,
        header(headers, "webhook-id"),
        header(headers, "webhook-timestamp"),
        header(headers, "webhook-signature"),
        &body,
        now,
    )?;
    let event = hr::parse(&body)?;
    if let HrPhoto::Url(url) = &event.photo {
        // Checked now for a quick answer; checked again (with DNS) when fetched.
        let ok = reqwest::Url::parse(url)
            .ok()
            .filter(|u| u.scheme() == "https")
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
        let allowed = ok.is_some_and(|h| {
            settings.photo_hosts.iter().any(|a| {
                a == &h
                    || a.strip_prefix("*.")
                        .is_some_and(|s| h.ends_with(&format!(".{s}")))
            })
        });
        if !allowed {
            return Err(HrError::Unusable(
                "photoUrl must be https on a host in PHOTOSYNC_HR_PHOTO_HOSTS".into(),
            ));
        }
    }
    let ledger = app.engine().ledger();
    let key = format!("hr:{id}");
    let unavailable = |e: &dyn std::fmt::Display| {
        HrError::Unavailable(format!("the event could not be stored; retry: {e}"))
    };
    if !ledger
        .claim(&key, now, now + hr::DEDUPE_SECS)
        .await
        .map_err(|e| unavailable(&e))?
    {
        return Ok(true);
    }
    let (event_type, bytes, content_type, photo_url) = match event.photo {
        HrPhoto::Inline {
            bytes,
            content_type,
        } => ("photo.updated", bytes, Some(content_type), None),
        HrPhoto::Url(url) => ("photo.updated", Vec::new(), None, Some(url)),
        HrPhoto::Withdrawn => ("photo.deleted", Vec::new(), None, None),
    };
    let item = InboxPhoto {
        event_type: event_type.into(),
        bytes,
        content_type,
        photo_url,
        crop: event.crop,
        received_at: now,
    };
    let job = Job {
        v: JOB_VERSION,
        user: event.user,
        cause: Cause::Hr,
        hr_event: Some(id.clone()),
    };
    let stored = async {
        app.engine()
            .photos()
            .put_inbox(&id, &item)
            .await
            .map_err(|e| unavailable(&e))?;
        app.sink().send(&[job]).await.map_err(|e| unavailable(&e))
    };
    if let Err(e) = stored.await {
        let _ = ledger.release(&key).await;
        return Err(e);
    }
    Ok(false)
}
