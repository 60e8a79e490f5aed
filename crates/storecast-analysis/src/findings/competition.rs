//! Competition: distance to the nearest competitor, and what a competitor opening does.
//!
//! Why this module exists: sales teams ask whether nearby competition explains weak stores and
//! how much a new competitor will cost. The cross-section (distance vs sales) answers the first
//! only loosely — stores in dense city centres have both close competitors and many customers —
//! so the second is answered by an event study: stores whose nearest competitor opened inside
//! the data range, their weeks before vs after the opening, relative to stores without an
//! opening (a difference-in-differences that removes season and chain-wide trends).

use super::{event_study, stat_from, Conclusion, Ctx, Draft, Event, HeadlineCandidate};
use crate::model::{Finding, Statistic, Table, Unit};
use crate::stats;
use crate::text;
use chrono::{Datelike, NaiveDate};
use storecast_charts::{Chart, Kind, Series};

const BANDS: [(f64, f64, &str); 7] = [
    (0.0, 250.0, "< 250 m"),
    (250.0, 500.0, "250–500 m"),
    (500.0, 1000.0, "0.5–1 km"),
    (1000.0, 2500.0, "1–2.5 km"),
    (2500.0, 5000.0, "2.5–5 km"),
    (5000.0, 10000.0, "5–10 km"),
    (10000.0, f64::INFINITY, "≥ 10 km"),
];

fn first_of_next_month(d: NaiveDate) -> Option<NaiveDate> {
    if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
    }
}

/// The event windows around a month-level event date (the first of the event month): the
/// `w` weeks wholly before that day, and the `w` weeks starting from the first Monday on or
/// after the first of the next month (the event month itself is skipped because the day of
/// the month is unknown).
pub fn month_event(ctx: &Ctx<'_>, store: usize, month_start: NaiveDate, w: usize) -> Option<Event> {
    let p = ctx.panel;
    let d0 = p.index(month_start)?;
    let next = p.index(first_of_next_month(month_start)?)?;
    let k_open = p.week(d0);
    let k_after = if p.dow[next] == 0 {
        p.week(next)
    } else {
        p.week(next) + 1
    };
    if k_open < w + 1 || k_after + w > p.n_weeks {
        return None;
    }
    Some(Event {
        store,
        before: (k_open - w..k_open).collect(),
        after: (k_after..k_after + w).collect(),
        anchor: k_open,
    })
}

/// The competition finding.
pub fn draft(ctx: &Ctx<'_>) -> Draft {
    let p = ctx.panel;
    let w = ctx.cfg.event_weeks;
    let mut stats_v = Vec::new();
    let mut charts = Vec::new();

    charts.extend(distance(ctx, &mut stats_v));

    // Event study of openings inside the data range.
    let in_range = |i: usize| {
        p.stores[i]
            .info
            .competition_open_date()
            .is_some_and(|d| d >= p.start && d <= p.end())
    };
    let events: Vec<Event> = (0..p.stores.len())
        .filter(|&i| in_range(i))
        .filter_map(|i| month_event(ctx, i, p.stores[i].info.competition_open_date()?, w))
        .collect();
    let control: Vec<bool> = (0..p.stores.len()).map(|i| !in_range(i)).collect();
    let n_in_range = (0..p.stores.len()).filter(|&i| in_range(i)).count();
    let study = event_study(ctx, 610, &events, &control, -(w as i64) - 2, w as i64 + 8);
    let mut eur_store_year = f64::NAN;
    let mut tables = Vec::new();
    if let Some(es) = &study {
        tables.push(opening_table(ctx, es));
        stats_v.push(
            stat_from(
                "competitor_opening_effect",
                format!("Sales change after a competitor opens ({w} weeks after vs {w} weeks before, vs stores without an opening)"),
                &es.mean,
                Unit::Change,
                es.stores.len(),
            )
            .p(es.p),
        );
        let ev_dist: Vec<(f64, f64)> = es
            .stores
            .iter()
            .zip(&es.logs)
            .filter_map(|(&i, &l)| Some((p.stores[i].info.competition_distance?, l)))
            .collect();
        if ev_dist.len() >= 10 {
            let sp = stats::spearman(
                &ev_dist.iter().map(|x| x.0).collect::<Vec<_>>(),
                &ev_dist.iter().map(|x| x.1).collect::<Vec<_>>(),
            );
            stats_v.push(
                Statistic::new(
                    "competitor_effect_distance_spearman",
                    "Does the drop shrink with distance? Spearman of distance with the store's change",
                    sp.rho,
                    Unit::Correlation,
                    sp.n,
                )
                .ci(sp.ci)
                .p(sp.p),
            );
        }
        let level = stats::mean(
            &es.stores
                .iter()
                .map(|&i| ctx.prof.level[i])
                .collect::<Vec<_>>(),
        );
        eur_store_year = es.mean.est * level * ctx.open_days_per_year();
        charts.push(
            Chart::new(
                "competitor-event",
                Kind::Line,
                "Competitor opening: store sales vs stores without an opening, by week (95% band)",
            )
            .axes(
                "weeks from the opening month (0 = its first week)",
                "change vs the weeks before",
            )
            .labels(es.profile.iter().map(|(k, _)| k.to_string()))
            .series(
                Series::new(
                    "sales change",
                    es.profile.iter().map(|(_, e)| e.est).collect(),
                )
                .with_intervals(es.profile.iter().map(|(_, e)| e.ci()).collect()),
            )
            .percent()
            .reference(0.0),
        );
    }
    let finding = Finding {
        id: "competition".into(),
        title: "Competition: distance and new competitors".into(),
        question: "Do stores with a close competitor sell less, and what happens to a store's sales when a \
                   competitor opens nearby?"
            .into(),
        method: format!(
            "Cross-section: Spearman rank correlation of CompetitionDistance with each store's mean sales and \
             customers per open day (Fisher-z interval with variance 1.06/(n − 3)). Event study: the {n_in_range} \
             stores whose nearest competitor opened inside the data range (CompetitionOpenSince month); \
             {w} whole weeks before the opening month vs {w} weeks from the first Monday of the following month \
             (the opening day within the month is unknown, so that month is skipped), on weekly weekday- and \
             promo-adjusted log sales, each week minus the same week's mean of stores without an opening \
             (same store type where there are at least 20) — a difference-in-differences. Interval: store \
             bootstrap; test: one-sample t-test of the store changes on the log scale."
        ),
        statistics: stats_v,
        effect_business: if eur_store_year.is_finite() {
            format!(
                "A competitor opening costs an affected store about {} a year ({} per open day).",
                text::eur_big(-eur_store_year),
                text::eur(-eur_store_year / ctx.open_days_per_year())
            )
        } else {
            "Too few competitor openings inside the data range to value them.".into()
        },
        test: Some("Spearman rank correlation (t approximation); one-sample t-test on event log changes".into()),
        charts,
        tables,
        conclusion: String::new(),
        links: Vec::new(),
    };
    let n_stores = p.stores.len();
    let years = ctx.years();
    let conclude = Words {
        eur_store_year,
        n_stores,
        years,
    };
    Draft::new(finding, conclude)
}

/// The cross-section: competitor distance against sales and customers per open day (Spearman,
/// pushed), with sales by distance band and the stores' scatter.
fn distance(ctx: &Ctx<'_>, stats_v: &mut Vec<Statistic>) -> Vec<Chart> {
    let p = ctx.panel;
    let known: Vec<usize> = (0..p.stores.len())
        .filter(|&i| {
            p.stores[i].info.competition_distance.is_some()
                && ctx.prof.open_day_sales[i].is_finite()
        })
        .collect();
    let dist: Vec<f64> = known
        .iter()
        .map(|&i| p.stores[i].info.competition_distance.unwrap_or(f64::NAN))
        .collect();
    let sales: Vec<f64> = known.iter().map(|&i| ctx.prof.open_day_sales[i]).collect();
    let cust: Vec<f64> = known
        .iter()
        .map(|&i| ctx.prof.open_day_customers[i])
        .collect();
    if known.len() < 10 {
        return Vec::new();
    }
    {
        let sp = stats::spearman(&dist, &sales);
        stats_v.push(
            Statistic::new(
                "distance_sales_spearman",
                "Spearman correlation of competitor distance with sales per open day",
                sp.rho,
                Unit::Correlation,
                sp.n,
            )
            .ci(sp.ci)
            .p(sp.p),
        );
        let sc = stats::spearman(&dist, &cust);
        stats_v.push(
            Statistic::new(
                "distance_customers_spearman",
                "Spearman correlation of competitor distance with customers per open day",
                sc.rho,
                Unit::Correlation,
                sc.n,
            )
            .ci(sc.ci)
            .p(sc.p),
        );
        let mut labels = Vec::new();
        let mut vals = Vec::new();
        let mut iv = Vec::new();
        for (b, (lo, hi, name)) in BANDS.iter().enumerate() {
            let v: Vec<f64> = dist
                .iter()
                .zip(&sales)
                .filter(|(d, _)| **d >= *lo && **d < *hi)
                .map(|(_, s)| *s)
                .collect();
            if v.len() < 3 {
                continue;
            }
            let e = ctx.boot.mean(600 + b as u64, &v, &vec![0; v.len()]);
            labels.push(format!("{name} ({})", v.len()));
            vals.push(e.est);
            iv.push(e.ci());
        }
        vec![
            Chart::new(
                "competition-distance-bands",
                Kind::Bar,
                "Sales per open day by distance to the nearest competitor (95% CI)",
            )
            .axes("distance (stores)", "€ per open day")
            .labels(labels)
            .series(Series::new("mean sales", vals).with_intervals(iv))
            .from_zero(),
            Chart::new(
                "competition-distance-scatter",
                Kind::Scatter,
                "Stores: competitor distance vs sales",
            )
            .axes("log10 distance (m)", "€ per open day")
            .series(Series::points(
                "store",
                dist.iter()
                    .zip(&sales)
                    .map(|(d, s)| ((d.max(1.0)).log10(), *s))
                    .collect(),
            )),
        ]
    }
}

/// The competitor openings inside the data range, largest drop first.
fn opening_table(ctx: &Ctx<'_>, es: &super::EventStudy) -> Table {
    let p = ctx.panel;
    let mut order: Vec<usize> = (0..es.stores.len()).collect();
    order.sort_by(|&a, &b| es.effects[a].total_cmp(&es.effects[b]));
    let rows = order
        .iter()
        .map(|&k| {
            let s = &p.stores[es.stores[k]];
            vec![
                s.id.to_string(),
                s.store_type.code().to_string(),
                s.info
                    .competition_open_date()
                    .map_or(String::new(), |d| d.format("%Y-%m").to_string()),
                s.info
                    .competition_distance
                    .map_or(String::new(), |d| format!("{d:.0} m")),
                text::pct(es.effects[k]),
            ]
        })
        .collect();
    Table::new(
        "Competitor openings inside the data range (largest drop first)",
        &["store", "type", "opened", "distance", "sales change"],
        rows,
    )
}

/// What the conclusion reads besides the corrected finding: figures computed with it.
struct Words {
    eur_store_year: f64,
    n_stores: usize,
    years: f64,
}

impl super::Conclude for Words {
    fn conclude(&self, f: &Finding, wd: &super::Wording) -> Conclusion {
        let &Words {
            eur_store_year,
            n_stores,
            years,
        } = self;
        let mut c = Conclusion::default();
        let mut t = String::new();
        if let Some(s) = f.stat("distance_sales_spearman") {
            t.push_str(&format!(
                    "Across stores, competitor distance and sales are {} related (Spearman ρ = {}): {}. ",
                    if s.estimate.abs() < 0.1 { "barely" } else if s.estimate.abs() < 0.3 { "weakly" } else { "clearly" },
                    wd.full(s),
                    if !wd.sure(s) {
                        "distance to the nearest competitor does not explain which stores sell less"
                    } else if s.estimate < 0.0 {
                        "stores with a closer competitor tend to sell MORE (dense, busy locations), so distance is not a reason for weak sales"
                    } else {
                        "stores with distant competitors tend to sell more"
                    }
                ));
        }
        match f.stat("competitor_opening_effect") {
            Some(s) if wd.sure(s) => {
                t.push_str(&format!(
                    "When a competitor opens nearby, the store's sales change by {} over {} openings.",
                    wd.full(s),
                    s.n
                ));
                if s.estimate < 0.0 {
                    let openings_per_year = s.n as f64 / years;
                    let year = -eur_store_year * openings_per_year;
                    c.headlines.push(HeadlineCandidate {
                            text: format!(
                                "A new competitor costs a store {} of sales (≈ {} a year per store); {} of {} stores were hit in the data — watch openings and defend with promotions.",
                                text::pct(s.estimate),
                                text::eur_big(-eur_store_year),
                                s.n,
                                n_stores
                            ),
                            eur_per_year: Some(year),
                            score: year,
                        });
                }
            }
            Some(s) => t.push_str(&format!(
                "Competitor openings show no reliable change in the store's sales: {}.",
                wd.full(s)
            )),
            None => {
                t.push_str("Too few competitor openings inside the data range for an event study.")
            }
        }
        c.text = t.trim().to_string();
        c
    }
}
