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

#[test]
fn the_fva_tables_match_a_plain_recomputation_to_the_cent() {
    // Issue 33: every figure of every table, recomputed with plain loops over the days.
    let ev = Evidence::build(40, 42, PlantedManagers::default()).expect("evidence");
    let days = &ev.planted.days;
    for dim in Dimension::ALL {
        let table = fva::table(days, dim, 3);
        let mut seen = 0;
        for row in &table.rows {
            // [actual, |e| naive, |e| model, |e| plan, e naive, e model, e plan, sq naive, sq model, sq plan]
            let mut s = [0.0f64; 10];
            let (mut n, mut overridden) = (0usize, 0usize);
            for d in days {
                let in_group = d.actual > 0.0
                    && match &row.group {
                        GroupKey::Chain => true,
                        GroupKey::StoreType(t) => d.store_type == *t,
                        GroupKey::Store(st) => d.store == *st,
                        GroupKey::Reason(r) => d.reason == Some(*r),
                        GroupKey::Week(w) => d.horizon_week == *w,
                    };
                if !in_group {
                    continue;
                }
                n += 1;
                if d.reason.is_some() {
                    overridden += 1;
                }
                s[0] += d.actual;
                for (k, f) in [d.naive, d.model, d.plan].into_iter().enumerate() {
                    s[1 + k] += (d.actual - f).abs();
                    s[4 + k] += f - d.actual;
                    s[7 + k] += ((d.actual - f) / d.actual).powi(2);
                }
            }
            seen += n;
            assert_eq!(
                (row.days, row.overridden),
                (n, overridden),
                "{:?}",
                row.group
            );
            for (k, step) in [&row.naive, &row.model, &row.plan].into_iter().enumerate() {
                assert!(
                    (step.abs_error_eur - s[1 + k]).abs() < 0.005,
                    "{:?} € error",
                    row.group
                );
                assert!(
                    (step.wape - s[1 + k] / s[0]).abs() < 1e-12,
                    "{:?} WAPE",
                    row.group
                );
                assert!(
                    (step.bias - s[4 + k] / s[0]).abs() < 1e-12,
                    "{:?} bias",
                    row.group
                );
                assert!(
                    (step.rmspe - (s[7 + k] / n as f64).sqrt()).abs() < 1e-12,
                    "{:?} RMSPE",
                    row.group
                );
            }
            let fva_model = (s[1] - s[2]) / s[0];
            let fva_plan = (s[2] - s[3]) / s[0];
            assert!(
                (row.fva_model.value - fva_model).abs() < 1e-12,
                "{:?}",
                row.group
            );
            assert!(
                (row.fva_plan.value - fva_plan).abs() < 1e-12,
                "{:?}",
                row.group
            );
            assert!(row.fva_plan.lo <= row.fva_plan.hi);
            // In euros per euro sold: the FVA of the overrides is the € error they removed.
            assert!(((s[2] - s[3]) - fva_plan * s[0]).abs() < 0.005);
        }
        let expected = days
            .iter()
            .filter(|d| d.actual > 0.0 && (dim != Dimension::Reason || d.reason.is_some()))
            .count();
        assert_eq!(seen, expected, "{dim:?}: every day in one group");
    }
    let by_reason = fva::table(days, Dimension::Reason, 3);
    for row in &by_reason.rows {
        let f = row.fva_plan;
        eprintln!(
            "{}: FVA {:+.4} [{:+.4}, {:+.4}] over {} overridden days",
            row.group, f.value, f.lo, f.hi, row.overridden
        );
    }
}
