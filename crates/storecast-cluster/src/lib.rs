//! Training on several machines through LightGBM's own data-parallel learner.
//!
//! Why this crate: a chain many times the data's 1,115 stores, or forecasts at store ×
//! product-group level, outgrow one machine's memory and cores. LightGBM already ships a
//! data-parallel learner (`tree_learner=data`): each machine holds some rows, builds gradient
//! histograms on them, and the machines sum their histograms over TCP before every split; the
//! bin boundaries are found across machines when the dataset is built. storecast does not
//! write a distributed learner; it gives LightGBM its ranks and rows:
//! - [`Cluster`]: the machines (`host:port`, one per rank, the same list on every rank), this
//!   rank, and which stores are this rank's (every `size`-th store of the sorted ids, so each
//!   rank gets a like sample of store types, sizes and the stores with a gap in their history);
//! - [`Cluster::join`]: every rank met first ([`rendezvous`]: LightGBM aborts the process
//!   when a rank never comes), then LightGBM's network started (`LGBM_NetworkInit`), kept
//!   while the returned [`Joined`] lives, freed on drop; meanwhile [`joined_machines`] tells
//!   the model's fit to ask LightGBM for the data-parallel learner.
//!
//! Every rank must run the same fits in the same order (they meet at every histogram sum), so
//! the job above this one runs the same training on every rank, each on its own stores.
//! LightGBM's network is process-wide state; so is its mirror here.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use thiserror::Error;

pub mod rendezvous;

/// Errors of a cluster's settings or of joining it.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ClusterError {
    /// Fewer than two machines.
    #[error("a distributed training needs at least two machines, got {0}")]
    TooFew(usize),
    /// The rank is not a position in the list.
    #[error("rank {rank} is not one of the {size} machines (ranks 0 to {last})", last = size - 1)]
    Rank {
        /// Rank given.
        rank: usize,
        /// Machines listed.
        size: usize,
    },
    /// A machine that does not resolve to an address.
    #[error("machine {0:?} is not host:port")]
    Address(String),
    /// The same address twice.
    #[error("machine {0} is listed twice")]
    Duplicate(SocketAddr),
    /// A network is already joined in this process.
    #[error("this process has already joined a network")]
    AlreadyJoined,
    /// This rank's port could not be bound.
    #[error("cannot listen on port {port}: {message}")]
    Port {
        /// The port of this rank.
        port: u16,
        /// The system's reason.
        message: String,
    },
    /// Ranks that did not answer within the time-out.
    #[error("{} did not answer within {seconds} s: is every rank started, with the same --machines?", missing.iter().map(|(r, a)| format!("rank {r} ({a})")).collect::<Vec<_>>().join(", "))]
    Unreachable {
        /// The missing ranks and their addresses.
        missing: Vec<(usize, SocketAddr)>,
        /// The time-out.
        seconds: u64,
    },
    /// LightGBM could not start its network once the ranks had met (its port taken between
    /// the meeting and its bind, say).
    #[error("LightGBM's network: {0}")]
    Network(String),
}

/// The machines of a distributed training and this process's rank among them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    machines: Vec<SocketAddr>,
    rank: usize,
    timeout: Duration,
}

/// How long a rank waits for the others to answer before it gives up.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// LightGBM's socket time-out once the ranks have met (minutes): how long one rank may wait
/// for another inside a fit (a histogram sum) before LightGBM fails the training. The ranks
/// hold like shares, so their waits are short; the margin is for a slow machine.
const LIGHTGBM_SOCKET_MINUTES: i32 = 60;

impl Cluster {
    /// The cluster of `machines` (`host:port`, the same list in the same order on every rank),
    /// as seen by `rank`.
    pub fn new<S: AsRef<str>>(machines: &[S], rank: usize) -> Result<Self, ClusterError> {
        let mut addrs: Vec<SocketAddr> = Vec::with_capacity(machines.len());
        for m in machines {
            let m = m.as_ref().trim();
            let addr = m
                .to_socket_addrs()
                .ok()
                .and_then(|mut a| a.find(SocketAddr::is_ipv4))
                .ok_or_else(|| ClusterError::Address(m.to_string()))?;
            if addrs.contains(&addr) {
                return Err(ClusterError::Duplicate(addr));
            }
            addrs.push(addr);
        }
        if addrs.len() < 2 {
            return Err(ClusterError::TooFew(addrs.len()));
        }
        if rank >= addrs.len() {
            return Err(ClusterError::Rank {
                rank,
                size: addrs.len(),
            });
        }
        Ok(Self {
            machines: addrs,
            rank,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The same cluster with another time-out for the other ranks to answer.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// This process's rank (0 writes the model).
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Machines in the cluster.
    pub fn size(&self) -> usize {
        self.machines.len()
    }

    /// Whether the store at `position` among the chain's sorted store ids is this rank's.
    pub fn owns(&self, position: usize) -> bool {
        position % self.size() == self.rank
    }

    /// The machine list as LightGBM reads it (`ip:port,ip:port`).
    fn machine_list(&self) -> String {
        self.machines
            .iter()
            .map(|a| format!("{}:{}", a.ip(), a.port()))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Meets every other rank (each waits up to the time-out for the others), then starts
    /// LightGBM's network on the same ports. Fits in this process use the data-parallel
    /// learner until the returned guard is dropped.
    pub fn join(&self) -> Result<Joined, ClusterError> {
        let _held = JOIN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if joined_machines() > 1 {
            return Err(ClusterError::AlreadyJoined);
        }
        self.meet()?;
        let port = self.machines[self.rank].port();
        storecast_lightgbm::network::init(
            &self.machine_list(),
            port,
            LIGHTGBM_SOCKET_MINUTES,
            self.size(),
        )
        .map_err(|e| ClusterError::Network(e.to_string()))?;
        MACHINES.store(self.size(), Ordering::SeqCst);
        Ok(Joined { _private: () })
    }

    /// Every other rank met within the time-out ([`rendezvous::meet`]).
    fn meet(&self) -> Result<(), ClusterError> {
        rendezvous::meet(&self.machines, self.rank, self.timeout).map_err(|f| match f {
            rendezvous::Failure::Bind(e) => ClusterError::Port {
                port: self.machines[self.rank].port(),
                message: e.to_string(),
            },
            rendezvous::Failure::Missing(ranks) => ClusterError::Unreachable {
                missing: ranks.into_iter().map(|r| (r, self.machines[r])).collect(),
                seconds: self.timeout.as_secs(),
            },
        })
    }
}

/// Serialises joining and leaving (LightGBM's network is one per process).
static JOIN: Mutex<()> = Mutex::new(());

/// Machines of the network this process has joined (1: none).
static MACHINES: AtomicUsize = AtomicUsize::new(1);

/// Machines of the network this process has joined, 1 when it trains alone: the model's fit
/// asks LightGBM for the data-parallel learner over that many machines when above 1.
pub fn joined_machines() -> usize {
    MACHINES.load(Ordering::SeqCst)
}

/// LightGBM's network, joined while this lives.
#[derive(Debug)]
pub struct Joined {
    _private: (),
}

impl Drop for Joined {
    fn drop(&mut self) {
        let _held = JOIN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        storecast_lightgbm::network::free();
        MACHINES.store(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_is_two_or_more_distinct_machines_and_a_rank_among_them() {
        let c = Cluster::new(&["127.0.0.1:12400", "127.0.0.1:12401"], 1).expect("valid");
        assert_eq!((c.rank(), c.size()), (1, 2));
        assert_eq!(c.machine_list(), "127.0.0.1:12400,127.0.0.1:12401");
        assert_eq!(
            Cluster::new(&["127.0.0.1:1"], 0),
            Err(ClusterError::TooFew(1))
        );
        assert_eq!(
            Cluster::new(&["127.0.0.1:1", "127.0.0.1:2"], 2),
            Err(ClusterError::Rank { rank: 2, size: 2 })
        );
        assert!(matches!(
            Cluster::new(&["127.0.0.1:1", "127.0.0.1:1"], 0),
            Err(ClusterError::Duplicate(_))
        ));
        assert!(matches!(
            Cluster::new(&["127.0.0.1", "127.0.0.1:2"], 0),
            Err(ClusterError::Address(_))
        ));
    }

    #[test]
    fn every_store_position_belongs_to_exactly_one_rank() {
        let list = ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"];
        let ranks: Vec<Cluster> = (0..3)
            .map(|r| Cluster::new(&list, r).expect("valid"))
            .collect();
        for position in 0..100 {
            let owners = ranks.iter().filter(|c| c.owns(position)).count();
            assert_eq!(owners, 1, "position {position}");
        }
        // Interleaved: ranks take turns, so each gets every third store.
        assert!(ranks[0].owns(0) && ranks[1].owns(1) && ranks[2].owns(2) && ranks[0].owns(3));
    }

    #[test]
    fn a_rank_whose_partner_never_comes_gets_an_error_and_keeps_running() {
        // Rank 1 of 2, whose rank 0 is never started. Left to LightGBM, the rank's listener
        // thread throws after the time-out and the C++ runtime aborts the process (SIGABRT:
        // seen before the rendezvous). With it, `join` returns an error naming rank 0 and
        // this test goes on.
        let machines: Vec<String> = crate::rendezvous::tests::free_ports(2)
            .iter()
            .map(ToString::to_string)
            .collect();
        let alone = Cluster::new(&machines, 1)
            .expect("valid")
            .with_timeout(Duration::from_secs(2));
        let started = std::time::Instant::now();
        let joined = alone.join();
        let waited = started.elapsed().as_secs_f64();
        match &joined {
            Err(
                e @ ClusterError::Unreachable {
                    missing,
                    seconds: 2,
                },
            ) => {
                assert_eq!(missing.len(), 1);
                assert_eq!(missing[0].0, 0);
                assert!(e.to_string().contains("rank 0 (127.0.0.1:"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        assert!((2.0..15.0).contains(&waited), "gave up after {waited:.1} s");
        assert_eq!(joined_machines(), 1);
    }
}
