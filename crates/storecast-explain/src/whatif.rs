//! What-if: change the plan of a store for a date range (promotion on or off, open or closed,
//! holiday flags), re-predict with the same model, and explain the difference by driver.
//! Neighbouring days are re-predicted too, because the plan around a day is part of its
//! features (a promo next week, a closure tomorrow).

use crate::contributions::{explain_frame, Explanation};
use chrono::NaiveDate;
use serde::Serialize;
use storecast_data::{StateHoliday, StoreTable};
use storecast_model::timeline::PlanDay;
use storecast_model::{DayForecast, Driver, ForecastError, Forecaster, OpenState, Scenario};
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
    /// Change of each driver's € share, summed over the horizon (open days).
    pub driver_deltas: Vec<(Driver, f64)>,
}

fn driver_totals(ex: &[Explanation], keep: &dyn Fn(NaiveDate) -> bool) -> Vec<f64> {
    let mut t = vec![0.0; Driver::ALL.len()];
    for e in ex.iter().filter(|e| keep(e.date)) {
        for (i, d) in e.drivers.iter().enumerate() {
            t[i] += d.euro;
        }
        // The typical-day baseline belongs to the store level.
        t[0] += e.baseline;
    }
    t
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
    let s = sc
        .tl
        .store_index(store)
        .ok_or(WhatIfError::UnknownStore(store))?;
    let first = sc.tl.date(sc.origin);
    let last = sc.tl.date(sc.tl.days.saturating_sub(1));
    let (Some(a), Some(b)) = (sc.tl.day_index(from), sc.tl.day_index(to)) else {
        return Err(WhatIfError::OutOfHorizon {
            from,
            to,
            first,
            last,
        });
    };
    if a < sc.origin || b < a {
        return Err(WhatIfError::OutOfHorizon {
            from,
            to,
            first,
            last,
        });
    }
    let cells = sc.store_cells(store);
    let frame = sc.features(stores, &cells);
    let before = forecaster.forecast_frame(sc, &frame)?;
    let ex_before = explain_frame(forecaster, sc, &frame)?;

    let mut changed = sc.clone();
    for d in a..=b {
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
    let ex_after = explain_frame(forecaster, &changed, &frame2)?;
    let tb: f64 = before.iter().map(|f| f.sales).sum();
    let ta: f64 = after.iter().map(|f| f.sales).sum();
    // Days open in both plans are compared driver by driver; a day opened or closed by the
    // change moves its whole forecast, which is the closures driver's doing.
    let open_both: std::collections::HashSet<NaiveDate> = before
        .iter()
        .zip(&after)
        .filter(|(x, y)| x.open && y.open)
        .map(|(x, _)| x.date)
        .collect();
    let keep = |d: NaiveDate| open_both.contains(&d);
    let db = driver_totals(&ex_before, &keep);
    let da = driver_totals(&ex_after, &keep);
    let switched: f64 = before
        .iter()
        .zip(&after)
        .filter(|(x, y)| x.open != y.open)
        .map(|(x, y)| y.sales - x.sales)
        .sum();
    let driver_deltas = Driver::ALL
        .iter()
        .enumerate()
        .map(|(i, d)| {
            (
                *d,
                da[i] - db[i]
                    + if *d == Driver::Closures {
                        switched
                    } else {
                        0.0
                    },
            )
        })
        .collect();
    Ok(WhatIf {
        store,
        before,
        after,
        delta_eur: ta - tb,
        delta_pct: if tb > 0.0 { ta / tb - 1.0 } else { 0.0 },
        driver_deltas,
    })
}
