//! Shared Key authorisation: the string each service signs and the HMAC over it. Blob
//! and Queue sign the verb, the standard headers, every `x-ms-*` header and the resource
//! with all its query parameters; Table signs the verb, Content-MD5, Content-Type, the
//! date and the resource with only `comp` (the "Authorize with Shared Key" rules of the
//! Azure Storage REST reference).

use aws_lc_rs::hmac;
use base64::Engine as _;

use super::account::Service;

/// What the signer needs of a request, as it will be sent.
#[derive(Debug)]
pub struct ToSign<'a> {
    /// `GET`, `PUT`, …
    pub method: &'a str,
    /// The encoded URL path as sent (`/devstoreaccount1/photos/u1.json`).
    pub path: &'a str,
    /// Query parameters, decoded.
    pub query: &'a [(String, String)],
    /// Every header as sent, names in any case.
    pub headers: &'a [(String, String)],
    /// Body length.
    pub content_length: usize,
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

/// The string to sign for `service`.
pub fn string_to_sign(service: Service, account: &str, req: &ToSign<'_>) -> String {
    let resource = format!("/{account}{}", req.path);
    match service {
        Service::Table => {
            let mut s = format!(
                "{}\n{}\n{}\n{}\n{resource}",
                req.method,
                header(req.headers, "content-md5"),
                header(req.headers, "content-type"),
                header(req.headers, "x-ms-date"),
            );
            if let Some((_, comp)) = req
                .query
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("comp"))
            {
                s.push_str("?comp=");
                s.push_str(comp);
            }
            s
        }
        Service::Blob | Service::Queue => {
            let length = if req.content_length == 0 {
                String::new()
            } else {
                req.content_length.to_string()
            };
            let mut s = String::new();
            s.push_str(req.method);
            s.push('\n');
            for name in ["content-encoding", "content-language"] {
                s.push_str(header(req.headers, name));
                s.push('\n');
            }
            s.push_str(&length);
            s.push('\n');
            for name in [
                "content-md5",
                "content-type",
                "date",
                "if-modified-since",
                "if-match",
                "if-none-match",
                "if-unmodified-since",
                "range",
            ] {
                // With x-ms-date set, Date is signed as empty.
                let value = if name == "date" {
                    ""
                } else {
                    header(req.headers, name)
                };
                s.push_str(value);
                s.push('\n');
            }
            let mut ms: Vec<(String, String)> = req
                .headers
                .iter()
                .filter(|(k, _)| k.to_ascii_lowercase().starts_with("x-ms-"))
                .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
                .collect();
            ms.sort();
            for (k, v) in ms {
                s.push_str(&k);
                s.push(':');
                s.push_str(&v);
                s.push('\n');
            }
            s.push_str(&resource);
            let mut params: std::collections::BTreeMap<String, Vec<String>> = Default::default();
            for (k, v) in req.query {
                params
                    .entry(k.to_ascii_lowercase())
                    .or_default()
                    .push(v.clone());
            }
            for (k, mut vs) in params {
                vs.sort();
                s.push('\n');
                s.push_str(&k);
                s.push(':');
                s.push_str(&vs.join(","));
            }
            s
        }
    }
}

/// `SharedKey account:signature` for a string to sign. `None` when the key is not
/// base64 (the connection string parser refuses such keys first).
pub fn authorization(account: &str, key_b64: &str, to_sign: &str) -> Option<String> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(key_b64)
        .ok()?;
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &key), to_sign.as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(tag.as_ref());
    Some(format!("SharedKey {account}:{sig}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn blob_string_has_every_field_in_order() {
        let headers = h(&[
            ("x-ms-version", "2021-12-02"),
            ("X-Ms-Date", "Mon, 01 Jan 2024 00:00:00 GMT"),
            ("Content-Type", "application/json"),
            ("x-ms-blob-type", "BlockBlob"),
            ("If-None-Match", "*"),
        ]);
        let query = vec![
            ("restype".to_string(), "container".to_string()),
            ("COMP".to_string(), "list".to_string()),
        ];
        let s = string_to_sign(
            Service::Blob,
            "acct",
            &ToSign {
                method: "PUT",
                path: "/c/a%20b.json",
                query: &query,
                headers: &headers,
                content_length: 12,
            },
        );
        assert_eq!(
            s,
            "PUT\n\n\n12\n\napplication/json\n\n\n\n*\n\n\nx-ms-blob-type:BlockBlob\nx-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\nx-ms-version:2021-12-02\n/acct/c/a%20b.json\ncomp:list\nrestype:container"
        );
    }

    #[test]
    fn zero_length_is_signed_as_empty_and_table_keeps_only_comp() {
        let headers = h(&[("x-ms-date", "D"), ("Content-Type", "application/json")]);
        let q = vec![("$filter".to_string(), "x".to_string())];
        let blob = string_to_sign(
            Service::Queue,
            "a",
            &ToSign {
                method: "GET",
                path: "/q/messages",
                query: &q,
                headers: &headers,
                content_length: 0,
            },
        );
        assert!(
            blob.starts_with("GET\n\n\n\n\napplication/json\n"),
            "{blob:?}"
        );
        let table = string_to_sign(
            Service::Table,
            "a",
            &ToSign {
                method: "GET",
                path: "/t()",
                query: &q,
                headers: &headers,
                content_length: 0,
            },
        );
        assert_eq!(table, "GET\n\napplication/json\nD\n/a/t()");
    }

    #[test]
    fn signature_is_hmac_sha256_of_the_string() {
        // HMAC-SHA256(key = "key", "The quick brown fox jumps over the lazy dog"), a
        // published test value (RFC 4231 style; widely quoted).
        let key = base64::engine::general_purpose::STANDARD.encode("key");
        let auth = authorization("a", &key, "The quick brown fox jumps over the lazy dog").unwrap();
        let expected = base64::engine::general_purpose::STANDARD.encode([
            0xf7u8, 0xbc, 0x83, 0xf4, 0x30, 0x53, 0x84, 0x24, 0xb1, 0x32, 0x98, 0xe6, 0xaa, 0x6f,
            0xb1, 0x43, 0xef, 0x4d, 0x59, 0xa1, 0x49, 0x46, 0x17, 0x59, 0x97, 0x47, 0x9d, 0xbc,
            0x2d, 0x1a, 0x3c, 0xd8,
        ]);
        assert_eq!(auth, format!("SharedKey a:{expected}"));
    }
}
