//! Store types and assortments: level and spread of sales, customers and basket.
//!
//! Why this module exists: targets, staffing norms and promo budgets are set per store format,
//! so the sales team needs to know how different the formats really are — in turnover, in
//! footfall and in what each customer spends — and how much stores of one format differ among
//! themselves. Rank tests (Kruskal–Wallis) are used because store sales are skewed, with ε² as
//! the effect size.

use super::{type_label, Conclusion, Ctx, Draft, HeadlineCandidate};
use crate::boot::Est;
use crate::model::{Finding, Statistic, Table, Unit};
use crate::stats;
use crate::text;
use storecast_charts::{Chart, Kind, Series};
use storecast_data::Assortment;

struct Metric {
    key: &'static str,
    label: &'static str,
    unit: Unit,
    values: Vec<f64>,
}

/// The formats finding.
pub fn draft(ctx: &Ctx<'_>) -> Draft {
    let metrics = metrics(ctx);
    let (type_groups, ass_groups) = groups(ctx);

    let mut stats_v = Vec::new();
    let mut tables = Vec::new();
    let mut charts = Vec::new();
    let mut stream = 500;
    for (gname, groups) in [("type", &type_groups), ("assortment", &ass_groups)] {
        let mut rows = Vec::new();
        for m in &metrics {
            let vals: Vec<Vec<f64>> = groups
                .iter()
                .map(|(_, g)| {
                    g.iter()
                        .map(|&i| m.values[i])
                        .filter(|x| x.is_finite())
                        .collect()
                })
                .collect();
            let kw = stats::kruskal_wallis(&vals);
            if kw.df >= 1.0 {
                stats_v.push(
                    Statistic::new(
                        &format!("{}_{}_difference", m.key, gname),
                        format!(
                            "Does {} differ by store {gname}? (Kruskal–Wallis ε²)",
                            m.label
                        ),
                        kw.epsilon2,
                        Unit::EffectSize,
                        kw.n,
                    )
                    .p(kw.p),
                );
            }
            let mut means: Vec<Est> = Vec::new();
            for ((label, _), v) in groups.iter().zip(&vals) {
                stream += 1;
                let e = ctx.boot.mean(stream, v, &vec![0; v.len()]);
                means.push(e);
                if m.key != "customers" {
                    let code = label.split_whitespace().nth(1).unwrap_or("");
                    stats_v.push(
                        Statistic::new(
                            &format!("{}_{}_{}", m.key, gname, code),
                            format!("Mean {} of {label} stores", m.label),
                            e.est,
                            m.unit,
                            v.len(),
                        )
                        .ci(e.ci()),
                    );
                }
                rows.push(vec![
                    label.clone(),
                    m.label.to_string(),
                    v.len().to_string(),
                    text::value(e.est, m.unit),
                    format!(
                        "{} to {}",
                        text::value(e.lo, m.unit),
                        text::value(e.hi, m.unit)
                    ),
                    text::value(stats::median(v), m.unit),
                    format!(
                        "{} – {}",
                        text::value(stats::quantile(v, 0.25), m.unit),
                        text::value(stats::quantile(v, 0.75), m.unit)
                    ),
                    text::share(stats::sd(v) / stats::mean(v)),
                ]);
            }
            if m.key != "customers" {
                charts.push(
                    Chart::new(
                        format!("formats-{}-{}", m.key, gname),
                        Kind::Bar,
                        format!("Mean {} by store {gname} (95% CI)", m.label),
                    )
                    .axes(gname, m.unit.label())
                    .labels(groups.iter().map(|(l, _)| l.clone()))
                    .series(
                        Series::new(m.label, means.iter().map(|e| e.est).collect())
                            .with_intervals(means.iter().map(|e| e.ci()).collect()),
                    )
                    .from_zero(),
                );
            }
        }
        tables.push(Table::new(
            format!("Level and spread by store {gname}"),
            &[
                gname,
                "measure",
                "stores",
                "mean",
                "95% CI",
                "median",
                "middle half of stores",
                "spread (CV)",
            ],
            rows,
        ));
    }
    let finding = Finding {
        id: "formats".into(),
        title: "Store types and assortments".into(),
        question: "How different are the store formats and assortments in turnover, footfall and basket, \
                   and how much do stores of one format differ?"
            .into(),
        method: format!(
            "Per store: mean sales and customers per open day with sales (all such days, promo included), \
             basket = sales / customers. Groups compared with Kruskal–Wallis rank tests (ε² = H / (n − 1) \
             is the share of rank variance explained by the grouping); means with store-bootstrap \
             intervals ({} replicates); spread across stores as the coefficient of variation and the \
             middle half (25th–75th percentile).",
            ctx.boot.reps
        ),
        statistics: stats_v,
        effect_business: String::new(),
        test: Some("Kruskal–Wallis rank test (chi-squared approximation), ε² effect size".into()),
        charts,
        tables,
        conclusion: String::new(),
        links: Vec::new(),
    };
    let conclude = Words;
    let mut d = Draft::new(finding, conclude);
    d.finding.effect_business = format!(
        "Chain mean {} per open day; see the table for each format's level and spread.",
        text::eur(stats::mean(
            &ctx.prof
                .open_day_sales
                .iter()
                .copied()
                .filter(|x| x.is_finite())
                .collect::<Vec<_>>()
        ))
    );
    d
}

/// The measures compared: sales, customers and basket per open day of each store.
fn metrics(ctx: &Ctx<'_>) -> [Metric; 3] {
    let prof = &ctx.prof;
    [
        Metric {
            key: "sales",
            label: "sales per open day",
            unit: Unit::EurPerStoreDay,
            values: prof.open_day_sales.clone(),
        },
        Metric {
            key: "customers",
            label: "customers per open day",
            unit: Unit::Customers,
            values: prof.open_day_customers.clone(),
        },
        Metric {
            key: "basket",
            label: "basket (sales per customer)",
            unit: Unit::EurPerCustomer,
            values: prof
                .open_day_sales
                .iter()
                .zip(&prof.open_day_customers)
                .map(|(s, c)| if *c > 0.0 { s / c } else { f64::NAN })
                .collect(),
        },
    ]
}

/// Named groups of stores (their indices).
type Groups = Vec<(String, Vec<usize>)>;

/// The stores of each store type and of each assortment (empty groups left out).
fn groups(ctx: &Ctx<'_>) -> (Groups, Groups) {
    let p = ctx.panel;
    let type_groups: Vec<(String, Vec<usize>)> = (0..4)
        .filter(|&t| !p.by_type[t].is_empty())
        .map(|t| (format!("type {}", type_label(t)), p.by_type[t].clone()))
        .collect();
    let ass_groups: Vec<(String, Vec<usize>)> = Assortment::ALL
        .iter()
        .map(|a| {
            (
                format!("assortment {} ({})", a.code(), a.name()),
                (0..p.stores.len())
                    .filter(|&i| p.stores[i].assortment == *a)
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, v)| !v.is_empty())
        .collect();
    (type_groups, ass_groups)
}

/// What the conclusion reads besides the corrected finding: figures computed with it.
struct Words;

impl super::Conclude for Words {
    fn conclude(&self, f: &Finding, wd: &super::Wording) -> Conclusion {
        let mut c = Conclusion::default();
        let by = |prefix: &str| -> Vec<&Statistic> {
            f.statistics
                .iter()
                .filter(|s| s.name.starts_with(prefix) && !s.name.ends_with("_difference"))
                .collect()
        };
        let sales = by("sales_type_");
        let basket = by("basket_type_");
        let mut t = String::new();
        if let (Some(hi), Some(lo)) = (
            sales
                .iter()
                .max_by(|a, b| a.estimate.total_cmp(&b.estimate)),
            sales
                .iter()
                .min_by(|a, b| a.estimate.total_cmp(&b.estimate)),
        ) {
            let diff = f.stat("sales_type_difference");
            t.push_str(&format!(
                "Type {} stores sell most per open day ({}), type {} least ({}); {}",
                hi.name.trim_start_matches("sales_type_"),
                text::eur(hi.estimate),
                lo.name.trim_start_matches("sales_type_"),
                text::eur(lo.estimate),
                diff.map_or(String::new(), |d| format!(
                    "the format explains {} of the rank variance ({}).",
                    text::share(d.estimate),
                    wd.certainty(d)
                ))
            ));
            if let (Some(bh), Some(bl)) = (
                basket
                    .iter()
                    .max_by(|a, b| a.estimate.total_cmp(&b.estimate)),
                basket
                    .iter()
                    .min_by(|a, b| a.estimate.total_cmp(&b.estimate)),
            ) {
                t.push_str(&format!(
                    " Baskets range from {} (type {}) to {} (type {}).",
                    text::value(bl.estimate, Unit::EurPerCustomer),
                    bl.name.trim_start_matches("basket_type_"),
                    text::value(bh.estimate, Unit::EurPerCustomer),
                    bh.name.trim_start_matches("basket_type_")
                ));
            }
            if let Some(d) = f.stat("sales_assortment_difference") {
                t.push_str(&format!(
                    " Assortment explains {} of the rank variance in sales ({}).",
                    text::share(d.estimate),
                    wd.certainty(d)
                ));
            }
            if hi.estimate > 1.3 * lo.estimate {
                c.headlines.push(HeadlineCandidate {
                        text: format!(
                            "Set targets per format: type {} stores turn over {} per open day vs {} for type {}.",
                            hi.name.trim_start_matches("sales_type_"),
                            text::eur(hi.estimate),
                            text::eur(lo.estimate),
                            lo.name.trim_start_matches("sales_type_")
                        ),
                        eur_per_year: None,
                        score: 0.5,
                    });
            }
        }
        c.text = t;
        c
    }
}
