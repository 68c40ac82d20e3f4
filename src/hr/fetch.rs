//! Fetching an HR `photoUrl` without becoming a proxy into the network (PRODUCT.md §5,
//! §8): https only; the host on the allow-list; every address the name resolves to
//! checked (loopback, private, link-local incl. 169.254.169.254, CGNAT, unique-local,
//! multicast, unspecified, documentation and IPv4-mapped forms refused) and the
//! connection pinned to the checked addresses, so a DNS rebind cannot slip in; redirects
//! followed by hand (at most 3), each hop checked from scratch; a size cap while
//! streaming; one overall timeout; no cookies, no credentials.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;

use super::HrSettings;
use crate::sync::{FetchPhoto, SyncError};

/// Redirect hops followed.
const MAX_REDIRECTS: usize = 3;

/// Why a URL was refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// A rule refused the URL (never retried).
    #[error("photoUrl refused: {0}")]
    Refused(String),
    /// The server failed or was slow (may be retried).
    #[error("photoUrl fetch failed: {0}")]
    Failed(String),
}

/// True for addresses a photo must never come from.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64 (embeds IPv4)
                || (s[0] == 0x2002) // 6to4 (embeds IPv4)
                || v6.to_ipv4().is_some_and(forbidden_v4) // IPv4-compatible
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // CGNAT 100.64/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18/15
        || o[0] >= 240 // reserved
}

/// The fetcher.
#[derive(Debug, Clone)]
pub struct PhotoFetcher {
    hosts: Vec<String>,
    max_bytes: usize,
    timeout: Duration,
    trusted: Vec<SocketAddr>,
    ca: Option<reqwest::Certificate>,
}

fn host_allowed(hosts: &[String], host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    hosts.iter().any(|h| match h.strip_prefix("*.") {
        Some(suffix) => host.ends_with(&format!(".{suffix}")),
        None => *h == host,
    })
}

impl PhotoFetcher {
    /// A fetcher with the HR settings' allow-list and limits.
    pub fn new(s: &HrSettings) -> Result<Self, FetchError> {
        let ca = match &s.ca_pem {
            Some(pem) => Some(
                reqwest::Certificate::from_pem(pem.as_bytes())
                    .map_err(|e| FetchError::Refused(format!("the HR CA certificate: {e}")))?,
            ),
            None => None,
        };
        Ok(Self {
            hosts: s.photo_hosts.clone(),
            max_bytes: s.photo_max_bytes,
            timeout: Duration::from_secs(s.photo_timeout_secs.max(1)),
            trusted: s.trusted.clone(),
            ca,
        })
    }

    /// Checks one URL and returns the addresses to connect to.
    async fn check(&self, url: &reqwest::Url) -> Result<(String, Vec<SocketAddr>), FetchError> {
        if url.scheme() != "https" {
            return Err(FetchError::Refused(format!(
                "{} is not https",
                url.scheme()
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FetchError::Refused("credentials in the URL".into()));
        }
        let host = url
            .host_str()
            .ok_or_else(|| FetchError::Refused("no host".into()))?
            .to_string();
        if !host_allowed(&self.hosts, &host) {
            return Err(FetchError::Refused(format!(
                "host {host} is not in PHOTOSYNC_HR_PHOTO_HOSTS"
            )));
        }
        let port = url.port_or_known_default().unwrap_or(443);
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((bare, port))
                .await
                .map_err(|e| FetchError::Failed(format!("cannot resolve {host}: {e}")))?
                .collect(),
        };
        if addrs.is_empty() {
            return Err(FetchError::Failed(format!("{host} resolves to nothing")));
        }
        for a in &addrs {
            if is_forbidden(a.ip()) && !self.trusted.contains(a) {
                return Err(FetchError::Refused(format!(
                    "{host} resolves to {}, a private, loopback or link-local address",
                    a.ip()
                )));
            }
        }
        Ok((bare.to_string(), addrs))
    }

    /// Fetches the photo at `url` under every rule above.
    pub async fn get(&self, url: &str) -> Result<Bytes, FetchError> {
        tokio::time::timeout(self.timeout, self.get_inner(url))
            .await
            .map_err(|_| {
                FetchError::Failed(format!(
                    "no complete answer within {} s",
                    self.timeout.as_secs()
                ))
            })?
    }

    async fn get_inner(&self, url: &str) -> Result<Bytes, FetchError> {
        let mut url =
            reqwest::Url::parse(url).map_err(|e| FetchError::Refused(format!("not a URL: {e}")))?;
        for _ in 0..=MAX_REDIRECTS {
            let (host, addrs) = self.check(&url).await?;
            let mut builder = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .timeout(self.timeout)
                .resolve_to_addrs(&host, &addrs);
            if let Some(ca) = &self.ca {
                builder = builder.add_root_certificate(ca.clone());
            }
            let client = builder
                .build()
                .map_err(|e| FetchError::Failed(e.to_string()))?;
            let resp = client
                .get(url.clone())
                .send()
                .await
                .map_err(|e| FetchError::Failed(format!("{e}")))?;
            let status = resp.status();
            if status.is_redirection() {
                let next = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| FetchError::Failed(format!("{status} without Location")))?;
                url = url
                    .join(next)
                    .map_err(|e| FetchError::Refused(format!("bad redirect: {e}")))?;
                continue;
            }
            if !status.is_success() {
                return Err(FetchError::Failed(format!(
                    "the HR server answered {status}"
                )));
            }
            if resp
                .content_length()
                .is_some_and(|n| n > self.max_bytes as u64)
            {
                return Err(FetchError::Refused(format!(
                    "the photo is over {} bytes",
                    self.max_bytes
                )));
            }
            let mut out = Vec::new();
            let mut body = resp.bytes_stream();
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| FetchError::Failed(e.to_string()))?;
                if out.len() + chunk.len() > self.max_bytes {
                    return Err(FetchError::Refused(format!(
                        "the photo is over {} bytes",
                        self.max_bytes
                    )));
                }
                out.extend_from_slice(&chunk);
            }
            return Ok(Bytes::from(out));
        }
        Err(FetchError::Refused(format!(
            "more than {MAX_REDIRECTS} redirects"
        )))
    }
}

#[async_trait::async_trait]
impl FetchPhoto for PhotoFetcher {
    async fn fetch(&self, url: &str) -> Result<Bytes, SyncError> {
        self.get(url).await.map_err(|e| SyncError::Fetch {
            retryable: matches!(e, FetchError::Failed(_)),
            reason: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_addresses() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "198.18.0.1",
        ] {
            assert!(is_forbidden(a.parse().expect(a)), "{a}");
        }
        for a in ["20.190.128.1", "52.96.0.1", "2603:1036::1", "8.8.8.8"] {
            assert!(!is_forbidden(a.parse().expect(a)), "{a}");
        }
    }

    #[test]
    fn allow_list_with_wildcards() {
        let hosts = vec![
            "hr.example.com".to_string(),
            "*.photos.example.net".to_string(),
        ];
        assert!(host_allowed(&hosts, "HR.example.com"));
        assert!(host_allowed(&hosts, "a.photos.example.net"));
        assert!(!host_allowed(&hosts, "photos.example.net"));
        assert!(!host_allowed(&hosts, "hr.example.com.evil.test"));
        assert!(!host_allowed(&hosts, "evilhr.example.com"));
    }
}
