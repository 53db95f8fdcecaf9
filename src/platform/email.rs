//! E-mail addresses, parsed once at the edge.

use crate::error::Invalid;

/// A syntactically valid e-mail address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(text: &str) -> Result<EmailAddress, Invalid> {
        let normalized = text.trim().to_lowercase();
        if normalized.len() > 254 || !email_address::EmailAddress::is_valid(&normalized) {
            return Err(Invalid::EmailInvalid);
        }
        // `email_address` accepts dot-less domains ("a@localhost"); people's inboxes have a dot.
        let domain = normalized.rsplit('@').next().unwrap_or_default();
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
            return Err(Invalid::EmailInvalid);
        }
        Ok(EmailAddress(normalized))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before `@`, used as a default display name.
    pub fn local_part(&self) -> &str {
        self.0.split('@').next().unwrap_or_default()
    }
}

impl std::fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_addresses_are_normalized() {
        let email = EmailAddress::parse("  Jana.Novakova@Example.CZ ").unwrap();
        assert_eq!(email.as_str(), "jana.novakova@example.cz");
        assert_eq!(email.local_part(), "jana.novakova");
    }

    #[test]
    fn invalid_addresses_are_refused() {
        for text in [
            "",
            "jana",
            "jana@",
            "@example.cz",
            "a b@example.cz",
            "jana@localhost",
            "a@@b.cz",
        ] {
            assert_eq!(
                EmailAddress::parse(text),
                Err(Invalid::EmailInvalid),
                "{text:?}"
            );
        }
    }
}
