//! The findings, and what they share: the analysis context (panel, per-store profiles, weekly
//! levels), the draft → conclusion protocol and the event-study machinery.
//!
//! Why this module exists: a conclusion may only say "significant" after the p-values of the
//! whole report have been corrected for multiple comparisons. So each finding is built in two
//! steps: a [`Draft`] holds the numbers (raw p-values) and a [`Conclude`] that writes the
//! conclusion and the headline from the *final* finding, run after the correction. The shared
//! pieces — store profiles that turn sales into weekday- and promo-adjusted sales, weekly log
//! levels, difference-in-differences around events — live here so every finding uses the same
//! ones.

pub mod basket;
pub mod caveats;
pub mod closures;
pub mod competition;
pub mod formats;
pub mod holidays;
pub mod promo;
pub mod promo2;
pub mod seasonality;
pub mod trend;
pub mod volatility;
pub mod weekday;

use crate::boot::{Boot, Est};
use crate::config::AnalysisConfig;
use crate::model::{Finding, Statistic, Unit};
use crate::panel::{Panel, F_PROMO, F_SCHOOL};
use crate::stats;
use chrono::Datelike;
use storecast_validate::ValidationReport;

/// A headline candidate.
#[derive(Debug, Clone)]
pub struct HeadlineCandidate {
    /// The sentence.
    pub text: String,
    /// Rough yearly € at stake for the chain, when it can be stated.
    pub eur_per_year: Option<f64>,
    /// Ranking score (higher first): the € at stake, or a fixed priority.
    pub score: f64,
}

/// What the conclusion step returns.
#[derive(Debug, Clone, Default)]
pub struct Conclusion {
    /// One or two sentences.
    pub text: String,
    /// Headline candidates (zero or more).
    pub headlines: Vec<HeadlineCandidate>,
}

/// The last step of every finding: compute → draft → **conclude**. A finding's module computes
/// its figures, drafts the [`Finding`] (statistics with raw p-values, charts, tables, method)
/// and keeps, in a type of its own, the figures its words need; once the report's p-values are
/// corrected, that type writes the conclusion and the headline candidates from the final
/// finding.
pub trait Conclude {
    /// The conclusion of `f` (adjusted p-values filled in), worded with `wd`.
    fn conclude(&self, f: &Finding, wd: &Wording) -> Conclusion;
}

/// What a conclusion needs besides the finding.
#[derive(Debug, Clone)]
pub struct Wording {
    /// Significance level.
    pub alpha: f64,
    /// Short name of the correction (e.g. "Holm").
    pub correction: String,
}

impl Wording {
    /// "statistically significant (Holm-adjusted p < 0.001)".
    pub fn certainty(&self, s: &Statistic) -> String {
        crate::text::certainty(s, self.alpha, &self.correction)
    }
    /// "+23.4 % (95% CI +21.0 % to +25.9 %; statistically significant, Holm-adjusted p < 0.001)".
    pub fn full(&self, s: &Statistic) -> String {
        let ci = crate::text::ci(s);
        let v = crate::text::value(s.estimate, s.unit);
        if ci.is_empty() {
            format!("{v} ({})", self.certainty(s))
        } else {
            format!("{v} (95% CI {ci}; {})", self.certainty(s))
        }
    }
    /// Significant after correction, or (without a test) interval excluding no effect.
    pub fn sure(&self, s: &Statistic) -> bool {
        match s.p_adjusted {
            Some(p) => p < self.alpha,
            None => s.ci_excludes(crate::text::null_of(s.unit)),
        }
    }
}

/// A finding before the multiple-comparison correction.
pub struct Draft {
    /// The finding (conclusion empty).
    pub finding: Finding,
    /// Writes the conclusion afterwards.
    pub conclude: Box<dyn Conclude>,
}

impl Draft {
    /// A finding with its conclusion writer.
    pub fn new(finding: Finding, conclude: impl Conclude + 'static) -> Self {
        Self {
            finding,
            conclude: Box::new(conclude),
        }
    }
}

/// Per-store profiles used to compare days of different kinds.
#[derive(Debug, Clone)]
pub struct Profiles {
    /// Weekday factor (Mon..Sun) relative to the store's Mon–Sat mean on non-promo weeks.
    pub weekday: Vec<[f64; 7]>,
    /// Sales ratio of promo days to neighbouring non-promo days.
    pub promo: Vec<f64>,
    /// Mean sales of a normal open day.
    pub level: Vec<f64>,
    /// Mean customers of a normal open day.
    pub customers: Vec<f64>,
    /// Mean sales per open day with sales (all open days).
    pub open_day_sales: Vec<f64>,
    /// Mean customers per open day with sales.
    pub open_day_customers: Vec<f64>,
    /// Open days with sales.
    pub open_days: Vec<usize>,
}

/// The analysis context.
pub struct Ctx<'a> {
    /// The panel.
    pub panel: &'a Panel,
    /// Settings.
    pub cfg: &'a AnalysisConfig,
    /// Bootstrap engine.
    pub boot: Boot,
    /// Store type index per store (bootstrap strata).
    pub strata: Vec<u8>,
    /// Per-store profiles (filled after the promo and weekday findings).
    pub prof: Profiles,
    /// Weekly log level of adjusted sales per store and week (NaN when < 3 normal days).
    pub weekly: Vec<Vec<f64>>,
    /// Validation report, when given.
    pub validation: Option<&'a ValidationReport>,
    /// Chain-wide calendar factor per day (month level × day of month), see [`crate::calendar`].
    pub calendar: Vec<f64>,
}

impl<'a> Ctx<'a> {
    /// A context with flat profiles; call [`Ctx::set_profiles`] once they are estimated.
    pub fn new(
        panel: &'a Panel,
        cfg: &'a AnalysisConfig,
        validation: Option<&'a ValidationReport>,
    ) -> Self {
        let n = panel.stores.len();
        let strata = panel
            .stores
            .iter()
            .map(|s| s.store_type.index() as u8)
            .collect();
        let mut prof = Profiles {
            weekday: vec![[1.0; 7]; n],
            promo: vec![1.0; n],
            level: vec![f64::NAN; n],
            customers: vec![f64::NAN; n],
            open_day_sales: vec![f64::NAN; n],
            open_day_customers: vec![f64::NAN; n],
            open_days: vec![0; n],
        };
        for (i, s) in panel.stores.iter().enumerate() {
            let (mut sum, mut cust, mut cnt) = (0.0, 0.0, 0usize);
            let (mut osum, mut ocust, mut ocnt) = (0.0, 0.0, 0usize);
            for d in 0..panel.n_days {
                if s.normal(d) {
                    sum += s.sales[d];
                    cust += s.customers[d];
                    cnt += 1;
                }
                if s.has(d, crate::panel::F_OPEN | crate::panel::F_PRESENT) && s.sales[d] > 0.0 {
                    osum += s.sales[d];
                    ocust += s.customers[d];
                    ocnt += 1;
                }
            }
            if cnt > 0 {
                prof.level[i] = sum / cnt as f64;
                prof.customers[i] = cust / cnt as f64;
            }
            if ocnt > 0 {
                prof.open_day_sales[i] = osum / ocnt as f64;
                prof.open_day_customers[i] = ocust / ocnt as f64;
            }
            prof.open_days[i] = ocnt;
        }
        Self {
            panel,
            cfg,
            boot: Boot {
                reps: cfg.bootstrap_reps.max(20),
                threads: cfg.threads.max(1),
                seed: cfg.seed,
            },
            strata,
            prof,
            weekly: Vec::new(),
            validation,
            calendar: crate::calendar::factors(panel),
        }
    }

    /// Installs weekday and promo factors and computes the weekly levels.
    pub fn set_profiles(&mut self, weekday: Vec<[f64; 7]>, promo: Vec<f64>) {
        self.prof.weekday = weekday;
        self.prof.promo = promo;
        let p = self.panel;
        self.weekly = p
            .stores
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut lv = vec![f64::NAN; p.n_weeks];
                for (k, slot) in lv.iter_mut().enumerate() {
                    let (mut sum, mut cnt) = (0.0, 0usize);
                    for w in 0..7 {
                        if let Some(d) = p.day(k, w) {
                            if s.normal(d) {
                                sum += self.adjusted(i, d);
                                cnt += 1;
                            }
                        }
                    }
                    if cnt >= 3 {
                        *slot = (sum / cnt as f64).ln();
                    }
                }
                lv
            })
            .collect();
    }

    /// Sales of store `i` on day `d` divided by its weekday factor and, on promo days, by its
    /// promo factor: comparable across weekdays and promo status.
    #[inline]
    pub fn adjusted(&self, i: usize, d: usize) -> f64 {
        let s = &self.panel.stores[i];
        let mut f = self.prof.weekday[i][usize::from(self.panel.dow[d])];
        if s.flags[d] & F_PROMO != 0 {
            f *= self.prof.promo[i];
        }
        s.sales[d] / f
    }

    /// Strata of a subset of stores.
    pub fn strata_of(&self, stores: &[usize]) -> Vec<u8> {
        stores.iter().map(|&i| self.strata[i]).collect()
    }

    /// Mean over a subset of per-store values with a stratified store-bootstrap interval.
    pub fn boot_mean(&self, stream: u64, stores: &[usize], values: &[f64]) -> Est {
        self.boot.mean(stream, values, &self.strata_of(stores))
    }

    /// Years covered by the data.
    pub fn years(&self) -> f64 {
        self.panel.n_days as f64 / 365.25
    }

    /// Mean sales of a normal open day across stores.
    pub fn chain_level(&self) -> f64 {
        stats::mean(
            &self
                .prof
                .level
                .iter()
                .copied()
                .filter(|x| x.is_finite())
                .collect::<Vec<_>>(),
        )
    }

    /// Open days per store and year (chain mean).
    pub fn open_days_per_year(&self) -> f64 {
        let n = self.prof.open_days.len().max(1) as f64;
        self.prof.open_days.iter().sum::<usize>() as f64 / n / self.years()
    }

    /// Calendar-adjusted sales of store `i` on day `d` (sales divided by the chain-wide
    /// calendar factor), for comparisons across weeks.
    #[inline]
    pub fn cal_sales(&self, i: usize, d: usize) -> f64 {
        self.panel.stores[i].sales[d] / self.calendar[d]
    }

    /// Reference for day `d` of store `i`: mean calendar-adjusted sales (and customers) of the
    /// nearest normal days with the same weekday, promo and school-holiday status, one before (up to 3
    /// weeks back) and, if `after`, one after. `None` unless at least one side exists (both
    /// sides when `both`).
    /// December days are only compared with December days (its ramp is not a weekly effect).
    /// With `school` false the school-holiday status is not matched (for Christmas, which falls
    /// inside school holidays everywhere).
    pub fn reference(
        &self,
        i: usize,
        d: usize,
        after: bool,
        both: bool,
        school: bool,
    ) -> Option<(f64, f64)> {
        let s = &self.panel.stores[i];
        let mask = if school { F_PROMO | F_SCHOOL } else { F_PROMO };
        let kind = s.flags[d] & mask;
        let december = |x: usize| self.panel.dates[x].month() == 12;
        let pick = |dir: i64| -> Option<usize> {
            (1..=3).find_map(|k| {
                let x = d as i64 + dir * 7 * k;
                let x = usize::try_from(x).ok().filter(|&x| x < self.panel.n_days)?;
                (s.normal(x) && s.flags[x] & mask == kind && december(x) == december(d))
                    .then_some(x)
            })
        };
        let b = pick(-1);
        let a = if after { pick(1) } else { None };
        let days: Vec<usize> = b.into_iter().chain(a).collect();
        if days.is_empty() || (both && days.len() < 2) {
            return None;
        }
        let n = days.len() as f64;
        Some((
            days.iter()
                .map(|&x| s.sales[x] / self.calendar[x])
                .sum::<f64>()
                / n,
            days.iter()
                .map(|&x| s.customers[x] / self.calendar[x])
                .sum::<f64>()
                / n,
        ))
    }

    /// Per-store values → mean with a stratified bootstrap interval and a one-sample t-test on
    /// `logs` (the same values on the log scale). Returns `None` below 3 stores.
    pub fn store_effect(&self, stream: u64, stores: &[usize], logs: &[f64]) -> Option<(Est, f64)> {
        if stores.len() < 3 {
            return None;
        }
        let effects: Vec<f64> = logs.iter().map(|l| l.exp_m1()).collect();
        let e = self.boot_mean(stream, stores, &effects);
        Some((e, stats::one_sample_t(logs).p))
    }

    /// Mean effect of store-level events that share calendar dates (holiday eves, holiday
    /// openings): `events[k]` lists store `stores[k]`'s (date unit, log ratio) pairs. The
    /// interval resamples stores and dates (two-way bootstrap); the p-value is the z-test of the
    /// mean log effect with that bootstrap's standard error. With fewer than 10 distinct dates
    /// resampling dates is meaningless, so it falls back to [`Ctx::store_effect`] on the
    /// per-store mean log ratios. `None` below 3 stores.
    pub fn dated_effect(
        &self,
        stream: u64,
        stores: &[usize],
        events: &[Vec<(usize, f64)>],
    ) -> Option<(Est, f64)> {
        if stores.len() < 3 {
            return None;
        }
        let mut dates: Vec<usize> = events.iter().flat_map(|e| e.iter().map(|x| x.0)).collect();
        dates.sort_unstable();
        dates.dedup();
        if dates.len() < 10 {
            let logs: Vec<f64> = events
                .iter()
                .map(|e| e.iter().map(|x| x.1).sum::<f64>() / e.len().max(1) as f64)
                .collect();
            return self.store_effect(stream, stores, &logs);
        }
        let n_units = events
            .iter()
            .flat_map(|e| e.iter().map(|x| x.0 + 1))
            .max()
            .unwrap_or(0);
        let est = self
            .boot
            .run(stream, &self.strata_of(stores), n_units, |uw, ww| {
                let (mut ch, mut lg, mut n) = (0.0, 0.0, 0.0);
                for (k, ev) in events.iter().enumerate() {
                    if uw[k] == 0.0 {
                        continue;
                    }
                    let (mut s, mut c) = (0.0, 0.0);
                    for &(unit, v) in ev {
                        s += ww[unit] * v;
                        c += ww[unit];
                    }
                    if c > 0.0 {
                        let l = s / c;
                        ch += uw[k] * l.exp_m1();
                        lg += uw[k] * l;
                        n += uw[k];
                    }
                }
                vec![ch / n, lg / n]
            });
        Some((est[0], est[1].p_vs(0.0)))
    }

    /// Chain index per week for a control group: mean over control stores (same type when the
    /// type has at least 20 controls, else all) of the store's centred weekly log level.
    pub fn control_index(&self, control: &[bool]) -> [Vec<f64>; 4] {
        let p = self.panel;
        let centred: Vec<Vec<f64>> = self
            .weekly
            .iter()
            .map(|lv| {
                let m = stats::mean(
                    &lv.iter()
                        .copied()
                        .filter(|x| x.is_finite())
                        .collect::<Vec<_>>(),
                );
                lv.iter().map(|x| x - m).collect()
            })
            .collect();
        let index_for = |members: &dyn Fn(usize) -> bool| -> Vec<f64> {
            (0..p.n_weeks)
                .map(|k| {
                    let (mut s, mut n) = (0.0, 0usize);
                    for (i, c) in centred.iter().enumerate() {
                        if control[i] && members(i) && c[k].is_finite() {
                            s += c[k];
                            n += 1;
                        }
                    }
                    if n > 0 {
                        s / n as f64
                    } else {
                        f64::NAN
                    }
                })
                .collect()
        };
        let all = index_for(&|_| true);
        let mut out: [Vec<f64>; 4] = Default::default();
        for (t, slot) in out.iter_mut().enumerate() {
            let n = p.by_type[t].iter().filter(|&&i| control[i]).count();
            *slot = if n >= 20 {
                index_for(&|i| usize::from(self.strata[i]) == t)
            } else {
                all.clone()
            };
        }
        out
    }

    /// Difference-in-differences of an event: mean over the `after` weeks minus mean over the
    /// `before` weeks of (store weekly log level − control index). Needs at least half of each
    /// window's weeks.
    pub fn did(
        &self,
        i: usize,
        index: &[Vec<f64>; 4],
        before: &[usize],
        after: &[usize],
    ) -> Option<f64> {
        let idx = &index[usize::from(self.strata[i])];
        let gap = |k: usize| -> Option<f64> {
            let v = self.weekly[i].get(k)? - idx.get(k)?;
            v.is_finite().then_some(v)
        };
        let window = |ks: &[usize]| -> Option<f64> {
            let v: Vec<f64> = ks.iter().filter_map(|&k| gap(k)).collect();
            (v.len() * 2 >= ks.len() && !v.is_empty()).then(|| stats::mean(&v))
        };
        Some(window(after)? - window(before)?)
    }

    /// Relative-week profile of an event (store − control, minus the store's before mean) for
    /// weeks `first..first+len` (NaN where missing).
    pub fn event_profile(
        &self,
        i: usize,
        index: &[Vec<f64>; 4],
        before: &[usize],
        first: i64,
        len: usize,
    ) -> Vec<f64> {
        let idx = &index[usize::from(self.strata[i])];
        let gap = |k: i64| -> f64 {
            usize::try_from(k)
                .ok()
                .and_then(|k| Some(self.weekly[i].get(k)? - idx.get(k)?))
                .unwrap_or(f64::NAN)
        };
        let base: Vec<f64> = before
            .iter()
            .map(|&k| gap(k as i64))
            .filter(|x| x.is_finite())
            .collect();
        let b = stats::mean(&base);
        (0..len as i64).map(|j| gap(first + j) - b).collect()
    }
}

/// The result of an event study over many stores.
#[derive(Debug, Clone)]
pub struct EventStudy {
    /// Stores with a usable event.
    pub stores: Vec<usize>,
    /// Per store: exp(DiD) − 1.
    pub effects: Vec<f64>,
    /// Per store: DiD on the log scale.
    pub logs: Vec<f64>,
    /// Mean effect with interval.
    pub mean: Est,
    /// t-test on the log DiD.
    pub p: f64,
    /// Relative-week labels and mean profile with interval (exp − 1).
    pub profile: Vec<(i64, Est)>,
}

/// An event: store, the weeks before, the weeks after, and the week the profile is aligned on.
#[derive(Debug, Clone)]
pub struct Event {
    /// Store index.
    pub store: usize,
    /// Weeks of the before window.
    pub before: Vec<usize>,
    /// Weeks of the after window.
    pub after: Vec<usize>,
    /// Week aligned to relative week 0 in the profile.
    pub anchor: usize,
}

/// Runs the difference-in-differences over events; `profile_from`..`profile_to` are the
/// relative weeks of the profile chart.
pub fn event_study(
    ctx: &Ctx<'_>,
    stream: u64,
    events: &[Event],
    control: &[bool],
    profile_from: i64,
    profile_to: i64,
) -> Option<EventStudy> {
    let index = ctx.control_index(control);
    let mut stores = Vec::new();
    let mut logs = Vec::new();
    let mut profiles = Vec::new();
    let len = usize::try_from(profile_to - profile_from + 1).ok()?;
    for e in events {
        if let Some(d) = ctx.did(e.store, &index, &e.before, &e.after) {
            stores.push(e.store);
            logs.push(d);
            profiles.push(ctx.event_profile(
                e.store,
                &index,
                &e.before,
                e.anchor as i64 + profile_from,
                len,
            ));
        }
    }
    if stores.len() < 3 {
        return None;
    }
    let effects: Vec<f64> = logs.iter().map(|l| l.exp_m1()).collect();
    let strata = ctx.strata_of(&stores);
    let mean = ctx.boot.mean(stream, &effects, &strata);
    let p = stats::one_sample_t(&logs).p;
    let prof_est = ctx.boot.run(stream + 1, &strata, 0, |w, _| {
        (0..len)
            .map(|j| {
                let (mut s, mut n) = (0.0, 0.0);
                for (k, pr) in profiles.iter().enumerate() {
                    if pr[j].is_finite() {
                        s += w[k] * pr[j].exp_m1();
                        n += w[k];
                    }
                }
                s / n
            })
            .collect()
    });
    let profile = prof_est
        .into_iter()
        .enumerate()
        .map(|(j, e)| (profile_from + j as i64, e))
        .collect();
    Some(EventStudy {
        stores,
        effects,
        logs,
        mean,
        p,
        profile,
    })
}

/// A statistic from a bootstrap estimate.
pub fn stat_from(name: &str, label: impl Into<String>, e: &Est, unit: Unit, n: usize) -> Statistic {
    Statistic::new(name, label, e.est, unit, n).ci(e.ci())
}

/// Store type label.
pub fn type_label(t: usize) -> &'static str {
    ["a", "b", "c", "d"][t.min(3)]
}

/// Weekday names, Monday first.
pub const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
/// Month names.
pub const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
