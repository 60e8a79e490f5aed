//! Recovery tests on synthetic chains with planted effects.
//!
//! Why these tests exist: on real data nobody knows the true promo uplift, so the statistics
//! are checked where the truth is known. `storecast-synth` plants per-store promo uplifts, a
//! weekday profile, competitor openings with per-store drops and more; the analysis must find
//! each planted value INSIDE its reported 95 % interval — and the interval must be narrow
//! enough to mean something, so a test cannot pass by reporting a huge interval. With every
//! effect switched off, the promo finding must not be significant.

use std::sync::OnceLock;
use storecast_analysis::{analyze, Analysis, AnalysisConfig, Statistic};
use storecast_data::ChainData;
use storecast_synth::{generate, PlantedEffects, SynthChain, SynthConfig};
use storecast_validate::{validate, ValidateConfig};

const STORES: u16 = 1115;

fn run(effects: PlantedEffects, quirks: bool) -> (SynthChain, Analysis) {
    let cfg = SynthConfig {
        stores: STORES,
        quirks,
        effects,
        ..SynthConfig::default()
    };
    let chain = generate(&cfg).expect("synthetic chain");
    let report = ChainData::from_bytes(
        chain.train_csv(),
        chain.store_csv(),
        Some(chain.test_csv()),
        "synth",
    )
    .expect("loads");
    let validation = validate(&report, &ValidateConfig::default());
    let analysis = analyze(&report.data, Some(&validation), &AnalysisConfig::default());
    (chain, analysis)
}

fn realistic() -> &'static (SynthChain, Analysis) {
    static CELL: OnceLock<(SynthChain, Analysis)> = OnceLock::new();
    CELL.get_or_init(|| run(PlantedEffects::realistic(), false))
}

fn stat<'a>(a: &'a Analysis, finding: &str, name: &str) -> &'a Statistic {
    a.finding(finding)
        .and_then(|f| f.stat(name))
        .unwrap_or_else(|| panic!("missing statistic {finding}/{name}"))
}

/// Asserts `truth` lies inside the statistic's interval and the interval is at most `max_width`.
fn assert_recovers(s: &Statistic, truth: f64, max_width: f64) {
    let (lo, hi) = (s.ci_low.expect("interval"), s.ci_high.expect("interval"));
    assert!(
        lo <= truth && truth <= hi,
        "{}: planted {truth:.4} outside the reported interval [{lo:.4}, {hi:.4}] (estimate {:.4})",
        s.name,
        s.estimate
    );
    assert!(
        hi - lo <= max_width,
        "{}: interval [{lo:.4}, {hi:.4}] wider than {max_width}",
        s.name
    );
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = xs.collect();
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn promo_uplift_is_recovered_overall_and_by_store_type() {
    let (chain, a) = realistic();
    let truth = &chain.truth.stores;
    let overall = mean(truth.iter().map(|s| s.promo_uplift));
    let s = stat(a, "promo", "promo_uplift");
    assert_recovers(s, overall, 0.02);
    assert!(
        s.significant(0.05),
        "planted uplift must be significant: {s:?}"
    );
    for code in ["a", "b", "c", "d"] {
        let t = mean(
            truth
                .iter()
                .filter(|s| s.store_type.code() == code)
                .map(|s| s.promo_uplift),
        );
        // Type b has only ~2 % of the stores: a wider interval is honest there.
        let width = if code == "b" { 0.06 } else { 0.03 };
        assert_recovers(
            stat(a, "promo", &format!("promo_uplift_type_{code}")),
            t,
            width,
        );
    }
    // The planted split is half customers, half basket on the log scale.
    let share = stat(a, "basket", "promo_traffic_share");
    assert_recovers(share, chain.truth.effects.promo_customer_share, 0.05);
    // No planted effect on the Saturday after a promo week.
    let sat = stat(a, "promo", "promo_saturday_after");
    assert!(
        sat.ci_low.unwrap_or(1.0) <= 0.0 && sat.ci_high.unwrap_or(-1.0) >= 0.0,
        "{sat:?}"
    );
}

#[test]
fn weekday_profile_is_recovered() {
    let (chain, a) = realistic();
    let w = chain.truth.effects.weekday;
    let mon_sat = w[..6].iter().sum::<f64>() / 6.0;
    for (i, day) in ["mon", "tue", "wed", "thu", "fri", "sat"]
        .iter()
        .enumerate()
    {
        let s = stat(a, "weekday", &format!("weekday_index_{day}"));
        assert_recovers(s, w[i] / mon_sat, 0.02);
    }
    // Sunday openers: Sunday relative to their Mon–Sat mean.
    let sun = stat(a, "weekday", "sunday_index");
    assert_recovers(sun, w[6] / mon_sat, 0.08);
    // Most stores never open on Sundays (as planted).
    assert!(stat(a, "weekday", "sunday_closed_share").estimate > 0.9);
}

#[test]
fn competitor_opening_drop_is_recovered() {
    let (chain, a) = realistic();
    let planted = chain
        .truth
        .stores
        .iter()
        .filter(|s| s.competitor_opening.is_some())
        .count();
    // The stores the event study used are listed in the finding's table.
    let table = &a.finding("competition").expect("competition").tables[0];
    let used: Vec<u16> = table
        .rows
        .iter()
        .map(|r| r[0].parse().expect("store id"))
        .collect();
    let drops: Vec<f64> = used
        .iter()
        .map(|&id| {
            let t = chain.truth.store(id).expect("store");
            -t.competitor_opening
                .expect("listed stores had an opening")
                .drop
        })
        .collect();
    let s = stat(a, "competition", "competitor_opening_effect");
    assert_eq!(s.n, drops.len());
    assert!(
        drops.len() * 100 >= planted * 95,
        "at least 95 % of the {planted} planted openings are usable, got {}",
        drops.len()
    );
    let truth = drops.iter().sum::<f64>() / drops.len() as f64;
    assert_recovers(s, truth, 0.03);
    assert!(s.significant(0.05));
}

#[test]
fn calendar_effects_are_recovered() {
    let (chain, a) = realistic();
    let fx = &chain.truth.effects;
    assert_recovers(
        stat(a, "holidays", "pre_holiday_surge"),
        fx.pre_holiday_surge,
        0.03,
    );
    assert_recovers(
        stat(a, "holidays", "post_closure_surge"),
        fx.post_closure_surge,
        0.03,
    );
    assert_recovers(
        stat(a, "holidays", "school_holiday_effect"),
        fx.school_holiday_uplift,
        0.02,
    );
    assert_recovers(
        stat(a, "seasonality", "month_start_effect"),
        fx.payday_uplift,
        0.03,
    );
    // December clearly above November; planted peak ramps to +35 % on the 23rd.
    let dec = stat(a, "seasonality", "december_vs_november");
    assert!(dec.estimate > 0.05 && dec.significant(0.05), "{dec:?}");
}

#[test]
fn null_chain_shows_no_promo_effect() {
    let (_, a) = run(PlantedEffects::none(), false);
    let s = stat(&a, "promo", "promo_uplift");
    let ci_has_zero = s.ci_low.unwrap_or(1.0) <= 0.0 && s.ci_high.unwrap_or(-1.0) >= 0.0;
    let not_significant = s.p_adjusted.is_some_and(|p| p > 0.05);
    assert!(ci_has_zero || not_significant, "null chain: {s:?}");
    assert!(not_significant, "null chain must not be significant: {s:?}");
    for code in ["a", "b", "c", "d"] {
        let t = stat(&a, "promo", &format!("promo_uplift_type_{code}"));
        assert!(t.p_adjusted.is_some_and(|p| p > 0.05), "{t:?}");
    }
    // And no promo headline is claimed.
    assert!(
        !a.headlines.iter().any(|h| h.finding_id == "promo"),
        "{:?}",
        a.headlines
    );
    let no_weekday = stat(&a, "weekday", "weekday_index_mon");
    assert!(
        no_weekday.p_adjusted.is_some_and(|p| p > 0.05),
        "{no_weekday:?}"
    );
}

#[test]
fn quirky_chain_reports_the_gap_with_a_link() {
    let (_, a) = run(PlantedEffects::realistic(), true);
    let f = a.finding("caveats").expect("caveats");
    let gap = f.stat("main_gap_stores").expect("gap statistic");
    assert!(gap.estimate >= 150.0, "{gap:?}");
    assert!(f.conclusion.contains("2014-07-01"), "{}", f.conclusion);
    assert!(
        f.links
            .iter()
            .any(|l| l.href == "validation.html#series_gap"),
        "{:?}",
        f.links
    );
    // The promo estimate survives the quirks.
    let p = stat(&a, "promo", "promo_uplift");
    assert!(p.estimate > 0.15 && p.estimate < 0.27, "{p:?}");
}
