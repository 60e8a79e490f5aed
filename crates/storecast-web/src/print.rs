//! The printable plan of a store: the next six weeks as a calendar on one A4 page, as a page
//! the browser prints (`GET /store/{id}/print`) and as a PDF (`GET /store/{id}/plan.pdf`)
//! printed by the report path's headless Chromium.
//!
//! Why this module exists: a store manager pins the six weeks to the back-office wall and
//! plans staff from it; the screen's 42-row table does not print. The week facts (open days,
//! promotion days, holidays) are computed here once for the sheet and the store view's
//! weekly table.

use crate::auth::Caller;
use crate::error::AppError;
use crate::pages::render;
use crate::plan::{build_plan, in_force};
use crate::state::{AppState, ModelState, StoreForecast};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::Extension;
use chrono::{Datelike, Duration, NaiveDate};
use minijinja::{context, Value};
use std::collections::BTreeMap;

/// The stylesheet of the printed plan (A4 portrait), served as `/assets/print.css` and
/// inlined into the PDF's page.
pub const PRINT_CSS: &str = include_str!("../assets/print.css");

/// What a week holds beyond its figures: the days it covers, open, on promotion, holidays.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeekFacts {
    /// Forecast days in the week (fewer than 7 at either end of the horizon).
    pub days: usize,
    /// Planned open days.
    pub open: usize,
    /// Promotion days among the open ones.
    pub promo: usize,
    /// Public holidays.
    pub public_holidays: usize,
    /// School holiday days.
    pub school_holidays: usize,
}

impl WeekFacts {
    /// The facts in words ("6 open · 5 promo · 2 school holiday").
    pub fn text(&self) -> String {
        let mut parts = vec![format!("{} open", self.open)];
        if self.promo > 0 {
            parts.push(format!("{} promo", self.promo));
        }
        if self.public_holidays > 0 {
            parts.push(format!("{} public holiday", self.public_holidays));
        }
        if self.school_holidays > 0 {
            parts.push(format!("{} school holiday", self.school_holidays));
        }
        parts.join(" · ")
    }
}

/// The Monday of `date`'s calendar week.
pub fn monday_of(date: NaiveDate) -> NaiveDate {
    date - Duration::days(i64::from(date.weekday().num_days_from_monday()))
}

/// A day's holidays as the store's calendar holds them: (public holiday code, school holiday).
pub(crate) fn holidays(
    m: &ModelState,
    store: u16,
    date: NaiveDate,
) -> (Option<&'static str>, bool) {
    let tl = &m.scenario.tl;
    let (Some(s), Some(di)) = (tl.store_index(store), tl.day_index(date)) else {
        return (None, false);
    };
    let p = tl.plan(s, di as isize);
    (
        p.state_holiday.is_holiday().then(|| p.state_holiday.code()),
        p.school_holiday,
    )
}

/// The facts of each calendar week of `f`'s forecast, by Monday.
pub fn week_facts(m: &ModelState, f: &StoreForecast) -> BTreeMap<NaiveDate, WeekFacts> {
    let mut out: BTreeMap<NaiveDate, WeekFacts> = BTreeMap::new();
    for d in &f.days {
        let w = out.entry(monday_of(d.date)).or_default();
        let (public, school) = holidays(m, f.store, d.date);
        w.days += 1;
        w.open += usize::from(d.open);
        w.promo += usize::from(d.open && d.promo);
        w.public_holidays += usize::from(public.is_some());
        w.school_holidays += usize::from(school);
    }
    out
}

/// The sheet's context: the store, its totals, and a calendar of weeks × weekdays.
fn sheet(st: &AppState, m: &ModelState, f: &StoreForecast) -> Result<Value, AppError> {
    let n = st.numbers;
    let records = in_force(st, f.store)?;
    let plan = build_plan(m, f, &records)?;
    let by_date: BTreeMap<NaiveDate, usize> = f
        .days
        .iter()
        .enumerate()
        .map(|(i, d)| (d.date, i))
        .collect();
    let facts = week_facts(m, f);
    let weeks: Vec<Value> = f
        .weeks
        .iter()
        .map(|(monday, total)| {
            let cells: Vec<Value> = (0..7)
                .map(|k| {
                    let date = *monday + Duration::days(k);
                    let Some(&i) = by_date.get(&date) else {
                        return context! { date => date.format("%d %b").to_string(), out => true };
                    };
                    let (d, p) = (&f.days[i], plan.days.get(i));
                    let (public, school) = holidays(m, f.store, date);
                    let changed = p.is_some_and(|p| p.over.is_some());
                    context! {
                        date => date.format("%d %b").to_string(), open => d.open, promo => d.open && d.promo,
                        figure => if d.open { n.eur(p.map_or(d.sales, |p| p.plan)) } else { "closed".into() },
                        band => if d.open { n.eur_range(d.interval.lo80, d.interval.hi80) } else { String::new() },
                        changed => changed, public => public.map(String::from), school => school,
                    }
                })
                .collect();
            let week_plan = plan.weeks.iter().find(|w| w.monday == *monday);
            let fact = facts.get(monday).cloned().unwrap_or_default();
            context! {
                monday => monday.to_string(), cells => cells, total => n.eur(total.point),
                band => n.eur_range(total.lo80, total.hi80),
                plan => week_plan.map(|w| n.eur(w.plan)), plan_changed => week_plan.is_some_and(|w| (w.plan - w.model).abs() >= 0.5),
                facts => fact.text(), partial => (fact.days < 7).then(|| format!("{} of 7 days", fact.days)),
            }
        })
        .collect();
    Ok(context! {
        store => f.store, store_type => f.store_type.clone(), assortment => f.assortment.clone(),
        first => f.days.first().map(|d| d.date.to_string()), last => f.days.last().map(|d| d.date.to_string()),
        total => n.eur(f.total.point), band => n.eur_range(f.total.lo80, f.total.hi80),
        change => crate::pages::pct(n, f.change_vs_last_year()),
        plan_total => n.eur(plan.plan_total), overridden => plan.overridden_days,
        model_version => m.artifact().model_version.clone(),
        printed => chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        weeks => weeks, locale => n.locale.tag(),
    })
}

/// `GET /store/{id}/print`: the plan as a page made for printing (the browser's print).
pub async fn print_page(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Html<String>, AppError> {
    let (m, f) = crate::api::store_of(&st, &caller, &id)?;
    render(
        "print.html",
        crate::pages::merge(
            sheet(&st, &m, &f)?,
            context! { inline_css => Value::from(()) },
        ),
    )
}

/// `GET /store/{id}/plan.pdf`: the same sheet printed to an A4 PDF by headless Chromium
/// (on the pool of heavy work: a busy server answers 503 at once).
pub async fn plan_pdf(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (m, f) = crate::api::store_of(&st, &caller, &id)?;
    let id = f.store;
    let ctx = crate::pages::merge(
        sheet(&st, &m, &f)?,
        context! { inline_css => Value::from_safe_string(PRINT_CSS.to_string()) },
    );
    let html = render("print.html", ctx)?.0;
    let pdf = st
        .heavy
        .run(move || -> Result<Vec<u8>, AppError> {
            let dir =
                tempfile::tempdir().map_err(|e| AppError::Internal(format!("temp dir: {e}")))?;
            let (page, pdf) = (dir.path().join("plan.html"), dir.path().join("plan.pdf"));
            std::fs::write(&page, html)
                .map_err(|e| AppError::Internal(format!("writing the sheet: {e}")))?;
            storecast_pipeline::reports::print_pdf(&page, &pdf)
                .map_err(|e| AppError::Internal(format!("printing the plan: {e}")))?;
            std::fs::read(&pdf).map_err(|e| AppError::Internal(format!("reading the PDF: {e}")))
        })
        .await??;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"store-{id}-plan.pdf\""),
            ),
        ],
        pdf,
    )
        .into_response())
}
