//! The training pipeline: backtest (for the bias correction, intervals and honest metrics),
//! then the final fit on the whole history, sealed into a [`ModelArtifact`].

use crate::artifact::{CoverageRow, EnsembleSpec, ModelArtifact, CODE_VERSION, FORMAT_VERSION};
use crate::backtest::{self, BacktestConfig, BacktestResult, Progress};
use crate::ensemble::Blend;
use crate::features::{self, FEATURE_DRIVERS, FEATURE_NAMES};
use crate::gbdt::{Gbdt, GbdtError};
use crate::intervals::{
    widen_factor, IntervalCalibration, ResidualBlocks, SumCell, SumKind, Widen,
};
use crate::timeline::Timeline;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Instant;
use storecast_data::{ChainData, StoreType};

/// A trained model with the evidence behind it.
#[derive(Debug)]
pub struct Trained {
    /// The sealed artifact.
    pub artifact: ModelArtifact,
    /// The backtest it was judged on.
    pub backtest: BacktestResult,
    /// Seconds per step.
    pub timings: Vec<(String, f64)>,
}

/// The sums whose intervals are simulated, calibrated and checked on held-out folds: each
/// total the app shows with a band has its own row, so a band's coverage is stated on the
/// aggregate it describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Aggregate {
    /// A store's week.
    StoreWeek,
    /// A store's six weeks.
    StoreTotal,
    /// A store type's week.
    TypeWeek,
    /// A store type's six weeks.
    TypeTotal,
    /// The chain's day.
    ChainDay,
    /// The chain's six weeks.
    ChainTotal,
}

impl Aggregate {
    const ALL: [Aggregate; 6] = [
        Self::StoreWeek,
        Self::StoreTotal,
        Self::TypeWeek,
        Self::TypeTotal,
        Self::ChainDay,
        Self::ChainTotal,
    ];

    /// The artifact's held-out coverage of this sum's bands, when it was measured.
    pub fn coverage(
        self,
        artifact: &crate::ModelArtifact,
    ) -> Option<&crate::artifact::CoverageRow> {
        artifact.coverage.iter().find(|c| c.scope == self.scope())
    }

    /// The coverage row's scope (written once, here).
    fn scope(self) -> String {
        format!("{} (simulated, widened)", self.label())
    }
    fn kind(self) -> SumKind {
        match self {
            Self::StoreWeek => SumKind::Store,
            Self::StoreTotal => SumKind::StoreLong,
            Self::TypeWeek | Self::ChainDay => SumKind::Multi,
            Self::TypeTotal | Self::ChainTotal => SumKind::MultiLong,
        }
    }
    /// What the sum is, for people.
    pub fn label(self) -> &'static str {
        match self {
            Self::StoreWeek => "store-week totals",
            Self::StoreTotal => "store six-week totals",
            Self::TypeWeek => "store-type week totals",
            Self::TypeTotal => "store-type six-week totals",
            Self::ChainDay => "chain daily totals",
            Self::ChainTotal => "chain six-week totals",
        }
    }
    /// The group of a backtest prediction in this aggregate (scope id, period id).
    fn key(self, p: &backtest::Prediction) -> (u16, u16) {
        let store_type = p.store_type.index() as u16;
        match self {
            Self::StoreWeek => (p.store, p.horizon_week()),
            Self::StoreTotal => (p.store, 0),
            Self::TypeWeek => (store_type, p.horizon_week()),
            Self::TypeTotal => (store_type, 0),
            Self::ChainDay => (0, p.horizon_day),
            Self::ChainTotal => (0, 0),
        }
    }
}

/// The misses of one held-out fold's sums: (sum, [80 %, 95 %] miss in band half-widths).
type FoldMisses = Vec<(Aggregate, [f64; 2])>;

/// Draws per simulated sum.
const SUM_DRAWS: usize = 200;

/// Sums below which the simulation stays on the calling thread.
const PARALLEL_SUMS: usize = 64;

/// Misses of the held-out folds' sums, each (training folds, held-out fold) simulated once:
/// the widening of the whole backtest and the honest coverage ask for the same pairs.
struct Misses<'a> {
    bt: &'a BacktestResult,
    memo: BTreeMap<(Vec<usize>, usize), FoldMisses>,
}

impl<'a> Misses<'a> {
    fn new(bt: &'a BacktestResult) -> Self {
        Self {
            bt,
            memo: BTreeMap::new(),
        }
    }

    /// The misses of fold `test`'s sums, simulated from residual blocks of the folds in
    /// `train`.
    fn of(&mut self, train: &[usize], test: usize) -> &FoldMisses {
        let bt = self.bt;
        self.memo
            .entry((train.to_vec(), test))
            .or_insert_with(|| fold_misses(bt, train, test))
    }
}

/// Misses (in band half-widths, [80 %, 95 %]) of the sums of fold `test`, simulated from
/// residual blocks of the folds in `train`. The sums are simulated on every core, each with
/// its own seed, so the result does not depend on how they are shared out.
fn fold_misses(bt: &BacktestResult, train: &[usize], test: usize) -> FoldMisses {
    let fit: Vec<&backtest::Prediction> = bt
        .predictions
        .iter()
        .filter(|p| train.contains(&p.fold))
        .collect();
    let cal = IntervalCalibration::fit(fit.iter().copied());
    let blocks = ResidualBlocks::fit(&fit, cal.volatility_cuts);
    let mut groups: BTreeMap<(Aggregate, u16, u16), Vec<&backtest::Prediction>> = BTreeMap::new();
    for p in bt.predictions.iter().filter(|p| p.fold == test) {
        for agg in Aggregate::ALL {
            let (scope, period) = agg.key(p);
            groups.entry((agg, scope, period)).or_default().push(p);
        }
    }
    let groups: Vec<(Aggregate, Vec<&backtest::Prediction>)> = groups
        .into_iter()
        .map(|((agg, _, _), ps)| (agg, ps))
        .collect();
    let miss = |(agg, ps): &(Aggregate, Vec<&backtest::Prediction>)| {
        let cells: Vec<SumCell> = ps
            .iter()
            .map(|p| SumCell {
                store: p.store,
                date: p.date,
                forecast: p.model,
                volatility: p.volatility,
            })
            .collect();
        let actual: f64 = ps.iter().map(|p| p.actual).sum();
        (*agg, blocks.simulate(&cells, SUM_DRAWS, 7).miss(actual))
    };
    let threads = crate::cores::batch_threads(groups.len(), PARALLEL_SUMS);
    let parts = balanced_runs(&groups, threads, |(_, ps)| ps.len());
    if parts.len() <= 1 {
        return groups.iter().map(miss).collect();
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .iter()
            .map(|part| scope.spawn(|| part.iter().map(miss).collect::<FoldMisses>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// `items` cut into at most `parts` consecutive runs of about equal total `weight`, in order.
fn balanced_runs<T>(items: &[T], parts: usize, weight: impl Fn(&T) -> usize) -> Vec<&[T]> {
    let total: usize = items.iter().map(&weight).sum();
    let target = total.div_ceil(parts.max(1)).max(1);
    let mut out = Vec::with_capacity(parts);
    let (mut start, mut run) = (0, 0);
    for (i, item) in items.iter().enumerate() {
        run += weight(item);
        if run >= target && out.len() + 1 < parts {
            out.push(&items[start..=i]);
            (start, run) = (i + 1, 0);
        }
    }
    if start < items.len() {
        out.push(&items[start..]);
    }
    out
}

/// Widening factors from leave-one-fold-out misses over `folds`.
fn widen_on(misses: &mut Misses, folds: &[usize]) -> Widen {
    if folds.len() < 2 {
        return Widen::default();
    }
    let mut by_kind: BTreeMap<(SumKind, usize), Vec<f64>> = BTreeMap::new();
    for &f in folds {
        let train: Vec<usize> = folds.iter().copied().filter(|&g| g != f).collect();
        for (agg, m) in misses.of(&train, f) {
            for (level, v) in m.iter().enumerate() {
                by_kind.entry((agg.kind(), level)).or_default().push(*v);
            }
        }
    }
    let mut factor = |kind: SumKind, level: usize, q: f64| {
        by_kind
            .get_mut(&(kind, level))
            .map_or(1.0, |v| widen_factor(v, q))
    };
    let mut pair = |kind: SumKind| [factor(kind, 0, 0.8), factor(kind, 1, 0.95)];
    Widen {
        store: pair(SumKind::Store),
        multi: pair(SumKind::Multi),
        store_long: Some(pair(SumKind::StoreLong)),
        multi_long: Some(pair(SumKind::MultiLong)),
    }
}

/// Residual blocks for sums from every fold, with widening factors tuned on the folds.
pub fn sum_blocks(bt: &BacktestResult, intervals: &IntervalCalibration) -> ResidualBlocks {
    sum_blocks_with(&mut Misses::new(bt), intervals)
}

fn sum_blocks_with(misses: &mut Misses, intervals: &IntervalCalibration) -> ResidualBlocks {
    let bt = misses.bt;
    let all: Vec<&backtest::Prediction> = bt.predictions.iter().collect();
    let mut blocks = ResidualBlocks::fit(&all, intervals.volatility_cuts);
    let folds: Vec<usize> = bt.folds.iter().map(|f| f.index).collect();
    blocks.widen = widen_on(misses, &folds);
    blocks
}

/// The day bands, the sums' residual blocks and the held-out coverage of both: what
/// [`IntervalCalibration::fit`], [`sum_blocks`] and [`coverage_rows`] give, with each
/// held-out fold's sums simulated once.
pub fn calibrate(bt: &BacktestResult) -> (IntervalCalibration, ResidualBlocks, Vec<CoverageRow>) {
    let intervals = IntervalCalibration::fit(&bt.predictions);
    let mut misses = Misses::new(bt);
    let residuals = sum_blocks_with(&mut misses, &intervals);
    let coverage = coverage_rows_with(&mut misses);
    (intervals, residuals, coverage)
}

/// A filter on backtest predictions.
type Keep = Box<dyn Fn(&backtest::Prediction) -> bool>;

/// Honest interval coverage on held-out folds: each fold in turn is held out, the day-level
/// bands and the sum simulation (with its widening, itself tuned leave-one-out on the other
/// folds) are calibrated on the other folds, and the held-out fold's actuals are checked.
/// With fewer than three folds, the last fold is checked against the earlier ones.
pub fn coverage_rows(bt: &BacktestResult) -> Vec<CoverageRow> {
    coverage_rows_with(&mut Misses::new(bt))
}

fn coverage_rows_with(misses: &mut Misses) -> Vec<CoverageRow> {
    let bt = misses.bt;
    let folds: Vec<usize> = bt.folds.iter().map(|f| f.index).collect();
    let held_out: Vec<usize> = if folds.len() >= 3 {
        folds.clone()
    } else {
        folds.last().copied().into_iter().collect()
    };
    let others = |h: usize| -> Vec<usize> {
        let o: Vec<usize> = folds.iter().copied().filter(|&g| g != h).collect();
        if o.is_empty() {
            vec![h]
        } else {
            o
        }
    };
    // Day-level bands.
    let mut day_rows: Vec<(String, f64, f64, usize)> = Vec::new();
    let mut scopes: Vec<(String, Keep)> = vec![(
        format!("held-out folds ({} of {})", held_out.len(), folds.len()),
        Box::new(|_| true),
    )];
    for t in StoreType::ALL {
        scopes.push((
            format!("store type {t}"),
            Box::new(move |p| p.store_type == t),
        ));
    }
    for w in 1..=6u16 {
        scopes.push((
            format!("horizon week {w}"),
            Box::new(move |p| p.horizon_week() == w),
        ));
    }
    let mut tally = vec![(0.0, 0.0, 0usize); scopes.len()];
    for &h in &held_out {
        let train = others(h);
        let cal =
            IntervalCalibration::fit(bt.predictions.iter().filter(|p| train.contains(&p.fold)));
        for (i, (_, keep)) in scopes.iter().enumerate() {
            let (c80, c95, n) =
                cal.coverage(bt.predictions.iter().filter(|p| p.fold == h && keep(p)));
            tally[i].0 += c80 * n as f64;
            tally[i].1 += c95 * n as f64;
            tally[i].2 += n;
        }
    }
    for ((name, _), (a, b, n)) in scopes.into_iter().zip(tally) {
        if n > 0 {
            day_rows.push((name, a / n as f64, b / n as f64, n));
        }
    }
    // Sums, with the widening tuned on the other folds only.
    let mut sums: BTreeMap<Aggregate, (usize, usize, usize)> = BTreeMap::new();
    for &h in &held_out {
        let train = others(h);
        let widen = widen_on(misses, &train);
        for &(agg, m) in misses.of(&train, h) {
            let k = widen.factors(agg.kind());
            let e = sums.entry(agg).or_default();
            e.0 += usize::from(m[0] <= k[0]);
            e.1 += usize::from(m[1] <= k[1]);
            e.2 += 1;
        }
    }
    let mut rows: Vec<CoverageRow> = day_rows
        .into_iter()
        .map(|(scope, cover80, cover95, n)| CoverageRow {
            scope,
            cover80,
            cover95,
            n,
        })
        .collect();
    for agg in Aggregate::ALL {
        if let Some(&(a, b, n)) = sums.get(&agg).filter(|t| t.2 > 0) {
            rows.push(CoverageRow {
                scope: agg.scope(),
                cover80: a as f64 / n as f64,
                cover95: b as f64 / n as f64,
                n,
            });
        }
    }
    rows
}

/// What the forecast window (the plan in `data.requests`) holds, for comparing it with the
/// folds; none without a plan.
pub fn window_profile(data: &ChainData) -> Option<backtest::WindowProfile> {
    let requests = data.requests.as_ref()?;
    let sc = crate::Scenario::new(&data.history, requests).ok()?;
    let cells = crate::horizon_cells(&sc.tl, sc.origin, sc.tl.days - sc.origin);
    Some(backtest::WindowProfile::of(
        &sc.features(&data.stores, &cells),
    ))
}

/// Backtests, calibrates, and fits the final model on all of `data`'s history.
pub fn train(
    data: &ChainData,
    cfg: &BacktestConfig,
    progress: &mut dyn FnMut(Progress),
) -> Result<Trained, GbdtError> {
    train_with_regions(data, None, cfg, progress)
}

/// [`train`] with the region codes given: those of the whole chain when `data` holds a share
/// of it (a rank of a distributed training); `None` infers them on `data`.
pub fn train_with_regions(
    data: &ChainData,
    regions: Option<&features::RegionCodes>,
    cfg: &BacktestConfig,
    progress: &mut dyn FnMut(Progress),
) -> Result<Trained, GbdtError> {
    let mut timings = Vec::new();
    let t = Instant::now();
    let tl = Timeline::build(&data.history, None)
        .ok_or_else(|| GbdtError::Library("no sales history to train on".into()))?;
    let regions = regions.map_or_else(|| features::regions(&tl), |r| r.by_index(&tl));
    let mut bt = backtest::run_with_regions(&tl, &data.stores, &regions, cfg, progress)?;
    bt.window = window_profile(data);
    timings.push(("backtest".to_string(), t.elapsed().as_secs_f64()));
    let t = Instant::now();
    let (intervals, residuals, coverage) = calibrate(&bt);
    timings.push(("intervals".to_string(), t.elapsed().as_secs_f64()));

    let t = Instant::now();
    progress(Progress::Step("final features"));
    let origin = tl.days;
    let cells = crate::training_cells(&tl, origin);
    let frame = features::build_with_regions(&tl, &data.stores, origin, &cells, &regions);
    let y = crate::log_targets(&tl, &frame);
    let train_rows = frame.len();
    timings.push(("final features".to_string(), t.elapsed().as_secs_f64()));
    let t = Instant::now();
    progress(Progress::Step("final fit"));
    let mut texts = Vec::new();
    for m in cfg.member_specs() {
        let model = Gbdt::fit(&frame.x, &y, FEATURE_NAMES, &m.params(&cfg.params))?;
        texts.push(model.model_text().to_string());
    }
    drop(frame);
    timings.push(("final fit".to_string(), t.elapsed().as_secs_f64()));
    let blend = bt.ensemble.blend.clone().unwrap_or_else(Blend::single);
    let mut hasher = Sha256::new();
    for t in &texts {
        hasher.update(t.as_bytes());
    }
    let hash: String = hasher
        .finalize()
        .iter()
        .take(5)
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut texts = texts.into_iter();
    let text = texts.next().unwrap_or_default();
    let per_type = blend
        .type_scales
        .iter()
        .any(|t| (t - bt.scale).abs() > 1e-12);
    let ensemble = if bt.ensemble.members.len() > 1 || per_type {
        EnsembleSpec {
            names: bt.ensemble.members.clone(),
            weights: blend.weights.clone(),
            extra_models: texts.collect(),
            type_scales: blend.type_scales,
        }
    } else {
        EnsembleSpec::default()
    };
    let train_end = tl.date(tl.days - 1);
    let trained_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| chrono::DateTime::from_timestamp(d.as_secs() as i64, 0))
        .map_or_else(|| "unknown".to_string(), |t| t.to_rfc3339());
    let mut artifact = ModelArtifact {
        format_version: FORMAT_VERSION,
        model_version: format!("{train_end}-{hash}"),
        trained_at,
        code_version: CODE_VERSION.to_string(),
        data_fingerprint: data.fingerprint.clone(),
        data_origin: data.origin.clone(),
        train_start: tl.start,
        train_end,
        train_rows,
        features: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
        drivers: FEATURE_DRIVERS.to_vec(),
        params: cfg.params.clone(),
        scale: bt.scale,
        intervals,
        residuals,
        folds: bt.folds.clone(),
        scores: bt.scores.clone(),
        coverage,
        lightgbm_model: text,
        ensemble,
        provisional: false,
        checksum: String::new(),
        signature: None,
    };
    artifact.seal();
    Ok(Trained {
        artifact,
        backtest: bt,
        timings,
    })
}

#[cfg(test)]
mod tests {
    use super::balanced_runs;

    #[test]
    fn runs_share_the_weight_evenly_and_keep_every_item_in_order() {
        // Weights 1,1,1,1 then one heavy item of 4: the first run ends when half is reached.
        let items = [1usize, 1, 1, 1, 4];
        let runs = balanced_runs(&items, 2, |w| *w);
        assert_eq!(runs, vec![&items[..4], &items[4..]]);
        let runs = balanced_runs(&items, 3, |w| *w);
        assert_eq!(runs.concat(), items.to_vec());
        assert!(runs.len() <= 3);
        assert_eq!(balanced_runs(&items, 1, |w| *w), vec![&items[..]]);
        assert!(balanced_runs::<usize>(&[], 2, |w| *w).is_empty());
    }
}
