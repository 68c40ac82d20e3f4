//! The HR system (PRODUCT.md §3, §5): official photos at `/hr/photos/{employeeId}.jpg`
//! (seeded portraits; for some employees a different one than Microsoft 365 holds, so
//! drift exists) and the sender of Standard-Webhooks-signed HR events.

use std::collections::HashMap;
use std::sync::Arc;

use aws_lc_rs::hmac;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use serde_json::{json, Value};

use super::error::SandboxError;
use super::model::HrDelivery;
use super::render;
use super::rng::Rng;
use super::server::Shared;
use super::tenant::{PhotoSlot, State as TenantState, Tenant};

/// Side of the HR system's portraits.
const HR_SIDE: u32 = 648;

#[derive(Debug, Clone)]
enum HrSlot {
    Seeded(u64),
    Uploaded(Bytes),
}

/// The HR system's photos by employee id.
#[derive(Debug, Default)]
pub(crate) struct Store {
    photos: HashMap<String, HrSlot>,
}

impl Store {
    /// Seeded from the tenant: 12% of employees have no HR photo; of the rest, one in five
    /// differs from the Microsoft 365 photo (drift), and users without a Microsoft 365
    /// photo get a fresh one.
    pub fn seeded(seed: u64, state: &TenantState) -> Self {
        let mut photos = HashMap::new();
        for r in state.users.values() {
            let Some(employee) = &r.user.employee_id else {
                continue;
            };
            let mut rng = Rng::new(seed, 0x4852_0000 ^ fnv(employee));
            if rng.chance(0.12) {
                continue;
            }
            let fresh = rng.next_u64();
            let slot = match r.photo {
                PhotoSlot::Seeded { seed, .. } if !rng.chance(0.2) => HrSlot::Seeded(seed),
                _ => HrSlot::Seeded(fresh),
            };
            photos.insert(employee.clone(), slot);
        }
        Self { photos }
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn problem(status: StatusCode, detail: &str) -> Response {
    let body = json!({"type": "about:blank", "title": status.canonical_reason(), "status": status.as_u16(), "detail": detail});
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

/// `GET /hr/photos/{employeeId}.jpg`.
pub(crate) async fn photo(State(shared): State<Arc<Shared>>, Path(file): Path<String>) -> Response {
    let Some(employee) = file.strip_suffix(".jpg") else {
        return problem(StatusCode::NOT_FOUND, "No such photo.");
    };
    match photo_bytes(&shared, employee) {
        Some(bytes) => ([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response(),
        None => problem(StatusCode::NOT_FOUND, "No photo for this employee."),
    }
}

fn photo_bytes(shared: &Shared, employee: &str) -> Option<Bytes> {
    let slot = shared.hr().photos.get(employee).cloned()?;
    match slot {
        HrSlot::Seeded(seed) => render::seeded(seed, HR_SIDE).ok(),
        HrSlot::Uploaded(b) => Some(b),
    }
}

/// What an HR event says about the photo (PRODUCT.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HrPhotoMode {
    /// `photo.updated` with the JPEG inline (`photo.data`, base64).
    Inline,
    /// `photo.updated` with `photoUrl` on the HR system's https listener.
    Url,
    /// `photo.deleted`.
    Deleted,
}

/// The Standard Webhooks signature header value: `v1,<base64 HMAC-SHA256 of
/// "{id}.{timestamp}.{body}">`, keyed with the base64 part of a `whsec_…` secret.
pub fn standard_webhook_signature(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &str,
) -> Result<String, SandboxError> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| SandboxError::Config("webhook secret is not whsec_<base64>".into()))?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, &key);
    let tag = hmac::sign(&key, format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!("v1,{}", STANDARD.encode(tag.as_ref())))
}

impl Tenant {
    /// The HR system's photo of an employee.
    pub fn hr_photo(&self, employee_id: &str) -> Option<Bytes> {
        photo_bytes(&self.shared, employee_id)
    }

    /// Replace (or give) an employee's HR photo; any employee id, known to Entra or not.
    pub fn hr_set_photo(&self, employee_id: &str, bytes: &[u8]) {
        self.shared.hr().photos.insert(
            employee_id.to_string(),
            HrSlot::Uploaded(Bytes::copy_from_slice(bytes)),
        );
    }

    /// Remove an employee's HR photo.
    pub fn hr_delete_photo(&self, employee_id: &str) {
        self.shared.hr().photos.remove(employee_id);
    }

    /// The PRODUCT.md §5 body for an employee: `employee` keys from the Entra user with
    /// that employeeId (only `employeeId` when none), the photo as `mode` says.
    pub fn hr_event(&self, employee_id: &str, mode: HrPhotoMode) -> Result<Value, SandboxError> {
        let user = self
            .users()
            .into_iter()
            .find(|u| u.employee_id.as_deref() == Some(employee_id));
        let mut employee = json!({ "employeeId": employee_id });
        if let Some(u) = user {
            employee["userPrincipalName"] = json!(u.user_principal_name);
            if let Some(mail) = u.mail {
                employee["mail"] = json!(mail);
            }
        }
        let no_photo = || SandboxError::BadPhoto(format!("no HR photo for {employee_id}"));
        Ok(match mode {
            HrPhotoMode::Deleted => json!({"type": "photo.deleted", "employee": employee}),
            HrPhotoMode::Inline => {
                let bytes = self.hr_photo(employee_id).ok_or_else(no_photo)?;
                json!({"type": "photo.updated", "employee": employee,
                       "photo": {"contentType": "image/jpeg", "data": STANDARD.encode(&bytes)}})
            }
            HrPhotoMode::Url => {
                self.hr_photo(employee_id).ok_or_else(no_photo)?;
                let base = self.shared.tls_base_url.get().cloned().unwrap_or_default();
                json!({"type": "photo.updated", "employee": employee,
                       "photoUrl": format!("{base}/hr/photos/{employee_id}.jpg")})
            }
        })
    }

    /// POST `event` to `url` signed per Standard Webhooks with `secret` (`whsec_…`),
    /// a fresh `webhook-id` and the tenant clock's `webhook-timestamp`.
    pub async fn send_hr_event(
        &self,
        url: &str,
        secret: &str,
        event: &Value,
    ) -> Result<HrDelivery, SandboxError> {
        let webhook_id = format!("msg_{}", self.shared.request_id().replace('-', ""));
        let timestamp = self.shared.clock.unix();
        let body = event.to_string();
        let signature = standard_webhook_signature(secret, &webhook_id, timestamp, &body)?;
        let r = self
            .shared
            .notifier
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &webhook_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .timeout(std::time::Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| SandboxError::Delivery(e.to_string()))?;
        let status = r.status().as_u16();
        let body = r.text().await.unwrap_or_default();
        Ok(HrDelivery {
            webhook_id,
            timestamp,
            status,
            body,
        })
    }
}
