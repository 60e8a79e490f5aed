//! `storecast serve` and `storecast demo`: build the app's state (data, validation, model,
//! reports, database) and serve it; the demo first runs the whole pipeline.

use crate::cli::{AppArgs, DataArgs};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;
use storecast_data::ChainData;
use storecast_model::backtest::BacktestResult;
use storecast_model::ModelArtifact;
use storecast_store::{Registry, Role, Store};
use storecast_validate::{render, validate, ValidateConfig};
use storecast_web::{AppState, LaunchSettings, ModelSource};

/// Builds the state through the web crate's builder and serves until stopped.
fn run_app(
    chain: ChainData,
    validation: storecast_validate::ValidationReport,
    artifact: ModelArtifact,
    source: ModelSource,
    app: &AppArgs,
) -> Result<ExitCode> {
    let addr: std::net::SocketAddr = app
        .addr
        .parse()
        .with_context(|| format!("--addr {:?} is not host:port", app.addr))?;
    if app.no_auth && !addr.ip().is_loopback() {
        bail!("--no-auth is only allowed on a loopback address, not {addr}");
    }
    if artifact.data_fingerprint != chain.fingerprint {
        eprintln!(
            "warning: the model {} was trained on other data (fingerprint {}…) than the data served ({}…): check --data",
            artifact.model_version,
            artifact.data_fingerprint.chars().take(12).collect::<String>(),
            chain.fingerprint.chars().take(12).collect::<String>()
        );
    }
    let t = Instant::now();
    let (reports, analysis) =
        storecast_web::read_reports(app.reports.as_deref().unwrap_or(Path::new(".")));
    let mut builder = AppState::builder(chain, validation, artifact)
        .reports(if app.reports.is_some() {
            reports
        } else {
            Vec::new()
        })
        .analysis(analysis)
        .web(storecast_web::auth::WebSecurity {
            https: app.https_proxy,
            ..Default::default()
        });
    if app.no_auth {
        builder = builder.without_auth();
    } else {
        let s = Store::open(&app.db)
            .with_context(|| format!("opening the database {}", app.db.display()))?;
        if s.list_users()?.iter().all(|u| !u.is_active()) {
            eprintln!("note: no users yet: create one with `storecast users add NAME --role admin --db {}`", app.db.display());
        }
        builder = builder.store(s);
    }
    let state = builder.build()?;
    eprintln!("app ready in {:.1} s", t.elapsed().as_secs_f64());
    let settings = LaunchSettings {
        explain_cache: app.explain_cache.clone(),
        monitor_prom: app.monitor_prom.clone(),
    };
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        println!("storecast is serving on http://{addr}/  (Ctrl-C to stop)");
        storecast_web::launch(state, source, settings, listener, |line| {
            eprintln!("{line}")
        })
        .await
        .context("serving")
    })?;
    Ok(ExitCode::SUCCESS)
}

pub fn serve(data: &DataArgs, app: &AppArgs) -> Result<ExitCode> {
    let load = crate::input::load(data)?;
    let validation = validate(&load, &ValidateConfig::default());
    let chain = load
        .into_strict()
        .context("the data has rows that do not parse; run `storecast validate`")?;
    let (artifact, source) = storecast_web::choose_model(
        &app.registry,
        app.model.as_deref(),
        Path::new("models/model.json"),
    )?;
    eprintln!("{}", source.note);
    run_app(chain, validation, artifact, source, app)
}

fn step(n: usize, text: &str) {
    eprintln!("\n== {n}. {text}");
}

pub fn demo(data: &DataArgs, out: &Path, addr: &str, no_serve: bool) -> Result<ExitCode> {
    let t0 = Instant::now();
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let reports_dir = out.join("reports");
    std::fs::create_dir_all(&reports_dir)?;

    step(1, "validate the data");
    let load = crate::input::load(data)?;
    let report = validate(&load, &ValidateConfig::default());
    print!("{}", render::to_text(&report, 1));
    crate::cmd::write_file(
        &out.join("validation.json"),
        render::to_json(&report)?.as_bytes(),
    )?;
    crate::cmd::write_file(
        &out.join("validation.html"),
        render::to_html(&report)?.as_bytes(),
    )?;
    step(2, "statistical analysis for sales teams");
    let analysis = crate::cmd::analyze::write(&load, out)?;
    crate::cmd::write_file(
        &reports_dir.join("analysis.body.html"),
        storecast_analysis::body_html(&analysis).as_bytes(),
    )?;
    crate::cmd::write_file(
        &reports_dir.join("analysis.json"),
        storecast_analysis::to_json(&analysis)?.as_bytes(),
    )?;
    for h in analysis.headlines.iter().take(5) {
        eprintln!("  {}. {}", h.rank, h.text);
    }
    let chain = load
        .into_strict()
        .context("the data has rows that do not parse")?;

    step(
        3,
        "model: reuse the one trained on this data, or backtest and train",
    );
    let model_path = out.join("model.json");
    let bt_path = out.join("backtest.json");
    let registry = Registry::open(out.join("registry")).context("opening the registry")?;
    let reuse = ModelArtifact::load(&model_path)
        .ok()
        .filter(|a| a.data_fingerprint == chain.fingerprint && registry.verify(a).is_ok())
        .zip(
            std::fs::read(&bt_path)
                .ok()
                .and_then(|b| serde_json::from_slice::<BacktestResult>(&b).ok()),
        );
    let (artifact, backtest) = match reuse {
        Some((a, bt)) => {
            eprintln!(
                "reusing {} (trained on this data); delete {} to retrain",
                a.model_version,
                model_path.display()
            );
            (a, bt)
        }
        None => {
            eprintln!("training (3 rolling backtest folds, a same-season fold and the final fit; about 7 minutes on 2 cores for the full chain)");
            let settings = storecast_pipeline::TrainSettings {
                backtest: storecast_pipeline::backtest_config(&Default::default()),
                out: model_path.clone(),
                registry: out.join("registry"),
            };
            let mut bars = crate::progress::Bars::new(false);
            let trained = storecast_pipeline::train(&chain, &settings, &mut bars)?;
            drop(bars);
            crate::cmd::model::print_table(&trained.backtest);
            crate::cmd::write_file(&bt_path, &serde_json::to_vec(&trained.backtest)?)?;
            (trained.artifact, trained.backtest)
        }
    };
    let reg = registry.register(&artifact)?;
    if registry.current_version()?.as_deref() != Some(reg.version.as_str()) {
        registry.promote(&reg.version)?;
    }

    step(4, "reports: methodology and business performance");
    let doc = storecast_reports::methodology(
        &backtest,
        &artifact.coverage,
        &chain.origin,
        Some(&artifact.model_version),
    );
    crate::cmd::write_file(&out.join("methodology.html"), doc.to_html().as_bytes())?;
    crate::cmd::write_file(&out.join("methodology.md"), doc.to_markdown().as_bytes())?;
    crate::cmd::write_file(
        &reports_dir.join("methodology.body.html"),
        doc.body_html().as_bytes(),
    )?;

    eprintln!("business report");
    let business = storecast_reports::business(
        &backtest,
        &artifact.coverage,
        &Default::default(),
        &chain.origin,
        Some(&artifact.model_version),
    );
    storecast_reports::business::write_report(&business, out)?;
    crate::cmd::write_file(
        &reports_dir.join("business.body.html"),
        business.body_html().as_bytes(),
    )?;

    step(5, "forecast the store-days of test.csv");
    let requests = chain.requests.clone().context("no test.csv in the data")?;
    let forecaster = storecast_model::Forecaster::new(artifact.clone())?;
    let sc = storecast_model::Scenario::new(&chain.history, &requests)?;
    let rows = forecaster.forecast_requests(&sc, &chain.stores, &requests)?;
    let mut csv = String::from("Id,Sales,lo80,hi80,lo95,hi95\n");
    for (r, f) in requests.rows.iter().zip(&rows) {
        let i = f.interval;
        csv.push_str(&format!(
            "{},{:.2},{:.2},{:.2},{:.2},{:.2}\n",
            r.id, f.sales, i.lo80, i.hi80, i.lo95, i.hi95
        ));
    }
    crate::cmd::write_file(&out.join("submission.csv"), csv.as_bytes())?;
    eprintln!(
        "wrote {} forecasts to {}",
        rows.len(),
        out.join("submission.csv").display()
    );

    // Database with a local admin for the demo; the issued forecasts are recorded for monitoring.
    let db = out.join("storecast.db");
    let store = Store::open(&db)?;
    let issued: Vec<storecast_store::ForecastRow> = rows
        .iter()
        .filter(|f| f.open)
        .map(storecast_store::ForecastRow::from)
        .collect();
    let rec = store.record_forecasts("demo", &artifact.model_version, &issued)?;
    eprintln!(
        "recorded {} issued forecasts ({} new) in {}",
        issued.len(),
        rec.inserted,
        db.display()
    );
    let token = match store.user("demo-admin")? {
        Some(_) => store.rotate_token("demo", "demo-admin")?.1,
        None => store.add_user("demo", "demo-admin", Role::Admin)?.1,
    };
    eprintln!(
        "\npipeline done in {:.0} s; outputs in {}",
        t0.elapsed().as_secs_f64(),
        out.display()
    );
    if no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "\nSign in at http://{addr}/login with the demo admin token:\n\n    {}\n",
        token.expose()
    );
    let app = AppArgs {
        model: Some(model_path),
        registry: out.join("registry"),
        db,
        addr: addr.to_string(),
        reports: Some(reports_dir),
        no_auth: false,
        monitor_prom: None,
        explain_cache: None,
        https_proxy: false,
    };
    let source = ModelSource {
        dir: out.to_path_buf(),
        follow: None,
        note: String::new(),
    };
    run_app(chain, report, artifact, source, &app)
}
