//! Certificate credentials (m365-facts B§3.3): RS256 client assertions with `x5t`, and
//! the AADSTS codes for the ways they go wrong; certificate tokens work on SharePoint.

use std::time::SystemTime;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use photo_sync::auth::CertificateAssertion;
use photo_sync::sandbox::Sandbox;
use serde_json::{json, Value};

use crate::helpers::{client, start_with, tls_client};

fn pem_der(pem: &str, label: &str) -> Vec<u8> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin).unwrap() + begin.len();
    let stop = start + pem[start..].find(&end).unwrap();
    let b64: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(b64).unwrap()
}

/// Sign an assertion ourselves, so each claim can be wrong on purpose.
fn assertion(pem: &str, header: Value, claims: Value) -> String {
    let key = RsaKeyPair::from_pkcs8(&pem_der(pem, "PRIVATE KEY")).unwrap();
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut sig = vec![0u8; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn x5t(pem: &str) -> String {
    let der = pem_der(pem, "CERTIFICATE");
    let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &der);
    URL_SAFE_NO_PAD.encode(sha1.as_ref())
}

async fn exchange(sb: &Sandbox, assertion: &str, resource: &str) -> (u16, Value) {
    let e = sb.endpoints();
    let scope = format!("{resource}/.default");
    let r = tls_client(sb)
        .post(&e.token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", e.client_id.as_str()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
            ("scope", scope.as_str()),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn code(v: &Value) -> u64 {
    v["error_codes"][0].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn certificate_assertions_get_appidacr_2_tokens_that_sharepoint_accepts() {
    let sb = start_with(10, |_| {}).await;
    let e = sb.endpoints().clone();
    let pem = e.client_certificate_pem.clone();
    assert!(!format!("{e:?}").contains("PRIVATE KEY"));
    // The product's own signer.
    let signed = CertificateAssertion::from_pem(&pem, &e.client_id, &e.token_url)
        .unwrap()
        .sign(SystemTime::now())
        .unwrap();
    let (s, v) = exchange(&sb, &signed, &e.sharepoint_resource).await;
    assert_eq!(s, 200, "{v}");
    let token = v["access_token"].as_str().unwrap();
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["appidacr"], "2");
    assert_eq!(claims["roles"], json!(["Sites.FullControl.All"]));
    let folder = format!(
        "{}/_api/web/GetFolderByServerRelativeUrl(%27User%20Photos%2FProfile%20Pictures%27)",
        e.sharepoint_mysite_url
    );
    let r = client()
        .get(folder)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    sb.shutdown().await;
}

#[tokio::test]
async fn bad_assertions_get_entra_error_codes() {
    let sb = start_with(10, |_| {}).await;
    let e = sb.endpoints().clone();
    let pem = e.client_certificate_pem.clone();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let header = json!({"alg": "RS256", "typ": "JWT", "x5t": x5t(&pem)});
    let claims = |aud: &str, exp: i64| {
        json!({"aud": aud, "iss": e.client_id, "sub": e.client_id, "jti": "j1",
               "nbf": now - 60, "iat": now - 60, "exp": exp})
    };
    let graph = "https://graph.microsoft.com";

    let good = assertion(&pem, header.clone(), claims(&e.token_url, now + 600));
    assert_eq!(exchange(&sb, &good, graph).await.0, 200);

    let expired = assertion(&pem, header.clone(), claims(&e.token_url, now - 10));
    let (s, v) = exchange(&sb, &expired, graph).await;
    assert_eq!((s, code(&v)), (401, 700024), "{v}");

    let wrong_aud = assertion(
        &pem,
        header.clone(),
        claims("https://example.com/token", now + 600),
    );
    let (s, v) = exchange(&sb, &wrong_aud, graph).await;
    assert_eq!((s, code(&v)), (401, 700023), "{v}");

    let unknown = json!({"alg": "RS256", "typ": "JWT", "x5t": URL_SAFE_NO_PAD.encode([7u8; 20])});
    let forged = assertion(&pem, unknown, claims(&e.token_url, now + 600));
    let (s, v) = exchange(&sb, &forged, graph).await;
    assert_eq!((s, code(&v)), (401, 700027), "{v}");
    assert!(v["error_description"]
        .as_str()
        .unwrap()
        .contains("The key was not found"));

    // Flip a character inside the signature (not the last: it carries padding bits).
    let at = good.len() - 10;
    let flipped = if &good[at..at + 1] == "A" { "B" } else { "A" };
    let tampered = format!("{}{flipped}{}", &good[..at], &good[at + 1..]);
    let (s, v) = exchange(&sb, &tampered, graph).await;
    assert_eq!((s, code(&v)), (401, 700027), "{v}");

    // Registering a certificate returns its thumbprint; garbage is refused.
    let other = rcgen::generate_simple_self_signed(vec!["other".into()]).unwrap();
    let thumb = sb.tenant().register_certificate(&other.cert.pem()).unwrap();
    assert_eq!(thumb, x5t(&other.cert.pem()));
    assert!(sb.tenant().register_certificate("garbage").is_err());
    sb.shutdown().await;
}
