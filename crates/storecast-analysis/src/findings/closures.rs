//! Long closures (refurbishments): sales before the closure vs after reopening.
//!
//! Why this module exists: a refurbishment closes a store for weeks and costs its sales; the
//! question is whether the store comes back stronger, and how big the reopening rush is, so the
//! next refurbishment can be planned and valued. Closures of 7 or more closed non-holiday days
//! are found in the data; each store's weekly adjusted sales before the closure are compared
//! with the first two weeks after reopening and the weeks after that, relative to stores that
//! never closed (difference-in-differences).

use super::{stat_from, Conclusion, Ctx, Draft, HeadlineCandidate};
use crate::model::{Finding, Statistic, Table, Unit};
use crate::panel::{F_HOLIDAY, F_OPEN, F_POST, F_PRE, F_PRESENT};
use crate::stats;
use crate::text;
use storecast_charts::{Chart, Kind, Series};

/// Weeks of the reopening window.
const REOPEN_WEEKS: usize = 2;

/// Weekly log level of adjusted sales counting the days next to the long closure (which the
/// normal-day flag leaves out).
fn weekly_incl(ctx: &Ctx<'_>, i: usize, k: usize) -> f64 {
    let p = ctx.panel;
    let s = &p.stores[i];
    let (mut sum, mut n) = (0.0, 0usize);
    for w in 0..7 {
        let Some(d) = p.day(k, w) else { continue };
        let f = s.flags[d];
        if f & (F_PRESENT | F_OPEN) == (F_PRESENT | F_OPEN)
            && s.sales[d] > 0.0
            && f & (F_HOLIDAY | F_PRE | F_POST) == 0
        {
            sum += ctx.adjusted(i, d);
            n += 1;
        }
    }
    if n >= 3 {
        (sum / n as f64).ln()
    } else {
        f64::NAN
    }
}

/// The closures finding.
pub fn draft(ctx: &Ctx<'_>) -> Draft {
    let p = ctx.panel;
    let w = ctx.cfg.event_weeks;
    let prof_from = -(w as i64) - 1;
    let prof_len = w + 1 + REOPEN_WEEKS + w;
    let ClosureEvents {
        mut rows,
        ev_stores,
        reopen,
        settled,
        lengths,
        profiles,
        all_closures,
    } = closure_events(ctx);
    let mut stats_v = vec![Statistic::new(
        "long_closures",
        "Closures of 7 or more closed non-holiday days",
        all_closures as f64,
        Unit::Count,
        p.stores.len(),
    )];
    if !lengths.is_empty() {
        stats_v.push(Statistic::new(
            "long_closure_median_days",
            "Median length of a long closure",
            stats::median(&lengths),
            Unit::Days,
            lengths.len(),
        ));
    }
    let mut charts = Vec::new();
    let re = ctx.store_effect(900, &ev_stores, &reopen);
    let se = ctx.store_effect(901, &ev_stores, &settled);
    if let (Some((re, pre)), Some((se, pse))) = (re, se) {
        stats_v.push(
            stat_from(
                "reopening_effect",
                "First two weeks after reopening vs the weeks before the closure (vs stores without closures)",
                &re,
                Unit::Change,
                ev_stores.len(),
            )
            .p(pre),
        );
        stats_v.push(
            stat_from(
                "after_reopening_level",
                format!(
                    "Weeks 3–{} after reopening vs before the closure (vs stores without closures)",
                    w + 2
                ),
                &se,
                Unit::Change,
                ev_stores.len(),
            )
            .p(pse),
        );
        let strata = ctx.strata_of(&ev_stores);
        let est = ctx.boot.run(902, &strata, 0, |wt, _| {
            (0..prof_len)
                .map(|j| {
                    let (mut s, mut n) = (0.0, 0.0);
                    for (k, pr) in profiles.iter().enumerate() {
                        if pr[j].is_finite() {
                            s += wt[k] * pr[j];
                            n += wt[k];
                        }
                    }
                    s / n
                })
                .collect()
        });
        let labels: Vec<String> = (0..prof_len as i64)
            .map(|j| {
                if j < w as i64 + 1 {
                    format!("{}", j + prof_from)
                } else {
                    format!("+{}", j - w as i64)
                }
            })
            .collect();
        charts.push(
            Chart::new(
                "closure-event",
                Kind::Line,
                "Sales around long closures vs stores without closures (95% band)",
            )
            .axes(
                "weeks before the closure (−) and after reopening (+1 = first full week)",
                "change vs before",
            )
            .labels(labels)
            .series(
                Series::new("sales change", est.iter().map(|e| e.est).collect())
                    .with_intervals(est.iter().map(|e| e.ci()).collect()),
            )
            .percent()
            .reference(0.0),
        );
    }
    if !lengths.is_empty() {
        charts.push(length_chart(&lengths));
    }
    rows.sort_by(|a, b| {
        let la: usize = a[4].parse().unwrap_or(0);
        let lb: usize = b[4].parse().unwrap_or(0);
        lb.cmp(&la)
    });
    rows.truncate(25);
    let level = ctx.chain_level();
    let finding = Finding {
        id: "closures".into(),
        title: "Long closures and reopening".into(),
        question: "Do stores come back stronger after a long closure (refurbishment), and how big is the \
                   reopening rush?"
            .into(),
        method: format!(
            "A long closure is a run of consecutive closed days (Open = 0, rows present) with at least {} \
             non-holiday days; missing rows are not closures. Weekly weekday- and promo-adjusted log sales \
             of the store minus the same week's mean of stores without long closures: {w} weeks before the \
             closure (skipping the last week) vs the first {REOPEN_WEEKS} full weeks after reopening, and vs the \
             {w} weeks after those. Intervals: store bootstrap; tests: one-sample t-test over closures on \
             the log scale.",
            ctx.cfg.min_closure_days
        ),
        statistics: stats_v,
        effect_business: String::new(),
        test: Some("One-sample t-test of the log changes".into()),
        charts,
        tables: vec![Table::new(
            "Long closures with usable weeks before and after (longest first)",
            &["store", "type", "closed from", "to", "days", "first 2 weeks after", "weeks 3+ after"],
            rows,
        )],
        conclusion: String::new(),
        links: Vec::new(),
    };
    let conclude = Words { level };
    Draft::new(finding, conclude)
}

/// Every long closure, and those with enough weeks around them: the store, the reopening
/// rush and the settled level against the weeks before (both as gaps to stores without long
/// closures), the weekly profile around it and its table row.
struct ClosureEvents {
    rows: Vec<Vec<String>>,
    ev_stores: Vec<usize>,
    reopen: Vec<f64>,
    settled: Vec<f64>,
    lengths: Vec<f64>,
    profiles: Vec<Vec<f64>>,
    all_closures: usize,
}

/// [`ClosureEvents`] of the chain.
fn closure_events(ctx: &Ctx<'_>) -> ClosureEvents {
    let p = ctx.panel;
    let w = ctx.cfg.event_weeks;
    let control: Vec<bool> = p
        .stores
        .iter()
        .map(|s| s.long_closures.is_empty())
        .collect();
    let index = ctx.control_index(&control);
    let mut rows = Vec::new();
    let mut ev_stores = Vec::new();
    let mut reopen = Vec::new();
    let mut settled = Vec::new();
    let mut lengths = Vec::new();
    let prof_len = w + 1 + REOPEN_WEEKS + w;
    let mut profiles: Vec<Vec<f64>> = Vec::new();
    let mut all_closures = 0usize;
    for (i, s) in p.stores.iter().enumerate() {
        let idx = &index[usize::from(ctx.strata[i])];
        for &(a, b) in &s.long_closures {
            all_closures += 1;
            lengths.push((b - a + 1) as f64);
            let r = b + 1;
            if r >= p.n_days {
                continue;
            }
            let ka = p.week(a);
            let kr = if p.dow[r] == 0 {
                p.week(r)
            } else {
                p.week(r) + 1
            };
            if ka < w + 1 || kr + REOPEN_WEEKS + w > p.n_weeks {
                continue;
            }
            let gap = |k: usize| -> Option<f64> {
                let g = weekly_incl(ctx, i, k) - idx[k];
                g.is_finite().then_some(g)
            };
            let window = |ks: std::ops::Range<usize>| -> Option<f64> {
                let len = ks.len();
                let v: Vec<f64> = ks.filter_map(gap).collect();
                (v.len() * 2 >= len && !v.is_empty()).then(|| stats::mean(&v))
            };
            let (Some(before), Some(re), Some(st)) = (
                window(ka - w - 1..ka - 1),
                window(kr..kr + REOPEN_WEEKS),
                window(kr + REOPEN_WEEKS..kr + REOPEN_WEEKS + w),
            ) else {
                continue;
            };
            ev_stores.push(i);
            reopen.push(re - before);
            settled.push(st - before);
            // Profile aligned on the reopening week; closed weeks are gaps.
            let mut prof = Vec::with_capacity(prof_len);
            for j in 0..prof_len as i64 {
                let k = if j < w as i64 + 1 {
                    (ka as i64) - (w as i64) - 1 + j
                } else {
                    kr as i64 + j - (w as i64) - 1
                };
                prof.push(
                    usize::try_from(k)
                        .ok()
                        .and_then(gap)
                        .map_or(f64::NAN, |g| (g - before).exp_m1()),
                );
            }
            profiles.push(prof);
            rows.push(vec![
                s.id.to_string(),
                s.store_type.code().to_string(),
                p.dates[a].to_string(),
                p.dates[b].to_string(),
                (b - a + 1).to_string(),
                text::pct((re - before).exp_m1()),
                text::pct((st - before).exp_m1()),
            ]);
        }
    }
    ClosureEvents {
        rows,
        ev_stores,
        reopen,
        settled,
        lengths,
        profiles,
        all_closures,
    }
}

/// Long closures by length.
fn length_chart(lengths: &[f64]) -> Chart {
    let bins = [7.0, 14.0, 28.0, 56.0, 112.0, f64::INFINITY];
    let names = ["7–13 days", "14–27", "28–55", "56–111", "≥ 112"];
    let counts: Vec<f64> = (0..5)
        .map(|b| {
            lengths
                .iter()
                .filter(|&&l| l >= bins[b] && l < bins[b + 1])
                .count() as f64
        })
        .collect();
    Chart::new("closure-lengths", Kind::Bar, "Long closures by length")
        .axes("closed days", "closures")
        .labels(names)
        .series(Series::new("closures", counts))
        .from_zero()
}

/// What the conclusion reads besides the corrected finding: figures computed with it.
struct Words {
    level: f64,
}

impl super::Conclude for Words {
    fn conclude(&self, f: &Finding, wd: &super::Wording) -> Conclusion {
        let &Words { level } = self;
        let mut c = Conclusion::default();
        let n = f.stat("long_closures").map_or(0.0, |s| s.estimate);
        let mut t = format!(
            "{} long closures found{}. ",
            text::thousands(n),
            f.stat("long_closure_median_days")
                .map_or(String::new(), |s| format!(
                    ", median {:.0} days",
                    s.estimate
                ))
        );
        match (f.stat("reopening_effect"), f.stat("after_reopening_level")) {
            (Some(r), Some(s)) => {
                t.push_str(&format!(
                        "In the first two weeks after reopening sales are {} vs before the closure; afterwards {}.",
                        wd.full(r),
                        wd.full(s)
                    ));
                if wd.sure(s) && s.estimate > 0.0 {
                    c.headlines.push(HeadlineCandidate {
                            text: format!(
                                "Refurbished stores come back stronger: {} sales after reopening ({} per store and open day).",
                                text::pct(s.estimate),
                                text::eur_signed(s.estimate * level)
                            ),
                            eur_per_year: None,
                            score: 1.2,
                        });
                }
            }
            _ => t.push_str("Too few closures with enough weeks before and after to compare."),
        }
        c.text = t.trim().to_string();
        c
    }
}
