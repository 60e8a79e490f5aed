//! Like-for-like growth (issue 15): on the real data, the chain's like-for-like change of the
//! last six weeks of history vs the same weekdays a year earlier matches a computation written
//! independently from the raw rows (dates and hash maps, not the timeline grid), and no store
//! without a comparable last year gets a growth figure.

use chrono::{Datelike, Duration, NaiveDate};
use std::collections::{HashMap, HashSet};
use storecast_data::ChainData;
use storecast_model::lfl::{self, LikeForLike};
use storecast_model::timeline::{OpenState, Timeline};

/// The same rules from the rows: comparable = open with sales a year (364 days) earlier, and
/// not within 7 days of a run of 7+ days (Sundays skipped) without an open row.
fn independent(data: &ChainData, from: NaiveDate, to: NaiveDate) -> (f64, usize) {
    let mut rows: HashMap<(u16, NaiveDate), (bool, f64)> = HashMap::new();
    let mut stores: HashSet<u16> = HashSet::new();
    let first = (0..data.history.len())
        .map(|i| data.history.row(i).date)
        .min()
        .expect("rows");
    for i in 0..data.history.len() {
        let r = data.history.row(i);
        rows.insert((r.store, r.date), (r.open, f64::from(r.sales)));
        stores.insert(r.store);
    }
    let (mut fc, mut ly) = (0.0, 0.0);
    let mut comparable_stores = 0;
    for &store in &stores {
        // Blocked days: runs of 7+ (non-Sunday) days before `from` without an open row.
        let mut blocked: HashSet<NaiveDate> = HashSet::new();
        let mut run: Vec<NaiveDate> = Vec::new();
        let mut day = first;
        while day <= from {
            let closed = day < from && !rows.get(&(store, day)).is_some_and(|r| r.0);
            if day < from && day.weekday().number_from_monday() == 7 {
                day += Duration::days(1);
                continue;
            }
            if closed {
                run.push(day);
            } else {
                if let (Some(a), true) = (run.first(), run.len() >= 6) {
                    let span = (day - *a).num_days();
                    if span >= 7 {
                        let mut d = *a - Duration::days(7);
                        while d < day + Duration::days(7) {
                            blocked.insert(d);
                            d += Duration::days(1);
                        }
                    }
                }
                run.clear();
            }
            day += Duration::days(1);
        }
        let (mut f, mut l, mut open, mut comp) = (0.0, 0.0, 0usize, 0usize);
        let mut d = from;
        while d <= to {
            if let Some(&(true, sales)) = rows.get(&(store, d)) {
                open += 1;
                let back = d - Duration::days(364);
                let ok = back >= first && back < from && !blocked.contains(&back);
                if let (true, Some(&(true, s))) = (ok, rows.get(&(store, back))) {
                    if s > 0.0 {
                        f += sales;
                        l += s;
                        comp += 1;
                    }
                }
            }
            d += Duration::days(1);
        }
        if open > 0 && l > 0.0 && comp as f64 >= 0.8 * open as f64 {
            fc += f;
            ly += l;
            comparable_stores += 1;
        }
    }
    (fc / ly - 1.0, comparable_stores)
}

#[test]
fn real_chain_like_for_like_matches_an_independent_computation(
) -> Result<(), Box<dyn std::error::Error>> {
    let Some(dir) = storecast_data::real_data_dir() else {
        eprintln!("SKIPPED: real data not found (set STORECAST_DATA)");
        return Ok(());
    };
    let data = ChainData::load_dir(&dir)?.into_strict()?;
    let tl = Timeline::build(&data.history, None).ok_or("empty")?;
    // The last six weeks of history play the forecast (their actual sales as the forecast).
    let origin = tl.days - 42;
    let mut chain = LikeForLike::default();
    let mut comparable = 0;
    let mut changes = Vec::new();
    for s in 0..tl.stores.len() {
        let days = (origin..tl.days).map(|d| {
            let open = tl.plan(s, d as isize).open == OpenState::Open;
            (d, open, tl.actual_sales(s, d).map_or(0.0, f64::from))
        });
        let store = lfl::store_like_for_like(&tl, s, origin, days);
        chain.add(&store);
        comparable += usize::from(store.comparable());
        if let Some(c) = store.change() {
            changes.push(c);
        }
    }
    let ours = chain.forecast / chain.last_year - 1.0;
    let (theirs, their_stores) = independent(&data, tl.date(origin), tl.date(tl.days - 1));
    eprintln!(
        "like-for-like: {:+.2}% over {comparable} stores; independent {:+.2}% over {their_stores}",
        ours * 100.0,
        theirs * 100.0
    );
    assert!((ours - theirs).abs() < 0.005, "{ours} vs {theirs}");
    assert!(
        comparable.abs_diff(their_stores) <= 10,
        "{comparable} vs {their_stores}"
    );
    assert!(
        changes.iter().all(|c| c.abs() < 1.0),
        "a store changes by more than 100 %"
    );

    // The real forecast window (test.csv) compares with 2014-06-21..08-01: the stores without
    // rows in July 2014 (180 of the chain) have no comparable last year.
    let Some(plan) = data.requests.as_ref() else {
        return Ok(());
    };
    let tl = Timeline::build(&data.history, Some(plan)).ok_or("empty")?;
    let origin = tl
        .day_index(data.history.date_range().ok_or("dates")?.1)
        .ok_or("day")?
        + 1;
    let july = NaiveDate::from_ymd_opt(2014, 7, 15).ok_or("date")?;
    let present: HashSet<u16> = (0..data.history.len())
        .map(|i| data.history.row(i))
        .filter(|r| r.date == july)
        .map(|r| r.store)
        .collect();
    let (mut gap_stores, mut comparable) = (0, 0);
    for (s, id) in tl.stores.iter().enumerate() {
        let days =
            (origin..tl.days).map(|d| (d, tl.plan(s, d as isize).open != OpenState::Closed, 1.0));
        let store = lfl::store_like_for_like(&tl, s, origin, days);
        if store.open_days == 0 {
            continue;
        }
        comparable += usize::from(store.comparable());
        if !present.contains(id) {
            gap_stores += 1;
            assert!(
                !store.comparable(),
                "store {id} has no July 2014 but is comparable"
            );
        }
    }
    eprintln!("forecast window: {comparable} comparable stores; {gap_stores} without July 2014, none comparable");
    assert!(gap_stores > 0, "the check has gap stores to look at");
    Ok(())
}
