#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) with cargo-fuzz (libFuzzer).
# cargo-fuzz needs nightly compiler flags; on a stable toolchain RUSTC_BOOTSTRAP=1 enables them.
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
secs=${1:-60}
export RUSTC_BOOTSTRAP=1
for t in load_train load_store load_test whatif_body; do
  mkdir -p fuzz/corpus/$t
  echo "== $t ($secs s)"
  cargo fuzz run --release --sanitizer none "$t" -- -max_total_time="$secs" -max_len=4096 2>&1 | grep -E "^#[0-9]+.*DONE|Done [0-9]+ runs|ERROR|panicked|SUMMARY" || true
done
