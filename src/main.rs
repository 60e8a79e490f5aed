//! storecast CLI (stub).
fn main() {}
