//! Number formatting and the building blocks of generated sentences.
//!
//! Why this module exists: every conclusion is written from the numbers, so the same phrases
//! ("+23.4% (95% CI +21.0% to +25.9%)", "statistically significant, Holm-adjusted
//! p < 0.001") must come out the same everywhere. Keeping them here makes the findings read
//! alike and keeps formatting decisions (signs, thousands separators) in one place.

use crate::model::{Statistic, Unit};

/// The one number format of the product (English: `1,234`, `12.3%`, `-5.0%`).
const N: storecast_charts::Numbers = storecast_charts::Numbers::EN;

/// Thousands-separated integer (e.g. `12,345`).
pub fn thousands(x: f64) -> String {
    N.int(x)
}

/// Euros, rounded sensibly (`1,234 €`, `9.87 €`).
pub fn eur(x: f64) -> String {
    if x.is_finite() && x.abs() < 100.0 {
        format!("{} €", N.number(x, 2))
    } else {
        N.eur(x)
    }
}

/// Signed euros (`+1,234 €`).
pub fn eur_signed(x: f64) -> String {
    let s = eur(x);
    if x.is_finite() && x >= 0.0 {
        format!("+{s}")
    } else {
        s
    }
}

/// Large euro amounts in words (`1.2 M€`, `350 k€`).
pub fn eur_big(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    let a = x.abs();
    let sign = if x < 0.0 { "-" } else { "" };
    if a >= 1e9 {
        format!("{sign}{} bn €", N.number(a / 1e9, 1))
    } else if a >= 1e6 {
        format!("{sign}{} M€", N.number(a / 1e6, 1))
    } else if a >= 1e3 {
        format!("{sign}{} k€", N.number(a / 1e3, 0))
    } else {
        format!("{sign}{} €", N.number(a, 0))
    }
}

/// A change as a signed percentage (`+23.4%`).
pub fn pct(x: f64) -> String {
    N.signed_pct(x)
}

/// A share as a percentage (`23.4%`).
pub fn share(x: f64) -> String {
    N.pct(x)
}

/// A value in its unit.
pub fn value(x: f64, unit: Unit) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    match unit {
        Unit::Change => pct(x),
        Unit::Share => share(x),
        Unit::Index => format!("{x:.3}"),
        Unit::Eur | Unit::EurPerStoreDay => eur(x),
        Unit::EurPerCustomer => format!("{x:.2} €"),
        Unit::Customers => format!("{x:.0}"),
        Unit::Count => thousands(x),
        Unit::Correlation | Unit::EffectSize => N.number(x, 3),
        Unit::Days => format!("{x:.1}"),
    }
}

/// The interval of a statistic (`+21.0 % to +25.9 %`), or an empty string.
pub fn ci(s: &Statistic) -> String {
    match (s.ci_low, s.ci_high) {
        (Some(l), Some(h)) => format!("{} to {}", value(l, s.unit), value(h, s.unit)),
        _ => String::new(),
    }
}

/// `+23.4% (95% CI +21.0% to +25.9%)`.
pub fn with_ci(s: &Statistic) -> String {
    let c = ci(s);
    if c.is_empty() {
        value(s.estimate, s.unit)
    } else {
        format!("{} (95% CI {c})", value(s.estimate, s.unit))
    }
}

/// A p-value (`p < 0.001`, `p = 0.012`).
pub fn p(p: f64) -> String {
    if !p.is_finite() {
        "p n/a".into()
    } else if p < 0.001 {
        "p < 0.001".into()
    } else if p < 0.1 {
        format!("p = {p:.3}")
    } else {
        format!("p = {p:.2}")
    }
}

/// A p-value cell for tables.
pub fn p_cell(p: Option<f64>) -> String {
    match p {
        None => String::new(),
        Some(x) if x < 0.001 => "<0.001".into(),
        Some(x) if x < 0.1 => format!("{x:.3}"),
        Some(x) => format!("{x:.2}"),
    }
}

/// "statistically significant, Holm-adjusted p < 0.001" or "not statistically significant,
/// Holm-adjusted p = 0.41"; falls back to the interval when the statistic has no test.
pub fn certainty(s: &Statistic, alpha: f64, correction: &str) -> String {
    match s.p_adjusted {
        Some(pa) if pa < alpha => {
            format!("statistically significant, {correction}-adjusted {}", p(pa))
        }
        Some(pa) => format!(
            "not statistically significant, {correction}-adjusted {}",
            p(pa)
        ),
        None => {
            if s.ci_excludes(null_of(s.unit)) {
                "the 95% interval excludes no effect".into()
            } else {
                "the 95% interval includes no effect".into()
            }
        }
    }
}

/// The "no effect" value of a unit (1 for indices, 0 otherwise).
pub fn null_of(unit: Unit) -> f64 {
    if unit == Unit::Index {
        1.0
    } else {
        0.0
    }
}

/// "higher"/"lower" for a change.
pub fn direction(x: f64, up: &str, down: &str) -> String {
    if x >= 0.0 {
        up.to_string()
    } else {
        down.to_string()
    }
}

/// Capitalises the first letter.
pub fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(-999.0), "-999");
        assert_eq!(pct(0.2345), "+23.4%");
        assert_eq!(pct(-0.05), "-5.0%");
        assert_eq!(pct(-0.0001), "0.0%");
        assert_eq!(eur(6543.2), "6,543 €");
        assert_eq!(eur(9.876), "9.88 €");
        assert_eq!(eur_big(2_345_000.0), "2.3 M€");
        assert_eq!(p(0.0004), "p < 0.001");
        assert_eq!(p(0.0123), "p = 0.012");
        assert_eq!(p(0.41), "p = 0.41");
        let s = Statistic::new("x", "x", 0.2, Unit::Change, 10).ci((0.1, 0.3));
        assert_eq!(with_ci(&s), "+20.0% (95% CI +10.0% to +30.0%)");
    }
}
