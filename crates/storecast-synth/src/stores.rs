//! The stores: types, assortments, states, competition, Promo2, refurbishments.
//!
//! Why this module exists: the store dimension carries most of the cross-sectional
//! structure (type b sells more, assortment c has bigger baskets, a competitor opening cuts
//! sales). Drawing every store attribute here, once and from per-store random streams, keeps
//! the truth (`StoreTruth`) and the published `store.csv` row consistent by construction,
//! and keeps one store's draws independent of every other store's.

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::calendar::{state_code, state_shares, STATE_COUNT};
use crate::config::SynthConfig;
use crate::rng::{stream, Stream};

// The vocabulary is the data's own: one definition of each type, so a synthetic chain and the
// files it writes speak the loader's language.
pub use storecast_data::{Assortment, PromoInterval, StoreType};

/// A store's Promo2 participation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Promo2 {
    /// ISO week of the start (`Promo2SinceWeek`).
    pub since_week: u32,
    /// ISO year of the start (`Promo2SinceYear`).
    pub since_year: i32,
    /// Relaunch months (`PromoInterval`).
    pub interval: PromoInterval,
    /// Monday of the start week: the effect applies from this day on, in interval months.
    pub start: NaiveDate,
}

/// A competitor that opens inside the data range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CompetitorOpening {
    /// First day of the opening month (sales drop from this day on).
    pub date: NaiveDate,
    /// Planted drop (0.10 = sales × 0.90); larger when the competitor is closer.
    pub drop: f64,
}

/// Everything planted for one store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreTruth {
    /// Store id (1-based).
    pub store: u16,
    /// Store type.
    pub store_type: StoreType,
    /// Assortment.
    pub assortment: Assortment,
    /// Internal state code (not in `store.csv`).
    pub state: String,
    /// Base level: median daily sales (€) on a normal open day at the start of the data —
    /// no promo, no holiday or season effect, weekday multiplier 1 (a Tuesday).
    pub base_level: f64,
    /// Multiplicative promo uplift (0.22 = +22 %).
    pub promo_uplift: f64,
    /// Yearly growth (0.02 = +2 % a year).
    pub growth_per_year: f64,
    /// Median basket (€ per customer) on a normal non-promo day.
    pub basket: f64,
    /// Whether the store opens on Sundays (all type b stores, a handful of others).
    pub opens_sundays: bool,
    /// Whether the store opens on state holidays (at reduced sales).
    pub opens_on_holidays: bool,
    /// `CompetitionDistance` in metres as written (blank under quirks for 3 stores).
    pub competition_distance: Option<u32>,
    /// `CompetitionOpenSince` month/year as written, as the first day of that month.
    pub competition_open_since: Option<NaiveDate>,
    /// A competitor opening inside the data range, with its planted drop.
    pub competitor_opening: Option<CompetitorOpening>,
    /// Promo2 participation.
    pub promo2: Option<Promo2>,
    /// Refurbishment closure `(first, last)` day inclusive (Open = 0, not a holiday).
    pub refurbishment: Option<(NaiveDate, NaiveDate)>,
}

/// Store-type shares `[a, b, c, d]`.
pub(crate) const TYPE_SHARES: [f64; 4] = [0.54, 0.02, 0.13, 0.31];
/// Share of stores with assortment b (all inside type b).
const ASSORTMENT_B_SHARE: f64 = 0.01;
/// Share of stores with assortment c.
const ASSORTMENT_C_SHARE: f64 = 0.46;
/// Share of non-b stores that also open on Sundays.
const SUNDAY_OPEN_OTHER_SHARE: f64 = 0.005;
/// Share of stores that open on state holidays.
const HOLIDAY_OPEN_SHARE: f64 = 0.03;
/// Share of stores whose competitor opens inside the range.
const IN_RANGE_COMPETITOR_SHARE: f64 = 0.15;
/// Share of stores with a `CompetitionOpenSince` (including the in-range ones).
const OPEN_SINCE_SHARE: f64 = 0.68;
/// Share of stores in Promo2.
const PROMO2_SHARE: f64 = 0.50;
/// Share of stores closed once for refurbishment.
const REFURB_SHARE: f64 = 0.03;
/// Number of stores whose `CompetitionDistance` is blank under quirks.
const BLANK_DISTANCE_STORES: usize = 3;
/// Median and log-sd of `CompetitionDistance` (metres).
const DISTANCE_MEDIAN: f64 = 2300.0;
const DISTANCE_SIGMA: f64 = 1.2;

/// Splits `n` into counts proportional to `shares` (largest remainder; sums to `n`).
pub(crate) fn quotas(n: usize, shares: &[f64]) -> Vec<usize> {
    let total: f64 = shares.iter().sum();
    let exact: Vec<f64> = shares.iter().map(|s| s / total * n as f64).collect();
    let mut counts: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    // Largest fractional part first; ties by index, so the result is deterministic.
    order.sort_by(|&i, &j| {
        let fi = exact[i] - exact[i].floor();
        let fj = exact[j] - exact[j].floor();
        fj.total_cmp(&fi).then(i.cmp(&j))
    });
    let mut left = n - counts.iter().sum::<usize>();
    for i in order {
        if left == 0 {
            break;
        }
        counts[i] += 1;
        left -= 1;
    }
    counts
}

/// Rounded count of `share × n`.
pub(crate) fn count(share: f64, n: usize) -> usize {
    (share * n as f64).round() as usize
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// First days of the months in which an in-range competitor may open: from 5 months after
/// the start to 3 months before the train end (2013-06 .. 2015-03 for the defaults).
fn opening_months(cfg: &SynthConfig) -> Vec<NaiveDate> {
    let first = cfg
        .start
        .with_day(1)
        .and_then(|d| d.checked_add_months(Months::new(5)));
    let last = cfg
        .train_end
        .checked_sub_months(Months::new(3))
        .and_then(|d| d.with_day(1));
    let (Some(mut m), Some(last)) = (first, last) else {
        return Vec::new();
    };
    let mut months = Vec::new();
    while m <= last {
        months.push(m);
        match m.checked_add_months(Months::new(1)) {
            Some(next) => m = next,
            None => break,
        }
    }
    months
}

/// Draws every store. `global` decides the chain-level allocations (types, states, …);
/// each store's own values come from its own stream, so they do not depend on other stores.
pub(crate) fn sample_stores(cfg: &SynthConfig, global: &mut ChaCha8Rng) -> Vec<StoreTruth> {
    let al = allocate(cfg, global);
    // Share of the remaining stores that still get a (pre-range) CompetitionOpenSince.
    let other_since_share = ((OPEN_SINCE_SHARE - IN_RANGE_COMPETITOR_SHARE)
        / (1.0 - IN_RANGE_COMPETITOR_SHARE))
        .clamp(0.0, 1.0);
    (0..usize::from(cfg.stores))
        .map(|i| one_store(cfg, &al, i, other_since_share))
        .collect()
}

/// The chain-level allocations, drawn from the chain's stream in a fixed order.
struct Allocation {
    types: Vec<StoreType>,
    assortments: Vec<Assortment>,
    states: Vec<usize>,
    sunday: Vec<bool>,
    holiday_open: Vec<bool>,
    /// Stores whose distance is blank (under quirks).
    blank_distance: Vec<usize>,
    /// Stores whose competitor opens inside the range.
    in_range: Vec<bool>,
    refurb: Vec<bool>,
    /// The months a competitor may open in.
    months: Vec<NaiveDate>,
}

/// Types, assortments and states by quota; Sunday and holiday openers; blank distances,
/// in-range competitors and refurbishments.
fn allocate(cfg: &SynthConfig, global: &mut ChaCha8Rng) -> Allocation {
    let n = usize::from(cfg.stores);
    // Types by quota, shuffled.
    let mut types: Vec<StoreType> = quotas(n, &TYPE_SHARES)
        .into_iter()
        .zip(StoreType::ALL)
        .flat_map(|(c, t)| (0..c).map(move |_| t))
        .collect();
    types.shuffle(global);

    // Assortments: b only for type b stores; c among the others.
    let mut assortments = vec![Assortment::Basic; n];
    let mut b_stores: Vec<usize> = (0..n).filter(|&i| types[i] == StoreType::B).collect();
    let mut others: Vec<usize> = (0..n).filter(|&i| types[i] != StoreType::B).collect();
    b_stores.shuffle(global);
    others.shuffle(global);
    let b_count =
        count(ASSORTMENT_B_SHARE, n).clamp(usize::from(!b_stores.is_empty()), b_stores.len());
    for &i in b_stores.iter().take(b_count) {
        assortments[i] = Assortment::Extra;
    }
    for &i in others
        .iter()
        .take(count(ASSORTMENT_C_SHARE, n).min(others.len()))
    {
        assortments[i] = Assortment::Extended;
    }

    // States by quota, shuffled.
    let mut states: Vec<usize> = quotas(n, &state_shares())
        .into_iter()
        .enumerate()
        .flat_map(|(s, c)| (0..c).map(move |_| s))
        .collect();
    states.shuffle(global);
    debug_assert!(states.iter().all(|&s| s < STATE_COUNT));

    // Sunday openers: every type b store and a handful of others.
    let mut sunday = vec![false; n];
    for &i in &b_stores {
        sunday[i] = true;
    }
    others.shuffle(global);
    for &i in others
        .iter()
        .take(count(SUNDAY_OPEN_OTHER_SHARE, others.len()))
    {
        sunday[i] = true;
    }

    // Holiday openers.
    let mut all: Vec<usize> = (0..n).collect();
    all.shuffle(global);
    let mut holiday_open = vec![false; n];
    for &i in all.iter().take(count(HOLIDAY_OPEN_SHARE, n)) {
        holiday_open[i] = true;
    }

    // Blank distances (applied only under quirks, drawn always so the rest is unchanged).
    all.shuffle(global);
    let blank_distance: Vec<usize> = all
        .iter()
        .take(BLANK_DISTANCE_STORES.min(n))
        .copied()
        .collect();

    // In-range competitors among stores with a distance.
    let months = opening_months(cfg);
    let mut candidates: Vec<usize> = (0..n).filter(|i| !blank_distance.contains(i)).collect();
    candidates.shuffle(global);
    let mut in_range = vec![false; n];
    if !months.is_empty() {
        for &i in candidates
            .iter()
            .take(count(IN_RANGE_COMPETITOR_SHARE, n).min(candidates.len()))
        {
            in_range[i] = true;
        }
    }

    // Refurbishments.
    all.shuffle(global);
    let mut refurb = vec![false; n];
    for &i in all.iter().take(count(REFURB_SHARE, n)) {
        refurb[i] = true;
    }
    Allocation {
        types,
        assortments,
        states,
        sunday,
        holiday_open,
        blank_distance,
        in_range,
        refurb,
        months,
    }
}

/// Store `i`'s truth, from its own stream (a fixed draw order, whatever its attributes).
fn one_store(cfg: &SynthConfig, al: &Allocation, i: usize, other_since_share: f64) -> StoreTruth {
    let fx = &cfg.effects;
    let id = (i + 1) as u16;
    let mut rng = stream(cfg.seed, Stream::StoreAttributes(id));
    let t = al.types[i];
    let a = al.assortments[i];
    // Fixed draw order: every store consumes the same draws whatever its attributes.
    let z_base = normal(&mut rng);
    let z_promo = normal(&mut rng);
    let z_growth = normal(&mut rng);
    let z_basket = normal(&mut rng);
    let z_distance = normal(&mut rng);
    let u_since: f64 = rng.gen();
    let since_back = -(1.0 - rng.gen::<f64>()).ln() * 4.0;
    let since_month: u32 = rng.gen_range(1..=12);
    let opening_idx = rng.gen_range(0..al.months.len().max(1));
    let u_promo2: f64 = rng.gen();
    let promo2_week: u32 = rng.gen_range(1..=52);
    let promo2_year_u: f64 = rng.gen();
    let promo2_interval = rng.gen_range(0..3);
    let refurb_len: u64 = rng.gen_range(21..=56);
    let refurb_u: f64 = rng.gen();

    // Store values are rounded to a few decimals: readable in effects.json, and
    // the rounded value is the one simulated, so the JSON holds the exact truth.
    let base_level = round_to(
        fx.base_median * fx.type_level[t.index()] * (fx.base_sigma * z_base).exp(),
        2,
    );
    let promo_uplift = round_to(
        (fx.promo_uplift[t.index()] + fx.promo_uplift_jitter * z_promo).max(-0.5),
        5,
    );
    let growth_per_year = round_to(
        fx.growth_per_year[t.index()] + fx.growth_jitter * z_growth,
        5,
    );
    let basket = round_to(
        fx.basket_assortment[a.index()]
            * fx.basket_type[t.index()]
            * (fx.basket_store_sigma * z_basket).exp(),
        3,
    );

    let distance = ((DISTANCE_MEDIAN * (DISTANCE_SIGMA * z_distance).exp() / 10.0).round() * 10.0)
        .clamp(20.0, 75_860.0) as u32;
    let blank = cfg.quirks && al.blank_distance.contains(&i);

    let competitor_opening = if al.in_range[i] {
        let date = al.months[opening_idx.min(al.months.len() - 1)];
        // Closeness 1 at 50 m, 0 at 20 km and beyond (log scale).
        let closeness = ((20_000f64.ln() - f64::from(distance).ln())
            / (20_000f64.ln() - 50f64.ln()))
        .clamp(0.0, 1.0);
        let drop = round_to(
            fx.competitor_drop_min + (fx.competitor_drop_max - fx.competitor_drop_min) * closeness,
            5,
        );
        Some(CompetitorOpening { date, drop })
    } else {
        None
    };
    let competition_open_since = match competitor_opening {
        Some(c) => Some(c.date),
        None if !al.blank_distance.contains(&i) && u_since < other_since_share => {
            let year = (cfg.start.year() - 1 - since_back.floor() as i32).max(1961);
            NaiveDate::from_ymd_opt(year, since_month, 1)
        }
        None => None,
    };

    let promo2 = (u_promo2 < PROMO2_SHARE)
        .then(|| promo2(cfg, promo2_week, promo2_year_u, promo2_interval))
        .flatten();
    let refurbishment = if al.refurb[i] {
        refurbishment(cfg, refurb_len, refurb_u)
    } else {
        None
    };

    StoreTruth {
        store: id,
        store_type: t,
        assortment: a,
        state: state_code(al.states[i]).to_string(),
        base_level,
        promo_uplift,
        growth_per_year,
        basket,
        opens_sundays: al.sunday[i],
        opens_on_holidays: al.holiday_open[i],
        competition_distance: (!blank).then_some(distance),
        competition_open_since,
        competitor_opening,
        promo2,
        refurbishment,
    }
}

/// A Promo2 participation from the store's draws (its week, year and interval), moved a year
/// back when it would start after the history.
fn promo2(
    cfg: &SynthConfig,
    promo2_week: u32,
    promo2_year_u: f64,
    promo2_interval: usize,
) -> Option<Promo2> {
    let last_year = cfg.train_end.year().max(2009);
    let span = f64::from(last_year - 2009 + 1);
    let mut year = 2009 + (promo2_year_u * span).floor() as i32;
    let interval = [
        PromoInterval::JanAprJulOct,
        PromoInterval::FebMayAugNov,
        PromoInterval::MarJunSepDec,
    ][promo2_interval];
    let mut start = NaiveDate::from_isoywd_opt(year, promo2_week, Weekday::Mon);
    if start.is_some_and(|s| s > cfg.train_end) {
        year -= 1;
        start = NaiveDate::from_isoywd_opt(year, promo2_week, Weekday::Mon);
    }
    start.map(|start| Promo2 {
        since_week: promo2_week,
        since_year: year,
        interval,
        start,
    })
}

/// A refurbishment of `refurb_len` days placed at `refurb_u` of the range, a month clear of
/// either end.
fn refurbishment(
    cfg: &SynthConfig,
    refurb_len: u64,
    refurb_u: f64,
) -> Option<(NaiveDate, NaiveDate)> {
    let earliest = cfg.start.checked_add_days(Days::new(30));
    let latest = cfg.train_end.checked_sub_days(Days::new(30 + refurb_len));
    match (earliest, latest) {
        (Some(e), Some(l)) if l > e => {
            let span = (l - e).num_days() as f64;
            let from = e + Days::new((refurb_u * span).floor() as u64);
            Some((from, from + Days::new(refurb_len - 1)))
        }
        _ => None,
    }
}

/// `v` rounded to `decimals` decimal places.
fn round_to(v: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (v * scale).round() / scale
}

/// Index of a state code in the calendar's state list.
pub(crate) fn state_index(code: &str) -> usize {
    (0..STATE_COUNT)
        .find(|&s| state_code(s) == code)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_sum_and_follow_shares() {
        assert_eq!(quotas(100, &TYPE_SHARES), vec![54, 2, 13, 31]);
        let q = quotas(1115, &TYPE_SHARES);
        assert_eq!(q.iter().sum::<usize>(), 1115);
        assert_eq!(quotas(1, &TYPE_SHARES).iter().sum::<usize>(), 1);
    }

    #[test]
    fn promo_interval_months() {
        let i = PromoInterval::MarJunSepDec;
        let months: Vec<u32> = (1..=12).filter(|&m| i.contains_month(m)).collect();
        assert_eq!(months, vec![3, 6, 9, 12]);
        let j = PromoInterval::JanAprJulOct;
        let months: Vec<u32> = (1..=12).filter(|&m| j.contains_month(m)).collect();
        assert_eq!(months, vec![1, 4, 7, 10]);
    }
}
