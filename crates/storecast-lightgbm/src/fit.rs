//! One fit: a dataset built from a row-major matrix with the training's parameters, the
//! booster trained on it, its model text returned. The handles are freed on every path.

use crate::{c_string, check, LightGbmError};
use lightgbm3_sys as sys;
use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_void};

/// A dataset handle, freed on drop.
struct Dataset(sys::DatasetHandle);

impl Drop for Dataset {
    fn drop(&mut self) {
        // SAFETY: the handle came from a successful create and is freed once, here.
        #[allow(unsafe_code)]
        let _ = unsafe { sys::LGBM_DatasetFree(self.0) };
    }
}

/// A booster handle, freed on drop (before the dataset it trains on: declared after it).
struct Booster(sys::BoosterHandle);

impl Drop for Booster {
    fn drop(&mut self) {
        // SAFETY: the handle came from a successful create and is freed once, here.
        #[allow(unsafe_code)]
        let _ = unsafe { sys::LGBM_BoosterFree(self.0) };
    }
}

/// Fits `rounds` boosting rounds on row-major `x` (`y.len()` rows × `names.len()` features)
/// and returns LightGBM's model text. `params` are LightGBM's parameters (`key=value`,
/// space separated), given to the dataset (binning, categorical columns) and to the booster
/// alike. Training stops early only when LightGBM can add no tree.
pub fn fit(
    x: &[f32],
    y: &[f32],
    names: &[&str],
    params: &str,
    rounds: u32,
) -> Result<String, LightGbmError> {
    let params = c_string("the parameters", params)?;
    let dataset = dataset(x, y, names, &params)?;
    let mut handle = std::ptr::null_mut();
    // SAFETY: the dataset handle is live; `params` is NUL-terminated and outlives the call.
    #[allow(unsafe_code)]
    let code = unsafe { sys::LGBM_BoosterCreate(dataset.0, params.as_ptr(), &mut handle) };
    check("LGBM_BoosterCreate", code)?;
    let booster = Booster(handle);
    for _ in 0..rounds {
        let mut finished = 0;
        // SAFETY: the booster handle is live; `finished` is a valid out pointer.
        #[allow(unsafe_code)]
        let code = unsafe { sys::LGBM_BoosterUpdateOneIter(booster.0, &mut finished) };
        check("LGBM_BoosterUpdateOneIter", code)?;
        if finished != 0 {
            break;
        }
    }
    model_text(&booster)
}

/// The dataset of `x` and its labels, binned by `params`, its columns named.
fn dataset(x: &[f32], y: &[f32], names: &[&str], params: &CStr) -> Result<Dataset, LightGbmError> {
    let n_features = names.len();
    let rows = y.len();
    if n_features == 0 || rows == 0 || x.len() != rows * n_features {
        return Err(LightGbmError::Input(format!(
            "a matrix of {} values is not {rows} rows of {n_features} features",
            x.len()
        )));
    }
    let too_big = |what: &str| LightGbmError::Input(format!("too many {what} for LightGBM"));
    let nrow = i32::try_from(rows).map_err(|_| too_big("rows"))?;
    let ncol = i32::try_from(n_features).map_err(|_| too_big("features"))?;
    let mut handle = std::ptr::null_mut();
    // SAFETY: `x` holds nrow × ncol f32 values, row-major, and outlives the call (LightGBM
    // bins them into its own storage); `params` is NUL-terminated; no reference dataset.
    #[allow(unsafe_code)]
    let code = unsafe {
        sys::LGBM_DatasetCreateFromMat(
            x.as_ptr().cast::<c_void>(),
            sys::C_API_DTYPE_FLOAT32 as i32,
            nrow,
            ncol,
            1,
            params.as_ptr(),
            std::ptr::null_mut(),
            &mut handle,
        )
    };
    check("LGBM_DatasetCreateFromMat", code)?;
    let dataset = Dataset(handle);
    // SAFETY: the handle is live; `y` holds nrow f32 values and LightGBM copies them.
    #[allow(unsafe_code)]
    let code = unsafe {
        sys::LGBM_DatasetSetField(
            dataset.0,
            c"label".as_ptr(),
            y.as_ptr().cast::<c_void>(),
            nrow,
            sys::C_API_DTYPE_FLOAT32 as i32,
        )
    };
    check("LGBM_DatasetSetField", code)?;
    let owned: Vec<CString> = names
        .iter()
        .map(|n| c_string("a feature name", n))
        .collect::<Result<_, _>>()?;
    let mut pointers: Vec<*const c_char> = owned.iter().map(|n| n.as_ptr()).collect();
    // SAFETY: the handle is live; `pointers` holds ncol NUL-terminated strings that outlive
    // the call, and LightGBM copies them.
    #[allow(unsafe_code)]
    let code = unsafe { sys::LGBM_DatasetSetFeatureNames(dataset.0, pointers.as_mut_ptr(), ncol) };
    check("LGBM_DatasetSetFeatureNames", code)?;
    Ok(dataset)
}

/// The booster's model text (every tree, split-count importances, as `lightgbm3` saves it).
fn model_text(booster: &Booster) -> Result<String, LightGbmError> {
    let save = |buffer: &mut [u8]| -> Result<i64, LightGbmError> {
        let mut needed = 0_i64;
        // SAFETY: the booster handle is live; `buffer` is writable for its length (LightGBM
        // writes at most that many bytes and reports the length it needs).
        #[allow(unsafe_code)]
        let code = unsafe {
            sys::LGBM_BoosterSaveModelToString(
                booster.0,
                0,
                -1,
                sys::C_API_FEATURE_IMPORTANCE_SPLIT as i32,
                buffer.len() as i64,
                &mut needed,
                buffer.as_mut_ptr().cast::<c_char>(),
            )
        };
        check("LGBM_BoosterSaveModelToString", code)?;
        Ok(needed)
    };
    let needed = save(&mut [])?;
    let mut buffer = vec![0_u8; usize::try_from(needed).unwrap_or(0)];
    save(&mut buffer)?;
    // The text ends with LightGBM's NUL terminator.
    while buffer.last() == Some(&0) {
        buffer.pop();
    }
    String::from_utf8(buffer)
        .map_err(|_| LightGbmError::Input("LightGBM's model text is not UTF-8".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: usize) -> (Vec<f32>, Vec<f32>) {
        let x: Vec<f32> = (0..n).map(|i| i as f32).collect();
        let y: Vec<f32> = x.iter().map(|v| 2.0 * v).collect();
        (x, y)
    }

    #[test]
    fn a_fit_returns_a_model_text_with_the_rounds_asked() -> Result<(), LightGbmError> {
        let (x, y) = line(200);
        let text = fit(
            &x,
            &y,
            &["x"],
            "objective=regression verbosity=-1 min_data_in_leaf=5",
            3,
        )?;
        assert_eq!(text.matches("\nTree=").count(), 3);
        assert!(text.contains("feature_names=x"));
        assert!(!text.ends_with('\0'));
        Ok(())
    }

    #[test]
    fn bad_inputs_are_errors_not_crashes() {
        let (x, y) = line(10);
        let shape = fit(&x, &y[..9], &["x"], "", 1);
        assert!(matches!(shape, Err(LightGbmError::Input(_))), "{shape:?}");
        let empty = fit(&[], &[], &["x"], "", 1);
        assert!(matches!(empty, Err(LightGbmError::Input(_))), "{empty:?}");
        let nul = fit(&x, &y, &["x"], "seed=1\0", 1);
        assert!(matches!(nul, Err(LightGbmError::Input(_))), "{nul:?}");
        // LightGBM's own refusal comes back with the call that failed.
        let refused = fit(&x, &y, &["x"], "verbosity=-1 num_leaves=1", 1);
        assert!(
            matches!(&refused, Err(LightGbmError::Call { message, .. }) if message.contains("num_leaves")),
            "{refused:?}"
        );
    }
}
