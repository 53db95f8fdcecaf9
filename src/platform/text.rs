//! Small text helpers.

/// Replaces Czech (and Slovak) letters with diacritics by their plain ASCII letters.
pub fn ascii_fold(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'á' | 'ä' => 'a',
            'č' => 'c',
            'ď' => 'd',
            'é' | 'ě' => 'e',
            'í' => 'i',
            'ĺ' | 'ľ' => 'l',
            'ň' => 'n',
            'ó' | 'ô' => 'o',
            'ř' | 'ŕ' => 'r',
            'š' => 's',
            'ť' => 't',
            'ú' | 'ů' => 'u',
            'ý' => 'y',
            'ž' => 'z',
            'Á' | 'Ä' => 'A',
            'Č' => 'C',
            'Ď' => 'D',
            'É' | 'Ě' => 'E',
            'Í' => 'I',
            'Ĺ' | 'Ľ' => 'L',
            'Ň' => 'N',
            'Ó' | 'Ô' => 'O',
            'Ř' | 'Ŕ' => 'R',
            'Š' => 'S',
            'Ť' => 'T',
            'Ú' | 'Ů' => 'U',
            'Ý' => 'Y',
            'Ž' => 'Z',
            other => other,
        })
        .collect()
}

/// A lower-case, dash-separated ASCII identifier ("Můj Obchod!" → "muj-obchod").
pub fn slug(text: &str) -> String {
    let folded = ascii_fold(text).to_lowercase();
    let mut slug = String::with_capacity(folded.len());
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}

/// `text` cut to its first `max_chars` characters.
pub fn truncate_chars(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => text[..end].to_string(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_and_slugs() {
        assert_eq!(ascii_fold("Příliš žluťoučký kůň"), "Prilis zlutoucky kun");
        assert_eq!(slug("  Můj Obchod – kurzy!  "), "muj-obchod-kurzy");
        assert_eq!(slug("***"), "");
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate_chars("žluťoučký", 4), "žluť");
        assert_eq!(truncate_chars("kůň", 10), "kůň");
    }
}
