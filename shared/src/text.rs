//! Text as people type it: place names without accents, case or hyphens,
//! and names shown with a surname initial only.

/// The search key of a place name: lower case, accents removed, every run of
/// punctuation or space turned into one space, and the usual abbreviations
/// expanded ("St-Céré" → "saint cere").
pub fn search_key(input: &str) -> String {
    let ascii = deunicode::deunicode(input).to_lowercase();
    let mut words: Vec<&str> = Vec::new();
    for word in ascii.split(|c: char| !c.is_ascii_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        words.push(match word {
            "st" => "saint",
            "ste" => "sainte",
            "sts" => "saints",
            "stes" => "saintes",
            other => other,
        });
    }
    words.join(" ")
}

/// The key without a leading French article, so that "hospitalet" finds
/// "L'Hospitalet" and "bastit" finds "Le Bastit". `None` when the name has
/// no article.
pub fn without_article(key: &str) -> Option<&str> {
    ["l ", "le ", "la ", "les "]
        .iter()
        .find_map(|article| key.strip_prefix(article))
        .filter(|rest| !rest.is_empty())
}

/// `text` as a sentence that ends: a full stop added when it has no end
/// mark ("le conducteur a supprimé ce trajet" → "… ce trajet.").
pub fn sentence(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() || text.ends_with(['.', '!', '?', '…', '»', ')']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

/// A number as written in French: a decimal comma, `decimals` after it,
/// and a narrow space between thousands ("1 234,5").
pub fn french_number(value: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, value.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push('\u{202f}');
        }
        grouped.push(digit);
    }
    let sign = if value < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    if fraction.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped},{fraction}")
    }
}

/// How another person is shown: first name and surname initial
/// ("Marie Dupont" → "Marie D."). Contact details never appear.
pub fn public_name(display_name: &str) -> String {
    let mut parts = display_name.split_whitespace();
    let Some(first) = parts.next() else {
        return "Membre".to_string();
    };
    match parts.last().and_then(|last| last.chars().next()) {
        Some(initial) => format!("{first} {}.", initial.to_uppercase()),
        None => first.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_the_french_way() {
        assert_eq!(french_number(0.218, 1), "0,2");
        assert_eq!(french_number(12.0, 1), "12,0");
        assert_eq!(french_number(1234.56, 1), "1\u{202f}234,6");
        assert_eq!(french_number(1234567.0, 0), "1\u{202f}234\u{202f}567");
        assert_eq!(french_number(-3.25, 2), "-3,25");
        assert_eq!(french_number(-0.01, 1), "0,0");
    }

    #[test]
    fn search_keys_ignore_accents_case_and_punctuation() {
        assert_eq!(search_key("Saint-Céré"), "saint cere");
        assert_eq!(search_key("ST CERE"), "saint cere");
        assert_eq!(search_key("L'Hospitalet"), "l hospitalet");
        assert_eq!(
            search_key("  Gramat — place de la République "),
            "gramat place de la republique"
        );
        assert_eq!(search_key("Œuilly"), "oeuilly");
        assert_eq!(without_article("l hospitalet"), Some("hospitalet"));
        assert_eq!(without_article("lacapelle marival"), None);
    }

    #[test]
    fn public_names_hide_the_surname() {
        assert_eq!(public_name("Marie Dupont"), "Marie D.");
        assert_eq!(public_name("Jean-Pierre de la Fontaine"), "Jean-Pierre F.");
        assert_eq!(public_name("Lucie"), "Lucie");
        assert_eq!(public_name("  "), "Membre");
    }
}
