#!/usr/bin/env python3
"""Token-guessing load against a running `storecast serve` (issue 13, point 1).

Usage: auth-attack.py PORT PID TOKEN
  PORT   the server's loopback port
  PID    the server's process id (resident memory is read from /proc/PID/status)
  TOKEN  a real token `<id>.<secret>`: its id is reused with random secrets

Prints: resident memory before/after/peak, the wall time of 300 requests 60 at once
(known id, random secrets) with their status codes, and the median/p90 latency of known-id
vs unknown-id guesses sent one at a time (interleaved).
"""
import concurrent.futures
import http.client
import os
import statistics
import sys
import time


def rss_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def get(port, token):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    t = time.perf_counter()
    c.request("GET", "/api/v1/stores", headers={"Authorization": f"Bearer {token}"})
    r = c.getresponse()
    r.read()
    c.close()
    return r.status, time.perf_counter() - t


def main():
    port, pid, token = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    known = token.split(".")[0]
    guess = lambda tid: f"{tid}.{os.urandom(32).hex()}"
    before = rss_kb(pid, "VmRSS")
    t = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(60) as pool:
        results = list(pool.map(lambda _: get(port, guess(known)), range(300)))
    wall = time.perf_counter() - t
    after, peak = rss_kb(pid, "VmRSS"), rss_kb(pid, "VmHWM")
    codes = {}
    for s, _ in results:
        codes[s] = codes.get(s, 0) + 1
    print(f"rss before {before/1024:.1f} MB, after {after/1024:.1f} MB, peak {peak/1024:.1f} MB, "
          f"growth {(after-before)/1024:.1f} MB (peak-before {(peak-before)/1024:.1f} MB)")
    print(f"300 requests, 60 at once: {wall:.2f} s, status codes {codes}")
    k, u = [], []
    for _ in range(40):
        k.append(get(port, guess(known))[1])
        u.append(get(port, guess(os.urandom(8).hex()))[1])
    q = lambda xs: (statistics.median(xs) * 1e3, sorted(xs)[int(len(xs) * 0.9)] * 1e3)
    print("sequential, 40 each: known id median %.2f ms p90 %.2f ms; unknown id median %.2f ms p90 %.2f ms"
          % (*q(k), *q(u)))


if __name__ == "__main__":
    main()
