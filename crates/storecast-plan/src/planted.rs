//! Planted manager behaviour: overrides with known effects, since the data has none.
//!
//! Why this module exists: the Rossmann data holds no manager estimates, so FVA cannot be
//! shown on it; and a method that measures value added must first recover value that is
//! known to be there. Like the synthetic chain's planted sales effects, this module plants
//! documented behaviours on top of any set of store-days (actuals with model and naive
//! forecasts), each store's manager having one style:
//!
//! | style      | share | what the manager does                                               |
//! |------------|-------|----------------------------------------------------------------------|
//! | hands-off  | 40 %  | never overrides                                                      |
//! | noisy      | 20 %  | on 30 % of open days, multiplies the forecast by e^N(0, 0.20)        |
//! | informed   | 20 %  | knows the store's local events (+30 % sales) and roadworks (−20 %)   |
//! |            |       | and enters +25 % / −15 % on exactly those days                       |
//! | biased     | 20 %  | on half the open days, adds 12 % ("expected growth")                 |
//!
//! Every store, whatever its manager, has 2 local events of 2 open days each (sales × 1.30)
//! and, with probability ½, a 3-day roadworks spell (sales × 0.80): effects in the actuals
//! that no model feature can see. So informed overrides should add value (FVA > 0), noisy
//! and biased ones destroy it (FVA < 0), and hands-off managers change nothing. The same
//! seed always gives the same managers, events and overrides.

use crate::fva::ScoredDay;
use crate::overrides::{Adjustment, AdjustmentKind, DayOverride, Reason};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// How a store's manager overrides.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ManagerStyle {
    /// Never overrides.
    HandsOff,
    /// Adds noise.
    Noisy,
    /// Knows the local events the model cannot see.
    Informed,
    /// Systematically optimistic.
    Biased,
}

impl ManagerStyle {
    /// Every style, in table order.
    pub const ALL: [ManagerStyle; 4] = [
        ManagerStyle::HandsOff,
        ManagerStyle::Noisy,
        ManagerStyle::Informed,
        ManagerStyle::Biased,
    ];
    /// Words for people.
    pub fn label(self) -> &'static str {
        match self {
            ManagerStyle::HandsOff => "hands-off",
            ManagerStyle::Noisy => "noisy",
            ManagerStyle::Informed => "informed",
            ManagerStyle::Biased => "biased",
        }
    }
}

impl fmt::Display for ManagerStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The planted behaviours' sizes (the table of the module doc is [`Default`]).
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize)]
pub struct PlantedManagers {
    /// Seed of the managers' styles (which store has which manager).
    pub seed: u64,
    /// Seed of the events and of the managers' day-to-day draws, given their styles.
    pub draws: u64,
    /// Shares of hands-off, noisy, informed and biased managers (sum 1).
    pub shares: [f64; 4],
    /// Local events per store.
    pub events_per_store: usize,
    /// Open days per local event.
    pub event_days: usize,
    /// Sales uplift of a local event (0.30: +30 %).
    pub event_uplift: f64,
    /// Probability that a store has a roadworks spell.
    pub roadworks_probability: f64,
    /// Open days of a roadworks spell.
    pub roadworks_days: usize,
    /// Sales drop under roadworks (0.20: −20 %).
    pub roadworks_drop: f64,
    /// What an informed manager enters on an event day (%).
    pub informed_event_pct: f64,
    /// What an informed manager enters on a roadworks day (%).
    pub informed_roadworks_pct: f64,
    /// Share of open days a noisy manager overrides.
    pub noisy_share: f64,
    /// Standard deviation of a noisy manager's log change.
    pub noisy_sd: f64,
    /// Share of open days a biased manager overrides.
    pub biased_share: f64,
    /// A biased manager's change (%).
    pub biased_pct: f64,
}

impl Default for PlantedManagers {
    fn default() -> Self {
        Self {
            seed: 7,
            draws: 1,
            shares: [0.4, 0.2, 0.2, 0.2],
            events_per_store: 2,
            event_days: 2,
            event_uplift: 0.30,
            roadworks_probability: 0.5,
            roadworks_days: 3,
            roadworks_drop: 0.20,
            informed_event_pct: 25.0,
            informed_roadworks_pct: -15.0,
            noisy_share: 0.30,
            noisy_sd: 0.20,
            biased_share: 0.5,
            biased_pct: 12.0,
        }
    }
}

/// A planted effect in a store's actuals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PlantedEvent {
    /// Store id.
    pub store: u16,
    /// Day.
    pub date: chrono::NaiveDate,
    /// [`Reason::LocalEvent`] or [`Reason::Roadworks`].
    pub kind: Reason,
    /// Multiplier applied to the actual sales.
    pub factor: f64,
}

/// The result of planting: the managers, the events, the overrides and the scored days.
#[derive(Debug, Clone, Serialize)]
pub struct Planted {
    /// Each store's manager style.
    pub styles: BTreeMap<u16, ManagerStyle>,
    /// Events planted in the actuals.
    pub events: Vec<PlantedEvent>,
    /// The overrides the managers entered.
    pub overrides: Vec<DayOverride>,
    /// The store-days with events applied to the actuals and overrides to the plan.
    pub days: Vec<ScoredDay>,
}

impl Planted {
    /// The days of the stores whose manager has `style`.
    pub fn days_of(&self, style: ManagerStyle) -> Vec<ScoredDay> {
        self.days
            .iter()
            .filter(|d| self.styles.get(&d.store) == Some(&style))
            .cloned()
            .collect()
    }
}

impl PlantedManagers {
    /// Plants the behaviours on `base` (open store-days with actuals, model and naive
    /// forecasts; any plan or reason given is replaced).
    pub fn plant(&self, base: &[ScoredDay]) -> Planted {
        let mut by_store: BTreeMap<u16, Vec<ScoredDay>> = BTreeMap::new();
        for d in base {
            let mut d = d.clone();
            d.plan = d.model;
            d.reason = None;
            by_store.entry(d.store).or_default().push(d);
        }
        let styles = self.styles(by_store.keys().copied().collect());
        let mut out = Planted {
            styles: styles.clone(),
            events: Vec::new(),
            overrides: Vec::new(),
            days: Vec::new(),
        };
        for (store, mut days) in by_store {
            days.sort_by_key(|d| d.date);
            let mut rng = ChaCha8Rng::seed_from_u64(
                self.seed ^ (self.draws << 40) ^ (u64::from(store) << 20),
            );
            let events = self.events(store, &days, &mut rng);
            for e in &events {
                if let Some(d) = days.iter_mut().find(|d| d.date == e.date) {
                    d.actual *= e.factor;
                }
            }
            let style = styles
                .get(&store)
                .copied()
                .unwrap_or(ManagerStyle::HandsOff);
            for d in &mut days {
                let event = events.iter().find(|e| e.date == d.date);
                if let Some((adj, reason, note)) = self.decide(style, event, &mut rng) {
                    d.plan = adj.apply(d.model);
                    d.reason = Some(reason);
                    out.overrides.push(DayOverride {
                        store,
                        date: d.date,
                        adjustment: adj,
                        reason,
                        note: note.to_string(),
                        model: d.model,
                        plan: d.plan,
                    });
                }
            }
            out.events.extend(events);
            out.days.extend(days);
        }
        out
    }

    /// Assigns styles to stores by the shares, after a seeded shuffle.
    fn styles(&self, mut stores: Vec<u16>) -> BTreeMap<u16, ManagerStyle> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        stores.shuffle(&mut rng);
        let n = stores.len() as f64;
        let mut bounds = [0usize; 4];
        let mut acc = 0.0;
        for (k, s) in self.shares.iter().enumerate() {
            acc += s;
            bounds[k] = (acc * n).round() as usize;
        }
        stores
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let k = bounds.iter().position(|b| i < *b).unwrap_or(0);
                (s, ManagerStyle::ALL[k])
            })
            .collect()
    }

    /// Local events and roadworks on runs of consecutive open days, never overlapping.
    fn events(&self, store: u16, days: &[ScoredDay], rng: &mut ChaCha8Rng) -> Vec<PlantedEvent> {
        let mut taken = vec![false; days.len()];
        let mut out = Vec::new();
        let mut spell = |len: usize, kind: Reason, factor: f64, rng: &mut ChaCha8Rng| {
            for _ in 0..20 {
                if days.len() < len {
                    return;
                }
                let start = rng.gen_range(0..=days.len() - len);
                if taken[start..start + len].iter().any(|t| *t) {
                    continue;
                }
                for (i, t) in taken.iter_mut().enumerate().skip(start).take(len) {
                    *t = true;
                    out.push(PlantedEvent {
                        store,
                        date: days[i].date,
                        kind,
                        factor,
                    });
                }
                return;
            }
        };
        for _ in 0..self.events_per_store {
            spell(
                self.event_days,
                Reason::LocalEvent,
                1.0 + self.event_uplift,
                rng,
            );
        }
        if rng.gen_bool(self.roadworks_probability.clamp(0.0, 1.0)) {
            spell(
                self.roadworks_days,
                Reason::Roadworks,
                1.0 - self.roadworks_drop,
                rng,
            );
        }
        out.sort_by_key(|e| e.date);
        out
    }

    /// What a manager of `style` enters on a day (`None`: leaves the model).
    fn decide(
        &self,
        style: ManagerStyle,
        event: Option<&PlantedEvent>,
        rng: &mut ChaCha8Rng,
    ) -> Option<(Adjustment, Reason, &'static str)> {
        let pct = |value: f64| Adjustment {
            kind: AdjustmentKind::DeltaPct,
            value,
        };
        match style {
            ManagerStyle::HandsOff => None,
            ManagerStyle::Informed => event.map(|e| match e.kind {
                Reason::Roadworks => (
                    pct(self.informed_roadworks_pct),
                    Reason::Roadworks,
                    "street closed for works",
                ),
                _ => (
                    pct(self.informed_event_pct),
                    Reason::LocalEvent,
                    "town festival",
                ),
            }),
            ManagerStyle::Noisy => {
                let z: f64 =
                    Normal::new(0.0, self.noisy_sd.max(1e-9)).map_or(0.0, |n| n.sample(rng));
                let reason = [Reason::Staffing, Reason::CompetitorAction, Reason::StockOut]
                    [rng.gen_range(0..3)];
                rng.gen_bool(self.noisy_share.clamp(0.0, 1.0))
                    .then(|| (pct(100.0 * (z.exp() - 1.0)), reason, "gut feeling"))
            }
            ManagerStyle::Biased => rng
                .gen_bool(self.biased_share.clamp(0.0, 1.0))
                .then(|| (pct(self.biased_pct), Reason::Other, "expected growth")),
        }
    }
}
