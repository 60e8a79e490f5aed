#!/usr/bin/env bash
# Load benchmark of the web app on loopback: starts `storecast serve` on the data found (real
# or synthetic) with a fresh database and an admin token, then runs wrk with 64 connections
# against the store forecast API. Prints latency percentiles and the count of errors.
# Usage: scripts/bench-serve.sh [MODEL.json] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null 2>&1 || sudo apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet
bin=target/release/storecast
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
model=${1:-models/model.json}
if [ ! -f "$model" ]; then
  echo "no model at $model: training one (quick settings) for the benchmark" >&2
  $bin train --out "$tmp/model.json" --folds 1 --trees 100 >/dev/null
  model="$tmp/model.json"
fi
token=$($bin users add bench --role admin --db "$tmp/bench.db" | tail -1)
$bin serve --model "$model" --db "$tmp/bench.db" --addr 127.0.0.1:8099 >"$tmp/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do curl -sf -o /dev/null http://127.0.0.1:8099/healthz && break; sleep 1; done
store=$(curl -sf -H "Authorization: Bearer $token" http://127.0.0.1:8099/api/v1/stores | grep -o '"store":[0-9]*' | head -1 | cut -d: -f2)
echo "store forecast API, store $store, 64 connections, ${2:-15} s:"
wrk -t2 -c64 -d"${2:-15}"s --latency -H "Authorization: Bearer $token" "http://127.0.0.1:8099/api/v1/stores/$store/forecast" | grep -E "Latency|50%|90%|99%|requests in|Requests/sec|Non-2xx|Socket errors" || true
