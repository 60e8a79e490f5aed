//! The calls into LightGBM's C API that `lightgbm3` does not make.
//!
//! Why this crate: `lightgbm3` builds every dataset with empty parameters
//! (`LGBM_DatasetCreateFromMat(.., "", ..)`), and LightGBM fixes how each column is binned when
//! the dataset is built: numeric or categorical, the rows sampled to place the bins, the
//! features too rare to split. The booster's parameters do not reset it. So the categorical
//! columns a model named were binned as numbers, and its bins were placed on LightGBM's default
//! seed instead of the model's. [`fit`] builds the dataset with the training's own parameters
//! and trains on it. `lightgbm3` does not wrap LightGBM's network either ([`network`]).
//!
//! Every foreign call of the workspace outside `lightgbm3` is here, each with its safety
//! argument; callers get safe functions and typed errors.

use std::ffi::{CStr, CString};
use thiserror::Error;

mod fit;
pub mod network;

pub use fit::fit;

/// A failed call into LightGBM, or inputs it cannot take.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LightGbmError {
    /// LightGBM refused the call.
    #[error("{call}: {message}")]
    Call {
        /// The C function that failed.
        call: &'static str,
        /// LightGBM's message.
        message: String,
    },
    /// Inputs of the wrong shape or with a NUL byte.
    #[error("{0}")]
    Input(String),
}

/// LightGBM's message for its last failed call on this thread.
fn last_error() -> String {
    // SAFETY: LightGBM returns a pointer to a NUL-terminated thread-local buffer that stays
    // valid until its next call on this thread; it is copied at once.
    #[allow(unsafe_code)]
    let text = unsafe { CStr::from_ptr(lightgbm3_sys::LGBM_GetLastError()) };
    text.to_string_lossy().into_owned()
}

/// `Ok` for LightGBM's success code, its message otherwise.
fn check(call: &'static str, code: i32) -> Result<(), LightGbmError> {
    if code == 0 {
        Ok(())
    } else {
        Err(LightGbmError::Call {
            call,
            message: last_error(),
        })
    }
}

/// A C string, or an input error naming what held a NUL byte.
fn c_string(what: &str, text: &str) -> Result<CString, LightGbmError> {
    CString::new(text).map_err(|_| LightGbmError::Input(format!("{what} holds a NUL byte")))
}
