//! Names SharePoint derives from a UPN: the thumbnail file stem (one escaping function,
//! PRODUCT.md §8) and the claims account name.

/// The file stem for a user's thumbnails: the UPN with every character that is not an
/// ASCII letter, digit, `_` or `-` replaced by `_`, as Microsoft's samples do for `@` and
/// `.` (m365-facts A§4.1: `john.doe@contoso.com` → `john_doe_contoso_com`). Other
/// characters are UNCONFIRMED there, so nothing that SharePoint forbids in a file name
/// (`" * : < > ? / \ |`), nor `#`, `%`, `'` or spaces, can reach the URL. Lower-cased,
/// since SharePoint file names are case-insensitive.
pub fn file_stem(upn: &str) -> String {
    upn.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The claims-encoded account name SharePoint's people manager expects (A§4.3).
pub fn account_name(upn: &str) -> String {
    format!("i:0#.f|membership|{upn}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_follow_microsofts_samples_and_stay_safe() {
        assert_eq!(file_stem("john.doe@contoso.com"), "john_doe_contoso_com");
        assert_eq!(
            file_stem("jo_fabrikam.com#EXT#@contoso.onmicrosoft.com"),
            "jo_fabrikam_com_ext__contoso_onmicrosoft_com"
        );
        let odd = file_stem("o'brien/../x?:*\"<>|\\ %zoë@contoso.com");
        assert!(
            odd.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "{odd}"
        );
        assert_eq!(account_name("a@b.com"), "i:0#.f|membership|a@b.com");
    }
}
