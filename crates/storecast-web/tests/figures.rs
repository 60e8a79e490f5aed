//! Figures that add up and explanations that mean what they say: every total the app shows
//! (a store's week, its six weeks, a store type, the chain) equals the sum of the daily
//! forecasts it covers, on every page, API route and CSV file, to the cent; each explanation
//! starts from the store's own usual day, adds up to the forecast, and names an absent
//! promotion as such. Runs on the synthetic chain everywhere, and on the real chain (with a
//! quickly trained model) when the data is present.

mod common;

use common::{call, TestApp};
use serde_json::Value;
use std::collections::BTreeMap;
use storecast_data::ChainData;

const CENT: f64 = 0.005;

fn num(v: &Value) -> f64 {
    v.as_f64().expect("a number")
}

/// A figure as a page shows it ("861,486 €") in euros.
fn euros_shown(text: &str) -> i64 {
    let digits: String = text.chars().filter(|c| c.is_ascii_digit()).collect();
    let n: i64 = digits
        .parse()
        .unwrap_or_else(|_| panic!("no figure in {text:?}"));
    if text.contains('-') || text.contains('−') {
        -n
    } else {
        n
    }
}

/// The inner texts of the elements of `html` that open with `open` (up to the next `<`).
fn texts_after<'a>(html: &'a str, open: &str) -> Vec<&'a str> {
    html.match_indices(open)
        .map(|(i, _)| {
            let rest = &html[i + open.len()..];
            &rest[..rest.find('<').unwrap_or(rest.len())]
        })
        .collect()
}

async fn get(app: &TestApp, uri: &str) -> String {
    let (status, _, body) = call(app, "GET", uri, Some(&app.director), None).await;
    assert_eq!(status, 200, "{uri}: {body}");
    body
}

async fn json(app: &TestApp, uri: &str) -> Value {
    serde_json::from_str(&get(app, uri).await).expect("JSON")
}

/// A store's daily forecasts by date, from its forecast route, after checking the route's own
/// totals; returns (type code, days).
async fn store_days(app: &TestApp, id: u16) -> (String, BTreeMap<String, f64>) {
    let f = &json(app, &format!("/api/v1/stores/{id}/forecast")).await["forecast"];
    let days: BTreeMap<String, f64> = f["days"]
        .as_array()
        .expect("days")
        .iter()
        .map(|d| {
            (
                d["date"].as_str().expect("date").to_string(),
                num(&d["sales"]),
            )
        })
        .collect();
    let sum: f64 = days.values().sum();
    assert!((num(&f["total"]["point"]) - sum).abs() < CENT, "store {id}");
    for w in f["weeks"].as_array().expect("weeks") {
        let monday = chrono::NaiveDate::parse_from_str(w[0].as_str().expect("monday"), "%Y-%m-%d")
            .expect("date");
        let week: f64 = (0..7)
            .filter_map(|k| days.get(&(monday + chrono::Duration::days(k)).to_string()))
            .sum();
        assert!(
            (num(&w[1]["point"]) - week).abs() < CENT,
            "store {id} week {monday}"
        );
        let (lo, hi) = (num(&w[1]["lo80"]), num(&w[1]["hi80"]));
        assert!(lo <= week && week <= hi, "the band holds its total");
    }
    // The CSV export: its forecast column adds up to the same total.
    let csv = get(app, &format!("/api/v1/stores/{id}/forecast.csv")).await;
    let csv_sum: f64 = csv
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .nth(4)
                .expect("forecast column")
                .parse::<f64>()
                .expect("number")
        })
        .sum();
    assert!(
        (csv_sum - sum).abs() < CENT,
        "store {id} CSV {csv_sum} vs {sum}"
    );
    (f["store_type"].as_str().expect("type").to_string(), days)
}

/// The store page: headline, weekly totals and the daily column agree exactly (whole euros).
async fn store_page_adds_up(app: &TestApp, id: u16, days: &BTreeMap<String, f64>) {
    let html = get(app, &format!("/store/{id}")).await;
    let shown: Vec<i64> = texts_after(&html, "<td class=\"num forecast\">")
        .into_iter()
        .filter(|t| *t != "closed")
        .map(euros_shown)
        .collect();
    let total = days.values().sum::<f64>() as i64;
    assert_eq!(shown.iter().sum::<i64>(), total, "store {id}: days column");
    assert_eq!(
        euros_shown(texts_after(&html, "<b id=\"total\">")[0]),
        total
    );
    let weeks: i64 = html
        .split("<tr data-monday=")
        .skip(1)
        .map(|row| euros_shown(texts_after(row, "<td class=\"num\">")[0]))
        .sum();
    assert_eq!(weeks, total, "store {id}: weekly totals");
}

/// Checks every total of `app` against the sums of its daily forecasts; `pages` stores get
/// their page checked too.
async fn every_total_adds_up(app: &TestApp, pages: usize) {
    let list = json(app, "/api/v1/stores").await;
    let ids: Vec<u16> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["store"].as_u64().expect("id") as u16)
        .collect();
    let mut chain_days: BTreeMap<String, f64> = BTreeMap::new();
    let mut by_type: BTreeMap<String, f64> = BTreeMap::new();
    let mut listed = 0.0;
    let mut store_totals: BTreeMap<u16, f64> = BTreeMap::new();
    for (k, (id, row)) in ids.iter().zip(list.as_array().expect("list")).enumerate() {
        let (ty, days) = store_days(app, *id).await;
        let sum: f64 = days.values().sum();
        assert!(
            (num(&row["forecast_total"]) - sum).abs() < CENT,
            "list, store {id}"
        );
        listed += sum;
        store_totals.insert(*id, sum);
        *by_type.entry(format!("type {ty}")).or_default() += sum;
        for (d, v) in &days {
            *chain_days.entry(d.clone()).or_default() += v;
        }
        if k < pages {
            store_page_adds_up(app, *id, &days).await;
        }
    }
    let chain = json(app, "/api/v1/chain/forecast").await;
    let totals = chain["totals"].as_array().expect("totals");
    let chain_total = num(&totals[0]["total"]["point"]);
    assert!(
        (chain_total - listed).abs() < CENT,
        "chain {chain_total} vs stores {listed}"
    );
    for d in totals[0]["days"].as_array().expect("days") {
        let date = d[0].as_str().expect("date");
        assert!(
            (num(&d[1]["point"]) - chain_days[date]).abs() < CENT,
            "chain day {date}"
        );
    }
    for t in &totals[1..] {
        let scope = t["scope"].as_str().expect("scope");
        assert!(
            (num(&t["total"]["point"]) - by_type[scope]).abs() < CENT,
            "{scope}"
        );
    }
    // The store list page: each row's six-week figure is that store's sum of days.
    let page = get(app, "/stores").await;
    let mut rows = 0;
    for row in page.split("<tr><td><a href=\"/store/").skip(1) {
        let id: u16 = row[..row.find('"').expect("id end")]
            .parse()
            .expect("store id");
        let shown = euros_shown(texts_after(row, "<td class=\"num\">")[0]);
        assert_eq!(shown, store_totals[&id] as i64, "/stores, store {id}");
        rows += 1;
    }
    assert!(rows > 0, "the store list shows stores");
    // The chain view: the headline and the store-type table show the same sums.
    let html = get(app, "/").await;
    let headline = euros_shown(texts_after(&html, "<b id=\"chain-six-week\">")[0]);
    assert_eq!(headline, listed.round() as i64);
    let types_table = &html[html.find("<table id=\"types\">").expect("types table")..];
    let types_table = &types_table[..types_table.find("</table>").expect("table end")];
    let rows: Vec<i64> = types_table
        .split("<tr><td>")
        .skip(1)
        .map(|row| euros_shown(texts_after(row, "<td class=\"num\">")[0]))
        .collect();
    assert_eq!(rows[0], headline, "the chain row of the type table");
    assert_eq!(
        rows[1..].iter().sum::<i64>(),
        headline,
        "store types add up"
    );
    println!(
        "{} stores: chain six-week total {:.0} € = sum of the stores' daily forecasts",
        ids.len(),
        chain_total
    );
}

/// The explanations of every open day of `stores`, through the API: the usual day is the
/// chain's average day plus its steps and differs between stores, the drivers take it to the
/// forecast (1e-6), and a day without promotion says so.
async fn explanations_read_right(app: &TestApp, stores: &[u16]) {
    let mut usual_days = Vec::new();
    let mut absent = 0;
    for id in stores {
        let f = &json(app, &format!("/api/v1/stores/{id}/forecast")).await["forecast"];
        for d in f["days"].as_array().expect("days") {
            if d["open"] != Value::Bool(true) {
                continue;
            }
            let date = d["date"].as_str().expect("date");
            let e = json(app, &format!("/api/v1/stores/{id}/explain?date={date}")).await;
            let sum = |k: &str| -> f64 {
                e[k].as_array()
                    .expect(k)
                    .iter()
                    .map(|x| num(&x["euro"]))
                    .sum()
            };
            let (chain, usual, forecast) = (
                num(&e["chain_baseline"]),
                num(&e["baseline"]),
                num(&e["forecast"]),
            );
            assert!(
                (chain + sum("usual_day") - usual).abs() < 1e-6 * usual,
                "{id} {date}"
            );
            assert!(
                (usual + sum("drivers") - forecast).abs() < 1e-6 * forecast,
                "{id} {date}"
            );
            assert_eq!(
                forecast.round(),
                num(&d["sales"]),
                "{id} {date}: the day shown"
            );
            let promo = e["drivers"]
                .as_array()
                .expect("drivers")
                .iter()
                .find(|x| x["driver"] == "promotion")
                .expect("promotion driver");
            let off = d["promo"] == Value::Bool(false);
            assert_eq!(promo["presence"] == "absent", off, "{id} {date}");
            if off {
                assert!(promo["label"]
                    .as_str()
                    .expect("label")
                    .starts_with("no promotion this day"));
                absent += 1;
            }
            usual_days.push((chain, usual));
        }
    }
    assert!(absent > 0, "days without promotion were checked");
    let chain = usual_days[0].0;
    assert!(
        usual_days.iter().all(|(c, _)| (c - chain).abs() < 1e-9),
        "one chain average"
    );
    let (lo, hi) = usual_days
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), (_, u)| {
            (lo.min(*u), hi.max(*u))
        });
    assert!(
        hi > 1.5 * lo,
        "usual days differ between stores and weekdays: {lo}..{hi}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_total_is_the_sum_of_its_days_on_a_synthetic_chain() {
    let app = common::app();
    every_total_adds_up(&app, usize::MAX).await;
    explanations_read_right(&app, &[1, 2, 3]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_total_is_the_sum_of_its_days_on_the_real_chain() {
    let Some(dir) = storecast_data::real_data_dir() else {
        eprintln!("SKIPPED: real data not found (set STORECAST_DATA); the synthetic twin ran");
        return;
    };
    let chain = ChainData::load_dir(&dir)
        .expect("loads")
        .into_strict()
        .expect("clean");
    let mut cfg = storecast_model::backtest::BacktestConfig {
        folds: 1,
        same_season: false,
        ..Default::default()
    };
    // A quick model: this test is about arithmetic, not accuracy.
    cfg.params.num_trees = 60;
    cfg.params.learning_rate = 0.2;
    let artifact = storecast_model::training::train(&chain, &cfg, &mut |_| {})
        .expect("trains")
        .artifact;
    let app = common::app_with(chain, artifact);
    every_total_adds_up(&app, 25).await;
    explanations_read_right(&app, &[1, 262, 1115]).await;
}
