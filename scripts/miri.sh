#!/usr/bin/env bash
# Run the runtime's memory-level unit tests under Miri: the task cell and its wakers
# (task::tests, through a real runtime: Miri emulates epoll and eventfd), the timing wheel,
# and the sync primitives' unit tests. Miri reports use-after-free, double free, leaks,
# data races between the loop thread and foreign wakers, and aliasing violations.
#
#   bash scripts/miri.sh            # all of them
#   bash scripts/miri.sh task::     # a filter, as for cargo test
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo +nightly miri --version >/dev/null 2>&1; then
    echo "miri.sh: installing the Miri component on the nightly toolchain"
    rustup component add --toolchain nightly miri rust-src
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/miri}"
# Threads in the blocking-pool and foreign-wake tests need real time for park timeouts.
export MIRIFLAGS="${MIRIFLAGS:--Zmiri-disable-isolation}"
filters=("$@")
if [ ${#filters[@]} -eq 0 ]; then
    filters=(task:: time:: sync::)
fi
for f in "${filters[@]}"; do
    echo "== miri: corio-runtime --lib $f"
    cargo +nightly miri test -p corio-runtime --lib "$f"
done
