#!/bin/bash
# Writable tier: discrec against a real kernel /dev/srN that burns (a blank
# DVD+R from the host's tgt over QEMU's iSCSI initiator) and the real burners,
# in one QEMU guest boot (tests/vm/scenarios/writable.sh).
#
#   tests/vm/run-writable.sh [--keep] [extra run.sh options...]
#
# 1. builds `cargo build --release -p discrec` (skipped when DISCREC is set:
#    DISCREC=/path/to/discrec tests/vm/run-writable.sh)
# 2. makes image.iso in the results dir (WRITABLE_IMAGE_MIB MiB of random
#    data, default 4, plus hello.txt)
# 3. boots the guest with `run.sh --no-cd --tgt-drives 1`: run.sh starts a
#    private tgtd on 127.0.0.1 (stopped on every exit path) and attaches one
#    blank DVD+R LUN as scsi-generic; the scenario takes a new blank disc for
#    each burn through the allowlisted host operation tgt-new-blank.
#
# Output: "PASS name" / "FAIL name: why" (+ the commands' output) per check,
# then exactly "N passed, M failed". Exit status: the scenario's (0 = all
# passed, 1 = some failed), or run.sh's 124 (timeout) / 125 (guest crash) /
# 2 / 3 (usage / setup: tgt, QEMU's iSCSI module or QEMU missing). Nothing
# here skips: a missing prerequisite is a failure (as CI=true requires).
# Environment: DISCREC (binary to test), WRITABLE_TIMEOUT (guest watchdog,
# default 300 s), WRITABLE_IMAGE_MIB, WRITABLE_VERBOSE=1 (logs of passing
# checks too), TMPDIR (where the results dir goes), DISCREC_VM_* (run.sh).
set -euo pipefail
VM="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=SCRIPTDIR/lib.sh
. "$VM/lib.sh"
vm_tier_begin writable "$@"; [ "$KEEP" = 0 ] || shift

vm_discrec_binary
vm_need_jq

GDISCREC="$(vm_guest_path "$DISCREC" "$RESULTS")"

mkdir -p "$RESULTS/img"
echo 'discrec writable: burned through a real /dev/srN' >"$RESULTS/img/hello.txt"
head -c "$(( ${WRITABLE_IMAGE_MIB:-4} * 1024 * 1024 ))" /dev/urandom >"$RESULTS/img/data.bin"
vm_mkiso WRITABLE "$RESULTS/image.iso" "$RESULTS/img"
rm -rf "$RESULTS/img"
chmod 644 "$RESULTS/image.iso"
vm_log "image: image.iso $(stat -c %s "$RESULTS/image.iso") bytes"
# big.iso: long enough to watch, kill and cancel a burn while it writes
mkdir -p "$RESULTS/img"
head -c "$(( ${WRITABLE_BIG_MIB:-24} * 1024 * 1024 ))" /dev/urandom >"$RESULTS/img/big.bin"
vm_mkiso WRITABLE_BIG "$RESULTS/big.iso" "$RESULTS/img"
rm -rf "$RESULTS/img"
chmod 644 "$RESULTS/big.iso"

ENVS=(--env DISCREC="$GDISCREC" --env WRITABLE_ISO=/vm-results/image.iso --env WRITABLE_BIG_ISO=/vm-results/big.iso)
[ -z "${WRITABLE_VERBOSE:-}" ] || ENVS+=(--env "WRITABLE_VERBOSE=$WRITABLE_VERBOSE")
rc=0
"$VM/run.sh" --results "$RESULTS" --no-cd --tgt-drives 1 --timeout "${WRITABLE_TIMEOUT:-600}" \
    "${ENVS[@]}" "$@" "$VM/scenarios/writable.sh" || rc=$?
vm_tier_end writable "$rc" "build + image + tgtd + guest"
