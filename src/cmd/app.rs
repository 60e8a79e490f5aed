//! `storecast serve` and `storecast demo`: the app on a model the web crate chooses, and the
//! demo job (validate → analyze → model → reports → forecast → database) before it.

use crate::cli::{AppArgs, DataArgs, DemoArgs, MODEL_FILE};
use crate::cmd::load;
use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;
use storecast_pipeline::{DemoResult, DemoSettings, DemoStart, FirstModel};
use storecast_validate::render;
use storecast_web::ServeSettings;

/// The operator's lines from the server, on stderr.
fn log(line: String) {
    eprintln!("{line}");
}

pub fn serve(data: &DataArgs, app: &AppArgs) -> Result<ExitCode> {
    let load = load(data)?;
    let validation = storecast_pipeline::validate(&load, &Default::default())?.report;
    let chain = storecast_pipeline::input::strict(load)?;
    let fallback = Path::new(MODEL_FILE);
    let (artifact, source) =
        storecast_web::choose_model(&app.registry, app.model.as_deref(), fallback)?;
    eprintln!("{}", source.note);
    let settings = app.settings();
    storecast_web::serve_blocking(chain, validation, artifact, source, settings, log)
        .context("serving")?;
    Ok(ExitCode::SUCCESS)
}

pub fn demo(a: &DemoArgs) -> Result<ExitCode> {
    let t0 = Instant::now();
    let (out, addr) = (&a.out, a.addr);
    let load = load(&a.data)?;
    let start = if a.no_serve {
        eprintln!("demo: validate → analyze → model (reused when trained on this data, else about 6 minutes on 2 cores for the full chain) → reports → forecast → database");
        DemoStart::Full
    } else {
        eprintln!("demo: validate → analyze → model (reused when trained on this data, else a provisional model in about 30 s, then serve while the full model trains in the background) → forecast → database → serve");
        DemoStart::Provisional
    };
    let mut bars = crate::progress::Bars::new(false);
    let settings = DemoSettings::new(start);
    let d = storecast_pipeline::demo(load, out, &settings, &mut bars)?;
    drop(bars);
    print!("{}", render::to_text(&d.validation, 1));
    for (i, h) in d.headlines.iter().take(5).enumerate() {
        eprintln!("  {}. {h}", i + 1);
    }
    let version = &d.artifact.model_version;
    match d.first {
        FirstModel::ReusedFull => eprintln!(
            "reused {version} (trained on this data); delete {} to retrain",
            d.paths.model.display()
        ),
        FirstModel::ReusedProvisional => eprintln!("reused the provisional model {version}"),
        FirstModel::TrainedFull | FirstModel::TrainedProvisional => {}
    }
    if let Some(bt) = &d.backtest {
        crate::render::backtest_table(bt);
    }
    eprintln!(
        "wrote {} forecasts to {}; recorded {} new issued forecasts in {}",
        d.forecasts,
        out.join("submission.csv").display(),
        d.recorded,
        d.paths.db.display()
    );
    let secs = t0.elapsed().as_secs_f64();
    eprintln!(
        "\npipeline done in {secs:.0} s; outputs in {}",
        out.display()
    );
    if a.no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    serve_demo(d, settings, addr, t0)
}

/// Serves the demo's model, following its registry; after a provisional start, trains the
/// full model in the background (lowest priority) with its progress in the app and on stderr.
fn serve_demo(
    d: DemoResult,
    demo: DemoSettings,
    addr: std::net::SocketAddr,
    t0: Instant,
) -> Result<ExitCode> {
    let settings = ServeSettings {
        addr,
        db: d.paths.db.clone(),
        reports: Some(d.paths.reports.clone()),
        no_auth: false,
        https_proxy: false,
        locale: Default::default(),
        launch: Default::default(),
    };
    let token = d.token.expose().to_string();
    let bars = crate::progress::Bars::new(false);
    let app = storecast_web::demo_app(d, demo, &settings, |_| Ok(()), bars, log)?;
    println!("\nSign in at http://{addr}/login with the demo admin token:\n\n    {token}\n");
    eprintln!(
        "first page ready {:.0} s after the start",
        t0.elapsed().as_secs_f64()
    );
    storecast_web::serve_state_blocking(app.state, app.source, settings, log).context("serving")?;
    Ok(ExitCode::SUCCESS)
}
