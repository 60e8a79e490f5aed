//! What-if: change the plan of a store for a date range (promotion on or off, open or closed,
//! holiday flags), re-predict with the same model, and explain the difference by driver.
//! Neighbouring days are re-predicted too, because the plan around a day is part of its
//! features (a promo next week, a closure tomorrow).

use crate::contributions::shapley_of_values;
use chrono::NaiveDate;
use serde::Serialize;
use storecast_data::{StateHoliday, StoreTable};
use storecast_model::features::Frame;
use storecast_model::timeline::PlanDay;
use storecast_model::{
    DayForecast, Driver, ForecastError, Forecaster, OpenState, Scenario, FEATURE_DRIVERS,
    N_FEATURES,
};
use thiserror::Error;

/// What to change on each day of the range (`None` = keep the plan).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PlanChange {
    /// Promotion on or off (weekdays only: the chain never runs promo on weekends).
    pub promo: Option<bool>,
    /// Open or closed.
    pub open: Option<bool>,
    /// Public holiday kind.
    pub state_holiday: Option<StateHoliday>,
    /// School holiday.
    pub school_holiday: Option<bool>,
}

impl std::fmt::Display for PlanChange {
    /// "promotion off, closed, school holiday on, public holiday a" (what changes only).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let on = |b: bool| if b { "on" } else { "off" };
        let mut parts = Vec::new();
        if let Some(p) = self.promo {
            parts.push(format!("promotion {}", on(p)));
        }
        if let Some(o) = self.open {
            parts.push(if o { "open" } else { "closed" }.to_string());
        }
        if let Some(s) = self.school_holiday {
            parts.push(format!("school holiday {}", on(s)));
        }
        if let Some(h) = self.state_holiday {
            parts.push(format!("public holiday {}", h.code()));
        }
        if parts.is_empty() {
            return f.write_str("no change");
        }
        f.write_str(&parts.join(", "))
    }
}

/// Errors of a what-if request.
#[derive(Debug, Error)]
pub enum WhatIfError {
    /// The store is not in the scenario.
    #[error("store {0} is not in the forecast")]
    UnknownStore(u16),
    /// The range is outside the forecast horizon.
    #[error("dates {from}..{to} are outside the forecast horizon {first}..{last}")]
    OutOfHorizon {
        /// Requested start.
        from: NaiveDate,
        /// Requested end.
        to: NaiveDate,
        /// First forecast day.
        first: NaiveDate,
        /// Last forecast day.
        last: NaiveDate,
    },
    /// The model failed.
    #[error(transparent)]
    Forecast(#[from] ForecastError),
}

/// The outcome of a what-if.
#[derive(Debug, Clone, Serialize)]
pub struct WhatIf {
    /// Store id.
    pub store: u16,
    /// The plan's forecasts for the store's whole horizon.
    pub before: Vec<DayForecast>,
    /// The changed plan's forecasts.
    pub after: Vec<DayForecast>,
    /// Σ after − Σ before (€) over the horizon.
    pub delta_eur: f64,
    /// Relative change of the horizon total.
    pub delta_pct: f64,
    /// The change split by driver (exact Shapley value of each day's change), summed over the
    /// horizon; the shares add up to `delta_eur`.
    pub driver_deltas: Vec<(Driver, f64)>,
}

/// Splits each day's change into drivers with the exact Shapley value of the change over the
/// drivers whose features moved (a driver whose features did not move is a null player and
/// gets exactly zero, so only the moved ones are enumerated); the shares of a day add up to
/// its change in euros. Days switched open/closed are the closures driver's.
fn attribute_change(
    forecaster: &Forecaster,
    before_x: &Frame,
    after_x: &Frame,
    before: &[DayForecast],
    after: &[DayForecast],
) -> Result<Vec<(Driver, f64)>, ForecastError> {
    let mut totals = vec![0.0; Driver::ALL.len()];
    // Per changed row: the moved drivers and where its 2^k subset rows start in `x`.
    let mut rows: Vec<(Vec<Driver>, usize)> = Vec::new();
    let mut x = Vec::new();
    for i in 0..before.len() {
        let (xb, xa) = (before_x.row(i), after_x.row(i));
        if before[i].open != after[i].open {
            totals[Driver::Closures.index()] += after[i].sales - before[i].sales;
            continue;
        }
        let mut moved: Vec<Driver> = (0..N_FEATURES)
            .filter(|&j| xb[j].to_bits() != xa[j].to_bits())
            .map(|j| FEATURE_DRIVERS[j])
            .collect();
        moved.sort();
        moved.dedup();
        if !before[i].open || moved.is_empty() {
            continue;
        }
        let start = x.len() / N_FEATURES;
        for mask in 0..1usize << moved.len() {
            x.extend((0..N_FEATURES).map(|j| {
                let g = moved.iter().position(|d| *d == FEATURE_DRIVERS[j]);
                if g.is_some_and(|g| mask & (1 << g) != 0) {
                    xa[j]
                } else {
                    xb[j]
                }
            }));
        }
        rows.push((moved, start));
    }
    let f = forecaster.gbdt().predict(&x)?;
    let scale = forecaster.artifact.scale;
    for (moved, start) in &rows {
        let n = moved.len();
        let value: Vec<f64> = (0..1usize << n)
            .map(|mask| scale * f[start + mask].exp())
            .collect();
        for (g, phi) in shapley_of_values(&value, n).into_iter().enumerate() {
            totals[moved[g].index()] += phi;
        }
    }
    Ok(Driver::ALL.iter().copied().zip(totals).collect())
}

/// Applies `change` to `store` on `from..=to` and compares forecasts and drivers.
pub fn whatif(
    forecaster: &Forecaster,
    sc: &Scenario,
    stores: &StoreTable,
    store: u16,
    from: NaiveDate,
    to: NaiveDate,
    change: PlanChange,
) -> Result<WhatIf, WhatIfError> {
    if to < from {
        return Err(WhatIfError::OutOfHorizon {
            from,
            to,
            first: sc.tl.date(sc.origin),
            last: sc.tl.date(sc.tl.days.saturating_sub(1)),
        });
    }
    let days: Vec<(NaiveDate, PlanChange)> = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|d| (d, change))
        .collect();
    whatif_days(forecaster, sc, stores, store, &days)
}

/// Applies a change per day (e.g. promo toggled on some days, a Sunday opened) and compares.
pub fn whatif_days(
    forecaster: &Forecaster,
    sc: &Scenario,
    stores: &StoreTable,
    store: u16,
    changes: &[(NaiveDate, PlanChange)],
) -> Result<WhatIf, WhatIfError> {
    let owned = sc
        .for_store(store)
        .ok_or(WhatIfError::UnknownStore(store))?;
    let sc = &owned;
    let s = 0;
    let first = sc.tl.date(sc.origin);
    let last = sc.tl.date(sc.tl.days.saturating_sub(1));
    let mut indexed = Vec::with_capacity(changes.len());
    for &(date, change) in changes {
        match sc.tl.day_index(date) {
            Some(d) if d >= sc.origin => indexed.push((d, change)),
            _ => {
                return Err(WhatIfError::OutOfHorizon {
                    from: date,
                    to: date,
                    first,
                    last,
                })
            }
        }
    }
    let cells = sc.store_cells(store);
    let frame = sc.features(stores, &cells);
    let before = forecaster.forecast_frame(sc, &frame)?;

    let mut changed = sc.clone();
    for &(d, change) in &indexed {
        let old = sc.tl.plan(s, d as isize);
        let weekday = sc.tl.weekday(d);
        let new = PlanDay {
            open: match change.open {
                Some(true) => OpenState::Open,
                Some(false) => OpenState::Closed,
                None => old.open,
            },
            promo: change.promo.map_or(old.promo, |p| p && weekday <= 5),
            state_holiday: change.state_holiday.unwrap_or(old.state_holiday),
            school_holiday: change.school_holiday.unwrap_or(old.school_holiday),
        };
        changed.tl.set_plan(s, d, new);
    }
    let frame2 = changed.features(stores, &cells);
    let after = forecaster.forecast_frame(&changed, &frame2)?;
    let tb: f64 = before.iter().map(|f| f.sales).sum();
    let ta: f64 = after.iter().map(|f| f.sales).sum();
    let driver_deltas = attribute_change(forecaster, &frame, &frame2, &before, &after)?;
    Ok(WhatIf {
        store,
        before,
        after,
        delta_eur: ta - tb,
        delta_pct: if tb > 0.0 { ta / tb - 1.0 } else { 0.0 },
        driver_deltas,
    })
}
