//! `storecast serve` and `storecast demo`: build the app's state (data, validation, model,
//! reports, database) and serve it; the demo first runs the whole pipeline.

use crate::cli::{AppArgs, DataArgs};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;
use storecast_data::ChainData;
use storecast_model::ModelArtifact;
use storecast_store::Store;
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

pub fn demo(data: &DataArgs, out: &Path, addr: &str, no_serve: bool) -> Result<ExitCode> {
    let t0 = Instant::now();
    let load = crate::input::load(data)?;
    eprintln!("demo: validate → analyze → model (reused when trained on this data, else about 7 minutes on 2 cores for the full chain) → reports → forecast → database");
    let mut bars = crate::progress::Bars::new(false);
    let d = storecast_pipeline::demo(load, out, &mut bars)?;
    drop(bars);
    print!("{}", render::to_text(&d.validation, 1));
    for (i, h) in d.headlines.iter().take(5).enumerate() {
        eprintln!("  {}. {h}", i + 1);
    }
    if d.reused {
        eprintln!(
            "reused {} (trained on this data); delete {} to retrain",
            d.artifact.model_version,
            d.paths.model.display()
        );
    } else {
        crate::render::backtest_table(&d.backtest);
    }
    eprintln!(
        "wrote {} forecasts to {}; recorded {} new issued forecasts in {}",
        d.forecasts,
        out.join("submission.csv").display(),
        d.recorded,
        d.paths.db.display()
    );
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
        d.token.expose()
    );
    let app = AppArgs {
        model: Some(d.paths.model.clone()),
        registry: d.paths.registry.clone(),
        db: d.paths.db.clone(),
        addr: addr.to_string(),
        reports: Some(d.paths.reports.clone()),
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
    run_app(d.chain, d.validation, d.artifact, source, &app)
}
