//! LightGBM's socket network, which its data-parallel learner sums histograms over.
//!
//! The network is process-wide state inside LightGBM; `storecast-cluster` decides when to
//! join and leave it (after the ranks have met) and serialises both.

use crate::{c_string, check, LightGbmError};
use std::ffi::CStr;

/// Starts LightGBM's network: this process listens on `port`, one of `machines`
/// (`ip:port,ip:port`, the same list on every rank), and waits up to `socket_minutes` for
/// any other rank inside a fit.
pub fn init(
    machines: &str,
    port: u16,
    socket_minutes: i32,
    size: usize,
) -> Result<(), LightGbmError> {
    let machines = c_string("the machine list", machines)?;
    let size = i32::try_from(size)
        .map_err(|_| LightGbmError::Input(format!("{size} machines are too many")))?;
    log_to_stderr();
    // SAFETY: `machines` is a NUL-terminated string that outlives the call; the other
    // arguments are plain integers. LightGBM copies what it keeps.
    #[allow(unsafe_code)]
    let code = unsafe {
        lightgbm3_sys::LGBM_NetworkInit(machines.as_ptr(), i32::from(port), socket_minutes, size)
    };
    check("LGBM_NetworkInit", code)
}

/// Closes LightGBM's network (a no-op without one).
pub fn free() {
    // SAFETY: no arguments; LightGBM closes its sockets (a no-op without a network).
    #[allow(unsafe_code)]
    let _ = unsafe { lightgbm3_sys::LGBM_NetworkFree() };
}

/// Sends LightGBM's log to stderr. Its network logs at its default level (the training's
/// `verbosity` is not set yet) and writes to stdout, where it would mix into a rank's output
/// (`--json` must print JSON alone).
fn log_to_stderr() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: `to_stderr` has the signature LightGBM calls and lives for the process.
        #[allow(unsafe_code)]
        let _ = unsafe { lightgbm3_sys::LGBM_RegisterLogCallback(Some(to_stderr)) };
    });
}

/// LightGBM's log callback: each message to stderr.
extern "C" fn to_stderr(message: *const std::os::raw::c_char) {
    if message.is_null() {
        return;
    }
    // SAFETY: LightGBM passes a NUL-terminated string valid for the call; it is copied at once.
    #[allow(unsafe_code)]
    let text = unsafe { CStr::from_ptr(message) };
    eprint!("{}", text.to_string_lossy());
}
