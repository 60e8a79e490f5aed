//! Generates a chain and reports how long it took; optionally writes the files.
//!
//! Usage: `cargo run --release -p storecast-synth --example synth -- [STORES] [OUT_DIR]`

use std::time::Instant;

use storecast_synth::{generate, SynthConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let stores = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1115);
    let cfg = SynthConfig {
        stores,
        ..SynthConfig::default()
    };
    let t0 = Instant::now();
    let chain = generate(&cfg)?;
    let generated = t0.elapsed();
    println!(
        "generate: {stores} stores, {} train rows, {} test rows in {generated:?}",
        chain.train.len(),
        chain.test.len()
    );
    if let Some(dir) = args.next() {
        let t1 = Instant::now();
        chain.write_to_dir(std::path::Path::new(&dir))?;
        println!("wrote 5 files to {dir} in {:?}", t1.elapsed());
    }
    Ok(())
}
