//! The real data's quirks, reproduced on purpose.
//!
//! Why this module exists: the published Rossmann files are not clean, and a validation
//! stage that has only ever seen clean data has never been tested. With `quirks = true` the
//! generator plants the same kinds of defects (a half-year hole for ~16 % of stores, one
//! store missing its first day, a few open days with zero sales, blank `Open` cells in
//! `test.csv`, blank `CompetitionDistance`) and logs exactly where, in [`QuirkLog`], so a
//! validator's findings can be checked against the list.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::calendar::DayTable;
use crate::config::{ymd, SynthConfig};
use crate::rng::{stream, Stream};
use crate::simulate::DayOutcome;
use crate::stores::{count, StoreTruth};

/// Share of stores with the missing half-year (180 of 1,115 in the real data).
const MISSING_HALF_YEAR_SHARE: f64 = 0.161;
/// Open days with zero sales, per train row (54 in ~1.02 M rows in the real data).
const OPEN_ZERO_SALES_RATE: f64 = 5.3e-5;
/// Blank `Open` cells in `test.csv` for chains of 100 stores or more.
const BLANK_OPEN_TEST_ROWS: usize = 12;

/// One store on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StoreDay {
    /// Store id.
    pub store: u16,
    /// Day.
    pub date: NaiveDate,
}

/// Where the quirks were planted (everything empty when `quirks = false`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QuirkLog {
    /// Stores with no `train.csv` rows in `[missing_from, missing_to]`.
    pub missing_half_year_stores: Vec<u16>,
    /// First day of the hole (2014-07-01, clipped to the train range).
    pub missing_from: Option<NaiveDate>,
    /// Last day of the hole (2014-12-31, clipped to the train range).
    pub missing_to: Option<NaiveDate>,
    /// The store whose first train day has no row.
    pub missing_first_day_store: Option<u16>,
    /// `Open = 1` rows whose `Sales` (and `Customers`) were set to 0.
    pub open_zero_sales: Vec<StoreDay>,
    /// `test.csv` rows whose `Open` is blank (the store was in fact open).
    pub blank_open_test: Vec<StoreDay>,
    /// Stores whose `CompetitionDistance` is blank.
    pub blank_competition_distance: Vec<u16>,
}

/// The quirk log plus what assembly needs: rows to omit and test cells to blank.
pub(crate) struct QuirkPlan {
    pub log: QuirkLog,
    /// Per store (index): inclusive day-index ranges with no train row.
    pub omitted: Vec<Vec<(usize, usize)>>,
    /// `(store index, day index)` of blank `Open` cells in `test.csv`.
    pub blank_open: BTreeSet<(usize, usize)>,
}

impl QuirkPlan {
    /// Whether the train row of store index `s` on day index `d` is omitted.
    pub(crate) fn is_omitted(&self, s: usize, d: usize) -> bool {
        self.omitted[s].iter().any(|&(a, b)| d >= a && d <= b)
    }
}

/// Plans the quirks and applies the ones that change values (zero sales on open days).
/// `n_train` is the number of train days (the first `n_train` entries of each outcome).
pub(crate) fn plan(
    cfg: &SynthConfig,
    table: &DayTable,
    n_train: usize,
    stores: &[StoreTruth],
    outcomes: &mut [Vec<DayOutcome>],
) -> QuirkPlan {
    let n = stores.len();
    let mut plan = QuirkPlan {
        log: QuirkLog::default(),
        omitted: vec![Vec::new(); n],
        blank_open: BTreeSet::new(),
    };
    if !cfg.quirks || n == 0 {
        return plan;
    }
    let mut rng = stream(cfg.seed, Stream::Quirks);

    plan.log.blank_competition_distance = stores
        .iter()
        .filter(|s| s.competition_distance.is_none())
        .map(|s| s.store)
        .collect();

    // The half-year hole, for stores that are not refurbished (keeps the two apart).
    let from = ymd(2014, 7, 1).max(cfg.start);
    let to = ymd(2014, 12, 31).min(cfg.train_end);
    let mut gap_stores: Vec<usize> = Vec::new();
    if from <= to {
        let mut candidates: Vec<usize> = (0..n)
            .filter(|&i| stores[i].refurbishment.is_none())
            .collect();
        candidates.shuffle(&mut rng);
        candidates.truncate(count(MISSING_HALF_YEAR_SHARE, n).min(candidates.len()));
        candidates.sort_unstable();
        let (a, b) = (table.index(from), table.index(to));
        for &i in &candidates {
            plan.omitted[i].push((a, b));
        }
        plan.log.missing_half_year_stores = candidates.iter().map(|&i| stores[i].store).collect();
        plan.log.missing_from = Some(from);
        plan.log.missing_to = Some(to);
        gap_stores = candidates;
    }

    // One store without its first day.
    let others: Vec<usize> = (0..n).filter(|i| !gap_stores.contains(i)).collect();
    if let Some(&i) = others.choose(&mut rng) {
        plan.omitted[i].push((0, 0));
        plan.log.missing_first_day_store = Some(stores[i].store);
    }

    // A few open days with zero sales.
    let wanted = ((n * n_train) as f64 * OPEN_ZERO_SALES_RATE)
        .round()
        .max(1.0) as usize;
    let mut picked: BTreeSet<(usize, usize)> = BTreeSet::new();
    for _ in 0..wanted * 200 {
        if picked.len() == wanted || n_train == 0 {
            break;
        }
        let s = rng.gen_range(0..n);
        let d = rng.gen_range(0..n_train);
        if outcomes[s][d].open && outcomes[s][d].sales > 0 && !plan.is_omitted(s, d) {
            picked.insert((s, d));
        }
    }
    let mut zero: Vec<StoreDay> = Vec::new();
    for &(s, d) in &picked {
        outcomes[s][d].sales = 0;
        outcomes[s][d].customers = 0;
        zero.push(StoreDay {
            store: stores[s].store,
            date: table.dates[d],
        });
    }
    zero.sort();
    plan.log.open_zero_sales = zero;

    // Blank `Open` in test.csv: the latest open days of one store (more stores if needed).
    let blanks = if n >= 100 {
        BLANK_OPEN_TEST_ROWS
    } else {
        (BLANK_OPEN_TEST_ROWS * n / 100).max(1)
    };
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    let total_days = table.dates.len();
    'stores: for s in order {
        for d in (n_train..total_days).rev() {
            if plan.blank_open.len() == blanks {
                break 'stores;
            }
            if outcomes[s][d].open {
                plan.blank_open.insert((s, d));
            }
        }
    }
    let mut blank: Vec<StoreDay> = plan
        .blank_open
        .iter()
        .map(|&(s, d)| StoreDay {
            store: stores[s].store,
            date: table.dates[d],
        })
        .collect();
    blank.sort();
    plan.log.blank_open_test = blank;
    plan
}
