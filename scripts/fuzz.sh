#!/usr/bin/env bash
# Run the cargo-fuzz targets under fuzz/ (see fuzz/README.md), one at a time, each for
# SECONDS (default 60), and report per target "ran N s, X execs, clean|CRASH".
# Exits non-zero if any target crashed (or failed to run); crash inputs land in
# fuzz/artifacts/<target>/, each target's full libFuzzer log in fuzz/artifacts/<target>.log.
# .ci/run does not call this: fuzzing is open-ended, run it by hand.
#
#   bash scripts/fuzz.sh               # every target, 60 s each
#   bash scripts/fuzz.sh 300           # every target, 5 min each
#   bash scripts/fuzz.sh 120 queue_ops timer_wheel
#
# Needs the nightly toolchain (cargo fuzz builds with sanitizers); installs cargo-fuzz if
# missing. Each target's corpus grows in fuzz/corpus/<target>/ (not committed); the committed
# fuzz/seeds/<target>/ and fuzz/regressions/<target>/ are read as extra corpora, and
# fuzz/dicts/<target>.dict as a libFuzzer dictionary when present.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${1:-60}"
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (SECONDS: a positive whole number)" >&2
    exit 2
fi

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing the nightly toolchain (cargo fuzz needs it)"
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

echo "fuzz.sh: building ${targets[*]}"
for t in "${targets[@]}"; do
    cargo +nightly fuzz build "$t"
done

summary=()
failed=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    corpora=("corpus/$t")
    for extra in "seeds/$t" "regressions/$t"; do
        [ -d "$extra" ] && corpora+=("$extra")
    done
    flags=(-max_total_time="$seconds" -timeout=10 -print_final_stats=1)
    [ -f "dicts/$t.dict" ] && flags+=(-dict="dicts/$t.dict")
    log="artifacts/$t.log"
    echo "fuzz.sh: $t for ${seconds} s (log: fuzz/$log)"
    start=$(date +%s)
    status=0
    cargo +nightly fuzz run "$t" "${corpora[@]}" -- "${flags[@]}" >"$log" 2>&1 || status=$?
    ran=$(($(date +%s) - start))
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
    if [ -z "$execs" ]; then
        execs=$(grep -o '^Done [0-9]* runs' "$log" | tail -1 | grep -o '[0-9][0-9]*' || echo '?')
    fi
    if [ "$status" -eq 0 ]; then
        verdict=clean
    else
        verdict=CRASH
        failed=1
        grep -E "panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer|Test unit written to|^[a-z]+ .*panicked" "$log" | head -5 | sed 's/^/    /' || true
    fi
    line=$(printf '%-14s ran %5d s, %10s execs, %s' "$t" "$ran" "$execs" "$verdict")
    echo "$line"
    summary+=("$line")
done

echo
echo "fuzz.sh summary ($(date -u +%Y-%m-%dT%H:%MZ), ${seconds} s per target, $(nproc) CPUs):"
printf '%s\n' "${summary[@]}"
exit "$failed"
