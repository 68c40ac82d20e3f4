//! `GET /users` (paged, `$top` ≤ 999, `$select`, `$filter`) and `GET /users/{id|UPN}`,
//! answered as Graph v1.0 does: default property set, `@odata.context`, absolute
//! `@odata.nextLink` carrying an opaque `$skiptoken`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{Map, Value};

use super::auth_check::{Caller, Denied, DIRECTORY_READ};
use super::error::GraphFault;
use super::odata::{self, Filter, Literal, DEFAULT_SELECT};
use super::server::Shared;
use super::tenant::SandboxUser;

/// Characters left as they are in a query value we write.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'$')
    .remove(b',');

pub(crate) const DEFAULT_TOP: usize = 100;
pub(crate) const MAX_TOP: usize = 999;

/// One property of a user as Graph writes it.
pub(crate) fn prop(u: &SandboxUser, name: &str) -> Value {
    let opt = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
    match name {
        "id" => Value::String(u.id.clone()),
        "displayName" => Value::String(u.display_name.clone()),
        "userPrincipalName" => Value::String(u.user_principal_name.clone()),
        "mail" => opt(&u.mail),
        "employeeId" => opt(&u.employee_id),
        "givenName" => opt(&u.given_name),
        "surname" => opt(&u.surname),
        "jobTitle" => opt(&u.job_title),
        "userType" => Value::String(u.user_type.clone()),
        "accountEnabled" => Value::Bool(u.account_enabled),
        "businessPhones" => Value::Array(Vec::new()),
        _ => Value::Null,
    }
}

/// A user as JSON with the selected (or default) properties.
pub(crate) fn user_json(u: &SandboxUser, select: Option<&[String]>) -> Map<String, Value> {
    let mut m = Map::new();
    match select {
        Some(props) => {
            for p in props {
                m.insert(p.clone(), prop(u, p));
            }
        }
        None => {
            for p in DEFAULT_SELECT {
                m.insert((*p).to_string(), prop(u, p));
            }
        }
    }
    m
}

/// Does the user match the filter? Directory string comparisons ignore case.
pub(crate) fn matches(u: &SandboxUser, f: &Filter) -> bool {
    match f {
        Filter::And(a, b) => matches(u, a) && matches(u, b),
        Filter::Or(a, b) => matches(u, a) || matches(u, b),
        Filter::Eq(p, lit) => match (prop(u, p), lit) {
            (Value::String(v), Literal::Str(s)) => v.to_lowercase() == s.to_lowercase(),
            (Value::Bool(v), Literal::Bool(b)) => v == *b,
            (Value::Null, Literal::Null) => true,
            _ => false,
        },
        Filter::StartsWith(p, s) => match prop(u, p) {
            Value::String(v) => v.to_lowercase().starts_with(&s.to_lowercase()),
            _ => false,
        },
    }
}

/// `@odata.context` for a users collection or entity.
pub(crate) fn context(select: Option<&[String]>, entity: bool) -> String {
    let sel = select.map_or(String::new(), |s| format!("({})", s.join(",")));
    let tail = if entity { "/$entity" } else { "" };
    format!("https://graph.microsoft.com/v1.0/$metadata#users{sel}{tail}")
}

/// Reject query options the sandbox (and mostly Graph without ConsistencyLevel) refuses.
fn unsupported(pairs: &[(String, String)]) -> Result<(), GraphFault> {
    for key in ["$orderby", "$search", "$expand", "$count", "$skip"] {
        if odata::option(pairs, key).is_some() {
            return Err(GraphFault::new(
                StatusCode::BAD_REQUEST,
                "Request_UnsupportedQuery",
                format!("The query option '{key}' is not supported by the sandbox tenant."),
            ));
        }
    }
    Ok(())
}

/// Parse `$top` (1..=999, m365-facts: page size raised to 999 in 2023).
pub(crate) fn top(pairs: &[(String, String)]) -> Result<usize, GraphFault> {
    match odata::option(pairs, "$top") {
        None => Ok(DEFAULT_TOP),
        Some(raw) => match raw.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_TOP).contains(&n) => Ok(n),
            _ => Err(GraphFault::bad_request(format!(
                "Invalid page size specified: '{raw}'. Must be between 1 and 999 inclusive."
            ))),
        },
    }
}

/// The same query with `$skiptoken` replaced.
pub(crate) fn next_link(base: &str, pairs: &[(String, String)], key: &str, token: &str) -> String {
    let mut q: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken") && !k.eq_ignore_ascii_case(key))
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY_VALUE)))
        .collect();
    q.push(format!("{key}={token}"));
    format!("{base}?{}", q.join("&"))
}

fn expired_page_token() -> GraphFault {
    GraphFault::new(
        StatusCode::BAD_REQUEST,
        "Directory_ExpiredPageToken",
        "The specified page token value has expired and can no longer be included in your \
         request.",
    )
}

/// `GET /users`.
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    uri: Uri,
) -> Result<Json<Value>, GraphFault> {
    caller.require(DIRECTORY_READ, Denied::Directory)?;
    let pairs = odata::query_pairs(uri.query());
    unsupported(&pairs)?;
    let top = top(&pairs)?;
    let select = odata::select(odata::option(&pairs, "$select"))?;
    let filter = odata::option(&pairs, "$filter")
        .map(odata::filter)
        .transpose()?;
    let after = match odata::option(&pairs, "$skiptoken") {
        None => None,
        Some(t) => Some(
            URL_SAFE_NO_PAD
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(expired_page_token)?,
        ),
    };
    let page: Vec<SandboxUser> = {
        let s = shared.state();
        let range = match &after {
            Some(a) => s
                .users
                .range::<String, _>((std::ops::Bound::Excluded(a), std::ops::Bound::Unbounded)),
            None => s.users.range::<String, _>(..),
        };
        range
            .map(|(_, r)| &r.user)
            .filter(|u| filter.as_ref().is_none_or(|f| matches(u, f)))
            .take(top + 1)
            .cloned()
            .collect()
    };
    let more = page.len() > top;
    let values: Vec<Value> = page
        .iter()
        .take(top)
        .map(|u| Value::Object(user_json(u, select.as_deref())))
        .collect();
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        Value::String(context(select.as_deref(), false)),
    );
    if more {
        if let Some(last) = page.get(top - 1) {
            let token = URL_SAFE_NO_PAD.encode(&last.id);
            let base = format!("{}/users", shared.graph_base());
            body.insert(
                "@odata.nextLink".into(),
                Value::String(next_link(&base, &pairs, "$skiptoken", &token)),
            );
        }
    }
    body.insert("value".into(), Value::Array(values));
    Ok(Json(Value::Object(body)))
}

/// `GET /users/{id | userPrincipalName}`.
pub(crate) async fn get_one(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Path(key): Path<String>,
    uri: Uri,
) -> Result<Json<Value>, GraphFault> {
    caller.require(DIRECTORY_READ, Denied::Directory)?;
    let pairs = odata::query_pairs(uri.query());
    let select = odata::select(odata::option(&pairs, "$select"))?;
    let user = {
        let s = shared.state();
        s.resolve(&key)
            .and_then(|id| s.users.get(&id).map(|r| r.user.clone()))
    }
    .ok_or_else(|| GraphFault::user_not_found(&key))?;
    let mut body = user_json(&user, select.as_deref());
    body.insert(
        "@odata.context".into(),
        Value::String(context(select.as_deref(), true)),
    );
    Ok(Json(Value::Object(body)))
}
