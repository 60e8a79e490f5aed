//! Server-rendered pages: chain (directors), stores and store (managers), model, data. Each
//! handler gathers plain values from the model snapshot and renders a template; charts are
//! embedded as JSON specs and drawn by the scripts served from `/assets` (no inline script).

use crate::api::history;
use crate::auth::Caller;
use crate::error::AppError;
use crate::state::{AppState, ModelState, StoreForecast};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::Datelike;
use minijinja::{context, Environment, Value};
use serde::Deserialize;
use std::sync::OnceLock;
use storecast_charts::{Chart, Kind, Numbers, Series};
use storecast_model::training::Aggregate;
use storecast_model::{Driver, ModelKind};

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        let templates: [(&str, &str); 17] = [
            ("head.html", include_str!("../templates/head.html")),
            ("print.html", include_str!("../templates/print.html")),
            ("error.html", include_str!("../templates/error.html")),
            (
                "monitoring.html",
                include_str!("../templates/monitoring.html"),
            ),
            ("alerts.html", include_str!("../templates/alerts.html")),
            ("actuals.html", include_str!("../templates/actuals.html")),
            ("registry.html", include_str!("../templates/registry.html")),
            ("fva.html", include_str!("../templates/fva.html")),
            (
                "exceptions.html",
                include_str!("../templates/exceptions.html"),
            ),
            ("base.html", include_str!("../templates/base.html")),
            ("login.html", include_str!("../templates/login.html")),
            ("chain.html", include_str!("../templates/chain.html")),
            ("stores.html", include_str!("../templates/stores.html")),
            ("store.html", include_str!("../templates/store.html")),
            ("model.html", include_str!("../templates/model.html")),
            ("data.html", include_str!("../templates/data.html")),
            ("report.html", include_str!("../templates/report.html")),
        ];
        for (name, src) in templates {
            if let Err(e) = env.add_template(name, src) {
                tracing::error!(%e, name, "template does not parse");
                if std::env::var_os("STORECAST_DEBUG_ERRORS").is_some() {
                    eprintln!("template {name} does not parse: {e:#}");
                }
            }
        }
        env
    })
}

pub(crate) fn render(name: &str, ctx: Value) -> Result<Html<String>, AppError> {
    env()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map(Html)
        .map_err(|e| AppError::Internal(format!("template {name}: {e}")))
}

pub(crate) fn pct(n: Numbers, x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), |v| n.signed_pct(v))
}

pub(crate) fn band(n: Numbers, lo: f64, hi: f64) -> String {
    format!("{} – {}", n.eur(lo), n.eur(hi))
}

pub(crate) fn common(
    st: &AppState,
    caller: &Caller,
    m: &ModelState,
    page: &str,
    title: &str,
) -> Value {
    context! {
        page => page,
        title => title,
        user => caller.name.clone(),
        can_chain => caller.role.can_view_chain(),
        signed_in => caller.csrf.is_some(),
        model_version => m.artifact().model_version.clone(),
        provisional => m.artifact().provisional_note(),
        job => crate::job::banner(st.job.as_ref().map(|b| b.status()).as_ref(), &caller.role),
        open_alerts => crate::operations::open_alert_count(st, caller),
        has_db => st.store.is_some(),
        has_registry => st.registry.is_some(),
        reports => reports(st),
        locale => st.numbers.locale.tag(),
    }
}

fn reports(st: &AppState) -> Vec<Value> {
    st.reports
        .load()
        .iter()
        .map(|r| context! { href => format!("/reports/{}", r.slug), title => r.title.clone() })
        .collect()
}

/// Renders page `name` (`<name>.html`, the nav's entry `name`) titled `title` with `ctx` on
/// top of the parts every page has.
pub(crate) fn render_page(
    st: &AppState,
    caller: &Caller,
    m: &ModelState,
    name: &str,
    title: &str,
    ctx: Value,
) -> Result<Html<String>, AppError> {
    render(
        &format!("{name}.html"),
        merge(common(st, caller, m, name, title), ctx),
    )
}

pub(crate) fn merge(a: Value, b: Value) -> Value {
    minijinja::value::merge_maps([b, a])
}

/// `GET /`: the chain view for directors (managers are sent to their stores).
pub async fn chain(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, AppError> {
    let n = st.numbers;
    if !caller.role.can_view_chain() {
        // A store's manager lands on their store; an area manager on their list.
        let to = match caller.store_scope() {
            Some([one]) => format!("/store/{one}"),
            _ => "/stores".to_string(),
        };
        return Ok(Redirect::to(&to).into_response());
    }
    let m = st.model.load();
    let Some(chain) = m.totals.first() else {
        return Err(AppError::Internal("no chain totals".into()));
    };
    let labels: Vec<String> = chain.days.iter().map(|(d, _)| d.to_string()).collect();
    let chain_chart = Chart::new(
        "chain-total",
        Kind::Line,
        "Chain daily sales forecast with 80% and 95% intervals",
    )
    .axes("date", "€ per day")
    .labels(labels.clone())
    .series(
        Series::new(
            "95% interval",
            chain.days.iter().map(|(_, i)| i.point).collect(),
        )
        .with_intervals(chain.days.iter().map(|(_, i)| (i.lo95, i.hi95)).collect())
        .color("#9ec5fe"),
    )
    .series(
        Series::new(
            "forecast (80% band)",
            chain.days.iter().map(|(_, i)| i.point).collect(),
        )
        .with_intervals(chain.days.iter().map(|(_, i)| (i.lo80, i.hi80)).collect())
        .color("#2e6fd8"),
    )
    .zoomable()
    .embed_with(n);
    let mut types_chart = Chart::new("type-totals", Kind::Line, "Daily forecast by store type")
        .axes("date", "€ per day")
        .labels(labels);
    let mut types = Vec::new();
    let deltas = crate::plan::scope_deltas(&st, &m)?;
    let exceptions = crate::fva::exceptions(&st, &m)?;
    let exception_kinds: Vec<Value> = crate::fva::ExceptionKind::ALL
        .into_iter()
        .filter_map(|k| {
            let n = exceptions
                .iter()
                .filter(|e| e.reasons.iter().any(|r| r.kind == k))
                .count();
            (n > 0).then(|| context! { label => k.label(), n => n })
        })
        .collect();
    let delta_of = |scope: &str| deltas.by_scope.get(scope).copied().unwrap_or(0.0);
    for t in &m.totals {
        let delta = delta_of(&t.scope);
        types.push(context! {
            scope => t.scope.clone(),
            total => n.eur(t.total.point),
            plan => n.eur(t.total.point + delta),
            plan_changed => delta.abs() >= 0.5,
            band80 => band(n, t.total.lo80, t.total.hi80),
            band95 => band(n, t.total.lo95, t.total.hi95),
            change => pct(n, t.change_vs_last_year()),
            comparable => format!("{} of {}", t.comparable_stores, t.stores),
        });
        if t.scope != "chain" {
            types_chart = types_chart.series(Series::new(
                t.scope.clone(),
                t.days.iter().map(|(_, i)| i.point).collect(),
            ));
        }
    }
    let row = |s: &StoreForecast| {
        context! {
            store => s.store, store_type => s.store_type.clone(), total => n.eur(s.total.point),
            change => pct(n, s.change_vs_last_year()), band => band(n, s.total.lo80, s.total.hi80),
            width => format!("±{}", n.pct_with(s.uncertainty() * 0.5, 0)),
        }
    };
    let mut by_change: Vec<&StoreForecast> = m
        .stores
        .values()
        .filter(|s| s.change_vs_last_year().is_some())
        .collect();
    by_change.sort_by(|a, b| {
        b.change_vs_last_year()
            .unwrap_or(0.0)
            .total_cmp(&a.change_vs_last_year().unwrap_or(0.0))
    });
    let growth: Vec<Value> = by_change.iter().take(10).map(|s| row(s)).collect();
    let decline: Vec<Value> = by_change.iter().rev().take(10).map(|s| row(s)).collect();
    let mut by_unc: Vec<&StoreForecast> = m.stores.values().collect();
    by_unc.sort_by(|a, b| b.uncertainty().total_cmp(&a.uncertainty()));
    let uncertain: Vec<Value> = by_unc.iter().take(15).map(|s| row(s)).collect();
    let first = chain
        .days
        .first()
        .map(|d| d.0.to_string())
        .unwrap_or_default();
    let last = chain
        .days
        .last()
        .map(|d| d.0.to_string())
        .unwrap_or_default();
    let change = chain.change_vs_last_year();
    let held = |agg: Aggregate| held_out_coverage(n, m.artifact(), agg);
    let not_comparable: Vec<u16> = m
        .stores
        .values()
        .filter(|s| s.change_vs_last_year().is_none())
        .map(|s| s.store)
        .collect();
    let ctx = context! {
        chain => context! {
            total => n.eur(chain.total.point), band => band(n, chain.total.lo80, chain.total.hi80),
            change => pct(n, change), change_class => if change.unwrap_or(0.0) >= 0.0 { "good" } else { "bad" },
            comparable => chain.comparable_stores, stores => chain.stores,
            total_coverage => held(Aggregate::ChainTotal),
            chain_coverage => held(Aggregate::ChainDay),
            type_coverage => held(Aggregate::TypeTotal),
            expected => expected_note(n, &chain.total),
            plan => (deltas.stores > 0).then(|| format!(
                "{} with the overrides of {} store(s) ({}{})",
                n.eur(chain.total.point + delta_of("chain")),
                deltas.stores,
                if delta_of("chain") >= 0.0 { "+" } else { "" },
                n.eur(delta_of("chain"))
            )),
            not_comparable => not_comparable,
            first => first, last => last,
        },
        chain_chart => chain_chart, types => types, types_chart => types_chart.embed_with(n),
        change_chart => change_distribution_chart(n, &m),
        exceptions => context! { n => exceptions.len(), kinds => exception_kinds },
        growth => growth, decline => decline, uncertain => uncertain,
    };
    Ok(render_page(&st, &caller, &m, "chain", "Chain", ctx)?.into_response())
}

/// How the stores' expected like-for-like changes spread, by store type: a director sees at
/// once whether a type moves as a block or a few stores stand out.
fn change_distribution_chart(n: Numbers, m: &ModelState) -> String {
    const EDGES: [f64; 11] = [
        -0.25, -0.20, -0.15, -0.10, -0.05, 0.0, 0.05, 0.10, 0.15, 0.20, 0.25,
    ];
    let labels: Vec<String> = (0..=EDGES.len())
        .map(|i| match i {
            0 => format!("below {}", n.signed_pct_with(EDGES[0], 0)),
            i if i == EDGES.len() => format!("{} or more", n.signed_pct_with(EDGES[i - 1], 0)),
            i => format!(
                "{} to {}",
                n.signed_pct_with(EDGES[i - 1], 0),
                n.signed_pct_with(EDGES[i], 0)
            ),
        })
        .collect();
    let mut by_type: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
    for s in m.stores.values() {
        if let Some(c) = s.change_vs_last_year() {
            let bin = EDGES.iter().filter(|e| c >= **e).count();
            let counts = by_type
                .entry(s.store_type.as_str())
                .or_insert_with(|| vec![0.0; EDGES.len() + 1]);
            counts[bin] += 1.0;
        }
    }
    let mut chart = Chart::new(
        "change-distribution",
        Kind::Bar,
        "Stores by expected like-for-like change vs last year, by store type",
    )
    .axes("expected change", "stores")
    .labels(labels)
    .from_zero();
    for (t, counts) in by_type {
        chart = chart.series(Series::new(format!("type {t}"), counts));
    }
    chart.embed_with(n)
}

/// Query of the store list.
#[derive(Deserialize)]
pub struct StoresQuery {
    q: Option<String>,
    #[serde(rename = "type")]
    store_type: Option<String>,
    #[serde(default)]
    sort: StoreSort,
    #[serde(default)]
    page: Option<usize>,
    #[serde(default)]
    per_page: Option<usize>,
}

/// How the store list is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreSort {
    /// By number.
    #[default]
    Store,
    /// Largest six-week forecast first.
    Forecast,
    /// Largest expected growth vs last year first.
    Growth,
    /// Largest expected decline first.
    Decline,
    /// Least certain first.
    Uncertainty,
}

impl StoreSort {
    /// Every order, as the list offers them.
    pub const ALL: [StoreSort; 5] = [
        Self::Store,
        Self::Forecast,
        Self::Growth,
        Self::Decline,
        Self::Uncertainty,
    ];
    fn code(self) -> &'static str {
        match self {
            Self::Store => "store",
            Self::Forecast => "forecast",
            Self::Growth => "growth",
            Self::Decline => "decline",
            Self::Uncertainty => "uncertainty",
        }
    }
    fn label(self) -> &'static str {
        match self {
            Self::Store => "store number",
            Self::Forecast => "largest forecast",
            Self::Growth => "largest growth",
            Self::Decline => "largest decline",
            Self::Uncertainty => "least certain",
        }
    }
    fn order(self, list: &mut [&StoreForecast]) {
        let change = |s: &StoreForecast| s.change_vs_last_year();
        match self {
            Self::Store => list.sort_by_key(|s| s.store),
            Self::Forecast => list.sort_by(|a, b| b.total.point.total_cmp(&a.total.point)),
            // Stores without a comparable last year go last either way.
            Self::Growth => list.sort_by(|a, b| {
                change(b)
                    .unwrap_or(f64::NEG_INFINITY)
                    .total_cmp(&change(a).unwrap_or(f64::NEG_INFINITY))
            }),
            Self::Decline => list.sort_by(|a, b| {
                change(a)
                    .unwrap_or(f64::INFINITY)
                    .total_cmp(&change(b).unwrap_or(f64::INFINITY))
            }),
            Self::Uncertainty => list.sort_by(|a, b| b.uncertainty().total_cmp(&a.uncertainty())),
        }
    }
}

/// Stores on one page of the list by default (`per_page` takes 5 to 500).
pub const STORES_PER_PAGE: usize = 100;

/// `GET /stores`: search by number, filter by type.
pub async fn stores(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<StoresQuery>,
) -> Result<Html<String>, AppError> {
    let n = st.numbers;
    let m = st.model.load();
    let needle = q.q.clone().unwrap_or_default().trim().to_string();
    let ty = q.store_type.clone().unwrap_or_default();
    let mut all: Vec<&StoreForecast> = m
        .stores
        .values()
        .filter(|s| caller.role.can_view_store(s.store))
        .filter(|s| needle.is_empty() || s.store.to_string().starts_with(&needle))
        .filter(|s| ty.is_empty() || s.store_type == ty)
        .collect();
    q.sort.order(&mut all);
    let per_page = q.per_page.unwrap_or(STORES_PER_PAGE).clamp(5, 500);
    let pages = all.len().div_ceil(per_page).max(1);
    let page = q.page.unwrap_or(1).clamp(1, pages);
    let rows: Vec<Value> = all
        .iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|s| {
            context! {
                store => s.store, store_type => s.store_type.clone(), assortment => s.assortment.clone(),
                total => n.eur(s.total.point), change => pct(n, s.change_vs_last_year()),
                width => format!("±{}", n.pct_with(s.uncertainty() * 0.5, 0)),
            }
        })
        .collect();
    // The filters as typed, kept to what they can mean (digits, a type letter) in the links.
    let digits: String = needle.chars().filter(char::is_ascii_digit).collect();
    let letter: String = ty
        .chars()
        .filter(char::is_ascii_lowercase)
        .take(1)
        .collect();
    let link = |p: usize| {
        format!(
            "/stores?q={digits}&type={letter}&sort={}&per_page={per_page}&page={p}",
            q.sort.code()
        )
    };
    let ctx = context! {
        stores => rows, total => all.len(), q => needle.clone(), store_type => ty.clone(),
        sort => q.sort.code(), sorts => StoreSort::ALL.map(|s| context! { code => s.code(), label => s.label() }),
        page_no => page, pages => pages,
        first_shown => if all.is_empty() { 0 } else { (page - 1) * per_page + 1 },
        last_shown => (page * per_page).min(all.len()),
        prev => (page > 1).then(|| link(page - 1)), next => (page < pages).then(|| link(page + 1)),
    };
    render_page(&st, &caller, &m, "stores", "Stores", ctx)
}

/// `GET /store/{id}`: the manager's view.
pub async fn store(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Html<String>, AppError> {
    let (m, f) = crate::api::store_of(&st, &caller, &id)?;
    let id = f.store;
    let ctx = m
        .store_pages
        .get_or_build(id, || store_context(&st, &m, &f, id));
    let plan = crate::plan_pages::store_plan_context(&st, &m, &f)?;
    let title = format!("Store {id}");
    render_page(&st, &caller, &m, "store", &title, merge(ctx, plan))
}

/// A cache of the caller-independent part of each store's page, built on first view and
/// dropped with the model it was built from (a page view is then a template render only).
#[derive(Debug, Default)]
pub struct StorePages(std::sync::RwLock<std::collections::HashMap<u16, Value>>);

impl StorePages {
    /// The context of store `id`, built by `build` when not cached yet.
    pub fn get_or_build(&self, id: u16, build: impl FnOnce() -> Value) -> Value {
        if let Some(v) = self.0.read().ok().and_then(|m| m.get(&id).cloned()) {
            return v;
        }
        let v = build();
        if let Ok(mut m) = self.0.write() {
            m.insert(id, v.clone());
        }
        v
    }
}

/// The store chart: the last 120 days' actuals, the forecast with its bands and, when
/// overrides are in force, the plan (one value per forecast day).
pub(crate) fn store_chart(
    n: Numbers,
    m: &ModelState,
    f: &StoreForecast,
    id: u16,
    plan: Option<&[f64]>,
) -> String {
    let hist = history(m, id, 120);
    let mut labels: Vec<String> = hist.iter().map(|h| h.0.to_string()).collect();
    labels.extend(f.days.iter().map(|d| d.date.to_string()));
    let mut actual: Vec<Option<f64>> = hist.iter().map(|h| h.1.filter(|_| h.2)).collect();
    actual.extend(f.days.iter().map(|_| None));
    let pad = hist.len();
    let mut fc: Vec<Option<f64>> = vec![None; pad];
    fc.extend(f.days.iter().map(|d| Some(d.sales).filter(|_| d.open)));
    let mut iv80: Vec<Option<(f64, f64)>> = vec![None; pad];
    iv80.extend(
        f.days
            .iter()
            .map(|d| d.open.then_some((d.interval.lo80, d.interval.hi80))),
    );
    let mut iv95: Vec<Option<(f64, f64)>> = vec![None; pad];
    iv95.extend(
        f.days
            .iter()
            .map(|d| d.open.then_some((d.interval.lo95, d.interval.hi95))),
    );
    let mut s95 = Series::new("95% interval", Vec::new())
        .color("#9ec5fe")
        .kind(Kind::Line);
    s95.values = fc.clone();
    s95.intervals = iv95;
    let mut s80 = Series::new("forecast (80% band)", Vec::new())
        .color("#2e6fd8")
        .kind(Kind::Line);
    s80.values = fc;
    s80.intervals = iv80;
    let mut sa = Series::new("actual sales", Vec::new()).color("#1d2430");
    sa.values = actual;
    let mut chart = Chart::new(
        "store-chart",
        Kind::Line,
        format!("Store {id}: last 120 days and the next six weeks"),
    )
    .axes("date", "€ per day")
    .labels(labels)
    .series(sa)
    .series(s95)
    .series(s80);
    if let Some(plan) = plan {
        let mut sp = Series::new(crate::plan::PLAN_SERIES, Vec::new())
            .color("#d9480f")
            .kind(Kind::Line)
            .dashed();
        sp.values = vec![None; pad];
        sp.values.extend(
            f.days
                .iter()
                .zip(plan)
                .map(|(d, p)| Some(*p).filter(|_| d.open)),
        );
        chart = chart.series(sp);
    }
    chart.zoomable().embed_with(n)
}

/// The measured held-out coverage of an aggregate's bands, said on the aggregate it describes
/// (a rate when there are enough cases, counts when there are few).
fn held_out_coverage(
    n: Numbers,
    a: &storecast_model::ModelArtifact,
    agg: Aggregate,
) -> Option<String> {
    const FEW: usize = 30;
    agg.coverage(a).map(|c| {
        if c.n < FEW {
            let k = |share: f64| (share * c.n as f64).round() as usize;
            format!(
                "on held-out folds {} of {} {} fell inside the 80% band and {} inside the 95% band (too few cases for a rate)",
                k(c.cover80),
                c.n,
                agg.label(),
                k(c.cover95)
            )
        } else {
            format!(
                "on held-out folds the 80% band held {} and the 95% band {} of {} {}",
                n.pct_with(c.cover80, 0),
                n.pct_with(c.cover95, 0),
                c.n,
                agg.label()
            )
        }
    })
}

/// The expected total beside a total, named and explained, when it differs by 0.5 % or more.
fn expected_note(n: Numbers, t: &storecast_model::intervals::SumInterval) -> Option<String> {
    (t.point > 0.0 && (t.expected / t.point - 1.0).abs() >= 0.005).then(|| {
        format!(
            "The total is the sum of the daily forecasts. Each day is tuned for relative error, which tilts it slightly low, so the backtests' simulation expects the actual total near {} ({}).",
            n.eur(t.expected),
            pct(n, Some(t.expected / t.point - 1.0))
        )
    })
}

/// How a store's like-for-like figure is based, in words.
fn lfl_basis(l: &storecast_model::lfl::LikeForLike) -> String {
    if l.comparable() {
        format!(
            "like-for-like vs the same weekdays last year, {} of {} open days comparable",
            l.comparable_days, l.open_days
        )
    } else {
        format!(
            "no like-for-like: only {} of {} open days have a comparable day last year (a gap, a refurbishment or a new store)",
            l.comparable_days, l.open_days
        )
    }
}

/// Chart, days, weeks and facts of store `id`'s page.
fn store_context(st: &AppState, m: &ModelState, f: &StoreForecast, id: u16) -> Value {
    let n = st.numbers;
    let chart = store_chart(n, m, f, id, None);
    let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let days: Vec<Value> = f
        .days
        .iter()
        .map(|d| {
            let wd = d.date.weekday().number_from_monday();
            let (public, school) = crate::print::holidays(m, id, d.date);
            let mut hol = Vec::new();
            if let Some(code) = public {
                hol.push(format!("public ({code})"));
            }
            if school {
                hol.push("school".to_string());
            }
            context! {
                date => d.date.to_string(), weekday => names[(wd as usize).clamp(1, 7) - 1], weekday_num => wd,
                open => d.open, promo => d.promo, holiday => hol.join(", "),
                forecast => if d.open { n.eur(d.sales) } else { "closed".to_string() },
                band80 => if d.open { n.eur_range(d.interval.lo80, d.interval.hi80) } else { String::new() },
                band95 => if d.open { n.eur_range(d.interval.lo95, d.interval.hi95) } else { String::new() },
            }
        })
        .collect();
    let facts = crate::print::week_facts(m, f);
    let weeks: Vec<Value> = f
        .weeks
        .iter()
        .map(|(monday, i)| context! { monday => monday.to_string(), total => n.eur(i.point), band80 => band(n, i.lo80, i.hi80), band95 => band(n, i.lo95, i.hi95),
            facts => facts.get(monday).map(crate::print::WeekFacts::text) })
        .collect();
    let facts = st.chain.stores.get(id).map_or(String::new(), |i| {
        let comp = i
            .competition_distance
            .map_or("competitor distance unknown".into(), |d| {
                format!("nearest competitor {} m", n.int(d))
            });
        let p2 = if i.promo2 {
            "takes part in Promo2"
        } else {
            "no Promo2"
        };
        format!("{comp} · {p2}")
    });
    context! {
        s => context! { store => f.store, store_type => f.store_type.clone(), assortment => f.assortment.clone() },
        facts => facts, total => n.eur(f.total.point), band => band(n, f.total.lo80, f.total.hi80),
        change => pct(n, f.change_vs_last_year()), lfl_basis => lfl_basis(&f.lfl),
        total_coverage => held_out_coverage(n, m.artifact(), Aggregate::StoreTotal),
        week_coverage => held_out_coverage(n, m.artifact(), Aggregate::StoreWeek),
        chart => chart, days => days, weeks => weeks,
    }
}

/// `GET /model`: directors and admins (its scores by store type and fold would show a
/// single store's figures wherever a type holds few stores).
pub async fn model(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Html<String>, AppError> {
    let n = st.numbers;
    caller.require_chain()?;
    let m = st.model.load();
    let a = m.artifact();
    let last = a.folds.len();
    let scores: Vec<Value> = a
        .scores
        .iter()
        .map(|r| {
            context! {
                model => storecast_model::kind::label_of(&r.model), fold => if r.fold == 0 { "all".to_string() } else { r.fold.to_string() },
                rmspe => n.number(r.metrics.rmspe, 4), mape => n.pct(r.metrics.mape),
                wape => n.pct(r.metrics.wape), bias => n.signed_pct(r.metrics.bias), n => r.metrics.n,
            }
        })
        .collect();
    let get = |model: ModelKind, fold: usize| {
        a.scores
            .iter()
            .find(|r| r.model == model.name() && r.fold == fold)
            .map(|r| r.metrics.rmspe)
    };
    let headline = match (get(ModelKind::Model, last), get(ModelKind::Median, last), get(ModelKind::LastYear, last)) {
        (Some(mo), Some(me), Some(ly)) => format!(
            "On the most recent six weeks, the model's RMSPE is {}: {} lower than the {} ({}) and {} lower than {} ({}), the two stand-ins for today's manager estimates.",
            n.number(mo, 4), n.pct_with(1.0 - mo / me, 0), ModelKind::Median.label(), n.number(me, 4),
            n.pct_with(1.0 - mo / ly, 0), ModelKind::LastYear.label(), n.number(ly, 4)
        ),
        _ => String::new(),
    };
    let fold_labels: Vec<String> = a
        .folds
        .iter()
        .map(|f| format!("fold {} ({})", f.index, f.origin))
        .collect();
    let mut chart = Chart::new(
        "model-scores",
        Kind::Bar,
        "RMSPE by backtest fold (lower is better)",
    )
    .axes("fold", "RMSPE")
    .labels(fold_labels)
    .from_zero();
    for model in std::iter::once(ModelKind::Model).chain(ModelKind::BASELINES) {
        chart = chart.series(Series::new(
            model.label(),
            (1..=last)
                .map(|f| get(model, f).unwrap_or(f64::NAN))
                .collect(),
        ));
    }
    let coverage: Vec<Value> = a
        .coverage
        .iter()
        .map(|c| context! { scope => c.scope.clone(), c80 => n.pct(c.cover80), c95 => n.pct(c.cover95), n => c.n })
        .collect();
    let driver_labels: Vec<&str> = Driver::ALL.iter().map(|d| d.label()).collect();
    let importance: Vec<Value> = m
        .importance
        .iter()
        .map(|imp| {
            let values: Vec<String> = Driver::ALL
                .iter()
                .map(|d| {
                    imp.drivers
                        .iter()
                        .find(|x| x.0 == *d)
                        .map_or("–".into(), |x| {
                            format!("{} · {}", n.number(x.1, 3), n.eur(x.2))
                        })
                })
                .collect();
            context! { scope => imp.scope.clone(), values => values }
        })
        .collect();
    let overall = m.importance.iter().find(|i| i.scope == "all stores");
    let importance_chart = Chart::new(
        "importance",
        Kind::Bar,
        "Mean |€ contribution| per store-day, by driver",
    )
    .axes("driver", "€")
    .labels(driver_labels.iter().map(|s| s.to_string()))
    .from_zero()
    .series(Series::new(
        "all stores",
        Driver::ALL
            .iter()
            .map(|d| {
                overall
                    .and_then(|o| o.drivers.iter().find(|x| x.0 == *d))
                    .map_or(0.0, |x| x.2)
            })
            .collect(),
    ))
    .embed_with(n);
    let ctx = context! {
        a => context! {
            model_version => a.model_version.clone(), trained_at => a.trained_at.clone(), train_start => a.train_start.to_string(),
            train_end => a.train_end.to_string(), train_rows => a.train_rows, code_version => a.code_version.clone(),
        },
        fingerprint => a.data_fingerprint.chars().take(16).collect::<String>(),
        serving_since => m.serving_since.clone(),
        headline => headline, scores => scores, score_chart => chart.embed_with(n), coverage => coverage,
        importance => importance, driver_labels => driver_labels, importance_chart => importance_chart,
        importance_n => overall.map_or(0, |o| o.n),
    };
    render_page(&st, &caller, &m, "model", "Model", ctx)
}

/// `GET /data`.
pub async fn data(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Html<String>, AppError> {
    caller.require_chain()?;
    let m = st.model.load();
    let loaded = st.analysis.load();
    let analysis = loaded.as_ref().as_ref();
    let ctx = context! {
        v => Value::from_serialize(&*st.validation), analysis => analysis.map(|a| a.body.clone()),
        analysis_problem => analysis.and_then(|a| a.json.as_ref().err().cloned()),
        source => data_source(&st.validation.summary.origin),
    };
    render_page(&st, &caller, &m, "data", "Data", ctx)
}

/// Where the data came from, as a user may read it: the data set's name, not the server's
/// path to it (`../shared/data/rossmann` → `rossmann`).
pub(crate) fn data_source(origin: &str) -> String {
    let looks_like_path = origin.contains('/') || origin.contains('\\');
    if !looks_like_path {
        return origin.to_string();
    }
    let name = origin
        .trim_end_matches(['/', '\\'])
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("");
    format!("data set {name}")
}

/// `GET /reports/{slug}`: a generated report (methodology, business) inside the app's layout.
pub async fn report(
    State(st): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(slug): Path<String>,
) -> Result<Html<String>, AppError> {
    let reports = st.reports.load();
    let r = reports
        .iter()
        .find(|r| r.slug == slug)
        .ok_or_else(|| AppError::NotFound(format!("no report {slug:?}")))?;
    if r.directors_only {
        caller.require_chain()?;
    }
    let m = st.model.load();
    render(
        "report.html",
        merge(
            common(&st, &caller, &m, "model", &r.title),
            context! { body => r.body.clone() },
        ),
    )
}

/// Sign-in form body.
#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
    csrf: String,
}

/// `GET /login`: the sign-in form, with a CSRF token in a cookie and a hidden field (an
/// existing token is kept, so a second tab or a background request does not invalidate it).
pub async fn login_form(
    State(st): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Response, AppError> {
    let web = st.web;
    let csrf = crate::auth::cookie(&headers, web.csrf_cookie())
        .filter(|c| c.len() == 32 && c.chars().all(|ch| ch.is_ascii_hexdigit()))
        .map_or_else(crate::auth::random_hex, str::to_string);
    login_page(&web, &csrf, None, StatusCode::OK)
}

/// The sign-in page with its pre-session CSRF pair (the cookie lives for the page's hour).
fn login_page(
    web: &crate::auth::WebSecurity,
    csrf: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let page = render("login.html", context! { csrf => csrf, error => error })?;
    let cookie = web.set_cookie(web.csrf_cookie(), csrf, false, 3600);
    Ok((status, [(header::SET_COOKIE, cookie)], page).into_response())
}

/// `POST /login`: checks the sign-in form's CSRF pair and the token, then starts a server-side
/// session: the cookie holds the session's random id (never the token) and the CSRF cookie
/// becomes the session's own token.
pub async fn login(
    State(st): State<AppState>,
    axum::Extension(client): axum::Extension<crate::auth::ClientAddr>,
    headers: axum::http::HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    let web = st.web;
    if crate::auth::cookie(&headers, web.csrf_cookie()) != Some(form.csrf.as_str()) {
        return Err(AppError::Forbidden(
            "missing or wrong CSRF token; reload the sign-in page".into(),
        ));
    }
    let Some(store) = st.store.clone() else {
        // Without a user database (`--no-auth`) there is nothing to sign in to.
        return Ok(Redirect::to("/").into_response());
    };
    let user = match crate::auth::check_token(&st, client.0, "/login", form.token.clone()).await {
        Ok(user) => user,
        Err(crate::auth::Rejection::Throttled(after)) => {
            return Ok(crate::auth::Rejection::throttled_response(after));
        }
        Err(crate::auth::Rejection::Unavailable(cause)) => return Err(AppError::Internal(cause)),
        Err(crate::auth::Rejection::Invalid) => {
            let csrf = crate::auth::random_hex();
            return login_page(
                &web,
                &csrf,
                Some("That token is not valid."),
                StatusCode::UNAUTHORIZED,
            );
        }
    };
    if let Err(after) = st.throttle.sign_in(user.id) {
        tracing::warn!(user = %user.name, "sign-ins of one user throttled");
        return Ok(crate::auth::Rejection::throttled_response(after));
    }
    let policy = web.sessions;
    let session = tokio::task::spawn_blocking(move || store.start_session(&user, &policy))
        .await
        .map_err(|e| AppError::Internal(format!("signing in: {e}")))?
        .map_err(|e| AppError::Internal(format!("signing in: {e}")))?;
    let max_age = policy.absolute.as_secs();
    let mut resp = Redirect::to("/").into_response();
    for c in [
        web.set_cookie(web.session_cookie(), &session.id, true, max_age),
        web.set_cookie(web.csrf_cookie(), &session.csrf, false, max_age),
    ] {
        if let Ok(v) = axum::http::HeaderValue::from_str(&c) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}

/// `POST /logout` (CSRF-checked like every cookie-carried write): ends the session and clears
/// its cookies.
pub async fn logout(
    State(st): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Response, AppError> {
    let web = st.web;
    if let (Some(store), Some(id)) = (
        st.store.clone(),
        crate::auth::cookie(&headers, web.session_cookie()).map(str::to_string),
    ) {
        crate::auth::forget(&st, "session", &id);
        tokio::task::spawn_blocking(move || store.end_session(&id))
            .await
            .map_err(|e| AppError::Internal(format!("signing out: {e}")))?
            .map_err(|e| AppError::Internal(format!("signing out: {e}")))?;
    }
    let mut resp = Redirect::to("/login").into_response();
    for name in [web.session_cookie(), web.csrf_cookie()] {
        if let Ok(v) = axum::http::HeaderValue::from_str(&web.set_cookie(name, "", true, 0)) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_data_page_names_the_data_set_not_the_servers_path() {
        assert_eq!(
            super::data_source("../shared/data/rossmann"),
            "data set rossmann"
        );
        assert_eq!(super::data_source("/srv/storecast/data/"), "data set data");
        assert_eq!(
            super::data_source("synthetic chain (seed 7)"),
            "synthetic chain (seed 7)"
        );
    }
}
