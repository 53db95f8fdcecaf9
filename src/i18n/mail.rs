//! The e-mails' texts, in Czech and English (server only: e-mails are written on the server).

use crate::model::{RunStatus, System};

use super::{Lang, cs_plural, en_plural, system_name};

/// What an e-mail reports; the facts its text is made from.
#[derive(Debug, Clone)]
pub enum Facts<'a> {
    Test {
        server: &'a str,
    },
    FailedOrders {
        connection: &'a str,
        count: i64,
        /// The most common reasons and how many orders each.
        reasons: &'a [(String, i64)],
    },
    FailedOrdersResolved {
        connection: &'a str,
    },
    Credentials {
        connection: &'a str,
        system: System,
        message: &'a str,
    },
    CredentialsResolved {
        connection: &'a str,
    },
    NotificationsMissing {
        connection: &'a str,
        /// Orders that reconciliation found in the last day (no notification came).
        found: i64,
        /// FAPI's notification URL, for admins (who may see it in the app); else `None`.
        webhook_url: Option<&'a str>,
    },
    NotificationsResolved {
        connection: &'a str,
    },
    RunEnded {
        connection: &'a str,
        status: RunStatus,
        reason: Option<&'a str>,
        documents: i64,
    },
    ReminderDue {
        connection: &'a str,
        due: &'a str,
        note: Option<&'a str>,
    },
    ReminderScheduled {
        connection: &'a str,
        due: &'a str,
        note: Option<&'a str>,
    },
    ReminderCancelled {
        connection: &'a str,
        due: &'a str,
    },
}

/// An e-mail's words: subject, paragraphs, a list, and the label of its link.
#[derive(Debug, Clone, Default)]
pub struct Letter {
    pub subject: String,
    pub paragraphs: Vec<String>,
    pub items: Vec<String>,
    pub link_label: String,
}

pub fn letter(lang: Lang, facts: &Facts) -> Letter {
    match lang {
        Lang::Cs => cs(facts),
        Lang::En => en(facts),
    }
}

/// Why the recipient gets alert e-mails, and where to change that.
pub fn footer(lang: Lang, settings_url: &str) -> String {
    match lang {
        Lang::Cs => format!(
            "Tento e-mail poslal fapi-bridge, protože máte toto upozornění zapnuté. Změníte to v Nastavení: {settings_url}"
        ),
        Lang::En => format!(
            "fapi-bridge sent this e-mail because you have this alert on. Change that in Settings: {settings_url}"
        ),
    }
}

/// The name calendar apps show for the feed.
pub fn calendar_name(lang: Lang) -> &'static str {
    match lang {
        Lang::Cs => "fapi-bridge: připomínky",
        Lang::En => "fapi-bridge: reminders",
    }
}

/// A reminder's calendar event: its title and description.
pub fn event_texts(lang: Lang, connection: &str, note: Option<&str>) -> (String, String) {
    let (summary, body) = match lang {
        Lang::Cs => (
            format!("Připravit scénář engagementu – {connection}"),
            "SmartEmailing o víkendu přepočítal engagement kontaktů. Je čas připravit scénář engagementu.",
        ),
        Lang::En => (
            format!("Prepare the engagement scenario – {connection}"),
            "SmartEmailing recalculated contact engagement over the weekend. Time to prepare the engagement scenario.",
        ),
    };
    let description = match note {
        Some(note) if !note.is_empty() => format!("{body}\n\n{note}"),
        _ => body.to_string(),
    };
    (summary, description)
}

/// "reason (3×)"; an order failed without a recorded reason says so.
fn reason_item(reason: &str, none: &str, count: i64) -> String {
    let reason = if reason.trim().is_empty() {
        none
    } else {
        reason
    };
    format!("{reason} ({count}×)")
}

fn note_line(lang: Lang, note: Option<&str>) -> Option<String> {
    let note = note.filter(|note| !note.is_empty())?;
    Some(match lang {
        Lang::Cs => format!("Poznámka: {note}"),
        Lang::En => format!("Note: {note}"),
    })
}

fn cs(facts: &Facts) -> Letter {
    let mut letter = Letter::default();
    match facts {
        Facts::Test { server } => {
            letter.subject = "fapi-bridge: zkušební e-mail".into();
            letter.paragraphs = vec![format!(
                "Tento zkušební e-mail prošel přes SMTP server {server}. E-maily z fapi-bridge fungují."
            )];
            letter.link_label = "Otevřít fapi-bridge".into();
        }
        Facts::FailedOrders {
            connection,
            count,
            reasons,
        } => {
            let failed = format!(
                "{} {count} {}",
                cs_plural(*count, "selhala", "selhaly", "selhalo"),
                cs_plural(*count, "objednávka", "objednávky", "objednávek")
            );
            letter.subject = format!("fapi-bridge: {failed} ({connection})");
            letter.paragraphs = vec![format!(
                "U propojení {connection} {failed}: nepodařilo se je odeslat do SmartEmailingu ani po všech pokusech. Nejčastější důvody:"
            )];
            letter.items = reasons
                .iter()
                .map(|(reason, n)| reason_item(reason, "bez udaného důvodu", *n))
                .collect();
            letter.link_label = "Selhané objednávky".into();
        }
        Facts::FailedOrdersResolved { connection } => {
            letter.subject = format!("fapi-bridge: žádné selhané objednávky ({connection})");
            letter.paragraphs = vec![format!(
                "U propojení {connection} už žádná objednávka není ve stavu selhala."
            )];
            letter.link_label = "Objednávky".into();
        }
        Facts::Credentials {
            connection,
            system,
            message,
        } => {
            let system = system_name(*system);
            letter.subject =
                format!("fapi-bridge: {system} odmítá přístupové údaje ({connection})");
            letter.paragraphs = vec![
                format!("{system} odmítl uložený klíč propojení {connection}: {message}"),
                "Objednávky čekají a odejdou, až klíč opravíte (Propojení → Upravit) a test projde.".into(),
            ];
            letter.link_label = "Propojení".into();
        }
        Facts::CredentialsResolved { connection } => {
            letter.subject = format!("fapi-bridge: přístupové údaje opět fungují ({connection})");
            letter.paragraphs = vec![format!(
                "FAPI i SmartEmailing opět přijímají klíče propojení {connection}."
            )];
            letter.link_label = "Propojení".into();
        }
        Facts::NotificationsMissing {
            connection,
            found,
            webhook_url,
        } => {
            letter.subject = format!("fapi-bridge: notifikace z FAPI nechodí ({connection})");
            letter.paragraphs = vec![format!(
                "Kontrola zmeškaných objednávek u propojení {connection} našla {found} {} bez notifikace z FAPI. Adresa notifikace ve FAPI nejspíš chybí nebo je špatně.",
                cs_plural(*found, "doklad", "doklady", "dokladů")
            )];
            match webhook_url {
                Some(url) => letter.paragraphs.push(format!(
                    "Vložte ve FAPI (Nastavení → Notifikace) tuto adresu: {url}"
                )),
                None => letter
                    .paragraphs
                    .push("Správce najde adresu ke vložení do FAPI na stránce propojení.".into()),
            }
            letter.link_label = "Propojení".into();
        }
        Facts::NotificationsResolved { connection } => {
            letter.subject = format!("fapi-bridge: notifikace z FAPI opět chodí ({connection})");
            letter.paragraphs = vec![format!(
                "FAPI opět posílá notifikace propojení {connection}."
            )];
            letter.link_label = "Propojení".into();
        }
        Facts::RunEnded {
            connection,
            status,
            reason,
            documents,
        } => {
            if *status == RunStatus::Failed {
                letter.subject =
                    format!("fapi-bridge: historická synchronizace selhala ({connection})");
                letter.paragraphs = vec![format!(
                    "Historická synchronizace propojení {connection}, kterou jste spustili, selhala: {}",
                    reason.unwrap_or("bez udaného důvodu")
                )];
            } else {
                letter.subject =
                    format!("fapi-bridge: historická synchronizace je hotová ({connection})");
                letter.paragraphs = vec![format!(
                    "Historická synchronizace propojení {connection}, kterou jste spustili, je hotová: {documents} {}.",
                    cs_plural(*documents, "doklad", "doklady", "dokladů")
                )];
            }
            letter.link_label = "Průběh synchronizace".into();
        }
        Facts::ReminderDue {
            connection,
            due,
            note,
        } => {
            letter.subject =
                format!("fapi-bridge: je čas připravit scénář engagementu ({connection})");
            letter.paragraphs = vec![format!(
                "SmartEmailing přepočítal engagement kontaktů. Připomínka propojení {connection} na {due} je tu: připravte scénář engagementu a pak ji označte jako hotovou."
            )];
            letter.paragraphs.extend(note_line(Lang::Cs, *note));
            letter.link_label = "Připomínky".into();
        }
        Facts::ReminderScheduled {
            connection,
            due,
            note,
        } => {
            letter.subject = format!("fapi-bridge: připomínka engagementu {due} ({connection})");
            letter.paragraphs = vec![format!(
                "Připomínka přípravy scénáře engagementu pro propojení {connection} je naplánovaná na {due}. Pozvánka do kalendáře je v příloze."
            )];
            letter.paragraphs.extend(note_line(Lang::Cs, *note));
            letter.link_label = "Připomínky".into();
        }
        Facts::ReminderCancelled { connection, due } => {
            letter.subject = format!("fapi-bridge: připomínka {due} zrušena ({connection})");
            letter.paragraphs = vec![format!(
                "Připomínka engagementu propojení {connection} na {due} byla zrušena; událost z kalendáře zmizí."
            )];
            letter.link_label = "Připomínky".into();
        }
    }
    letter
}

fn en(facts: &Facts) -> Letter {
    let mut letter = Letter::default();
    match facts {
        Facts::Test { server } => {
            letter.subject = "fapi-bridge: test e-mail".into();
            letter.paragraphs = vec![format!(
                "This test e-mail went through the SMTP server {server}. E-mail from fapi-bridge works."
            )];
            letter.link_label = "Open fapi-bridge".into();
        }
        Facts::FailedOrders {
            connection,
            count,
            reasons,
        } => {
            let orders = format!("{count} {}", en_plural(*count, "order", "orders"));
            letter.subject = format!("fapi-bridge: {orders} failed ({connection})");
            letter.paragraphs = vec![format!(
                "{orders} of {connection} could not be sent to SmartEmailing after every retry. The most common reasons:"
            )];
            letter.items = reasons
                .iter()
                .map(|(reason, n)| reason_item(reason, "no reason recorded", *n))
                .collect();
            letter.link_label = "Failed orders".into();
        }
        Facts::FailedOrdersResolved { connection } => {
            letter.subject = format!("fapi-bridge: no failed orders left ({connection})");
            letter.paragraphs = vec![format!("No order of {connection} is failed any more.")];
            letter.link_label = "Orders".into();
        }
        Facts::Credentials {
            connection,
            system,
            message,
        } => {
            let system = system_name(*system);
            letter.subject =
                format!("fapi-bridge: {system} refuses the credentials ({connection})");
            letter.paragraphs = vec![
                format!("{system} refused the stored key of {connection}: {message}"),
                "Orders wait and go out once the key is fixed (Connections → Edit) and the check passes.".into(),
            ];
            letter.link_label = "Connection".into();
        }
        Facts::CredentialsResolved { connection } => {
            letter.subject = format!("fapi-bridge: credentials work again ({connection})");
            letter.paragraphs = vec![format!(
                "FAPI and SmartEmailing accept the keys of {connection} again."
            )];
            letter.link_label = "Connection".into();
        }
        Facts::NotificationsMissing {
            connection,
            found,
            webhook_url,
        } => {
            letter.subject =
                format!("fapi-bridge: FAPI's notifications are not arriving ({connection})");
            letter.paragraphs = vec![format!(
                "The check for missed orders of {connection} found {found} {} that FAPI did not notify. FAPI's notification URL is probably missing or wrong.",
                en_plural(*found, "document", "documents")
            )];
            match webhook_url {
                Some(url) => letter.paragraphs.push(format!(
                    "Paste this URL in FAPI (Settings → Notifications): {url}"
                )),
                None => letter.paragraphs.push(
                    "An admin finds the URL to paste into FAPI on the connection's page.".into(),
                ),
            }
            letter.link_label = "Connection".into();
        }
        Facts::NotificationsResolved { connection } => {
            letter.subject =
                format!("fapi-bridge: FAPI's notifications arrive again ({connection})");
            letter.paragraphs = vec![format!("FAPI notifies {connection} again.")];
            letter.link_label = "Connection".into();
        }
        Facts::RunEnded {
            connection,
            status,
            reason,
            documents,
        } => {
            if *status == RunStatus::Failed {
                letter.subject = format!("fapi-bridge: the historical sync failed ({connection})");
                letter.paragraphs = vec![format!(
                    "The historical sync of {connection} you started failed: {}",
                    reason.unwrap_or("no reason given")
                )];
            } else {
                letter.subject =
                    format!("fapi-bridge: the historical sync is complete ({connection})");
                letter.paragraphs = vec![format!(
                    "The historical sync of {connection} you started is complete: {documents} {}.",
                    en_plural(*documents, "document", "documents")
                )];
            }
            letter.link_label = "The sync's progress".into();
        }
        Facts::ReminderDue {
            connection,
            due,
            note,
        } => {
            letter.subject =
                format!("fapi-bridge: time to prepare the engagement scenario ({connection})");
            letter.paragraphs = vec![format!(
                "SmartEmailing recalculated contact engagement. The reminder of {connection} for {due} is here: prepare the engagement scenario, then mark the reminder done."
            )];
            letter.paragraphs.extend(note_line(Lang::En, *note));
            letter.link_label = "Reminders".into();
        }
        Facts::ReminderScheduled {
            connection,
            due,
            note,
        } => {
            letter.subject = format!("fapi-bridge: engagement reminder on {due} ({connection})");
            letter.paragraphs = vec![format!(
                "The reminder to prepare the engagement scenario of {connection} is scheduled for {due}. The calendar invitation is attached."
            )];
            letter.paragraphs.extend(note_line(Lang::En, *note));
            letter.link_label = "Reminders".into();
        }
        Facts::ReminderCancelled { connection, due } => {
            letter.subject = format!("fapi-bridge: reminder on {due} cancelled ({connection})");
            letter.paragraphs = vec![format!(
                "The engagement reminder of {connection} for {due} was cancelled; the event leaves your calendar."
            )];
            letter.link_label = "Reminders".into();
        }
    }
    letter
}
