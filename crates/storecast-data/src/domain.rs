//! The small closed vocabularies of the data (store type, assortment, state holiday, promo
//! interval) as enums, so later code matches on meanings instead of comparing strings.

use serde::{Deserialize, Serialize};
use std::fmt;

/// `StateHoliday` column: which kind of public holiday a day is, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StateHoliday {
    /// `0`: an ordinary day.
    None,
    /// `a`: a public holiday.
    Public,
    /// `b`: Easter holiday (Good Friday, Easter Monday).
    Easter,
    /// `c`: Christmas (25–26 December).
    Christmas,
}

impl StateHoliday {
    /// Parses the published code (`0`, `a`, `b`, `c`).
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "0" => Some(Self::None),
            "a" => Some(Self::Public),
            "b" => Some(Self::Easter),
            "c" => Some(Self::Christmas),
            _ => None,
        }
    }
    /// The published code.
    pub fn code(self) -> &'static str {
        match self {
            Self::None => "0",
            Self::Public => "a",
            Self::Easter => "b",
            Self::Christmas => "c",
        }
    }
    /// True for any holiday (a, b or c).
    pub fn is_holiday(self) -> bool {
        self != Self::None
    }
}

/// `StoreType` column: the chain's four store formats (`a`..`d`), undocumented by the chain.
#[derive(
    utoipa::ToSchema,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
)]
pub enum StoreType {
    /// `a`
    A,
    /// `b`
    B,
    /// `c`
    C,
    /// `d`
    D,
}

impl StoreType {
    /// All store types, in code order.
    pub const ALL: [StoreType; 4] = [Self::A, Self::B, Self::C, Self::D];
    /// Parses `a`..`d`.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "a" => Some(Self::A),
            "b" => Some(Self::B),
            "c" => Some(Self::C),
            "d" => Some(Self::D),
            _ => None,
        }
    }
    /// The published code.
    pub fn code(self) -> &'static str {
        match self {
            Self::A => "a",
            Self::B => "b",
            Self::C => "c",
            Self::D => "d",
        }
    }
    /// Position in [`StoreType::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for StoreType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// `Assortment` column: `a` basic, `b` extra, `c` extended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Assortment {
    /// `a`: basic.
    Basic,
    /// `b`: extra.
    Extra,
    /// `c`: extended.
    Extended,
}

impl Assortment {
    /// All assortments, in code order.
    pub const ALL: [Assortment; 3] = [Self::Basic, Self::Extra, Self::Extended];
    /// Parses `a`..`c`.
    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "a" => Some(Self::Basic),
            "b" => Some(Self::Extra),
            "c" => Some(Self::Extended),
            _ => None,
        }
    }
    /// The published code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Basic => "a",
            Self::Extra => "b",
            Self::Extended => "c",
        }
    }
    /// A readable name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Basic => "basic",
            Self::Extra => "extra",
            Self::Extended => "extended",
        }
    }
    /// Position in [`Assortment::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Assortment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// `PromoInterval` column: the months in which a Promo2 store restarts its continuing promotion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PromoInterval {
    /// `Jan,Apr,Jul,Oct`
    JanAprJulOct,
    /// `Feb,May,Aug,Nov`
    FebMayAugNov,
    /// `Mar,Jun,Sept,Dec`
    MarJunSepDec,
}

impl PromoInterval {
    /// Parses the published text (note the data's `Sept`).
    pub fn from_text(text: &str) -> Option<Self> {
        match text {
            "Jan,Apr,Jul,Oct" => Some(Self::JanAprJulOct),
            "Feb,May,Aug,Nov" => Some(Self::FebMayAugNov),
            "Mar,Jun,Sept,Dec" => Some(Self::MarJunSepDec),
            _ => None,
        }
    }
    /// The published text.
    pub fn text(self) -> &'static str {
        match self {
            Self::JanAprJulOct => "Jan,Apr,Jul,Oct",
            Self::FebMayAugNov => "Feb,May,Aug,Nov",
            Self::MarJunSepDec => "Mar,Jun,Sept,Dec",
        }
    }
    /// True when `month` (1..=12) is a restart month.
    pub fn contains_month(self, month: u32) -> bool {
        let first = match self {
            Self::JanAprJulOct => 1,
            Self::FebMayAugNov => 2,
            Self::MarJunSepDec => 3,
        };
        (1..=12).contains(&month) && (month + 12 - first).is_multiple_of(3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promo_interval_months() {
        let p = PromoInterval::from_text("Mar,Jun,Sept,Dec").expect("valid");
        let months: Vec<u32> = (1..=12).filter(|m| p.contains_month(*m)).collect();
        assert_eq!(months, vec![3, 6, 9, 12]);
        let p = PromoInterval::JanAprJulOct;
        let months: Vec<u32> = (1..=12).filter(|m| p.contains_month(*m)).collect();
        assert_eq!(months, vec![1, 4, 7, 10]);
        assert!(PromoInterval::from_text("Mar,Jun,Sep,Dec").is_none());
    }

    #[test]
    fn codes_round_trip() {
        for c in ["0", "a", "b", "c"] {
            assert_eq!(StateHoliday::from_code(c).map(|h| h.code()), Some(c));
        }
        assert_eq!(StateHoliday::from_code("d"), None);
        for t in StoreType::ALL {
            assert_eq!(StoreType::from_code(t.code()), Some(t));
        }
        for a in Assortment::ALL {
            assert_eq!(Assortment::from_code(a.code()), Some(a));
        }
    }
}
