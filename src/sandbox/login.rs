//! Token endpoints: Entra's v2 client-credentials grant (secret or JWT assertion,
//! m365-facts B§3.3–3.4) on the TLS authority, and the App Service managed-identity
//! endpoint (B§3.1) on plain loopback HTTP. Error bodies follow each one's real shape.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::json;

use super::certs;
use super::rng::Rng;
use super::server::Shared;
use super::token::{
    peek_claims, peek_header, Claims, TokenFault, FEDERATED_AUDIENCE, FEDERATED_ISSUER,
    TOKEN_LIFETIME_SECS,
};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An Entra (AADSTS) error.
struct Sts {
    status: StatusCode,
    error: &'static str,
    code: u32,
    description: String,
}

fn sts(status: StatusCode, error: &'static str, code: u32, description: String) -> Sts {
    Sts {
        status,
        error,
        code,
        description,
    }
}

impl Sts {
    fn render(self, shared: &Shared) -> Response {
        let trace = shared.request_id();
        let correlation = Rng::new(shared.config.seed, trace.len() as u64 ^ 0xC0).guid();
        // Entra writes "2024-01-31 12:34:56Z".
        let timestamp = format!("{}Z", shared.clock.graph_date().replacen('T', " ", 1));
        let description = format!(
            "AADSTS{}: {} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {timestamp}",
            self.code, self.description
        );
        let body = json!({
            "error": self.error,
            "error_description": description,
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.code),
        });
        (self.status, Json(body)).into_response()
    }
}

/// Resources this tenant issues tokens for: Graph, the SharePoint hosts, and Azure
/// Storage (`https://storage.azure.com`, the audience of Blob, Queue and Table tokens),
/// which photo-sync's Azure ledger and queue ask for.
fn known_resource(shared: &Shared, resource: &str) -> Option<String> {
    let r = resource.trim_end_matches('/');
    let t = &shared.config.tenant_name;
    let sharepoint = [
        format!("https://{t}.sharepoint.com"),
        format!("https://{t}-my.sharepoint.com"),
        format!("https://{t}-admin.sharepoint.com"),
    ];
    if r == "https://graph.microsoft.com" || r == "00000003-0000-0000-c000-000000000000" {
        Some("https://graph.microsoft.com".into())
    } else if r == "https://storage.azure.com" || sharepoint.iter().any(|s| s == r) {
        Some(r.to_string())
    } else {
        None
    }
}

fn mint(shared: &Shared, resource: &str, appid: &str, oid: &str, acr: &str) -> (String, i64) {
    let now = shared.clock.unix();
    let claims = Claims {
        aud: resource.to_string(),
        iss: format!("https://sts.windows.net/{}/", shared.ids.tenant_id),
        iat: now,
        nbf: now,
        exp: now + TOKEN_LIFETIME_SECS,
        tid: shared.ids.tenant_id.clone(),
        appid: appid.to_string(),
        oid: oid.to_string(),
        sub: oid.to_string(),
        // A§4.4: SharePoint tokens carry the SharePoint app roles, Graph tokens Graph's.
        roles: if resource.contains(".sharepoint.com") {
            shared.config.granted_sharepoint_roles.clone()
        } else {
            shared.config.granted_roles.clone()
        },
        appidacr: acr.to_string(),
        idtyp: "app".into(),
        ver: "1.0".into(),
        uti: shared.request_id(),
    };
    shared
        .counters
        .tokens_issued
        .fetch_add(1, Ordering::Relaxed);
    (shared.keys.mint_access(&claims), claims.exp)
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// `POST /{tenant}/oauth2/v2.0/token` (client credentials).
pub(crate) async fn token(
    State(shared): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    match issue(&shared, &tenant, &headers, form) {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.render(&shared),
    }
}

fn issue(
    shared: &Shared,
    tenant: &str,
    headers: &HeaderMap,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Result<serde_json::Value, Sts> {
    let bad = |code, error, msg: String| sts(StatusCode::BAD_REQUEST, error, code, msg);
    let t = &shared.config.tenant_name;
    let tenant_ok = tenant.eq_ignore_ascii_case(&shared.ids.tenant_id)
        || tenant.eq_ignore_ascii_case(&format!("{t}.onmicrosoft.com"))
        || tenant.eq_ignore_ascii_case(&format!("{t}.com"));
    if !tenant_ok {
        return Err(bad(
            90002,
            "invalid_request",
            format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
        ));
    }
    let Ok(Form(pairs)) = form else {
        return Err(bad(
            900144,
            "invalid_request",
            "The request body must contain the following parameter: 'grant_type'.".into(),
        ));
    };
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let missing = |p: &str| {
        bad(
            900144,
            "invalid_request",
            format!("The request body must contain the following parameter: '{p}'."),
        )
    };
    let grant = get("grant_type").ok_or_else(|| missing("grant_type"))?;
    if grant != "client_credentials" {
        return Err(bad(
            70003,
            "unsupported_grant_type",
            format!("The app requested an unsupported grant type '{grant}'."),
        ));
    }
    // Basic auth carries client_id:client_secret (RFC 6749 §2.3.1).
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        });
    let client_id = get("client_id")
        .map(str::to_string)
        .or_else(|| basic.as_ref().map(|(id, _)| id.clone()))
        .ok_or_else(|| missing("client_id"))?;
    if client_id != shared.ids.client_id {
        return Err(bad(
            700016,
            "unauthorized_client",
            format!("Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", shared.ids.tenant_id),
        ));
    }
    let scope = get("scope").ok_or_else(|| missing("scope"))?;
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let resource = match scopes.as_slice() {
        [one] => one.strip_suffix("/.default").ok_or_else(|| {
            bad(1002012, "invalid_scope", format!("The provided value for scope {one} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."))
        })?,
        _ => {
            return Err(bad(
                70011,
                "invalid_scope",
                format!("The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."),
            ))
        }
    };
    let resource = known_resource(shared, resource).ok_or_else(|| {
        bad(500011, "invalid_resource", format!("The resource principal named {resource} was not found in the tenant named {}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", shared.config.tenant_name))
    })?;
    let unauthorized =
        |code, msg: String| sts(StatusCode::UNAUTHORIZED, "invalid_client", code, msg);
    let secret = get("client_secret")
        .map(str::to_string)
        .or_else(|| basic.map(|(_, s)| s));
    let acr = if let Some(secret) = secret {
        if !constant_time_eq(&secret, &shared.ids.client_secret) {
            return Err(unauthorized(7000215, format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'.")));
        }
        "1"
    } else if let Some(assertion) = get("client_assertion") {
        if get("client_assertion_type") != Some(JWT_BEARER) {
            return Err(missing("client_assertion_type"));
        }
        check_assertion(shared, tenant, &client_id, assertion, &unauthorized)?;
        "2"
    } else {
        return Err(unauthorized(
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.".into(),
        ));
    };
    let (access_token, _) = mint(
        shared,
        &resource,
        &client_id,
        &shared.ids.app_object_id,
        acr,
    );
    // m365-facts B§3.3: expires_in is a number; there is no expires_on.
    Ok(json!({
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_SECS,
        "ext_expires_in": TOKEN_LIFETIME_SECS,
        "access_token": access_token,
    }))
}

/// A certificate assertion (RS256 with `x5t`, m365-facts B§3.3) or a workload-identity
/// assertion minted by `Tenant::federated_token` (B§3.4).
fn check_assertion(
    shared: &Shared,
    tenant: &str,
    client_id: &str,
    assertion: &str,
    unauthorized: &dyn Fn(u32, String) -> Sts,
) -> Result<(), Sts> {
    if peek_header(assertion).is_some_and(|h| h.get("x5t").is_some()) {
        // The assertion's audience is the token URL it is sent to (or Entra's own).
        let base = shared.tls_base_url.get().map_or("", String::as_str);
        let urls = [
            format!("{base}/{tenant}/oauth2/v2.0/token"),
            format!("{base}/{}/oauth2/v2.0/token", shared.ids.tenant_id),
            format!(
                "https://login.microsoftonline.com/{}/oauth2/v2.0/token",
                shared.ids.tenant_id
            ),
        ];
        let now = shared.clock.unix();
        return certs::verify_assertion(&shared.certs(), assertion, client_id, &urls, now)
            .map_err(|(code, message)| unauthorized(code, message));
    }
    let peek = peek_claims(assertion)
        .ok_or_else(|| unauthorized(50027, "JWT token is invalid or malformed.".into()))?;
    if peek.get("iss").and_then(|v| v.as_str()) != Some(FEDERATED_ISSUER) {
        return Err(unauthorized(700027, "The certificate with identifier used to sign the client assertion is not registered on application.".into()));
    }
    let claims = match shared.keys.verify_external(assertion, shared.clock.unix()) {
        Ok(c) => c,
        Err(TokenFault::Expired) => {
            return Err(unauthorized(
                700024,
                "Client assertion is not within its valid time range.".into(),
            ))
        }
        Err(_) => {
            return Err(unauthorized(
                700027,
                "Client assertion failed signature validation.".into(),
            ))
        }
    };
    if claims.aud != FEDERATED_AUDIENCE {
        return Err(unauthorized(700212, format!("No matching federated identity record found for presented assertion audience '{}'.", claims.aud)));
    }
    if !shared.state().federated_subjects.contains(&claims.sub) {
        return Err(unauthorized(70021, format!("No matching federated identity record found for presented assertion. Assertion Issuer: '{}'. Assertion Subject: '{}'. Assertion Audience: '{}'.", claims.iss, claims.sub, claims.aud)));
    }
    Ok(())
}

/// App Service managed-identity errors: `{"statusCode","message","correlationId"}`.
fn msi_error(shared: &Shared, status: StatusCode, message: &str) -> Response {
    let body = json!({
        "statusCode": status.as_u16(),
        "message": message,
        "correlationId": shared.request_id(),
    });
    (status, Json(body)).into_response()
}

/// `GET /msi/token?resource=…&api-version=2019-08-01` with `X-IDENTITY-HEADER`.
pub(crate) async fn managed_identity(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let header = headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok());
    match header {
        None => {
            return msi_error(
                &shared,
                StatusCode::BAD_REQUEST,
                "Required header X-IDENTITY-HEADER is missing.",
            )
        }
        Some(h) if !constant_time_eq(h, &shared.ids.identity_header) => {
            return msi_error(
                &shared,
                StatusCode::UNAUTHORIZED,
                "The X-IDENTITY-HEADER value is not valid.",
            )
        }
        Some(_) => {}
    }
    if get("api-version") != Some("2019-08-01") {
        return msi_error(
            &shared,
            StatusCode::BAD_REQUEST,
            "The api-version is missing or not supported; use 2019-08-01.",
        );
    }
    let Some(requested) = get("resource") else {
        return msi_error(
            &shared,
            StatusCode::BAD_REQUEST,
            "The 'resource' query parameter is required.",
        );
    };
    let ids = &shared.ids;
    let chosen: Vec<(&str, &str)> = ["client_id", "principal_id", "object_id", "mi_res_id"]
        .iter()
        .filter_map(|k| get(k).map(|v| (*k, v)))
        .collect();
    let (client_id, object_id) = match chosen.as_slice() {
        [] => (&ids.system_mi_client_id, &ids.system_mi_object_id),
        [("client_id", v)] if v.eq_ignore_ascii_case(&ids.user_mi_client_id) => {
            (&ids.user_mi_client_id, &ids.user_mi_object_id)
        }
        [("principal_id" | "object_id", v)] if v.eq_ignore_ascii_case(&ids.user_mi_object_id) => {
            (&ids.user_mi_client_id, &ids.user_mi_object_id)
        }
        [("mi_res_id", v)] if v.eq_ignore_ascii_case(&ids.user_mi_resource_id) => {
            (&ids.user_mi_client_id, &ids.user_mi_object_id)
        }
        [_] => {
            return msi_error(
                &shared,
                StatusCode::BAD_REQUEST,
                "Unable to load requested managed identity.",
            )
        }
        _ => {
            return msi_error(
                &shared,
                StatusCode::BAD_REQUEST,
                "Only one of client_id, principal_id (object_id) or mi_res_id may be given.",
            )
        }
    };
    let Some(resource) = known_resource(&shared, requested) else {
        return msi_error(&shared, StatusCode::BAD_REQUEST, &format!("AADSTS500011: The resource principal named {requested} was not found in the tenant."));
    };
    let (access_token, exp) = mint(&shared, &resource, client_id, object_id, "2");
    // m365-facts B§3.1/B§3.5: expires_on is a *string* of epoch seconds.
    Json(json!({
        "access_token": access_token,
        "expires_on": exp.to_string(),
        "not_before": (exp - TOKEN_LIFETIME_SECS).to_string(),
        "resource": requested,
        "token_type": "Bearer",
        "client_id": client_id,
    }))
    .into_response()
}
