//! A seeded synthetic retail chain in the published Rossmann Store Sales file formats.
//!
//! Why this crate exists: the real data cannot be shipped, and tests of statistics and
//! models need data whose truth is known. [`generate`] builds a chain of stores over a date
//! range with planted, documented, multiplicative effects (weekday profile, promotions,
//! state and school holidays, December peak, payday, trend, competitor openings, Promo2,
//! refurbishments, noise) and, by default, the real data's quirks. It writes `train.csv`,
//! `store.csv` and `test.csv` byte-compatible with the published files, plus
//! `test_truth.csv` (the true sales behind `test.csv`) and `effects.json` (the [`Truth`]).
//!
//! The same [`SynthConfig`] always gives the same bytes: every random draw comes from a
//! named ChaCha stream derived from the seed, and nothing iterates a hash map.
//!
//! ```
//! use storecast_synth::{generate, SynthConfig};
//! let cfg = SynthConfig { stores: 3, ..SynthConfig::default() };
//! let chain = generate(&cfg).expect("valid config");
//! assert!(chain.train_csv().starts_with(b"Store,DayOfWeek,Date,Sales"));
//! assert_eq!(chain.test.len(), 3 * 42);
//! ```

mod calendar;
mod chain;
mod config;
mod error;
mod output;
mod quirks;
mod rng;
mod simulate;
mod stores;

pub use calendar::{easter_sunday, Holiday, StateCalendar, StateHoliday};
pub use chain::{
    generate, GeneratorInfo, SynthChain, Truth, FILE_EFFECTS, FILE_STORE, FILE_TEST,
    FILE_TEST_TRUTH, FILE_TRAIN,
};
pub use config::{HolidayMultipliers, PlantedEffects, SynthConfig};
pub use error::SynthError;
pub use output::{
    StoreRow, TestRow, TestTruthRow, TrainRow, STORE_HEADER, TEST_HEADER, TEST_TRUTH_HEADER,
    TRAIN_HEADER,
};
pub use quirks::{QuirkLog, StoreDay};
pub use stores::{Assortment, CompetitorOpening, Promo2, PromoInterval, StoreTruth, StoreType};
