//! Numbers as readers read them: euros, percentages, signed changes and counts in the chain's
//! locale.
//!
//! Why this module exists: the same figure appears in a report, on a page, in a chart's
//! tooltip and in its text alternative, and must read the same in each; a German chain reads
//! `1.234 €` and `12,3 %` where an English one reads `1,234 €` and `12.3%`. One formatter
//! per locale, shared by the reports and the app (the browser's side reads the page's
//! `data-locale`, [`Locale::tag`]), keeps every figure in one style.

use serde::{Deserialize, Serialize};

/// How numbers are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    /// `1,234.5 €`, `12.3%`.
    #[default]
    En,
    /// `1.234,5 €`, `12,3 %`.
    De,
}

impl Locale {
    /// Every locale, as a setting offers them.
    pub const ALL: [Locale; 2] = [Locale::En, Locale::De];

    /// Reads `en`, `en-GB`, `de`, `de-DE` (any case, `_` or `-`).
    pub fn parse(text: &str) -> Option<Locale> {
        let lang = text.trim().to_ascii_lowercase();
        match lang.split(['-', '_']).next().unwrap_or("") {
            "en" => Some(Locale::En),
            "de" => Some(Locale::De),
            _ => None,
        }
    }

    /// The BCP 47 tag, for the browser's `Intl` and `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en-GB",
            Locale::De => "de-DE",
        }
    }

    /// The language alone (`en`, `de`).
    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::De => "de",
        }
    }

    fn group(self) -> char {
        match self {
            Locale::En => ',',
            Locale::De => '.',
        }
    }

    fn decimal(self) -> char {
        match self {
            Locale::En => '.',
            Locale::De => ',',
        }
    }

    /// Between a number and `%`: none in English, a space in German.
    fn percent_gap(self) -> &'static str {
        match self {
            Locale::En => "",
            Locale::De => " ",
        }
    }
}

impl std::fmt::Display for Locale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.tag())
    }
}

/// The formatter of one locale. Not finite numbers read `–`; negatives take `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Numbers {
    /// The locale written in.
    pub locale: Locale,
}

impl Numbers {
    /// English figures (the reports' and the default).
    pub const EN: Numbers = Numbers { locale: Locale::En };

    /// The formatter of `locale`.
    pub fn new(locale: Locale) -> Self {
        Self { locale }
    }

    /// `x` with `decimals` places and grouped thousands (`1,234.5`).
    pub fn number(self, x: f64, decimals: usize) -> String {
        if !x.is_finite() {
            return "–".into();
        }
        let text = format!("{:.*}", decimals, x.abs());
        let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
        let mut out = String::with_capacity(text.len() + 4);
        let negative = x < 0.0 && nonzero(&text);
        if negative {
            out.push('-');
        }
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i).is_multiple_of(3) {
                out.push(self.locale.group());
            }
            out.push(c);
        }
        if !frac.is_empty() {
            out.push(self.locale.decimal());
            out.push_str(frac);
        }
        out
    }

    /// A whole number, grouped (`46,830`).
    pub fn int(self, x: f64) -> String {
        self.number(x, 0)
    }

    /// Whole euros (`1,234 €`, `-56 €`).
    pub fn eur(self, x: f64) -> String {
        if !x.is_finite() {
            return "–".into();
        }
        format!("{} €", self.int(x))
    }

    /// Signed whole euros (`+1,234 €`, `-56 €`).
    pub fn signed_eur(self, x: f64) -> String {
        if !x.is_finite() {
            return "–".into();
        }
        format!("{} €", self.signed(x, 0))
    }

    /// A range of whole euros with one unit, for tight cells (`3,970–5,078 €`).
    pub fn eur_range(self, lo: f64, hi: f64) -> String {
        format!("{}–{}", self.int(lo), self.eur(hi))
    }

    /// A share as a percentage with one decimal (`12.3%`).
    pub fn pct(self, share: f64) -> String {
        self.pct_with(share, 1)
    }

    /// A share as a percentage with `decimals` places (`12%`, `12.34%`).
    pub fn pct_with(self, share: f64, decimals: usize) -> String {
        if !share.is_finite() {
            return "–".into();
        }
        format!(
            "{}{}%",
            self.number(share * 100.0, decimals),
            self.locale.percent_gap()
        )
    }

    /// `x` with `decimals` places and its sign (`+1,234.5`, `-3.0`, `0.0`).
    pub fn signed(self, x: f64, decimals: usize) -> String {
        let text = self.number(x, decimals);
        if x > 0.0 && nonzero(&text) {
            format!("+{text}")
        } else {
            text
        }
    }

    /// A change as a signed percentage (`+12.3%`, `-4.0%`).
    pub fn signed_pct(self, change: f64) -> String {
        self.signed_pct_with(change, 1)
    }

    /// A change as a signed percentage with `decimals` places (`+12%`).
    pub fn signed_pct_with(self, change: f64, decimals: usize) -> String {
        if !change.is_finite() {
            return "–".into();
        }
        format!(
            "{}{}%",
            self.signed(change * 100.0, decimals),
            self.locale.percent_gap()
        )
    }
}

/// Whether a written number shows a digit other than zero (`-0.0` is written without a sign).
fn nonzero(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_digit() && c != '0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_and_german_figures() {
        let en = Numbers::EN;
        let de = Numbers::new(Locale::De);
        assert_eq!(en.number(1234.5, 1), "1,234.5");
        assert_eq!(de.number(1234.5, 1), "1.234,5");
        assert_eq!(en.eur(804_056.4), "804,056 €");
        assert_eq!(de.eur(804_056.4), "804.056 €");
        assert_eq!(en.eur(-56.0), "-56 €");
        assert_eq!(en.eur_range(3970.0, 5078.0), "3,970–5,078 €");
        assert_eq!(de.eur_range(3970.0, 5078.0), "3.970–5.078 €");
        assert_eq!(en.pct(0.123), "12.3%");
        assert_eq!(de.pct(0.123), "12,3 %");
        assert_eq!(en.signed_pct(0.022), "+2.2%");
        assert_eq!(en.signed_pct(-0.077), "-7.7%");
        assert_eq!(de.signed_pct(-0.077), "-7,7 %");
        assert_eq!(en.signed_pct(0.0), "0.0%");
        assert_eq!(en.signed_eur(118.0), "+118 €");
        assert_eq!(en.eur(f64::NAN), "–");
        // A negative that rounds to zero has no sign.
        assert_eq!(en.number(-0.04, 1), "0.0");
        assert_eq!(en.int(999.0), "999");
        assert_eq!(en.int(1_000_000.0), "1,000,000");
    }

    #[test]
    fn locales_parse_from_their_tags() {
        assert_eq!(Locale::parse("de-DE"), Some(Locale::De));
        assert_eq!(Locale::parse("DE"), Some(Locale::De));
        assert_eq!(Locale::parse("en_GB"), Some(Locale::En));
        assert_eq!(Locale::parse("fr"), None);
        for l in Locale::ALL {
            assert_eq!(Locale::parse(l.tag()), Some(l));
        }
    }
}
