//! Chain-wide calendar factors: month level and day-of-month profile.
//!
//! Why this module exists: the promotion calendar is the same for every store, so a promo
//! week's comparison with its neighbouring weeks also picks up whatever else differs between
//! those calendar weeks — a payday at the start of the month, a step from one month's level to
//! the next. Those effects cannot be separated store by store, but they can be estimated from
//! the non-promo, non-school-holiday days alone (where they are not mixed with the promotion) and divided out of
//! every day's sales before the comparisons. The model is deliberately small: one level per
//! calendar month (year × month) plus one effect per day of the month, on log sales after each
//! store's weekday means are removed, fitted by alternating means.

use crate::panel::{Panel, F_PROMO, F_SCHOOL};
use chrono::Datelike;

/// Minimum stores behind a day's chain mean.
const MIN_STORES: usize = 10;

/// Multiplicative calendar factor per day of the panel (1 where it cannot be estimated).
pub fn factors(panel: &Panel) -> Vec<f64> {
    let n = panel.n_days;
    let mut sum = vec![0.0; n];
    let mut cnt = vec![0usize; n];
    for s in &panel.stores {
        let mut wsum = [0.0; 7];
        let mut wcnt = [0usize; 7];
        for d in 0..n {
            if s.normal(d) && s.flags[d] & (F_PROMO | F_SCHOOL) == 0 {
                let w = usize::from(panel.dow[d]);
                wsum[w] += s.sales[d].ln();
                wcnt[w] += 1;
            }
        }
        for d in 0..n {
            let w = usize::from(panel.dow[d]);
            if s.normal(d) && s.flags[d] & (F_PROMO | F_SCHOOL) == 0 && wcnt[w] >= 10 {
                sum[d] += s.sales[d].ln() - wsum[w] / wcnt[w] as f64;
                cnt[d] += 1;
            }
        }
    }
    let first = panel.dates[0];
    let month_of = |d: usize| -> usize {
        let x = panel.dates[d];
        ((x.year() - first.year()) * 12 + x.month() as i32 - first.month() as i32) as usize
    };
    let n_months = month_of(n - 1) + 1;
    let dom = |d: usize| (panel.dates[d].day() - 1) as usize;
    // Days used for the day-of-month profile: not December (its ramp is not a day-of-month
    // effect).
    let usable: Vec<bool> = (0..n).map(|d| cnt[d] >= MIN_STORES).collect();
    let x: Vec<f64> = (0..n)
        .map(|d| {
            if usable[d] {
                sum[d] / cnt[d] as f64
            } else {
                0.0
            }
        })
        .collect();
    let w: Vec<f64> = (0..n).map(|d| if usable[d] { 1.0 } else { 0.0 }).collect();
    let mut m = vec![0.0; n_months];
    let mut dm = [0.0; 31];
    for _ in 0..12 {
        let mut ms = vec![0.0; n_months];
        let mut mw = vec![0.0; n_months];
        for d in 0..n {
            ms[month_of(d)] += w[d] * (x[d] - dm[dom(d)]);
            mw[month_of(d)] += w[d];
        }
        for j in 0..n_months {
            m[j] = if mw[j] > 0.0 { ms[j] / mw[j] } else { 0.0 };
        }
        let mut ds = [0.0; 31];
        let mut dw = [0.0; 31];
        for d in 0..n {
            if panel.dates[d].month() == 12 {
                continue;
            }
            ds[dom(d)] += w[d] * (x[d] - m[month_of(d)]);
            dw[dom(d)] += w[d];
        }
        let mut total = (0.0, 0.0);
        for j in 0..31 {
            dm[j] = if dw[j] > 0.0 { ds[j] / dw[j] } else { 0.0 };
            total.0 += dm[j] * dw[j];
            total.1 += dw[j];
        }
        let centre = if total.1 > 0.0 {
            total.0 / total.1
        } else {
            0.0
        };
        for v in dm.iter_mut() {
            *v -= centre;
        }
    }
    (0..n)
        .map(|d| {
            let dd = if panel.dates[d].month() == 12 {
                0.0
            } else {
                dm[dom(d)]
            };
            (m[month_of(d)] + dd).exp()
        })
        .collect()
}
