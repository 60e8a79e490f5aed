//! The planted manager behaviours are recovered by FVA on the synthetic chain: sign, and size
//! within the bootstrap interval.

use storecast_plan::evidence::{synthetic_days, Evidence};
use storecast_plan::fva::{self, Dimension, GroupKey};
use storecast_plan::{ManagerStyle, PlantedManagers, Reason};

const STORES: u16 = 120;

#[test]
fn each_planted_behaviour_is_recovered_with_its_sign_and_size() {
    let base = synthetic_days(STORES, 42).expect("synthetic chain");
    assert!(base.len() > 100 * 30, "{} days", base.len());
    let ev = Evidence::from_days(STORES, 42, PlantedManagers::default(), &base);
    // The planted size of each style's FVA on these stores: the mean over many other draws
    // of the same managers (events, days chosen, noise).
    let mut population = [0.0f64; 4];
    let reps = 24;
    for seed in 100..100 + reps {
        let other = Evidence::from_days(
            STORES,
            42,
            PlantedManagers {
                draws: seed,
                ..PlantedManagers::default()
            },
            &base,
        );
        for (k, (_, row)) in other.by_style.iter().enumerate() {
            population[k] += row.fva_plan.value / f64::from(reps as u32);
        }
    }
    for (k, (style, row)) in ev.by_style.iter().enumerate() {
        let f = row.fva_plan;
        eprintln!(
            "{style}: FVA {:+.4} [{:+.4}, {:+.4}], population {:+.4}, {} overridden of {}",
            f.value, f.lo, f.hi, population[k], row.overridden, row.days
        );
        match style {
            ManagerStyle::HandsOff => {
                assert_eq!(row.overridden, 0);
                assert_eq!(f.value, 0.0);
            }
            ManagerStyle::Informed => assert!(f.positive(), "{f:?}"),
            ManagerStyle::Noisy | ManagerStyle::Biased => assert!(f.negative(), "{f:?}"),
        }
        assert!(
            f.contains(population[k]),
            "{style}: {f:?} vs {}",
            population[k]
        );
    }
}

#[test]
fn by_reason_local_events_add_value_and_recover_the_planted_uplift() {
    let ev = Evidence::build(STORES, 42, PlantedManagers::default()).expect("evidence");
    let by_reason = ev.table(Dimension::Reason).expect("reason table");
    let row = |r: Reason| {
        by_reason
            .rows
            .iter()
            .find(|x| x.group == GroupKey::Reason(r))
            .unwrap_or_else(|| panic!("no row for {r}"))
    };
    assert!(row(Reason::LocalEvent).fva_plan.positive());
    assert!(row(Reason::Roadworks).fva_plan.positive());
    assert!(
        row(Reason::Other).fva_plan.negative(),
        "biased managers' reason"
    );
    assert!(
        row(Reason::Staffing).fva_plan.negative(),
        "noisy managers' reason"
    );
    // The uplift of local events, read back from the data: actual/model on the event days
    // of informed stores over actual/model on their other days.
    let days = ev.planted.days_of(ManagerStyle::Informed);
    let ratio = |pick: &dyn Fn(&fva::ScoredDay) -> bool| {
        let (a, m) = days
            .iter()
            .filter(|d| pick(d))
            .fold((0.0, 0.0), |(a, m), d| (a + d.actual, m + d.model));
        a / m
    };
    let event = ratio(&|d| d.reason == Some(Reason::LocalEvent));
    let normal = ratio(&|d| d.reason.is_none());
    let uplift = event / normal - 1.0;
    eprintln!("recovered local-event uplift {uplift:+.3} (planted +0.30)");
    assert!((uplift - 0.30).abs() < 0.06, "{uplift}");
}

#[test]
fn the_same_seed_plants_the_same_managers() {
    let base = synthetic_days(20, 5).expect("synthetic chain");
    let a = PlantedManagers::default().plant(&base);
    let b = PlantedManagers::default().plant(&base);
    assert_eq!(a.overrides, b.overrides);
    assert_eq!(a.styles, b.styles);
    let c = PlantedManagers {
        seed: 8,
        ..PlantedManagers::default()
    }
    .plant(&base);
    assert_ne!(a.overrides, c.overrides);
}
