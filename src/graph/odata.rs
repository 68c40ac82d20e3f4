//! Escaping for everything a user-supplied value can reach in a Graph URL: OData string
//! literals inside `$filter`, and URL path segments. One function each (PRODUCT.md §8).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986 unreserved characters is encoded in a path segment, so `/`,
/// `?`, `#` (guest UPNs carry `#EXT#`, m365-facts A§7), `%`, quotes and spaces can never
/// change the shape of the URL.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Query values: the same set, so `&`, `=`, `+`, `#` and `'` are all encoded.
const QUERY: &AsciiSet = SEGMENT;

/// One URL path segment: `a_b.com#EXT#@contoso.onmicrosoft.com` → `a_b.com%23EXT%23%40contoso.onmicrosoft.com`.
pub fn path_segment(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// An OData string literal: single quotes around, each `'` doubled (`O'Brien` →
/// `'O''Brien'`). The result still has to be encoded as a query value.
pub fn string_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push('\'');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// A query-string value, percent-encoded.
pub fn query_value(value: &str) -> String {
    utf8_percent_encode(value, QUERY).to_string()
}

/// `$filter=<property> eq '<value>'`, ready to append after `?` or `&`.
pub fn filter_eq(property: &str, value: &str) -> String {
    format!(
        "$filter={}",
        query_value(&format!("{property} eq {}", string_literal(value)))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_upns_keep_their_hash_in_the_path() {
        assert_eq!(
            path_segment("jo_fabrikam.com#EXT#@contoso.onmicrosoft.com"),
            "jo_fabrikam.com%23EXT%23%40contoso.onmicrosoft.com"
        );
    }

    #[test]
    fn slashes_question_marks_and_percent_cannot_escape_a_segment() {
        let s = path_segment("a/../b?c=%2F d");
        assert!(
            !s.contains('/') && !s.contains('?') && !s.contains(' '),
            "{s}"
        );
        assert_eq!(s, "a%2F..%2Fb%3Fc%3D%252F%20d");
    }

    #[test]
    fn quotes_are_doubled_in_literals() {
        assert_eq!(string_literal("O'Brien"), "'O''Brien'");
        assert_eq!(string_literal("''"), "''''''");
        assert_eq!(string_literal("Zoë"), "'Zoë'");
    }

    #[test]
    fn a_filter_is_one_encoded_query_value() {
        let f = filter_eq("mail", "o'brien+x@contoso.com");
        assert_eq!(
            f,
            "$filter=mail%20eq%20%27o%27%27brien%2Bx%40contoso.com%27"
        );
        assert!(!f[8..].contains('&') && !f[8..].contains('+'));
    }
}
