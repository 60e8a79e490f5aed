//! The headline numbers of a monitoring run as Prometheus gauges (text exposition format),
//! written by the `prometheus` crate (the same one the web app's request counters use).
//!
//! Why this module exists: the web app serves `/metrics` and the operations dashboards and
//! alert rules read it; the monitor's numbers belong next to the request counters. The
//! server's registry appends this text as is, so it must stand alone in the format: one
//! `# HELP` and one `# TYPE` line per family, the family's samples right after them, label
//! values escaped, NaN written `NaN`.
//!
//! Cardinality: only the chain, the store types and the features become series (about 60).
//! Per-store and per-week numbers stay in the JSON report and in the alerts; 1,115 stores ×
//! several gauges, renewed with every run, would burden the time-series database for numbers
//! nobody graphs one by one.

use crate::drift::DriftLevel;
use crate::report::{AlertKind, MonitorReport};
use crate::MonitorError;
use prometheus::{Encoder, Gauge, GaugeVec, Opts, Registry, TextEncoder};

type Sample = (Vec<(&'static str, String)>, f64);

fn metrics_err(e: prometheus::Error) -> MonitorError {
    MonitorError::Metrics(e.to_string())
}

/// Registers one gauge family (its label names are those of its first sample); an empty
/// family is left out.
fn family(reg: &Registry, name: &str, help: &str, samples: &[Sample]) -> Result<(), MonitorError> {
    let Some((first, _)) = samples.first() else {
        return Ok(());
    };
    let opts = Opts::new(name, help);
    if first.is_empty() {
        let g = Gauge::with_opts(opts).map_err(metrics_err)?;
        g.set(samples[0].1);
        return reg.register(Box::new(g)).map_err(metrics_err);
    }
    let names: Vec<&str> = first.iter().map(|(k, _)| *k).collect();
    let gv = GaugeVec::new(opts, &names).map_err(metrics_err)?;
    for (labels, v) in samples {
        let values: Vec<&str> = labels.iter().map(|(_, v)| v.as_str()).collect();
        gv.get_metric_with_label_values(&values)
            .map_err(metrics_err)?
            .set(*v);
    }
    reg.register(Box::new(gv)).map_err(metrics_err)
}

/// Prometheus text exposition of a report's gauges, e.g.
///
/// ```text
/// # HELP storecast_live_rmspe Live RMSPE of issued forecasts against actuals.
/// # TYPE storecast_live_rmspe gauge
/// storecast_live_rmspe{scope="chain"} 0.101
/// storecast_live_rmspe{scope="type a"} 0.097
/// # HELP storecast_feature_psi Population stability index of a model input ...
/// # TYPE storecast_feature_psi gauge
/// storecast_feature_psi{feature="promo"} 0.03
/// # HELP storecast_cusum_alarms Stores whose forecast-error CUSUM raised an alarm.
/// # TYPE storecast_cusum_alarms gauge
/// storecast_cusum_alarms 2
/// ```
pub fn prometheus_gauges(report: &MonitorReport) -> Result<String, MonitorError> {
    let reg = Registry::new();
    let out = &reg;
    let live = &report.live;
    let mut scopes = vec![("chain".to_string(), live.overall)];
    scopes.extend(
        live.by_store_type
            .iter()
            .map(|t| (format!("type {}", t.store_type), t.accuracy)),
    );
    let per_scope = |f: &dyn Fn(&crate::Accuracy) -> f64| -> Vec<Sample> {
        scopes
            .iter()
            .map(|(s, a)| (vec![("scope", s.clone())], f(a)))
            .collect()
    };
    if let Some(v) = &report.model_version {
        family(
            out,
            "storecast_monitor_info",
            "Model version judged by the last monitoring run (value 1).",
            &[(vec![("model_version", v.clone())], 1.0)],
        )?;
    }
    family(
        out,
        "storecast_live_rmspe",
        "Live RMSPE of issued forecasts against actuals.",
        &per_scope(&|a| a.rmspe),
    )?;
    family(
        out,
        "storecast_live_rmspe_threshold",
        "RMSPE above which the chain and store types alert.",
        &[(Vec::new(), report.thresholds.rmspe)],
    )?;
    family(
        out,
        "storecast_live_wape",
        "Live WAPE (sum of absolute errors over sum of actuals).",
        &per_scope(&|a| a.wape),
    )?;
    family(
        out,
        "storecast_live_bias",
        "Live bias, sum(forecast - actual) / sum(actual); positive = over-forecast.",
        &per_scope(&|a| a.bias),
    )?;
    let mut coverage = Vec::new();
    for (s, a) in &scopes {
        coverage.push((
            vec![("scope", s.clone()), ("level", "80".into())],
            a.cover80,
        ));
        coverage.push((
            vec![("scope", s.clone()), ("level", "95".into())],
            a.cover95,
        ));
    }
    family(
        out,
        "storecast_live_coverage",
        "Share of actuals (0..1) inside the issued prediction band of the given level.",
        &coverage,
    )?;
    family(
        out,
        "storecast_live_scored_days",
        "Store-days with actual sales > 0 scored by the monitor.",
        &per_scope(&|a| a.n as f64),
    )?;
    let psi: Vec<Sample> = report
        .drift
        .iter()
        .map(|d| (vec![("feature", d.feature.clone())], d.psi))
        .collect();
    family(
        out,
        "storecast_feature_psi",
        "Population stability index of a model input against the same weeks a year earlier.",
        &psi,
    )?;
    if !report.drift.is_empty() {
        let count = |l: DriftLevel| report.drift.iter().filter(|d| d.level == l).count() as f64;
        let levels: Vec<Sample> = [DriftLevel::Ok, DriftLevel::Warn, DriftLevel::Alert]
            .into_iter()
            .map(|l| (vec![("level", l.as_str().to_string())], count(l)))
            .collect();
        family(
            out,
            "storecast_drift_features",
            "Model inputs by drift level.",
            &levels,
        )?;
    }
    family(
        out,
        "storecast_cusum_alarms",
        "Stores whose forecast-error CUSUM raised an alarm.",
        &[(Vec::new(), report.cusum_alarms as f64)],
    )?;
    let cusum_max = report.cusum.iter().map(|c| c.max()).fold(0.0f64, f64::max);
    family(
        out,
        "storecast_cusum_max",
        "Largest CUSUM statistic of any store (in sigma; alarm above the threshold h).",
        &[(Vec::new(), cusum_max)],
    )?;
    let alerts: Vec<Sample> = AlertKind::ALL
        .iter()
        .map(|k| {
            (
                vec![("kind", (*k).to_string())],
                report.alert_count(*k) as f64,
            )
        })
        .collect();
    family(
        out,
        "storecast_monitor_alerts",
        "Threshold breaches found by the last monitoring run, by kind.",
        &alerts,
    )?;
    let mut text = Vec::new();
    TextEncoder::new()
        .encode(&reg.gather(), &mut text)
        .map_err(metrics_err)?;
    String::from_utf8(text).map_err(|e| MonitorError::Metrics(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accuracy::tests::{date, row};
    use crate::drift::FeatureDrift;
    use crate::{evaluate, MonitorConfig};
    use chrono::Duration;
    use std::collections::{BTreeMap, HashSet};
    use storecast_data::StoreType;
    use storecast_model::Driver;

    /// One parsed sample line.
    #[derive(Debug)]
    struct Line {
        name: String,
        labels: Vec<(String, String)>,
        value: f64,
    }

    fn is_name(s: &str) -> bool {
        let mut c = s.chars();
        c.next()
            .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == ':')
            && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == ':')
    }

    /// Parses `name{k="v",...} value` strictly (the text exposition format).
    fn parse_sample(line: &str) -> Result<Line, String> {
        let end = line.find(['{', ' ']).ok_or("no value")?;
        let name = &line[..end];
        if !is_name(name) {
            return Err(format!("bad metric name {name:?}"));
        }
        let mut rest = &line[end..];
        let mut labels = Vec::new();
        if let Some(r) = rest.strip_prefix('{') {
            let mut chars = r.char_indices().peekable();
            loop {
                let start = chars.peek().map(|c| c.0).ok_or("unterminated labels")?;
                let eq = r[start..].find('=').ok_or("label without =")? + start;
                let key = &r[start..eq];
                if !is_name(key) || key.contains(':') {
                    return Err(format!("bad label name {key:?}"));
                }
                while chars.peek().is_some_and(|c| c.0 <= eq) {
                    chars.next();
                }
                if chars.next().map(|c| c.1) != Some('"') {
                    return Err("label value not quoted".into());
                }
                let mut val = String::new();
                loop {
                    match chars.next().ok_or("unterminated label value")?.1 {
                        '\\' => match chars.next().ok_or("dangling escape")?.1 {
                            'n' => val.push('\n'),
                            c @ ('\\' | '"') => val.push(c),
                            c => return Err(format!("bad escape \\{c}")),
                        },
                        '"' => break,
                        '\n' => return Err("raw newline in label".into()),
                        c => val.push(c),
                    }
                }
                labels.push((key.to_string(), val));
                match chars.next().ok_or("unterminated labels")? {
                    (_, ',') => {}
                    (i, '}') => {
                        rest = &r[i + 1..];
                        break;
                    }
                    (_, c) => return Err(format!("unexpected {c:?} after a label")),
                }
            }
        }
        let v = rest.strip_prefix(' ').ok_or("no space before the value")?;
        let value = match v {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            _ => v.parse().map_err(|_| format!("bad value {v:?}"))?,
        };
        Ok(Line {
            name: name.to_string(),
            labels,
            value,
        })
    }

    /// Checks the whole text: HELP then TYPE before each family, families contiguous, no
    /// duplicate series. Returns the samples.
    fn parse(text: &str) -> Result<Vec<Line>, String> {
        let mut typed: Vec<String> = Vec::new();
        let mut helped = HashSet::new();
        let mut series = HashSet::new();
        let mut current: Option<String> = None;
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let err = |e: String| format!("line {}: {e}: {line:?}", i + 1);
            if let Some(r) = line.strip_prefix("# HELP ") {
                let (name, help) = r
                    .split_once(' ')
                    .ok_or_else(|| err("HELP without text".into()))?;
                if !is_name(name) || help.is_empty() || !helped.insert(name.to_string()) {
                    return Err(err("bad or repeated HELP".into()));
                }
            } else if let Some(r) = line.strip_prefix("# TYPE ") {
                let (name, kind) = r
                    .split_once(' ')
                    .ok_or_else(|| err("TYPE without kind".into()))?;
                if kind != "gauge" || typed.iter().any(|t| t == name) || !helped.contains(name) {
                    return Err(err("bad or repeated TYPE, or TYPE before HELP".into()));
                }
                typed.push(name.to_string());
                current = Some(name.to_string());
            } else {
                let s = parse_sample(line).map_err(err)?;
                if current.as_deref() != Some(s.name.as_str()) {
                    return Err(err("sample outside its family".into()));
                }
                let key = format!("{}{:?}", s.name, s.labels);
                if !series.insert(key) {
                    return Err(err("duplicate series".into()));
                }
                out.push(s);
            }
        }
        Ok(out)
    }

    fn get(lines: &[Line], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        lines
            .iter()
            .find(|l| {
                l.name == name
                    && l.labels.len() == labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| l.labels.iter().any(|(a, b)| a == k && b == v))
            })
            .map(|l| l.value)
    }

    #[test]
    fn gauges_parse_line_by_line_and_carry_the_report_numbers() -> Result<(), String> {
        let cfg = MonitorConfig::default();
        let mut rows = Vec::new();
        for d in 0..28i32 {
            for s in 1..=2u16 {
                let f = 1000.0;
                // Store 2 drops 30 % after a week: a CUSUM alarm.
                let a = if s == 2 && d >= 7 {
                    700
                } else {
                    1000 + 10 * (d % 3)
                };
                rows.push(row(
                    s,
                    date(2015, 8, 3) + Duration::days(i64::from(d)),
                    f,
                    a,
                ));
            }
        }
        // A closed day with no scored rows left in its week is fine; a store without a type too.
        rows.push(row(3, date(2015, 8, 3), 500.0, 0));
        let types: BTreeMap<u16, StoreType> = [(1, StoreType::A), (2, StoreType::C)].into();
        let drift = vec![
            FeatureDrift {
                feature: "promo".into(),
                driver: Driver::Promotion,
                psi: 0.03,
                level: DriftLevel::Ok,
                reference_n: 10,
                current_n: 10,
                reference_missing: 0.0,
                current_missing: 0.0,
            },
            FeatureDrift {
                feature: "weird \"name\"\\x".into(),
                driver: Driver::Trend,
                psi: f64::NAN,
                level: DriftLevel::Ok,
                reference_n: 0,
                current_n: 0,
                reference_missing: 0.0,
                current_missing: 0.0,
            },
        ];
        let mut report = evaluate(&rows, &types, None, drift, &cfg).map_err(|e| e.to_string())?;
        // The version label must be escaped too.
        report.model_version = Some("2015-07-31-\"x\"".into());
        let text = prometheus_gauges(&report).map_err(|e| e.to_string())?;
        let lines = parse(&text)?;
        let chain = report.live.overall;
        assert_eq!(
            get(&lines, "storecast_live_rmspe", &[("scope", "chain")]),
            Some(chain.rmspe)
        );
        assert_eq!(
            get(
                &lines,
                "storecast_live_coverage",
                &[("scope", "type c"), ("level", "95")]
            ),
            Some(report.live.by_store_type[1].accuracy.cover95)
        );
        assert_eq!(
            get(&lines, "storecast_live_scored_days", &[("scope", "chain")]),
            Some(56.0)
        );
        assert_eq!(
            get(&lines, "storecast_feature_psi", &[("feature", "promo")]),
            Some(0.03)
        );
        assert!(get(
            &lines,
            "storecast_feature_psi",
            &[("feature", "weird \"name\"\\x")]
        )
        .is_some_and(f64::is_nan));
        assert_eq!(get(&lines, "storecast_cusum_alarms", &[]), Some(1.0));
        assert_eq!(
            get(&lines, "storecast_drift_features", &[("level", "ok")]),
            Some(2.0)
        );
        assert_eq!(
            get(&lines, "storecast_monitor_alerts", &[("kind", "cusum")]),
            Some(1.0)
        );
        assert_eq!(
            get(
                &lines,
                "storecast_monitor_info",
                &[("model_version", "2015-07-31-\"x\"")]
            ),
            Some(1.0)
        );
        assert!(
            text.contains("storecast_live_rmspe{scope=\"chain\"} 0."),
            "{text}"
        );
        assert!(text.contains("storecast_cusum_alarms 1\n"), "{text}");
        Ok(())
    }

    #[test]
    fn the_checker_rejects_malformed_text() {
        for bad in [
            "storecast_x{scope=\"a\"} \n",
            "# HELP m h\n# TYPE m gauge\nm{scope=a} 1\n",
            "# HELP m h\n# TYPE m gauge\nm{scope=\"a\" 1\n",
            "# HELP m h\n# TYPE m gauge\nm 1\nm 2\n",
            "# HELP m h\n# TYPE m gauge\nm 1\n# HELP n h\n# TYPE n gauge\nn 1\nm 2\n",
            "m 1\n",
        ] {
            assert!(parse(bad).is_err(), "accepted {bad:?}");
        }
        assert!(parse("# HELP m h\n# TYPE m gauge\nm{a=\"x\\\"y\",b=\"\"} -1.5e-3\n").is_ok());
    }
}
