#!/usr/bin/env bash
# The "/proc/locks flood" measurement of RELIABILITY.md (issue 11 D): another user (nobody)
# holds N byte-range POSIX locks on a file of its own; a loop device is held by a discrec
# client; we time `discrec owner DEV` and a refused `discrec lock DEV` (RUNS runs each, default
# 3; best and worst wall time in seconds) with each DISCREC binary given (to compare a build
# from before a change with one after it under the same flood).
#
#   tests/reliability/lock_flood.sh [N [DISCREC...]]    # defaults: 200000, target/release/discrec
#
# Run as root (loop device, other uid). Needs python3 (the flooder) and losetup.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
n="${1:-200000}"
shift || true
bins=("$@")
[ "${#bins[@]}" -gt 0 ] || bins=("$root/target/release/discrec")
runs="${RUNS:-3}"
work="$(mktemp -d "${TMPDIR:-/tmp}/discrec-flood.XXXXXX")"
chmod 0755 "$work"
rt="$work/rt"
mkdir -m 1777 "$rt"
export DISCRECORDER_RUNTIME_DIR="$rt"
truncate -s 16M "$work/disk.img"
dev="$(losetup -f --show "$work/disk.img")"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    losetup -d "$dev" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# The holder: a discrec client, sleeping under the claim.
"${bins[0]}" lock "$dev" --name "Flood Victim" -- sleep infinity &
pids+=($!)

# The flooder: N one-byte POSIX write locks on every other byte (adjacent locks would merge)
# of files of its own, 1000 per file (the kernel checks a new lock against every lock on the
# file, so one file of 200k locks would take many minutes to build; /proc/locks is the same).
mkdir "$work/flood"
chown nobody "$work/flood"
python3 - "$work/flood" "$n" <<'PY' &
import fcntl, os, sys, time
path, n = sys.argv[1], int(sys.argv[2])
os.setgid(65534); os.setuid(65534)
fds = []
for i in range(n):
    if i % 1000 == 0:
        fds.append(os.open(f"{path}/f{i // 1000}", os.O_RDWR | os.O_CREAT, 0o600))
    fcntl.lockf(fds[-1], fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 2 * (i % 1000))
print("flood ready", flush=True)
while True:
    time.sleep(3600)
PY
pids+=($!)
for _ in $(seq 1 600); do
    [ "$(grep -c . /proc/locks 2>/dev/null || echo 0)" -ge "$n" ] && break
    sleep 1
done
sleep 1
echo "locks in /proc/locks: $(wc -l </proc/locks)" >&2

measure() { # LABEL CMD...: 5 runs, prints "LABEL: min MIN s, max MAX s, exit CODE, output"
    local label="$1" min="" max="" out rc
    shift
    for _ in $(seq 1 "$runs"); do
        local t0 t1
        t0=$(date +%s.%N)
        out="$("$@" 2>&1)" && rc=0 || rc=$?
        t1=$(date +%s.%N)
        local d
        d=$(echo "$t1 - $t0" | bc)
        if [ -z "$min" ] || [ "$(echo "$d < $min" | bc)" = 1 ]; then min=$d; fi
        if [ -z "$max" ] || [ "$(echo "$d > $max" | bc)" = 1 ]; then max=$d; fi
    done
    printf '%s: min %.3f s, max %.3f s, exit %s: %s\n' "$label" "$min" "$max" "$rc" "$(echo "$out" | head -1)"
}
i=0
for given in "${bins[@]}"; do
    # A copy other users can run, wherever the checkout lives.
    b="$work/discrec-$i"
    i=$((i + 1))
    install -m 0755 "$given" "$b"
    echo "== $given" >&2
    measure "owner $dev" "$b" owner "$dev"
    measure "lock $dev (refused)" "$b" lock "$dev" --name Second -- true
    measure "owner $dev as nobody" setpriv --reuid=65534 --regid=65534 --clear-groups "$b" owner "$dev"
done
