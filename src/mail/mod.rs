//! E-mail: what a message says ([`Composed`], rendered as plain text and simple HTML), the
//! durable [`outbox`] every message goes through, and iCalendar invitations ([`ics`]).
//! The SMTP connection itself is `platform::smtp`.

pub mod ics;
pub mod outbox;

/// An e-mail's content in one language, before it is rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Composed {
    pub subject: String,
    pub paragraphs: Vec<String>,
    /// A short list under the paragraphs (e.g. the first reasons of failed orders).
    pub items: Vec<String>,
    /// The main link: its label and an absolute URL.
    pub link: Option<(String, String)>,
    /// Why the recipient gets this, and where to change it.
    pub footer: Option<String>,
}

impl Composed {
    /// An e-mail from its words, its link (absolute) and footer.
    pub fn from_letter(
        letter: crate::i18n::mail::Letter,
        url: String,
        footer: Option<String>,
    ) -> Composed {
        Composed {
            subject: letter.subject,
            paragraphs: letter.paragraphs,
            items: letter.items,
            link: Some((letter.link_label, url)),
            footer,
        }
    }

    pub fn text(&self) -> String {
        let mut text = String::new();
        for paragraph in &self.paragraphs {
            text.push_str(paragraph);
            text.push_str("\n\n");
        }
        for item in &self.items {
            text.push_str(&format!("- {item}\n"));
        }
        if !self.items.is_empty() {
            text.push('\n');
        }
        if let Some((label, url)) = &self.link {
            text.push_str(&format!("{label}: {url}\n\n"));
        }
        if let Some(footer) = &self.footer {
            text.push_str("-- \n");
            text.push_str(footer);
            text.push('\n');
        }
        text
    }

    pub fn html(&self) -> String {
        let mut html = String::from(
            "<!DOCTYPE html><html><body style=\"font-family:sans-serif;line-height:1.5;color:#1f2933\">",
        );
        for paragraph in &self.paragraphs {
            html.push_str(&format!("<p>{}</p>", escape_html(paragraph)));
        }
        if !self.items.is_empty() {
            html.push_str("<ul>");
            for item in &self.items {
                html.push_str(&format!("<li>{}</li>", escape_html(item)));
            }
            html.push_str("</ul>");
        }
        if let Some((label, url)) = &self.link {
            html.push_str(&format!(
                "<p><a href=\"{}\">{}</a></p>",
                escape_html(url),
                escape_html(label)
            ));
        }
        if let Some(footer) = &self.footer {
            html.push_str(&format!(
                "<p style=\"color:#67727e;font-size:small\">{}</p>",
                escape_html(footer)
            ));
        }
        html.push_str("</body></html>");
        html
    }
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\n', "<br>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_html_carry_the_same_content_and_html_is_escaped() {
        let composed = Composed {
            subject: "S".into(),
            paragraphs: vec!["Obchod <Jana> & spol.".into()],
            items: vec!["a reason".into()],
            link: Some((
                "Open".into(),
                "https://b.example.cz/orders?status=failed&x=1".into(),
            )),
            footer: Some("Settings".into()),
        };
        let text = composed.text();
        assert!(text.contains("Obchod <Jana> & spol.\n\n- a reason\n"));
        assert!(text.contains("Open: https://b.example.cz/orders?status=failed&x=1"));
        let html = composed.html();
        assert!(html.contains("Obchod &lt;Jana&gt; &amp; spol."));
        assert!(html.contains("href=\"https://b.example.cz/orders?status=failed&amp;x=1\""));
        assert!(html.contains("<li>a reason</li>"));
    }
}
