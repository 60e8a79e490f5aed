//! Operations: users, the model registry, ingestion of actuals, monitoring and retraining.
//! Every write goes through the storage crate, which audits it in the same transaction;
//! registry changes are audited here.

use crate::cli::{AuditCommand, DataArgs, ModelArgs, ModelsCommand, OpsArgs, UsersCommand};
use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;
use storecast_model::ModelArtifact;
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
    let dir = storecast_model::artifact::companion_dir(file);
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
        ModelsCommand::List { json: true } => crate::cmd::print_json(&reg.list()?)?,
        ModelsCommand::List { json: false } => {
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

pub fn monitor(ops: &OpsArgs, json: Option<&Path>, prom: Option<&Path>) -> Result<ExitCode> {
    let cfg = monitor_config(ops.config.as_deref())?;
    let store = open_db(&ops.db)?;
    let reg = Registry::open(&ops.registry)?;
    let base = crate::input::load(&ops.data)?.data;
    let run = storecast_pipeline::monitor(&store, &reg, base, &cfg)?;
    let o = &run.report.live.overall;
    println!(
        "model {}: {} scored store-days; RMSPE {:.4}, WAPE {:.1}%, bias {:+.1}%, coverage 80% {:.1}%, 95% {:.1}%",
        run.version,
        o.n,
        o.rmspe,
        o.wape * 100.0,
        o.bias * 100.0,
        o.cover80 * 100.0,
        o.cover95 * 100.0
    );
    println!(
        "{} CUSUM alarms; {} alerts ({} new)",
        run.report.cusum_alarms,
        run.report.alerts.len(),
        run.fresh.len()
    );
    for a in &run.open {
        println!("  ALERT {:<10} {:<18} {}", a.kind, a.scope, a.message);
    }
    if let Some(p) = json {
        crate::cmd::write_file(p, &serde_json::to_vec_pretty(&run.report)?)?;
    }
    if let Some(p) = prom {
        crate::cmd::write_file(
            p,
            storecast_monitor::prometheus_gauges(&run.report).as_bytes(),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn retrain(
    ops: &OpsArgs,
    args: &ModelArgs,
    output: crate::cli::OutputArgs,
) -> Result<ExitCode> {
    let cfg = monitor_config(ops.config.as_deref())?;
    let store = open_db(&ops.db)?;
    let reg = Registry::open(&ops.registry)?;
    let base = crate::input::load(&ops.data)?.data;
    let bt_cfg = storecast_pipeline::backtest_config(&args.settings());
    let mut bars = crate::progress::Bars::new(output.quiet || output.json);
    let r = storecast_pipeline::retrain(&store, &reg, base, &bt_cfg, &cfg, &actor(), &mut bars)?;
    drop(bars);
    if output.json {
        crate::cmd::print_json(&serde_json::json!({
            "version": r.version,
            "decision": r.decision,
            "promoted": r.promoted,
            "scores": storecast_pipeline::score_rows(&r.backtest),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    crate::render::backtest_table(&r.backtest);
    match &r.explanations {
        Some(Ok(f)) => println!("{f}"),
        Some(Err(e)) => {
            eprintln!("warning: explanations not precomputed ({e}); serve computes them")
        }
        None => {}
    }
    println!("candidate {}: {}", r.version, r.decision.reason);
    match r.promoted {
        Some(s) => println!(
            "promoted {} (was {})",
            s.to,
            s.from.unwrap_or_else(|| "none".into())
        ),
        None => println!("kept the active model"),
    }
    Ok(ExitCode::SUCCESS)
}
