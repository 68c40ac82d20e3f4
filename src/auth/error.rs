//! Token errors, each with what to check. Built from `azure_core` errors by reading the
//! Entra error code (`AADSTS…`) or the failure kind; never carries a token or secret.

/// Why no token could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The settings are incomplete for the chosen credential.
    #[error("credential settings: {0}")]
    Config(String),
    /// The certificate file could not be used.
    #[error("client certificate: {0}")]
    Certificate(String),
    /// The token endpoint could not be reached, or did not answer in time.
    #[error("token endpoint unreachable while getting a token for {resource}: {detail} — {hint}")]
    Unreachable {
        /// The audience asked for.
        resource: String,
        /// What failed.
        detail: String,
        /// What to check.
        hint: &'static str,
    },
    /// The identity platform refused.
    #[error("token refused for {resource}{code}: {hint} ({detail})", code = .code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Refused {
        /// The audience asked for.
        resource: String,
        /// Entra's error code (`AADSTS7000215`) when there is one.
        code: Option<String>,
        /// HTTP status, when known.
        status: Option<u16>,
        /// What to check.
        hint: &'static str,
        /// The platform's own words (first line).
        detail: String,
    },
}

impl AuthError {
    /// Worth trying again later (the endpoint was down or throttling).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unreachable { .. } => true,
            Self::Refused { status, .. } => matches!(status, Some(429) | Some(500..=599)),
            _ => false,
        }
    }

    /// Map an azure_core error met while getting a token for `resource`.
    pub fn from_azure(e: &azure_core::Error, resource: &str) -> Self {
        use azure_core::error::ErrorKind;
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        let detail = first_line(&text);
        let status = match e.kind() {
            ErrorKind::HttpResponse { status, .. } => Some(u16::from(*status)),
            _ => None,
        };
        let unreachable = matches!(e.kind(), ErrorKind::Connection | ErrorKind::Io)
            || [
                "connection refused",
                "error sending request",
                "timed out",
                "dns error",
                "tcp connect",
            ]
            .iter()
            .any(|p| text.to_ascii_lowercase().contains(p));
        if unreachable {
            return Self::Unreachable {
                resource: resource.to_owned(),
                detail,
                hint: "check IDENTITY_ENDPOINT (managed identity is on for this app?) or AZURE_AUTHORITY_HOST and outbound network",
            };
        }
        let code = aadsts_code(&text);
        Self::Refused {
            resource: resource.to_owned(),
            hint: hint_for(code.as_deref(), &text),
            code,
            status,
            detail,
        }
    }
}

/// The first `AADSTS<digits>` in the text.
fn aadsts_code(text: &str) -> Option<String> {
    let at = text.find("AADSTS")?;
    let digits: String = text[at + 6..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!digits.is_empty()).then(|| format!("AADSTS{digits}"))
}

fn hint_for(code: Option<&str>, text: &str) -> &'static str {
    match code {
        Some("AADSTS7000215") | Some("AADSTS7000222") => {
            "the client secret is wrong or expired: create a new one and update AZURE_CLIENT_SECRET"
        }
        Some("AADSTS700016") => {
            "no such application in this tenant: check AZURE_CLIENT_ID and AZURE_TENANT_ID"
        }
        Some("AADSTS90002") | Some("AADSTS900023") => "tenant not found: check AZURE_TENANT_ID",
        Some("AADSTS500011") | Some("AADSTS70011") | Some("AADSTS1002012") => {
            "wrong audience or scope: check PHOTOSYNC_CLOUD and the SharePoint host settings"
        }
        Some("AADSTS700027") | Some("AADSTS700024") => {
            "the client assertion was refused: check the certificate registered on the app, or the federated credential's issuer, subject and audience"
        }
        Some("AADSTS70021") | Some("AADSTS700213") => {
            "no matching federated identity credential: check its issuer and subject on the app registration"
        }
        _ if text.contains("Unable to load") || text.contains("identity not found") => {
            "the user-assigned identity is not attached to this app: check AZURE_CLIENT_ID against the identities assigned to it"
        }
        _ => "check the credential settings and that the app has been granted admin consent",
    }
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("");
    let mut out: String = line.chars().take(300).collect();
    if line.chars().count() > 300 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_codes_become_hints() {
        assert_eq!(
            aadsts_code("ClientSecretCredential: AADSTS7000215: Invalid client secret provided."),
            Some("AADSTS7000215".into())
        );
        assert!(hint_for(Some("AADSTS7000215"), "").contains("AZURE_CLIENT_SECRET"));
        assert!(hint_for(Some("AADSTS90002"), "").contains("AZURE_TENANT_ID"));
        assert_eq!(aadsts_code("no code here"), None);
    }

    #[test]
    fn connection_failures_are_retryable_refusals_are_not() {
        let e = azure_core::Error::with_message(
            azure_core::error::ErrorKind::Connection,
            "connection refused",
        );
        let a = AuthError::from_azure(&e, "https://graph.microsoft.com");
        assert!(a.is_retryable(), "{a}");
        assert!(a.to_string().contains("IDENTITY_ENDPOINT"), "{a}");
        let e = azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            "AADSTS700016: Application with identifier 'x' was not found",
        );
        let a = AuthError::from_azure(&e, "https://graph.microsoft.com");
        assert!(!a.is_retryable());
        assert!(a.to_string().contains("AZURE_CLIENT_ID"), "{a}");
    }
}
