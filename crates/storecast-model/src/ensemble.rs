//! An ensemble of a few LightGBM fits with a bias correction per store type.
//!
//! Why: single boosted models of different seeds and shapes make partly independent errors;
//! averaging their log forecasts removes part of that variance, and a correction per store
//! type removes the systematic shrink that RMSPE-optimal log forecasts carry (it differs by
//! format). Weights and corrections are estimated on backtest predictions only (every fold
//! together; each fold's own score uses the values estimated on the other folds), never on
//! the days they are scored on.
//!
//! The ensemble's log forecast is `Σ wₘ fₘ(x) + offset(store type)`. It is linear in the
//! members, so its exact TreeSHAP contributions are the weighted sum of the members'
//! contributions, with the store-type offset (a function of the `store_type` feature alone)
//! credited to that feature: explanations stay exact and additive.

use crate::features::{F, N_FEATURES};
use crate::gbdt::{Gbdt, GbdtError, GbdtParams, Objective};
use serde::{Deserialize, Serialize};
use storecast_data::StoreType;

/// How one member differs from the base parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberSpec {
    /// Name in tables ("lgb-a", ...).
    pub name: String,
    /// Random seed.
    pub seed: u64,
    /// Feature fraction per tree.
    pub feature_fraction: f64,
    /// Leaves per tree.
    pub num_leaves: u32,
    /// Minimum rows per leaf.
    pub min_data_in_leaf: u32,
    /// Loss on log sales.
    pub objective: Objective,
}

impl MemberSpec {
    /// The member's parameters: the base with this member's differences.
    pub fn params(&self, base: &GbdtParams) -> GbdtParams {
        GbdtParams {
            seed: self.seed,
            feature_fraction: self.feature_fraction,
            num_leaves: self.num_leaves,
            min_data_in_leaf: self.min_data_in_leaf,
            objective: self.objective,
            ..base.clone()
        }
    }
}

/// The default members: the base model and two variants (another seed with a robust loss
/// and fewer features per tree; a seed with smaller, deeper-sampled trees).
pub fn default_members(base: &GbdtParams) -> Vec<MemberSpec> {
    vec![
        MemberSpec {
            name: "lgb-a".into(),
            seed: base.seed,
            feature_fraction: base.feature_fraction,
            num_leaves: base.num_leaves,
            min_data_in_leaf: base.min_data_in_leaf,
            objective: base.objective,
        },
        MemberSpec {
            name: "lgb-b".into(),
            seed: base.seed.wrapping_add(1),
            feature_fraction: 0.5,
            num_leaves: base.num_leaves,
            min_data_in_leaf: base.min_data_in_leaf,
            objective: Objective::Huber,
        },
        MemberSpec {
            name: "lgb-c".into(),
            seed: base.seed.wrapping_add(2),
            feature_fraction: 0.85,
            num_leaves: base.num_leaves.saturating_mul(2).max(2),
            min_data_in_leaf: base.min_data_in_leaf.saturating_mul(2),
            objective: base.objective,
        },
    ]
}

/// Ensemble weights and store-type corrections.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Blend {
    /// Weight of each member (sum 1).
    pub weights: Vec<f64>,
    /// Multiplicative correction per store type (index = `StoreType::index`).
    pub type_scales: [f64; 4],
}

impl Blend {
    /// One member, no correction.
    pub fn single() -> Self {
        Self {
            weights: vec![1.0],
            type_scales: [1.0; 4],
        }
    }

    /// The corrected forecast (€) from member log forecasts.
    pub fn forecast(&self, member_logs: &[f64], store_type: usize) -> f64 {
        self.raw(member_logs) * self.type_scales.get(store_type).copied().unwrap_or(1.0)
    }

    /// The uncorrected forecast (€): exp of the weighted mean of the log forecasts.
    pub fn raw(&self, member_logs: &[f64]) -> f64 {
        self.weights
            .iter()
            .zip(member_logs)
            .map(|(w, l)| w * l)
            .sum::<f64>()
            .exp()
    }
}

/// The RMSPE-optimal factor `c` for forecasts `p` of actuals `y`: minimises
/// Σ(1 − c·p/y)², so c = Σ(p/y) / Σ(p/y)². Clamped to [0.9, 1.1].
pub fn rmspe_scale(pairs: impl Iterator<Item = (f64, f64)>) -> f64 {
    let (mut s1, mut s2) = (0.0, 0.0);
    for (y, p) in pairs {
        if y > 0.0 {
            let r = p / y;
            s1 += r;
            s2 += r * r;
        }
    }
    if s2 > 0.0 {
        (s1 / s2).clamp(0.9, 1.1)
    } else {
        1.0
    }
}

/// RMSPE after the optimal single factor.
fn scaled_rmspe(pairs: &[(f64, f64)]) -> f64 {
    let c = rmspe_scale(pairs.iter().copied());
    let (mut sq, mut n) = (0.0, 0usize);
    for &(y, p) in pairs {
        if y > 0.0 {
            let r = 1.0 - c * p / y;
            sq += r * r;
            n += 1;
        }
    }
    (sq / n.max(1) as f64).sqrt()
}

/// All weight vectors on a simplex grid of `steps` per unit.
fn simplex(members: usize, steps: usize) -> Vec<Vec<f64>> {
    fn rec(left: usize, k: usize, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if k == 1 {
            cur.push(left);
            out.push(cur.clone());
            cur.pop();
            return;
        }
        for i in 0..=left {
            cur.push(i);
            rec(left - i, k - 1, cur, out);
            cur.pop();
        }
    }
    let mut out = Vec::new();
    if members == 0 {
        return vec![];
    }
    rec(steps, members, &mut Vec::new(), &mut out);
    out.into_iter()
        .map(|v| v.into_iter().map(|i| i as f64 / steps as f64).collect())
        .collect()
}

/// One scored backtest row for tuning: actual sales, store type index, member log forecasts.
#[derive(Debug, Clone)]
pub struct TuneRow<'a> {
    /// Actual sales.
    pub actual: f64,
    /// Store type index.
    pub store_type: usize,
    /// Log forecast of each member.
    pub logs: &'a [f64],
}

/// Chooses weights (simplex grid, step 0.1) minimising the pooled RMSPE after the best
/// factor, then a factor per store type (the pooled factor where a type has < 500 rows).
pub fn tune(rows: &[TuneRow<'_>], members: usize) -> Blend {
    if rows.is_empty() || members == 0 {
        return Blend {
            weights: vec![1.0 / members.max(1) as f64; members.max(1)],
            type_scales: [1.0; 4],
        };
    }
    let mut best = (f64::INFINITY, vec![1.0 / members as f64; members]);
    let mut pairs = Vec::with_capacity(rows.len());
    for w in simplex(members, if members == 1 { 1 } else { 10 }) {
        pairs.clear();
        pairs.extend(rows.iter().map(|r| {
            let l: f64 = w.iter().zip(r.logs).map(|(a, b)| a * b).sum();
            (r.actual, l.exp())
        }));
        let e = scaled_rmspe(&pairs);
        if e < best.0 {
            best = (e, w);
        }
    }
    let blend = Blend {
        weights: best.1,
        type_scales: [1.0; 4],
    };
    let pooled = rmspe_scale(rows.iter().map(|r| (r.actual, blend.raw(r.logs))));
    let mut type_scales = [pooled; 4];
    for (t, slot) in type_scales.iter_mut().enumerate() {
        let of_type: Vec<(f64, f64)> = rows
            .iter()
            .filter(|r| r.store_type == t)
            .map(|r| (r.actual, blend.raw(r.logs)))
            .collect();
        if of_type.len() >= 500 {
            *slot = rmspe_scale(of_type.into_iter());
        }
    }
    Blend {
        type_scales,
        ..blend
    }
}

/// A fitted ensemble: members with weights and a log offset per store type.
#[derive(Debug, Clone)]
pub struct Ensemble {
    members: Vec<(Gbdt, f64)>,
    /// Log offset per store type, added to the weighted member sum.
    type_offsets: [f64; 4],
}

impl Ensemble {
    /// An ensemble of one model and no offsets.
    pub fn single(model: Gbdt) -> Self {
        Self {
            members: vec![(model, 1.0)],
            type_offsets: [0.0; 4],
        }
    }

    /// Members with weights, and log offsets per store type.
    pub fn new(members: Vec<(Gbdt, f64)>, type_offsets: [f64; 4]) -> Self {
        Self {
            members,
            type_offsets,
        }
    }

    /// The members and their weights.
    pub fn members(&self) -> &[(Gbdt, f64)] {
        &self.members
    }

    fn offset(&self, row: &[f32]) -> f64 {
        let t = row[F::store_type as usize];
        if t.is_finite() && t >= 0.0 {
            self.type_offsets
                .get(t as usize)
                .copied()
                .unwrap_or_default()
        } else {
            0.0
        }
    }

    /// Log forecasts for row-major `x` (weighted member sum plus the store-type offset).
    pub fn predict(&self, x: &[f32]) -> Result<Vec<f64>, GbdtError> {
        let mut out: Vec<f64> = Vec::new();
        for (k, (m, w)) in self.members.iter().enumerate() {
            let p = m.predict(x)?;
            if k == 0 {
                out = p.into_iter().map(|v| w * v).collect();
            } else {
                for (o, v) in out.iter_mut().zip(p) {
                    *o += w * v;
                }
            }
        }
        for (o, row) in out.iter_mut().zip(x.chunks_exact(N_FEATURES)) {
            *o += self.offset(row);
        }
        Ok(out)
    }

    /// Exact contributions (per row `N_FEATURES + 1` values, base value last): the weighted
    /// sum of the members' contributions; the store-type offset goes to `store_type`.
    pub fn contributions(&self, x: &[f32]) -> Result<Vec<f64>, GbdtError> {
        let mut out: Vec<f64> = Vec::new();
        for (k, (m, w)) in self.members.iter().enumerate() {
            let c = m.contributions(x)?;
            if k == 0 {
                out = c.into_iter().map(|v| w * v).collect();
            } else {
                for (o, v) in out.iter_mut().zip(c) {
                    *o += w * v;
                }
            }
        }
        let width = N_FEATURES + 1;
        for (o, row) in out.chunks_exact_mut(width).zip(x.chunks_exact(N_FEATURES)) {
            o[F::store_type as usize] += self.offset(row);
        }
        Ok(out)
    }
}

/// Log offsets per store type: log(type factor / global factor).
pub fn type_offsets(type_scales: &[f64; 4], global: f64) -> [f64; 4] {
    type_scales.map(|s| {
        if s > 0.0 && global > 0.0 {
            (s / global).ln()
        } else {
            0.0
        }
    })
}

/// Store type index of a store type (for [`Blend::type_scales`]).
pub fn type_index(t: StoreType) -> usize {
    t.index()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simplex_grid_sums_to_one() {
        let g = simplex(3, 10);
        assert_eq!(g.len(), 66);
        assert!(g
            .iter()
            .all(|w| (w.iter().sum::<f64>() - 1.0).abs() < 1e-12));
    }

    #[test]
    fn scale_is_rmspe_optimal() {
        // All forecasts 10 % high: the best factor makes c·1.1 minimise Σ(1 − 1.1c)², c = 1/1.1.
        let pairs: Vec<(f64, f64)> = (1..50)
            .map(|i| (f64::from(i), f64::from(i) * 1.1))
            .collect();
        let c = rmspe_scale(pairs.iter().copied());
        assert!((c - 1.0 / 1.1).abs() < 1e-9, "{c}");
    }

    #[test]
    fn tuning_prefers_the_better_member_and_corrects_each_type() {
        // Member 0 is exact in log space, member 1 is noisy: the weights go to member 0.
        let logs: Vec<[f64; 2]> = (0..2000)
            .map(|i| {
                let y = (100.0 + f64::from(i % 97)).ln();
                let noise = if i % 2 == 0 { 0.2 } else { -0.2 };
                [y, y + noise]
            })
            .collect();
        let rows: Vec<TuneRow<'_>> = logs
            .iter()
            .enumerate()
            .map(|(i, l)| TuneRow {
                // Type 1 is 5 % above the forecast.
                actual: l[0].exp() * if i % 4 == 1 { 1.05 } else { 1.0 },
                store_type: i % 4,
                logs: l,
            })
            .collect();
        let b = tune(&rows, 2);
        assert!(b.weights[0] >= 0.9, "{:?}", b.weights);
        assert!(
            (b.type_scales[1] - 1.05).abs() < 0.01,
            "{:?}",
            b.type_scales
        );
        assert!((b.type_scales[0] - 1.0).abs() < 0.01, "{:?}", b.type_scales);
    }
}
