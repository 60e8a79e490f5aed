//! Seasonality: month of year, week of year, the December peak and the start of the month.
//!
//! Why this module exists: stock, staff and promo budgets are planned by month and week, and
//! the December peak and paydays are the biggest regular swings after the weekday. All of it is
//! measured on weekday- and promo-adjusted sales of normal days, so a month with more Mondays
//! or more promo days does not look stronger than it is; each store is compared with itself
//! (its own year, its own month), then stores are averaged.

use super::{stat_from, Conclusion, Ctx, Draft, HeadlineCandidate, MONTHS};
use crate::model::{Finding, Statistic, Unit};
use crate::stats;
use crate::text;
use chrono::{Datelike, NaiveDate};
use storecast_charts::{Chart, Kind, Series};

/// The seasonality finding.
pub fn draft(ctx: &Ctx<'_>) -> Draft {
    let p = ctx.panel;
    let n = p.stores.len();
    let first_year = p.start.year();
    let last_year = p.end().year();
    let year_range: Vec<i32> = (first_year..=last_year).collect();
    let complete: Vec<i32> = year_range
        .iter()
        .copied()
        .filter(|&y| {
            NaiveDate::from_ymd_opt(y, 1, 1).is_some_and(|d| d >= p.start)
                && NaiveDate::from_ymd_opt(y, 12, 31).is_some_and(|d| d <= p.end())
        })
        .collect();

    let StoreSeasons {
        month_index,
        dec_logs,
        xmas_logs,
        dom_profile,
        dom_cells,
        n_months,
        level_nov,
    } = store_seasons(ctx, &complete);
    let mut stats_v = Vec::new();
    let mut charts = Vec::new();
    // Month profile.
    let mi_stores: Vec<usize> = (0..n).filter(|&i| month_index[i].is_some()).collect();
    if mi_stores.len() >= 3 {
        let rows: Vec<[f64; 12]> = mi_stores.iter().filter_map(|&i| month_index[i]).collect();
        let month_est = ctx.boot.run(401, &ctx.strata_of(&mi_stores), 0, |w, _| {
            (0..12)
                .map(|m| {
                    crate::boot::weighted_mean(&rows.iter().map(|r| r[m]).collect::<Vec<_>>(), w)
                })
                .collect()
        });
        for (m, e) in month_est.iter().enumerate() {
            stats_v.push(stat_from(
                &format!("month_index_{}", MONTHS[m].to_lowercase()),
                format!("{} sales relative to the store's yearly mean", MONTHS[m]),
                e,
                Unit::Index,
                mi_stores.len(),
            ));
        }
        charts.push(
            Chart::new(
                "month-profile",
                Kind::Bar,
                "Month of year: adjusted sales relative to the yearly mean (95% CI)",
            )
            .axes("month", "index (1 = yearly mean)")
            .labels(MONTHS)
            .series(
                Series::new("index", month_est.iter().map(|e| e.est).collect())
                    .with_intervals(month_est.iter().map(|e| e.ci()).collect()),
            )
            .reference(1.0),
        );
    }
    let dec = ctx.store_effect(402, &dec_logs.0, &dec_logs.1);
    if let Some((e, pv)) = dec {
        stats_v.push(
            stat_from(
                "december_vs_november",
                "Adjusted sales 1–23 December vs November of the same year",
                &e,
                Unit::Change,
                dec_logs.0.len(),
            )
            .p(pv),
        );
    }
    if let Some((e, pv)) = ctx.store_effect(403, &xmas_logs.0, &xmas_logs.1) {
        stats_v.push(
            stat_from(
                "christmas_week_vs_november",
                "Adjusted sales 17–23 December vs November of the same year",
                &e,
                Unit::Change,
                xmas_logs.0.len(),
            )
            .p(pv),
        );
    }
    let month_start = month_edges(ctx, &dom_cells, n_months, &mut stats_v);
    charts.extend(profile_charts(ctx, &dom_profile));

    let nov_level = stats::mean(&level_nov);
    let dec_eur_store = dec.map_or(f64::NAN, |(e, _)| e.est * nov_level * 20.0);
    let dec_eur_chain = dec_eur_store * n as f64;
    let chain_level = ctx.chain_level();
    let finding = Finding {
        id: "seasonality".into(),
        title: "Seasonality: months, weeks, December and paydays".into(),
        question: "How strong is December, which months and weeks are strong or weak, and do the first days \
                   of the month (paydays) sell more?"
            .into(),
        method: format!(
            "Weekday- and promo-adjusted sales (each normal day divided by the store's weekday factor and, \
             on promo days, its promo factor). Month profile: per store and complete calendar year ({}), \
             each month's mean over the mean of the 12 months, averaged over years and then stores. \
             December: 1–23 December (and 17–23 December) against November of the same year and store. \
             Week of year: weekly adjusted levels, detrended per store. Day of month: each day's log \
             against its store-month mean (December left out); start (days 1–3) and end (last 3 days) \
             against days 8–24. Intervals: store bootstrap ({} replicates), for the start and end of the \
             month a two-way bootstrap over stores and calendar months (z-test with its standard error); \
             other tests: one-sample t-test over stores on the log scale.",
            complete.iter().map(|y| y.to_string()).collect::<Vec<_>>().join(", "),
            ctx.boot.reps
        ),
        statistics: stats_v,
        effect_business: format!(
            "December (1–23) brings about {} extra per store over a November pace (≈ {} chain-wide per \
             year); one day at the start of the month is worth about {} per store vs mid-month.",
            text::eur_signed(dec_eur_store),
            text::eur_big(dec_eur_chain),
            text::eur_signed(month_start.map_or(f64::NAN, |(e, _)| e.est * chain_level))
        ),
        test: Some("One-sample t-test over stores of the mean log ratio".into()),
        charts,
        tables: Vec::new(),
        conclusion: String::new(),
        links: Vec::new(),
    };
    let conclude = Words {
        chain_level,
        dec_eur_chain,
        n,
    };
    Draft::new(finding, conclude)
}

/// The start (days 1–3) and end (last 3 days) of the month against days 8–24: a two-way
/// bootstrap over stores and calendar months, because the calendar (which weekday a payday
/// falls on, holidays) is shared by all stores. Pushes their statistics; returns the start's
/// estimate and p-value.
fn month_edges(
    ctx: &Ctx<'_>,
    dom_cells: &[[f64; 6]],
    n_months: usize,
    stats_v: &mut Vec<Statistic>,
) -> Option<(crate::boot::Est, f64)> {
    let n = ctx.panel.stores.len();
    let month_units: Vec<usize> = (0..n_months)
        .filter(|&j| (0..n).any(|i| dom_cells[i * n_months + j][3] > 0.0))
        .collect();
    let cells_ref = &dom_cells;
    let units_ref = &month_units;
    let dom_stat = |uw: &[f64], ww: &[f64]| -> Vec<f64> {
        let mut acc = [0.0f64; 8];
        for (i, &u) in uw.iter().enumerate() {
            if u == 0.0 {
                continue;
            }
            let mut t = [0.0f64; 6];
            for (k, &j) in units_ref.iter().enumerate() {
                if ww[k] == 0.0 {
                    continue;
                }
                let c = &cells_ref[i * n_months + j];
                for q in 0..6 {
                    t[q] += ww[k] * c[q];
                }
            }
            if t[3] < 20.0 {
                continue;
            }
            let mid = t[2] / t[3];
            if t[1] >= 5.0 {
                let l = t[0] / t[1] - mid;
                acc[0] += u * l.exp_m1();
                acc[1] += u * l;
                acc[2] += u;
            }
            if t[5] >= 5.0 {
                let l = t[4] / t[5] - mid;
                acc[3] += u * l.exp_m1();
                acc[4] += u * l;
                acc[5] += u;
            }
        }
        vec![
            acc[0] / acc[2],
            acc[1] / acc[2],
            acc[3] / acc[5],
            acc[4] / acc[5],
            acc[2],
            acc[5],
        ]
    };
    let dom_est = ctx.boot.run(404, &ctx.strata, month_units.len(), dom_stat);
    let month_start = (dom_est[0].est.is_finite()).then_some((dom_est[0], dom_est[1].p_vs(0.0)));
    if let Some((e, pv)) = month_start {
        stats_v.push(
            stat_from(
                "month_start_effect",
                "Days 1–3 of the month vs days 8–24 (same store and month)",
                &e,
                Unit::Change,
                dom_est[4].est as usize,
            )
            .p(pv),
        );
    }
    if dom_est[2].est.is_finite() {
        stats_v.push(
            stat_from(
                "month_end_effect",
                "Last 3 days of the month vs days 8–24 (same store and month)",
                &dom_est[2],
                Unit::Change,
                dom_est[5].est as usize,
            )
            .p(dom_est[3].p_vs(0.0)),
        );
    }
    month_start
}

/// The day-of-month chart (January to November) and the week-of-year chart (weekly levels,
/// detrended per store).
fn profile_charts(ctx: &Ctx<'_>, dom_profile: &[Option<[f64; 31]>]) -> Vec<Chart> {
    let n = ctx.panel.stores.len();
    let mut charts = Vec::new();
    // Day-of-month chart.
    let dom_stores: Vec<usize> = (0..n).filter(|&i| dom_profile[i].is_some()).collect();
    if dom_stores.len() >= 3 {
        let rows: Vec<[f64; 31]> = dom_stores.iter().filter_map(|&i| dom_profile[i]).collect();
        let est = ctx.boot.run(406, &ctx.strata_of(&dom_stores), 0, |w, _| {
            (0..31)
                .map(|k| {
                    crate::boot::weighted_mean(
                        &rows.iter().map(|r| r[k] - 1.0).collect::<Vec<_>>(),
                        w,
                    )
                })
                .collect()
        });
        charts.push(
            Chart::new(
                "day-of-month",
                Kind::Bar,
                "Day of month: adjusted sales vs the month's mean (Jan–Nov, 95% CI)",
            )
            .axes("day of month", "vs month mean")
            .labels((1..=31).map(|d| d.to_string()))
            .series(
                Series::new("effect", est.iter().map(|e| e.est).collect())
                    .with_intervals(est.iter().map(|e| e.ci()).collect()),
            )
            .percent()
            .reference(0.0),
        );
    }
    // Week of year from the weekly levels, detrended per store.
    let woy = week_of_year(ctx);
    if let Some((stores, rows)) = woy {
        let est = ctx.boot.run(407, &ctx.strata_of(&stores), 0, |w, _| {
            (0..52)
                .map(|k| {
                    let (mut s, mut c) = (0.0, 0.0);
                    for (j, r) in rows.iter().enumerate() {
                        if r[k].is_finite() {
                            s += w[j] * r[k];
                            c += w[j];
                        }
                    }
                    s / c
                })
                .collect()
        });
        charts.push(
            Chart::new(
                "week-of-year",
                Kind::Line,
                "Week of year: adjusted weekly sales vs the store's mean (detrended, 95% band)",
            )
            .axes("ISO week", "index (1 = store mean)")
            .labels((1..=52).map(|k| k.to_string()))
            .series(
                Series::new("index", est.iter().map(|e| e.est).collect())
                    .with_intervals(est.iter().map(|e| e.ci()).collect()),
            )
            .reference(1.0),
        );
    }
    charts
}

/// Per store: the month profile over complete years, December's and the Christmas week's log
/// ratio to November, the day-of-month profile, and the calendar-month cells of the
/// day-of-month bootstrap.
struct StoreSeasons {
    month_index: Vec<Option<[f64; 12]>>,
    dec_logs: (Vec<usize>, Vec<f64>),
    xmas_logs: (Vec<usize>, Vec<f64>),
    dom_profile: Vec<Option<[f64; 31]>>,
    /// Per store and calendar month: sums and counts of the day-of-month deviations for
    /// days 1–3, 8–24 and the last 3 days.
    dom_cells: Vec<[f64; 6]>,
    n_months: usize,
    /// November's adjusted level of each store with a December ratio.
    level_nov: Vec<f64>,
}

/// [`StoreSeasons`] of every store, on the complete calendar years `complete`.
fn store_seasons(ctx: &Ctx<'_>, complete: &[i32]) -> StoreSeasons {
    let p = ctx.panel;
    let n = p.stores.len();
    let first_year = p.start.year();
    let ny = (p.end().year() - first_year + 1) as usize;
    // Per store, year, month: sum and count of adjusted sales on normal days; per store-month
    // of the whole grid: log values for the day-of-month profile.
    let mut month_index: Vec<Option<[f64; 12]>> = vec![None; n];
    let mut dec_logs = (Vec::new(), Vec::new());
    let mut xmas_logs = (Vec::new(), Vec::new());
    let mut dom_profile: Vec<Option<[f64; 31]>> = vec![None; n];
    // Per store and calendar month: sums and counts of the day-of-month deviations for days
    // 1–3, 8–24 and the last 3 days (the months are the calendar units of the bootstrap).
    let n_months = ny * 12;
    let mut dom_cells = vec![[0.0f64; 6]; n * n_months];
    let mut level_nov = Vec::new();
    for (i, s) in p.stores.iter().enumerate() {
        let mut ms = vec![[0.0f64; 12]; ny];
        let mut mc = vec![[0usize; 12]; ny];
        let mut dec_sum = vec![(0.0, 0usize, 0.0, 0usize); ny];
        // Day-of-month: per year-month mean of logs first.
        let mut lm = vec![[0.0f64; 12]; ny];
        let mut lc = vec![[0usize; 12]; ny];
        for d in 0..p.n_days {
            if !s.normal(d) {
                continue;
            }
            let date = p.dates[d];
            let y = (date.year() - first_year) as usize;
            let m = date.month0() as usize;
            let a = ctx.adjusted(i, d);
            ms[y][m] += a;
            mc[y][m] += 1;
            lm[y][m] += a.ln();
            lc[y][m] += 1;
            if m == 11 && date.day() <= 23 {
                dec_sum[y].0 += a;
                dec_sum[y].1 += 1;
                if date.day() >= 17 {
                    dec_sum[y].2 += a;
                    dec_sum[y].3 += 1;
                }
            }
        }
        // Month profile over complete years.
        let mut acc = [0.0; 12];
        let mut years_used = 0;
        for &y in complete {
            let yi = (y - first_year) as usize;
            if mc[yi].iter().all(|&c| c >= 8) {
                let means: Vec<f64> = (0..12).map(|m| ms[yi][m] / mc[yi][m] as f64).collect();
                let avg = stats::mean(&means);
                for m in 0..12 {
                    acc[m] += means[m] / avg;
                }
                years_used += 1;
            }
        }
        if years_used > 0 {
            month_index[i] = Some(acc.map(|x| x / years_used as f64));
        }
        // December vs November of the same year.
        let (mut dl, mut xl, mut nd, mut nx) = (0.0, 0.0, 0, 0);
        let mut nov_levels = Vec::new();
        for yi in 0..ny {
            if mc[yi][10] < 8 {
                continue;
            }
            let nov = ms[yi][10] / mc[yi][10] as f64;
            nov_levels.push(nov);
            if dec_sum[yi].1 >= 8 {
                dl += (dec_sum[yi].0 / dec_sum[yi].1 as f64 / nov).ln();
                nd += 1;
            }
            if dec_sum[yi].3 >= 3 {
                xl += (dec_sum[yi].2 / dec_sum[yi].3 as f64 / nov).ln();
                nx += 1;
            }
        }
        if nd > 0 {
            dec_logs.0.push(i);
            dec_logs.1.push(dl / nd as f64);
            level_nov.push(stats::mean(&nov_levels));
        }
        if nx > 0 {
            xmas_logs.0.push(i);
            xmas_logs.1.push(xl / nx as f64);
        }
        dom_profile[i] = day_of_month(
            ctx,
            i,
            first_year,
            &lm,
            &lc,
            &mut dom_cells[i * n_months..(i + 1) * n_months],
        );
    }

    StoreSeasons {
        month_index,
        dec_logs,
        xmas_logs,
        dom_profile,
        dom_cells,
        n_months,
        level_nov,
    }
}

/// One store's day-of-month profile (January to November: each normal day's log against its
/// store-month's mean log), filling its calendar-month `cells` for days 1–3, 8–24 and the
/// last three days; `None` when some day of the month never occurs.
fn day_of_month(
    ctx: &Ctx<'_>,
    i: usize,
    first_year: i32,
    lm: &[[f64; 12]],
    lc: &[[usize; 12]],
    cells: &mut [[f64; 6]],
) -> Option<[f64; 31]> {
    let p = ctx.panel;
    let s = &p.stores[i];
    let mut ds = [0.0f64; 31];
    let mut dc = [0usize; 31];
    for d in 0..p.n_days {
        if !s.normal(d) {
            continue;
        }
        let date = p.dates[d];
        let m = date.month0() as usize;
        if m == 11 {
            continue;
        }
        let y = (date.year() - first_year) as usize;
        if lc[y][m] < 15 {
            continue;
        }
        let x = ctx.adjusted(i, d).ln() - lm[y][m] / lc[y][m] as f64;
        let day = date.day() as usize;
        ds[day - 1] += x;
        dc[day - 1] += 1;
        let last = days_in_month(date);
        let cell = &mut cells[y * 12 + m];
        if day <= 3 {
            cell[0] += x;
            cell[1] += 1.0;
        } else if (8..=24).contains(&day) {
            cell[2] += x;
            cell[3] += 1.0;
        } else if day + 3 > last {
            cell[4] += x;
            cell[5] += 1.0;
        }
    }
    dc.iter()
        .all(|&c| c > 0)
        .then(|| std::array::from_fn(|k| (ds[k] / dc[k] as f64).exp()))
}

/// What the conclusion reads besides the corrected finding: figures computed with it.
struct Words {
    chain_level: f64,
    dec_eur_chain: f64,
    n: usize,
}

impl super::Conclude for Words {
    fn conclude(&self, f: &Finding, wd: &super::Wording) -> Conclusion {
        let &Words {
            chain_level,
            dec_eur_chain,
            n,
        } = self;
        let mut c = Conclusion::default();
        let mut t = String::new();
        if let Some(s) = f.stat("december_vs_november") {
            t.push_str(&format!("December (1–23) sells {} vs November", wd.full(s)));
            if let Some(x) = f.stat("christmas_week_vs_november") {
                t.push_str(&format!(
                    ", the last week before Christmas {}",
                    text::pct(x.estimate)
                ));
            }
            t.push_str(". ");
            if wd.sure(s) && s.estimate > 0.0 {
                c.headlines.push(HeadlineCandidate {
                        text: format!(
                            "December is the peak: {} vs November (last week before Christmas {}), ≈ {} extra turnover chain-wide — stock and staff for it.",
                            text::pct(s.estimate),
                            f.stat("christmas_week_vs_november").map_or("n/a".into(), |x| text::pct(x.estimate)),
                            text::eur_big(dec_eur_chain)
                        ),
                        eur_per_year: Some(dec_eur_chain),
                        score: dec_eur_chain,
                    });
            }
        }
        let months: Vec<&Statistic> = f
            .statistics
            .iter()
            .filter(|s| s.name.starts_with("month_index_"))
            .collect();
        if let (Some(hi), Some(lo)) = (
            months
                .iter()
                .max_by(|a, b| a.estimate.total_cmp(&b.estimate)),
            months
                .iter()
                .min_by(|a, b| a.estimate.total_cmp(&b.estimate)),
        ) {
            t.push_str(&format!(
                "Over the year, {} is strongest ({} vs the yearly mean) and {} weakest ({}). ",
                text::capitalise(hi.name.trim_start_matches("month_index_")),
                text::pct(hi.estimate - 1.0),
                text::capitalise(lo.name.trim_start_matches("month_index_")),
                text::pct(lo.estimate - 1.0)
            ));
        }
        if let Some(s) = f.stat("month_start_effect") {
            if wd.sure(s) {
                t.push_str(&format!(
                    "The first three days of a month sell {} vs mid-month.",
                    wd.full(s)
                ));
                let year = s.estimate * chain_level * 36.0 * n as f64;
                c.headlines.push(HeadlineCandidate {
                        text: format!(
                            "Paydays matter: the first three days of each month sell {} vs mid-month (≈ {} a year chain-wide) — schedule promotions and staff accordingly.",
                            text::pct(s.estimate),
                            text::eur_big(year)
                        ),
                        eur_per_year: Some(year.abs()),
                        score: year.abs(),
                    });
            } else {
                t.push_str(&format!(
                        "The first three days of a month show no reliable difference from mid-month ({}, {}).",
                        text::pct(s.estimate),
                        wd.certainty(s)
                    ));
            }
        }
        if let Some(s) = f.stat("month_end_effect") {
            t.push_str(&format!(
                " The last three days: {} ({}).",
                text::pct(s.estimate),
                wd.certainty(s)
            ));
        }
        c.text = t.trim().to_string();
        c
    }
}

fn days_in_month(date: NaiveDate) -> usize {
    let (y, m) = (date.year(), date.month());
    let next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)
    };
    next.and_then(|n| n.pred_opt())
        .map_or(30, |d| d.day() as usize)
}

/// Per store: detrended weekly index by ISO week 1..=52 (week 53 joins 52).
fn week_of_year(ctx: &Ctx<'_>) -> Option<(Vec<usize>, Vec<[f64; 52]>)> {
    let p = ctx.panel;
    let iso: Vec<usize> = (0..p.n_weeks)
        .map(|k| {
            let d = p
                .day(k, 3)
                .or_else(|| p.day(k, 0))
                .or_else(|| p.day(k, 6))
                .unwrap_or(0);
            (p.dates[d].iso_week().week() as usize).clamp(1, 52) - 1
        })
        .collect();
    let mut stores = Vec::new();
    let mut rows = Vec::new();
    for (i, lv) in ctx.weekly.iter().enumerate() {
        let pts: Vec<(f64, f64)> = lv
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(k, v)| (k as f64, *v))
            .collect();
        if pts.len() < 52 {
            continue;
        }
        let xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
        let ys: Vec<f64> = pts.iter().map(|p| p.1).collect();
        let (mx, my) = (stats::mean(&xs), stats::mean(&ys));
        let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
        let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
        let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        let mut s = [0.0; 52];
        let mut c = [0usize; 52];
        for (x, y) in xs.iter().zip(&ys) {
            let k = *x as usize;
            s[iso[k]] += y - my - b * (x - mx);
            c[iso[k]] += 1;
        }
        let mut r = [f64::NAN; 52];
        for k in 0..52 {
            if c[k] > 0 {
                r[k] = (s[k] / c[k] as f64).exp();
            }
        }
        stores.push(i);
        rows.push(r);
    }
    (stores.len() >= 3).then_some((stores, rows))
}
