#!/usr/bin/env bash
# The long reliability runs behind RELIABILITY.md: chaos (SIGKILL at random instants), load
# (64 processes on 4 devices), hostile neighbours and faults, each through the same tests the
# normal suite runs, with longer settings. Prints one Markdown table row per scenario.
#
#   tests/reliability/run.sh [CHAOS_ROUNDS [LOAD_SECS]]     # defaults: 1000 rounds, 60 s
#
# Run as root: the loop-device, other-user and mount scenarios need it (they fail, not skip,
# when CI=true). Honours CARGO_TARGET_DIR. Takes about (CHAOS_ROUNDS/25 + 2*LOAD_SECS + 60) s.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
rounds="${1:-1000}"
secs="${2:-60}"
log="$(mktemp -d "${TMPDIR:-/tmp}/discrec-reliability.XXXXXX")"
echo "reliability: logs in $log" >&2

cargo test --release -p discrec --no-run >&2

# run NAME TEST_FILE FILTER [ENV...]: runs one test (or a filter's tests), keeps its output
run() {
    local name="$1" file="$2" filter="$3"
    shift 3
    echo "reliability: $name" >&2
    if env "$@" cargo test -q --release -p discrec --test "$file" "$filter" -- --nocapture \
        >"$log/$name.out" 2>&1; then
        echo ok >"$log/$name.rc"
    else
        echo FAILED >"$log/$name.rc"
        tail -20 "$log/$name.out" >&2
    fi
}

# passed NAME: "N passed, M failed" of a run, from libtest's summary
counts() {
    sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$log/$1.out" |
        awk '{p += $1; f += $2} END {print p + 0, f + 0}'
}

row() { printf '| %s | %s | %s | `%s` |\n' "$1" "$2" "$3" "$4"; }

run chaos-emu t1_emulated d_holder DISCREC_CHAOS_ROUNDS="$rounds"
run chaos-loop t2_loop d_loop DISCREC_CHAOS_ROUNDS="$rounds"
run race-emu t1_emulated e_sixteen
run race-loop t2_loop e_loop
run load-emu t1_emulated load_ DISCREC_LOAD_SECS="$secs"
run load-loop t2_loop load_ DISCREC_LOAD_SECS="$secs"
run hostile-t1 t1_hostile ''
run hostile-t2 t2_hostile ''
run faults-emu t1_emulated i_emulated
run faults-loop t2_loop i_detached
run faults-hang t1_mmc timeout
run faults-signals cli sig

echo
echo "| scenario | iterations | failures | reproduce |"
echo "|---|---|---|---|"
for kind in emu loop; do
    f="$log/chaos-$kind.out"
    line="$(grep -h '^chaos:' "$f" || true)"
    kills="$(sed -n 's/.* \([0-9]*\) kills.*/\1/p' <<<"$line")"
    fails=$([ "$(cat "$log/chaos-$kind.rc")" = ok ] && echo 0 || echo "1 (see $f)")
    test=$([ $kind = emu ] && echo "t1_emulated d_holder" || echo "t2_loop d_loop")
    row "Chaos, $kind: SIGKILL at random phases (${line#*kills by phase: })" \
        "${kills:-?} kills" "$fails" \
        "DISCREC_CHAOS_ROUNDS=$rounds cargo test --release -p discrec --test $test -- --nocapture"
done
for kind in emu loop; do
    line="$(grep -h '^race:' "$log/race-$kind.out" || true)"
    n="$(sed -n 's/.*: \([0-9]*\) rounds.*/\1/p' <<<"$line")"
    fails=$([ "$(cat "$log/race-$kind.rc")" = ok ] && echo 0 || echo "1 (see $log/race-$kind.out)")
    test=$([ $kind = emu ] && echo "t1_emulated e_sixteen" || echo "t2_loop e_loop")
    row "Race, $kind: 16 processes try at once, exactly one wins, losers get E_ACCESSDENIED" \
        "${n:-?} rounds" "$fails" "cargo test --release -p discrec --test $test -- --nocapture"
done
for kind in emu loop; do
    f="$log/load-$kind.out"
    line="$(grep -h '^load:' "$f" || true)"
    fails=$([ "$(cat "$log/load-$kind.rc")" = ok ] && echo 0 || echo "1 (see $f)")
    test=$([ $kind = emu ] && echo t1_emulated || echo t2_loop)
    row "Load, $kind: ${line#load: }" "1 run" "$fails" \
        "DISCREC_LOAD_SECS=$secs cargo test --release -p discrec --test $test load_ -- --nocapture"
done
read -r p f < <(counts hostile-t1)
row "Hostile neighbours, same user: forged, stale, symlinked records, unsafe directory, escapes" \
    "$p tests" "$f" "cargo test -p discrec --test t1_hostile"
read -r p f < <(counts hostile-t2)
row "Hostile neighbours, other users: squatted names, unopenable forger, missing/read-only/full runtime dir" \
    "$p tests" "$f" "cargo test -p discrec --test t2_hostile"
for s in faults-emu faults-loop faults-hang faults-signals; do
    read -r p f < <(counts "$s")
    case $s in
        faults-emu) what="Fault: emulated drive vanishes while held"; t="t1_emulated i_emulated" ;;
        faults-loop) what="Fault: loop device detached while held"; t="t2_loop i_detached" ;;
        faults-hang) what="Fault: hung command times out, recorder stays usable"; t="t1_mmc timeout" ;;
        faults-signals) what="Fault: SIGKILL, SIGTERM, SIGINT to discrec lock"; t="cli sig" ;;
    esac
    row "$what" "$p test(s)" "$f" "cargo test -p discrec --test $t"
done
if grep -q FAILED "$log"/*.rc; then
    echo "reliability: FAILURES, see $log" >&2
    exit 1
fi
