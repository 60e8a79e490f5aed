//! Customers vs sales: traffic and basket.
//!
//! Why this module exists: sales = customers × basket, and the two levers differ — traffic is
//! won by location, opening hours and promotions that bring people in; basket by assortment,
//! placement and promotions that make people buy more. The finding splits the promotion's
//! effect and the differences between stores into those two parts (on the log scale the split
//! is exact: log sales uplift = log customers uplift + log basket uplift).

use super::promo::PromoResult;
use super::{stat_from, Conclusion, Ctx, Draft, HeadlineCandidate};
use crate::model::{Finding, Statistic, Unit};
use crate::stats;
use crate::text;
use storecast_charts::{Chart, Kind, Series};

/// The basket finding.
pub fn draft(ctx: &Ctx<'_>, r: &PromoResult) -> Draft {
    let p = ctx.panel;
    let mut stats_v = vec![
        stat_from(
            "promo_customers_uplift",
            "Customers uplift on promo days",
            &r.customers_uplift(),
            Unit::Change,
            r.n,
        )
        .p(r.log_customers().p_vs(0.0)),
        stat_from(
            "promo_basket_uplift",
            "Basket (sales per customer) uplift on promo days",
            &r.basket_uplift(),
            Unit::Change,
            r.n,
        )
        .p(r.basket_uplift().p_vs(0.0)),
        stat_from(
            "promo_traffic_share",
            "Share of the promo's log sales uplift that comes from more customers",
            &r.traffic_share(),
            Unit::Share,
            r.n,
        ),
    ];
    // Between stores: variance of log sales split into traffic and basket.
    let stores: Vec<usize> = (0..p.stores.len())
        .filter(|&i| ctx.prof.open_day_sales[i] > 0.0 && ctx.prof.open_day_customers[i] > 0.0)
        .collect();
    let lc: Vec<f64> = stores
        .iter()
        .map(|&i| ctx.prof.open_day_customers[i].ln())
        .collect();
    let lb: Vec<f64> = stores
        .iter()
        .map(|&i| (ctx.prof.open_day_sales[i] / ctx.prof.open_day_customers[i]).ln())
        .collect();
    let mut charts = vec![Chart::new(
        "basket-promo-split",
        Kind::Bar,
        "Where the promo uplift comes from: customers vs basket (95% CI)",
    )
    .axes("part", "uplift on promo days")
    .labels(["sales", "customers", "basket"])
    .series(
        Series::new(
            "uplift",
            vec![
                r.log_uplift().est.exp_m1(),
                r.customers_uplift().est,
                r.basket_uplift().est,
            ],
        )
        .with_intervals(vec![
            r.log_uplift().map(f64::exp_m1).ci(),
            r.customers_uplift().ci(),
            r.basket_uplift().ci(),
        ]),
    )
    .percent()
    .reference(0.0)];
    if stores.len() >= 10 {
        let est = ctx.boot.run(800, &ctx.strata_of(&stores), 0, |w, _| {
            let wsum: f64 = w.iter().sum();
            let mc = lc.iter().zip(w).map(|(x, w)| x * w).sum::<f64>() / wsum;
            let mb = lb.iter().zip(w).map(|(x, w)| x * w).sum::<f64>() / wsum;
            let (mut vc, mut vb, mut cv) = (0.0, 0.0, 0.0);
            for k in 0..lc.len() {
                vc += w[k] * (lc[k] - mc) * (lc[k] - mc);
                vb += w[k] * (lb[k] - mb) * (lb[k] - mb);
                cv += w[k] * (lc[k] - mc) * (lb[k] - mb);
            }
            let vs = vc + vb + 2.0 * cv;
            vec![(vc + cv) / vs]
        });
        if let Some(e) = est.first() {
            stats_v.push(stat_from(
                "store_traffic_share",
                "Share of the differences in sales between stores that comes from customer numbers",
                e,
                Unit::Share,
                stores.len(),
            ));
        }
        let sp = stats::spearman(&lc, &lb);
        stats_v.push(
            Statistic::new(
                "customers_basket_spearman",
                "Do busier stores have smaller baskets? Spearman of customers with basket",
                sp.rho,
                Unit::Correlation,
                sp.n,
            )
            .ci(sp.ci)
            .p(sp.p),
        );
        charts.push(
            Chart::new(
                "basket-vs-customers",
                Kind::Scatter,
                "Stores: customers per open day vs basket",
            )
            .axes("customers per open day", "€ per customer")
            .series(Series::points(
                "store",
                lc.iter()
                    .zip(&lb)
                    .map(|(c, b)| (c.exp(), b.exp()))
                    .collect(),
            )),
        );
    }
    let basket_mean = stats::mean(&lb.iter().map(|x| x.exp()).collect::<Vec<_>>());
    let cust_mean = stats::mean(&lc.iter().map(|x| x.exp()).collect::<Vec<_>>());
    let finding = Finding {
        id: "basket".into(),
        title: "Customers vs sales: traffic and basket".into(),
        question: "Do promotions bring more customers or bigger baskets, and are strong stores busier or do \
                   their customers spend more?"
            .into(),
        method: format!(
            "Promotion: the same neighbouring-week comparison as the promo uplift, for customers; basket uplift \
             = sales ratio / customers ratio; traffic share = mean log customers ratio / mean log sales ratio \
             (two-way bootstrap over stores and promo weeks, {} replicates). Between stores: the variance of \
             log sales per open day splits into var(log customers) + var(log basket) + 2 cov; the traffic \
             share is (var(log customers) + cov) / var(log sales) (store bootstrap).",
            ctx.boot.reps
        ),
        statistics: stats_v,
        effect_business: format!(
            "An average store serves {:.0} customers per open day at {} each.",
            cust_mean,
            text::value(basket_mean, Unit::EurPerCustomer)
        ),
        test: Some("Wald z-tests with two-way bootstrap standard errors; Spearman rank correlation".into()),
        charts,
        tables: Vec::new(),
        conclusion: String::new(),
        links: Vec::new(),
    };
    let conclude = Words;
    Draft::new(finding, conclude)
}

/// What the conclusion reads besides the corrected finding: figures computed with it.
struct Words;

impl super::Conclude for Words {
    fn conclude(&self, f: &Finding, wd: &super::Wording) -> Conclusion {
        let mut c = Conclusion::default();
        let mut t = String::new();
        if let (Some(cu), Some(ba), Some(sh)) = (
            f.stat("promo_customers_uplift"),
            f.stat("promo_basket_uplift"),
            f.stat("promo_traffic_share"),
        ) {
            t.push_str(&format!(
                "On promo days customers change by {} and the basket by {}: {} of the promo effect is \
                     traffic. ",
                wd.full(cu),
                wd.full(ba),
                text::share(sh.estimate)
            ));
            if wd.sure(cu) && sh.estimate.is_finite() {
                c.headlines.push(HeadlineCandidate {
                        text: format!(
                            "Promotions work mainly through {}: {} of the promo uplift is more customers ({}), the rest bigger baskets ({}).",
                            if sh.estimate >= 0.5 { "traffic" } else { "basket size" },
                            text::share(sh.estimate),
                            text::pct(cu.estimate),
                            text::pct(ba.estimate)
                        ),
                        eur_per_year: None,
                        score: 1.5,
                    });
            }
        }
        if let Some(s) = f.stat("store_traffic_share") {
            if s.estimate >= 1.0 {
                t.push_str(&format!(
                        "Between stores, differences in sales come entirely from customer numbers (traffic share {}): busier stores even have slightly smaller baskets.",
                        text::share(s.estimate)
                    ));
            } else {
                t.push_str(&format!(
                        "Between stores, {} of the differences in sales come from customer numbers, the rest from basket size.",
                        text::share(s.estimate.max(0.0))
                    ));
            }
        }
        c.text = t.trim().to_string();
        c
    }
}
