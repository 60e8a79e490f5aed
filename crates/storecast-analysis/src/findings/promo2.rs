//! Promo2, the continuing promotion: who takes part, and does joining or a relaunch month help?
//!
//! Why this module exists: Promo2 is a long-running programme that costs money every quarter;
//! the sales team needs to know whether it pays. Comparing participants with the rest mostly
//! shows which stores were chosen, so the finding also looks within stores: stores that joined
//! inside the data range (weeks before vs after joining, against non-participants), and the
//! relaunch months of participating stores against their other months.

use super::{event_study, stat_from, Conclusion, Ctx, Draft, Event, HeadlineCandidate};
use crate::model::{Finding, Statistic, Unit};
use crate::stats;
use crate::text;
use chrono::Datelike;
use storecast_charts::{Chart, Kind, Series};

/// The Promo2 finding.
pub fn draft(ctx: &Ctx<'_>) -> Draft {
    let p = ctx.panel;
    let w = ctx.cfg.event_weeks;
    let n = p.stores.len();
    let part: Vec<bool> = p.stores.iter().map(|s| s.info.promo2).collect();
    let mut stats_v = Vec::new();
    let mut charts = Vec::new();

    let cross = participants(ctx, &part, &mut stats_v);

    // Joiners inside the range.
    let control: Vec<bool> = part.iter().map(|x| !x).collect();
    let joiners: Vec<Event> = (0..n)
        .filter_map(|i| {
            let d = p.stores[i].info.promo2_since_date()?;
            let di = p.index(d)?;
            let k = p.week(di);
            (k > w && k + w <= p.n_weeks).then(|| Event {
                store: i,
                before: (k - w..k).collect(),
                after: (k..k + w).collect(),
                anchor: k,
            })
        })
        .collect();
    let join = event_study(ctx, 700, &joiners, &control, -(w as i64), w as i64 + 4);
    let mut effect_labels = Vec::new();
    let mut effect_vals = Vec::new();
    let mut effect_iv = Vec::new();
    if let Some(es) = &join {
        stats_v.push(
            stat_from(
                "promo2_join_effect",
                format!("Sales change after joining Promo2 ({w} weeks after vs before, vs non-participants)"),
                &es.mean,
                Unit::Change,
                es.stores.len(),
            )
            .p(es.p),
        );
        effect_labels.push("after joining".to_string());
        effect_vals.push(es.mean.est);
        effect_iv.push(es.mean.ci());
    }

    // Relaunch (interval) months vs other months, after joining.
    let (st, logs) = relaunch_months(ctx, &part, &control);
    if let Some((e, pv)) = ctx.store_effect(710, &st, &logs) {
        stats_v.push(
            stat_from(
                "promo2_interval_month_effect",
                "Participants' sales in Promo2 relaunch months vs their other months (vs non-participants)",
                &e,
                Unit::Change,
                st.len(),
            )
            .p(pv),
        );
        effect_labels.push("relaunch months".to_string());
        effect_vals.push(e.est);
        effect_iv.push(e.ci());
    }
    if !effect_vals.is_empty() {
        charts.push(
            Chart::new("promo2-effects", Kind::Bar, "Promo2 within stores (95% CI)")
                .axes("comparison", "sales change")
                .labels(effect_labels)
                .series(Series::new("sales change", effect_vals).with_intervals(effect_iv))
                .percent()
                .reference(0.0),
        );
    }
    if !cross.is_empty() {
        charts.push(
            Chart::new(
                "promo2-levels",
                Kind::Bar,
                "Participants vs non-participants (geometric mean per open day)",
            )
            .axes("measure", "per open day")
            .labels(cross.iter().map(|c| c.0.to_string()))
            .series(Series::new(
                "Promo2 stores",
                cross.iter().map(|c| c.1).collect(),
            ))
            .series(Series::new(
                "other stores",
                cross.iter().map(|c| c.2).collect(),
            ))
            .from_zero(),
        );
    }
    let n_part = part.iter().filter(|&&x| x).count();
    let finding = Finding {
        id: "promo2".into(),
        title: "Promo2, the continuing promotion".into(),
        question: "Do Promo2 stores differ, and does joining Promo2 or a relaunch month lift a store's sales?".into(),
        method: format!(
            "{n_part} of {n} stores take part. Cross-section: Welch t-test on log sales and customers per \
             open day (geometric means; describes which stores take part, not what Promo2 does). Joiners: \
             stores whose Promo2SinceWeek/Year falls inside the data range, {w} weeks before vs {w} weeks from \
             the joining week, weekly weekday- and promo-adjusted log sales minus the same week's mean of \
             non-participants (difference-in-differences). Relaunch months: for participants after joining, \
             weeks in their PromoInterval months vs other weeks, both against non-participants. Intervals: \
             store bootstrap; tests: one-sample t-tests on the log scale."
        ),
        statistics: stats_v,
        effect_business: String::new(),
        test: Some("Welch t-test (cross-section); one-sample t-tests of within-store log changes".into()),
        charts,
        tables: Vec::new(),
        conclusion: String::new(),
        links: Vec::new(),
    };
    let level = ctx.chain_level();
    let open_days = ctx.open_days_per_year();
    let conclude = Words { level, open_days };
    let mut d = Draft::new(finding, conclude);
    d.finding.effect_business = match d.finding.stat("promo2_interval_month_effect") {
        Some(s) => format!(
            "A relaunch month is worth {} per store and open day ({}).",
            text::eur_signed(s.estimate * level),
            text::pct(s.estimate)
        ),
        None => "Not enough participating stores to value the relaunch months.".into(),
    };
    d
}

/// Participants against non-participants: sales and customers per open day (Welch on log
/// store means, pushed); returns each measure's geometric means.
fn participants(
    ctx: &Ctx<'_>,
    part: &[bool],
    stats_v: &mut Vec<Statistic>,
) -> Vec<(&'static str, f64, f64)> {
    let n = ctx.panel.stores.len();
    let mut cross = Vec::new();
    for (key, label, vals) in [
        ("sales", "sales per open day", &ctx.prof.open_day_sales),
        (
            "customers",
            "customers per open day",
            &ctx.prof.open_day_customers,
        ),
    ] {
        let a: Vec<f64> = (0..n)
            .filter(|&i| part[i])
            .map(|i| vals[i].ln())
            .filter(|x| x.is_finite())
            .collect();
        let b: Vec<f64> = (0..n)
            .filter(|&i| !part[i])
            .map(|i| vals[i].ln())
            .filter(|x| x.is_finite())
            .collect();
        if a.len() < 3 || b.len() < 3 {
            continue;
        }
        let t = stats::welch_t(&a, &b);
        let q = stats::t_crit(t.df, 0.05);
        stats_v.push(
            Statistic::new(
                &format!("promo2_participants_{key}"),
                format!("Participants' {label} vs non-participants (geometric means)"),
                t.estimate.exp_m1(),
                Unit::Change,
                a.len() + b.len(),
            )
            .ci((
                (t.estimate - q * t.se).exp_m1(),
                (t.estimate + q * t.se).exp_m1(),
            ))
            .p(t.p),
        );
        cross.push((label, stats::mean(&a).exp(), stats::mean(&b).exp()));
    }
    cross
}

/// Per participant with enough weeks: its mean weekly gap to non-participants in Promo2
/// relaunch months minus that in its other months, after joining.
fn relaunch_months(ctx: &Ctx<'_>, part: &[bool], control: &[bool]) -> (Vec<usize>, Vec<f64>) {
    let p = ctx.panel;
    let n = p.stores.len();
    let index = ctx.control_index(control);
    let mut st = Vec::new();
    let mut logs = Vec::new();
    for i in (0..n).filter(|&i| part[i]) {
        let info = &p.stores[i].info;
        let (Some(since), Some(interval)) = (info.promo2_since_date(), info.promo_interval) else {
            continue;
        };
        let idx = &index[usize::from(ctx.strata[i])];
        let (mut a, mut na, mut b, mut nb) = (0.0, 0, 0.0, 0);
        for (k, &ix) in idx.iter().enumerate().take(p.n_weeks) {
            let Some(d) = p.day(k, 3) else { continue };
            if p.dates[d] < since {
                continue;
            }
            let g = ctx.weekly[i][k] - ix;
            if !g.is_finite() {
                continue;
            }
            if interval.contains_month(p.dates[d].month()) {
                a += g;
                na += 1;
            } else {
                b += g;
                nb += 1;
            }
        }
        if na >= 4 && nb >= 4 {
            st.push(i);
            logs.push(a / na as f64 - b / nb as f64);
        }
    }
    (st, logs)
}

/// What the conclusion reads besides the corrected finding: figures computed with it.
struct Words {
    level: f64,
    open_days: f64,
}

impl super::Conclude for Words {
    fn conclude(&self, f: &Finding, wd: &super::Wording) -> Conclusion {
        let &Words { level, open_days } = self;
        let mut c = Conclusion::default();
        let mut t = String::new();
        if let Some(s) = f.stat("promo2_participants_sales") {
            t.push_str(&format!(
                    "Promo2 stores sell {} {} per open day than the others ({}) — mostly a sign of which stores were chosen. ",
                    text::share(s.estimate.abs()),
                    if s.estimate < 0.0 { "less" } else { "more" },
                    wd.certainty(s)
                ));
        }
        for (name, what) in [
            ("promo2_join_effect", "Joining Promo2"),
            ("promo2_interval_month_effect", "A relaunch month"),
        ] {
            if let Some(s) = f.stat(name) {
                if wd.sure(s) {
                    t.push_str(&format!("{what} changes sales by {}. ", wd.full(s)));
                } else {
                    t.push_str(&format!(
                        "{what} shows no reliable change in sales: {}. ",
                        wd.full(s)
                    ));
                }
            }
        }
        let join = f.stat("promo2_join_effect");
        let relaunch = f.stat("promo2_interval_month_effect");
        let any_sure = join.is_some_and(|s| wd.sure(s)) || relaunch.is_some_and(|s| wd.sure(s));
        if !any_sure && (join.is_some() || relaunch.is_some()) {
            c.headlines.push(HeadlineCandidate {
                    text: "Review Promo2: within stores, neither joining it nor its relaunch months show a reliable sales lift.".into(),
                    eur_per_year: None,
                    score: 2.0,
                });
        } else if let Some(s) = relaunch.filter(|s| wd.sure(s)) {
            let year = s.estimate * level * open_days / 3.0;
            c.headlines.push(HeadlineCandidate {
                    text: format!(
                        "Promo2 relaunch months lift a participating store's sales by {} (≈ {} per store and year).",
                        text::pct(s.estimate),
                        text::eur_big(year)
                    ),
                    eur_per_year: None,
                    score: 2.0,
                });
        }
        c.text = t.trim().to_string();
        c
    }
}
