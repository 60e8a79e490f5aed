//! Fuzz the test.csv (forecast requests) loader.
#![no_main]
use libfuzzer_sys::fuzz_target;

const TRAIN: &[u8] = b"Store,DayOfWeek,Date,Sales,Customers,Open,Promo,StateHoliday,SchoolHoliday\n1,5,2015-06-19,4202,487,1,1,0,0\n";
const STORES: &[u8] = b"Store,StoreType,Assortment,CompetitionDistance,CompetitionOpenSinceMonth,CompetitionOpenSinceYear,Promo2,Promo2SinceWeek,Promo2SinceYear,PromoInterval\n1,c,a,1270,9,2008,0,,,\n";

fuzz_target!(|data: &[u8]| {
    if let Ok(report) = storecast_data::ChainData::from_bytes(TRAIN.to_vec(), STORES.to_vec(), Some(data.to_vec()), "fuzz") {
        if let Some(r) = report.data.requests {
            let _ = r.date_range();
        }
    }
});
