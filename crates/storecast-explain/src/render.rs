//! Explanations and what-ifs as terminal text: the waterfall in euros from the chain's average
//! day to the forecast, and a what-if's days and drivers that moved.
//!
//! Why here: the text belongs to the types it shows (as the validation report's does), so the
//! CLI only prints it and any other text caller (a scheduled mail, a test) shows the same.

use crate::{Explanation, PlanChange, WhatIf};
use chrono::NaiveDate;
use std::fmt::Write;

/// Width of the longest bar of the waterfall, in characters.
const BAR_WIDTH: f64 = 60.0;

/// One store-day's explanation: the usual day, then the drivers by size, then the features.
pub fn explanation_text(e: &Explanation, store: u16, date: NaiveDate) -> String {
    let mut s = String::new();
    let day = date.format("%A");
    let bar =
        |euro: f64| "█".repeat(((euro.abs() / e.forecast.max(1.0)) * BAR_WIDTH).round() as usize);
    let _ = writeln!(
        s,
        "Store {store}, {day} {date}: forecast {:.0} €",
        e.forecast
    );
    let _ = writeln!(
        s,
        "  {:<44} {:>10.0} €",
        "the chain's average day", e.chain_baseline
    );
    for dr in &e.usual_day {
        let _ = writeln!(s, "    {:<42} {:>+10.0} €", dr.label, dr.euro);
    }
    let usual = format!("= a usual {day} for store {store} in this season");
    let _ = writeln!(
        s,
        "  {usual:<44} {:>10.0} €   (the waterfall starts here)",
        e.baseline
    );
    let mut running = e.baseline;
    let mut drivers: Vec<_> = e.drivers.iter().collect();
    drivers.sort_by(|a, b| b.euro.abs().total_cmp(&a.euro.abs()));
    for dr in drivers {
        running += dr.euro;
        let _ = writeln!(
            s,
            "  {:<44} {:>+10.0} €   {}",
            dr.label,
            dr.euro,
            bar(dr.euro)
        );
    }
    let _ = writeln!(s, "  {:<44} {:>10.0} €", "= forecast", running);
    let _ = writeln!(s, "  top features (log contribution):");
    for (name, value, c) in e.features.iter().take(8) {
        let _ = writeln!(s, "    {name:<26} = {value:<10.3} {c:+.4}");
    }
    s
}

/// A what-if: the days changed or moved, the six-week change, and the drivers that moved.
pub fn whatif_text(w: &WhatIf, from: NaiveDate, to: NaiveDate, change: &PlanChange) -> String {
    let mut s = String::new();
    let yes = |b: bool| if b { "yes" } else { "no" };
    let _ = writeln!(s, "Store {}, {from}..{to}: {change}", w.store);
    let _ = writeln!(
        s,
        "{:<12} {:>6} {:>6} {:>10} {:>10} {:>9}",
        "date", "open", "promo", "before €", "after €", "change"
    );
    for (b, a) in w.before.iter().zip(&w.after) {
        if b.sales != a.sales || (b.date >= from && b.date <= to) {
            let _ = writeln!(
                s,
                "{:<12} {:>6} {:>6} {:>10.0} {:>10.0} {:>+9.0}",
                b.date,
                yes(a.open),
                yes(a.promo),
                b.sales,
                a.sales,
                a.sales - b.sales
            );
        }
    }
    let pct = w.delta_pct * 100.0;
    let _ = writeln!(s, "six-week total: {:+.0} € ({pct:+.1}%)", w.delta_eur);
    for (d, v) in w.driver_deltas.iter().filter(|(_, v)| v.abs() >= 0.5) {
        let _ = writeln!(s, "  {:<18} {:>+10.0} €", d.label(), v);
    }
    s
}

#[cfg(test)]
mod tests {
    use crate::PlanChange;
    use storecast_data::StateHoliday;

    #[test]
    fn a_plan_change_reads_as_words_not_debug_output() {
        // Issue 30, item 9: the CLI printed `PlanChange { promo: Some(false), … }`.
        let change = PlanChange {
            promo: Some(false),
            open: Some(true),
            school_holiday: Some(true),
            state_holiday: StateHoliday::from_code("a"),
        };
        assert_eq!(
            change.to_string(),
            "promotion off, open, school holiday on, public holiday a"
        );
        assert_eq!(PlanChange::default().to_string(), "no change");
    }
}
