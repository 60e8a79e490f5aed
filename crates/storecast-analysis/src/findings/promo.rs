//! Promotion uplift: overall, by store type, assortment and weekday, and what one extra promo
//! week is worth.
//!
//! Why this module exists: the promotion is the sales team's main lever, so its size is the
//! first thing they ask. The data forbids the obvious design: promotions run whole Monday–
//! Friday weeks for the whole chain, so no store-week mixes promo and non-promo days. Each
//! promo week is therefore compared with the same store's neighbouring non-promo weeks (the
//! nearest one before and after, interpolated in time so a steady trend cancels), on the same
//! weekdays and comparable days only. Because the promo calendar is one for all stores, the
//! interval resamples promo weeks as well as stores.

use super::{stat_from, type_label, Conclusion, Ctx, Draft, HeadlineCandidate, WEEKDAYS};
use crate::boot::Est;
use crate::model::{Finding, Statistic, Table, Unit};
use crate::panel::{F_PRESENT, F_PROMO, F_SCHOOL};
use crate::stats;
use crate::text;
use chrono::Datelike;
use storecast_charts::{Chart, Kind, Series};
use storecast_data::Assortment;

/// Values per cell: promo sales, reference sales, promo customers, reference customers, days.
const K: usize = 5;
/// Weekdays per cell: Monday..Friday (promo) and Saturday (after the promo).
const WD: usize = 6;

const ST_OTHER: u8 = 0;
const ST_PROMO: u8 = 1;
const ST_PLAIN: u8 = 2;

/// Week status per store: promo week, plain (non-promo) week, or neither (holiday, December,
/// no data).
pub fn week_status(ctx: &Ctx<'_>) -> Vec<Vec<u8>> {
    let p = ctx.panel;
    p.stores
        .iter()
        .map(|s| {
            (0..p.n_weeks)
                .map(|k| {
                    let (mut any, mut promo, mut bad) = (false, false, false);
                    for w in 0..7 {
                        if let Some(d) = p.day(k, w) {
                            let f = s.flags[d];
                            if f & F_PRESENT != 0 {
                                any = true;
                            }
                            promo |= f & F_PROMO != 0;
                            bad |= f & crate::panel::F_HOLIDAY != 0 || p.dates[d].month() == 12;
                        }
                    }
                    if !any || bad {
                        ST_OTHER
                    } else if promo {
                        ST_PROMO
                    } else {
                        ST_PLAIN
                    }
                })
                .collect()
        })
        .collect()
}

/// Promo weeks matched with their neighbouring non-promo weeks, per store.
pub struct PromoCells {
    /// Calendar weeks that are promo weeks for some store (the bootstrap's week units).
    pub weeks: Vec<usize>,
    /// `[store][week][weekday][K]`, flattened.
    pub cells: Vec<f64>,
}

impl PromoCells {
    fn at(&self, s: usize, pw: usize, w: usize) -> &[f64] {
        let n = self.weeks.len();
        let o = ((s * n + pw) * WD + w) * K;
        &self.cells[o..o + K]
    }
}

/// Builds the matched cells.
pub fn promo_cells(ctx: &Ctx<'_>, status: &[Vec<u8>]) -> PromoCells {
    let p = ctx.panel;
    let weeks: Vec<usize> = (0..p.n_weeks)
        .filter(|&k| status.iter().any(|st| st[k] == ST_PROMO))
        .collect();
    let n = weeks.len();
    let mut cells = vec![0.0; p.stores.len() * n * WD * K];
    for (si, s) in p.stores.iter().enumerate() {
        let st = &status[si];
        for (pw, &k) in weeks.iter().enumerate() {
            if st[k] != ST_PROMO {
                continue;
            }
            let ka = (1..=3)
                .find(|&j| k >= j && st[k - j] == ST_PLAIN)
                .map(|j| k - j);
            let kb = (1..=3)
                .find(|&j| k + j < p.n_weeks && st[k + j] == ST_PLAIN)
                .map(|j| k + j);
            let (Some(ka), Some(kb)) = (ka, kb) else {
                continue;
            };
            let span = (kb - ka) as f64;
            let (wa, wb) = ((kb - k) as f64 / span, (k - ka) as f64 / span);
            for w in 0..WD {
                let (Some(dp), Some(da), Some(db)) = (p.day(k, w), p.day(ka, w), p.day(kb, w))
                else {
                    continue;
                };
                if !(s.normal(dp) && s.normal(da) && s.normal(db)) {
                    continue;
                }
                let school = s.flags[dp] & F_SCHOOL;
                if s.flags[da] & F_SCHOOL != school || s.flags[db] & F_SCHOOL != school {
                    continue;
                }
                let promo_day = s.flags[dp] & F_PROMO != 0;
                if promo_day != (w < 5) {
                    continue;
                }
                let o = ((si * n + pw) * WD + w) * K;
                let cal = &ctx.calendar;
                let (cp, ca, cb) = (cal[dp], cal[da], cal[db]);
                cells[o] += s.sales[dp] / cp;
                cells[o + 1] += wa * s.sales[da] / ca + wb * s.sales[db] / cb;
                cells[o + 2] += s.customers[dp] / cp;
                cells[o + 3] += wa * s.customers[da] / ca + wb * s.customers[db] / cb;
                cells[o + 4] += 1.0;
            }
        }
    }
    PromoCells { weeks, cells }
}

// Layout of the bootstrap statistic vector.
const O_UPLIFT: usize = 0;
const O_LOG: usize = 1;
const O_LOGC: usize = 2;
const O_EUR: usize = 3;
const O_TYPE_UP: usize = 4;
const O_TYPE_LOG: usize = 8;
const O_TYPE_EUR: usize = 12;
const O_ASS_UP: usize = 16;
const O_ASS_LOG: usize = 19;
const O_WD_UP: usize = 22;
const O_WD_LOG: usize = 28;
const O_TRAFFIC: usize = 34;
const O_CUST_UP: usize = 35;
const O_BASKET_UP: usize = 36;
const O_TYPE_REF: usize = 37;
const N_OUT: usize = 41;

/// Everything the promo comparison produced.
pub struct PromoResult {
    /// Bootstrap estimates (layout `O_*`).
    est: Vec<Est>,
    /// Per store: promo-day sales ratio (NaN when the store has no matched week).
    pub store_ratio: Vec<f64>,
    /// Per store: customers ratio.
    pub store_customer_ratio: Vec<f64>,
    /// Stores with a ratio, per type.
    pub n_type: [usize; 4],
    /// Stores with a ratio, per assortment.
    pub n_assortment: [usize; 3],
    /// Stores with a ratio.
    pub n: usize,
    /// Promo weeks resampled.
    pub n_weeks: usize,
    /// Matched store-weeks.
    pub n_store_weeks: usize,
    /// Promo open days per store and year (chain mean).
    pub promo_days_per_year: f64,
}

impl PromoResult {
    /// Overall customers uplift (exp of the mean log ratio − 1).
    pub fn customers_uplift(&self) -> Est {
        self.est[O_CUST_UP]
    }
    /// Overall basket uplift.
    pub fn basket_uplift(&self) -> Est {
        self.est[O_BASKET_UP]
    }
    /// Share of the log sales uplift that comes from more customers.
    pub fn traffic_share(&self) -> Est {
        self.est[O_TRAFFIC]
    }
    /// Mean log sales ratio.
    pub fn log_uplift(&self) -> Est {
        self.est[O_LOG]
    }
    /// Mean log customers ratio.
    pub fn log_customers(&self) -> Est {
        self.est[O_LOGC]
    }
}

struct Acc {
    sum: [f64; N_OUT],
    w: [f64; N_OUT],
}

impl Acc {
    fn add(&mut self, i: usize, v: f64, w: f64) {
        self.sum[i] += v * w;
        self.w[i] += w;
    }
    fn mean(&self, i: usize) -> f64 {
        self.sum[i] / self.w[i]
    }
}

/// Runs the comparison and its bootstrap.
pub fn compute(ctx: &Ctx<'_>) -> PromoResult {
    let p = ctx.panel;
    let status = week_status(ctx);
    let cells = promo_cells(ctx, &status);
    let n_pw = cells.weeks.len();
    let ass: Vec<usize> = p.stores.iter().map(|s| s.assortment.index()).collect();
    let stat = |uw: &[f64], ww: &[f64]| -> Vec<f64> {
        let mut acc = Acc {
            sum: [0.0; N_OUT],
            w: [0.0; N_OUT],
        };
        for (s, &u) in uw.iter().enumerate() {
            if u == 0.0 {
                continue;
            }
            let mut a = [[0.0; K]; WD];
            for (pw, &wk) in ww.iter().enumerate() {
                if wk == 0.0 {
                    continue;
                }
                for (w, aw) in a.iter_mut().enumerate() {
                    let c = cells.at(s, pw, w);
                    if c[4] > 0.0 {
                        for j in 0..K {
                            aw[j] += wk * c[j];
                        }
                    }
                }
            }
            let mut t = [0.0; K];
            for aw in a.iter().take(5) {
                for j in 0..K {
                    t[j] += aw[j];
                }
            }
            if t[1] <= 0.0 || t[3] <= 0.0 || t[4] <= 0.0 {
                continue;
            }
            let r = t[0] / t[1];
            let rc = t[2] / t[3];
            let eur = (t[0] - t[1]) / t[4];
            let ty = usize::from(ctx.strata[s]);
            acc.add(O_UPLIFT, r - 1.0, u);
            acc.add(O_LOG, r.ln(), u);
            acc.add(O_LOGC, rc.ln(), u);
            acc.add(O_EUR, eur, u);
            acc.add(O_TYPE_UP + ty, r - 1.0, u);
            acc.add(O_TYPE_LOG + ty, r.ln(), u);
            acc.add(O_TYPE_EUR + ty, eur, u);
            acc.add(O_TYPE_REF + ty, t[1] / t[4], u);
            acc.add(O_ASS_UP + ass[s], r - 1.0, u);
            acc.add(O_ASS_LOG + ass[s], r.ln(), u);
            for (w, aw) in a.iter().enumerate() {
                if aw[1] > 0.0 {
                    let rw = aw[0] / aw[1];
                    acc.add(O_WD_UP + w, rw - 1.0, u);
                    acc.add(O_WD_LOG + w, rw.ln(), u);
                }
            }
        }
        let mut out: Vec<f64> = (0..N_OUT).map(|i| acc.mean(i)).collect();
        out[O_TRAFFIC] = out[O_LOGC] / out[O_LOG];
        out[O_CUST_UP] = out[O_LOGC].exp_m1();
        out[O_BASKET_UP] = (out[O_LOG] - out[O_LOGC]).exp_m1();
        out
    };
    let est = ctx.boot.run(101, &ctx.strata, n_pw, stat);

    // Per-store point estimates.
    let mut store_ratio = vec![f64::NAN; p.stores.len()];
    let mut store_customer_ratio = vec![f64::NAN; p.stores.len()];
    let mut n_type = [0; 4];
    let mut n_assortment = [0; 3];
    let mut n_store_weeks = 0;
    for (s, st) in p.stores.iter().enumerate() {
        let mut t = [0.0; K];
        for pw in 0..n_pw {
            let mut any = false;
            for w in 0..5 {
                let c = cells.at(s, pw, w);
                if c[4] > 0.0 {
                    any = true;
                    for j in 0..K {
                        t[j] += c[j];
                    }
                }
            }
            n_store_weeks += usize::from(any);
        }
        if t[1] > 0.0 && t[3] > 0.0 {
            store_ratio[s] = t[0] / t[1];
            store_customer_ratio[s] = t[2] / t[3];
            n_type[st.store_type.index()] += 1;
            n_assortment[st.assortment.index()] += 1;
        }
    }
    let n = n_type.iter().sum();
    let promo_days: usize = p
        .stores
        .iter()
        .map(|s| {
            (0..p.n_days)
                .filter(|&d| s.has(d, F_PROMO | crate::panel::F_OPEN) && s.sales[d] > 0.0)
                .count()
        })
        .sum();
    PromoResult {
        est,
        store_ratio,
        store_customer_ratio,
        n_type,
        n_assortment,
        n,
        n_weeks: n_pw,
        n_store_weeks,
        promo_days_per_year: promo_days as f64 / p.stores.len().max(1) as f64 / ctx.years(),
    }
}

fn method_text(ctx: &Ctx<'_>, r: &PromoResult) -> String {
    format!(
        "Promotions here run whole Monday–Friday weeks for the whole chain, so no store-week mixes \
         promo and non-promo days and a within-week comparison is impossible. Instead each store's \
         promo week is compared with its NEIGHBOURING non-promo weeks: the nearest non-promo week \
         before and after (at most 3 weeks away), interpolated linearly in time so a steady trend \
         cancels, on the same weekdays, open normal days only (no state holiday, not next to a \
         holiday closure or a long closure, same school-holiday status in all three weeks); weeks \
         with a state holiday and December weeks are left out. Per store the uplift is Σ promo-day \
         sales / Σ reference sales − 1 over all its promo weeks; the chain figure is the mean over \
         {} stores ({} matched store-weeks, {} promo weeks). Saturday is never a promo day: its row \
         measures the day after the promotion. 95% intervals: two-way bootstrap ({} replicates) \
         resampling stores (stratified by store type) and promo weeks, because the promo calendar is \
         shared by all stores; p-values: Wald z-test of the mean log ratio with the bootstrap \
         standard error; differences between types: Kruskal–Wallis on the per-store log ratios.",
        r.n,
        text::thousands(r.n_store_weeks as f64),
        r.n_weeks,
        ctx.boot.reps
    )
}

/// The promo finding and the promo-value finding.
pub fn drafts(ctx: &Ctx<'_>, r: &PromoResult) -> Vec<Draft> {
    vec![uplift_draft(ctx, r), value_draft(ctx, r)]
}

fn uplift_draft(ctx: &Ctx<'_>, r: &PromoResult) -> Draft {
    let e = &r.est;
    let mut stats_v = vec![
        stat_from(
            "promo_uplift",
            "Sales uplift on promo days, mean over stores",
            &e[O_UPLIFT],
            Unit::Change,
            r.n,
        )
        .p(e[O_LOG].p_vs(0.0)),
        stat_from(
            "promo_eur_per_store_day",
            "Extra sales per store and promo day",
            &e[O_EUR],
            Unit::EurPerStoreDay,
            r.n,
        ),
    ];
    let mut type_labels = vec!["all stores".to_string()];
    let mut type_vals = vec![e[O_UPLIFT].est];
    let mut type_iv = vec![e[O_UPLIFT].ci()];
    for t in 0..4 {
        if r.n_type[t] >= 2 {
            stats_v.push(
                stat_from(
                    &format!("promo_uplift_type_{}", type_label(t)),
                    format!("Sales uplift, store type {}", type_label(t)),
                    &e[O_TYPE_UP + t],
                    Unit::Change,
                    r.n_type[t],
                )
                .p(e[O_TYPE_LOG + t].p_vs(0.0)),
            );
            type_labels.push(format!("type {}", type_label(t)));
            type_vals.push(e[O_TYPE_UP + t].est);
            type_iv.push(e[O_TYPE_UP + t].ci());
        }
    }
    let mut ass_labels = Vec::new();
    let mut ass_vals = Vec::new();
    let mut ass_iv = Vec::new();
    for a in Assortment::ALL {
        let i = a.index();
        if r.n_assortment[i] >= 2 {
            stats_v.push(
                stat_from(
                    &format!("promo_uplift_assortment_{}", a.code()),
                    format!("Sales uplift, assortment {} ({})", a.code(), a.name()),
                    &e[O_ASS_UP + i],
                    Unit::Change,
                    r.n_assortment[i],
                )
                .p(e[O_ASS_LOG + i].p_vs(0.0)),
            );
            ass_labels.push(format!("{} ({})", a.code(), a.name()));
            ass_vals.push(e[O_ASS_UP + i].est);
            ass_iv.push(e[O_ASS_UP + i].ci());
        }
    }
    stats_v.extend(weekday_stats(r));
    stats_v.extend(type_difference(ctx, r));

    let pct_chart = |id: &str,
                     title: &str,
                     x: &str,
                     labels: Vec<String>,
                     vals: Vec<f64>,
                     iv: Vec<(f64, f64)>| {
        Chart::new(id, Kind::Bar, title)
            .axes(x, "sales uplift on promo days")
            .labels(labels)
            .series(Series::new("uplift", vals).with_intervals(iv))
            .percent()
            .from_zero()
            .reference(0.0)
    };
    let wd_labels: Vec<String> = (0..WD)
        .map(|w| {
            if w == 5 {
                "Sat (after)".to_string()
            } else {
                WEEKDAYS[w].to_string()
            }
        })
        .collect();
    let mut charts = vec![
        pct_chart(
            "promo-by-type",
            "Promo uplift by store type (95% CI)",
            "store type",
            type_labels,
            type_vals,
            type_iv,
        ),
        pct_chart(
            "promo-by-assortment",
            "Promo uplift by assortment (95% CI)",
            "assortment",
            ass_labels,
            ass_vals,
            ass_iv,
        ),
        pct_chart(
            "promo-by-weekday",
            "Promo uplift by weekday (Saturday: the day after the promo)",
            "weekday",
            wd_labels,
            (0..WD).map(|w| e[O_WD_UP + w].est).collect(),
            (0..WD).map(|w| e[O_WD_UP + w].ci()).collect(),
        ),
    ];
    charts.extend(store_histogram(r));

    let table = type_table(r);
    let eur_year = e[O_EUR].est * r.promo_days_per_year * r.n as f64;
    let finding = Finding {
        id: "promo".into(),
        title: "Promotion uplift".into(),
        question: "How much do promotions add to sales, and does it differ by store type, \
                   assortment and weekday?"
            .into(),
        method: method_text(ctx, r),
        statistics: stats_v,
        effect_business: format!(
            "{} per store and promo day ({} of a normal day); {} per store and promo week; \
             about {} a year for the chain at the current {:.0} promo days per store and year.",
            text::eur_signed(e[O_EUR].est),
            text::pct(e[O_UPLIFT].est),
            text::eur_signed(5.0 * e[O_EUR].est),
            text::eur_big(eur_year),
            r.promo_days_per_year
        ),
        test: Some(
            "Wald z-test of the mean log sales ratio (two-way bootstrap standard error); \
             Kruskal–Wallis across store types"
                .into(),
        ),
        charts,
        tables: vec![table],
        conclusion: String::new(),
        links: Vec::new(),
    };
    let conclude = UpliftWords { eur_year };
    Draft::new(finding, conclude)
}

/// The promo uplift and the extra euros by store type.
fn type_table(r: &PromoResult) -> Table {
    let e = &r.est;
    let mut rows = Vec::new();
    for t in 0..4 {
        if r.n_type[t] >= 2 {
            let up = e[O_TYPE_UP + t];
            let eur = e[O_TYPE_EUR + t];
            rows.push(vec![
                type_label(t).to_string(),
                r.n_type[t].to_string(),
                text::pct(up.est),
                format!("{} to {}", text::pct(up.lo), text::pct(up.hi)),
                text::eur(e[O_TYPE_REF + t].est),
                text::eur(eur.est),
                text::eur(5.0 * eur.est),
            ]);
        }
    }
    Table::new(
        "Promo uplift by store type",
        &[
            "type",
            "stores",
            "uplift",
            "95% CI",
            "normal day (reference)",
            "extra € per promo day",
            "extra € per promo week (5 days)",
        ],
        rows,
    )
}

/// Stores by promo uplift, in bins of 2.5 points.
fn store_histogram(r: &PromoResult) -> Option<Chart> {
    let ups: Vec<f64> = r
        .store_ratio
        .iter()
        .filter(|x| x.is_finite())
        .map(|x| x - 1.0)
        .collect();
    if ups.is_empty() {
        return None;
    }
    {
        let lo = (stats::quantile(&ups, 0.005) * 40.0).floor() / 40.0;
        let hi = (stats::quantile(&ups, 0.995) * 40.0).ceil() / 40.0;
        let nb = (((hi - lo) * 40.0).round() as usize).clamp(1, 60);
        let mut counts = vec![0.0; nb];
        for u in &ups {
            let b = (((u - lo) * 40.0).floor().max(0.0) as usize).min(nb - 1);
            counts[b] += 1.0;
        }
        Some(
            Chart::new("promo-store-histogram", Kind::Bar, "Stores by promo uplift")
                .axes("uplift (bin start)", "stores")
                .labels((0..nb).map(|b| text::pct(lo + b as f64 / 40.0)))
                .series(Series::new("stores", counts)),
        )
    }
}

/// The uplift on each weekday of a promo (Monday to Friday) and the Saturday after it.
fn weekday_stats(r: &PromoResult) -> Vec<Statistic> {
    let e = &r.est;
    (0..WD)
        .map(|w| {
            let (name, label) = if w < 5 {
                (
                    format!("promo_uplift_{}", WEEKDAYS[w].to_lowercase()),
                    format!("Sales uplift on {}", WEEKDAYS[w]),
                )
            } else {
                (
                    "promo_saturday_after".to_string(),
                    "Saturday after a promo week vs Saturdays of neighbouring weeks".to_string(),
                )
            };
            stat_from(&name, label, &e[O_WD_UP + w], Unit::Change, r.n).p(e[O_WD_LOG + w].p_vs(0.0))
        })
        .collect()
}

/// Whether store types differ in uplift: Kruskal–Wallis on the per-store log ratios.
fn type_difference(ctx: &Ctx<'_>, r: &PromoResult) -> Option<Statistic> {
    let groups: Vec<Vec<f64>> = (0..4)
        .map(|t| {
            ctx.panel.by_type[t]
                .iter()
                .map(|&s| r.store_ratio[s].ln())
                .filter(|x| x.is_finite())
                .collect()
        })
        .collect();
    let kw = stats::kruskal_wallis(&groups);
    (kw.df >= 1.0).then(|| {
        Statistic::new(
            "promo_type_difference",
            "Do store types differ in uplift? (Kruskal–Wallis ε²)",
            kw.epsilon2,
            Unit::EffectSize,
            kw.n,
        )
        .p(kw.p)
    })
}

/// What the conclusion reads besides the corrected finding: figures computed with it.
struct UpliftWords {
    eur_year: f64,
}

impl super::Conclude for UpliftWords {
    fn conclude(&self, f: &Finding, wd: &super::Wording) -> Conclusion {
        let &UpliftWords { eur_year } = self;
        let mut c = Conclusion::default();
        let Some(all) = f.stat("promo_uplift") else {
            return c;
        };
        let types: Vec<&Statistic> = f
            .statistics
            .iter()
            .filter(|s| s.name.starts_with("promo_uplift_type_"))
            .collect();
        let best = types
            .iter()
            .max_by(|a, b| a.estimate.total_cmp(&b.estimate));
        let worst = types
            .iter()
            .min_by(|a, b| a.estimate.total_cmp(&b.estimate));
        let eur = f
            .stat("promo_eur_per_store_day")
            .map_or(f64::NAN, |s| s.estimate);
        let mut t = if wd.sure(all) {
            format!(
                    "Promotions lift sales by {} against the neighbouring non-promo weeks, about {} per store \
                     and promo day; this is {}.",
                    text::with_ci(all),
                    text::eur_signed(eur),
                    wd.certainty(all)
                )
        } else {
            format!(
                    "The data show no reliable promotion effect: {} against the neighbouring non-promo weeks.",
                    wd.full(all)
                )
        };
        if let (Some(b), Some(w)) = (best, worst) {
            if b.name != w.name && wd.sure(all) {
                let differ = f.stat("promo_type_difference").is_some_and(|s| wd.sure(s));
                t.push_str(&format!(
                    " Type {} gains most ({}), type {} least ({}){}.",
                    b.name.trim_start_matches("promo_uplift_type_"),
                    text::pct(b.estimate),
                    w.name.trim_start_matches("promo_uplift_type_"),
                    text::pct(w.estimate),
                    if differ {
                        "; the types differ significantly"
                    } else {
                        "; the difference between types is not significant"
                    }
                ));
            }
        }
        if wd.sure(all) {
            c.headlines.push(HeadlineCandidate {
                    text: format!(
                        "Promotions work: {} sales on promo days ({} per store and day), worth about {} a year chain-wide.",
                        text::pct(all.estimate),
                        text::eur_signed(eur),
                        text::eur_big(eur_year)
                    ),
                    eur_per_year: Some(eur_year),
                    score: eur_year,
                });
        }
        c.text = t;
        c
    }
}

fn value_draft(ctx: &Ctx<'_>, r: &PromoResult) -> Draft {
    let e = &r.est;
    let mut stats_v = Vec::new();
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    let mut vals = Vec::new();
    let mut iv = Vec::new();
    let mut chain_total = 0.0;
    let mut chain_lo = 0.0;
    let mut chain_hi = 0.0;
    for t in 0..4 {
        if r.n_type[t] < 2 {
            continue;
        }
        let week = e[O_TYPE_EUR + t].map(|x| 5.0 * x);
        let n_all = ctx.panel.by_type[t].len() as f64;
        chain_total += week.est * n_all;
        chain_lo += week.lo * n_all;
        chain_hi += week.hi * n_all;
        stats_v.push(stat_from(
            &format!("promo_week_value_type_{}", type_label(t)),
            format!(
                "Extra sales of one promo week per type-{} store",
                type_label(t)
            ),
            &week,
            Unit::Eur,
            r.n_type[t],
        ));
        labels.push(format!("type {}", type_label(t)));
        vals.push(week.est);
        iv.push(week.ci());
        rows.push(vec![
            type_label(t).to_string(),
            format!("{}", ctx.panel.by_type[t].len()),
            text::eur(week.est),
            format!("{} to {}", text::eur(week.lo), text::eur(week.hi)),
            text::eur_big(week.est * n_all),
        ]);
    }
    stats_v.push(
        Statistic::new(
            "promo_week_value_chain",
            "Extra sales of one more chain-wide promo week (sum over types; interval: sum of type bounds)",
            chain_total,
            Unit::Eur,
            r.n,
        )
        .ci((chain_lo, chain_hi)),
    );
    let chart = Chart::new(
        "promo-week-value",
        Kind::Bar,
        "Extra sales from one more promo week, per store (95% CI)",
    )
    .axes("store type", "€ per store and promo week")
    .labels(labels)
    .series(Series::new("€ per store", vals).with_intervals(iv))
    .from_zero();
    let finding = Finding {
        id: "promo_value".into(),
        title: "What one more promo week is worth".into(),
        question: "If we add one promo week, how much extra turnover should each store type bring?".into(),
        method: format!(
            "From the promo comparison: extra € per promo day (promo-day sales minus the \
             interpolated neighbouring-week sales, same weekdays) × 5 promo days, averaged over the \
             stores of each type; intervals from the same two-way bootstrap ({} replicates). The chain \
             total multiplies by the number of stores of each type. This assumes one more promo week \
             works like the current ones (the data cannot show fatigue from more frequent promotions: \
             the promo rhythm never changes).",
            ctx.boot.reps
        ),
        statistics: stats_v,
        effect_business: format!(
            "One more chain-wide promo week ≈ {} extra turnover (before promo costs and margin).",
            text::eur_big(chain_total)
        ),
        test: None,
        charts: vec![chart],
        tables: vec![Table::new(
            "Extra sales from one more promo week",
            &["type", "stores", "€ per store", "95% CI", "all stores of the type"],
            rows,
        )],
        conclusion: String::new(),
        links: Vec::new(),
    };
    Draft::new(finding, ValueWords)
}

/// The promo-value finding's words need nothing besides the corrected finding.
struct ValueWords;

impl super::Conclude for ValueWords {
    fn conclude(&self, f: &Finding, wd: &super::Wording) -> Conclusion {
        let mut c = Conclusion::default();
        let types: Vec<&Statistic> = f
            .statistics
            .iter()
            .filter(|s| s.name.starts_with("promo_week_value_type_"))
            .collect();
        let Some(chain) = f.stat("promo_week_value_chain") else {
            return c;
        };
        let parts: Vec<String> = types
            .iter()
            .map(|s| {
                format!(
                    "{} per type-{} store",
                    text::eur(s.estimate),
                    s.name.trim_start_matches("promo_week_value_type_")
                )
            })
            .collect();
        if wd.sure(chain) {
            c.text = format!(
                    "One more promo week brings roughly {}: about {} for the whole chain (95% CI {} to {}) before promo costs.",
                    parts.join(", "),
                    text::eur_big(chain.estimate),
                    text::eur_big(chain.ci_low.unwrap_or(f64::NAN)),
                    text::eur_big(chain.ci_high.unwrap_or(f64::NAN))
                );
            c.headlines.push(HeadlineCandidate {
                    text: format!(
                        "One more promo week ≈ {} extra turnover chain-wide ({}); compare with its cost.",
                        text::eur_big(chain.estimate),
                        parts.join(", ")
                    ),
                    eur_per_year: Some(chain.estimate),
                    score: chain.estimate,
                });
        } else {
            c.text = format!(
                    "An extra promo week shows no reliable extra turnover ({} chain-wide, 95% CI includes zero).",
                    text::eur_big(chain.estimate)
                );
        }
        c
    }
}
