//! Development experiment: train on the data before the last fold's origin, score the fold.
use std::time::Instant;
use storecast_data::ChainData;
use storecast_model::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::var("STORECAST_DATA").unwrap_or_else(|_| "../shared/data/rossmann".into());
    let t = Instant::now();
    let data = ChainData::load_dir(dir.as_ref())?.into_strict()?;
    let tl = Timeline::build(&data.history, None).ok_or("empty")?;
    let origin = tl.days - 42;
    eprintln!("origin {} load {:?}", tl.date(origin), t.elapsed());
    let train = training_cells(&tl, origin);
    let f = features::build(&tl, &data.stores, origin, &train);
    let y: Vec<f32> = train
        .iter()
        .map(|&(s, d)| tl.actual_sales(s as usize, d as usize).unwrap_or(1.0).ln())
        .collect();
    eprintln!("features {} rows {:?}", f.len(), t.elapsed());
    let trees: u32 = std::env::var("TREES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(800);
    let params = GbdtParams {
        num_trees: trees,
        categorical: vec![1, 2, 3, 24],
        ..GbdtParams::default()
    };
    let m = Gbdt::fit(&f.x, &y, FEATURE_NAMES, &params)?;
    eprintln!("fit {:?}", t.elapsed());
    let h = horizon_cells(&tl, origin, 42);
    let fh = features::build(&tl, &data.stores, origin, &h);
    let p = m.predict(&fh.x)?;
    let actual: Vec<f64> = h
        .iter()
        .map(|&(s, d)| f64::from(tl.actual_sales(s as usize, d as usize).unwrap_or(0.0)))
        .collect();
    let pred: Vec<f64> = p.iter().map(|v| v.exp()).collect();
    for c in [0.97, 0.98, 0.985, 0.99, 1.0] {
        let sc: Vec<f64> = pred.iter().map(|v| v * c).collect();
        let m = Metrics::compute(&actual, &sc);
        println!(
            "scale {c}: rmspe {:.4} mape {:.4} wape {:.4} bias {:+.4} n {}",
            m.rmspe, m.mape, m.wape, m.bias, m.n
        );
    }
    let t2 = Instant::now();
    let c = m.contributions(&fh.x[..2000 * N_FEATURES])?;
    eprintln!("contrib 2000 rows {:?} ({} values)", t2.elapsed(), c.len());
    eprintln!("total {:?}", t.elapsed());
    Ok(())
}
