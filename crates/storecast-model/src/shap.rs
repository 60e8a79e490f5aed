//! Exact path-dependent TreeSHAP on a [`FlatForest`], with LightGBM's `predict_contrib` numbers
//! at a fraction of its cost.
//!
//! Why: explaining the six weeks (~40k rows × 800 trees) took ≈ 200 s in LightGBM, whose
//! recursion re-derives, for every row, path weights that mostly do not depend on the row.
//!
//! How (the idea of Fast TreeSHAP v2, Yang 2021, in a closed form): for one leaf with value `v`
//! whose path splits on the distinct features `U` (`d = |U|` ≤ depth), let `z_j` be the product
//! of the cover ratios of the path's splits on feature `j` (row-independent) and `H ⊆ U` the
//! features whose splits the row satisfies (the "hot" ones; the only row-dependent part).
//! The leaf's Shapley values are then
//!   * for a cold feature: `C(H) = −v · ∏_{j∉H} z_j · Σ_k w(k, d) · e_{|H|−k}(z_H)`, the same for
//!     every cold feature (e = elementary symmetric polynomial, w(k,d) = k!(d−k−1)!/d!);
//!   * for a hot feature `i`: `C(H∖i) · (z_i − 1)/z_i`.
//!
//! So each leaf stores `C` for all `2^d` subsets once per model, and a row costs, per leaf, one
//! mask and `d` table reads: O(trees · leaves · depth) instead of O(trees · leaves · depth²) with
//! large constants. The row's hot set of every leaf comes from one pass over the tree's nodes
//! (a node's slot in the path is the same for all leaves below it). Rows are processed in
//! blocks tree by tree so a tree's tables stay in cache, blocks are split over threads, and the
//! per-row work allocates nothing. Trees where the closed form does not apply (a cover of 0, or
//! a path with more than [`MAX_FAST_SLOTS`] distinct features) use LightGBM's recursion, ported
//! verbatim ([`reference_contributions`] runs it on every tree, for tests).

use crate::flat::{for_chunks, FlatError, FlatForest, Rule, TreeInfo};

/// Paths with more distinct features than this use the recursion (tables grow as 2^d).
pub const MAX_FAST_SLOTS: usize = 12;
/// Rows a block carries through the trees.
const BLOCK_ROWS: usize = 64;
/// Below this many rows a batch runs on the calling thread.
const PARALLEL_ROWS: usize = 16;

/// One leaf of a fast tree.
#[derive(Debug, Clone, Copy)]
struct Leaf {
    /// Node index within its tree.
    local: u32,
    /// Distinct features on the path.
    slots: u32,
    /// Start of its slots in `slot_feature` / `slot_ratio`.
    first_slot: u32,
    /// Start of its `2^slots` table in `tables`.
    table: usize,
}

/// How one tree is explained.
#[derive(Debug, Clone)]
enum Method {
    /// Precomputed tables: the ranges of its leaves in `leaves` and of its internal nodes in
    /// `internal`.
    Tables {
        leaves: (usize, usize),
        internal: (usize, usize),
    },
    /// LightGBM's recursion.
    Recursive,
}

/// A forest with its TreeSHAP tables: cheap to share (`Send + Sync`), built once per model.
#[derive(Debug, Clone)]
pub struct Explainer {
    forest: FlatForest,
    methods: Vec<Method>,
    /// Per global node: the slot of its feature in the path from the root.
    slot: Vec<u8>,
    /// Per fast tree, its internal nodes (index within the tree) in breadth-first order.
    internal: Vec<u16>,
    leaves: Vec<Leaf>,
    slot_feature: Vec<u16>,
    slot_ratio: Vec<f64>,
    tables: Vec<f64>,
    /// Σ of the trees' expected values, in tree order (LightGBM's last column).
    base: f64,
    max_nodes: usize,
    max_depth: usize,
}

/// The distinct features of a path and the product of their cover ratios.
#[derive(Clone, Default)]
struct PathSlots {
    feature: Vec<u16>,
    zero: Vec<f64>,
}

/// `k!(d−k−1)!/d!` for k in 0..d.
fn shapley_weights(d: usize) -> Vec<f64> {
    let fact = |n: usize| (1..=n).fold(1.0f64, |a, i| a * i as f64);
    (0..d)
        .map(|k| fact(k) * fact(d - k - 1) / fact(d))
        .collect()
}

/// Fills `out` (`2^d` values) with `C(H)` for every subset `H` of the path's slots.
fn fill_table(z: &[f64], v: f64, out: &mut [f64], poly: &mut Vec<f64>, prod: &mut Vec<f64>) {
    let d = z.len();
    let n = 1usize << d;
    let w = shapley_weights(d);
    let stride = d + 1;
    poly.clear();
    poly.resize(n * stride, 0.0);
    prod.clear();
    prod.resize(n, 1.0);
    poly[0] = 1.0;
    for h in 1..n {
        let top = usize::BITS - 1 - h.leading_zeros();
        let parent = h ^ (1 << top);
        let zt = z[top as usize];
        prod[h] = prod[parent] * zt;
        let size = h.count_ones() as usize;
        for k in 0..=size {
            let below = if k > 0 {
                poly[parent * stride + k - 1]
            } else {
                0.0
            };
            poly[h * stride + k] = poly[parent * stride + k] + zt * below;
        }
    }
    let full = n - 1;
    for (h, o) in out.iter_mut().enumerate() {
        let size = h.count_ones() as usize;
        if size == d {
            *o = 0.0; // no cold feature to receive it, never read
            continue;
        }
        let e: f64 = (0..=size).map(|k| w[k] * poly[h * stride + size - k]).sum();
        *o = -v * prod[full ^ h] * e;
    }
}

impl Explainer {
    /// Parses a LightGBM text model and precomputes its tables.
    pub fn from_model_text(text: &str) -> Result<Self, FlatError> {
        Ok(Self::new(FlatForest::from_model_text(text)?))
    }

    /// Precomputes the tables of every tree of `forest`.
    pub fn new(forest: FlatForest) -> Self {
        let mut ex = Explainer {
            methods: Vec::with_capacity(forest.trees.len()),
            slot: vec![0; forest.nodes.len()],
            internal: Vec::new(),
            leaves: Vec::new(),
            slot_feature: Vec::new(),
            slot_ratio: Vec::new(),
            tables: Vec::new(),
            base: forest.trees.iter().fold(0.0, |a, t| a + t.expected),
            max_nodes: 0,
            max_depth: 0,
            forest,
        };
        let (mut poly, mut prod) = (Vec::new(), Vec::new());
        for t in 0..ex.forest.trees.len() {
            let tree = ex.forest.trees[t];
            ex.max_nodes = ex.max_nodes.max(tree.nodes as usize);
            ex.max_depth = ex.max_depth.max(tree.depth as usize);
            let first_leaf = ex.leaves.len();
            let (s0, t0) = (ex.slot_feature.len(), ex.tables.len());
            let method = if tree.nodes <= u32::from(u16::MAX)
                && ex.build_tree(&tree, &mut poly, &mut prod)
            {
                let i0 = ex.internal.len();
                let start = tree.start as usize;
                ex.internal.extend(
                    (0..tree.nodes as u16)
                        .filter(|&i| ex.forest.nodes[start + usize::from(i)].rule != Rule::Leaf),
                );
                Method::Tables {
                    leaves: (first_leaf, ex.leaves.len()),
                    internal: (i0, ex.internal.len()),
                }
            } else {
                ex.leaves.truncate(first_leaf);
                ex.slot_feature.truncate(s0);
                ex.slot_ratio.truncate(s0);
                ex.tables.truncate(t0);
                Method::Recursive
            };
            ex.methods.push(method);
        }
        ex
    }

    /// Walks one tree depth-first assigning slots and filling its leaves' tables; false when
    /// the closed form does not apply to it.
    fn build_tree(&mut self, tree: &TreeInfo, poly: &mut Vec<f64>, prod: &mut Vec<f64>) -> bool {
        let start = tree.start as usize;
        let mut stack: Vec<(usize, PathSlots)> = vec![(start, PathSlots::default())];
        while let Some((g, path)) = stack.pop() {
            let node = self.forest.nodes[g];
            if node.rule == Rule::Leaf {
                let d = path.feature.len();
                if path.zero.iter().any(|z| !(*z > 0.0 && z.is_finite())) {
                    return false;
                }
                self.leaves.push(Leaf {
                    local: (g - start) as u32,
                    slots: d as u32,
                    first_slot: self.slot_feature.len() as u32,
                    table: self.tables.len(),
                });
                self.slot_feature.extend_from_slice(&path.feature);
                self.slot_ratio
                    .extend(path.zero.iter().map(|z| (z - 1.0) / z));
                let at = self.tables.len();
                self.tables.resize(at + (1 << d), 0.0);
                fill_table(
                    &path.zero,
                    self.forest.value[g],
                    &mut self.tables[at..],
                    poly,
                    prod,
                );
                continue;
            }
            let slot = match path.feature.iter().position(|f| *f == node.feature) {
                Some(s) => s,
                None if path.feature.len() < MAX_FAST_SLOTS => path.feature.len(),
                None => return false,
            };
            self.slot[g] = slot as u8;
            let cover = self.forest.cover[g];
            for c in node.children() {
                let mut p = path.clone();
                if slot == p.feature.len() {
                    p.feature.push(node.feature);
                    p.zero.push(1.0);
                }
                p.zero[slot] *= self.forest.cover[c as usize] / cover;
                stack.push((c as usize, p));
            }
        }
        true
    }

    /// The compiled forest (predictions).
    pub fn forest(&self) -> &FlatForest {
        &self.forest
    }

    /// Bytes held by the precomputed tables.
    pub fn table_bytes(&self) -> usize {
        self.tables.len() * 8 + self.slot_ratio.len() * 10 + self.leaves.len() * 24
    }

    /// Trees explained by the recursion instead of tables.
    pub fn recursive_trees(&self) -> usize {
        self.methods
            .iter()
            .filter(|m| matches!(m, Method::Recursive))
            .count()
    }

    /// TreeSHAP contributions of row-major `x`: per row one value per feature, then the base
    /// value (`n_features + 1` values, summing to the raw score), as LightGBM's
    /// `predict_contrib` and `Gbdt::contributions`. Big batches run on all free cores.
    pub fn contributions(&self, x: &[f32], n_features: usize) -> Result<Vec<f64>, FlatError> {
        let rows = self.forest.check_shape(x, n_features)?;
        let threads = crate::cores::batch_threads(rows, PARALLEL_ROWS);
        self.contributions_with_threads(x, n_features, threads)
    }

    /// [`Explainer::contributions`] on `threads` threads.
    pub fn contributions_with_threads(
        &self,
        x: &[f32],
        n_features: usize,
        threads: usize,
    ) -> Result<Vec<f64>, FlatError> {
        let rows = self.forest.check_shape(x, n_features)?;
        let per_row = n_features + 1;
        let mut out = vec![0.0; rows * per_row];
        for_chunks(x, n_features, &mut out, per_row, threads, |xs, os| {
            self.chunk(xs, os)
        });
        Ok(out)
    }

    fn chunk(&self, x: &[f32], out: &mut [f64]) {
        let nf = self.forest.n_features();
        let mut mask = vec![0u32; self.max_nodes];
        let mut path = vec![PathElement::default(); path_capacity(self.max_depth)];
        for (xb, ob) in x
            .chunks(nf * BLOCK_ROWS)
            .zip(out.chunks_mut((nf + 1) * BLOCK_ROWS))
        {
            for (tree, method) in self.forest.trees.iter().zip(&self.methods) {
                for (row, phi) in xb.chunks_exact(nf).zip(ob.chunks_exact_mut(nf + 1)) {
                    match *method {
                        Method::Tables { leaves, internal } => self.tree_tables(
                            tree,
                            &self.internal[internal.0..internal.1],
                            &self.leaves[leaves.0..leaves.1],
                            row,
                            phi,
                            &mut mask,
                        ),
                        Method::Recursive => recurse(
                            &self.forest,
                            row,
                            phi,
                            &mut path,
                            0,
                            tree.start,
                            0,
                            1.0,
                            1.0,
                            -1,
                        ),
                    }
                }
            }
            for phi in ob.chunks_exact_mut(nf + 1) {
                phi[nf] = self.base;
            }
        }
    }

    /// One tree's contributions to one row, from the tables.
    #[inline]
    fn tree_tables(
        &self,
        tree: &TreeInfo,
        internal: &[u16],
        leaves: &[Leaf],
        row: &[f32],
        phi: &mut [f64],
        mask: &mut [u32],
    ) {
        let start = tree.start as usize;
        mask[0] = u32::MAX;
        for &i in internal {
            let i = usize::from(i);
            let g = start + i;
            let node = &self.forest.nodes[g];
            let m = mask[i];
            let cleared = m & !(1u32 << self.slot[g]);
            let left = self
                .forest
                .goes_left(g, node, row[usize::from(node.feature)]);
            let l = node.first_child as usize - start;
            mask[l] = if left { m } else { cleared };
            mask[l + 1] = if left { cleared } else { m };
        }
        for leaf in leaves {
            let d = leaf.slots as usize;
            let h = (mask[leaf.local as usize] & ((1u32 << d) - 1)) as usize;
            let table = &self.tables[leaf.table..leaf.table + (1 << d)];
            let cold = table[h];
            let s = leaf.first_slot as usize;
            let feats = &self.slot_feature[s..s + d];
            let ratios = &self.slot_ratio[s..s + d];
            for (j, (&f, &r)) in feats.iter().zip(ratios).enumerate() {
                let bit = 1usize << j;
                let v = if h & bit != 0 {
                    r * table[h ^ bit]
                } else {
                    cold
                };
                phi[usize::from(f)] += v;
            }
        }
    }
}

/// LightGBM's `PathElement`.
#[derive(Debug, Clone, Copy, Default)]
struct PathElement {
    feature: i32,
    zero: f64,
    one: f64,
    pweight: f64,
}

/// Path buffer LightGBM's recursion needs for a tree of `depth`.
fn path_capacity(depth: usize) -> usize {
    (depth + 2) * (depth + 3) / 2
}

/// LightGBM's `ExtendPath`.
fn extend(p: &mut [PathElement], depth: usize, zero: f64, one: f64, feature: i32) {
    p[depth] = PathElement {
        feature,
        zero,
        one,
        pweight: if depth == 0 { 1.0 } else { 0.0 },
    };
    for i in (0..depth).rev() {
        p[i + 1].pweight += one * p[i].pweight * (i + 1) as f64 / (depth + 1) as f64;
        p[i].pweight = zero * p[i].pweight * (depth - i) as f64 / (depth + 1) as f64;
    }
}

/// LightGBM's `UnwindPath`.
fn unwind(p: &mut [PathElement], depth: usize, index: usize) {
    let one = p[index].one;
    let zero = p[index].zero;
    let mut next = p[depth].pweight;
    for i in (0..depth).rev() {
        if one != 0.0 {
            let tmp = p[i].pweight;
            p[i].pweight = next * (depth + 1) as f64 / ((i + 1) as f64 * one);
            next = tmp - p[i].pweight * zero * (depth - i) as f64 / (depth + 1) as f64;
        } else {
            p[i].pweight = (p[i].pweight * (depth + 1) as f64) / (zero * (depth - i) as f64);
        }
    }
    for i in index..depth {
        p[i].feature = p[i + 1].feature;
        p[i].zero = p[i + 1].zero;
        p[i].one = p[i + 1].one;
    }
}

/// LightGBM's `UnwoundPathSum`.
fn unwound_sum(p: &[PathElement], depth: usize, index: usize) -> f64 {
    let one = p[index].one;
    let zero = p[index].zero;
    let mut next = p[depth].pweight;
    let mut total = 0.0;
    for i in (0..depth).rev() {
        if one != 0.0 {
            let tmp = next * (depth + 1) as f64 / ((i + 1) as f64 * one);
            total += tmp;
            next = p[i].pweight - tmp * zero * ((depth - i) as f64 / (depth + 1) as f64);
        } else {
            total += (p[i].pweight / zero) / ((depth - i) as f64 / (depth + 1) as f64);
        }
    }
    total
}

/// LightGBM's `TreeSHAP` recursion on the flat tree (`parent`: offset of the parent's path in
/// `buf`).
#[allow(clippy::too_many_arguments)]
fn recurse(
    forest: &FlatForest,
    row: &[f32],
    phi: &mut [f64],
    buf: &mut [PathElement],
    parent: usize,
    node: u32,
    mut depth: usize,
    zero: f64,
    one: f64,
    feature: i32,
) {
    let cur = parent + depth;
    if depth > 0 {
        buf.copy_within(parent..parent + depth, cur);
    }
    extend(&mut buf[cur..], depth, zero, one, feature);
    let n = forest.nodes[node as usize];
    if n.rule == Rule::Leaf {
        let v = forest.value[node as usize];
        for i in 1..=depth {
            let w = unwound_sum(&buf[cur..], depth, i);
            let el = buf[cur + i];
            phi[el.feature as usize] += w * (el.one - el.zero) * v;
        }
        return;
    }
    let [l, r] = n.children();
    let x = row[usize::from(n.feature)];
    let (hot, cold) = if forest.goes_left(node as usize, &n, x) {
        (l, r)
    } else {
        (r, l)
    };
    let w = forest.cover[node as usize];
    let hot_zero = forest.cover[hot as usize] / w;
    let cold_zero = forest.cover[cold as usize] / w;
    let (mut in_zero, mut in_one) = (1.0, 1.0);
    let f = i32::from(n.feature);
    if let Some(k) = (0..=depth).find(|&k| buf[cur + k].feature == f) {
        in_zero = buf[cur + k].zero;
        in_one = buf[cur + k].one;
        unwind(&mut buf[cur..], depth, k);
        depth -= 1;
    }
    recurse(
        forest,
        row,
        phi,
        buf,
        cur,
        hot,
        depth + 1,
        hot_zero * in_zero,
        in_one,
        f,
    );
    recurse(
        forest,
        row,
        phi,
        buf,
        cur,
        cold,
        depth + 1,
        cold_zero * in_zero,
        0.0,
        f,
    );
}

/// LightGBM's own TreeSHAP recursion over every tree (single thread; slow, for tests and as
/// the definition the fast path is checked against). Same layout as
/// [`Explainer::contributions`].
pub fn reference_contributions(
    forest: &FlatForest,
    x: &[f32],
    n_features: usize,
) -> Result<Vec<f64>, FlatError> {
    let rows = forest.check_shape(x, n_features)?;
    let depth = forest
        .trees
        .iter()
        .map(|t| t.depth as usize)
        .max()
        .unwrap_or(0);
    let mut buf = vec![PathElement::default(); path_capacity(depth)];
    let mut out = vec![0.0; rows * (n_features + 1)];
    for (row, phi) in x
        .chunks_exact(n_features)
        .zip(out.chunks_exact_mut(n_features + 1))
    {
        for tree in &forest.trees {
            phi[n_features] += tree.expected;
            if tree.leaves > 1 {
                recurse(forest, row, phi, &mut buf, 0, tree.start, 0, 1.0, 1.0, -1);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute-force Shapley values of one leaf's game g(S) = v·∏_{j∈S} o_j ∏_{j∉S} z_j.
    fn brute(z: &[f64], hot: usize, v: f64) -> Vec<f64> {
        let d = z.len();
        let g = |s: usize| -> f64 {
            (0..d).fold(v, |a, j| {
                if s & (1 << j) != 0 {
                    a * if hot & (1 << j) != 0 { 1.0 } else { 0.0 }
                } else {
                    a * z[j]
                }
            })
        };
        let w = shapley_weights(d);
        (0..d)
            .map(|i| {
                (0..1usize << d)
                    .filter(|s| s & (1 << i) == 0)
                    .map(|s| w[s.count_ones() as usize] * (g(s | (1 << i)) - g(s)))
                    .sum()
            })
            .collect()
    }

    #[test]
    fn closed_form_tables_match_brute_force_shapley_values() {
        let z = [0.3, 0.55, 0.9, 0.12, 0.71];
        let v = 1.7;
        let mut table = vec![0.0; 1 << z.len()];
        fill_table(&z, v, &mut table, &mut Vec::new(), &mut Vec::new());
        for hot in 0..1usize << z.len() {
            let want = brute(&z, hot, v);
            for (i, w) in want.iter().enumerate() {
                let got = if hot & (1 << i) != 0 {
                    (z[i] - 1.0) / z[i] * table[hot ^ (1 << i)]
                } else {
                    table[hot]
                };
                assert!((got - w).abs() < 1e-12, "hot {hot:b} i {i}: {got} vs {w}");
            }
        }
    }
}
