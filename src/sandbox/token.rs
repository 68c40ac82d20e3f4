//! Access tokens and external assertions: JWT-shaped `header.payload.signature`
//! (base64url JSON, HMAC-SHA256 by a per-sandbox key). Real Entra signs with RS256; our
//! client must treat tokens as opaque, so only the shape and claims matter here.

use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// Lifetime of issued access tokens (v2 endpoint reports `expires_in: 3599`).
pub(crate) const TOKEN_LIFETIME_SECS: i64 = 3599;
/// The audience an external workload-identity token must carry (m365-facts B§3.4).
pub(crate) const FEDERATED_AUDIENCE: &str = "api://AzureADTokenExchange";
/// Issuer of the tokens minted by [`crate::sandbox::Tenant::federated_token`].
pub(crate) const FEDERATED_ISSUER: &str = "https://sandbox-oidc.invalid";

/// Claims of an access token the sandbox issues (v1-style app-only token).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Claims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub tid: String,
    pub appid: String,
    pub oid: String,
    pub sub: String,
    #[serde(default)]
    pub roles: Vec<String>,
    /// "1" client secret, "2" certificate / managed identity / federated assertion.
    pub appidacr: String,
    pub idtyp: String,
    pub ver: String,
    pub uti: String,
}

/// Claims of an external OIDC token (workload identity federation).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct ExternalClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenFault {
    /// Not three base64url JSON parts.
    Malformed,
    /// Signature does not verify.
    BadSignature,
    /// `exp` passed or `nbf` not reached.
    Expired,
}

/// The signing keys of one sandbox. Debug never prints key material.
pub(crate) struct Keys {
    access: hmac::Key,
    external: hmac::Key,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys([redacted])")
    }
}

impl Keys {
    /// Fresh random keys.
    pub fn generate() -> Result<Self, String> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let access = hmac::Key::generate(hmac::HMAC_SHA256, &rng).map_err(|e| e.to_string())?;
        let external = hmac::Key::generate(hmac::HMAC_SHA256, &rng).map_err(|e| e.to_string())?;
        Ok(Self { access, external })
    }

    pub fn mint_access(&self, claims: &Claims) -> String {
        mint(&self.access, claims, "sandbox-access")
    }

    pub fn mint_external(&self, claims: &ExternalClaims) -> String {
        mint(&self.external, claims, "sandbox-oidc")
    }

    pub fn verify_access(&self, token: &str, now: i64) -> Result<Claims, TokenFault> {
        let c: Claims = verify(&self.access, token)?;
        check_time(c.nbf, c.exp, now)?;
        Ok(c)
    }

    pub fn verify_external(&self, token: &str, now: i64) -> Result<ExternalClaims, TokenFault> {
        let c: ExternalClaims = verify(&self.external, token)?;
        check_time(c.nbf, c.exp, now)?;
        Ok(c)
    }
}

fn check_time(nbf: i64, exp: i64, now: i64) -> Result<(), TokenFault> {
    // Entra allows five minutes of clock skew on nbf; expiry is exact here.
    if now >= exp || now + 300 < nbf {
        Err(TokenFault::Expired)
    } else {
        Ok(())
    }
}

fn mint<T: Serialize>(key: &hmac::Key, claims: &T, kid: &str) -> String {
    let header = serde_json::json!({"typ": "JWT", "alg": "HS256", "kid": kid});
    let h = URL_SAFE_NO_PAD.encode(header.to_string());
    let p = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{h}.{p}");
    let tag = hmac::sign(key, signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

fn verify<T: for<'de> Deserialize<'de>>(key: &hmac::Key, token: &str) -> Result<T, TokenFault> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenFault::Malformed);
    };
    let header = URL_SAFE_NO_PAD
        .decode(h)
        .map_err(|_| TokenFault::Malformed)?;
    serde_json::from_slice::<serde_json::Value>(&header).map_err(|_| TokenFault::Malformed)?;
    let payload = URL_SAFE_NO_PAD
        .decode(p)
        .map_err(|_| TokenFault::Malformed)?;
    let sig = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| TokenFault::Malformed)?;
    hmac::verify(key, format!("{h}.{p}").as_bytes(), &sig).map_err(|_| TokenFault::BadSignature)?;
    serde_json::from_slice(&payload).map_err(|_| TokenFault::Malformed)
}

/// Decode a JWT's payload without checking anything (for assertions whose signer we only
/// learn from the claims).
pub(crate) fn peek_claims(token: &str) -> Option<serde_json::Value> {
    let payload = token.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

/// Decode a JWT's header without checking anything.
pub(crate) fn peek_header(token: &str) -> Option<serde_json::Value> {
    let header = token.split('.').next()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            aud: "https://graph.microsoft.com".into(),
            iss: "https://sts.windows.net/t/".into(),
            iat: 0,
            nbf: 0,
            exp,
            tid: "t".into(),
            appid: "a".into(),
            oid: "o".into(),
            sub: "o".into(),
            roles: vec!["User.Read.All".into()],
            appidacr: "1".into(),
            idtyp: "app".into(),
            ver: "1.0".into(),
            uti: "u".into(),
        }
    }

    #[test]
    fn minted_tokens_verify_and_tampering_is_caught() {
        let keys = Keys::generate().unwrap();
        let t = keys.mint_access(&claims(100));
        assert_eq!(keys.verify_access(&t, 50).unwrap(), claims(100));
        assert_eq!(keys.verify_access(&t, 100), Err(TokenFault::Expired));
        let mut forged = t.clone();
        forged.push('A');
        assert!(keys.verify_access(&forged, 50).is_err());
        assert_eq!(keys.verify_access("abc", 50), Err(TokenFault::Malformed));
        let other = Keys::generate().unwrap();
        assert_eq!(other.verify_access(&t, 50), Err(TokenFault::BadSignature));
    }
}
