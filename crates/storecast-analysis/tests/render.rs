//! The rendered outputs: one chart spec per chart with unique canvas ids, valid JSON, a
//! Markdown report that starts with the headline conclusions, and the three files.
//!
//! Why these tests exist: the HTML must render in a browser without chart errors (every
//! `chart-spec` needs its own canvas) and the web app will read the JSON; both break silently
//! when a chart id repeats or a number is not serialisable.

use std::collections::HashSet;
use storecast_analysis::{analyze, to_html, to_json, to_markdown, write_outputs, AnalysisConfig};
use storecast_charts::Chart;
use storecast_data::ChainData;
use storecast_synth::{generate, SynthConfig};

fn small_analysis() -> storecast_analysis::Analysis {
    let chain = generate(&SynthConfig {
        stores: 60,
        ..SynthConfig::default()
    })
    .expect("chain");
    let report = ChainData::from_bytes(chain.train_csv(), chain.store_csv(), None, "synth 60")
        .expect("loads");
    let cfg = AnalysisConfig {
        bootstrap_reps: 60,
        ..AnalysisConfig::default()
    };
    analyze(&report.data, None, &cfg)
}

#[test]
fn html_has_one_chart_spec_per_chart_and_unique_canvas_ids() {
    let a = small_analysis();
    let html = to_html(&a).expect("renders");
    let charts: Vec<&Chart> = a.findings.iter().flat_map(|f| f.charts.iter()).collect();
    assert!(
        charts.len() >= 12,
        "at least one chart per finding: {}",
        charts.len()
    );
    assert_eq!(
        html.matches("class=\"chart-spec\" data-for=").count(),
        charts.len()
    );
    // Canvas ids are unique and each spec points at an existing canvas.
    let mut canvases = HashSet::new();
    for part in html.split("<canvas id=\"").skip(1) {
        let id = part.split('"').next().unwrap_or_default().to_string();
        assert!(canvases.insert(id.clone()), "duplicate canvas id {id}");
    }
    assert_eq!(canvases.len(), charts.len());
    for part in html.split("data-for=\"").skip(1) {
        let id = part.split('"').next().unwrap_or_default();
        assert!(canvases.contains(id), "spec for missing canvas {id}");
        // The spec is valid JSON for storecast-charts.
        let json = part
            .split_once("\">")
            .map(|(_, rest)| rest)
            .and_then(|rest| rest.split("</script>").next())
            .unwrap_or_default()
            .replace("<\\/", "</");
        let chart: Chart = serde_json::from_str(&json).expect("chart spec parses");
        assert_eq!(chart.id, id);
        for s in &chart.series {
            if !s.intervals.is_empty() {
                assert_eq!(
                    s.intervals.len(),
                    s.values.len(),
                    "{}: interval per value",
                    chart.id
                );
            }
            if s.points.is_empty() {
                assert_eq!(
                    s.values.len(),
                    chart.labels.len(),
                    "{}: value per label",
                    chart.id
                );
            }
        }
    }
    assert!(html.contains("window.storecastCharts") || html.contains("storecastCharts"));
}

#[test]
fn json_and_markdown_carry_the_findings() {
    let a = small_analysis();
    let json = to_json(&a).expect("json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("valid JSON");
    let findings = v["findings"].as_array().expect("findings");
    assert!(findings.len() >= 12);
    for f in findings {
        for key in [
            "id",
            "question",
            "statistics",
            "effect_business",
            "charts",
            "conclusion",
        ] {
            assert!(!f[key].is_null(), "finding lacks {key}: {}", f["id"]);
        }
    }
    let md = to_markdown(&a);
    let head = md.find("## Headline conclusions").expect("headlines");
    let first_section = md.find("## Promotion uplift").expect("promo section");
    assert!(head < first_section, "headlines come first");
    assert!(md.contains("p adj. (Holm)"));
    let dir = tempfile::tempdir().expect("tempdir");
    let files = write_outputs(&a, &dir.path().join("out")).expect("writes");
    let names: Vec<String> = files
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(names, ["analysis.json", "analysis.md", "analysis.html"]);
}

#[test]
fn analysis_is_deterministic() {
    let a = to_json(&small_analysis()).expect("json");
    let b = to_json(&small_analysis()).expect("json");
    assert_eq!(a, b);
}
