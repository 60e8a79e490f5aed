//! Fuzz the API's what-if JSON body parser: malformed bodies must give a 4xx error value.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = storecast_web::api::parse_whatif_body(data);
});
