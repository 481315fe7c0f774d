#!/usr/bin/env bash
# Runs the exclusive-access benchmark and prints medians, spread and ratios to the floor.
#
#   crates/discrecorder/benches/run.sh [criterion args, e.g. a filter such as excl_emu]
#
# Run as root for the loop-device group (the bench attaches and detaches a loop device itself).
# Honours CARGO_TARGET_DIR (criterion's results go to $CARGO_TARGET_DIR/criterion). Builds the
# discrec CLI first so that the owner query is measured against a holder in another process;
# if that build fails, the bench falls back to a holder in its own process and says so.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
export CARGO_TARGET_DIR="$target"

# Everything the bench creates (runtime directory, loop image) lives under this directory; the
# trap detaches a loop device left behind if the bench is killed before its guard runs.
# Default /dev/shm: the tmpfs the library's default runtime directory is on. Set
# DISCRECORDER_BENCH_TMPDIR=/tmp (say) to measure with the owner records on a disk file system.
scratch="$(mktemp -d "${DISCRECORDER_BENCH_TMPDIR:-/dev/shm}/discrecorder-bench-run.XXXXXX")"
export DISCRECORDER_BENCH_TMPDIR="$scratch"
cleanup() {
    if [ "$(id -u)" = 0 ] && command -v losetup >/dev/null; then
        losetup -nO NAME,BACK-FILE 2>/dev/null | while read -r dev file; do
            case "$file" in
                "$scratch"/*) echo "run.sh: detaching leftover $dev" >&2; losetup -d "$dev" || true ;;
            esac
        done
    fi
    rm -rf "$scratch"
}
trap cleanup EXIT

cargo build --release -p discrec >&2 ||
    echo "run.sh: WARNING: discrec did not build; the owner query will use a same-process holder" >&2

stamp="$scratch/start"
touch "$stamp"
cargo bench -p discrecorder --bench exclusive_access -- "$@"

python3 - "$target/criterion" "$stamp" <<'EOF'
import json, os, sys

crit, stamp = sys.argv[1], sys.argv[2]
since = os.path.getmtime(stamp)
ORDER = ["cycle", "nested_acquire", "nested_pair", "owner_query_other_process",
         "owner_query_same_process", "owner_query_free", "floor", "floor_posix", "floor_claims"]
GOALS = {  # row: (limit in ns or None, description)
    "cycle": "cycle <= 3x floor",
    "nested_acquire": "nested acquire < 100 ns",
    "owner_query_other_process": "owner query < 50 us",
    "owner_query_same_process": "owner query < 50 us",
}

def fmt(ns):
    if ns >= 1e6: return f"{ns/1e6:.2f} ms"
    if ns >= 1e3: return f"{ns/1e3:.2f} us"
    return f"{ns:.1f} ns"

results = {}
for group in ("excl_emu", "excl_loop"):
    gdir = os.path.join(crit, group)
    if not os.path.isdir(gdir):
        continue
    for row in os.listdir(gdir):
        est = os.path.join(gdir, row, "new", "estimates.json")
        if os.path.isfile(est) and os.path.getmtime(est) >= since:
            with open(est) as f:
                results[(group, row)] = json.load(f)

if not results:
    sys.exit("run.sh: no fresh criterion estimates found under " + crit)

print()
print(f"| device | row | median | 95% CI of median | MAD | ratio to floor |")
print(f"|---|---|---:|---|---:|---:|")
verdicts = []
for group in ("excl_emu", "excl_loop"):
    rows = sorted((r for (g, r) in results if g == group),
                  key=lambda r: ORDER.index(r) if r in ORDER else len(ORDER))
    if not rows:
        print(f"| {group} | (not run) | | | | |")
        continue
    floor = results.get((group, "floor"), {}).get("median", {}).get("point_estimate")
    for row in rows:
        e = results[(group, row)]
        med = e["median"]["point_estimate"]
        ci = e["median"]["confidence_interval"]
        mad = e["median_abs_dev"]["point_estimate"]
        ratio = f"{med/floor:.2f}x" if floor else "-"
        print(f"| {group} | {row} | {fmt(med)} | {fmt(ci['lower_bound'])} .. {fmt(ci['upper_bound'])} "
              f"| {fmt(mad)} | {ratio} |")
        if row == "cycle" and floor:
            verdicts.append((group, GOALS[row], med / floor <= 3, f"{med/floor:.2f}x"))
        elif row == "nested_acquire":
            verdicts.append((group, GOALS[row], med < 100, fmt(med)))
        elif row.startswith("owner_query_") and row != "owner_query_free":
            verdicts.append((group, GOALS[row] + f" ({row})", med < 50_000, fmt(med)))

print()
print("| device | goal | measured | verdict |")
print("|---|---|---:|---|")
for group, goal, ok, measured in verdicts:
    print(f"| {group} | {goal} | {measured} | {'met' if ok else 'NOT met'} |")
EOF
