//! Fuzz the train.csv loader: any bytes must give rows or errors, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

const STORES: &[u8] = b"Store,StoreType,Assortment,CompetitionDistance,CompetitionOpenSinceMonth,CompetitionOpenSinceYear,Promo2,Promo2SinceWeek,Promo2SinceYear,PromoInterval\n1,c,a,1270,9,2008,0,,,\n";

fuzz_target!(|data: &[u8]| {
    if let Ok(report) = storecast_data::ChainData::from_bytes(data.to_vec(), STORES.to_vec(), None, "fuzz") {
        for e in &report.rejected {
            let _ = e.to_string();
        }
        let _ = report.into_strict();
    }
});
