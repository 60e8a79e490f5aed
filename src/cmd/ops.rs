//! Operations: users, the model registry, ingestion of actuals, monitoring and retraining.
//! Every write goes through the storage crate, which audits it in the same transaction;
//! registry changes are audited here.

use crate::cli::{AuditCommand, DataArgs, ModelArgs, ModelsCommand, OpsArgs, UsersCommand};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::ExitCode;
use storecast_data::ChainData;
use storecast_model::backtest::MODEL;
use storecast_model::{training, Forecaster, ModelArtifact, Timeline};
use storecast_monitor::MonitorConfig;
use storecast_store::{Registry, Role, Store};

/// Who runs a CLI command, as the audit log records it: the process's user id as the kernel
/// reports it (the owner of `/proc/self`) with its name from `/etc/passwd`. `$USER`, which
/// anyone can set, is only noted beside it when it disagrees (issue 13: it was the actor).
fn actor() -> String {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
    let name = uid.and_then(passwd_name);
    let who = match (uid, &name) {
        (Some(u), Some(n)) => format!("cli:{n} (uid {u})"),
        (Some(u), None) => format!("cli:uid {u}"),
        (None, _) => "cli".to_string(),
    };
    match std::env::var("USER").ok().filter(|u| !u.is_empty()) {
        Some(claimed) if Some(&claimed) != name.as_ref() => format!("{who}, $USER={claimed}"),
        _ => who,
    }
}

/// The login name of `uid` in `/etc/passwd`.
fn passwd_name(uid: u32) -> Option<String> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        let id: u32 = f.nth(1)?.parse().ok()?;
        (id == uid).then(|| name.to_string())
    })
}

fn open_db(db: &Path) -> Result<Store> {
    Store::open(db).with_context(|| format!("opening the database {}", db.display()))
}

fn monitor_config(path: Option<&Path>) -> Result<MonitorConfig> {
    let cfg: MonitorConfig = match path {
        Some(p) => serde_json::from_slice(
            &std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
        )
        .with_context(|| format!("{} is not a valid monitor config", p.display()))?,
        None => MonitorConfig::default(),
    };
    cfg.validate().context("monitor config")?;
    Ok(cfg)
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
            println!(
                "created {} ({}{}); token (shown once, store it safely):\n{}",
                user.name,
                user.role.kind(),
                user.expires_at
                    .as_deref()
                    .map_or(String::new(), |e| format!(", expires {e}")),
                token.expose()
            );
        }
        UsersCommand::List => {
            for u in store.list_users()? {
                println!(
                    "{:<20} {:<9} {:<20} created {}{}{}",
                    u.name,
                    u.role.kind(),
                    u.role
                        .stores()
                        .map_or("all stores".to_string(), |s| format!("stores {s:?}")),
                    u.created_at,
                    u.revoked_at
                        .map_or(String::new(), |r| format!(", revoked {r}")),
                    u.expires_at
                        .map_or(String::new(), |e| format!(", expires {e}"))
                );
            }
        }
        UsersCommand::Revoke { name } => {
            let u = store.revoke_user(&actor(), &name)?;
            println!("revoked {}", u.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn audit(db: &Path, what: AuditCommand) -> Result<ExitCode> {
    if !db.exists() {
        anyhow::bail!("no database at {}", db.display());
    }
    let store =
        Store::open(db).with_context(|| format!("opening the database {}", db.display()))?;
    match what {
        AuditCommand::Show { limit } => {
            for e in store.audit_log(limit)? {
                println!(
                    "{} {:<12} {:<22} {:<24} {}",
                    e.at, e.actor, e.action, e.target, e.details
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Corrections => {
            for c in store.corrections()? {
                println!(
                    "{} {:<12} store {:>4} {}  {} -> {}  ({})",
                    c.at, c.actor, c.store, c.date, c.previous, c.corrected, c.reason
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify => {
            let v = store.verify_audit()?;
            match v.first_bad {
                None => {
                    println!(
                        "audit log intact: {} rows, chain and keyed head hold",
                        v.rows
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Some(b) => {
                    println!("audit log broken at row {}: {}", b.id, b.problem);
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

/// Copies the explanation table `train` wrote beside `file` into the registry, where `serve`
/// looks for it when it serves the registry's model (a missing table is computed at start).
fn copy_explanations(a: &ModelArtifact, file: &Path, reg: &Registry) {
    let key = storecast_explain::table::CacheKey {
        model_checksum: a.checksum.clone(),
        data_fingerprint: a.data_fingerprint.clone(),
    };
    let dir = crate::cmd::dir_of(file);
    let (from, to) = (key.file_in(dir), key.file_in(reg.dir()));
    if from.exists() && !to.exists() {
        if let Err(e) = std::fs::copy(&from, &to) {
            eprintln!(
                "warning: explanations not copied to the registry ({e}); serve computes them"
            );
        }
    }
}

pub fn models(registry: &Path, db: &Path, what: ModelsCommand) -> Result<ExitCode> {
    let reg = Registry::open(registry)
        .with_context(|| format!("opening the registry {}", registry.display()))?;
    match what {
        ModelsCommand::List => {
            for v in reg.list()? {
                println!(
                    "{} {:<28} trained {} on data {}… last-fold RMSPE {}{}",
                    if v.active { "*" } else { " " },
                    v.version,
                    v.trained_at,
                    v.data_fingerprint.chars().take(12).collect::<String>(),
                    v.last_fold_rmspe.map_or("–".into(), |r| format!("{r:.4}")),
                    v.problem
                        .map_or(String::new(), |p| format!("  PROBLEM: {p}"))
                );
            }
        }
        ModelsCommand::Register { file } => {
            let a = ModelArtifact::load(&file)?;
            let store = open_db(db)?;
            if let Err(e) = reg.verify(&a) {
                store
                    .audit(
                        &actor(),
                        "model.register.refused",
                        &a.model_version,
                        serde_json::json!({"file": file.display().to_string(), "error": e.to_string()}),
                    )
                    .context("auditing the refused registration")?;
                return Err(e).context(format!("registering {}", file.display()));
            }
            let details = serde_json::json!({"file": file.display().to_string()});
            let r = store
                .audited(
                    &actor(),
                    "model.register",
                    &a.model_version,
                    details,
                    || reg.register(&a),
                )
                .context("registering")?;
            copy_explanations(&a, &file, &reg);
            println!(
                "registered {}{}",
                r.version,
                if r.already_present {
                    " (already present)"
                } else {
                    ""
                }
            );
        }
        ModelsCommand::Promote { version } => {
            let store = open_db(db)?;
            let from = reg.current_version()?;
            let s = store
                .audited(
                    &actor(),
                    "model.promote",
                    &version,
                    serde_json::json!({"from": from}),
                    || reg.promote(&version),
                )
                .context("promoting")?;
            println!(
                "active model: {} (was {})",
                s.to,
                s.from.unwrap_or_else(|| "none".into())
            );
        }
        ModelsCommand::Sign { file } => {
            let mut a = ModelArtifact::load(&file)?;
            let store = open_db(db)?;
            reg.sign(&mut a);
            store
                .audited(
                    &actor(),
                    "model.sign",
                    &a.model_version.clone(),
                    serde_json::json!({"file": file.display().to_string(), "checksum": a.checksum}),
                    || a.save(&file),
                )
                .context("signing")?;
            println!(
                "signed {} with the key of {}",
                a.model_version,
                registry.display()
            );
        }
        ModelsCommand::Rollback => {
            let store = open_db(db)?;
            let from = reg.current_version()?;
            let s = store
                .audited(
                    &actor(),
                    "model.rollback",
                    from.as_deref().unwrap_or("none"),
                    serde_json::json!({"from": from}),
                    || reg.rollback(),
                )
                .context("rolling back")?;
            println!(
                "rolled back to {} (was {})",
                s.to,
                s.from.unwrap_or_else(|| "none".into())
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn ingest(
    data: &DataArgs,
    file: &Path,
    db: &Path,
    options: storecast_store::IngestOptions,
    output: crate::cli::OutputArgs,
) -> Result<ExitCode> {
    use storecast_pipeline::{Delivery, Ingested};
    let chain = crate::input::load(data)?.data;
    let store = open_db(db)?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let name = file
        .file_name()
        .map_or("actuals.csv".into(), |n| n.to_string_lossy().into_owned());
    let actor = actor();
    let delivery = Delivery {
        bytes: &bytes,
        name: &name,
        actor: &actor,
    };
    match storecast_pipeline::ingest(&store, delivery, &chain.stores, &options)? {
        Ingested::Stored(o) if output.json => {
            crate::cmd::print_json(&serde_json::json!({"stored": true, "ingestion": o}))?;
            Ok(ExitCode::SUCCESS)
        }
        Ingested::Stored(o) => {
            println!(
                "{}: {} rows, {} new, {} already stored (unchanged){}",
                o.file_name,
                o.rows,
                o.inserted,
                o.unchanged,
                if o.corrected > 0 {
                    format!(", {} corrected (previous values kept)", o.corrected)
                } else {
                    String::new()
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Ingested::Refused(report) => {
            if output.json {
                crate::cmd::print_json(&serde_json::json!({"stored": false, "report": report}))?;
            } else {
                print!("{}", storecast_validate::render::to_text(&report, 3));
            }
            eprintln!(
                "refused: {} was not ingested (nothing written)",
                file.display()
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The chain as the database knows it: ingested actuals plus the store table and plan of the
/// data directory.
fn chain_from_db(data: &DataArgs, store: &Store) -> Result<ChainData> {
    let base = crate::input::load(data)?.data;
    let history = store.history()?;
    if history.is_empty() {
        bail!("the database holds no actuals yet: ingest them first (`storecast ingest --file train.csv`)");
    }
    Ok(ChainData {
        history,
        stores: base.stores,
        requests: base.requests,
        fingerprint: store.actuals_fingerprint()?,
        origin: "ingested actuals".into(),
    })
}

pub fn monitor(ops: &OpsArgs, json: Option<&Path>, prom: Option<&Path>) -> Result<ExitCode> {
    let (data, registry, db, config) = (
        &ops.data,
        ops.registry.as_path(),
        ops.db.as_path(),
        ops.config.as_deref(),
    );
    let cfg = monitor_config(config)?;
    let store = open_db(db)?;
    let reg = Registry::open(registry)?;
    let (version, artifact) = reg.current()?.context("no active model in the registry")?;
    let chain = chain_from_db(data, &store)?;
    let types = storecast_monitor::store_types(&chain.stores);
    let rows = store.forecast_vs_actual(Some(&version))?;
    let drift = match (
        Timeline::build(&chain.history, chain.requests.as_ref()),
        rows.first(),
        rows.last(),
    ) {
        (Some(tl), Some(first), Some(last)) => {
            let origin = tl.day_index(artifact.train_end).map_or(0, |d| d + 1);
            let cur = storecast_monitor::window_cells(
                &tl,
                first.forecast.date.min(last.forecast.date),
                first.forecast.date.max(last.forecast.date),
            );
            let reference = storecast_monitor::seasonal_reference(&tl, &cur);
            storecast_monitor::feature_drift(&tl, &chain.stores, &cur, &reference, origin, &cfg)
                .unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let report = storecast_monitor::evaluate(&rows, &types, Some(&artifact), drift, &cfg)?;
    let fresh = storecast_monitor::fresh_alerts(&report.alerts, &store.alerts(true)?);
    for a in &fresh {
        store.record_alert("monitor", a)?;
    }
    let o = &report.live.overall;
    println!(
        "model {version}: {} scored store-days; RMSPE {:.4}, WAPE {:.1}%, bias {:+.1}%, coverage 80% {:.1}%, 95% {:.1}%",
        o.n,
        o.rmspe,
        o.wape * 100.0,
        o.bias * 100.0,
        o.cover80 * 100.0,
        o.cover95 * 100.0
    );
    println!(
        "{} CUSUM alarms; {} alerts ({} new)",
        report.cusum_alarms,
        report.alerts.len(),
        fresh.len()
    );
    for a in store.alerts(true)? {
        println!("  ALERT {:<10} {:<18} {}", a.kind, a.scope, a.message);
    }
    if let Some(p) = json {
        crate::cmd::write_file(p, &serde_json::to_vec_pretty(&report)?)?;
    }
    if let Some(p) = prom {
        crate::cmd::write_file(p, storecast_monitor::prometheus_gauges(&report).as_bytes())?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn retrain(ops: &OpsArgs, args: &ModelArgs) -> Result<ExitCode> {
    let (data, registry, db, config) = (
        &ops.data,
        ops.registry.as_path(),
        ops.db.as_path(),
        ops.config.as_deref(),
    );
    let cfg = monitor_config(config)?;
    let store = open_db(db)?;
    let reg = Registry::open(registry)?;
    let chain = chain_from_db(data, &store)?;
    let bt_cfg = crate::cmd::model::config(args);
    eprintln!("retraining on {} ingested rows", chain.history.len());
    let trained = training::train(&chain, &bt_cfg, &mut |_| {})?;
    crate::cmd::model::print_table(&trained.backtest);
    let mut cand = trained.artifact;
    reg.sign(&mut cand);
    let decision = match reg.current()? {
        None => storecast_monitor::decide_promotion(&cand, None, &cfg.promotion),
        Some((version, current)) => {
            let fold = storecast_monitor::last_fold_score(&cand, MODEL).map(|(f, _)| f.clone());
            let rescored = fold.and_then(|fold| {
                let f = Forecaster::new(current.clone()).ok()?;
                storecast_monitor::rescore_current(&f, &chain.history, &chain.stores, &fold).ok()
            });
            match rescored {
                Some(m) => storecast_monitor::decide_promotion_rescored(
                    &cand,
                    &version,
                    &m,
                    &cfg.promotion,
                ),
                None => storecast_monitor::decide_promotion(&cand, Some(&current), &cfg.promotion),
            }
        }
    };
    let r = store
        .audited(
            &actor(),
            "model.register",
            &cand.model_version,
            serde_json::json!({"source": "retrain"}),
            || reg.register(&cand),
        )
        .context("registering the candidate")?;
    crate::cmd::model::explain_ahead(&chain, &cand, reg.dir());
    println!("candidate {}: {}", r.version, decision.reason);
    if decision.promote {
        let from = reg.current_version()?;
        let s = store
            .audited(
                &actor(),
                "model.promote",
                &r.version,
                serde_json::json!({"from": from, "reason": decision.reason}),
                || reg.promote(&r.version),
            )
            .context("promoting the candidate")?;
        println!(
            "promoted {} (was {})",
            s.to,
            s.from.unwrap_or_else(|| "none".into())
        );
    } else {
        store.audit(
            &actor(),
            "model.promotion_refused",
            &r.version,
            serde_json::json!({"reason": decision.reason}),
        )?;
        println!("kept the active model");
    }
    Ok(ExitCode::SUCCESS)
}
