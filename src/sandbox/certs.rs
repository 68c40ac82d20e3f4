//! Certificate credentials (m365-facts B§3.3): the app's registered certificates, keyed
//! by `x5t` (base64url SHA-1 of the DER), and the check of an RS256 `client_assertion`
//! signed with one of them, answering with Entra's AADSTS codes. SharePoint app-only
//! accepts nothing but certificate-based tokens (A§4.4).

use std::collections::HashMap;
use std::sync::OnceLock;

use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::Value;

/// One registered certificate: its public key (SubjectPublicKeyInfo DER).
#[derive(Clone)]
pub(crate) struct Registered {
    spki: Vec<u8>,
}

/// The certificates registered on the app, by thumbprint (`x5t`).
#[derive(Default)]
pub(crate) struct Registry {
    by_x5t: HashMap<String, Registered>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("certificates", &self.by_x5t.len())
            .finish()
    }
}

impl Registry {
    /// Register a PEM certificate (any extra blocks, such as its key, are ignored);
    /// returns its `x5t`.
    pub fn register(&mut self, pem: &str) -> Result<String, String> {
        let der = pem_block(pem, "CERTIFICATE").ok_or("no CERTIFICATE block in the PEM")?;
        let spki = subject_public_key_info(&der)
            .ok_or("the certificate is not DER the sandbox can read")?
            .to_vec();
        let x5t = thumbprint(&der);
        self.by_x5t.insert(x5t.clone(), Registered { spki });
        Ok(x5t)
    }
}

/// Why an assertion was refused: (AADSTS code, description).
pub(crate) type Refusal = (u32, String);

/// Check an RS256 client assertion (m365-facts B§3.3; Entra's certificate-credentials
/// format): known `x5t`, a valid signature, `aud` = the token URL, `iss` = `sub` =
/// client id, `exp` in the future.
pub(crate) fn verify_assertion(
    registry: &Registry,
    assertion: &str,
    client_id: &str,
    token_urls: &[String],
    now: i64,
) -> Result<(), Refusal> {
    let malformed = || (50027, "JWT token is invalid or malformed.".to_string());
    let mut parts = assertion.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let header: Value = decode_json(h).ok_or_else(malformed)?;
    let claims: Value = decode_json(p).ok_or_else(malformed)?;
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| malformed())?;
    let x5t = header.get("x5t").and_then(Value::as_str).unwrap_or("");
    let hex_thumb = URL_SAFE_NO_PAD
        .decode(x5t)
        .map(|b| b.iter().map(|x| format!("{x:02X}")).collect::<String>())
        .unwrap_or_default();
    let Some(cert) = registry.by_x5t.get(x5t) else {
        return Err((700027, format!("Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '{hex_thumb}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'.]")));
    };
    let signing_input = format!("{h}.{p}");
    let key = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &cert.spki);
    if header.get("alg").and_then(Value::as_str) != Some("RS256")
        || key.verify(signing_input.as_bytes(), &sig).is_err()
    {
        return Err((700027, format!("Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{hex_thumb}']")));
    }
    let text = |k: &str| claims.get(k).and_then(Value::as_str).unwrap_or("");
    let aud = text("aud");
    if !token_urls.iter().any(|u| u.eq_ignore_ascii_case(aud)) {
        return Err((700023, "Client assertion audience claim does not match Realm issuer. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials.".into()));
    }
    if text("iss") != client_id || text("sub") != client_id {
        return Err((700021, "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials.".into()));
    }
    let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    let nbf = claims.get("nbf").and_then(Value::as_i64).unwrap_or(0);
    // Entra allows five minutes of clock skew on nbf.
    if now >= exp || now + 300 < nbf {
        return Err((700024, format!("Client assertion is not within its valid time range. Current time: {now}, assertion valid from {nbf}, expiry time of assertion {exp}.")));
    }
    Ok(())
}

/// A process-wide certificate and PKCS#8 RSA key (PEM, both blocks): RSA 2048 key
/// generation is slow, so every sandbox of a process shares one.
pub(crate) fn shared_client_certificate() -> Result<String, String> {
    static PEM: OnceLock<Result<String, String>> = OnceLock::new();
    PEM.get_or_init(|| {
        let key =
            rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
                .map_err(|e| e.to_string())?;
        let params = rcgen::CertificateParams::new(vec!["photo-sync-sandbox-app".to_string()])
            .map_err(|e| e.to_string())?;
        let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
        Ok(format!("{}{}", cert.pem(), key.serialize_pem()))
    })
    .clone()
}

impl super::tenant::Tenant {
    /// Register a certificate (PEM; extra blocks such as its key are ignored) on the app,
    /// as an admin uploading it in the portal would; returns its `x5t` thumbprint.
    pub fn register_certificate(&self, pem: &str) -> Result<String, super::SandboxError> {
        self.shared
            .certs()
            .register(pem)
            .map_err(super::SandboxError::Config)
    }
}

/// base64url SHA-1 of the certificate DER: the `x5t` header value.
pub(crate) fn thumbprint(der: &[u8]) -> String {
    let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, der);
    URL_SAFE_NO_PAD.encode(sha1.as_ref())
}

fn decode_json(part: &str) -> Option<Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

/// The DER bytes of the first `-----BEGIN {label}-----` block.
fn pem_block(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem.get(start..)?.find(&end)?;
    let body: String = pem
        .get(start..stop)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(body).ok()
}

/// One DER element: its tag, the whole element, its contents, and what follows it.
struct Tlv<'a> {
    tag: u8,
    whole: &'a [u8],
    contents: &'a [u8],
    rest: &'a [u8],
}

/// The DER element at the start of `input`.
fn tlv(input: &[u8]) -> Option<Tlv<'_>> {
    let tag = *input.first()?;
    let first = *input.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for b in input.get(2..2 + n)? {
            len = (len << 8) | usize::from(*b);
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len)?;
    Some(Tlv {
        tag,
        whole: input.get(..end)?,
        contents: input.get(header..end)?,
        rest: input.get(end..)?,
    })
}

/// The SubjectPublicKeyInfo of an X.509 certificate (RFC 5280 §4.1): the seventh element
/// of tbsCertificate when the `[0]` version is present, the sixth otherwise.
fn subject_public_key_info(cert: &[u8]) -> Option<&[u8]> {
    let certificate = tlv(cert)?.contents;
    let mut tbs = tlv(certificate)?.contents;
    if tbs.first() == Some(&0xA0) {
        tbs = tlv(tbs)?.rest;
    }
    // serialNumber, signature, issuer, validity, subject
    for _ in 0..5 {
        tbs = tlv(tbs)?.rest;
    }
    let spki = tlv(tbs)?;
    (spki.tag == 0x30).then_some(spki.whole)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_certificate_registers_and_garbage_does_not() {
        let pem = shared_client_certificate().unwrap();
        let mut r = Registry::default();
        let x5t = r.register(&pem).unwrap();
        assert_eq!(x5t.len(), 27);
        assert!(r.register("nope").is_err());
        assert!(subject_public_key_info(&[0x30, 0x85, 0, 0, 0, 0, 0]).is_none());
        assert!(tlv(&[0x30, 0x05, 1]).is_none());
    }
}
