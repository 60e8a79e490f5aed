//! Weekday profile and Sunday openings.
//!
//! Why this module exists: staff rosters, deliveries and promo timing follow the week, and the
//! forecast's largest regular swing is the weekday. The profile is measured inside ordinary
//! weeks (no promotion, no holiday, not December) where every weekday of the store was a
//! normal open day, so each weekday is compared with the same week's other days. Sunday is
//! reported separately for the few stores that open on Sundays, with what such a Sunday brings.

use super::promo::week_status;
use super::{stat_from, type_label, Conclusion, Ctx, Draft, HeadlineCandidate, WEEKDAYS};
use crate::model::{Finding, Statistic, Table, Unit};
use crate::panel::{F_HOLIDAY, F_OPEN, F_PRESENT};
use crate::text;
use storecast_charts::{Chart, Kind, Series};

/// Slots per store-week: sales Mon..Sun, and 1 when the week is usable.
const K: usize = 8;

/// Weekday profile results.
pub struct WeekdayResult {
    /// Per store: weekday factors Mon..Sun (Sunday = 1 for stores closed on Sundays).
    pub factors: Vec<[f64; 7]>,
    /// Per store: regular Sunday opener.
    pub sunday_opener: Vec<bool>,
    est: Vec<crate::boot::Est>,
    n_profile: usize,
    n_openers_measured: usize,
    weeks: usize,
}

/// Computes the profile.
pub fn compute(ctx: &Ctx<'_>) -> WeekdayResult {
    let p = ctx.panel;
    let status = week_status(ctx);
    // Regular Sunday openers: open on at least half of their non-holiday Sundays.
    let sunday_opener: Vec<bool> = p
        .stores
        .iter()
        .map(|s| {
            let (mut open, mut all) = (0, 0);
            for d in 0..p.n_days {
                if p.dow[d] == 6 && s.has(d, F_PRESENT) && !s.has(d, F_HOLIDAY) {
                    all += 1;
                    open += usize::from(s.has(d, F_OPEN));
                }
            }
            all > 0 && open * 2 >= all
        })
        .collect();
    let weeks: Vec<usize> = (0..p.n_weeks)
        .filter(|&k| status.iter().any(|st| st[k] == 2))
        .collect();
    let nw = weeks.len();
    let mut cells = vec![0.0; p.stores.len() * nw * K];
    for (si, s) in p.stores.iter().enumerate() {
        for (pw, &k) in weeks.iter().enumerate() {
            if status[si][k] != 2 {
                continue;
            }
            let need = if sunday_opener[si] { 7 } else { 6 };
            let days: Vec<usize> = (0..need).filter_map(|w| p.day(k, w)).collect();
            if days.len() < need || !days.iter().all(|&d| s.normal(d)) {
                continue;
            }
            let o = (si * nw + pw) * K;
            for (w, &d) in days.iter().enumerate() {
                cells[o + w] = s.sales[d] / ctx.calendar[d];
            }
            cells[o + 7] = 1.0;
        }
    }
    let opener = &sunday_opener;
    let cells_ref = &cells;
    // Outputs: 0..7 index Mon..Sun (Sun over openers), 7 Sunday € (openers), 8 Mon–Sat mean €
    // (openers).
    let stat = |uw: &[f64], ww: &[f64]| -> Vec<f64> {
        let mut sum = [0.0; 9];
        let mut wsum = [0.0; 9];
        for (s, &u) in uw.iter().enumerate() {
            if u == 0.0 {
                continue;
            }
            let mut a = [0.0; K];
            for (pw, &wk) in ww.iter().enumerate() {
                if wk == 0.0 {
                    continue;
                }
                let c = &cells_ref[(s * nw + pw) * K..(s * nw + pw + 1) * K];
                if c[7] > 0.0 {
                    for j in 0..K {
                        a[j] += wk * c[j];
                    }
                }
            }
            if a[7] < 1.0 {
                continue;
            }
            let m = a[..6].iter().sum::<f64>() / 6.0;
            if m <= 0.0 {
                continue;
            }
            for w in 0..6 {
                sum[w] += u * a[w] / m;
                wsum[w] += u;
            }
            if opener[s] {
                sum[6] += u * a[6] / m;
                wsum[6] += u;
                sum[7] += u * a[6] / a[7];
                wsum[7] += u;
                sum[8] += u * m / a[7];
                wsum[8] += u;
            }
        }
        (0..9).map(|i| sum[i] / wsum[i]).collect()
    };
    let est = ctx.boot.run(201, &ctx.strata, nw, stat);

    // Per-store factors (point estimates), chain mean as fallback.
    let mut factors = vec![[f64::NAN; 7]; p.stores.len()];
    let mut n_profile = 0;
    let mut n_openers_measured = 0;
    for (s, fac) in factors.iter_mut().enumerate() {
        let mut a = [0.0; K];
        for pw in 0..nw {
            let c = &cells[(s * nw + pw) * K..(s * nw + pw + 1) * K];
            for j in 0..K {
                a[j] += c[j];
            }
        }
        if a[7] >= 4.0 {
            let m = a[..6].iter().sum::<f64>() / 6.0;
            for w in 0..6 {
                fac[w] = a[w] / m;
            }
            fac[6] = if sunday_opener[s] { a[6] / m } else { 1.0 };
            n_profile += 1;
            n_openers_measured += usize::from(sunday_opener[s]);
        }
    }
    for fac in factors.iter_mut() {
        for (w, f) in fac.iter_mut().enumerate() {
            if !f.is_finite() || *f <= 0.0 {
                *f = if w < 7 && est[w].est.is_finite() {
                    est[w].est
                } else {
                    1.0
                };
            }
        }
    }
    WeekdayResult {
        factors,
        sunday_opener,
        est,
        n_profile,
        n_openers_measured,
        weeks: nw,
    }
}

/// The weekday finding.
pub fn draft(ctx: &Ctx<'_>, r: &WeekdayResult) -> Draft {
    let p = ctx.panel;
    let e = &r.est;
    let mut stats_v = Vec::new();
    for w in 0..6 {
        stats_v.push(
            stat_from(
                &format!("weekday_index_{}", WEEKDAYS[w].to_lowercase()),
                format!("{} sales relative to the store's Mon–Sat mean", WEEKDAYS[w]),
                &e[w],
                Unit::Index,
                r.n_profile,
            )
            .p(e[w].p_vs(1.0)),
        );
    }
    let n_stores = p.stores.len();
    let openers: usize = r.sunday_opener.iter().filter(|&&o| o).count();
    let never_sunday = p
        .stores
        .iter()
        .filter(|s| !(0..p.n_days).any(|d| p.dow[d] == 6 && s.has(d, F_OPEN | F_PRESENT)))
        .count();
    stats_v.push(Statistic::new(
        "sunday_closed_share",
        "Share of stores that never open on a Sunday",
        never_sunday as f64 / n_stores.max(1) as f64,
        Unit::Share,
        n_stores,
    ));
    stats_v.push(Statistic::new(
        "sunday_openers",
        "Stores open on at least half of their Sundays",
        openers as f64,
        Unit::Count,
        n_stores,
    ));
    if r.n_openers_measured >= 2 {
        stats_v.push(
            stat_from(
                "sunday_index",
                "Sunday sales of Sunday openers relative to their Mon–Sat mean",
                &e[6],
                Unit::Index,
                r.n_openers_measured,
            )
            .p(e[6].p_vs(1.0)),
        );
        stats_v.push(stat_from(
            "sunday_sales",
            "Sales of a normal Sunday at a Sunday opener",
            &e[7],
            Unit::EurPerStoreDay,
            r.n_openers_measured,
        ));
    }
    let mut labels: Vec<String> = WEEKDAYS[..6].iter().map(|s| s.to_string()).collect();
    let mut vals: Vec<f64> = (0..6).map(|w| e[w].est).collect();
    let mut iv: Vec<(f64, f64)> = (0..6).map(|w| e[w].ci()).collect();
    if r.n_openers_measured >= 2 {
        labels.push("Sun (openers)".into());
        vals.push(e[6].est);
        iv.push(e[6].ci());
    }
    let chart = Chart::new(
        "weekday-profile",
        Kind::Bar,
        "Weekday sales relative to the store's Mon–Sat mean (ordinary weeks, 95% CI)",
    )
    .axes("weekday", "index (1 = store's Mon–Sat mean)")
    .labels(labels)
    .series(Series::new("index", vals).with_intervals(iv))
    .reference(1.0);
    let mut rows = Vec::new();
    let mut open_by_type = Vec::new();
    let mut type_labels = Vec::new();
    for t in 0..4 {
        let members = &p.by_type[t];
        if members.is_empty() {
            continue;
        }
        let o = members.iter().filter(|&&i| r.sunday_opener[i]).count();
        rows.push(vec![
            type_label(t).to_string(),
            members.len().to_string(),
            o.to_string(),
            text::share(o as f64 / members.len() as f64),
        ]);
        open_by_type.push(o as f64);
        type_labels.push(format!("type {}", type_label(t)));
    }
    let chart2 = Chart::new(
        "sunday-openers",
        Kind::Bar,
        "Regular Sunday openers by store type",
    )
    .axes("store type", "stores")
    .labels(type_labels)
    .series(Series::new("Sunday openers", open_by_type))
    .from_zero();
    let sunday_eur = e[7].est;
    let sunday_year = sunday_eur * 52.0 * openers as f64;
    let finding = Finding {
        id: "weekday".into(),
        title: "Weekday profile and Sunday openings".into(),
        question: "Which weekdays sell most, which stores open on Sundays, and what is a Sunday worth?".into(),
        method: format!(
            "Ordinary weeks only (no promotion, no state holiday, not December) in which every weekday \
             Mon–Sat (and Sunday for Sunday openers) was a normal open day. Each weekday's sales are \
             divided by the same store's Mon–Sat mean over those weeks, then averaged over {} stores. \
             A regular Sunday opener is open on at least half of its non-holiday Sundays. 95% \
             intervals: two-way bootstrap ({} replicates) over stores and the {} ordinary weeks; \
             p-values: Wald z-test of index = 1.",
            r.n_profile, ctx.boot.reps, r.weeks
        ),
        statistics: stats_v,
        effect_business: format!(
            "A normal Sunday at a Sunday opener brings {} ({} stores; ≈ {} a year together). \
             Weekday swings set staffing: the strongest day sells {} more than the weakest.",
            text::eur(sunday_eur),
            openers,
            text::eur_big(sunday_year),
            {
                let hi = (0..6).map(|w| e[w].est).fold(f64::MIN, f64::max);
                let lo = (0..6).map(|w| e[w].est).fold(f64::MAX, f64::min);
                text::share(hi / lo - 1.0)
            }
        ),
        test: Some("Wald z-test of weekday index = 1 (two-way bootstrap standard error)".into()),
        charts: vec![chart, chart2],
        tables: vec![Table::new(
            "Regular Sunday openers by store type",
            &["type", "stores", "Sunday openers", "share"],
            rows,
        )],
        conclusion: String::new(),
        links: Vec::new(),
    };
    let conclude = Words;
    Draft::new(finding, conclude)
}

/// What the conclusion reads besides the corrected finding: figures computed with it.
struct Words;

impl super::Conclude for Words {
    fn conclude(&self, f: &Finding, wd: &super::Wording) -> Conclusion {
        let mut c = Conclusion::default();
        let days: Vec<&Statistic> = f
            .statistics
            .iter()
            .filter(|s| s.name.starts_with("weekday_index_"))
            .collect();
        let (Some(best), Some(worst)) = (
            days.iter().max_by(|a, b| a.estimate.total_cmp(&b.estimate)),
            days.iter().min_by(|a, b| a.estimate.total_cmp(&b.estimate)),
        ) else {
            return c;
        };
        let day = |s: &Statistic| {
            let d = s.name.trim_start_matches("weekday_index_");
            text::capitalise(d)
        };
        let mut t = format!(
                "In ordinary (non-promo) weeks {} is the strongest day ({} vs the store's Mon–Sat mean; {}), {} the weakest ({}).",
                day(best),
                text::pct(best.estimate - 1.0),
                wd.certainty(best),
                day(worst),
                text::pct(worst.estimate - 1.0)
            );
        let closed = f
            .stat("sunday_closed_share")
            .map_or(f64::NAN, |s| s.estimate);
        let openers = f.stat("sunday_openers").map_or(0.0, |s| s.estimate);
        match (f.stat("sunday_index"), f.stat("sunday_sales")) {
            (Some(si), Some(ss)) => {
                t.push_str(&format!(
                        " {} of stores never open on Sundays; the {} regular Sunday openers sell {} on a Sunday, {} vs their Mon–Sat mean ({}).",
                        text::share(closed),
                        openers,
                        text::eur(ss.estimate),
                        text::pct(si.estimate - 1.0),
                        wd.certainty(si)
                    ));
                let year = ss.estimate * 52.0 * openers;
                c.headlines.push(HeadlineCandidate {
                        text: format!(
                            "Sundays: {} of stores stay closed; the {} openers take {} per Sunday ({} vs their weekdays), ≈ {} a year.",
                            text::share(closed),
                            openers,
                            text::eur(ss.estimate),
                            text::pct(si.estimate - 1.0),
                            text::eur_big(year)
                        ),
                        eur_per_year: Some(year),
                        score: year,
                    });
            }
            _ => t.push_str(&format!(
                " {} of stores never open on Sundays; too few open regularly to value a Sunday.",
                text::share(closed)
            )),
        }
        if wd.sure(best) {
            c.headlines.push(HeadlineCandidate {
                text: format!(
                    "Plan staff and stock by weekday: {} sells {} vs the weekly mean, {} {}.",
                    day(best),
                    text::pct(best.estimate - 1.0),
                    day(worst),
                    text::pct(worst.estimate - 1.0)
                ),
                eur_per_year: None,
                score: 1.0,
            });
        }
        c.text = t;
        c
    }
}
