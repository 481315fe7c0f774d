# shellcheck shell=bash
# Writable DVD+R recorders for the guest: the Linux SCSI target framework
# (Debian `tgt`) on the host, attached to the guest by QEMU's own iSCSI
# initiator (`-device scsi-generic`). Sourced by run.sh; host side only.
# Facts and pitfalls: ../shared/notes/writable-drive.md (measured recipe).
#
#   tgt_start DIR N   start a private tgtd listening on 127.0.0.1 ONLY (a free
#                     port, its own control socket), with N targets, each
#                     one LUN 1 of device type cd backed by an EMPTY file in
#                     DIR: a blank DVD+R (profile 0x001B). Sets TGT_PID,
#                     TGT_PORT, TGT_CP (control port), TGT_N.
#   tgt_qemu_args     print the QEMU -drive/-device pairs (one per line) for
#                     the N drives: drive I (1..N) is scsi-id I on bus
#                     scsi0.0, with its own initiator name
#   tgt_new_blank I   point drive I at a new empty file (a new blank disc);
#                     the LUN must be offline (the guest ejected the tray).
#                     The previous backing file is deleted.
#   tgt_stop          delete the targets (--force) and the system (tgtd
#                     ignores SIGTERM); SIGKILL the PID we started only as a
#                     last resort. Safe to call twice and on any exit path.
#
# tgtd runs with `-f` (foreground) as our child; its log is DIR/tgtd.log.

TGT_PID="" TGT_PORT="" TGT_CP="" TGT_N=0 TGT_DIR=""
TGT_IQN_PREFIX="iqn.2026-01.org.discrecorder.vm"

tgt_adm() { timeout 20 tgtadm -C "$TGT_CP" "$@"; }
tgt_iqn() { echo "$TGT_IQN_PREFIX:disc$1"; }
tgt_initiator() { echo "$TGT_IQN_PREFIX:guest-drive$1"; }
tgt_backing() { cat "$TGT_DIR/drive$1.current" 2>/dev/null; }  # current backing file of drive I

_tgt_listening() { # our tgtd has its iSCSI portal bound (it keeps running when the bind fails)
    ss -Hltnp "sport = :$TGT_PORT" 2>/dev/null | grep -q "pid=$TGT_PID,"
}

tgt_start() {
    local dir="$1" n="$2" try i
    command -v tgtd >/dev/null && command -v tgtadm >/dev/null ||
        vm_die "tgtd/tgtadm not installed (tests/vm/fetch.sh installs tgt)" 3
    command -v ss >/dev/null || vm_die "ss (iproute2) is needed to check tgtd's portal" 3
    mkdir -p "$dir"; TGT_DIR="$(realpath "$dir")"; TGT_N="$n"
    for try in 1 2 3 4 5 6 7 8; do
        # a port nobody listens on; the control socket number follows it, so
        # concurrent harnesses (and a system tgtd on 3260 / socket.0) never meet
        TGT_PORT=$(( 33000 + (RANDOM % 2000) ))
        if ss -Hltn "sport = :$TGT_PORT" 2>/dev/null | grep -q .; then continue; fi
        TGT_CP=$(( TGT_PORT - 20000 ))   # tgtd -C takes at most 32767
        tgtd -f -C "$TGT_CP" --iscsi "portal=127.0.0.1:$TGT_PORT" >>"$TGT_DIR/tgtd.log" 2>&1 </dev/null &
        TGT_PID=$!
        for i in $(seq 1 50); do
            kill -0 "$TGT_PID" 2>/dev/null || break
            if tgtadm -C "$TGT_CP" --mode system --op show >/dev/null 2>&1 && _tgt_listening; then break; fi
            sleep 0.1
        done
        if kill -0 "$TGT_PID" 2>/dev/null && _tgt_listening; then break; fi
        vm_log "tgtd on 127.0.0.1:$TGT_PORT (control $TGT_CP) did not come up; trying another port"
        tgt_stop
    done
    [ -n "$TGT_PID" ] || vm_die "cannot start tgtd (log: $TGT_DIR/tgtd.log)" 3
    for i in $(seq 1 "$n"); do
        : >"$TGT_DIR/drive$i-1.img"
        echo "$TGT_DIR/drive$i-1.img" >"$TGT_DIR/drive$i.current"
        tgt_adm --lld iscsi --mode target --op new --tid "$i" -T "$(tgt_iqn "$i")" &&
        tgt_adm --lld iscsi --mode logicalunit --op new --tid "$i" --lun 1 --device-type cd \
            --backing-store "$TGT_DIR/drive$i-1.img" &&
        tgt_adm --lld iscsi --mode target --op bind --tid "$i" -I 127.0.0.1 ||
            { tgt_stop; vm_die "tgtadm could not set up drive $i (log: $TGT_DIR/tgtd.log)" 3; }
    done
    vm_log "tgtd pid $TGT_PID on 127.0.0.1:$TGT_PORT (control $TGT_CP): $n blank DVD+R LUN(s) in $TGT_DIR"
}

tgt_qemu_args() {
    local i
    for i in $(seq 1 "$TGT_N"); do
        echo "-drive"
        echo "file=iscsi://127.0.0.1:$TGT_PORT/$(tgt_iqn "$i")/1,file.initiator-name=$(tgt_initiator "$i"),if=none,id=wcd$i,format=raw"
        echo "-device"
        echo "scsi-generic,drive=wcd$i,bus=scsi0.0,scsi-id=$i,lun=0,id=wdrive$i"
    done
}

# tgt_new_blank I: prints what it did; non-zero (with the reason) on failure
tgt_new_blank() {
    local i="$1" old new k
    case "$i" in ''|*[!0-9]*) echo "tgt-new-blank: bad drive number '$i'"; return 1 ;; esac
    [ "$i" -ge 1 ] && [ "$i" -le "$TGT_N" ] || { echo "tgt-new-blank: no drive $i (1..$TGT_N)"; return 1; }
    old=$(tgt_backing "$i")
    k=$(( $(cat "$TGT_DIR/drive$i.discs" 2>/dev/null || echo 1) + 1 ))   # discs so far
    echo "$k" >"$TGT_DIR/drive$i.discs"
    new="$TGT_DIR/drive$i-$k.img"
    : >"$new"
    if ! tgt_adm --lld iscsi --mode logicalunit --op update --tid "$i" --lun 1 --params "path=$new" 2>&1; then
        rm -f "$new"
        echo "tgt-new-blank: tgtadm update failed (the LUN must be offline: eject the tray first)"
        return 1
    fi
    echo "$new" >"$TGT_DIR/drive$i.current"
    [ -z "$old" ] || [ "${TGT_KEEP_DISCS:-0}" = 1 ] || rm -f "$old"
    echo "drive $i: new blank disc $(basename "$new")"
}

tgt_stop() {
    [ -n "$TGT_PID" ] || return 0
    local i
    set +e
    if kill -0 "$TGT_PID" 2>/dev/null; then
        for i in $(seq 1 "$TGT_N"); do
            tgtadm -C "$TGT_CP" --lld iscsi --mode target --op delete --force --tid "$i" >/dev/null 2>&1
        done
        timeout 10 tgtadm -C "$TGT_CP" --mode system --op delete >/dev/null 2>&1
        for i in $(seq 1 30); do kill -0 "$TGT_PID" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$TGT_PID" 2>/dev/null; then
            vm_log "tgtd $TGT_PID did not stop on 'tgtadm --mode system --op delete': SIGKILL"
            kill -KILL "$TGT_PID" 2>/dev/null
        fi
    fi
    wait "$TGT_PID" 2>/dev/null || true
    rm -f "/var/run/tgtd/socket.$TGT_CP" "/var/run/tgtd/socket.$TGT_CP.lock"
    TGT_PID=""
    set -e
}
