//! The flat prediction engine and the fast TreeSHAP give LightGBM's own numbers: on a model of
//! the real shape (63 leaves, depth 10, the categorical store columns) trained on a synthetic
//! chain, on thousands of feature rows plus rows with NaN, zeros, tiny and huge values and
//! unseen categories; and on a model trained with zero-as-missing and a categorical feature of
//! 150 levels (the rules the fast paths do not cover).

use lightgbm3::Booster;
use storecast_model::backtest::{categorical_columns, default_params};
use storecast_model::flat::{FlatError, FlatForest};
use storecast_model::shap::{reference_contributions, Explainer};
use storecast_model::{
    features, horizon_cells, log_targets, training_cells, Gbdt, Timeline, FEATURE_NAMES, N_FEATURES,
};
use storecast_synth::SynthConfig;

/// A deterministic stream of numbers in [0, 1).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() * n as f64) as usize % n
    }
}

/// A model of the production shape (fewer trees) and feature rows to check it on.
fn chain_model() -> (Gbdt, Vec<f32>) {
    let data = storecast_testkit::chain_of(
        &SynthConfig {
            stores: 40,
            seed: 11,
            ..SynthConfig::default()
        },
        true,
    );
    let tl = Timeline::build(&data.history, None).expect("timeline");
    let origin = tl.days - 42;
    let train = features::build(&tl, &data.stores, origin, &training_cells(&tl, origin));
    let y = log_targets(&tl, &train);
    let mut params = default_params();
    params.num_trees = 60;
    params.threads = 2;
    // The coded columns split as categories (`--categorical true`), so both engines meet
    // categorical splits of a real model.
    params.categorical = categorical_columns();
    let model = Gbdt::fit(&train.x, &y, FEATURE_NAMES, &params).expect("fits");
    assert!(
        model
            .model_text()
            .lines()
            .any(|l| l.starts_with("num_cat=") && l != "num_cat=0"),
        "the model has categorical splits"
    );
    // Horizon rows, every 7th training row, then copies with hostile values.
    let horizon = features::build(&tl, &data.stores, origin, &horizon_cells(&tl, origin, 42));
    let mut x = horizon.x.clone();
    for r in (0..train.len()).step_by(7) {
        x.extend_from_slice(train.row(r));
    }
    let mut rng = Lcg(5);
    let specials = [
        f32::NAN,
        0.0,
        -0.0,
        1e-36,
        -1e-36,
        1e-35,
        -1e-35,
        1e30,
        -1e30,
        -1.0,
        2.5,
        7.0,
        99.0,
        150.0,
        f32::INFINITY,
    ];
    for r in 0..2000 {
        let mut row = horizon.row(r % horizon.len()).to_vec();
        for _ in 0..6 {
            row[rng.below(N_FEATURES)] = specials[rng.below(specials.len())];
        }
        x.extend_from_slice(&row);
    }
    (model, x)
}

fn assert_predictions_match(ours: &[f64], lightgbm: &[f64]) {
    assert_eq!(ours.len(), lightgbm.len());
    for (i, (a, b)) in ours.iter().zip(lightgbm).enumerate() {
        assert!(
            (a - b).abs() <= 1e-9 * b.abs().max(1e-12),
            "row {i}: flat {a} vs LightGBM {b}"
        );
    }
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn flat_engine_and_fast_treeshap_match_lightgbm_on_a_chain_model() {
    let (model, x) = chain_model();
    let text = model.model_text();
    // The model has NaN-aware numerical splits (missing type NaN).
    assert!(text
        .lines()
        .filter_map(|l| l.strip_prefix("decision_type="))
        .flat_map(|l| l.split(' ').filter_map(|v| v.parse::<i32>().ok()))
        .any(|d| (d >> 2) & 3 == 2));
    let forest = FlatForest::from_model_text(text).expect("parses");
    assert_eq!(forest.n_features(), N_FEATURES);
    assert_eq!(forest.n_trees(), 60);

    let rows = x.len() / N_FEATURES;
    assert!(rows > 5000, "{rows} rows");
    let lgb = model.lightgbm_predict(&x).expect("LightGBM predicts");
    // The model handle itself predicts with the flat forest, through the one engine trait.
    assert_eq!(model.predict(&x).expect("handle predicts"), lgb);
    assert_eq!(
        (model.engine().name(), model.lightgbm().name()),
        ("flat", "lightgbm")
    );
    assert_eq!(model.engine().predict(&x).expect("flat engine"), lgb);
    let ours = forest.predict(&x, N_FEATURES).expect("flat predicts");
    assert_predictions_match(&ours, &lgb);
    // Same summation order as LightGBM: bit for bit.
    assert!(ours
        .iter()
        .zip(&lgb)
        .all(|(a, b)| a.to_bits() == b.to_bits()));

    // Contributions on a sample that includes the hostile rows.
    let sample: Vec<f32> = x[..600 * N_FEATURES]
        .iter()
        .chain(&x[(rows - 600) * N_FEATURES..])
        .copied()
        .collect();
    let want = model
        .lightgbm_contributions(&sample)
        .expect("LightGBM contributions");
    let handle = model.contributions(&sample).expect("handle contributions");
    assert!(max_abs_diff(&handle, &want) <= 1e-6);
    let explainer = Explainer::new(forest.clone());
    assert_eq!(explainer.recursive_trees(), 0, "all trees use the tables");
    let fast = explainer
        .contributions(&sample, N_FEATURES)
        .expect("fast contributions");
    let slow = reference_contributions(&forest, &sample, N_FEATURES).expect("reference");
    assert!(
        max_abs_diff(&fast, &want) <= 1e-6,
        "fast {}",
        max_abs_diff(&fast, &want)
    );
    assert!(
        max_abs_diff(&slow, &want) <= 1e-9,
        "reference {}",
        max_abs_diff(&slow, &want)
    );
    // The base value is LightGBM's bit for bit; rows sum to the prediction.
    let per = N_FEATURES + 1;
    for (r, phi) in fast.chunks(per).enumerate() {
        assert_eq!(
            phi[N_FEATURES].to_bits(),
            want[r * per + N_FEATURES].to_bits()
        );
        let raw = ours[if r < 600 { r } else { rows - 1200 + r }];
        assert!((phi.iter().sum::<f64>() - raw).abs() < 1e-9);
    }
    // Threads split rows, never change numbers.
    let one = explainer
        .contributions_with_threads(&sample, N_FEATURES, 1)
        .expect("one thread");
    assert!(one
        .iter()
        .zip(&fast)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
}

/// One random tree in LightGBM's text format, grown as LightGBM grows them (a split turns
/// leaf `l` into node `k` with children leaf `l` and a new leaf), with every kind of split:
/// numerical with each missing type and default direction, thresholds at ±kZeroThreshold,
/// categorical with bitsets of one to five words.
/// A random LightGBM tree; `numerical_only`: thresholds only (the prediction's fast path).
fn random_tree(rng: &mut Lcg, index: usize, nf: usize, numerical_only: bool) -> String {
    const K: f64 = 1.0000000180025095e-35;
    let thresholds = [
        -K, K, 0.0, 0.5, -0.5, 1.5, 2.0, 63.5, 1e-36, -2e-35, 3e-35, 100.25,
    ];
    let leaves = 2 + rng.below(39);
    // Per leaf: (parent node, is right child, depth); per node: children (LightGBM encoding).
    let mut leaf_at: Vec<(Option<usize>, bool, usize)> = vec![(None, false, 0)];
    let mut children: Vec<[i64; 2]> = Vec::new();
    while leaf_at.len() < leaves {
        let l = rng.below(leaf_at.len());
        let (parent, right, depth) = leaf_at[l];
        if depth >= 9 {
            continue;
        }
        let k = children.len();
        let new_leaf = leaf_at.len();
        children.push([!(l as i64), !(new_leaf as i64)]);
        if let Some(p) = parent {
            children[p][usize::from(right)] = k as i64;
        }
        leaf_at[l] = (Some(k), false, depth + 1);
        leaf_at.push((Some(k), true, depth + 1));
    }
    let n = children.len();
    let leaf_count: Vec<u64> = (0..leaves).map(|_| 1 + rng.below(200) as u64).collect();
    let mut internal_count = vec![0u64; n];
    for k in (0..n).rev() {
        internal_count[k] = children[k]
            .iter()
            .map(|&c| {
                if c >= 0 {
                    internal_count[c as usize]
                } else {
                    leaf_count[(!c) as usize]
                }
            })
            .sum();
    }
    let (mut feature, mut threshold, mut decision) = (Vec::new(), Vec::new(), Vec::new());
    let (mut boundaries, mut words) = (vec![0usize], Vec::<u32>::new());
    for _ in 0..n {
        feature.push(rng.below(nf));
        // A numerical-only forest has missing types None and NaN, never Zero.
        let missing = if numerical_only {
            2 * rng.below(2)
        } else {
            rng.below(3)
        };
        if !numerical_only && rng.next() < 0.3 {
            threshold.push(format!("{}", boundaries.len() - 1));
            decision.push(1 | (missing << 2));
            for _ in 0..1 + rng.below(5) {
                words.push((rng.next() * f64::from(u32::MAX)) as u32);
            }
            boundaries.push(words.len());
        } else {
            threshold.push(format!("{:e}", thresholds[rng.below(thresholds.len())]));
            decision.push((rng.below(2) << 1) | (missing << 2));
        }
    }
    let join = |v: Vec<String>| v.join(" ");
    let num_cat = boundaries.len() - 1;
    let mut t = format!("Tree={index}\nnum_leaves={leaves}\nnum_cat={num_cat}\n");
    t += &format!(
        "split_feature={}\n",
        join(feature.iter().map(|f| f.to_string()).collect())
    );
    t += &format!("split_gain={}\n", join(vec!["1".into(); n]));
    t += &format!("threshold={}\n", threshold.join(" "));
    t += &format!(
        "decision_type={}\n",
        join(decision.iter().map(|d| d.to_string()).collect())
    );
    t += &format!(
        "left_child={}\n",
        join(children.iter().map(|c| c[0].to_string()).collect())
    );
    t += &format!(
        "right_child={}\n",
        join(children.iter().map(|c| c[1].to_string()).collect())
    );
    let values: Vec<String> = (0..leaves)
        .map(|_| format!("{:e}", rng.next() * 2.0 - 1.0))
        .collect();
    t += &format!("leaf_value={}\n", values.join(" "));
    t += &format!("leaf_weight={}\n", join(vec!["1".into(); leaves]));
    t += &format!(
        "leaf_count={}\n",
        join(leaf_count.iter().map(|c| c.to_string()).collect())
    );
    t += &format!("internal_value={}\n", join(vec!["0".into(); n]));
    t += &format!("internal_weight={}\n", join(vec!["1".into(); n]));
    t += &format!(
        "internal_count={}\n",
        join(internal_count.iter().map(|c| c.to_string()).collect())
    );
    if num_cat > 0 {
        t += &format!(
            "cat_boundaries={}\n",
            join(boundaries.iter().map(|b| b.to_string()).collect())
        );
        t += &format!(
            "cat_threshold={}\n",
            join(words.iter().map(|w| w.to_string()).collect())
        );
    }
    t += "is_linear=0\nshrinkage=1\n\n\n";
    t
}

#[test]
fn every_split_rule_matches_lightgbm_on_random_models() {
    random_models_match_lightgbm(false);
}

#[test]
fn numerical_only_models_take_the_fast_path_and_match_lightgbm() {
    random_models_match_lightgbm(true);
}

/// 40 random trees, predicted and explained by both engines on hostile values.
fn random_models_match_lightgbm(numerical_only: bool) {
    let nf = 6;
    let mut rng = Lcg(if numerical_only { 10 } else { 9 });
    let mut text = format!(
        "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n\
         max_feature_idx={}\nobjective=regression\nfeature_names={}\nfeature_infos={}\n\n",
        nf - 1,
        (0..nf)
            .map(|i| format!("f{i}"))
            .collect::<Vec<_>>()
            .join(" "),
        vec!["none"; nf].join(" ")
    );
    for t in 0..40 {
        text += &random_tree(&mut rng, t, nf, numerical_only);
    }
    text += "end of trees\n";
    let booster = Booster::from_string(&text).expect("LightGBM loads the model");
    let values = [
        f32::NAN,
        0.0,
        -0.0,
        1e-36,
        -1e-36,
        1e-35,
        -1e-35,
        2e-35,
        -2e-35,
        0.5,
        0.49999997,
        -0.5,
        1.5,
        2.0,
        -1.0,
        3.0,
        63.0,
        63.5,
        64.0,
        100.0,
        100.25,
        159.0,
        160.0,
        1e10,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];
    let rows = 4000;
    let x: Vec<f32> = (0..rows * nf)
        .map(|_| {
            if rng.next() < 0.6 {
                values[rng.below(values.len())]
            } else {
                (rng.next() * 200.0 - 3.0) as f32
            }
        })
        .collect();
    let lgb = booster
        .predict_with_params(&x, nf as i32, true, "num_threads=1")
        .expect("LightGBM predicts");
    let forest = FlatForest::from_model_text(&text).expect("parses");
    assert_eq!(forest.all_numerical(), numerical_only);
    let ours = forest.predict(&x, nf).expect("flat predicts");
    assert_predictions_match(&ours, &lgb);
    assert!(ours
        .iter()
        .zip(&lgb)
        .all(|(a, b)| a.to_bits() == b.to_bits()));

    let want = booster
        .predict_contrib(&x, nf as i32, true)
        .expect("LightGBM contributions");
    let explainer = Explainer::new(forest.clone());
    assert_eq!(explainer.recursive_trees(), 0);
    let fast = explainer.contributions(&x, nf).expect("fast contributions");
    assert!(
        max_abs_diff(&fast, &want) <= 1e-6,
        "{}",
        max_abs_diff(&fast, &want)
    );
    let slow = reference_contributions(&forest, &x, nf).expect("reference");
    assert!(
        max_abs_diff(&slow, &want) <= 1e-9,
        "{}",
        max_abs_diff(&slow, &want)
    );
}

#[test]
fn wrong_shapes_and_unsupported_models_are_errors() {
    let text = "version=v4\nnum_class=1\nnum_tree_per_iteration=1\nmax_feature_idx=1\n\
                objective=regression\n\nTree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=1\n\
                threshold=0.5\ndecision_type=2\nleft_child=-1\nright_child=-2\n\
                leaf_value=1 2\nleaf_count=3 1\ninternal_count=4\nis_linear=0\nshrinkage=1\n\n\
                end of trees\n";
    let forest = FlatForest::from_model_text(text).expect("parses");
    assert_eq!(
        forest
            .predict(&[0.0, 0.4, 0.0, 0.6, 0.0, f32::NAN], 2)
            .expect("predicts"),
        vec![1.0, 2.0, 1.0]
    );
    let phi = Explainer::new(forest.clone())
        .contributions(&[0.0, 0.4], 2)
        .expect("explains");
    // Base 1.25 (cover-weighted), feature 1 moves it to 1: −0.25.
    assert_eq!(phi.len(), 3);
    assert_eq!(phi[0], 0.0);
    assert!(
        (phi[1] + 0.25).abs() < 1e-15 && (phi[2] - 1.25).abs() < 1e-15,
        "{phi:?}"
    );
    assert!(matches!(
        forest.predict(&[0.0, 0.4, 0.0], 2),
        Err(FlatError::Shape { .. })
    ));
    assert!(matches!(
        forest.predict(&[0.0, 0.4, 0.0], 3),
        Err(FlatError::Shape { .. })
    ));
    let multi = text.replace("num_tree_per_iteration=1", "num_tree_per_iteration=3");
    assert!(matches!(
        FlatForest::from_model_text(&multi),
        Err(FlatError::Unsupported(_))
    ));
    let binary = text.replace("objective=regression", "objective=binary sigmoid:1");
    assert!(matches!(
        FlatForest::from_model_text(&binary),
        Err(FlatError::Unsupported(_))
    ));
}
