//! Certificate credentials without OpenSSL: a client assertion JWT (RS256, `x5t`
//! thumbprint) signed with the app's certificate key, as the Microsoft identity platform's
//! certificate-credential format describes; azure_identity's `ClientAssertionCredential`
//! sends it. SharePoint app-only accepts nothing else (m365-facts A§4.4).

use std::fmt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use azure_core::http::ClientMethodOptions;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

use super::AuthError;

/// Signs a fresh assertion for every token request.
pub struct CertificateAssertion {
    key: RsaKeyPair,
    thumbprint: String,
    client_id: String,
    audience: String,
}

impl fmt::Debug for CertificateAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAssertion")
            .field("x5t", &self.thumbprint)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl CertificateAssertion {
    /// Read a PEM file holding the certificate and its PKCS#8 RSA private key.
    pub fn from_pem_file(path: &Path, client_id: &str, token_url: &str) -> Result<Self, AuthError> {
        let pem = std::fs::read_to_string(path).map_err(|e| {
            AuthError::Certificate(format!(
                "cannot read {}: {e} (AZURE_CLIENT_CERTIFICATE_PATH)",
                path.display()
            ))
        })?;
        Self::from_pem(&pem, client_id, token_url)
    }

    /// From PEM text (certificate + `PRIVATE KEY`).
    pub fn from_pem(pem: &str, client_id: &str, token_url: &str) -> Result<Self, AuthError> {
        let cert = pem_block(pem, "CERTIFICATE")
            .ok_or_else(|| AuthError::Certificate("no CERTIFICATE block in the PEM file".into()))?;
        let key = pem_block(pem, "PRIVATE KEY").ok_or_else(|| {
            AuthError::Certificate("no PKCS#8 PRIVATE KEY block in the PEM file (convert with openssl pkcs8 -topk8 -nocrypt)".into())
        })?;
        let key = RsaKeyPair::from_pkcs8(&key).map_err(|_| {
            AuthError::Certificate("the private key is not a usable PKCS#8 RSA key".into())
        })?;
        let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &cert);
        Ok(Self {
            key,
            thumbprint: URL_SAFE_NO_PAD.encode(sha1.as_ref()),
            client_id: client_id.to_owned(),
            audience: token_url.to_owned(),
        })
    }

    /// A signed assertion valid for ten minutes from `now`.
    pub fn sign(&self, now: SystemTime) -> Result<String, AuthError> {
        let t = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": self.thumbprint});
        let mut jti = [0u8; 16];
        aws_lc_rs::rand::fill(&mut jti)
            .map_err(|_| AuthError::Certificate("no randomness".into()))?;
        let claims = serde_json::json!({
            "aud": self.audience, "iss": self.client_id, "sub": self.client_id,
            "jti": hex(&jti), "nbf": t, "iat": t, "exp": t + 600,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| AuthError::Certificate("signing the assertion failed".into()))?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }
}

#[async_trait::async_trait]
impl azure_identity::ClientAssertion for CertificateAssertion {
    async fn secret(
        &self,
        _options: Option<ClientMethodOptions<'_>>,
    ) -> azure_core::Result<String> {
        self.sign(SystemTime::now()).map_err(|e| {
            azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, e.to_string())
        })
    }
}

/// The DER bytes of the first `-----BEGIN {label}-----` block.
fn pem_block(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let body: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(body).ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pem_without_a_key_says_so() {
        let e = CertificateAssertion::from_pem(
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
            "c",
            "u",
        )
        .unwrap_err();
        assert!(e.to_string().contains("PRIVATE KEY"), "{e}");
        let e = CertificateAssertion::from_pem("garbage", "c", "u").unwrap_err();
        assert!(e.to_string().contains("CERTIFICATE"), "{e}");
    }
}
