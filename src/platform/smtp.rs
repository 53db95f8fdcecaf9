//! The SMTP connection (lettre): `SMTP_URL` and `EMAIL_FROM` parsed at the edge, sending, and
//! the server's refusals turned into a [`SmtpProblem`] a user can act on.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use url::Url;

use crate::model::SmtpProblem;

/// How the connection to the SMTP server is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtps://`: TLS from the first byte (port 465).
    Implicit,
    /// `STARTTLS`, and refuse to go on without it (the default with a password).
    StartTls,
    /// `STARTTLS` when the server offers it (the default without a password).
    Opportunistic,
    /// `?tls=none`: plain text (a relay on the same machine).
    None,
}

/// `SMTP_URL` and `EMAIL_FROM`, checked.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    credentials: Option<(String, String)>,
    pub from: Mailbox,
}

impl std::fmt::Debug for SmtpSettings {
    // The password stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl SmtpSettings {
    /// `smtp://user:pass@host:587` (STARTTLS required), `smtps://user:pass@host:465` (TLS),
    /// `smtp://host:25` (no login; STARTTLS if offered). `?tls=required|opportunistic|none`
    /// overrides the default of an `smtp://` URL.
    pub fn parse(url: &str, from: &str) -> Result<SmtpSettings, String> {
        let parsed = Url::parse(url.trim()).map_err(|error| {
            format!("SMTP_URL must look like smtp://user:password@host:587 ({error})")
        })?;
        let host = parsed
            .host_str()
            .filter(|host| !host.is_empty())
            .ok_or("SMTP_URL must name a host, like smtp://user:password@host:587")?
            .to_string();
        let decode = |text: &str| {
            percent_encoding::percent_decode_str(text)
                .decode_utf8()
                .map(|decoded| decoded.into_owned())
                .map_err(|_| "SMTP_URL's user or password is not valid UTF-8")
        };
        let credentials = match (parsed.username(), parsed.password()) {
            ("", None) => None,
            (user, password) => Some((decode(user)?, decode(password.unwrap_or_default())?)),
        };
        let tls = parsed
            .query_pairs()
            .find(|(name, _)| name == "tls")
            .map(|(_, value)| value.into_owned());
        let (security, default_port) = match (parsed.scheme(), tls.as_deref()) {
            ("smtps", None) => (Security::Implicit, 465),
            ("smtp", None) if credentials.is_some() => (Security::StartTls, 587),
            ("smtp", None) => (Security::Opportunistic, 25),
            ("smtp", Some("required")) => (Security::StartTls, 587),
            ("smtp", Some("opportunistic")) => (Security::Opportunistic, 25),
            ("smtp", Some("none")) => (Security::None, 25),
            ("smtp", Some(other)) => {
                return Err(format!(
                    "SMTP_URL's tls= must be required, opportunistic or none, got {other:?}"
                ));
            }
            ("smtps", Some(_)) => {
                return Err(
                    "SMTP_URL: smtps:// is TLS from the start; tls= applies to smtp:// only".into(),
                );
            }
            (scheme, _) => {
                return Err(format!(
                    "SMTP_URL must start with smtp:// or smtps://, got {scheme}://"
                ));
            }
        };
        let from = from.trim().parse::<Mailbox>().map_err(|_| {
            format!("EMAIL_FROM must be an address like \"fapi-bridge <bridge@example.cz>\", got {from:?}")
        })?;
        Ok(SmtpSettings {
            host,
            port: parsed.port().unwrap_or(default_port),
            security,
            credentials,
            from,
        })
    }

    /// `host:port`, for the E-mails page.
    pub fn server(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Sends e-mail through the configured SMTP server; a new connection for each message (alerts
/// are rare, and a pooled connection would go stale between them).
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    pub settings: SmtpSettings,
}

/// Why a message was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub problem: SmtpProblem,
    /// The server's own answer, or the connection's error.
    pub detail: String,
}

impl SendError {
    /// Sending the same message again cannot succeed (the server refused it or a recipient for
    /// good). Login, TLS and connection problems are retried: an admin can fix them.
    pub fn is_final(&self) -> bool {
        self.problem == SmtpProblem::Rejected
    }
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.problem.as_str(), self.detail)
    }
}

impl Mailer {
    pub fn new(settings: SmtpSettings, timeout: Duration) -> Result<Mailer, String> {
        let tls = || {
            TlsParameters::new(settings.host.clone()).map_err(|error| {
                format!(
                    "SMTP_URL: TLS for {} cannot be set up: {error}",
                    settings.host
                )
            })
        };
        let tls = match settings.security {
            Security::Implicit => Tls::Wrapper(tls()?),
            Security::StartTls => Tls::Required(tls()?),
            Security::Opportunistic => Tls::Opportunistic(tls()?),
            Security::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(timeout));
        if let Some((user, password)) = &settings.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Mailer {
            transport: builder.build(),
            settings,
        })
    }

    /// Sends `message`; the server's answer on success.
    pub async fn send(&self, message: Message) -> Result<String, SendError> {
        match self.transport.send(message).await {
            Ok(response) => Ok(format!(
                "{} {}",
                response.code(),
                response.message().collect::<Vec<_>>().join(" ")
            )),
            Err(error) => Err(classify(&error)),
        }
    }
}

/// The problem behind a lettre error, with the server's or the system's words.
fn classify(error: &lettre::transport::smtp::Error) -> SendError {
    let detail = cause_chain(error);
    let code = error.status().map(|code| code.to_string());
    let lower = detail.to_lowercase();
    // "530 Must issue a STARTTLS command first" is about TLS, not the password.
    let problem = if error.is_tls() || lower.contains("starttls") || lower.contains("certificate") {
        SmtpProblem::Tls
    } else if matches!(code.as_deref(), Some("535" | "534" | "530" | "538"))
        || lower.contains("authentication")
    {
        SmtpProblem::LoginRefused
    } else if error.is_timeout() || lower.contains("timed out") {
        SmtpProblem::Timeout
    } else if lower.contains("failed to lookup address")
        || lower.contains("name or service not known")
        || lower.contains("no address associated")
        || lower.contains("nodename nor servname")
    {
        SmtpProblem::UnknownHost
    } else if lower.contains("connection refused") || lower.contains("unreachable") {
        SmtpProblem::Unreachable
    } else if error.is_permanent() {
        SmtpProblem::Rejected
    } else if error.is_transient() {
        SmtpProblem::Temporary
    } else {
        SmtpProblem::Other
    };
    SendError { problem, detail }
}

fn cause_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const FROM: &str = "fapi-bridge <bridge@example.cz>";

    #[test]
    fn the_three_documented_forms_parse() {
        let submission =
            SmtpSettings::parse("smtp://jana:tajne%40heslo@mail.example.cz:587", FROM).unwrap();
        assert_eq!(submission.server(), "mail.example.cz:587");
        assert_eq!(submission.security, Security::StartTls);
        assert_eq!(
            submission.credentials,
            Some(("jana".into(), "tajne@heslo".into()))
        );
        let implicit = SmtpSettings::parse("smtps://jana:heslo@mail.example.cz", FROM).unwrap();
        assert_eq!(
            (implicit.port, implicit.security),
            (465, Security::Implicit)
        );
        let relay = SmtpSettings::parse("smtp://localhost:25", FROM).unwrap();
        assert_eq!(relay.security, Security::Opportunistic);
        assert_eq!(relay.credentials, None);
        let plain = SmtpSettings::parse("smtp://u:p@127.0.0.1:2525?tls=none", FROM).unwrap();
        assert_eq!(plain.security, Security::None);
    }

    #[test]
    fn bad_values_say_what_is_expected_and_never_show_the_password() {
        for (url, expected) in [
            ("mail.example.cz", "smtp://"),
            ("http://mail.example.cz", "smtp:// or smtps://"),
            ("smtp://mail.example.cz?tls=maybe", "tls="),
        ] {
            let error = SmtpSettings::parse(url, FROM).unwrap_err();
            assert!(error.contains(expected), "{url}: {error}");
        }
        let error = SmtpSettings::parse("smtp://mail.example.cz", "not an address").unwrap_err();
        assert!(error.contains("EMAIL_FROM"), "{error}");
        let settings = SmtpSettings::parse("smtp://jana:tajne@mail.example.cz", FROM).unwrap();
        assert!(!format!("{settings:?}").contains("tajne"));
    }
}
