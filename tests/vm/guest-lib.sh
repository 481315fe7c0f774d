# Helpers for scenario scripts running inside the QEMU guest.
#   . "$DISCREC_VM_LIB"
#
# Media changes are done by the host: the guest writes one QEMU HMP monitor
# command into /vm-results/host-request (the writable 9p results share);
# run.sh's watcher on the host sends it to the monitor socket and writes the
# monitor's answer to /vm-results/host-reply. Paths under /vm-results/ are
# translated to the host's results dir, so an ISO the scenario builds there
# can be inserted; any other path must exist on the host (the guest sees the
# host root read-only at the same paths, but its own writes outside
# /vm-results stay in the guest's tmpfs overlay).

: "${DISCREC_VM_RESULTS:=/vm-results}"

# vm_host_monitor 'HMP command' -> prints the monitor's answer; fails after 30 s
vm_host_monitor() {
    local r="$DISCREC_VM_RESULTS" i=0
    rm -f "$r/host-reply"
    printf '%s\n' "$1" >"$r/host-request.tmp"
    mv "$r/host-request.tmp" "$r/host-request"
    while [ ! -e "$r/host-reply" ]; do
        i=$((i + 1))
        if [ $i -gt 300 ]; then echo "vm_host_monitor: no answer from the host for: $1" >&2; return 1; fi
        sleep 0.1
    done
    cat "$r/host-reply"
    rm -f "$r/host-reply"
}

# vm_eject_media: force the tray open and remove the medium (host side: eject -f cd0)
vm_eject_media() {
    local out
    out=$(vm_host_monitor "eject -f cd0") || return 1
    [ -z "$out" ] || { echo "eject: $out" >&2; return 1; }
}

# vm_change_media ISO: insert ISO (a /vm-results/ path or a host path) and close the tray
vm_change_media() {
    local out
    out=$(vm_host_monitor "change cd0 $1 raw") || return 1
    [ -z "$out" ] || { echo "change: $out" >&2; return 1; }
}

# vm_make_iso DIR NAME -> builds /vm-results/NAME.iso from DIR inside the guest
# (xorriso -as mkisofs) and prints its path, ready for vm_change_media.
vm_make_iso() {
    local out="$DISCREC_VM_RESULTS/$2.iso"
    xorriso -as mkisofs -quiet -R -J -V "$2" -o "$out" "$1" >&2 || return 1
    echo "$out"
}

# vm_wait_dev PATH [SECONDS]: wait for a device node to appear
vm_wait_dev() {
    local i=0 n=$(( ${2:-10} * 10 ))
    while [ ! -e "$1" ]; do
        i=$((i + 1)); [ $i -le $n ] || return 1
        sleep 0.1
    done
}

# ---- writable drives (run.sh --tgt-drives N; host side in tests/vm/tgt.sh) ----
# Drive I (1..N) is an iSCSI LUN served by the host's tgtd, attached as
# scsi-generic at scsi-id I: a blank DVD+R at boot.

# vm_host_op 'OP ARGS': one allowlisted host operation (see run.sh host_op);
# prints the host's answer, fails if it starts with "ERROR".
vm_host_op() {
    local out
    out=$(vm_host_monitor "host:$1") || return 1
    printf '%s\n' "$out"
    case "$out" in ERROR*) return 1 ;; esac
}

# vm_tgt_dev I [SECONDS]: print /dev/srX of writable drive I (waits for the SCSI scan)
vm_tgt_dev() {
    local i=0 n=$(( ${2:-20} * 10 )) b
    while :; do
        for b in /sys/bus/scsi/devices/*:0:"$1":0/block/sr*; do
            [ -e "$b" ] && [ -e "/dev/${b##*/}" ] && { echo "/dev/${b##*/}"; return 0; }
        done
        i=$((i + 1)); [ $i -le $n ] || { echo "vm_tgt_dev: no sr device at scsi-id $1" >&2; return 1; }
        sleep 0.1
    done
}

# vm_tgt_ready DEV [SECONDS]: wait until TEST UNIT READY passes (sg3-utils)
vm_tgt_ready() {
    local i=0 n=$(( ${2:-20} * 10 ))
    until sg_turs "$1" >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -le $n ] || return 1
        sleep 0.1
    done
}

# vm_tgt_new_disc I: a new blank DVD+R in writable drive I, inside one boot:
# the guest ejects the tray (tgt takes the LUN offline), the host points the
# LUN at a new empty file, the guest closes the tray and waits until ready.
vm_tgt_new_disc() {
    local dev
    dev=$(vm_tgt_dev "$1") || return 1
    eject "$dev" || { echo "vm_tgt_new_disc: eject $dev failed" >&2; return 1; }
    vm_host_op "tgt-new-blank $1" >&2 || { eject -t "$dev" 2>/dev/null; return 1; }
    eject -t "$dev" || { echo "vm_tgt_new_disc: eject -t $dev failed" >&2; return 1; }
    vm_tgt_ready "$dev" 20 || { echo "vm_tgt_new_disc: $dev not ready after closing the tray" >&2; return 1; }
}
