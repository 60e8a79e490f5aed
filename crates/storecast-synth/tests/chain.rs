//! End-to-end tests of the generated chain: determinism, formats, calendar rules, quirks and
//! recovery of the planted effects. Each test can fail: it checks a property the generator
//! could plausibly get wrong.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, Weekday};
use storecast_synth::{
    generate, PlantedEffects, StateHoliday, StoreType, SynthChain, SynthConfig, Truth,
    STORE_HEADER, TEST_HEADER, TEST_TRUTH_HEADER, TRAIN_HEADER,
};

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn chain(cfg: &SynthConfig) -> SynthChain {
    generate(cfg).expect("valid config")
}

fn clean(effects: PlantedEffects) -> SynthConfig {
    SynthConfig {
        quirks: false,
        effects,
        ..SynthConfig::default()
    }
}

fn train_days(cfg: &SynthConfig) -> usize {
    ((cfg.train_end - cfg.start).num_days() + 1) as usize
}

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8(bytes.to_vec())
        .expect("utf8")
        .lines()
        .map(str::to_string)
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    assert!(!v.is_empty(), "median of nothing");
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[test]
fn same_seed_gives_identical_bytes_and_other_seed_differs() {
    let cfg = SynthConfig::default();
    let a = chain(&cfg);
    let b = chain(&cfg);
    assert_eq!(a.train_csv(), b.train_csv());
    assert_eq!(a.store_csv(), b.store_csv());
    assert_eq!(a.test_csv(), b.test_csv());
    assert_eq!(a.test_truth_csv(), b.test_truth_csv());
    assert_eq!(a.effects_json(), b.effects_json());

    let other = chain(&SynthConfig { seed: 43, ..cfg });
    assert_ne!(a.train_csv(), other.train_csv());
    assert_ne!(a.store_csv(), other.store_csv());
}

#[test]
fn headers_are_exact() {
    let c = chain(&SynthConfig::default());
    assert_eq!(lines(&c.train_csv())[0], TRAIN_HEADER);
    assert_eq!(
        TRAIN_HEADER,
        "Store,DayOfWeek,Date,Sales,Customers,Open,Promo,StateHoliday,SchoolHoliday"
    );
    assert_eq!(lines(&c.store_csv())[0], STORE_HEADER);
    assert_eq!(
        STORE_HEADER,
        r#""Store","StoreType","Assortment","CompetitionDistance","CompetitionOpenSinceMonth","CompetitionOpenSinceYear","Promo2","Promo2SinceWeek","Promo2SinceYear","PromoInterval""#
    );
    assert_eq!(lines(&c.test_csv())[0], TEST_HEADER);
    assert_eq!(
        TEST_HEADER,
        "Id,Store,DayOfWeek,Date,Open,Promo,StateHoliday,SchoolHoliday"
    );
    assert_eq!(lines(&c.test_truth_csv())[0], TEST_TRUTH_HEADER);
    assert_eq!(TEST_TRUTH_HEADER, "Id,Sales");
}

#[test]
fn row_counts_match_stores_times_days_minus_gaps() {
    let cfg = SynthConfig::default();
    let days = train_days(&cfg);
    let c = chain(&cfg);
    let q = &c.truth.quirks;
    let from = q.missing_from.expect("gap inside the default range");
    let to = q.missing_to.expect("gap inside the default range");
    assert_eq!((from, to), (ymd(2014, 7, 1), ymd(2014, 12, 31)));
    let gap_days = ((to - from).num_days() + 1) as usize;
    assert_eq!(q.missing_half_year_stores.len(), 16);
    let expected = 100 * days - q.missing_half_year_stores.len() * gap_days - 1;
    assert_eq!(c.train.len(), expected);
    assert_eq!(lines(&c.train_csv()).len(), expected + 1);
    assert_eq!(c.test.len(), 100 * 42);
    assert_eq!(lines(&c.test_csv()).len(), 100 * 42 + 1);
    assert_eq!(lines(&c.test_truth_csv()).len(), 100 * 42 + 1);
    assert_eq!(lines(&c.store_csv()).len(), 101);

    let clean = chain(&SynthConfig {
        quirks: false,
        ..cfg.clone()
    });
    assert_eq!(clean.train.len(), 100 * days);
}

#[test]
fn train_rows_are_sorted_date_descending_then_store_ascending() {
    let c = chain(&SynthConfig::default());
    assert_eq!(c.train[0].date, ymd(2015, 6, 19));
    assert_eq!(c.train[0].store, 1);
    for pair in c.train.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            a.date > b.date || (a.date == b.date && a.store < b.store),
            "{a:?} then {b:?}"
        );
    }
    assert_eq!(c.train.last().map(|r| r.date), Some(ymd(2013, 1, 1)));
    for r in c.train.iter().take(500) {
        assert_eq!(
            u32::from(r.day_of_week),
            r.date.weekday().number_from_monday()
        );
    }
}

#[test]
fn csv_text_matches_rows() {
    let c = chain(&SynthConfig {
        stores: 12,
        ..SynthConfig::default()
    });
    let text = lines(&c.train_csv());
    for (line, r) in text[1..].iter().zip(&c.train) {
        let expected = format!(
            "{},{},{},{},{},{},{},{},{}",
            r.store,
            r.day_of_week,
            r.date.format("%Y-%m-%d"),
            r.sales,
            r.customers,
            u8::from(r.open),
            u8::from(r.promo),
            r.state_holiday.code(),
            u8::from(r.school_holiday)
        );
        assert_eq!(line, &expected);
    }
    let store_lines = lines(&c.store_csv());
    for line in &store_lines[1..] {
        let fields: Vec<&str> = line.splitn(10, ',').collect();
        assert_eq!(fields.len(), 10, "{line}");
        assert!(
            fields[1].starts_with('"') && fields[1].ends_with('"'),
            "{line}"
        );
        assert!(
            fields[2].starts_with('"') && fields[2].ends_with('"'),
            "{line}"
        );
        assert!(
            [
                "\"\"",
                "\"Jan,Apr,Jul,Oct\"",
                "\"Feb,May,Aug,Nov\"",
                "\"Mar,Jun,Sept,Dec\""
            ]
            .contains(&fields[9]),
            "{line}"
        );
        if fields[6] == "0" {
            assert_eq!(&fields[7..], ["", "", "\"\""], "{line}");
        } else {
            assert_eq!(fields[6], "1", "{line}");
            assert!(!fields[7].is_empty() && !fields[8].is_empty(), "{line}");
        }
    }
}

#[test]
fn test_file_covers_every_store_for_the_horizon() {
    let cfg = SynthConfig::default();
    let c = chain(&cfg);
    let ids: Vec<u32> = c.test.iter().map(|r| r.id).collect();
    assert_eq!(ids, (1..=4200).collect::<Vec<u32>>());
    assert_eq!(c.test[0].date, ymd(2015, 7, 31));
    assert_eq!(c.test[0].store, 1);
    assert_eq!(c.test.last().map(|r| r.date), Some(ymd(2015, 6, 20)));
    let mut per_store: BTreeMap<u16, BTreeSet<NaiveDate>> = BTreeMap::new();
    for r in &c.test {
        per_store.entry(r.store).or_default().insert(r.date);
    }
    assert_eq!(per_store.len(), 100);
    assert!(per_store.values().all(|d| d.len() == 42));
    for pair in c.test.windows(2) {
        assert!(pair[0].date > pair[1].date || pair[0].store < pair[1].store);
    }
    // Open column: 1.0 / 0.0 / blank, with 12 blanks under quirks.
    let text = lines(&c.test_csv());
    let mut blanks = 0;
    for line in &text[1..] {
        let open = line.split(',').nth(4).expect("5 fields");
        assert!(["1.0", "0.0", ""].contains(&open), "{line}");
        blanks += usize::from(open.is_empty());
    }
    assert_eq!(blanks, 12);
    assert_eq!(c.truth.quirks.blank_open_test.len(), 12);
    // Truth ids line up and closed days have zero true sales.
    for (r, t) in c.test.iter().zip(&c.test_truth) {
        assert_eq!(r.id, t.id);
        if r.open == Some(false) {
            assert_eq!(t.sales, 0);
        }
        if r.open.is_none() {
            assert!(t.sales > 0, "blank Open rows are really open days");
        }
    }
}

#[test]
fn sundays_closed_except_sunday_stores() {
    let c = chain(&SynthConfig::default());
    let truth = &c.truth;
    let mut b_sunday_open = 0;
    for s in &truth.stores {
        if s.store_type == StoreType::B {
            assert!(
                s.opens_sundays,
                "type b store {} must open on Sundays",
                s.store
            );
        }
    }
    for r in &c.train {
        if r.day_of_week == 7 {
            let s = truth.store(r.store).expect("known store");
            if !s.opens_sundays {
                assert!(!r.open, "store {} open on Sunday {}", r.store, r.date);
            } else if r.open && s.store_type == StoreType::B {
                b_sunday_open += 1;
            }
        }
    }
    assert!(b_sunday_open > 100, "type b stores do open on Sundays");
}

#[test]
fn no_promo_on_weekends_and_whole_promo_weeks() {
    let c = chain(&SynthConfig::default());
    let mut weeks: BTreeMap<(u16, i32, u32), BTreeSet<bool>> = BTreeMap::new();
    let mut promo_days = 0;
    for r in c.train.iter() {
        let wd = r.date.weekday();
        if wd == Weekday::Sat || wd == Weekday::Sun {
            assert!(!r.promo, "promo on a weekend: {r:?}");
        } else if r.open {
            let w = r.date.iso_week();
            weeks
                .entry((r.store, w.year(), w.week()))
                .or_default()
                .insert(r.promo);
        }
        promo_days += usize::from(r.promo);
    }
    assert!(
        weeks.values().all(|flags| flags.len() == 1),
        "mixed store-week"
    );
    let share = promo_days as f64 / c.train.len() as f64;
    assert!((0.25..0.35).contains(&share), "promo share {share}");
    for r in &c.test {
        let wd = r.date.weekday();
        assert!(!(r.promo && (wd == Weekday::Sat || wd == Weekday::Sun)));
    }
}

#[test]
fn closed_days_have_zero_sales_and_holiday_codes_are_valid() {
    let c = chain(&SynthConfig::default());
    let text = lines(&c.train_csv());
    for line in &text[1..] {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 9);
        assert!(["0", "a", "b", "c"].contains(&f[7]), "{line}");
        if f[5] == "0" {
            assert_eq!((f[3], f[4]), ("0", "0"), "{line}");
        } else {
            assert_eq!(f[5], "1");
        }
    }
    // Closed on state holidays, except the documented holiday openers.
    let mut holiday_rows = 0;
    for r in &c.train {
        if r.state_holiday != StateHoliday::None {
            holiday_rows += 1;
            let s = c.truth.store(r.store).expect("known store");
            if !s.opens_on_holidays {
                assert!(!r.open, "{r:?}");
            }
        }
    }
    assert!(holiday_rows > 1000);
    // Good Friday is `b`, Christmas `c`, 3 October `a`, for every store.
    for r in &c.train {
        match (r.date.month(), r.date.day()) {
            (12, 25) | (12, 26) => assert_eq!(r.state_holiday, StateHoliday::Christmas),
            (10, 3) => assert_eq!(r.state_holiday, StateHoliday::Public),
            _ if r.date == ymd(2015, 4, 3) || r.date == ymd(2014, 4, 18) => {
                assert_eq!(r.state_holiday, StateHoliday::Easter)
            }
            _ => {}
        }
    }
}

#[test]
fn quirks_are_planted_and_logged() {
    let c = chain(&SynthConfig::default());
    let q = &c.truth.quirks;
    let gap: BTreeSet<u16> = q.missing_half_year_stores.iter().copied().collect();
    for r in &c.train {
        if gap.contains(&r.store) {
            assert!(
                r.date < ymd(2014, 7, 1) || r.date > ymd(2014, 12, 31),
                "{r:?}"
            );
        }
    }
    let first_day = q
        .missing_first_day_store
        .expect("one store misses its first day");
    assert!(!c
        .train
        .iter()
        .any(|r| r.store == first_day && r.date == ymd(2013, 1, 1)));
    let zero_open = c.train.iter().filter(|r| r.open && r.sales == 0).count();
    assert_eq!(zero_open, q.open_zero_sales.len());
    assert!(zero_open >= 1);
    assert_eq!(q.blank_competition_distance.len(), 3);
    let blank_distance = c
        .stores
        .iter()
        .filter(|s| s.competition_distance.is_none())
        .count();
    assert_eq!(blank_distance, 3);

    let clean = chain(&clean(PlantedEffects::realistic()));
    assert_eq!(clean.truth.quirks, Default::default());
    assert!(clean
        .stores
        .iter()
        .all(|s| s.competition_distance.is_some()));
    assert!(clean.test.iter().all(|r| r.open.is_some()));
    assert!(!clean.train.iter().any(|r| r.open && r.sales == 0));

    // Quirks do not move any other value: shared rows are identical.
    let quirky: BTreeMap<(u16, NaiveDate), (u32, u32)> = c
        .train
        .iter()
        .map(|r| ((r.store, r.date), (r.sales, r.customers)))
        .collect();
    let zeroed: BTreeSet<(u16, NaiveDate)> = q
        .open_zero_sales
        .iter()
        .map(|d| (d.store, d.date))
        .collect();
    for r in &clean.train {
        if let Some(&v) = quirky.get(&(r.store, r.date)) {
            if !zeroed.contains(&(r.store, r.date)) {
                assert_eq!(v, (r.sales, r.customers), "{r:?}");
            }
        }
    }
}

#[test]
fn small_chains_still_get_a_blank_open_cell() {
    let c = chain(&SynthConfig {
        stores: 5,
        ..SynthConfig::default()
    });
    assert_eq!(c.truth.quirks.blank_open_test.len(), 1);
    assert_eq!(c.test.iter().filter(|r| r.open.is_none()).count(), 1);
}

/// Median over stores of (median promo sales / median non-promo sales) on open Mon–Fri
/// days outside December, for stores of type `t`.
fn promo_ratio(c: &SynthChain, t: StoreType) -> f64 {
    let mut by_store: BTreeMap<u16, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for r in &c.train {
        let s = c.truth.store(r.store).expect("known store");
        if s.store_type != t || !r.open || r.day_of_week > 5 || r.date.month() == 12 {
            continue;
        }
        let e = by_store.entry(r.store).or_default();
        if r.promo {
            e.0.push(f64::from(r.sales));
        } else {
            e.1.push(f64::from(r.sales));
        }
    }
    median(
        by_store
            .into_values()
            .map(|(p, n)| median(p) / median(n))
            .collect(),
    )
}

fn mean_planted_uplift(truth: &Truth, t: StoreType) -> f64 {
    let v: Vec<f64> = truth
        .stores
        .iter()
        .filter(|s| s.store_type == t)
        .map(|s| s.promo_uplift)
        .collect();
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn promo_uplift_is_recovered_by_a_median_ratio() {
    let c = chain(&clean(PlantedEffects::realistic()));
    for t in [StoreType::A, StoreType::C, StoreType::D] {
        let planted = 1.0 + mean_planted_uplift(&c.truth, t);
        let recovered = promo_ratio(&c, t);
        let rel = recovered / planted - 1.0;
        eprintln!("type {t:?}: planted {planted:.4}, recovered {recovered:.4}, rel {rel:+.4}");
        assert!(
            rel.abs() < 0.03,
            "type {t:?}: planted {planted}, got {recovered}"
        );
    }
}

#[test]
fn no_effects_means_no_promo_effect() {
    let c = chain(&clean(PlantedEffects::none()));
    for t in [StoreType::A, StoreType::C, StoreType::D] {
        let ratio = promo_ratio(&c, t);
        eprintln!("none(): type {t:?} promo ratio {ratio:.4}");
        assert!((ratio - 1.0).abs() < 0.02, "type {t:?}: ratio {ratio}");
    }
}

/// Median over stores of (median sales on weekday `a` / median on weekday `b`), open,
/// non-promo, outside December.
fn weekday_ratio(c: &SynthChain, a: u8, b: u8) -> f64 {
    let mut by_store: BTreeMap<u16, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for r in &c.train {
        if !r.open || r.promo || r.date.month() == 12 || r.state_holiday != StateHoliday::None {
            continue;
        }
        let e = by_store.entry(r.store).or_default();
        if r.day_of_week == a {
            e.0.push(f64::from(r.sales));
        } else if r.day_of_week == b {
            e.1.push(f64::from(r.sales));
        }
    }
    median(
        by_store
            .into_values()
            .filter(|(x, y)| !x.is_empty() && !y.is_empty())
            .map(|(x, y)| median(x) / median(y))
            .collect(),
    )
}

#[test]
fn weekday_profile_is_recovered_and_flat_under_none() {
    let c = chain(&clean(PlantedEffects::realistic()));
    let fx = &c.truth.effects;
    let planted = fx.weekday[0] / fx.weekday[1];
    let got = weekday_ratio(&c, 1, 2);
    assert!(
        (got / planted - 1.0).abs() < 0.03,
        "Mon/Tue {got} vs {planted}"
    );
    let planted = fx.weekday[5] / fx.weekday[1];
    let got = weekday_ratio(&c, 6, 2);
    assert!(
        (got / planted - 1.0).abs() < 0.03,
        "Sat/Tue {got} vs {planted}"
    );

    let flat = chain(&clean(PlantedEffects::none()));
    let got = weekday_ratio(&flat, 1, 2);
    assert!((got - 1.0).abs() < 0.02, "none(): Mon/Tue {got}");
}

#[test]
fn base_level_is_the_median_normal_day() {
    // Tuesdays, no promo, no holiday, no school holiday, Feb–Nov of the first year, no pay day:
    // the only remaining factors are the month profile, trend and noise.
    let c = chain(&clean(PlantedEffects::realistic()));
    let fx = &c.truth.effects;
    let mut ratios = Vec::new();
    for r in &c.train {
        let s = c.truth.store(r.store).expect("known store");
        let m = r.date.month();
        let before_competitor = match s.competitor_opening {
            Some(o) => r.date < o.date,
            None => true,
        };
        if r.open
            && !r.promo
            && r.day_of_week == 2
            && !r.school_holiday
            && r.state_holiday == StateHoliday::None
            && r.date.year() == 2013
            && (2..=11).contains(&m)
            && r.date.day() > fx.payday_days
            && before_competitor
        {
            ratios.push(f64::from(r.sales) / (s.base_level * fx.month_profile[(m - 1) as usize]));
        }
    }
    let got = median(ratios);
    // Half a year of trend (≤ 2.5 %) and promo2 (+1 %) may remain.
    assert!((0.98..1.05).contains(&got), "normal-day ratio {got}");
}

#[test]
fn competitor_openings_are_in_range_and_in_store_csv() {
    let c = chain(&SynthConfig {
        stores: 400,
        ..SynthConfig::default()
    });
    let mut openings = 0;
    let mut since = 0;
    for (row, s) in c.stores.iter().zip(&c.truth.stores) {
        assert_eq!(row.store, s.store);
        if row.competition_open_since_year.is_some() {
            since += 1;
        }
        if let Some(o) = s.competitor_opening {
            openings += 1;
            assert!(
                o.date >= ymd(2013, 6, 1) && o.date <= ymd(2015, 3, 1),
                "{o:?}"
            );
            assert_eq!(o.date.day(), 1);
            assert_eq!(row.competition_open_since_month, Some(o.date.month()));
            assert_eq!(row.competition_open_since_year, Some(o.date.year()));
            assert!((0.08..=0.12).contains(&o.drop), "{o:?}");
        } else if let Some(y) = row.competition_open_since_year {
            assert!(y < 2013, "pre-range competitor year {y}");
        }
    }
    assert_eq!(openings, 60);
    let share = f64::from(since) / 400.0;
    assert!((0.6..0.76).contains(&share), "OpenSince share {share}");
    // Closer competitors hurt more.
    let mut pairs: Vec<(u32, f64)> = c
        .truth
        .stores
        .iter()
        .filter_map(|s| Some((s.competition_distance?, s.competitor_opening?.drop)))
        .collect();
    pairs.sort_by_key(|p| p.0);
    assert!(pairs.windows(2).all(|w| w[0].1 >= w[1].1));
}

#[test]
fn effects_json_round_trips_and_files_are_written() {
    let c = chain(&SynthConfig {
        stores: 20,
        ..SynthConfig::default()
    });
    let back: Truth = serde_json::from_slice(&c.effects_json()).expect("valid json");
    assert_eq!(back, c.truth);
    let json: serde_json::Value = serde_json::from_slice(&c.effects_json()).expect("json");
    assert_eq!(
        json["stores"][0]["store_type"].as_str().map(|s| s.len()),
        Some(1)
    );
    assert!(json["states"][0]["holidays"]
        .as_array()
        .is_some_and(|a| !a.is_empty()));
    assert!(json["effects"]["weekday"]
        .as_array()
        .is_some_and(|a| a.len() == 7));

    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("nested").join("chain");
    c.write_to_dir(&out).expect("write");
    assert_eq!(
        std::fs::read(out.join("train.csv")).expect("read"),
        c.train_csv()
    );
    assert_eq!(
        std::fs::read(out.join("store.csv")).expect("read"),
        c.store_csv()
    );
    assert_eq!(
        std::fs::read(out.join("test.csv")).expect("read"),
        c.test_csv()
    );
    assert_eq!(
        std::fs::read(out.join("test_truth.csv")).expect("read"),
        c.test_truth_csv()
    );
    assert_eq!(
        std::fs::read(out.join("effects.json")).expect("read"),
        c.effects_json()
    );
}

#[test]
fn invalid_configs_are_rejected() {
    let zero = SynthConfig {
        stores: 0,
        ..SynthConfig::default()
    };
    assert!(generate(&zero).is_err());
    let backwards = SynthConfig {
        train_end: ymd(2012, 1, 1),
        ..SynthConfig::default()
    };
    assert!(generate(&backwards).is_err());
    let mut fx = PlantedEffects::realistic();
    fx.noise_sigma = f64::NAN;
    assert!(generate(&clean(fx)).is_err());
}

#[test]
fn full_size_chain_generates() {
    let cfg = SynthConfig {
        stores: 1115,
        ..SynthConfig::default()
    };
    let t0 = std::time::Instant::now();
    let c = chain(&cfg);
    let elapsed = t0.elapsed();
    let t1 = std::time::Instant::now();
    let bytes = c.train_csv();
    eprintln!(
        "1,115 stores: generate {:?}, train.csv render {:?} ({} rows, {} MB)",
        elapsed,
        t1.elapsed(),
        c.train.len(),
        bytes.len() / 1_000_000
    );
    let counts: BTreeMap<StoreType, usize> =
        c.truth.stores.iter().fold(BTreeMap::new(), |mut m, s| {
            *m.entry(s.store_type).or_default() += 1;
            m
        });
    assert_eq!(counts.get(&StoreType::A), Some(&602));
    assert_eq!(counts.get(&StoreType::B), Some(&22));
    assert_eq!(c.truth.quirks.missing_half_year_stores.len(), 180);
    assert_eq!(c.test.len(), 1115 * 42);
    let days = train_days(&cfg);
    assert_eq!(c.train.len(), 1115 * days - 180 * 184 - 1);
}

#[test]
fn competitor_drop_is_recovered() {
    let c = chain(&SynthConfig {
        stores: 400,
        quirks: false,
        ..SynthConfig::default()
    });
    let mut sales: BTreeMap<(u16, NaiveDate), (u32, bool, u8)> = BTreeMap::new();
    for r in &c.train {
        sales.insert(
            (r.store, r.date),
            (r.sales, r.open && !r.promo, r.day_of_week),
        );
    }
    let mut rel = Vec::new();
    for s in &c.truth.stores {
        let Some(o) = s.competitor_opening else {
            continue;
        };
        let (mut before, mut after) = (Vec::new(), Vec::new());
        for k in 1..=90i64 {
            for (out, d) in [
                (&mut before, o.date - chrono::Duration::days(k)),
                (&mut after, o.date + chrono::Duration::days(k - 1)),
            ] {
                if let Some(&(v, normal, dow)) = sales.get(&(s.store, d)) {
                    if normal && (2..=5).contains(&dow) && d.month() != 12 {
                        out.push(f64::from(v));
                    }
                }
            }
        }
        rel.push(median(after) / median(before) / (1.0 - o.drop));
    }
    let got = median(rel);
    assert!(
        (got - 1.0).abs() < 0.02,
        "after/before relative to planted: {got}"
    );

    let flat = chain(&SynthConfig {
        stores: 400,
        quirks: false,
        effects: PlantedEffects::none(),
        ..SynthConfig::default()
    });
    assert!(flat
        .truth
        .stores
        .iter()
        .filter_map(|s| s.competitor_opening)
        .all(|o| o.drop == 0.0));
}

#[test]
fn custom_short_range_works_without_the_2014_gap() {
    let cfg = SynthConfig {
        stores: 30,
        seed: 7,
        start: ymd(2015, 1, 1),
        train_end: ymd(2015, 3, 31),
        horizon_days: 10,
        ..SynthConfig::default()
    };
    let c = chain(&cfg);
    assert_eq!(c.truth.quirks.missing_from, None);
    assert!(c.truth.quirks.missing_half_year_stores.is_empty());
    assert_eq!(c.train.len(), 30 * 90 - 1);
    assert_eq!(c.test.len(), 30 * 10);
    assert_eq!(c.test[0].date, ymd(2015, 4, 10));
    // No window for in-range competitor openings in three months.
    assert!(c
        .truth
        .stores
        .iter()
        .all(|s| s.competitor_opening.is_none()));
}
