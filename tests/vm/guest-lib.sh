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
