//! A manager's override of the forecast: what may be entered, and the plan it gives.
//!
//! Why this module exists: an override is a business record (who changed the plan, why, and
//! by how much), so its rules live in one place and the API, the page and the bulk upload all
//! go through them: a day of the horizon only (a past day is history, not a plan), an open
//! day, a reason from the short list ("other" needs words), and a plausible result. A week's
//! entry is spread over its open days in proportion to the model's forecast, so the week's
//! shape (Saturday busier than Tuesday) survives. An adjustment is kept as entered (an
//! estimate, or a change in € or %), so when a new model is served a change is re-applied to
//! the new forecast while an estimate stays the manager's number.

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Why a manager changed the plan (the short list of the store view and the upload).
#[derive(
    utoipa::ToSchema,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A local event the model cannot see (street festival, fair, concert).
    LocalEvent,
    /// Roadworks or closed access.
    Roadworks,
    /// Too few staff to serve the usual demand.
    Staffing,
    /// Goods missing on the shelf.
    StockOut,
    /// A competitor opens, closes or runs a campaign.
    CompetitorAction,
    /// Anything else, described in the note.
    Other,
}

impl Reason {
    /// Every reason, in the order of the list shown to managers.
    pub const ALL: [Reason; 6] = [
        Reason::LocalEvent,
        Reason::Roadworks,
        Reason::Staffing,
        Reason::StockOut,
        Reason::CompetitorAction,
        Reason::Other,
    ];
    /// The stored and typed name (`local_event`, ...).
    pub fn code(self) -> &'static str {
        match self {
            Reason::LocalEvent => "local_event",
            Reason::Roadworks => "roadworks",
            Reason::Staffing => "staffing",
            Reason::StockOut => "stock_out",
            Reason::CompetitorAction => "competitor_action",
            Reason::Other => "other",
        }
    }
    /// The words shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Reason::LocalEvent => "local event",
            Reason::Roadworks => "roadworks",
            Reason::Staffing => "staffing",
            Reason::StockOut => "stock-out",
            Reason::CompetitorAction => "competitor action",
            Reason::Other => "other",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Reason {
    type Err = OverrideError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Reason::ALL
            .into_iter()
            .find(|r| r.code() == t)
            .ok_or_else(|| OverrideError::UnknownReason(s.to_string()))
    }
}

/// How an override's value is meant.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentKind {
    /// The manager's own estimate of the day's sales (€), replacing the model's.
    Estimate,
    /// A change of the model's forecast in € (+/−).
    DeltaEur,
    /// A change of the model's forecast in % (+/−; 10 means +10 %).
    DeltaPct,
}

impl AdjustmentKind {
    /// Every kind.
    pub const ALL: [AdjustmentKind; 3] = [
        AdjustmentKind::Estimate,
        AdjustmentKind::DeltaEur,
        AdjustmentKind::DeltaPct,
    ];
    /// The stored and typed name.
    pub fn code(self) -> &'static str {
        match self {
            AdjustmentKind::Estimate => "estimate",
            AdjustmentKind::DeltaEur => "delta_eur",
            AdjustmentKind::DeltaPct => "delta_pct",
        }
    }
}

impl fmt::Display for AdjustmentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for AdjustmentKind {
    type Err = OverrideError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        AdjustmentKind::ALL
            .into_iter()
            .find(|k| k.code() == t)
            .ok_or_else(|| OverrideError::UnknownKind(s.to_string()))
    }
}

/// The largest daily plan accepted (€): far above any store-day of the chain (the real data's
/// maximum is 41,551 €), so only a typing error (an extra zero, a pasted total) is refused.
pub const MAX_DAILY_PLAN: f64 = 200_000.0;
/// The largest change in % accepted (+300 %: four times the forecast).
pub const MAX_DELTA_PCT: f64 = 300.0;
/// The longest note kept.
pub const MAX_NOTE: usize = 500;

/// An estimate or a change, as entered.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Adjustment {
    /// How `value` is meant.
    pub kind: AdjustmentKind,
    /// The number entered.
    pub value: f64,
}

impl Adjustment {
    /// The plan for a day whose model forecast is `model`: whole euros like the forecast (so
    /// a plan's weeks and total are exact sums of its days), never below zero.
    pub fn apply(&self, model: f64) -> f64 {
        let v = match self.kind {
            AdjustmentKind::Estimate => self.value,
            AdjustmentKind::DeltaEur => model + self.value,
            AdjustmentKind::DeltaPct => model * (1.0 + self.value / 100.0),
        };
        v.max(0.0).round()
    }

    /// Checks the number itself (finite, in range), before any day is known.
    pub fn validate(&self) -> Result<(), OverrideError> {
        let v = self.value;
        let ok = v.is_finite()
            && match self.kind {
                AdjustmentKind::Estimate => (0.0..=MAX_DAILY_PLAN * 7.0).contains(&v),
                AdjustmentKind::DeltaEur => v.abs() <= MAX_DAILY_PLAN * 7.0,
                AdjustmentKind::DeltaPct => (-100.0..=MAX_DELTA_PCT).contains(&v),
            };
        if ok {
            Ok(())
        } else {
            Err(OverrideError::OutOfRange(*self))
        }
    }
}

/// The days a manager may change: the served forecast's horizon. A day before `first` is
/// past (its actuals are, or are about to be, known); one after `last` has no forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Horizon {
    /// First forecast day ("today" of the plan: the day after the last actuals).
    pub first: NaiveDate,
    /// Last forecast day.
    pub last: NaiveDate,
}

impl Horizon {
    /// Whether `date` may still be changed.
    pub fn check(&self, date: NaiveDate) -> Result<(), OverrideError> {
        if date < self.first {
            Err(OverrideError::Past {
                date,
                first: self.first,
            })
        } else if date > self.last {
            Err(OverrideError::BeyondHorizon {
                date,
                last: self.last,
            })
        } else {
            Ok(())
        }
    }
}

/// What an override covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "scope", content = "date")]
pub enum Target {
    /// One day.
    Day(NaiveDate),
    /// The week starting on this Monday (its open days inside the horizon).
    Week(NaiveDate),
}

/// An override as entered (one day or one week of one store).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverrideInput {
    /// Store id.
    pub store: u16,
    /// The day or the week.
    pub target: Target,
    /// The estimate or change.
    pub adjustment: Adjustment,
    /// Why.
    pub reason: Reason,
    /// Free text (required for [`Reason::Other`]).
    #[serde(default)]
    pub note: String,
}

/// One day of the model's forecast, as an override sees it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ModelDay {
    /// Date.
    pub date: NaiveDate,
    /// Planned open.
    pub open: bool,
    /// Point forecast (€).
    pub forecast: f64,
    /// Lower 95 % bound.
    pub lo95: f64,
    /// Upper 95 % bound.
    pub hi95: f64,
}

/// One day of an accepted override: the adjustment that applies to that day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayOverride {
    /// Store id.
    pub store: u16,
    /// Date.
    pub date: NaiveDate,
    /// The day's share of the entry.
    pub adjustment: Adjustment,
    /// Why.
    pub reason: Reason,
    /// Note.
    pub note: String,
    /// The model forecast it replaces (€).
    pub model: f64,
    /// The plan it gives (€).
    pub plan: f64,
}

impl OverrideInput {
    /// Checks the entry against the horizon and the store's model days, and splits it into
    /// the days it changes. Nothing is accepted unless every day is.
    pub fn expand(
        &self,
        horizon: &Horizon,
        model: &[ModelDay],
    ) -> Result<Vec<DayOverride>, OverrideError> {
        self.adjustment.validate()?;
        let note = self.note.trim();
        if self.reason == Reason::Other && note.is_empty() {
            return Err(OverrideError::NoteRequired);
        }
        if note.chars().count() > MAX_NOTE {
            return Err(OverrideError::NoteTooLong);
        }
        let days: Vec<&ModelDay> = match self.target {
            Target::Day(date) => {
                horizon.check(date)?;
                let d = model
                    .iter()
                    .find(|d| d.date == date)
                    .ok_or(OverrideError::NoForecast(date))?;
                if !d.open {
                    return Err(OverrideError::Closed(date));
                }
                vec![d]
            }
            Target::Week(monday) => week_days(monday, horizon, model)?,
        };
        let shares = split(self.adjustment, &days);
        let out: Vec<DayOverride> = days
            .iter()
            .zip(shares)
            .map(|(d, adjustment)| DayOverride {
                store: self.store,
                date: d.date,
                adjustment,
                reason: self.reason,
                note: note.to_string(),
                model: d.forecast,
                plan: adjustment.apply(d.forecast),
            })
            .collect();
        if let Some(d) = out.iter().find(|d| d.plan > MAX_DAILY_PLAN) {
            return Err(OverrideError::Implausible {
                date: d.date,
                plan: d.plan,
            });
        }
        Ok(out)
    }
}

/// The open days of the week from `monday` that are inside the horizon.
fn week_days<'a>(
    monday: NaiveDate,
    horizon: &Horizon,
    model: &'a [ModelDay],
) -> Result<Vec<&'a ModelDay>, OverrideError> {
    if monday.weekday() != chrono::Weekday::Mon {
        return Err(OverrideError::NotMonday(monday));
    }
    let sunday = monday + Duration::days(6);
    if sunday < horizon.first {
        return Err(OverrideError::Past {
            date: sunday,
            first: horizon.first,
        });
    }
    let days: Vec<&ModelDay> = model
        .iter()
        .filter(|d| d.date >= monday && d.date <= sunday && d.open)
        .filter(|d| horizon.check(d.date).is_ok())
        .collect();
    if days.is_empty() {
        return Err(OverrideError::NoOpenDay(monday));
    }
    Ok(days)
}

/// Splits a week's entry over its days: an estimate or a € change in proportion to the
/// model's forecast (equal shares when the model has nothing), a % change on every day.
fn split(adj: Adjustment, days: &[&ModelDay]) -> Vec<Adjustment> {
    if days.len() == 1 || adj.kind == AdjustmentKind::DeltaPct {
        return vec![adj; days.len()];
    }
    let total: f64 = days.iter().map(|d| d.forecast.max(0.0)).sum();
    let mut parts: Vec<f64> = days
        .iter()
        .map(|d| {
            let share = if total > 0.0 {
                d.forecast.max(0.0) / total
            } else {
                1.0 / days.len() as f64
            };
            (adj.value * share).round()
        })
        .collect();
    // Whole euros that add up to the amount entered: the rounding residue goes to the day
    // with the largest forecast.
    let residue = adj.value.round() - parts.iter().sum::<f64>();
    if let Some(i) = (0..days.len()).max_by(|&a, &b| days[a].forecast.total_cmp(&days[b].forecast))
    {
        parts[i] += residue;
    }
    parts
        .into_iter()
        .map(|value| Adjustment {
            kind: adj.kind,
            value,
        })
        .collect()
}

/// One day of the plan: the model, the override in force (if any), and the result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanDay {
    /// The model's day.
    #[serde(flatten)]
    pub model: ModelDay,
    /// The override in force.
    pub adjustment: Option<Adjustment>,
    /// Its reason.
    pub reason: Option<Reason>,
    /// The plan the store works to (€; the model's forecast without an override, 0 closed).
    pub plan: f64,
    /// The plan lies outside the model's 95 % band.
    pub outside95: bool,
}

/// The plan of a store: each model day with the override in force applied (re-applied to the
/// current forecast, so a change in % follows a new model).
pub fn plan(model: &[ModelDay], in_force: &[(NaiveDate, Adjustment, Reason)]) -> Vec<PlanDay> {
    model
        .iter()
        .map(|d| {
            let o = in_force.iter().find(|o| o.0 == d.date).filter(|_| d.open);
            let plan = match o {
                Some((_, a, _)) => a.apply(d.forecast),
                None if d.open => d.forecast,
                None => 0.0,
            };
            PlanDay {
                model: *d,
                adjustment: o.map(|o| o.1),
                reason: o.map(|o| o.2),
                plan,
                outside95: o.is_some() && (plan < d.lo95 || plan > d.hi95),
            }
        })
        .collect()
}

/// Why an override was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OverrideError {
    /// The day is before the horizon.
    #[error("{date} is past: overrides are for days from {first} on")]
    Past {
        /// The day.
        date: NaiveDate,
        /// First day of the horizon.
        first: NaiveDate,
    },
    /// The day is after the horizon.
    #[error("{date} is beyond the forecast, which ends on {last}")]
    BeyondHorizon {
        /// The day.
        date: NaiveDate,
        /// Last day of the horizon.
        last: NaiveDate,
    },
    /// No forecast for that day.
    #[error("there is no forecast for {0}")]
    NoForecast(NaiveDate),
    /// The store is planned closed.
    #[error("the store is planned closed on {0}; change the opening with the what-if first")]
    Closed(NaiveDate),
    /// A week must start on Monday.
    #[error("a week starts on a Monday; {0} is a {w}", w = .0.weekday())]
    NotMonday(NaiveDate),
    /// The week has no open day in the horizon.
    #[error("the week from {0} has no open day left in the forecast")]
    NoOpenDay(NaiveDate),
    /// The number is out of range.
    #[error("{} {} is out of range (estimate 0 to {max} €, change in % from -100 to {MAX_DELTA_PCT})", .0.kind, .0.value, max = MAX_DAILY_PLAN * 7.0)]
    OutOfRange(Adjustment),
    /// The result is not a plausible day.
    #[error("the plan for {date} would be {plan:.0} €, above the {MAX_DAILY_PLAN} € a day any store can sell")]
    Implausible {
        /// The day.
        date: NaiveDate,
        /// The plan it would give.
        plan: f64,
    },
    /// "Other" without words.
    #[error("the reason \"other\" needs a note saying what it is")]
    NoteRequired,
    /// A note longer than [`MAX_NOTE`].
    #[error("the note is longer than {MAX_NOTE} characters")]
    NoteTooLong,
    /// Unknown reason name.
    #[error("unknown reason {0:?} (local_event, roadworks, staffing, stock_out, competitor_action, other)")]
    UnknownReason(String),
    /// Unknown kind name.
    #[error("unknown kind {0:?} (estimate, delta_eur, delta_pct)")]
    UnknownKind(String),
}

/// A refused row of a bulk upload: where, and why.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct CsvRowError {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    /// Column name.
    pub column: String,
    /// What is wrong.
    pub message: String,
}

/// The header of a bulk override upload.
pub const CSV_HEADER: [&str; 6] = ["store", "date", "kind", "value", "reason", "note"];

/// Parses a bulk upload (`store,date,kind,value,reason,note`, one day per line). Every bad
/// cell is reported with its line and column; rows are only returned when none is bad.
pub fn parse_csv(bytes: &[u8]) -> Result<Vec<OverrideInput>, Vec<CsvRowError>> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(bytes);
    let err = |line: u64, column: &str, message: String| CsvRowError {
        line,
        column: column.to_string(),
        message,
    };
    match rdr.headers() {
        Ok(h) if h.iter().eq(CSV_HEADER.iter().copied()) => {}
        Ok(h) => {
            return Err(vec![err(
                1,
                "header",
                format!(
                    "expected {:?}, found {:?}",
                    CSV_HEADER.join(","),
                    h.iter().collect::<Vec<_>>().join(",")
                ),
            )])
        }
        Err(e) => return Err(vec![err(1, "header", e.to_string())]),
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(err(line, "row", e.to_string()));
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| p.line());
        match parse_row(&rec) {
            Ok(r) => rows.push(r),
            Err((col, msg)) => errors.push(err(line, col, msg)),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// Writes `days` in the bulk upload's format, one line per day (the file the planted managers
/// of the synthetic chain deliver, and what [`parse_csv`] reads back).
pub fn write_csv(days: &[DayOverride]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_HEADER)?;
    for d in days {
        w.write_record([
            d.store.to_string(),
            d.date.to_string(),
            d.adjustment.kind.code().to_string(),
            d.adjustment.value.to_string(),
            d.reason.code().to_string(),
            d.note.clone(),
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// The days of an entry whose plan lies outside the model's 95 % band: the entry is kept only
/// when the manager confirms it, and the director sees it on the exception list.
pub fn outside_band(days: &[DayOverride], model: &[ModelDay]) -> Vec<DayOverride> {
    days.iter()
        .filter(|d| {
            model
                .iter()
                .find(|m| m.date == d.date)
                .is_some_and(|m| d.plan < m.lo95 || d.plan > m.hi95)
        })
        .cloned()
        .collect()
}

fn parse_row(rec: &csv::StringRecord) -> Result<OverrideInput, (&'static str, String)> {
    let cell = |i: usize| rec.get(i).unwrap_or("");
    let store = cell(0)
        .parse::<u16>()
        .ok()
        .filter(|s| *s > 0)
        .ok_or(("store", format!("{:?} is not a store id", cell(0))))?;
    let date = NaiveDate::parse_from_str(cell(1), "%Y-%m-%d")
        .map_err(|_| ("date", format!("{:?} is not a date (YYYY-MM-DD)", cell(1))))?;
    let kind: AdjustmentKind = cell(2)
        .parse()
        .map_err(|e: OverrideError| ("kind", e.to_string()))?;
    let value = cell(3)
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or(("value", format!("{:?} is not a number", cell(3))))?;
    let reason: Reason = cell(4)
        .parse()
        .map_err(|e: OverrideError| ("reason", e.to_string()))?;
    Ok(OverrideInput {
        store,
        target: Target::Day(date),
        adjustment: Adjustment { kind, value },
        reason,
        note: cell(5).to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }
    fn model() -> Vec<ModelDay> {
        // Sat 2015-06-20 .. Sun 2015-06-28; Sundays closed.
        (0..9)
            .map(|i| {
                let date = d("2015-06-20") + Duration::days(i);
                let open = date.weekday() != chrono::Weekday::Sun;
                ModelDay {
                    date,
                    open,
                    forecast: if open { 1000.0 + 100.0 * i as f64 } else { 0.0 },
                    lo95: 700.0,
                    hi95: 1600.0,
                }
            })
            .collect()
    }
    #[test]
    fn written_overrides_read_back_and_the_band_is_judged_per_day() {
        let m = model();
        let week = input(
            Target::Week(d("2015-06-22")),
            AdjustmentKind::DeltaPct,
            40.0,
        )
        .expand(&H(), &m)
        .expect("a week");
        let bytes = write_csv(&week).expect("csv");
        let back = parse_csv(&bytes).expect("reads back");
        assert_eq!(back.len(), week.len());
        assert!(back
            .iter()
            .zip(&week)
            .all(|(b, w)| b.target == Target::Day(w.date)
                && b.adjustment == w.adjustment
                && b.reason == w.reason));
        // +40 % of 1200..1700 is 1680..2380: every day from 1,143 € of forecast up leaves the
        // band's 1,600 € top.
        let out = outside_band(&week, &m);
        assert!(!out.is_empty() && out.len() < week.len() + 1);
        assert!(out.iter().all(|o| o.plan > 1600.0));
        assert!(week
            .iter()
            .filter(|w| !out.contains(w))
            .all(|w| w.plan <= 1600.0));
    }

    const H: fn() -> Horizon = || Horizon {
        first: d("2015-06-20"),
        last: d("2015-06-28"),
    };
    fn input(target: Target, kind: AdjustmentKind, value: f64) -> OverrideInput {
        OverrideInput {
            store: 7,
            target,
            adjustment: Adjustment { kind, value },
            reason: Reason::LocalEvent,
            note: String::new(),
        }
    }

    #[test]
    fn each_kind_gives_the_hand_computed_plan() {
        let m = model();
        let day = Target::Day(d("2015-06-22")); // forecast 1200
        let plan = |k, v| input(day, k, v).expand(&H(), &m).expect("ok")[0].plan;
        assert_eq!(plan(AdjustmentKind::Estimate, 1500.0), 1500.0);
        assert_eq!(plan(AdjustmentKind::DeltaEur, -200.0), 1000.0);
        assert!((plan(AdjustmentKind::DeltaPct, 10.0) - 1320.0).abs() < 1e-9);
        assert_eq!(plan(AdjustmentKind::DeltaPct, -100.0), 0.0);
    }

    #[test]
    fn a_past_day_a_closed_day_and_a_day_beyond_are_refused() {
        let m = model();
        let e = |t| {
            input(t, AdjustmentKind::DeltaPct, 5.0)
                .expand(&H(), &m)
                .expect_err("refused")
        };
        assert!(matches!(
            e(Target::Day(d("2015-06-19"))),
            OverrideError::Past { .. }
        ));
        assert!(matches!(
            e(Target::Day(d("2015-06-21"))),
            OverrideError::Closed(_)
        ));
        assert!(matches!(
            e(Target::Day(d("2015-06-29"))),
            OverrideError::BeyondHorizon { .. }
        ));
        assert!(matches!(
            e(Target::Week(d("2015-06-23"))),
            OverrideError::NotMonday(_)
        ));
        assert!(matches!(
            e(Target::Week(d("2015-06-08"))),
            OverrideError::Past { .. }
        ));
    }

    #[test]
    fn a_week_estimate_is_spread_in_proportion_to_the_model() {
        let m = model();
        // Week from Mon 2015-06-15: only Sat 20 (1000) is in the horizon (Sun closed).
        let w = input(
            Target::Week(d("2015-06-15")),
            AdjustmentKind::Estimate,
            900.0,
        )
        .expand(&H(), &m)
        .expect("ok");
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].plan, 900.0);
        // Week from Mon 22: Mon..Sat open, forecasts 1200..1700 (sum 8700).
        let w = input(
            Target::Week(d("2015-06-22")),
            AdjustmentKind::Estimate,
            8700.0 * 1.1,
        )
        .expand(&H(), &m)
        .expect("ok");
        assert_eq!(w.len(), 6);
        let total: f64 = w.iter().map(|x| x.plan).sum();
        assert!((total - 9570.0).abs() < 1e-6);
        assert!((w[0].plan - 1320.0).abs() < 1e-6, "{}", w[0].plan);
    }

    #[test]
    fn other_needs_a_note_and_numbers_must_be_plausible() {
        let m = model();
        let mut o = input(Target::Day(d("2015-06-22")), AdjustmentKind::DeltaPct, 5.0);
        o.reason = Reason::Other;
        assert_eq!(
            o.expand(&H(), &m).expect_err("refused"),
            OverrideError::NoteRequired
        );
        o.note = "city marathon".into();
        assert!(o.expand(&H(), &m).is_ok());
        o.adjustment = Adjustment {
            kind: AdjustmentKind::DeltaPct,
            value: 301.0,
        };
        assert!(matches!(
            o.expand(&H(), &m).expect_err("refused"),
            OverrideError::OutOfRange(_)
        ));
        o.adjustment = Adjustment {
            kind: AdjustmentKind::Estimate,
            value: f64::NAN,
        };
        assert!(matches!(
            o.expand(&H(), &m).expect_err("refused"),
            OverrideError::OutOfRange(_)
        ));
        o.adjustment = Adjustment {
            kind: AdjustmentKind::Estimate,
            value: 250_000.0,
        };
        assert!(matches!(
            o.expand(&H(), &m).expect_err("refused"),
            OverrideError::Implausible { .. }
        ));
    }

    #[test]
    fn the_plan_applies_the_override_in_force_and_flags_the_band() {
        let m = model();
        let a = Adjustment {
            kind: AdjustmentKind::DeltaPct,
            value: 50.0,
        };
        let p = plan(&m, &[(d("2015-06-22"), a, Reason::LocalEvent)]);
        assert_eq!(p[0].plan, 1000.0);
        assert_eq!(p[1].plan, 0.0, "closed Sunday");
        assert!((p[2].plan - 1800.0).abs() < 1e-9);
        assert!(p[2].outside95 && !p[0].outside95);
    }

    #[test]
    fn bulk_csv_names_line_and_column_of_every_bad_cell() {
        let ok = b"store,date,kind,value,reason,note\n7,2015-06-22,delta_pct,10,local_event,fair\n";
        let rows = parse_csv(ok).expect("ok");
        assert_eq!(rows[0].store, 7);
        assert_eq!(rows[0].reason, Reason::LocalEvent);
        let bad = b"store,date,kind,value,reason,note\n7,2015-06-22,delta_pct,10,local_event,\nx,2015-06-22,delta_pct,10,local_event,\n7,22.06.2015,delta_pct,10,local_event,\n7,2015-06-22,delta_pct,ten,party,\n";
        let errs = parse_csv(bad).expect_err("refused");
        let at: Vec<(u64, &str)> = errs.iter().map(|e| (e.line, e.column.as_str())).collect();
        assert_eq!(at, vec![(3, "store"), (4, "date"), (5, "value")]);
        let head = parse_csv(b"store;date\n1;2\n").expect_err("refused");
        assert_eq!((head[0].line, head[0].column.as_str()), (1, "header"));
    }
}
