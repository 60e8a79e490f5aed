//! Statistical analysis of the chain's sales, written for sales teams.
//!
//! Why this crate exists: before anyone trusts a forecast, the sales director wants to know
//! what drives sales — how much a promotion adds, what a Sunday or a holiday eve is worth, how
//! strong December is, what a new competitor costs, which stores are hard to forecast. This
//! crate answers those questions from the data, each with an estimate, a 95% confidence
//! interval, a test where a test makes sense (p-values corrected across the whole report), the
//! effect in business units, charts, and a conclusion sentence generated from the numbers.
//!
//! [`analyze`] returns an [`Analysis`] (plain serde data, so the web app can render the same
//! findings); [`to_json`], [`to_markdown`] and [`to_html`] present it, and [`write_outputs`]
//! writes `analysis.json`, `analysis.md` and `analysis.html`.
//!
//! Design in one paragraph: the history becomes a dense store × day panel with flags for
//! comparable ("normal") days; each finding reduces it to a few numbers per store (or per store
//! and week) and bootstraps those — resampling stores, and also weeks where the chain-wide
//! calendar matters — so 1,000 replicates per interval stay fast. Findings are drafted with raw
//! p-values, all p-values are adjusted together (Holm by default), and only then are the
//! conclusions and the ranked headline list written.

pub mod boot;
pub mod calendar;
pub mod config;
pub mod error;
pub mod findings;
pub mod model;
pub mod panel;
pub mod render;
pub mod stats;
pub mod text;

pub use config::{AnalysisConfig, Correction};
pub use error::AnalysisError;
pub use model::{Analysis, DataSummary, Finding, Headline, Link, Methods, Statistic, Table, Unit};
pub use render::{body_html, to_html, to_json, to_markdown, write_outputs};

use findings::{Ctx, Draft, HeadlineCandidate, Wording};
use panel::Panel;
use storecast_data::ChainData;
use storecast_validate::ValidationReport;

/// Most headlines in the report.
const MAX_HEADLINES: usize = 8;

/// Runs the whole analysis. `validation` (the data quality report of the same data) feeds the
/// data caveats; without it the caveats are computed from the data alone.
pub fn analyze(
    data: &ChainData,
    validation: Option<&ValidationReport>,
    cfg: &AnalysisConfig,
) -> Analysis {
    let summary = DataSummary {
        origin: data.origin.clone(),
        fingerprint: data.fingerprint.clone(),
        first_date: data.history.date_range().map(|r| r.0),
        last_date: data.history.date_range().map(|r| r.1),
        stores: 0,
        rows: data.history.len(),
        open_days: 0,
    };
    let methods = |tests: usize| Methods {
        bootstrap_reps: cfg.bootstrap_reps,
        seed: cfg.seed,
        correction: cfg.correction.name().to_string(),
        tests_in_family: tests,
        alpha: cfg.alpha,
        normal_day: "open with sales, not a state holiday, not the last open day before or the \
                     first open day after a closure that contains a state holiday, not within a \
                     week before or four weeks after a closure of 7 or more non-holiday days"
            .into(),
    };
    let Some(panel) = Panel::build(data, cfg.min_closure_days) else {
        return Analysis {
            title: title(data),
            data: summary,
            methods: methods(0),
            headlines: Vec::new(),
            findings: Vec::new(),
        };
    };
    let mut ctx = Ctx::new(&panel, cfg, validation);

    // Profiles first: promo and weekday factors feed the adjusted sales of later findings.
    let promo = findings::promo::compute(&ctx);
    let weekday = findings::weekday::compute(&ctx);
    let promo_factor: Vec<f64> = {
        let mut by_type = [0.0f64; 4];
        for (t, slot) in by_type.iter_mut().enumerate() {
            let v: Vec<f64> = panel.by_type[t]
                .iter()
                .map(|&s| promo.store_ratio[s])
                .filter(|x| x.is_finite())
                .collect();
            *slot = if v.is_empty() { 1.0 } else { stats::median(&v) };
        }
        promo
            .store_ratio
            .iter()
            .enumerate()
            .map(|(s, &r)| {
                if r.is_finite() && r > 0.0 {
                    r
                } else {
                    by_type[usize::from(ctx.strata[s])]
                }
            })
            .collect()
    };
    ctx.set_profiles(weekday.factors.clone(), promo_factor);

    let mut drafts: Vec<Draft> = Vec::new();
    drafts.extend(findings::promo::drafts(&ctx, &promo));
    drafts.push(findings::weekday::draft(&ctx, &weekday));
    drafts.push(findings::holidays::draft(&ctx));
    drafts.push(findings::seasonality::draft(&ctx));
    drafts.push(findings::formats::draft(&ctx));
    drafts.push(findings::competition::draft(&ctx));
    drafts.push(findings::promo2::draft(&ctx));
    drafts.push(findings::basket::draft(&ctx, &promo));
    drafts.push(findings::closures::draft(&ctx));
    drafts.push(findings::trend::draft(&ctx));
    drafts.push(findings::volatility::draft(&ctx));
    drafts.push(findings::caveats::draft(&ctx));

    // One correction over every p-value of the report.
    let mut ps = Vec::new();
    for d in &drafts {
        for s in &d.finding.statistics {
            if let Some(p) = s.p_value {
                ps.push(p);
            }
        }
    }
    let adjusted = match cfg.correction {
        Correction::Holm => stats::holm(&ps),
        Correction::BenjaminiHochberg => stats::benjamini_hochberg(&ps),
    };
    let mut it = adjusted.into_iter();
    for d in &mut drafts {
        for s in &mut d.finding.statistics {
            if s.p_value.is_some() {
                s.p_adjusted = it.next().filter(|x| x.is_finite());
            }
        }
    }
    let wording = Wording {
        alpha: cfg.alpha,
        correction: cfg.correction.short().to_string(),
    };
    let mut out = Vec::new();
    let mut candidates: Vec<(String, HeadlineCandidate)> = Vec::new();
    for d in drafts {
        let mut f = d.finding;
        let c = d.conclude.conclude(&f, &wording);
        f.conclusion = c.text;
        for h in c.headlines {
            candidates.push((f.id.clone(), h));
        }
        out.push(f);
    }
    candidates.sort_by(|a, b| b.1.score.total_cmp(&a.1.score));
    let headlines = candidates
        .into_iter()
        .take(MAX_HEADLINES)
        .enumerate()
        .map(|(i, (id, h))| Headline {
            rank: i + 1,
            finding_id: id,
            text: h.text,
            eur_per_year: h.eur_per_year,
        })
        .collect();
    Analysis {
        title: title(data),
        data: DataSummary {
            stores: panel.stores.len(),
            open_days: panel.open_days,
            ..summary
        },
        methods: methods(ps.len()),
        headlines,
        findings: out,
    }
}

fn title(data: &ChainData) -> String {
    let _ = data;
    "What drives sales: statistical analysis for the sales team".to_string()
}
