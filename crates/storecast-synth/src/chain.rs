//! Assembling the chain: run the calendar, stores, simulation and quirks, lay out the rows.
//!
//! Why this module exists: it is the one entry point ([`generate`]) and the one result type
//! ([`SynthChain`]) the rest of the workspace sees. It fixes the pipeline order (calendar →
//! stores → days → quirks → rows) and the row order of the published files (date descending,
//! store ascending), and it keeps the planted truth next to the rows it explains.

use std::path::Path;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::calendar::{promo_weeks, state_calendar, DayTable, StateCalendar, STATE_COUNT};
use crate::config::{PlantedEffects, SynthConfig};
use crate::error::SynthError;
use crate::output::{self, StoreRow, TestRow, TestTruthRow, TrainRow};
use crate::quirks::{self, QuirkLog};
use crate::rng::{stream, Stream};
use crate::simulate::{simulate_store, CommonFactors};
use crate::stores::{sample_stores, state_index, StoreTruth};

/// File name of the training history.
pub const FILE_TRAIN: &str = "train.csv";
/// File name of the store table.
pub const FILE_STORE: &str = "store.csv";
/// File name of the forecast requests.
pub const FILE_TEST: &str = "test.csv";
/// File name of the true sales behind `test.csv`.
pub const FILE_TEST_TRUTH: &str = "test_truth.csv";
/// File name of the planted truth.
pub const FILE_EFFECTS: &str = "effects.json";

/// How the chain was generated (the configuration without the effect sizes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorInfo {
    /// Seed.
    pub seed: u64,
    /// Number of stores.
    pub stores: u16,
    /// First train day.
    pub start: NaiveDate,
    /// Last train day.
    pub train_end: NaiveDate,
    /// Last test day.
    pub test_end: NaiveDate,
    /// Test horizon in days.
    pub horizon_days: u32,
    /// Whether quirks were planted.
    pub quirks: bool,
}

/// The planted truth: what `effects.json` holds and what recovery tests compare against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// How the chain was generated.
    pub generator: GeneratorInfo,
    /// Global effect sizes (weekday profile, holiday multipliers, surges, school holiday,
    /// December peak, payday, noise, …).
    pub effects: PlantedEffects,
    /// Mondays of the chain-wide promo weeks (promo on Monday–Friday of each).
    pub promo_weeks: Vec<NaiveDate>,
    /// Per internal state: state holidays and school-holiday windows.
    pub states: Vec<StateCalendar>,
    /// Per store, in id order.
    pub stores: Vec<StoreTruth>,
    /// Where the quirks were planted.
    pub quirks: QuirkLog,
}

impl Truth {
    /// The truth of store `id`, if it exists.
    pub fn store(&self, id: u16) -> Option<&StoreTruth> {
        self.stores.get(usize::from(id).checked_sub(1)?)
    }
}

/// A generated chain: the rows of every file, in file order, and the planted truth.
#[derive(Debug, Clone)]
pub struct SynthChain {
    /// `train.csv` rows, date descending then store ascending.
    pub train: Vec<TrainRow>,
    /// `store.csv` rows, store ascending.
    pub stores: Vec<StoreRow>,
    /// `test.csv` rows, date descending then store ascending, ids from 1.
    pub test: Vec<TestRow>,
    /// `test_truth.csv` rows, in `test` order.
    pub test_truth: Vec<TestTruthRow>,
    /// The planted truth.
    pub truth: Truth,
}

impl SynthChain {
    /// `train.csv` bytes.
    pub fn train_csv(&self) -> Vec<u8> {
        output::train_csv(&self.train)
    }

    /// `store.csv` bytes.
    pub fn store_csv(&self) -> Vec<u8> {
        output::store_csv(&self.stores)
    }

    /// `test.csv` bytes.
    pub fn test_csv(&self) -> Vec<u8> {
        output::test_csv(&self.test)
    }

    /// `test_truth.csv` bytes.
    pub fn test_truth_csv(&self) -> Vec<u8> {
        output::test_truth_csv(&self.test_truth)
    }

    /// `effects.json` bytes (pretty-printed [`Truth`]).
    pub fn effects_json(&self) -> Vec<u8> {
        // Serialising plain structs with string keys cannot fail; fall back to empty.
        let mut bytes = serde_json::to_vec_pretty(&self.truth).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// Writes the five files into `dir`, creating it if needed.
    pub fn write_to_dir(&self, dir: &Path) -> Result<(), SynthError> {
        std::fs::create_dir_all(dir).map_err(|source| SynthError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        // Check the JSON first, so a failure leaves no half-written set behind.
        let mut effects = serde_json::to_vec_pretty(&self.truth)?;
        effects.push(b'\n');
        let files: [(&str, Vec<u8>); 5] = [
            (FILE_TRAIN, self.train_csv()),
            (FILE_STORE, self.store_csv()),
            (FILE_TEST, self.test_csv()),
            (FILE_TEST_TRUTH, self.test_truth_csv()),
            (FILE_EFFECTS, effects),
        ];
        for (name, bytes) in files {
            let path = dir.join(name);
            std::fs::write(&path, bytes).map_err(|source| SynthError::Io { path, source })?;
        }
        Ok(())
    }
}

/// Generates the chain described by `cfg`. Same configuration ⇒ identical rows and bytes.
pub fn generate(cfg: &SynthConfig) -> Result<SynthChain, SynthError> {
    cfg.validate()?;
    let test_end = cfg.test_end();

    // Calendar: promo schedule and state calendars over train + test.
    let mut calendar_rng = stream(cfg.seed, Stream::Calendar);
    let weeks = promo_weeks(&mut calendar_rng, cfg.start, test_end);
    let states: Vec<StateCalendar> = (0..STATE_COUNT)
        .map(|s| state_calendar(s, cfg.start, test_end))
        .collect();
    let table = DayTable::new(cfg.start, test_end, &weeks, &states);
    let n_total = table.dates.len();
    let n_train = table.index(cfg.train_end) + 1;

    // Stores and their days.
    let mut allocation_rng = stream(cfg.seed, Stream::Allocation);
    let store_truths = sample_stores(cfg, &mut allocation_rng);
    let common = CommonFactors::new(&table, &cfg.effects);
    let mut outcomes: Vec<_> = store_truths
        .iter()
        .map(|s| simulate_store(cfg, &table, &common, s))
        .collect();
    let plan = quirks::plan(cfg, &table, n_train, &store_truths, &mut outcomes);

    let state_of: Vec<usize> = store_truths.iter().map(|s| state_index(&s.state)).collect();

    // train.csv: date descending, store ascending.
    let mut train = Vec::with_capacity(n_train * store_truths.len());
    for d in (0..n_train).rev() {
        for (s, truth) in store_truths.iter().enumerate() {
            if plan.is_omitted(s, d) {
                continue;
            }
            let o = outcomes[s][d];
            train.push(TrainRow {
                store: truth.store,
                day_of_week: table.dow[d],
                date: table.dates[d],
                sales: o.sales,
                customers: o.customers,
                open: o.open,
                promo: table.promo[d],
                state_holiday: table.holiday[state_of[s]][d],
                school_holiday: table.school[state_of[s]][d],
            });
        }
    }

    // test.csv and its truth: same order, ids from 1.
    let mut test = Vec::with_capacity((n_total - n_train) * store_truths.len());
    let mut test_truth = Vec::with_capacity(test.capacity());
    let mut id = 0u32;
    for d in (n_train..n_total).rev() {
        for (s, truth) in store_truths.iter().enumerate() {
            id += 1;
            let o = outcomes[s][d];
            let open = (!plan.blank_open.contains(&(s, d))).then_some(o.open);
            test.push(TestRow {
                id,
                store: truth.store,
                day_of_week: table.dow[d],
                date: table.dates[d],
                open,
                promo: table.promo[d],
                state_holiday: table.holiday[state_of[s]][d],
                school_holiday: table.school[state_of[s]][d],
            });
            test_truth.push(TestTruthRow { id, sales: o.sales });
        }
    }

    let stores = store_truths
        .iter()
        .map(|t| StoreRow {
            store: t.store,
            store_type: t.store_type,
            assortment: t.assortment,
            competition_distance: t.competition_distance,
            competition_open_since_month: t.competition_open_since.map(|d| d.month()),
            competition_open_since_year: t.competition_open_since.map(|d| d.year()),
            promo2: t.promo2.is_some(),
            promo2_since_week: t.promo2.map(|p| p.since_week),
            promo2_since_year: t.promo2.map(|p| p.since_year),
            promo_interval: t.promo2.map(|p| p.interval),
        })
        .collect();

    Ok(SynthChain {
        train,
        stores,
        test,
        test_truth,
        truth: Truth {
            generator: GeneratorInfo {
                seed: cfg.seed,
                stores: cfg.stores,
                start: cfg.start,
                train_end: cfg.train_end,
                test_end,
                horizon_days: cfg.horizon_days,
                quirks: cfg.quirks,
            },
            effects: cfg.effects.clone(),
            promo_weeks: weeks,
            states,
            stores: store_truths,
            quirks: plan.log,
        },
    })
}
