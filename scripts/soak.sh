#!/usr/bin/env bash
# The long reliability runs, in release mode, with their figures:
# 1. schedule exploration and cancel-at-every-poll under CORIO_SEEDS seeds per scenario
#    (default 1000; `cargo test` runs 5-24);
# 2. the soak tests of tests/soak.rs (ignored by default), one at a time: 10,000 loopback
#    connections for CORIO_SOAK_SECS (default 60) against the echo example, 1,000,000 timers,
#    1,000,000 tasks in waves, 1,000 slow-loris clients against http_hello;
# 3. the ignored tests that pin known bugs: reported as "still failing" or "now passing",
#    without failing the run.
#
#   bash scripts/soak.sh                                  # everything (~10 min on 2 cores)
#   CORIO_SOAK_SECS=10 CORIO_SEEDS=100 bash scripts/soak.sh   # a quick pass
#   bash scripts/soak.sh c10k                             # a filter for the soak tests
#
# The figures (lines starting with SOAK) are collected at the end and in target/soak/.
set -euo pipefail
cd "$(dirname "$0")/.."

export CORIO_SEEDS="${CORIO_SEEDS:-1000}"
export CORIO_SOAK_SECS="${CORIO_SOAK_SECS:-60}"
conns="${CORIO_SOAK_CONNS:-10000}"
filter="${1:-}"
out=target/soak
mkdir -p "$out"
log="$out/soak-$(date +%Y%m%d-%H%M%S).log"

# The client ends of the c10k soak live in the test process, the server ends in the echo
# example's process: each needs `conns` descriptors and some.
need=$((conns + 256))
soft=$(ulimit -Sn)
if [ "$soft" != unlimited ] && [ "$soft" -lt "$need" ]; then
    ulimit -Sn "$need" 2>/dev/null || ulimit -Sn "$(ulimit -Hn)" || true
    echo "soak.sh: RLIMIT_NOFILE soft limit $soft -> $(ulimit -Sn) (need $need)"
fi

# Ignored tests that pin open bugs (none open now: the two this suite found are fixed and
# their tests run as regular tests / soak tests).
known_bugs=()
skips=()
for t in "${known_bugs[@]}"; do skips+=(--skip "$t"); done

stage() { echo; echo "== $*" | tee -a "$log"; }
failed=0
t0=$(date +%s)

# The echo example is the c10k soak's server (tests/soak.rs finds it next to the test binary).
cargo build --release --example echo --tests 2>&1 | tail -1

if [ -z "$filter" ]; then
    stage "seeds: schedule_exploration + cancel_at_every_poll(_net), CORIO_SEEDS=$CORIO_SEEDS per scenario"
    s=$(date +%s)
    cargo test --release --test schedule_exploration --test cancel_at_every_poll \
        --test cancel_at_every_poll_net 2>&1 \
        | grep -E '^test |test result|panicked|replay with' | tee -a "$log" || failed=1
    echo "SOAK seeds: CORIO_SEEDS=$CORIO_SEEDS per scenario, $(( $(date +%s) - s )) s" | tee -a "$log"
fi

stage "soak tests (CORIO_SOAK_SECS=$CORIO_SOAK_SECS, connections=$conns)"
cargo test --release --test soak -- --ignored --nocapture --test-threads=1 "${skips[@]}" $filter 2>&1 \
    | tee -a "$log" | grep -E '^test |test result|^SOAK|^c10k:|panicked|failed' || failed=1

if [ -z "$filter" ] && [ ${#known_bugs[@]} -gt 0 ]; then
    stage "known bugs (ignored tests that fail until the bug is fixed)"
    for t in "${known_bugs[@]}"; do
        if cargo test --release --test soak -- --ignored --exact "$t" >/dev/null 2>&1; then
            echo "NOW PASSING: $t (remove its #[ignore])" | tee -a "$log"
        else
            echo "still failing (known bug): $t" | tee -a "$log"
        fi
    done
fi

echo
echo "== figures ($log, $(( $(date +%s) - t0 )) s in all)"
grep -o 'SOAK [a-z0-9]*: .*' "$log" || true
if [ "$failed" -ne 0 ]; then
    echo "soak.sh: FAILED (see $log)" >&2
    exit 1
fi
