//! Admission control for CPU-heavy requests (what-if, an explanation computed on demand).
//!
//! Why: on two cores a flood of requests that each cost tens of milliseconds of CPU would
//! queue for seconds and take the cores from the cheap reads every page depends on. Heavy
//! work runs on the blocking pool behind a semaphore that leaves one core to the reads; when every permit is
//! taken the request is refused at once with 503 and `Retry-After` instead of waiting, so
//! light routes keep their latency and clients learn to come back.

use crate::error::AppError;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// The bounded pool of heavy work.
#[derive(Debug, Clone)]
pub struct HeavyPool {
    permits: Arc<Semaphore>,
    size: usize,
}

impl Default for HeavyPool {
    /// One slot per core but one (at least one slot): the last core stays with the light
    /// routes, which is what keeps a forecast fast under a flood of what-ifs.
    fn default() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1)))
    }
}

impl HeavyPool {
    /// A pool running at most `size` heavy jobs at a time (at least 1).
    pub fn new(size: usize) -> Self {
        let size = size.max(1);
        Self {
            permits: Arc::new(Semaphore::new(size)),
            size,
        }
    }

    /// Jobs that may run at once.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Jobs running now.
    pub fn busy(&self) -> usize {
        self.size - self.permits.available_permits()
    }

    /// Runs `job` on the blocking pool if a slot is free, else answers [`AppError::Busy`]
    /// without waiting.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let permit = self
            .permits
            .clone()
            .try_acquire_owned()
            .map_err(|_| AppError::Busy)?;
        tokio::task::spawn_blocking(move || {
            let out = job();
            drop(permit);
            out
        })
        .await
        .map_err(|e| AppError::Internal(format!("heavy job failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_pool_refuses_at_once_and_frees_its_slot_after() {
        let pool = HeavyPool::new(1);
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let p = pool.clone();
        let running = tokio::spawn(async move { p.run(move || rx.recv().is_ok()).await });
        while pool.busy() == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        assert!(matches!(pool.run(|| ()).await, Err(AppError::Busy)));
        tx.send(()).expect("job waits");
        assert!(matches!(running.await.expect("joins"), Ok(true)));
        assert_eq!(pool.busy(), 0);
        assert!(matches!(pool.run(|| 7).await, Ok(7)));
    }
}
