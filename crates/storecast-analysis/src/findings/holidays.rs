//! State holidays, the days around holiday closures, and school holidays.
//!
//! Why this module exists: holidays move sales in three ways a sales team plans for — most
//! stores close (and the few that open sell differently), customers shop ahead on the last
//! day before a closure and catch up on the first day after it, and school holidays shift
//! demand for weeks. Each effect is measured against the same store's comparable days: the same
//! weekday with the same promo status in the neighbouring weeks (calendar-adjusted), and for
//! school holidays against stores without school holidays on the same date, which removes the
//! season.

use super::{stat_from, Conclusion, Ctx, Draft, HeadlineCandidate};
use crate::model::{Finding, Statistic, Table, Unit};
use crate::panel::{F_HOLIDAY, F_OPEN, F_POST, F_PRE, F_PRESENT, F_PRE_XMAS, F_SCHOOL};
use crate::stats;
use crate::text;
use storecast_charts::{Chart, Kind, Series};
use storecast_data::StateHoliday;

/// Minimum stores on each side of a date for the school-holiday contrast.
const MIN_SIDE: usize = 10;

struct Surge {
    name: &'static str,
    label: &'static str,
    stores: Vec<usize>,
    events_by_store: Vec<Vec<(usize, f64)>>,
    eur: Vec<f64>,
    events: usize,
}

fn surge(
    ctx: &Ctx<'_>,
    name: &'static str,
    label: &'static str,
    want: impl Fn(u16) -> bool,
    after: bool,
    school: bool,
) -> Surge {
    let p = ctx.panel;
    let mut out = Surge {
        name,
        label,
        stores: Vec::new(),
        events_by_store: Vec::new(),
        eur: Vec::new(),
        events: 0,
    };
    for (i, s) in p.stores.iter().enumerate() {
        let (mut ev, mut e, mut n) = (Vec::new(), 0.0, 0usize);
        for d in 0..p.n_days {
            let f = s.flags[d];
            if !want(f) || f & F_OPEN == 0 || s.sales[d] <= 0.0 {
                continue;
            }
            if let Some((r, _)) = ctx.reference(i, d, after, false, school) {
                let y = ctx.cal_sales(i, d);
                ev.push((d, (y / r).ln()));
                e += y - r;
                n += 1;
            }
        }
        if n > 0 {
            out.stores.push(i);
            out.events_by_store.push(ev);
            out.eur.push(e / n as f64);
            out.events += n;
        }
    }
    out
}

/// The holiday finding.
pub fn draft(ctx: &Ctx<'_>) -> Draft {
    let mut stats_v = Vec::new();

    let (mut fx, headline_parts) = closure_days(ctx, &mut stats_v);

    let (open_rows, open_share_vals, open_labels) = holiday_openings(ctx, &mut stats_v);

    // School holidays: same date, stores with vs without school holidays.
    let school = school_effect(ctx);
    if let Some((n_stores, e, pv, dates)) = school {
        {
            stats_v.push(
                stat_from(
                    "school_holiday_effect",
                    "Sales on school-holiday days vs stores without school holidays on the same date",
                    &e,
                    Unit::Change,
                    n_stores,
                )
                .p(pv),
            );
            fx.labels.push("school holiday".into());
            fx.vals.push(e.est);
            fx.iv.push(e.ci());
            fx.rows.push(vec![
                format!("School-holiday day ({dates} dates with both groups)"),
                String::new(),
                text::pct(e.est),
                format!("{} to {}", text::pct(e.lo), text::pct(e.hi)),
                text::eur_signed(e.est * ctx.chain_level()),
                String::new(),
            ]);
        }
    }

    let charts = vec![
        Chart::new(
            "holiday-effects",
            Kind::Bar,
            "Holiday effects on sales (95% CI)",
        )
        .axes("day", "sales vs comparable days")
        .labels(fx.labels)
        .series(Series::new("effect", fx.vals).with_intervals(fx.iv))
        .percent()
        .reference(0.0),
        Chart::new(
            "holiday-open-share",
            Kind::Bar,
            "Share of stores open on state holidays",
        )
        .axes("holiday", "share of store-days open")
        .labels(open_labels)
        .series(Series::new("open", open_share_vals))
        .percent()
        .from_zero(),
    ];
    let finding = Finding {
        id: "holidays".into(),
        title: "State holidays, holiday eves and school holidays".into(),
        question: "What happens to sales on and around state holidays, and during school holidays?".into(),
        method: "Holiday eves and catch-up days: the last open day before and the first open day after a \
                 closure that contains a state holiday, compared with the nearest normal days with the same \
                 weekday, promo and school-holiday status one to three weeks before and after (before only, and regardless of school holidays, for Christmas); a day that is both the day after one \
                 closure and the day before the next (e.g. Easter Saturday) is left out; \
                 calendar-adjusted; averaged per store on the log scale, then over stores. Holiday openers: \
                 the same comparison for stores open on the holiday itself. School holidays: on each date \
                 with at least 10 stores in and 10 stores out of school holidays, a store's weekday- and \
                 promo-adjusted log sales minus the mean of the stores without school holidays that date, \
                 school days minus non-school days per store. Intervals: two-way bootstraps over stores and \
                 dates (days around closures, holiday openings) or weeks (school holidays), because the \
                 holiday calendars are shared by many stores, with a z-test of the mean log ratio on the \
                 bootstrap standard error (a store bootstrap and t-test where fewer than 10 dates exist, \
                 e.g. Christmas)."
            .into(),
        statistics: stats_v,
        effect_business: headline_parts
            .iter()
            .map(|(n, eur, year)| {
                format!(
                    "{}: {} per store and event (≈ {} a year chain-wide)",
                    match n.as_str() {
                        "pre_holiday_surge" => "holiday eve",
                        "pre_christmas_surge" => "Christmas eve closure day",
                        _ => "day after a holiday closure",
                    },
                    text::eur_signed(*eur),
                    text::eur_big(*year)
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
            + ".",
        test: Some(
            "z-test of the mean log ratio with a two-way (store × date or week) bootstrap standard \
             error; one-sample t-test over stores where fewer than 10 dates exist"
                .into(),
        ),
        charts,
        tables: vec![
            Table::new(
                "Days around holiday closures and school holidays",
                &["day", "store-days", "effect", "95% CI", "€ per store-day", "per store and year"],
                fx.rows,
            ),
            Table::new(
                "State holiday openings",
                &["holiday", "store-days", "open", "stores ever open", "sales when open vs neighbouring weeks"],
                open_rows,
            ),
        ],
        conclusion: String::new(),
        links: Vec::new(),
    };
    let conclude = Words { headline_parts };
    Draft::new(finding, conclude)
}

/// The stores that open on state holidays: per kind of holiday, the share of store-days open
/// and the sales when open against the same weekday in neighbouring weeks (statistics pushed);
/// returns the table rows, the open shares and their labels.
fn holiday_openings(
    ctx: &Ctx<'_>,
    stats_v: &mut Vec<Statistic>,
) -> (Vec<Vec<String>>, Vec<f64>, Vec<String>) {
    let p = ctx.panel;
    let mut open_rows = Vec::new();
    let mut open_share_vals = Vec::new();
    let mut open_labels = Vec::new();
    for (j, (kind, name)) in [
        (StateHoliday::Public, "public holiday (a)"),
        (StateHoliday::Easter, "Easter (b)"),
        (StateHoliday::Christmas, "Christmas (c)"),
    ]
    .into_iter()
    .enumerate()
    {
        let (mut days, mut open, mut stores_open) = (0usize, 0usize, 0usize);
        let mut st = Vec::new();
        let mut evs = Vec::new();
        for (i, s) in p.stores.iter().enumerate() {
            let (mut any, mut ev) = (false, Vec::new());
            for d in 0..p.n_days {
                if s.flags[d] & (F_PRESENT | F_HOLIDAY) != (F_PRESENT | F_HOLIDAY)
                    || s.holiday(d) != kind
                {
                    continue;
                }
                days += 1;
                if s.flags[d] & F_OPEN != 0 && s.sales[d] > 0.0 {
                    open += 1;
                    any = true;
                    if let Some((r, _)) = ctx.reference(i, d, true, false, true) {
                        ev.push((d, (ctx.cal_sales(i, d) / r).ln()));
                    }
                }
            }
            stores_open += usize::from(any);
            if !ev.is_empty() {
                st.push(i);
                evs.push(ev);
            }
        }
        if days == 0 {
            continue;
        }
        let share = open as f64 / days as f64;
        let code = kind.code();
        stats_v.push(Statistic::new(
            &format!("holiday_open_share_{code}"),
            format!("Share of store-days open on a {name}"),
            share,
            Unit::Share,
            days,
        ));
        let mut sales_cell = String::from("too few");
        if let Some((e, pv)) = ctx.dated_effect(311 + j as u64, &st, &evs) {
            stats_v.push(
                stat_from(
                    &format!("holiday_open_sales_{code}"),
                    format!(
                        "Sales when open on a {name} vs the same weekday in neighbouring weeks"
                    ),
                    &e,
                    Unit::Change,
                    st.len(),
                )
                .p(pv),
            );
            sales_cell = format!(
                "{} ({} to {})",
                text::pct(e.est),
                text::pct(e.lo),
                text::pct(e.hi)
            );
        }
        open_rows.push(vec![
            name.to_string(),
            text::thousands(days as f64),
            text::share(share),
            stores_open.to_string(),
            sales_cell,
        ]);
        open_share_vals.push(share);
        open_labels.push(name.to_string());
    }
    (open_rows, open_share_vals, open_labels)
}

/// Effects of days around holidays: the table rows and the bars of the effects chart.
#[derive(Default)]
struct DayEffects {
    rows: Vec<Vec<String>>,
    labels: Vec<String>,
    vals: Vec<f64>,
    iv: Vec<(f64, f64)>,
}

/// The last open day before and the first after a holiday closure (and before Christmas):
/// statistics pushed; returns their effects and, per kind of day, its € per store and event
/// and € a year chain-wide.
fn closure_days(
    ctx: &Ctx<'_>,
    stats_v: &mut Vec<Statistic>,
) -> (DayEffects, Vec<(String, f64, f64)>) {
    let p = ctx.panel;
    let mut fx = DayEffects::default();
    let mut headline_parts = Vec::new();
    let surges = [
        surge(
            ctx,
            "pre_holiday_surge",
            "Last open day before a holiday closure (not Christmas) vs the same weekday in neighbouring weeks",
            |f| f & F_PRE != 0 && f & (F_PRE_XMAS | F_POST) == 0,
            true,
            true,
        ),
        surge(
            ctx,
            "pre_christmas_surge",
            "Last open day before the Christmas closure vs the same weekday 1–3 weeks earlier",
            |f| f & F_PRE_XMAS != 0 && f & F_POST == 0,
            false,
            false,
        ),
        surge(
            ctx,
            "post_closure_surge",
            "First open day after a holiday closure vs the same weekday in neighbouring weeks",
            |f| f & F_POST != 0 && f & F_PRE == 0,
            true,
            true,
        ),
    ];
    for (j, sg) in surges.iter().enumerate() {
        if let Some((e, pv)) = ctx.dated_effect(301 + j as u64, &sg.stores, &sg.events_by_store) {
            stats_v.push(stat_from(sg.name, sg.label, &e, Unit::Change, sg.stores.len()).p(pv));
            let eur = stats::mean(&sg.eur);
            let per_store_year = sg.events as f64 / p.stores.len().max(1) as f64 / ctx.years();
            fx.rows.push(vec![
                sg.label.to_string(),
                text::thousands(sg.events as f64),
                text::pct(e.est),
                format!("{} to {}", text::pct(e.lo), text::pct(e.hi)),
                text::eur_signed(eur),
                format!("{per_store_year:.1}"),
            ]);
            fx.labels.push(
                match sg.name {
                    "pre_holiday_surge" => "day before holiday closure",
                    "pre_christmas_surge" => "day before Christmas closure",
                    _ => "day after holiday closure",
                }
                .to_string(),
            );
            fx.vals.push(e.est);
            fx.iv.push(e.ci());
            headline_parts.push((
                sg.name.to_string(),
                eur,
                eur * per_store_year * p.stores.len() as f64,
            ));
        }
    }
    (fx, headline_parts)
}

/// What the conclusion reads besides the corrected finding: figures computed with it.
struct Words {
    headline_parts: Vec<(String, f64, f64)>,
}

impl super::Conclude for Words {
    fn conclude(&self, f: &Finding, wd: &super::Wording) -> Conclusion {
        let Words { headline_parts } = self;
        let mut c = Conclusion::default();
        let mut parts = Vec::new();
        let describe = |s: &Statistic, what: &str| {
            if wd.sure(s) {
                format!("{what} {}", wd.full(s))
            } else {
                format!(
                    "{what} show no clear change ({}, {})",
                    text::pct(s.estimate),
                    wd.certainty(s)
                )
            }
        };
        if let Some(s) = f.stat("pre_holiday_surge") {
            parts.push(describe(s, "Holiday eves sell"));
        }
        if let Some(s) = f.stat("pre_christmas_surge") {
            parts.push(describe(s, "the last day before Christmas sells"));
        }
        if let Some(s) = f.stat("post_closure_surge") {
            parts.push(describe(s, "the first day after a holiday closure sells"));
        }
        let mut t = if parts.is_empty() {
            "Too few holiday closures to measure the days around them.".to_string()
        } else {
            format!("{}.", parts.join("; "))
        };
        if let Some(s) = f.stat("school_holiday_effect") {
            t.push_str(&format!(
                " School-holiday days are {} vs stores without school holidays on the same date ({}).",
                text::pct(s.estimate),
                wd.certainty(s)
            ));
        }
        let closed: Vec<String> = f
            .statistics
            .iter()
            .filter(|s| s.name.starts_with("holiday_open_share_"))
            .map(|s| {
                format!(
                    "{} open on {}",
                    text::share(s.estimate),
                    s.label.trim_start_matches("Share of store-days open on a ")
                )
            })
            .collect();
        if !closed.is_empty() {
            t.push_str(&format!(" Store-days: {}.", closed.join(", ")));
        }
        for (name, eur, year) in headline_parts {
            if let Some(s) = f.stat(name) {
                if wd.sure(s) && s.estimate > 0.0 {
                    let what = match name.as_str() {
                        "pre_holiday_surge" => "Stock and staff up for holiday eves",
                        "pre_christmas_surge" => "The last day before Christmas is a peak",
                        _ => "Customers catch up after holiday closures",
                    };
                    c.headlines.push(HeadlineCandidate {
                        text: format!(
                            "{what}: {} sales ({} per store), ≈ {} a year chain-wide.",
                            text::pct(s.estimate),
                            text::eur_signed(*eur),
                            text::eur_big(*year)
                        ),
                        eur_per_year: Some(*year),
                        score: *year,
                    });
                }
            }
        }
        c.text = t;
        c
    }
}

/// Per store: mean over school-holiday days minus mean over other days of (adjusted log sales −
/// mean of the stores without school holidays that date). Returns stores, log effects and the
/// number of dates used.
fn school_effect(ctx: &Ctx<'_>) -> Option<(usize, crate::boot::Est, f64, usize)> {
    let p = ctx.panel;
    let n = p.stores.len();
    // Store-centred adjusted log sales.
    let centre: Vec<f64> = (0..n)
        .map(|i| {
            let v: Vec<f64> = (0..p.n_days)
                .filter(|&d| p.stores[i].normal(d))
                .map(|d| ctx.adjusted(i, d).ln())
                .collect();
            stats::mean(&v)
        })
        .collect();
    let mut ctrl = vec![f64::NAN; p.n_days];
    let mut dates = 0;
    for (d, slot) in ctrl.iter_mut().enumerate() {
        let (mut s0, mut n0, mut n1) = (0.0, 0usize, 0usize);
        for (i, s) in p.stores.iter().enumerate() {
            if !s.normal(d) || !centre[i].is_finite() {
                continue;
            }
            if s.flags[d] & F_SCHOOL != 0 {
                n1 += 1;
            } else {
                s0 += ctx.adjusted(i, d).ln() - centre[i];
                n0 += 1;
            }
        }
        if n0 >= MIN_SIDE && n1 >= MIN_SIDE {
            *slot = s0 / n0 as f64;
            dates += 1;
        }
    }
    // Per store and week: sums and counts of school and non-school residuals; weeks are the
    // calendar units of a two-way bootstrap (the school calendar is shared by a state's stores).
    let nw = p.n_weeks;
    let mut cells = vec![[0.0f64; 4]; n * nw];
    for (i, s) in p.stores.iter().enumerate() {
        for d in 0..p.n_days {
            if !s.normal(d) || !ctrl[d].is_finite() || !centre[i].is_finite() {
                continue;
            }
            let e = ctx.adjusted(i, d).ln() - centre[i] - ctrl[d];
            let c = &mut cells[i * nw + p.week(d)];
            if s.flags[d] & F_SCHOOL != 0 {
                c[0] += e;
                c[1] += 1.0;
            } else {
                c[2] += e;
                c[3] += 1.0;
            }
        }
    }
    let per_store = |i: usize, ww: &[f64]| -> Option<f64> {
        let mut t = [0.0; 4];
        for (k, &w) in ww.iter().enumerate() {
            if w == 0.0 {
                continue;
            }
            let c = &cells[i * nw + k];
            for q in 0..4 {
                t[q] += w * c[q];
            }
        }
        (t[1] >= 10.0 && t[3] >= 10.0).then(|| t[0] / t[1] - t[2] / t[3])
    };
    let ones = vec![1.0; nw];
    let stores: Vec<usize> = (0..n).filter(|&i| per_store(i, &ones).is_some()).collect();
    if stores.len() < 3 {
        return None;
    }
    let est = ctx.boot.run(321, &ctx.strata_of(&stores), nw, |uw, ww| {
        let (mut ch, mut lg, mut m) = (0.0, 0.0, 0.0);
        for (k, &i) in stores.iter().enumerate() {
            if uw[k] == 0.0 {
                continue;
            }
            if let Some(l) = per_store(i, ww) {
                ch += uw[k] * l.exp_m1();
                lg += uw[k] * l;
                m += uw[k];
            }
        }
        vec![ch / m, lg / m]
    });
    Some((stores.len(), est[0], est[1].p_vs(0.0), dates))
}
