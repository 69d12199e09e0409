#!/usr/bin/env bash
# Instructions per iteration of each corio micro case (callgrind: repeatable, unlike time on
# a shared machine), for two commits side by side: `before` (default: HEAD~1) and the work
# tree. Each case's corio function from bench/src/micro/cases.rs runs N and 2N iterations;
# the figure is (Ir(2N) - Ir(N)) / N, so runtime start-up cancels out.
#
# Usage: bash scripts/micro-instructions.sh [BEFORE_REV] [CASE ...]
# Needs valgrind (apt-get install valgrind). Builds into /tmp/corio-ir-*.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BEFORE_REV=${1:-HEAD~1}
shift || true
CASES=("$@")
if [ ${#CASES[@]} -eq 0 ]; then
    CASES=(spawn_join yield_now ping_pong lock_uncontended semaphore_uncontended lock_contended_8
        queue_bounded_16 queue_unbounded timeout_not_fired spawn_100k_join_all sleep_100k_fire)
fi
command -v valgrind >/dev/null || { echo "micro-instructions: valgrind is not installed" >&2; exit 2; }
WORK=/tmp/corio-ir
rm -rf "$WORK/before-tree"
mkdir -p "$WORK"
git worktree remove --force "$WORK/before-tree" 2>/dev/null || true
git worktree add --detach "$WORK/before-tree" "$BEFORE_REV" >/dev/null 2>&1
trap 'git -C "$ROOT" worktree remove --force "$WORK/before-tree" 2>/dev/null || true' EXIT

for side in before after; do
    tree=$([ $side = before ] && echo "$WORK/before-tree" || echo "$ROOT")
    mkdir -p "$WORK/$side/src"
    cat >"$WORK/$side/Cargo.toml" <<TOML
[package]
name = "ir-$side"
version = "0.0.0"
edition = "2021"
[dependencies]
corio = { path = "$tree" }
tokio = { version = "1", features = ["rt", "net", "io-util", "sync", "time"] }
[profile.release]
debug = 1
[workspace]
TOML
    cat >"$WORK/$side/src/main.rs" <<RS
#[path = "$tree/bench/src/micro/cases.rs"]
#[allow(dead_code)]
mod cases;
fn main() {
    let mut a = std::env::args().skip(1);
    let name = a.next().unwrap();
    let iters: u64 = a.next().unwrap().parse().unwrap();
    let case = cases::CASES.iter().find(|c| c.name == name).expect("unknown case");
    let _ = (case.corio)(iters);
}
RS
    (cd "$WORK/$side" && CARGO_TARGET_DIR="$WORK/target-$side" cargo build --release -q)
done

ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'; }
printf '%-24s %12s %12s %8s\n' case before after change
for c in "${CASES[@]}"; do
    case $c in
    spawn_100k_join_all | sleep_100k_fire) n=2 ;;
    spawn_join | ping_pong | lock_contended_8 | timeout_not_fired) n=20000 ;;
    *) n=100000 ;;
    esac
    row=()
    for side in before after; do
        bin="$WORK/target-$side/release/ir-$side"
        a=$(ir "$bin" "$c" "$n")
        b=$(ir "$bin" "$c" $((2 * n)))
        row+=($(((b - a) / n)))
    done
    awk -v c="$c" -v x="${row[0]}" -v y="${row[1]}" \
        'BEGIN { printf "%-24s %12d %12d %+7.1f%%\n", c, x, y, (y - x) * 100 / x }'
done
