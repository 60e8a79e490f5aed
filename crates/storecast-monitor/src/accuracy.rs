//! Live accuracy of issued forecasts against the actuals that arrived later.
//!
//! Why this module exists: the backtest says how good the model was on the past; only the
//! forecasts actually handed to store managers, scored against what then happened, say how
//! good it is now. The metrics are the backtest's own ([`Metrics::compute`]: RMSPE headline,
//! MAPE, WAPE, bias) so live and backtest numbers compare one to one, plus the share of actuals
//! inside the issued 80 % and 95 % bands. They are cut by chain, store type, store and ISO week
//! of the forecast date, because a chain-wide number can hide one format or one week going
//! wrong.
//!
//! Which rows count: those with actual sales > 0, exactly like the backtest. A closed day is
//! forecast as 0 with a [0, 0] band, so counting it would flatter coverage and make the relative
//! error undefined.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use std::collections::BTreeMap;
use storecast_data::{StoreTable, StoreType};
use storecast_model::Metrics;
use storecast_store::ForecastVsActual;

/// Accuracy and coverage of one sample of issued forecasts.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Accuracy {
    /// Scored store-days (actual sales > 0).
    pub n: usize,
    /// Root mean squared percentage error.
    #[schema(nullable)]
    pub rmspe: f64,
    /// Mean absolute percentage error.
    #[schema(nullable)]
    pub mape: f64,
    /// Σ|actual − forecast| / Σ actual.
    #[schema(nullable)]
    pub wape: f64,
    /// Σ(forecast − actual) / Σ actual (positive = over-forecast).
    #[schema(nullable)]
    pub bias: f64,
    /// Actuals inside the 80 % band.
    pub hits80: usize,
    /// Actuals inside the 95 % band.
    pub hits95: usize,
    /// Share inside the 80 % band (NaN when `n` = 0).
    #[schema(nullable)]
    pub cover80: f64,
    /// Share inside the 95 % band (NaN when `n` = 0).
    #[schema(nullable)]
    pub cover95: f64,
    /// Σ actual sales (€).
    pub actual_total: f64,
    /// Σ forecast sales (€).
    pub forecast_total: f64,
}

impl Accuracy {
    /// Scores the rows with actual sales > 0 (others are ignored).
    pub fn compute<'a>(rows: impl IntoIterator<Item = &'a ForecastVsActual>) -> Self {
        let mut actual = Vec::new();
        let mut forecast = Vec::new();
        let (mut hits80, mut hits95) = (0usize, 0usize);
        for r in rows.into_iter().filter(|r| is_scored(r)) {
            actual.push(f64::from(r.actual_sales));
            forecast.push(r.forecast.sales);
            hits80 += usize::from(r.inside80());
            hits95 += usize::from(r.inside95());
        }
        let m = Metrics::compute(&actual, &forecast);
        let share = |h: usize| {
            if m.n == 0 {
                f64::NAN
            } else {
                h as f64 / m.n as f64
            }
        };
        Self {
            n: m.n,
            rmspe: m.rmspe,
            mape: m.mape,
            wape: m.wape,
            bias: m.bias,
            hits80,
            hits95,
            cover80: share(hits80),
            cover95: share(hits95),
            actual_total: actual.iter().sum(),
            forecast_total: forecast.iter().sum(),
        }
    }
}

/// Whether a row is scored: actual sales > 0 (the backtest's rule).
pub fn is_scored(row: &ForecastVsActual) -> bool {
    row.actual_sales > 0
}

/// One store type's accuracy.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize)]
pub struct TypeAccuracy {
    /// Store type.
    pub store_type: StoreType,
    /// Stores of this type with scored days.
    pub stores: usize,
    /// Its accuracy.
    pub accuracy: Accuracy,
}

/// One store's accuracy.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize)]
pub struct StoreAccuracy {
    /// Store id.
    pub store: u16,
    /// Its type, when the map knows it.
    pub store_type: Option<StoreType>,
    /// Its accuracy.
    pub accuracy: Accuracy,
}

/// One ISO week's accuracy (week of the forecast date).
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize)]
pub struct WeekAccuracy {
    /// ISO year.
    pub iso_year: i32,
    /// ISO week 1..=53.
    pub iso_week: u32,
    /// `2015-W31`.
    pub label: String,
    /// Monday of the week.
    pub monday: NaiveDate,
    /// Its accuracy.
    pub accuracy: Accuracy,
}

/// Live accuracy, overall and by store type, store and ISO week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveAccuracy {
    /// Model versions found in the rows (sorted).
    pub model_versions: Vec<String>,
    /// First and last forecast date among the rows.
    pub dates: Option<(NaiveDate, NaiveDate)>,
    /// Rows given (scored or not).
    pub rows: usize,
    /// The chain.
    pub overall: Accuracy,
    /// By store type (types with scored days, in type order).
    pub by_store_type: Vec<TypeAccuracy>,
    /// By store (stores with rows, ascending).
    pub by_store: Vec<StoreAccuracy>,
    /// By ISO week (ascending).
    pub by_week: Vec<WeekAccuracy>,
    /// Stores with rows but no entry in the store-type map (left out of `by_store_type`).
    pub untyped_stores: Vec<u16>,
}

/// The store → type map of a store table.
pub fn store_types(stores: &StoreTable) -> BTreeMap<u16, StoreType> {
    stores
        .rows
        .iter()
        .map(|s| (s.store, s.store_type))
        .collect()
}

/// Live accuracy of `rows` (issued forecasts joined with actuals, e.g. from
/// `Store::forecast_vs_actual`). Rows of several model versions are pooled; monitor one
/// version at a time to judge a model ([`crate::evaluate`] insists on it).
pub fn live_accuracy(
    rows: &[ForecastVsActual],
    store_types: &BTreeMap<u16, StoreType>,
) -> LiveAccuracy {
    let mut versions: Vec<String> = rows.iter().map(|r| r.model_version.clone()).collect();
    versions.sort();
    versions.dedup();
    let first = rows.iter().map(|r| r.forecast.date).min();
    let last = rows.iter().map(|r| r.forecast.date).max();

    let mut by_store: BTreeMap<u16, Vec<&ForecastVsActual>> = BTreeMap::new();
    let mut by_type: BTreeMap<StoreType, Vec<&ForecastVsActual>> = BTreeMap::new();
    let mut by_week: BTreeMap<(i32, u32), Vec<&ForecastVsActual>> = BTreeMap::new();
    let mut untyped = Vec::new();
    for r in rows {
        by_store.entry(r.forecast.store).or_default().push(r);
        match store_types.get(&r.forecast.store) {
            Some(t) => by_type.entry(*t).or_default().push(r),
            None => untyped.push(r.forecast.store),
        }
        let w = r.forecast.date.iso_week();
        by_week.entry((w.year(), w.week())).or_default().push(r);
    }
    untyped.sort_unstable();
    untyped.dedup();

    let by_store_type = by_type
        .into_iter()
        .filter_map(|(t, rs)| {
            let accuracy = Accuracy::compute(rs.iter().copied());
            let mut stores: Vec<u16> = rs
                .iter()
                .filter(|r| is_scored(r))
                .map(|r| r.forecast.store)
                .collect();
            stores.sort_unstable();
            stores.dedup();
            (accuracy.n > 0).then_some(TypeAccuracy {
                store_type: t,
                stores: stores.len(),
                accuracy,
            })
        })
        .collect();
    let by_store = by_store
        .into_iter()
        .map(|(s, rs)| StoreAccuracy {
            store: s,
            store_type: store_types.get(&s).copied(),
            accuracy: Accuracy::compute(rs),
        })
        .collect();
    let by_week = by_week
        .into_iter()
        .filter_map(|((y, w), rs)| {
            let monday = NaiveDate::from_isoywd_opt(y, w, chrono::Weekday::Mon)?;
            Some(WeekAccuracy {
                iso_year: y,
                iso_week: w,
                label: format!("{y}-W{w:02}"),
                monday,
                accuracy: Accuracy::compute(rs),
            })
        })
        .collect();
    LiveAccuracy {
        model_versions: versions,
        dates: first.zip(last),
        rows: rows.len(),
        overall: Accuracy::compute(rows),
        by_store_type,
        by_store,
        by_week,
        untyped_stores: untyped,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use storecast_store::ForecastRow;

    pub(crate) fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    /// A row with a symmetric-ish band: 80 % = ±w80, 95 % = ±w95 (relative).
    pub(crate) fn row(store: u16, day: NaiveDate, forecast: f64, actual: i32) -> ForecastVsActual {
        ForecastVsActual {
            model_version: "m1".into(),
            issued_at: "2015-07-31T00:00:00.000Z".into(),
            forecast: ForecastRow {
                store,
                date: day,
                sales: forecast,
                lo80: forecast * 0.9,
                hi80: forecast * 1.1,
                lo95: forecast * 0.8,
                hi95: forecast * 1.2,
            },
            actual_sales: actual,
            actual_open: actual > 0,
            actual_customers: actual / 10,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn horizon_weeks_count_from_the_last_training_day() {
        // Trained through Sunday 2015-08-02: 08-03..08-09 is week 1, 08-10 week 2.
        let rows = vec![
            row(1, date(2015, 8, 3), 110.0, 100),
            row(1, date(2015, 8, 9), 90.0, 100),
            row(1, date(2015, 8, 10), 150.0, 100),
            row(1, date(2015, 8, 2), 100.0, 100), // inside the training: left out
        ];
        let h = by_horizon_week(&rows, date(2015, 8, 2));
        assert_eq!(h.iter().map(|w| w.week).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!((h[0].accuracy.n, h[1].accuracy.n), (2, 1));
        // Week 1: errors -0.1 and +0.1 → RMSPE 0.1; week 2: -0.5.
        assert!(close(h[0].accuracy.rmspe, 0.1), "{}", h[0].accuracy.rmspe);
        assert!(close(h[1].accuracy.rmspe, 0.5), "{}", h[1].accuracy.rmspe);
    }

    #[test]
    fn hand_computed_fixture() {
        // 2015-08-03 is a Monday (ISO week 32); 2015-08-10 starts week 33.
        let rows = vec![
            // Store 1 (type a), week 32. r = (actual - forecast) / actual.
            row(1, date(2015, 8, 3), 110.0, 100), // r = -0.10; inside 99..121 and 88..132
            row(1, date(2015, 8, 4), 150.0, 200), // r = +0.25; outside 135..165 and 120..180
            row(1, date(2015, 8, 9), 0.0, 0),     // closed Sunday: not scored
            // Store 2 (type b), week 33.
            row(2, date(2015, 8, 10), 50.0, 50), // r = 0; inside both
            row(2, date(2015, 8, 11), 100.0, 85), // r = -15/85; outside 90..110, inside 80..120
            // Store 3 is not in the type map.
            row(3, date(2015, 8, 11), 100.0, 100),
        ];
        let types: BTreeMap<u16, StoreType> = [(1, StoreType::A), (2, StoreType::B)].into();
        let live = live_accuracy(&rows, &types);
        assert_eq!(live.rows, 6);
        assert_eq!(live.model_versions, vec!["m1".to_string()]);
        assert_eq!(live.dates, Some((date(2015, 8, 3), date(2015, 8, 11))));
        assert_eq!(live.untyped_stores, vec![3]);

        // Overall: 5 scored rows. Relative errors (y - p) / y.
        let r = [-0.1, 0.25, 0.0, -15.0 / 85.0, 0.0];
        let o = live.overall;
        assert_eq!(o.n, 5);
        let rmspe = (r.iter().map(|x| x * x).sum::<f64>() / 5.0).sqrt();
        assert!(close(o.rmspe, rmspe), "{} vs {rmspe}", o.rmspe);
        let actual_total = 100.0 + 200.0 + 50.0 + 85.0 + 100.0;
        let forecast_total = 110.0 + 150.0 + 50.0 + 100.0 + 100.0;
        assert!(close(o.actual_total, actual_total));
        assert!(close(o.forecast_total, forecast_total));
        assert!(close(
            o.wape,
            (10.0 + 50.0 + 0.0 + 15.0 + 0.0) / actual_total
        ));
        assert!(close(
            o.bias,
            (forecast_total - actual_total) / actual_total
        ));
        assert_eq!((o.hits80, o.hits95), (3, 4));
        assert!(close(o.cover80, 0.6) && close(o.cover95, 0.8));

        // By type: a = store 1 (2 scored days), b = store 2.
        assert_eq!(live.by_store_type.len(), 2);
        let a = &live.by_store_type[0];
        assert_eq!((a.store_type, a.stores, a.accuracy.n), (StoreType::A, 1, 2));
        assert!(close(a.accuracy.rmspe, ((0.01 + 0.0625) / 2.0f64).sqrt()));
        assert!(close(a.accuracy.cover80, 0.5));
        let b = &live.by_store_type[1];
        assert_eq!(
            (b.store_type, b.accuracy.n, b.accuracy.hits80),
            (StoreType::B, 2, 1)
        );
        assert!(close(b.accuracy.bias, 15.0 / 135.0));

        // By store, including the untyped one.
        let stores: Vec<(u16, usize)> = live
            .by_store
            .iter()
            .map(|s| (s.store, s.accuracy.n))
            .collect();
        assert_eq!(stores, vec![(1, 2), (2, 2), (3, 1)]);
        assert_eq!(live.by_store[2].store_type, None);

        // By ISO week: W32 has store 1's three rows (2 scored), W33 the other three.
        let weeks: Vec<(&str, usize, NaiveDate)> = live
            .by_week
            .iter()
            .map(|w| (w.label.as_str(), w.accuracy.n, w.monday))
            .collect();
        assert_eq!(
            weeks,
            vec![
                ("2015-W32", 2, date(2015, 8, 3)),
                ("2015-W33", 3, date(2015, 8, 10))
            ]
        );
    }

    #[test]
    fn empty_input_gives_nan_metrics_not_a_panic() {
        let live = live_accuracy(&[], &BTreeMap::new());
        assert_eq!(live.overall.n, 0);
        assert!(live.overall.rmspe.is_nan() && live.overall.cover80.is_nan());
        assert!(live.by_store.is_empty() && live.dates.is_none());
    }
}

/// One week of the forecast horizon's accuracy.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize)]
pub struct HorizonAccuracy {
    /// Week of the horizon: 1 = the seven days after the model's last training day.
    pub week: u32,
    /// Its accuracy.
    pub accuracy: Accuracy,
}

/// Accuracy by week of the horizon, counted from `train_end` (the model's last training day):
/// how the error grows with the distance the model forecasts over. Rows on or before
/// `train_end` (none, for forecasts the model issued) are left out.
pub fn by_horizon_week(rows: &[ForecastVsActual], train_end: NaiveDate) -> Vec<HorizonAccuracy> {
    let mut weeks: BTreeMap<u32, Vec<&ForecastVsActual>> = BTreeMap::new();
    for r in rows {
        let days = (r.forecast.date - train_end).num_days();
        if let Ok(week) = u32::try_from((days - 1).div_euclid(7) + 1) {
            if days > 0 {
                weeks.entry(week).or_default().push(r);
            }
        }
    }
    weeks
        .into_iter()
        .map(|(week, rs)| HorizonAccuracy {
            week,
            accuracy: Accuracy::compute(rs),
        })
        .collect()
}
