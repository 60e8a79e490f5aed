//! How many threads a batch gets, decided in one place: every free core for a batch, the
//! calling thread for a small request (an API call, a what-if), where spawning costs more
//! than it saves. The feature builder, the flat forest, the TreeSHAP tables and LightGBM's
//! predictor each pass the batch size from which splitting pays for their work.

/// The cores this process may use (at least 1).
pub fn free_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Threads for a batch of `rows`: every free core from `parallel_from` rows on, else one.
pub fn batch_threads(rows: usize, parallel_from: usize) -> usize {
    if rows >= parallel_from {
        free_cores()
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_batches_stay_on_the_calling_thread() {
        assert_eq!(batch_threads(511, 512), 1);
        assert_eq!(batch_threads(512, 512), free_cores());
        assert!(free_cores() >= 1);
    }
}
