//! Fuzz the store.csv loader.
#![no_main]
use libfuzzer_sys::fuzz_target;

const TRAIN: &[u8] = b"Store,DayOfWeek,Date,Sales,Customers,Open,Promo,StateHoliday,SchoolHoliday\n1,5,2015-06-19,4202,487,1,1,0,0\n";

fuzz_target!(|data: &[u8]| {
    if let Ok(report) = storecast_data::ChainData::from_bytes(TRAIN.to_vec(), data.to_vec(), None, "fuzz") {
        for s in &report.data.stores.rows {
            let _ = (s.competition_open_date(), s.promo2_since_date());
        }
    }
});
