//! The Microsoft Graph client: users, delta, photos, `$batch`, subscriptions. Calls are
//! built here and sent by [`crate::rest`], which applies the one retry policy, the
//! timeouts and the concurrency limits.

mod batch;
mod delta;
pub mod odata;
mod pace;
mod photo;
mod policy;
mod subscriptions;
mod users;

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use reqwest::Method;

pub use batch::{BatchItem, BatchReply};
pub use delta::{DeltaPage, DeltaRound, Removed};
pub use photo::{PhotoMeta, PhotoState, MAX_UPLOAD};
pub use subscriptions::{NewSubscription, Subscription};
pub use users::{User, UserKey, UserPage, USER_SELECT};

use crate::auth::TokenSource;
use crate::config::M365Settings;
use crate::rest::{excerpt, Call, Reply, RestClient};
pub use crate::rest::{M365Error, RetryPolicy};

/// Graph's API version path.
const VERSION: &str = "v1.0";

/// A Graph request before it has a URL: the target is relative to `{graph}/v1.0`
/// (starting with `/`) or an absolute link Graph gave us.
#[derive(Debug, Clone)]
pub(crate) struct GraphCall {
    pub method: Method,
    pub target: String,
    pub body: Option<(Bytes, &'static str)>,
    pub mailbox: Option<String>,
    pub idempotent: bool,
    pub what: &'static str,
}

impl GraphCall {
    pub fn get(target: impl Into<String>, what: &'static str) -> Self {
        Self {
            method: Method::GET,
            target: target.into(),
            body: None,
            mailbox: None,
            idempotent: true,
            what,
        }
    }
}

/// The Graph client. Cheap to share behind an `Arc`.
pub struct GraphClient {
    rest: Arc<RestClient>,
    root: String,
    base: String,
    resource: String,
}

impl fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphClient")
            .field("base", &self.base)
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}

impl GraphClient {
    /// A client for the settings' Graph endpoint and audience, sending through `rest`.
    pub fn new(settings: &M365Settings, rest: Arc<RestClient>) -> Self {
        Self::with_rest(rest, &settings.graph_url, &settings.graph_resource)
    }

    /// A client from parts.
    pub fn with_rest(rest: Arc<RestClient>, graph_url: &str, resource: &str) -> Self {
        let root = graph_url.trim_end_matches('/').to_owned();
        Self {
            rest,
            base: format!("{root}/{VERSION}"),
            root,
            resource: resource.to_owned(),
        }
    }

    /// A client with its own caller (tests, one-off tools).
    pub fn standalone(
        http: reqwest::Client,
        graph_url: &str,
        resource: &str,
        tokens: Arc<dyn TokenSource>,
        policy: RetryPolicy,
        concurrency: usize,
    ) -> Self {
        let rest = RestClient::new(http, tokens, policy, concurrency, 4);
        Self::with_rest(Arc::new(rest), graph_url, resource)
    }

    /// The shared caller (its counters and policy).
    pub fn rest(&self) -> &RestClient {
        &self.rest
    }

    fn url_for(&self, target: &str) -> Result<String, M365Error> {
        if target.starts_with('/') {
            return Ok(format!("{}{target}", self.base));
        }
        // Links Graph hands back (nextLink, deltaLink) must point at Graph itself: a token
        // is never sent to another host.
        if target.starts_with(&format!("{}/", self.root)) {
            return Ok(target.to_owned());
        }
        Err(M365Error::Refused(format!(
            "refusing to follow a link outside {}: {}",
            self.root,
            excerpt(target, 80)
        )))
    }

    /// Send a Graph call through the shared caller.
    pub(crate) async fn execute(&self, call: &GraphCall) -> Result<Reply, M365Error> {
        let url = self.url_for(&call.target)?;
        let c = Call {
            service: "Graph",
            method: call.method.clone(),
            url,
            body: call.body.clone(),
            accept: None,
            mailbox: call.mailbox.clone(),
            idempotent: call.idempotent,
            what: call.what,
        };
        self.rest.execute(&c, &self.resource).await
    }
}
