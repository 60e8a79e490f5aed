//! Every rank seen alive before LightGBM's network starts.
//!
//! Why: LightGBM's network init waits for the other ranks in a listener thread, and when one
//! never comes, that thread throws: the C++ runtime aborts the whole process (SIGABRT, seen in
//! the test `a_rank_whose_partner_never_comes_gets_an_error_and_keeps_running`) instead of
//! returning an error. So before LightGBM binds its ports, each rank meets every other on the
//! same ports with plain sockets, the way LightGBM links them: a rank listens on its own port,
//! greets every higher rank (hello, acknowledgement, done) and answers every lower one. Only
//! when every pair has finished its exchange does a rank release its port to LightGBM; past
//! the time-out it returns an error naming the missing ranks, and the process goes on
//! (nothing trained, nothing written).
//!
//! One direction per pair means two ranks never wait on each other's answer at once. The
//! greeting side closes first, so the listening port holds no `TIME_WAIT` connection and
//! LightGBM can bind it at once.
//!
//! The meeting and LightGBM share each rank's port, so no LightGBM connection may reach a
//! meeting listener: it would be read as a bad hello and closed, and LightGBM, which takes a
//! closed link for an empty message, would spin on it forever (seen once in CI, with
//! half-second reads). So a rank stops accepting the moment it has met everyone, every read
//! of the exchange waits up to [`EXCHANGE`] (a stalled greeter must not be dropped between
//! its acknowledgement and its "done"), and every rank waits [`SETTLE`] after meeting before
//! LightGBM starts, so that every other has closed its meeting listener by then. LightGBM's
//! own connection retries (20, over about two minutes, per its `linkers_socket.cpp`) cover
//! the rest.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// What a rank sends: this tag, then its rank as 4 little-endian bytes.
const HELLO: &[u8; 4] = b"stc1";

/// The acknowledgement of a hello.
const ACK: u8 = 0xA5;

/// The greeter's last word: it read the acknowledgement and counts the pair as met.
const DONE: u8 = 0x5A;

/// How long one connection attempt may take.
const CONNECT: Duration = Duration::from_millis(500);

/// How long one read or write of an exchange may wait.
const EXCHANGE: Duration = Duration::from_secs(15);

/// The wait after meeting, before LightGBM starts.
const SETTLE: Duration = Duration::from_secs(2);

/// Pause between rounds while some rank is still missing.
const ROUND: Duration = Duration::from_millis(50);

/// Why the ranks did not meet.
#[derive(Debug)]
pub enum Failure {
    /// This rank's port could not be bound.
    Bind(std::io::Error),
    /// Ranks not heard from, or not reached, within the time-out.
    Missing(Vec<usize>),
}

/// Meets every other rank of `machines` on their ports; `rank` is this process's position.
pub fn meet(machines: &[SocketAddr], rank: usize, timeout: Duration) -> Result<(), Failure> {
    let port = machines[rank].port();
    let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).map_err(Failure::Bind)?;
    listener.set_nonblocking(true).map_err(Failure::Bind)?;
    // met[r]: the exchange with rank r is done (a lower rank greeted us, or we greeted a
    // higher one).
    let mut met: Vec<bool> = (0..machines.len()).map(|r| r == rank).collect();
    let deadline = Instant::now() + timeout;
    loop {
        // Stop accepting once everyone is met: a later connection is LightGBM's.
        while !met.iter().all(|&m| m) {
            let Ok((stream, _)) = listener.accept() else {
                break;
            };
            if let Some(r) = answer(stream).filter(|&r| r < rank) {
                met[r] = true;
            }
        }
        for r in rank + 1..machines.len() {
            if !met[r] {
                met[r] = greet(machines[r], rank).is_ok();
            }
        }
        if met.iter().all(|&m| m) {
            drop(listener);
            std::thread::sleep(SETTLE);
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Failure::Missing(
                (0..machines.len()).filter(|&r| !met[r]).collect(),
            ));
        }
        std::thread::sleep(ROUND);
    }
}

/// Reads a hello on an accepted connection, acknowledges it, and waits for the greeter's done
/// and for it to close first. The rank it names, once done.
fn answer(mut stream: TcpStream) -> Option<usize> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(EXCHANGE)).ok()?;
    stream.set_write_timeout(Some(EXCHANGE)).ok()?;
    let mut hello = [0u8; 8];
    stream.read_exact(&mut hello).ok()?;
    if &hello[..4] != HELLO {
        return None;
    }
    let rank = u32::from_le_bytes([hello[4], hello[5], hello[6], hello[7]]);
    stream.write_all(&[ACK]).ok()?;
    let mut done = [0u8; 1];
    stream.read_exact(&mut done).ok()?;
    if done[0] != DONE {
        return None;
    }
    let mut rest = [0u8; 1];
    // The greeter closes after its done: read until then (0 bytes = closed).
    loop {
        match stream.read(&mut rest) {
            Ok(0) => break,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    usize::try_from(rank).ok()
}

/// Says hello to the rank at `addr`, waits for its acknowledgement, says done; closes first.
fn greet(addr: SocketAddr, rank: usize) -> std::io::Result<()> {
    let mut stream = TcpStream::connect_timeout(&addr, CONNECT)?;
    stream.set_read_timeout(Some(EXCHANGE))?;
    stream.set_write_timeout(Some(EXCHANGE))?;
    let mut hello = [0u8; 8];
    hello[..4].copy_from_slice(HELLO);
    hello[4..].copy_from_slice(&u32::try_from(rank).unwrap_or(u32::MAX).to_le_bytes());
    stream.write_all(&hello)?;
    let mut ack = [0u8; 1];
    stream.read_exact(&mut ack)?;
    if ack[0] != ACK {
        return Err(std::io::Error::new(ErrorKind::InvalidData, "not a rank"));
    }
    stream.write_all(&[DONE])
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `n` distinct free loopback addresses (bound together, then released).
    pub(crate) fn free_ports(n: usize) -> Vec<SocketAddr> {
        let held: Vec<TcpListener> = (0..n)
            .map(|_| TcpListener::bind("127.0.0.1:0").expect("a free port"))
            .collect();
        held.iter()
            .map(|l| l.local_addr().expect("address"))
            .collect()
    }

    #[test]
    fn three_ranks_meet_whatever_order_they_start_in() {
        let machines = free_ports(3);
        let handles: Vec<_> = [2usize, 0, 1]
            .into_iter()
            .map(|rank| {
                let machines = machines.clone();
                std::thread::sleep(Duration::from_millis(300));
                std::thread::spawn(move || meet(&machines, rank, Duration::from_secs(20)))
            })
            .collect();
        for h in handles {
            assert!(h.join().expect("no panic").is_ok());
        }
        // Each port is free again at once for LightGBM to bind.
        for m in &machines {
            TcpListener::bind((Ipv4Addr::UNSPECIFIED, m.port())).expect("port free again");
        }
    }

    #[test]
    fn a_rank_alone_names_the_missing_ranks_after_its_time_out() {
        let machines = free_ports(3);
        let started = Instant::now();
        match meet(&machines, 1, Duration::from_secs(1)) {
            Err(Failure::Missing(m)) => assert_eq!(m, vec![0, 2]),
            other => panic!("{other:?}"),
        }
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(1) && waited < Duration::from_secs(10));
    }

    #[test]
    fn a_stranger_on_the_port_is_not_taken_for_a_rank() {
        let machines = free_ports(2);
        let port = machines[0];
        let stranger = std::thread::spawn(move || {
            for _ in 0..40 {
                if let Ok(mut s) = TcpStream::connect(port) {
                    let _ = s.write_all(b"GET / HTTP/1.0\r\n\r\n");
                    return;
                }
                std::thread::sleep(Duration::from_millis(25));
            }
        });
        match meet(&machines, 0, Duration::from_secs(1)) {
            Err(Failure::Missing(m)) => assert_eq!(m, vec![1]),
            other => panic!("{other:?}"),
        }
        stranger.join().expect("stranger");
    }
}
