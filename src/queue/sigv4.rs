//! AWS Signature Version 4 (AWS4-HMAC-SHA256) for the SQS client: the canonical
//! request, the string to sign, the derived signing key and the `Authorization` header.
//! Written here rather than taken from the AWS SDK, which would bring its own HTTP and
//! TLS stacks; HMAC-SHA256 comes from `aws-lc-rs`, SHA-256 from `sha2`.

use std::fmt;

use aws_lc_rs::hmac;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use crate::config::Secret;

/// The algorithm name in the string to sign and the header.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// AWS credentials: the access key id, the secret key and, for temporary credentials
/// (Lambda's execution role), the session token. `Debug` shows the key id only.
#[derive(Clone)]
pub struct AwsCredentials {
    /// `AWS_ACCESS_KEY_ID` (not a secret: it names the key).
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`.
    pub secret_access_key: Secret,
    /// `AWS_SESSION_TOKEN`, sent as `X-Amz-Security-Token`.
    pub session_token: Option<Secret>,
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("session_token", &self.session_token.is_some())
            .finish_non_exhaustive()
    }
}

/// One request to sign. Header names may be given in any case; values are trimmed and
/// inner runs of spaces folded, as the canonical form requires.
#[derive(Debug, Clone)]
pub struct SigningInput<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The URI path, already URI-encoded (`/` for SQS's JSON protocol).
    pub path: &'a str,
    /// The canonical query string (`k=v` pairs, encoded and sorted; empty for SQS).
    pub query: &'a str,
    /// Every header to sign, `host` and `x-amz-date` included.
    pub headers: &'a [(&'a str, &'a str)],
    /// The request body.
    pub payload: &'a [u8],
}

/// Where and when a signature is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// `20150830`.
    pub date: String,
    /// `us-east-1`.
    pub region: String,
    /// `sqs`.
    pub service: String,
}

impl Scope {
    /// `DATE/REGION/SERVICE/aws4_request`.
    pub fn credential_scope(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.date, self.region, self.service
        )
    }
}

/// `20150830T123600Z`: the `X-Amz-Date` form of `t` (UTC).
pub fn amz_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> hmac::Tag {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), msg)
}

/// Header names lower-cased and sorted, values trimmed with inner spaces folded.
fn canonical_headers(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            let value = v.split_whitespace().collect::<Vec<_>>().join(" ");
            (k.trim().to_ascii_lowercase(), value)
        })
        .collect();
    out.sort();
    out
}

/// `host;x-amz-date;…`: the names of the signed headers.
pub fn signed_headers(input: &SigningInput<'_>) -> String {
    canonical_headers(input.headers)
        .into_iter()
        .map(|(k, _)| k)
        .collect::<Vec<_>>()
        .join(";")
}

/// The canonical request (method, path, query, headers, signed header names, payload
/// hash), one per line.
pub fn canonical_request(input: &SigningInput<'_>) -> String {
    let headers: String = canonical_headers(input.headers)
        .into_iter()
        .map(|(k, v)| format!("{k}:{v}\n"))
        .collect();
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        input.method,
        input.path,
        input.query,
        headers,
        signed_headers(input),
        sha256_hex(input.payload)
    )
}

/// The string to sign for `canonical` at `amz_date` in `scope`.
pub fn string_to_sign(amz_date: &str, scope: &Scope, canonical: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{}\n{}",
        scope.credential_scope(),
        sha256_hex(canonical.as_bytes())
    )
}

/// The hex signature of `to_sign` with the key derived from `secret` for `scope`.
pub fn signature(secret: &Secret, scope: &Scope, to_sign: &str) -> String {
    let k_secret = format!("AWS4{}", secret.expose());
    let k_date = hmac_sha256(k_secret.as_bytes(), scope.date.as_bytes());
    let k_region = hmac_sha256(k_date.as_ref(), scope.region.as_bytes());
    let k_service = hmac_sha256(k_region.as_ref(), scope.service.as_bytes());
    let k_signing = hmac_sha256(k_service.as_ref(), b"aws4_request");
    hex(hmac_sha256(k_signing.as_ref(), to_sign.as_bytes()).as_ref())
}

/// The `Authorization` header value for `input`, which must already carry
/// `x-amz-date: amz_date` (and `x-amz-security-token` when the credentials have one).
pub fn authorization(
    creds: &AwsCredentials,
    scope: &Scope,
    amz_date: &str,
    input: &SigningInput<'_>,
) -> String {
    let canonical = canonical_request(input);
    let to_sign = string_to_sign(amz_date, scope, &canonical);
    format!(
        "{ALGORITHM} Credential={}/{}, SignedHeaders={}, Signature={}",
        creds.access_key_id,
        scope.credential_scope(),
        signed_headers(input),
        signature(&creds.secret_access_key, scope, &to_sign)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's documented example credentials (SigV4 test suite and docs).
    fn example_creds() -> AwsCredentials {
        AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            session_token: None,
        }
    }

    /// The SigV4 test suite's `get-vanilla` case: `GET /` to example.amazonaws.com,
    /// service `service`, 2015-08-30T12:36:00Z.
    #[test]
    fn get_vanilla_matches_the_published_signature() {
        let headers = [
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
        ];
        let input = SigningInput {
            method: "GET",
            path: "/",
            query: "",
            headers: &headers,
            payload: b"",
        };
        let scope = Scope {
            date: "20150830".into(),
            region: "us-east-1".into(),
            service: "service".into(),
        };
        let canonical = canonical_request(&input);
        assert_eq!(
            canonical,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let to_sign = string_to_sign("20150830T123600Z", &scope, &canonical);
        assert_eq!(
            to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
        );
        assert_eq!(
            authorization(&example_creds(), &scope, "20150830T123600Z", &input),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    /// The SigV4 documentation's IAM example: `GET /?Action=ListUsers&Version=2010-05-08`
    /// with a form content type (canonical request hash f536975d…, signature 5d672d79…).
    #[test]
    fn the_iam_list_users_example_matches_the_docs() {
        let headers = [
            (
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
            ("Host", "iam.amazonaws.com"),
            ("X-Amz-Date", "20150830T123600Z"),
        ];
        let input = SigningInput {
            method: "GET",
            path: "/",
            query: "Action=ListUsers&Version=2010-05-08",
            headers: &headers,
            payload: b"",
        };
        let scope = Scope {
            date: "20150830".into(),
            region: "us-east-1".into(),
            service: "iam".into(),
        };
        let canonical = canonical_request(&input);
        assert_eq!(
            sha256_hex(canonical.as_bytes()),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        let to_sign = string_to_sign("20150830T123600Z", &scope, &canonical);
        assert_eq!(
            signature(&example_creds().secret_access_key, &scope, &to_sign),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn header_values_are_trimmed_and_names_sorted_lower_case() {
        let headers = [("X-Amz-Target", "  A   B "), ("content-type", "x")];
        let input = SigningInput {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            payload: b"{}",
        };
        assert_eq!(signed_headers(&input), "content-type;x-amz-target");
        assert!(canonical_request(&input).contains("content-type:x\nx-amz-target:A B\n"));
    }

    #[test]
    fn amz_date_is_basic_iso8601_utc() {
        let t = time::macros::datetime!(2015-08-30 14:36:00 +02:00);
        assert_eq!(amz_date(t), "20150830T123600Z");
    }

    #[test]
    fn debug_never_shows_the_secret_or_token() {
        let mut c = example_creds();
        c.session_token = Some(Secret::new("FQoGZXIvYXdzEXAMPLETOKEN"));
        let shown = format!("{c:?}");
        assert!(shown.contains("AKIDEXAMPLE"));
        assert!(!shown.contains("EXAMPLEKEY"));
        assert!(!shown.contains("EXAMPLETOKEN"));
    }
}
