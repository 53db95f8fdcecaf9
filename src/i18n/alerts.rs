//! Texts of the alerts feature in the UI: the bell, Settings, the E-mails page (both languages).
//! The e-mails' own texts are in [`super::mail`] (server only).

use crate::model::{AlertItem, AlertKind, EmailKind, EmailStatus, RunStatus, SmtpProblem};

use super::{cs_plural, en_plural};

pub struct AlertTexts {
    pub nav_settings: &'static str,
    pub nav_emails: &'static str,
    /// The bell's accessible name, with the unread count.
    pub bell_label: fn(i64) -> String,
    pub bell_title: &'static str,
    pub bell_empty: &'static str,
    pub mark_all_read: &'static str,
    pub resolved: &'static str,
    pub kind_label: fn(AlertKind) -> &'static str,
    pub kind_help: fn(AlertKind) -> &'static str,
    /// The bell's line for an alert (the connection is shown beside it).
    pub alert_line: fn(&AlertItem) -> String,

    pub settings_title: &'static str,
    pub settings_intro: &'static str,
    pub settings_email_off: &'static str,
    pub settings_email_to: &'static str,
    pub col_alert: &'static str,
    pub col_by_email: &'static str,
    pub calendar_title: &'static str,
    pub calendar_intro: &'static str,
    pub calendar_create: &'static str,
    pub calendar_replace: &'static str,
    pub calendar_revoke: &'static str,
    pub calendar_revoked: &'static str,
    pub calendar_copy_now: &'static str,
    pub calendar_active: &'static str,
    pub calendar_none: &'static str,

    pub emails_title: &'static str,
    pub emails_intro: &'static str,
    pub emails_off: &'static str,
    pub emails_server: &'static str,
    pub emails_from: &'static str,
    pub emails_empty: &'static str,
    pub test_title: &'static str,
    pub test_to: &'static str,
    pub test_send: &'static str,
    pub test_sent: &'static str,
    pub col_to: &'static str,
    pub col_subject: &'static str,
    pub col_attempts: &'static str,
    pub col_error: &'static str,
    pub col_sent: &'static str,
    pub email_status: fn(EmailStatus) -> &'static str,
    pub email_kind: fn(EmailKind) -> &'static str,
    pub smtp_problem: fn(SmtpProblem) -> &'static str,
    pub email_off_error: &'static str,
}

fn cs_kind(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::FailedOrders => "Objednávky selhaly",
        AlertKind::Credentials => "Přístupové údaje přestaly fungovat",
        AlertKind::NotificationsMissing => "Notifikace z FAPI nechodí",
        AlertKind::HistoricalRun => "Historická synchronizace skončila",
        AlertKind::Reminder => "Připomínka engagementu",
    }
}

fn en_kind(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::FailedOrders => "Orders failed",
        AlertKind::Credentials => "Credentials stopped working",
        AlertKind::NotificationsMissing => "FAPI's notifications are not arriving",
        AlertKind::HistoricalRun => "A historical sync ended",
        AlertKind::Reminder => "Engagement reminder",
    }
}

fn cs_help(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::FailedOrders => {
            "Souhrn objednávek, které se nepodařilo odeslat ani po všech pokusech; nejvýš jeden e-mail za hodinu na propojení."
        }
        AlertKind::Credentials => {
            "FAPI nebo SmartEmailing odmítly uložený klíč. Hned, jednou, a znovu až po nápravě."
        }
        AlertKind::NotificationsMissing => {
            "Kontrola zmeškaných objednávek nachází doklady, o kterých FAPI nedalo vědět: adresa notifikace ve FAPI nejspíš chybí."
        }
        AlertKind::HistoricalRun => "Jen synchronizace, které jste spustili vy.",
        AlertKind::Reminder => {
            "V pondělí po přepočtu engagementu, s pozvánkou do kalendáře (.ics)."
        }
    }
}

fn en_help(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::FailedOrders => {
            "A digest of orders that failed after every retry; at most one e-mail an hour per connection."
        }
        AlertKind::Credentials => {
            "FAPI or SmartEmailing refused the stored key. At once, once, and again only after it was fixed."
        }
        AlertKind::NotificationsMissing => {
            "The check for missed orders keeps finding documents FAPI did not notify: FAPI's notification URL is probably missing."
        }
        AlertKind::HistoricalRun => "Only the syncs you started.",
        AlertKind::Reminder => {
            "On the Monday after the engagement recalculation, with a calendar invitation (.ics)."
        }
    }
}

fn cs_line(item: &AlertItem) -> String {
    let s = &item.summary;
    if item.resolved {
        return match item.kind {
            AlertKind::FailedOrders => "Žádné selhané objednávky".into(),
            AlertKind::Credentials => "Přístupové údaje opět fungují".into(),
            AlertKind::NotificationsMissing => "Notifikace z FAPI opět chodí".into(),
            other => cs_kind(other).into(),
        };
    }
    match item.kind {
        AlertKind::FailedOrders => {
            let n = s.count.unwrap_or_default();
            format!(
                "{n} {} {}",
                cs_plural(n, "objednávka", "objednávky", "objednávek"),
                cs_plural(n, "selhala", "selhaly", "selhalo")
            )
        }
        AlertKind::Credentials => format!(
            "{} odmítá přístupové údaje",
            s.system.map(super::system_name).unwrap_or("FAPI")
        ),
        AlertKind::NotificationsMissing => "Notifikace z FAPI nechodí".into(),
        AlertKind::HistoricalRun => match s.run_status {
            Some(RunStatus::Failed) => "Historická synchronizace selhala".into(),
            _ => "Historická synchronizace je hotová".into(),
        },
        AlertKind::Reminder => "Je čas připravit scénář engagementu".into(),
    }
}

fn en_line(item: &AlertItem) -> String {
    let s = &item.summary;
    if item.resolved {
        return match item.kind {
            AlertKind::FailedOrders => "No failed orders left".into(),
            AlertKind::Credentials => "Credentials work again".into(),
            AlertKind::NotificationsMissing => "FAPI's notifications arrive again".into(),
            other => en_kind(other).into(),
        };
    }
    match item.kind {
        AlertKind::FailedOrders => {
            let n = s.count.unwrap_or_default();
            format!("{n} {} failed", en_plural(n, "order", "orders"))
        }
        AlertKind::Credentials => format!(
            "{} refuses the credentials",
            s.system.map(super::system_name).unwrap_or("FAPI")
        ),
        AlertKind::NotificationsMissing => "FAPI's notifications are not arriving".into(),
        AlertKind::HistoricalRun => match s.run_status {
            Some(RunStatus::Failed) => "The historical sync failed".into(),
            _ => "The historical sync is complete".into(),
        },
        AlertKind::Reminder => "Time to prepare the engagement scenario".into(),
    }
}

fn cs_email_status(status: EmailStatus) -> &'static str {
    match status {
        EmailStatus::Queued => "čeká",
        EmailStatus::Sending => "odesílá se",
        EmailStatus::Sent => "odesláno",
        EmailStatus::Failed => "selhalo",
    }
}

fn en_email_status(status: EmailStatus) -> &'static str {
    match status {
        EmailStatus::Queued => "queued",
        EmailStatus::Sending => "sending",
        EmailStatus::Sent => "sent",
        EmailStatus::Failed => "failed",
    }
}

fn cs_email_kind(kind: EmailKind) -> &'static str {
    match kind {
        EmailKind::Test => "zkušební",
        EmailKind::Alert => "upozornění",
        EmailKind::Invitation => "pozvánka",
    }
}

fn en_email_kind(kind: EmailKind) -> &'static str {
    match kind {
        EmailKind::Test => "test",
        EmailKind::Alert => "alert",
        EmailKind::Invitation => "invitation",
    }
}

fn cs_smtp(problem: SmtpProblem) -> &'static str {
    match problem {
        SmtpProblem::LoginRefused => {
            "SMTP server odmítl přihlášení: zkontrolujte jméno a heslo v SMTP_URL."
        }
        SmtpProblem::Tls => {
            "Šifrované spojení (TLS) se nepodařilo navázat: server STARTTLS nenabízí nebo jeho certifikát neprošel. Zkuste smtps:// a port 465, nebo ?tls=none u místního relé."
        }
        SmtpProblem::UnknownHost => "Server v SMTP_URL neexistuje (neznámé jméno).",
        SmtpProblem::Unreachable => {
            "Na adrese a portu ze SMTP_URL nic neodpovídá (spojení odmítnuto)."
        }
        SmtpProblem::Timeout => "SMTP server neodpověděl včas.",
        SmtpProblem::Rejected => "SMTP server zprávu nebo adresáta odmítl.",
        SmtpProblem::Temporary => "SMTP server teď zprávu nepřijal; zkusí se to znovu.",
        SmtpProblem::Other => "E-mail se nepodařilo odeslat.",
    }
}

fn en_smtp(problem: SmtpProblem) -> &'static str {
    match problem {
        SmtpProblem::LoginRefused => {
            "The SMTP server refused the login: check the user name and password in SMTP_URL."
        }
        SmtpProblem::Tls => {
            "No encrypted connection (TLS): the server does not offer STARTTLS or its certificate was refused. Try smtps:// on port 465, or ?tls=none for a local relay."
        }
        SmtpProblem::UnknownHost => "The server in SMTP_URL does not exist (unknown host name).",
        SmtpProblem::Unreachable => {
            "Nothing answers at SMTP_URL's host and port (connection refused)."
        }
        SmtpProblem::Timeout => "The SMTP server did not answer in time.",
        SmtpProblem::Rejected => "The SMTP server refused the message or the recipient.",
        SmtpProblem::Temporary => "The SMTP server did not take the message now; it is retried.",
        SmtpProblem::Other => "The e-mail could not be sent.",
    }
}

pub static CS: AlertTexts = AlertTexts {
    nav_settings: "Nastavení",
    nav_emails: "E-maily",
    bell_label: |n| {
        format!(
            "Upozornění, {n} {}",
            cs_plural(n, "nepřečtené", "nepřečtená", "nepřečtených")
        )
    },
    bell_title: "Upozornění",
    bell_empty: "Zatím žádná upozornění.",
    mark_all_read: "Označit vše jako přečtené",
    resolved: "vyřešeno",
    kind_label: cs_kind,
    kind_help: cs_help,
    alert_line: cs_line,
    settings_title: "Nastavení",
    settings_intro: "Která upozornění vám mají chodit e-mailem. V aplikaci (zvoneček nahoře) vidíte všechna.",
    settings_email_off: "E-mail je vypnutý: správce musí nastavit SMTP_URL. Upozornění zatím uvidíte jen pod zvonečkem.",
    settings_email_to: "E-maily chodí na",
    col_alert: "Upozornění",
    col_by_email: "E-mailem",
    calendar_title: "Kalendář",
    calendar_intro: "Osobní adresa kalendáře s nadcházejícími připomínkami týmu, k odběru v Google Kalendáři, Outlooku nebo Apple Kalendáři.",
    calendar_create: "Vytvořit adresu kalendáře",
    calendar_replace: "Vytvořit novou adresu (stará přestane fungovat)",
    calendar_revoke: "Zrušit adresu",
    calendar_revoked: "Adresa kalendáře je zrušená.",
    calendar_copy_now: "Zkopírujte si adresu teď, znovu se už nezobrazí:",
    calendar_active: "Adresa kalendáře je aktivní.",
    calendar_none: "Zatím nemáte adresu kalendáře.",
    emails_title: "E-maily",
    emails_intro: "Všechny e-maily, které fapi-bridge odeslal nebo odeslat zkouší: komu, kdy a co selhalo.",
    emails_off: "E-mail je vypnutý. Nastavte SMTP_URL a EMAIL_FROM (viz README) a server restartujte.",
    emails_server: "SMTP server",
    emails_from: "Odesílatel",
    emails_empty: "Zatím žádné e-maily.",
    test_title: "Zkušební e-mail",
    test_to: "Komu",
    test_send: "Odeslat zkušební e-mail",
    test_sent: "Zkušební e-mail byl odeslán.",
    col_to: "Komu",
    col_subject: "Předmět",
    col_attempts: "Pokusy",
    col_error: "Odpověď serveru",
    col_sent: "Odesláno",
    email_status: cs_email_status,
    email_kind: cs_email_kind,
    smtp_problem: cs_smtp,
    email_off_error: "E-mail je vypnutý: nastavte SMTP_URL.",
};

pub static EN: AlertTexts = AlertTexts {
    nav_settings: "Settings",
    nav_emails: "E-mails",
    bell_label: |n| format!("Alerts, {n} unread"),
    bell_title: "Alerts",
    bell_empty: "No alerts yet.",
    mark_all_read: "Mark all read",
    resolved: "resolved",
    kind_label: en_kind,
    kind_help: en_help,
    alert_line: en_line,
    settings_title: "Settings",
    settings_intro: "Which alerts reach you by e-mail. In the app (the bell at the top) you see them all.",
    settings_email_off: "E-mail is off: an admin has to set SMTP_URL. Until then alerts show only under the bell.",
    settings_email_to: "E-mails go to",
    col_alert: "Alert",
    col_by_email: "By e-mail",
    calendar_title: "Calendar",
    calendar_intro: "A personal calendar address listing the team's upcoming reminders, for subscription in Google Calendar, Outlook or Apple Calendar.",
    calendar_create: "Create a calendar address",
    calendar_replace: "Create a new address (the old one stops working)",
    calendar_revoke: "Revoke the address",
    calendar_revoked: "The calendar address is revoked.",
    calendar_copy_now: "Copy the address now; it is not shown again:",
    calendar_active: "Your calendar address is active.",
    calendar_none: "You have no calendar address yet.",
    emails_title: "E-mails",
    emails_intro: "Every e-mail fapi-bridge sent or is trying to send: to whom, when, and what failed.",
    emails_off: "E-mail is off. Set SMTP_URL and EMAIL_FROM (see the README) and restart the server.",
    emails_server: "SMTP server",
    emails_from: "Sender",
    emails_empty: "No e-mails yet.",
    test_title: "Test e-mail",
    test_to: "To",
    test_send: "Send a test e-mail",
    test_sent: "The test e-mail was sent.",
    col_to: "To",
    col_subject: "Subject",
    col_attempts: "Attempts",
    col_error: "Server's answer",
    col_sent: "Sent",
    email_status: en_email_status,
    email_kind: en_email_kind,
    smtp_problem: en_smtp,
    email_off_error: "E-mail is off: set SMTP_URL.",
};
