//! Forecasting with a trained artifact: build the timeline from the history plus the plan of
//! the days to forecast, compute features as of the origin (the day after the history ends),
//! predict, apply the bias correction and the calibrated intervals. Closed days get 0.
//! The same [`Scenario`] serves what-if: change its plan, predict again.

use crate::artifact::ModelArtifact;
use crate::ensemble::Ensemble;
use crate::features::{self, Frame, F};
use crate::gbdt::GbdtError;
use crate::intervals::Interval;
use crate::timeline::{OpenState, Timeline};
use chrono::NaiveDate;
use serde::Serialize;
use std::sync::Arc;
use storecast_data::{ForecastRequests, SalesHistory, StoreTable};
use thiserror::Error;

/// Errors while forecasting.
#[derive(Debug, Error)]
pub enum ForecastError {
    /// The model failed.
    #[error(transparent)]
    Model(#[from] GbdtError),
    /// No history to forecast from.
    #[error("no sales history: nothing to forecast from")]
    NoHistory,
    /// A requested day is not after the history.
    #[error("requested date {date} is not after the end of the history ({end})")]
    NotInFuture {
        /// The date.
        date: NaiveDate,
        /// Last history day.
        end: NaiveDate,
    },
}

/// The data of one forecast: history + plan on a grid, and the origin.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The grid.
    pub tl: Timeline,
    /// Origin day index (first day after the history).
    pub origin: usize,
    regions: Vec<f32>,
}

impl Scenario {
    /// Builds the grid from the history and the requested days.
    pub fn new(history: &SalesHistory, plan: &ForecastRequests) -> Result<Self, ForecastError> {
        let (_, end) = history.date_range().ok_or(ForecastError::NoHistory)?;
        if let Some(bad) = plan.rows.iter().find(|r| r.date <= end) {
            return Err(ForecastError::NotInFuture {
                date: bad.date,
                end,
            });
        }
        let tl = Timeline::build(history, Some(plan)).ok_or(ForecastError::NoHistory)?;
        let origin = tl.day_index(end).map_or(0, |d| d + 1);
        let regions = features::regions(&tl);
        Ok(Self {
            tl,
            origin,
            regions,
        })
    }

    /// The same scenario restricted to one store (what-if works on such a copy: small and
    /// fast to clone, same features since a store's features only read its own row).
    pub fn for_store(&self, store: u16) -> Option<Scenario> {
        let s = self.tl.store_index(store)?;
        Some(Scenario {
            tl: self.tl.single_store(s),
            origin: self.origin,
            regions: vec![self.regions.get(s).copied().unwrap_or(f32::NAN)],
        })
    }

    /// Whether store index `s` is planned open on day index `d` (a blank Open counts as open).
    pub fn is_open(&self, s: u32, d: u32) -> bool {
        self.tl.plan(s as usize, d as isize).open != OpenState::Closed
    }

    /// Features of the given cells as of the origin.
    pub fn features(&self, stores: &StoreTable, cells: &[(u32, u32)]) -> Frame {
        features::build_with_regions(&self.tl, stores, self.origin, cells, &self.regions)
    }

    /// Horizon cells (store index, day index) of every store, store by store, open or not:
    /// the rows the app forecasts and explains.
    pub fn all_cells(&self) -> Vec<(u32, u32)> {
        (0..self.tl.stores.len() as u32)
            .flat_map(|s| (self.origin..self.tl.days).map(move |d| (s, d as u32)))
            .collect()
    }

    /// Horizon cells (store index, day index) of one store, open or not.
    pub fn store_cells(&self, store: u16) -> Vec<(u32, u32)> {
        match self.tl.store_index(store) {
            Some(s) => (self.origin..self.tl.days)
                .map(|d| (s as u32, d as u32))
                .collect(),
            None => Vec::new(),
        }
    }
}

/// One forecast store-day.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DayForecast {
    /// Store id.
    pub store: u16,
    /// Date.
    pub date: NaiveDate,
    /// Days after the origin.
    pub horizon_day: u16,
    /// Planned open (blank Open counts as open).
    pub open: bool,
    /// Planned promo.
    pub promo: bool,
    /// Forecast sales (€), 0 when closed.
    pub sales: f64,
    /// Calibrated bounds.
    pub interval: Interval,
    /// Model output in log space, before the correction (NaN, written null, when closed).
    #[schema(nullable)]
    pub log_raw: f64,
}

/// A daily forecast as the product states it: whole euros. A six-week total then is the exact
/// sum of the days shown, in any order (no rounding residue between a column and its total);
/// half a euro on a day of thousands changes no accuracy figure.
pub fn euros(sales: f64) -> f64 {
    sales.round()
}

/// A loaded model, ready to forecast. Cheap to clone and shareable across threads.
#[derive(Debug, Clone)]
pub struct Forecaster {
    /// The artifact's metadata and calibration.
    pub artifact: Arc<ModelArtifact>,
    gbdt: Ensemble,
}

impl Forecaster {
    /// Starts the model of an artifact (every ensemble member).
    pub fn new(artifact: ModelArtifact) -> Result<Self, GbdtError> {
        let gbdt = artifact.ensemble_model()?;
        Ok(Self {
            artifact: Arc::new(artifact),
            gbdt,
        })
    }

    /// The underlying model: the ensemble (log forecasts before `scale`, exact
    /// contributions).
    pub fn gbdt(&self) -> &Ensemble {
        &self.gbdt
    }

    /// Forecasts cells of a scenario (closed days get 0). Only the open days' features are
    /// built and predicted, straight from the matrix the builder fills (a closed day's
    /// forecast needs no model).
    pub fn forecast_cells(
        &self,
        sc: &Scenario,
        stores: &StoreTable,
        cells: &[(u32, u32)],
    ) -> Result<Vec<DayForecast>, ForecastError> {
        let open: Vec<bool> = cells.iter().map(|&(s, d)| sc.is_open(s, d)).collect();
        let open_cells: Vec<(u32, u32)> = cells
            .iter()
            .zip(&open)
            .filter_map(|(&c, &o)| o.then_some(c))
            .collect();
        let frame = sc.features(stores, &open_cells);
        let raw = self.gbdt.predict(&frame.x)?;
        Ok(self.assemble(sc, cells, &open, &raw, |k| frame.row(k)))
    }

    /// Forecasts the rows of an already built feature frame (what-if edits its rows).
    pub fn forecast_frame(
        &self,
        sc: &Scenario,
        frame: &Frame,
    ) -> Result<Vec<DayForecast>, ForecastError> {
        let open: Vec<bool> = frame.rows.iter().map(|&(s, d)| sc.is_open(s, d)).collect();
        let open_rows: Vec<usize> = (0..frame.len()).filter(|&i| open[i]).collect();
        let raw = if open_rows.len() == frame.len() {
            self.gbdt.predict(&frame.x)?
        } else {
            let mut x = Vec::with_capacity(open_rows.len() * features::N_FEATURES);
            for &i in &open_rows {
                x.extend_from_slice(frame.row(i));
            }
            self.gbdt.predict(&x)?
        };
        Ok(self.assemble(sc, &frame.rows, &open, &raw, |k| frame.row(open_rows[k])))
    }

    /// The day forecasts of `cells`: the `k`-th open cell takes `raw[k]` and the features
    /// `open_row(k)` (for its interval); a closed cell gets 0.
    fn assemble<'a>(
        &self,
        sc: &Scenario,
        cells: &[(u32, u32)],
        open: &[bool],
        raw: &[f64],
        open_row: impl Fn(usize) -> &'a [f32],
    ) -> Vec<DayForecast> {
        let a = &self.artifact;
        let mut k = 0;
        let mut out = Vec::with_capacity(cells.len());
        for (&(s, d), &is_open) in cells.iter().zip(open) {
            let plan = sc.tl.plan(s as usize, d as isize);
            let horizon_day =
                u16::try_from((d as usize).saturating_sub(sc.origin)).unwrap_or(u16::MAX);
            let (sales, interval, log_raw) = if is_open {
                let lr = raw.get(k).copied().unwrap_or(f64::NAN);
                let sales = euros(lr.exp() * a.scale);
                let vol = f64::from(open_row(k)[F::store_volatility as usize]);
                k += 1;
                (sales, a.intervals.interval(sales, horizon_day, vol), lr)
            } else {
                let zero = Interval {
                    lo80: 0.0,
                    hi80: 0.0,
                    lo95: 0.0,
                    hi95: 0.0,
                };
                (0.0, zero, f64::NAN)
            };
            out.push(DayForecast {
                store: sc.tl.stores[s as usize],
                date: sc.tl.date(d as usize),
                horizon_day,
                open: is_open,
                promo: plan.promo,
                sales,
                interval,
                log_raw,
            });
        }
        out
    }

    /// Forecasts every row of a request file, in file order (same length as `requests.rows`).
    pub fn forecast_requests(
        &self,
        sc: &Scenario,
        stores: &StoreTable,
        requests: &ForecastRequests,
    ) -> Result<Vec<DayForecast>, ForecastError> {
        // Build features grouped by store (fast path), then put them back in file order.
        let mut order: Vec<(usize, (u32, u32))> = requests
            .rows
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let s = sc.tl.store_index(r.store)? as u32;
                let d = sc.tl.day_index(r.date)? as u32;
                Some((i, (s, d)))
            })
            .collect();
        order.sort_by_key(|&(i, (s, d))| (s, d, i));
        let cells: Vec<(u32, u32)> = order.iter().map(|x| x.1).collect();
        let forecasts = self.forecast_cells(sc, stores, &cells)?;
        let mut out: Vec<Option<DayForecast>> = vec![None; requests.len()];
        for ((i, _), f) in order.into_iter().zip(forecasts) {
            out[i] = Some(f);
        }
        Ok(out
            .into_iter()
            .zip(&requests.rows)
            .map(|(f, r)| {
                f.unwrap_or(DayForecast {
                    store: r.store,
                    date: r.date,
                    horizon_day: 0,
                    open: r.open.unwrap_or(true),
                    promo: r.promo,
                    sales: 0.0,
                    interval: Interval {
                        lo80: 0.0,
                        hi80: 0.0,
                        lo95: 0.0,
                        hi95: 0.0,
                    },
                    log_raw: f64::NAN,
                })
            })
            .collect())
    }
}
