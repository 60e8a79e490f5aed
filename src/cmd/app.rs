//! `storecast serve` and `storecast demo`: the app on a model the web crate chooses, and the
//! demo job (validate → analyze → model → reports → forecast → database) before it.

use crate::cli::{AppArgs, DataArgs, DemoArgs, MODEL_FILE};
use crate::cmd::load;
use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;
use storecast_validate::{render, validate, ValidateConfig};
use storecast_web::{ModelSource, ServeSettings};

/// The operator's lines from the server, on stderr.
fn log(line: String) {
    eprintln!("{line}");
}

pub fn serve(data: &DataArgs, app: &AppArgs) -> Result<ExitCode> {
    let load = load(data)?;
    let validation = validate(&load, &ValidateConfig::default());
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
    let secs = t0.elapsed().as_secs_f64();
    eprintln!(
        "\npipeline done in {secs:.0} s; outputs in {}",
        out.display()
    );
    if a.no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    let token = d.token.expose();
    println!("\nSign in at http://{addr}/login with the demo admin token:\n\n    {token}\n");
    let settings = ServeSettings {
        addr,
        db: d.paths.db.clone(),
        reports: Some(d.paths.reports.clone()),
        no_auth: false,
        https_proxy: false,
        launch: Default::default(),
    };
    let source = ModelSource {
        dir: out.to_path_buf(),
        follow: None,
        note: String::new(),
    };
    storecast_web::serve_blocking(d.chain, d.validation, d.artifact, source, settings, log)
        .context("serving")?;
    Ok(ExitCode::SUCCESS)
}
