#!/bin/bash
# Writable peers: burn time of growisofs -Z, xorriso -as cdrecord -tao and
# cdrskin -tao on the same writable drive kind (tgt blank DVD+R over QEMU's
# iSCSI initiator), in one QEMU guest boot (tests/vm/scenarios/writable-peers.sh).
#
#   tests/vm/run-writable-peers.sh [--keep] [extra run.sh options...]
#
# Makes peers-<MiB>.iso (random data) for each size in WPEERS_SIZES (default
# "32 128"; 256 MiB is possible but costs ~10 min of one TCG core per boot),
# then boots the guest with one writable drive; WPEERS_RUNS (default 3) runs
# per tool and size, each on a new blank disc. Prints a markdown table of
# medians. Exit 0 only if every burn worked.
# Environment: WPEERS_SIZES, WPEERS_RUNS, WPEERS_TIMEOUT (guest watchdog,
# default 1200 s), TMPDIR, DISCREC_VM_* (run.sh). No discrec binary is needed
# yet (placeholder for a `discrec burn` row in the scenario).
set -euo pipefail
VM="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=SCRIPTDIR/lib.sh
. "$VM/lib.sh"
vm_tier_begin wpeers "$@"; [ "$KEEP" = 0 ] || shift
SIZES="${WPEERS_SIZES:-32 128}"
for s in $SIZES; do
    case "$s" in ''|*[!0-9]*) vm_die "WPEERS_SIZES: '$s' is not a number of MiB" 2 ;; esac
    mkdir -p "$RESULTS/img"
    # the ISO's own overhead is ~0.4 MiB: the data file takes the rest
    head -c "$(( s * 1024 * 1024 - 512 * 1024 ))" /dev/urandom >"$RESULTS/img/data.bin"
    vm_mkiso "PEERS_$s" "$RESULTS/peers-$s.iso" "$RESULTS/img"
    rm -rf "$RESULTS/img"; chmod 644 "$RESULTS/peers-$s.iso"
    vm_log "image peers-$s.iso: $(stat -c %s "$RESULTS/peers-$s.iso") bytes"
done
vm_log "writable-peers: host load before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
rc=0
"$VM/run.sh" --results "$RESULTS" --no-cd --tgt-drives 1 --timeout "${WPEERS_TIMEOUT:-1200}" \
    --env "WPEERS_SIZES=$SIZES" --env "WPEERS_RUNS=${WPEERS_RUNS:-3}" \
    "$@" "$VM/scenarios/writable-peers.sh" || rc=$?
vm_log "writable-peers: host load after: $(cut -d' ' -f1-3 /proc/loadavg)"
vm_tier_end wpeers "$rc" "images + tgtd + guest"
