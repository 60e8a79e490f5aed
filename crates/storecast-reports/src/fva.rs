//! The Forecast Value Added section of the business report.
//!
//! Why this module exists: a director deciding where planning effort goes needs the same
//! measure the app's FVA page shows, on the chain's own data: does the model beat the
//! naive stand-in (last year's same weekday) on the backtest's store-days, by store type and
//! by week of the horizon, and how sure is that; and do managers' overrides add value. The
//! data holds no manager estimates, so the second question is answered on the planted
//! managers of the synthetic chain (`storecast_plan::evidence`), stated as such. Figures come
//! from `storecast_plan::fva` (the library the app uses), so the report and the page agree.

use crate::tables::pct;
use storecast_charts::Section;
use storecast_model::backtest::{BacktestResult, Prediction};
use storecast_model::ModelKind;
use storecast_plan::evidence::Evidence;
use storecast_plan::fva::{self, Dimension, FvaRow, FvaTable, Interval, ScoredDay};

/// Seed of the section's bootstrap.
pub const SEED: u64 = 17;

/// The store-days of backtest fold `fold` (0: every fold) as FVA scores them: the naive step
/// is last year's same weekday, the model the model, and the plan the model (the data holds
/// no overrides). Days without a naive forecast (no last year) are left out.
pub fn backtest_days(bt: &BacktestResult, fold: usize) -> Vec<ScoredDay> {
    bt.predictions
        .iter()
        .filter(|p| {
            (fold == 0 || p.fold == fold) && p.actual > 0.0 && p.forecast(ModelKind::LastYear) > 0.0
        })
        .map(|p: &Prediction| ScoredDay {
            store: p.store,
            store_type: p.store_type.code().to_string(),
            date: p.date,
            horizon_week: u8::try_from(p.horizon_week()).unwrap_or(u8::MAX),
            actual: p.actual,
            naive: p.forecast(ModelKind::LastYear),
            model: p.model,
            plan: p.model,
            reason: None,
        })
        .collect()
}

/// FVA in WAPE points with its interval: "+4.1 pts (3.2 to 5.0)".
pub fn points(f: Interval) -> String {
    format!(
        "{:+.1} pts ({:+.1} to {:+.1})",
        f.value * 100.0,
        f.lo * 100.0,
        f.hi * 100.0
    )
}

fn model_rows(table: &FvaTable) -> Vec<Vec<String>> {
    table
        .rows
        .iter()
        .map(|r: &FvaRow| {
            vec![
                r.group.to_string(),
                r.days.to_string(),
                pct(r.naive.wape),
                pct(r.model.wape),
                points(r.fva_model),
            ]
        })
        .collect()
}

/// The section: the model's value over the naive stand-in on the last backtest fold (chain,
/// store type, horizon week) and the planted managers' overrides (by style and reason).
pub fn section(bt: &BacktestResult, evidence: Option<&Evidence>) -> Section {
    let last = bt.folds.len();
    let days = backtest_days(bt, last);
    let level = format!("{:.0}%", fva::INTERVAL_LEVEL * 100.0);
    let mut s = Section::new("fva", "Forecast Value Added: which planning step earns its keep")
        .para(format!(
            "FVA scores each step of planning on the same store-days once the actuals are known: the naive forecast (last year's same weekday, what a manager starts from without the model), the model, and the final plan with the managers' overrides. FVA = error of the step before − error of the step after, in WAPE points (euros wrong per 100 € sold); positive adds value. Intervals: {level}, bootstrap over store-weeks (a local event moves several days of a store together)."
        ));
    let chain = fva::table(&days, Dimension::Chain, SEED);
    if let Some(row) = chain.rows.first() {
        s = s.callout(format!(
            "On the most recent backtest fold ({} store-days), the model adds {} of WAPE over last year's same weekday: {} instead of {} euros wrong per euro sold.",
            row.days,
            points(row.fva_model),
            pct(row.model.wape),
            pct(row.naive.wape)
        ));
    }
    let headers = [
        "scope",
        "store-days",
        "WAPE naive",
        "WAPE model",
        "FVA of the model",
    ];
    let mut rows = model_rows(&chain);
    rows.extend(model_rows(&fva::table(&days, Dimension::StoreType, SEED)));
    s = s.table(&headers, rows);
    let by_week = fva::table(&days, Dimension::HorizonWeek, SEED);
    s = s
        .para("By week of the horizon: the model's lead over the naive forecast as it looks further ahead.")
        .table(&["week", "store-days", "WAPE naive", "WAPE model", "FVA of the model"], model_rows(&by_week));
    match evidence {
        Some(ev) => evidence_part(s, ev),
        None => s,
    }
}

fn evidence_part(s: Section, ev: &Evidence) -> Section {
    let styles: Vec<Vec<String>> = ev
        .by_style
        .iter()
        .map(|(style, r)| {
            vec![
                style.label().to_string(),
                r.days.to_string(),
                r.overridden.to_string(),
                pct(r.model.wape),
                pct(r.plan.wape),
                points(r.fva_plan),
            ]
        })
        .collect();
    let reasons: Vec<Vec<String>> = ev.table(Dimension::Reason).map_or(Vec::new(), |t| {
        t.rows
            .iter()
            .map(|r| {
                vec![
                    r.group.to_string(),
                    r.overridden.to_string(),
                    points(r.fva_plan),
                ]
            })
            .collect()
    });
    s.para(format!(
        "Overrides. The chain's data holds no manager estimates, so the method is shown on {} synthetic stores whose managers have planted, known behaviours: hands-off, noisy (random changes), informed (they know local events and roadworks the model cannot see) and biased (systematic +{:.0}%). FVA tells them apart:",
        ev.stores, ev.managers.biased_pct
    ))
    .table(&["manager style", "store-days", "overridden", "WAPE model", "WAPE plan", "FVA of the overrides"], styles)
    .table(&["reason of the override", "overridden days", "FVA of the overrides"], reasons)
    .callout("Recommendation: collect every override with its reason (the app's store view and bulk upload do), score FVA by reason and by store each month, keep the reasons whose interval lies above zero, and ask for evidence, or stop, those whose interval lies below it; the exception list flags the stores whose overrides made the plan worse.")
}
