#!/usr/bin/env bash
# Builds every fuzz target, runs each for a while, one after the other, and prints one table row
# per target (Markdown, for RELIABILITY.md).
#
# Usage: fuzz/run.sh [SECONDS_PER_TARGET] [PLATEAU_SECONDS]
#   SECONDS_PER_TARGET  longest run of each target (default 60)
#   PLATEAU_SECONDS     stop a target early once its coverage (libFuzzer's `cov`) has not grown
#                       for this many seconds (default 0: always run the full time)
# Environment:
#   TARGETS="sense inquiry"  run only these targets (default: every file in fuzz_targets/)
#   CMIN=1                   minimise each corpus with `cargo fuzz cmin` after its run
#
# Needs the nightly toolchain and cargo-fuzz. One fuzzer runs at a time, in one process (no
# -jobs/-workers: libFuzzer's default is a single worker), so the run takes one core. New inputs
# go into corpus/TARGET/, crashes into artifacts/TARGET/ (ignored by git); a crash stops that
# target and is counted in the table. Columns: seconds run, inputs executed, final cov and ft,
# seconds into the run when cov last grew (polled every 5 s), corpus files and bytes at the end
# (after cmin with CMIN=1), crash/timeout/oom/leak artifacts written by this run.
set -euo pipefail
cd "$(dirname "$0")"

secs=${1:-60}
plateau=${2:-0}
targets=${TARGETS:-$(ls fuzz_targets | sed 's/\.rs$//' | sort)}
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')
bin_dir=target/$triple/release

cargo +nightly fuzz build >&2

logs=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -INT "$pid"
    fi
    rm -rf "$logs"
}
trap cleanup EXIT

echo "| target | seconds | runs | cov | ft | cov last grew at (s) | corpus files | corpus bytes | crashes |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for t in $targets; do
    mkdir -p "corpus/$t" "artifacts/$t"
    log=$logs/$t.log
    dict=()
    if [ -f "dict/$t.dict" ]; then
        dict=("-dict=dict/$t.dict")
    fi
    before=$(find "artifacts/$t" -type f | grep -cE '/(crash|timeout|oom|leak)-' || true)
    start=$(date +%s)
    "$bin_dir/$t" "corpus/$t" "${dict[@]}" \
        -artifact_prefix="artifacts/$t/" -max_total_time="$secs" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 &
    pid=$!
    last_cov=-1
    grew_at=0
    while kill -0 "$pid" 2>/dev/null; do
        sleep 5
        now=$(date +%s)
        cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2 || true)
        if [ -n "$cov" ] && [ "$cov" -gt "$last_cov" ]; then
            last_cov=$cov
            grew_at=$((now - start))
        fi
        if [ "$plateau" -gt 0 ] && [ $((now - start - grew_at)) -ge "$plateau" ]; then
            kill -INT "$pid" 2>/dev/null || true
        fi
    done
    wait "$pid" || true
    pid=
    ran=$(($(date +%s) - start))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ -z "$runs" ]; then
        runs=$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#' || true)
    fi
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2 || true)
    ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2 || true)
    after=$(find "artifacts/$t" -type f | grep -cE '/(crash|timeout|oom|leak)-' || true)
    if [ "$after" -gt "$before" ]; then
        grep -E 'panicked|ERROR: libFuzzer|SUMMARY' "$log" | head -n 5 >&2 || true
    fi
    if [ "${CMIN:-0}" = 1 ]; then
        # set_cover_merge keeps every feature with fewer files than plain -merge=1.
        cargo +nightly fuzz cmin "$t" -- -set_cover_merge=1 >"$logs/$t.cmin.log" 2>&1
    fi
    files=$(find "corpus/$t" -type f | wc -l)
    bytes=$(find "corpus/$t" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
    echo "| $t | $ran | ${runs:-0} | ${cov:-0} | ${ft:-0} | $grew_at | $files | $bytes | $((after - before)) |"
done
