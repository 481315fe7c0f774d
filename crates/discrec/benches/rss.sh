#!/usr/bin/env bash
# Peak resident memory (RSS) of the discrec command line, per command and device.
#
#   crates/discrec/benches/rss.sh [RUNS]          # RUNS per row, default 21
#   DISCREC=/path/to/discrec crates/discrec/benches/rss.sh
#
# Without DISCREC it runs `cargo build --release -p discrec` (CARGO_TARGET_DIR honoured) and
# measures that binary. Devices: an emulated recorder (emu:rss-PID, in a fresh runtime
# directory on /dev/shm, removed afterwards) and, as root, a loop device over a 64 MiB sparse
# file (attached with losetup, detached on every exit); without root the loop rows are skipped
# with a message. The machine's real optical drives appear only in `list` (if there are any).
# The guest tier measures the same on a real kernel sr drive: tests/vm/run-peers.sh.
#
# Method: GNU time (`/usr/bin/time -f '%x %M'`, Debian package `time`): wait4's ru_maxrss, the
# peak RSS of the process and of the children it waited for (for `lock -- true` the larger of
# discrec and `true`). GNU time forks before it execs the command, and the kernel charges the
# forked copy's pages to the command too, so /bin/true shows the floor of the method.
# Output: a table (median, min, max in KiB, median in MiB) and the goal verdicts
# (owner, list, lock -- true < 8 MiB). Exit status 1 if a command failed, else 0 (a missed goal
# is reported, not an error).
set -euo pipefail

RUNS="${1:-21}"
case "$RUNS" in '' | *[!0-9]*) echo "rss.sh: RUNS must be a number" >&2; exit 2 ;; esac
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
GOAL_KIB=8192
TIME=/usr/bin/time

if ! "$TIME" -f %M true >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        echo "rss.sh: installing GNU time (apt-get install time)" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >&2
    fi
    "$TIME" -f %M true >/dev/null 2>&1 || { echo "rss.sh: GNU time is needed: apt-get install time" >&2; exit 2; }
fi

if [ -z "${DISCREC:-}" ]; then
    (cd "$root" && cargo build --release -p discrec >&2)
    DISCREC="${CARGO_TARGET_DIR:-$root/target}/release/discrec"
fi
[ -x "$DISCREC" ] || { echo "rss.sh: no discrec binary at $DISCREC" >&2; exit 2; }
DISCREC="$(realpath "$DISCREC")"

scratch="$(mktemp -d /dev/shm/discrec-rss.XXXXXX)"
export DISCRECORDER_RUNTIME_DIR="$scratch/runtime"
mkdir -m 1777 "$DISCRECORDER_RUNTIME_DIR"
LOOP="" HOLDER=""
cleanup() {
    if [ -n "$HOLDER" ]; then kill -TERM "$HOLDER" 2>/dev/null || true; wait "$HOLDER" 2>/dev/null || true; fi
    if [ -n "$LOOP" ]; then losetup -d "$LOOP" 2>/dev/null || echo "rss.sh: WARNING: could not detach $LOOP" >&2; fi
    rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

EMU="emu:rss-$$"
"$DISCREC" emu create "rss-$$" >/dev/null
if [ "$(id -u)" = 0 ] && command -v losetup >/dev/null; then
    truncate -s 64M "$scratch/loop.img"
    LOOP="$(losetup -f --show "$scratch/loop.img")"
else
    echo "rss.sh: not root (or no losetup): the loop-device rows are skipped" >&2
fi

FAILED=0
printf '| command | device | runs | median KiB | min KiB | max KiB | median MiB |\n'
printf '|---|---|---:|---:|---:|---:|---:|\n'
declare -A MAXKIB
# measure LABEL DEVICE-COLUMN COMMAND...: RUNS runs under GNU time, one table row
measure() {
    local label="$1" dev="$2" i out status kib all=() bad=0
    shift 2
    "$@" >/dev/null 2>&1 || true   # warm-up (page cache)
    for ((i = 0; i < RUNS; i++)); do
        "$TIME" -o "$scratch/time.out" -f '%x %M' "$@" >/dev/null 2>"$scratch/cmd.err" || true
        out="$(tail -n 1 "$scratch/time.out")"
        status="${out%% *}" kib="${out##* }"
        if [ "$status" != 0 ]; then
            bad=$((bad + 1))
            [ "$bad" -gt 1 ] || { echo "rss.sh: $label on $dev exited $status:" >&2; head -n 3 "$scratch/cmd.err" >&2; }
        fi
        all+=("$kib")
    done
    [ "$bad" = 0 ] || FAILED=$((FAILED + 1))
    read -r med mn mx < <(printf '%s\n' "${all[@]}" | sort -n | awk '{ v[NR] = $1 }
        END { printf "%.0f %d %d\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2, v[1], v[NR] }')
    MAXKIB["$label $dev"]=$mx
    # shellcheck disable=SC2016  # the backquotes are Markdown
    printf '| `%s` | %s | %d | %d | %d | %d | %.2f |%s\n' "$label" "$dev" "$RUNS" "$med" "$mn" "$mx" \
        "$(awk -v k="$med" 'BEGIN { print k / 1024 }')" "$([ "$bad" = 0 ] || echo " FAILED: $bad run(s) exited non-zero")"
}

# hold DEVICE: a `discrec lock DEVICE -- sleep` in the background, until it shows as owner
hold() {
    "$DISCREC" lock "$1" --name Holder -- sleep 600 >/dev/null 2>&1 &
    HOLDER=$!
    local i
    for ((i = 0; i < 50; i++)); do
        [ "$("$DISCREC" owner "$1" 2>/dev/null)" = Holder ] && return 0
        sleep 0.1
    done
    echo "rss.sh: the holder of $1 did not show up" >&2
    return 1
}
release() { kill -TERM "$HOLDER"; wait "$HOLDER" 2>/dev/null || true; HOLDER=""; }

measure "true" "(floor of the method)" /bin/true
measure "discrec --version" "-" "$DISCREC" --version
measure "discrec list" "(${EMU} + the host's drives)" "$DISCREC" list
for dev in "$EMU" ${LOOP:+"$LOOP"}; do
    measure "discrec owner" "$dev (free)" "$DISCREC" owner "$dev"
    measure "discrec lock -- true" "$dev" "$DISCREC" lock "$dev" --name Bench -- /bin/true
    measure "discrec info" "$dev" "$DISCREC" info "$dev"
    if hold "$dev"; then
        measure "discrec owner" "$dev (held)" "$DISCREC" owner "$dev"
        release
    else
        FAILED=$((FAILED + 1)); release
    fi
done

echo
echo "binary: $DISCREC ($(stat -c %s "$DISCREC") bytes; $(file -b "$DISCREC" 2>/dev/null | cut -d, -f1-2,4 || echo '?'))"
echo "machine: $(uname -r), $(nproc) CPUs; GNU time $(dpkg-query -W -f='${Version}' time 2>/dev/null || "$TIME" --version 2>&1 | head -n 1)"
for key in "discrec owner|$EMU (free)" "discrec list|(${EMU} + the host's drives)" "discrec lock -- true|$EMU" \
           ${LOOP:+"discrec owner|$LOOP (free)" "discrec lock -- true|$LOOP"}; do
    k="${MAXKIB["${key%%|*} ${key#*|}"]:-}"
    [ -n "$k" ] || continue
    awk -v what="${key%%|*}" -v dev="${key#*|}" -v k="$k" -v g="$GOAL_KIB" 'BEGIN {
        printf "goal peak RSS < 8 MiB, %s on %s: %s (max %d KiB = %.2f MiB)\n", what, dev, (k < g) ? "met" : "NOT MET", k, k / 1024 }'
done
[ "$FAILED" = 0 ] || { echo "rss.sh: $FAILED row(s) failed" >&2; exit 1; }
