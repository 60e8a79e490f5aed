//! Volatility: which stores are hard to forecast.
//!
//! Why this module exists: a forecast is only as good as a store is regular. Managers of
//! irregular stores need wider safety stock and should read forecasts with more caution, and
//! the sales team should know which stores those are. Volatility here is what is left of a
//! store's daily sales after the regular patterns are removed (weekday, promotion, calendar and
//! the store's own month level): the standard deviation of the remaining log sales, which reads
//! like a coefficient of variation (0.10 ≈ a typical day is 10 % off its expected level).

use super::{type_label, Conclusion, Ctx, Draft, HeadlineCandidate};
use crate::model::{Finding, Statistic, Table, Unit};
use crate::stats;
use crate::text;
use chrono::Datelike;
use storecast_charts::{Chart, Kind, Series};

/// Per-store residual volatility (NaN below 100 usable days).
pub fn store_volatility(ctx: &Ctx<'_>) -> Vec<f64> {
    let p = ctx.panel;
    let first = p.start;
    let month_of = |d: usize| {
        let x = p.dates[d];
        ((x.year() - first.year()) * 12 + x.month0() as i32) as usize
    };
    let n_months = month_of(p.n_days - 1) + 1;
    p.stores
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut ms = vec![0.0; n_months];
            let mut mc = vec![0usize; n_months];
            let logs: Vec<(usize, f64)> = (0..p.n_days)
                .filter(|&d| s.normal(d))
                .map(|d| (d, (ctx.adjusted(i, d) / ctx.calendar[d]).ln()))
                .collect();
            for &(d, l) in &logs {
                ms[month_of(d)] += l;
                mc[month_of(d)] += 1;
            }
            let res: Vec<f64> = logs
                .iter()
                .filter(|(d, _)| mc[month_of(*d)] >= 10)
                .map(|&(d, l)| l - ms[month_of(d)] / mc[month_of(d)] as f64)
                .collect();
            if res.len() < 100 {
                f64::NAN
            } else {
                // Residuals have mean zero within each month; sd with the month means removed.
                (res.iter().map(|r| r * r).sum::<f64>() / (res.len() - 1) as f64).sqrt()
            }
        })
        .collect()
}

/// The volatility finding.
pub fn draft(ctx: &Ctx<'_>) -> Draft {
    let p = ctx.panel;
    let vol = store_volatility(ctx);
    let st: Vec<usize> = (0..p.stores.len())
        .filter(|&i| vol[i].is_finite())
        .collect();
    let v: Vec<f64> = st.iter().map(|&i| vol[i]).collect();
    let mut stats_v = Vec::new();
    let mut charts = Vec::new();
    let mut tables = Vec::new();
    let med = stats::median(&v);
    if st.len() >= 3 {
        let e = ctx.boot_mean(1100, &st, &v);
        stats_v.push(Statistic::new(
            "volatility_median",
            "Median store volatility (sd of daily log sales after regular patterns)",
            med,
            Unit::Share,
            st.len(),
        ));
        stats_v.push(
            Statistic::new(
                "volatility_mean",
                "Mean store volatility",
                e.est,
                Unit::Share,
                st.len(),
            )
            .ci(e.ci()),
        );
        let hard = v.iter().filter(|&&x| x > 1.5 * med).count();
        stats_v.push(Statistic::new(
            "volatile_stores",
            "Stores with volatility above 1.5 × the median",
            hard as f64,
            Unit::Count,
            st.len(),
        ));
        let groups: Vec<Vec<f64>> = (0..4)
            .map(|t| {
                st.iter()
                    .filter(|&&i| usize::from(ctx.strata[i]) == t)
                    .map(|&i| vol[i])
                    .collect()
            })
            .collect();
        let kw = stats::kruskal_wallis(&groups);
        if kw.df >= 1.0 {
            stats_v.push(
                Statistic::new(
                    "volatility_type_difference",
                    "Does volatility differ by store type? (Kruskal–Wallis ε²)",
                    kw.epsilon2,
                    Unit::EffectSize,
                    kw.n,
                )
                .p(kw.p),
            );
        }
        let lv: Vec<f64> = st.iter().map(|&i| ctx.prof.level[i]).collect();
        let sp = stats::spearman(&lv, &v);
        stats_v.push(
            Statistic::new(
                "volatility_level_spearman",
                "Are smaller stores more volatile? Spearman of sales level with volatility",
                sp.rho,
                Unit::Correlation,
                sp.n,
            )
            .ci(sp.ci)
            .p(sp.p),
        );
        let mut labels = Vec::new();
        let mut vals = Vec::new();
        let mut iv = Vec::new();
        for (t, g) in groups.iter().enumerate() {
            if g.len() < 2 {
                continue;
            }
            let e = ctx.boot.mean(1101 + t as u64, g, &vec![0; g.len()]);
            labels.push(format!("type {}", type_label(t)));
            vals.push(e.est);
            iv.push(e.ci());
        }
        charts.push(
            Chart::new(
                "volatility-by-type",
                Kind::Bar,
                "Mean volatility by store type (95% CI)",
            )
            .axes("store type", "typical daily deviation")
            .labels(labels)
            .series(Series::new("volatility", vals).with_intervals(iv))
            .percent()
            .from_zero(),
        );
        charts.push(histogram(&v));
        charts.push(
            Chart::new(
                "volatility-vs-level",
                Kind::Scatter,
                "Stores: sales level vs volatility",
            )
            .axes("€ per normal day", "typical daily deviation")
            .series(Series::points(
                "store",
                lv.iter().zip(&v).map(|(a, b)| (*a, *b)).collect(),
            )),
        );
        tables.push(hardest_table(ctx, &st, &v, med));
    }
    let finding = Finding {
        id: "volatility".into(),
        title: "Volatility: the hardest stores to forecast".into(),
        question: "Which stores are irregular, and does that depend on the store type or size?".into(),
        method: "Per store, normal days only: log of sales divided by the store's weekday factor, its promo factor \
                 on promo days and the chain-wide calendar factor, minus the store's mean of the same calendar \
                 month; volatility = standard deviation of what is left (≈ coefficient of variation). At least 100 \
                 days per store. Type differences: Kruskal–Wallis; relation to size: Spearman; mean: store \
                 bootstrap."
            .into(),
        statistics: stats_v,
        effect_business: String::new(),
        test: Some("Kruskal–Wallis across store types; Spearman rank correlation".into()),
        charts,
        tables,
        conclusion: String::new(),
        links: Vec::new(),
    };
    let level = ctx.chain_level();
    let conclude = Words { level };
    Draft::new(finding, conclude)
}

/// Stores by volatility, in bins of one point.
fn histogram(v: &[f64]) -> Chart {
    let hi = (stats::quantile(v, 0.995) * 100.0).ceil() as usize;
    let lo = (stats::quantile(v, 0.0) * 100.0).floor() as usize;
    let nb = (hi.saturating_sub(lo)).clamp(1, 60);
    let mut counts = vec![0.0; nb];
    for x in v {
        let b = ((x * 100.0).floor() as usize)
            .saturating_sub(lo)
            .min(nb - 1);
        counts[b] += 1.0;
    }
    Chart::new("volatility-histogram", Kind::Bar, "Stores by volatility")
        .axes("typical daily deviation (bin start)", "stores")
        .labels((0..nb).map(|b| format!("{}%", lo + b)))
        .series(Series::new("stores", counts))
        .from_zero()
}

/// The 20 stores with the highest volatility (`v` of the stores `st`; `med` its median).
fn hardest_table(ctx: &Ctx<'_>, st: &[usize], v: &[f64], med: f64) -> Table {
    let p = ctx.panel;
    let mut order: Vec<usize> = (0..st.len()).collect();
    order.sort_by(|&a, &b| v[b].total_cmp(&v[a]));
    let rows: Vec<Vec<String>> = order
        .iter()
        .take(20)
        .map(|&k| {
            let s = &p.stores[st[k]];
            vec![
                s.id.to_string(),
                s.store_type.code().to_string(),
                s.assortment.code().to_string(),
                text::eur(ctx.prof.level[st[k]]),
                text::share(v[k]),
                format!("{:.1}×", v[k] / med),
            ]
        })
        .collect();
    Table::new(
        "The 20 hardest-to-forecast stores",
        &[
            "store",
            "type",
            "assortment",
            "normal day",
            "volatility",
            "× median",
        ],
        rows,
    )
}

/// What the conclusion reads besides the corrected finding: figures computed with it.
struct Words {
    level: f64,
}

impl super::Conclude for Words {
    fn conclude(&self, f: &Finding, wd: &super::Wording) -> Conclusion {
        let &Words { level } = self;
        let mut c = Conclusion::default();
        let Some(m) = f.stat("volatility_median") else {
            c.text = "Too few stores with enough history to measure volatility.".into();
            return c;
        };
        let hard = f.stat("volatile_stores").map_or(0.0, |s| s.estimate);
        let mut t = format!(
                "A typical store's day deviates about {} from its expected level (about {} on a normal day); {} stores \
                 are above 1.5 × that and need wider safety stock.",
                text::share(m.estimate),
                text::eur(m.estimate * level),
                hard
            );
        if let Some(s) = f.stat("volatility_level_spearman") {
            let what = if wd.sure(s) && s.estimate < 0.0 {
                "Smaller stores are more volatile"
            } else if wd.sure(s) {
                "Bigger stores are more volatile"
            } else {
                "Volatility hardly depends on store size"
            };
            t.push_str(&format!(
                " {what} (Spearman ρ = {}; {}).",
                text::value(s.estimate, s.unit),
                wd.certainty(s)
            ));
        }
        c.headlines.push(HeadlineCandidate {
                text: format!(
                    "{} stores are hard to forecast (daily deviation > 1.5 × the typical {}); the volatility section lists them for their managers.",
                    hard,
                    text::share(m.estimate)
                ),
                eur_per_year: None,
                score: 1.0,
            });
        c.text = t;
        c
    }
}
