//! Operations: users, the audit log, the model registry, ingestion of actuals, monitoring,
//! retraining, the operations daemon and the replay. The jobs (and their audit rows) are the pipeline's; this prints their results.

use crate::cli::{
    AuditCommand, IngestArgs, ModelArgs, ModelsCommand, OpsArgs, OpsDaemonArgs, OutputArgs,
    ReplayArgs, UsersCommand,
};
use crate::cmd::{load, print_json, write_file};
use crate::render::outln;
use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;
use storecast_pipeline::models::{self, process_actor as actor};
use storecast_pipeline::{ops::monitor_config, Delivery, Ingested};
use storecast_store::{Registry, Role, Store, Switch};

fn open_db(db: &Path) -> Result<Store> {
    Store::open(db).with_context(|| format!("opening the database {}", db.display()))
}

/// `--` for a missing value, else the value after `prefix`.
fn opt(prefix: &str, value: Option<impl std::fmt::Display>) -> String {
    value.map_or(String::new(), |v| format!("{prefix}{v}"))
}

pub fn users(db: &Path, what: UsersCommand) -> Result<ExitCode> {
    let store = open_db(db)?;
    match what {
        UsersCommand::Add {
            name,
            role,
            stores,
            expires,
        } => {
            let role = Role::parse(&role, &stores)?;
            let (user, token) = store.add_user_expiring(&actor(), &name, role, expires)?;
            let (kind, exp) = (user.role.kind(), opt(", expires ", user.expires_at));
            let token = token.expose();
            outln!(
                "created {} ({kind}{exp}); token (shown once, store it safely):",
                user.name
            );
            outln!("{token}");
        }
        UsersCommand::List => {
            for u in store.list_users()? {
                let scope = u
                    .role
                    .stores()
                    .map_or("all stores".to_string(), |s| format!("stores {s:?}"));
                let (revoked, expires) = (
                    opt(", revoked ", u.revoked_at),
                    opt(", expires ", u.expires_at),
                );
                let (name, kind, at) = (&u.name, u.role.kind(), &u.created_at);
                outln!("{name:<20} {kind:<9} {scope:<20} created {at}{revoked}{expires}");
            }
        }
        UsersCommand::Revoke { name } => {
            let u = store.revoke_user(&actor(), &name)?;
            outln!("revoked {}", u.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn audit(db: &Path, what: AuditCommand) -> Result<ExitCode> {
    let store = Store::open_existing(db)
        .with_context(|| format!("opening the database {}", db.display()))?;
    match what {
        AuditCommand::Show { limit } => {
            for e in store.audit_log(limit)? {
                let (at, who, action, target) = (&e.at, &e.actor, &e.action, &e.target);
                outln!("{at} {who:<12} {action:<22} {target:<24} {}", e.details);
            }
        }
        AuditCommand::Corrections => {
            for c in store.corrections()? {
                outln!(
                    "{} {:<12} store {:>4} {}  {} -> {}  ({})",
                    c.at,
                    c.actor,
                    c.store,
                    c.date,
                    c.previous,
                    c.corrected,
                    c.reason
                );
            }
        }
        AuditCommand::Verify => {
            let v = store.verify_audit()?;
            if let Some(b) = v.first_bad {
                outln!("audit log broken at row {}: {}", b.id, b.problem);
                return Ok(ExitCode::from(1));
            }
            let rows = v.rows;
            outln!("audit log intact: {rows} rows, chain and keyed head hold");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// "X (was Y)" of a registry switch.
fn switched(s: Switch) -> String {
    format!("{} (was {})", s.to, s.from.unwrap_or_else(|| "none".into()))
}

pub fn models(registry: &Path, db: &Path, what: ModelsCommand) -> Result<ExitCode> {
    let reg = Registry::open(registry)
        .with_context(|| format!("opening the registry {}", registry.display()))?;
    match what {
        ModelsCommand::List { json: true } => print_json(&reg.list()?)?,
        ModelsCommand::List { json: false } => {
            for v in reg.list()? {
                let fingerprint: String = v.data_fingerprint.chars().take(12).collect();
                let rmspe = v.last_fold_rmspe.map_or("–".into(), |r| format!("{r:.4}"));
                let mark = if v.active { "*" } else { " " };
                let problem = opt("  PROBLEM: ", v.problem);
                let (version, at) = (&v.version, &v.trained_at);
                outln!("{mark} {version:<28} trained {at} on data {fingerprint}… last-fold RMSPE {rmspe}{problem}");
            }
        }
        ModelsCommand::Register { file } => {
            let r = models::register(&reg, &open_db(db)?, &file, &actor())?;
            let again = if r.already_present {
                " (already present)"
            } else {
                ""
            };
            outln!("registered {}{again}", r.version);
        }
        ModelsCommand::Promote { version } => {
            let s = models::promote(&reg, &open_db(db)?, &version, &actor(), None)?;
            outln!("active model: {}", switched(s));
        }
        ModelsCommand::Sign { file } => {
            let version = models::sign(&reg, &open_db(db)?, &file, &actor())?;
            outln!("signed {version} with the key of {}", registry.display());
        }
        ModelsCommand::Rollback => {
            let s = models::rollback(&reg, &open_db(db)?, &actor())?;
            outln!("rolled back to {}", switched(s));
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn ingest(a: &IngestArgs) -> Result<ExitCode> {
    let chain = load(&a.data)?.data;
    let store = open_db(&a.db.path)?;
    let file = &a.file;
    let bytes = storecast_data::read_bounded(file)
        .with_context(|| format!("reading {}", file.display()))?;
    let name = file
        .file_name()
        .map_or("actuals.csv".into(), |n| n.to_string_lossy().into_owned());
    let actor = actor();
    let delivery = Delivery {
        bytes: &bytes,
        name: &name,
        actor: &actor,
    };
    let options = storecast_store::IngestOptions {
        accept_implausible: a.accept_implausible.clone(),
        correct: a.correct.clone(),
        only_stores: None,
    };
    match storecast_pipeline::ingest(&store, delivery, &chain.stores, &options)? {
        Ingested::Stored(o) if a.output.json => {
            print_json(&serde_json::json!({"stored": true, "ingestion": o}))?;
        }
        Ingested::Stored(o) => {
            let corrected = if o.corrected > 0 {
                format!(", {} corrected (previous values kept)", o.corrected)
            } else {
                String::new()
            };
            outln!(
                "{}: {} rows, {} new, {} already stored (unchanged){corrected}",
                o.file_name,
                o.rows,
                o.inserted,
                o.unchanged
            );
        }
        Ingested::Refused(report) => {
            if a.output.json {
                print_json(&serde_json::json!({"stored": false, "report": report}))?;
            } else {
                for line in storecast_validate::render::to_text(&report, 3).lines() {
                    outln!("{line}");
                }
            }
            let shown = crate::render::clean(&file.display().to_string()).into_owned();
            eprintln!("refused: {shown} was not ingested (nothing written)");
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn monitor(ops: &OpsArgs, json: Option<&Path>, prom: Option<&Path>) -> Result<ExitCode> {
    let cfg = monitor_config(ops.config.as_deref())?;
    let store = open_db(&ops.db.path)?;
    let reg = Registry::open(&ops.registry)?;
    let run = storecast_pipeline::monitor(&store, &reg, load(&ops.data)?.data, &cfg)?;
    if let Some(p) = prom {
        let gauges = storecast_monitor::prometheus_gauges(&run.report)?;
        write_file(p, gauges.as_bytes())?;
    }
    if json == Some(Path::new("-")) {
        print_json(
            &serde_json::json!({"version": run.version, "report": run.report,
            "new_alerts": run.fresh.len(), "open_alerts": run.open}),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let o = &run.report.live.overall;
    outln!(
        "model {}: {} scored store-days; RMSPE {:.4}, WAPE {:.1}%, bias {:+.1}%, coverage 80% {:.1}%, 95% {:.1}%",
        run.version,
        o.n,
        o.rmspe,
        o.wape * 100.0,
        o.bias * 100.0,
        o.cover80 * 100.0,
        o.cover95 * 100.0
    );
    if let Some(why) = &run.report.drift_unavailable {
        outln!("{why}");
    }
    let (alarms, alerts) = (run.report.cusum_alarms, run.report.alerts.len());
    outln!(
        "{alarms} CUSUM alarms; {alerts} alerts ({} new)",
        run.fresh.len()
    );
    for a in &run.open {
        outln!("  ALERT {:<10} {:<18} {}", a.kind, a.scope, a.message);
    }
    if let Some(p) = json {
        write_file(p, &serde_json::to_vec_pretty(&run.report)?)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn retrain(ops: &OpsArgs, args: &ModelArgs, output: OutputArgs) -> Result<ExitCode> {
    let cfg = monitor_config(ops.config.as_deref())?;
    let store = open_db(&ops.db.path)?;
    let reg = Registry::open(&ops.registry)?;
    let base = load(&ops.data)?.data;
    let mut bars = output.bars();
    let bt = args.backtest();
    let r = storecast_pipeline::retrain(&store, &reg, base, &bt, &cfg, &actor(), &mut bars)?;
    drop(bars);
    if output.json {
        let scores = storecast_pipeline::score_rows(&r.backtest);
        let (version, decision, promoted) = (&r.version, &r.decision, &r.promoted);
        print_json(
            &serde_json::json!({ "version": version, "decision": decision,
            "promoted": promoted, "scores": scores }),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    crate::render::backtest_table(&r.backtest);
    match &r.explanations {
        Some(Ok(f)) => outln!("{f}"),
        Some(Err(e)) => {
            eprintln!("warning: explanations not precomputed ({e}); serve computes them")
        }
        None => {}
    }
    outln!("candidate {}: {}", r.version, r.decision.reason);
    match r.promoted {
        Some(s) => outln!("promoted {}", switched(s)),
        None => outln!("kept the active model"),
    }
    Ok(ExitCode::SUCCESS)
}

pub fn replay(a: &ReplayArgs) -> Result<ExitCode> {
    let chain = crate::cmd::load_strict(&a.data)?;
    let monitor = match &a.config {
        Some(p) => monitor_config(Some(p))?,
        None => {
            let mut cfg = storecast_monitor::MonitorConfig::default();
            cfg.promotion.max_rmspe_increase = 0.02;
            cfg
        }
    };
    let config = if a.full {
        storecast_pipeline::backtest_config(&Default::default())
    } else {
        storecast_pipeline::provisional_config(None)
    };
    if a.out.join("replay.db").exists() {
        anyhow::bail!(
            "{} already holds a replay: choose an empty folder",
            a.out.display()
        );
    }
    let settings = storecast_pipeline::replay::ReplaySettings {
        from: a.from,
        weeks: a.weeks,
        out: a.out.clone(),
        initial: config.clone(),
        ops: storecast_pipeline::operations::OpsSettings {
            monitor,
            retrain: config,
            every_weeks: a.retrain_every,
            early_on: a.early_on.clone(),
            actor: "replay".into(),
        },
    };
    let mut bars = a.output.bars();
    let r = storecast_pipeline::replay::replay(&chain, &settings, &mut bars)?;
    drop(bars);
    if a.output.json {
        print_json(&r)?;
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", crate::render::replay_table(&r));
    eprintln!("wrote {}", a.out.join("replay.json").display());
    Ok(ExitCode::SUCCESS)
}

/// Prints each step of a job once, as a line (a daemon's log, where bars do not fit).
struct StepLines(Option<String>);

impl storecast_pipeline::Progress for StepLines {
    fn report(&mut self, step: &str, _: u64, _: u64) {
        if self.0.as_deref() != Some(step) {
            eprintln!("  step: {step}");
            self.0 = Some(step.to_string());
        }
    }
}

/// One line per processed file.
fn step_line(o: &storecast_pipeline::operations::WeekOutcome) -> String {
    let ingested = match &o.ingested {
        Some(Ok(n)) => format!("{n} new rows stored"),
        Some(Err(why)) => format!("REFUSED: {why}"),
        None => "no file".into(),
    };
    let alerts = o.monitor.as_ref().map_or(0, |m| m.fresh.len());
    let retrain = o.retrain.as_ref().map_or(String::new(), |t| {
        format!("; retrain ({}): {}", t.reason, t.decision)
    });
    let open = o.issued.iter().filter(|f| f.open).count();
    format!(
        "from {}: {open} forecasts issued by {}; {ingested}; {alerts} new alerts{retrain}",
        o.start, o.served
    )
}

pub fn daemon(a: &OpsDaemonArgs) -> Result<ExitCode> {
    if let Err(e) = storecast_pipeline::background::lower_this_thread() {
        eprintln!("warning: could not lower the priority ({e}); operations run at normal priority");
    }
    let monitor = monitor_config(a.ops.config.as_deref())?;
    let store = open_db(&a.ops.db.path)?;
    let reg = Registry::open(&a.ops.registry)?;
    let base = load(&a.ops.data)?.data;
    let settings = storecast_pipeline::operations::OpsSettings {
        monitor,
        retrain: a.model.backtest(),
        every_weeks: a.retrain_every,
        early_on: a.early_on.clone(),
        actor: "ops".into(),
    };
    eprintln!("watching {} for actuals files", a.watch.display());
    loop {
        for file in storecast_pipeline::daemon::pending(&a.watch)? {
            let shown = crate::render::clean(&file.display().to_string()).into_owned();
            eprintln!("{shown}: the operations step");
            let mut lines = StepLines(None);
            match storecast_pipeline::daemon::step_file(
                &store, &reg, &base, &settings, &file, &mut lines,
            ) {
                Ok(o) => outln!("{shown}: {}", step_line(&o)),
                Err(e) if a.once => return Err(e).context(shown),
                Err(e) => eprintln!("error: {shown}: {e:#} (the file stays; next look retries)"),
            }
        }
        if a.once {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(std::time::Duration::from_secs(a.poll.max(1)));
    }
}
