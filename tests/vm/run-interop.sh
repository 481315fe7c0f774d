#!/bin/bash
# Interop tier: discrec against a real kernel CD drive and the real peer tools,
# in one QEMU guest boot (tests/vm/scenarios/interop.sh).
#
#   tests/vm/run-interop.sh [--keep] [extra run.sh options...]
#
# 1. builds `cargo build --release -p discrec` (skipped when DISCREC is set:
#    DISCREC=/path/to/discrec tests/vm/run-interop.sh)
# 2. makes the images in the results dir: small.iso (CD-ROM profile) and
#    big.iso, a SPARSE 800 MB file (> 737,280,000 bytes, so QEMU reports the
#    DVD-ROM profile) with an iso9660 at its start; it costs ~no disk
# 3. boots the guest with small.iso in the drive and runs the scenario.
#
# Output: "PASS name" / "FAIL name: why" (+ the commands' output) per check,
# then exactly "N passed, M failed". Exit status: the scenario's (0 = all
# passed, 1 = some failed), or run.sh's 124 (timeout) / 125 (guest crash) /
# 2 / 3 (usage / setup), with the guest console printed.
# Environment: DISCREC (binary to test), INTEROP_TIMEOUT (guest watchdog,
# default 240 s), TMPDIR (where the results dir goes), DISCREC_VM_* (run.sh).
set -euo pipefail
VM="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=SCRIPTDIR/lib.sh
. "$VM/lib.sh"
vm_tier_begin interop "$@"; [ "$KEEP" = 0 ] || shift

vm_discrec_binary
vm_need_jq

GDISCREC="$(vm_guest_path "$DISCREC" "$RESULTS")"

mkdir -p "$RESULTS/small" "$RESULTS/bigdir"
echo 'discrec interop: small image' >"$RESULTS/small/hello.txt"
echo 'discrec interop: big image' >"$RESULTS/bigdir/hello.txt"
vm_mkiso INTEROP_SMALL "$RESULTS/small.iso" "$RESULTS/small"
vm_mkiso INTEROP_BIG "$RESULTS/big-head.iso" "$RESULTS/bigdir"
truncate -s 800M "$RESULTS/big.iso"        # sparse: > 737,280,000 bytes -> DVD-ROM profile
dd if="$RESULTS/big-head.iso" of="$RESULTS/big.iso" conv=notrunc,sparse status=none
rm -rf "$RESULTS/small" "$RESULTS/bigdir" "$RESULTS/big-head.iso"
vm_log "images: small.iso $(stat -c %s "$RESULTS/small.iso") bytes; big.iso $(stat -c %s "$RESULTS/big.iso") bytes ($(du -k "$RESULTS/big.iso" | cut -f1) KiB on disk)"

rc=0
"$VM/run.sh" --results "$RESULTS" --iso "$RESULTS/small.iso" --timeout "${INTEROP_TIMEOUT:-240}" \
    --env DISCREC="$GDISCREC" --env INTEROP_BIG_ISO=/vm-results/big.iso \
    --env INTEROP_SMALL_ISO=/vm-results/small.iso \
    "$@" "$VM/scenarios/interop.sh" || rc=$?
vm_tier_end interop "$rc" "build + images + guest"
