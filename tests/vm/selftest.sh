#!/bin/bash
# Self-test of the QEMU guest tier: every path of run.sh, each in its own
# guest (about 1 minute in all, most of it the 30 s timeout case).
#   tests/vm/selftest.sh
set -uo pipefail
VM="$(cd "$(dirname "$0")" && pwd)"
S="$VM/scenarios"
pass=0 fail=0
check() { # check NAME WANT_RC -- run.sh args...
    local name="$1" want="$2" rc=0 t0 t1; shift 3
    t0=$(date +%s.%N)
    "$VM/run.sh" -q --results "$LOG/$name.results" "$@" >"$LOG/$name.log" 2>&1 || rc=$?
    t1=$(date +%s.%N)
    if [ "$rc" = "$want" ]; then
        pass=$((pass + 1)); printf 'ok   %-22s exit %s (%.1f s)\n' "$name" "$rc" "$(echo "$t1 $t0" | awk '{print $1-$2}')"
    else
        fail=$((fail + 1)); printf 'FAIL %-22s exit %s, want %s; log:\n' "$name" "$rc" "$want"
        sed 's/^/    /' "$LOG/$name.log"
    fi
}
LOG="$(mktemp -d "${TMPDIR:-/tmp}/discrec-vm-selftest.XXXXXX")"
trap 'rm -rf "$LOG"' EXIT
"$VM/fetch.sh" >/dev/null 2>&1 || { echo "fetch.sh failed"; exit 1; }
mkdir -p "$LOG/iso"; echo 'hello from the host' >"$LOG/iso/hello.txt"

check smoke 0 -- --iso-from "$LOG/iso" "$S/smoke.sh"
check exit-status 7 -- --no-cd "$S/selftest-exit.sh" 7 "two words"
check vendor-product 0 -- --empty --vendor ACME --product BURNER9000 "$S/selftest-inquiry.sh" ACME BURNER9000
check ide-cd 0 -- --ide --empty "$S/selftest-inquiry.sh" QEMU 'QEMU DVD-ROM'
check timeout 124 -- --no-cd --timeout 30 "$S/selftest-hang.sh"
check crash 125 -- --no-cd "$S/selftest-crash.sh"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
