#!/bin/bash
# Run a scenario script inside a QEMU (TCG) guest that has a SCSI CD drive.
#
#   tests/vm/run.sh [options] SCRIPT [ARGS...]
#
# Options:
#   --iso FILE          put FILE (an ISO image) in the drive
#   --iso-from DIR      build an ISO from DIR (xorriso -as mkisofs) and put it in the drive
#   --empty             empty drive (the default when no --iso/--iso-from is given)
#   --no-cd             no CD drive at all
#   --vendor V          INQUIRY vendor of the drive (scsi-cd only; default QEMU)
#   --product P         INQUIRY product of the drive (default "QEMU CD-ROM")
#   --ide               attach the drive as ide-cd on the PIIX IDE bus instead of virtio-scsi
#   --tgt-drives N      also attach N WRITABLE drives, each a blank DVD+R: a private
#                       tgtd on the host (127.0.0.1 only, stopped on every exit path)
#                       serves N iSCSI LUNs with empty backing files in RESULTS/tgt/,
#                       attached through QEMU's iSCSI initiator as `-device
#                       scsi-generic` at scsi-id 1..N on the virtio-scsi bus (the
#                       scsi-cd drive, if any, is scsi-id 0). No guest NIC. In the
#                       guest: vm_tgt_dev I, vm_tgt_new_disc I (guest-lib.sh).
#   --monitor SOCK      also expose the QEMU HMP monitor at unix socket SOCK
#                       (default: $RESULTS/monitor.sock, always created)
#   --timeout SECS      watchdog for the whole guest run (default ${DISCREC_VM_TIMEOUT:-240})
#   --mem MB            guest memory (default 1024)
#   --smp N             guest CPUs (default 1)
#   --kvm               use KVM instead of TCG (opt-in; the nested KVM here cannot run it)
#   --env NAME=VALUE    export NAME=VALUE to the scenario (repeatable)
#   --results DIR       use DIR (created) as the results share and keep it
#   --keep              keep the temporary results dir even on success
#   --console           print the guest console log even on success
#   -q, --quiet         no timing line
#
# Environment: DISCREC_VM_CACHE (cache dir), DISCREC_VM_TIMEOUT (default
# watchdog), DISCREC_VM_ACCEL=kvm (opt-in), DISCREC_VM_BOOT=bzimage (skip PVH).
#
# SCRIPT runs as root inside the guest, chrooted into a read-only view of this
# host's root file system (9p) with a tmpfs overlay, cwd = the caller's cwd.
# It must be executable and start with a shebang. Inside it:
#   DISCREC_VM=1, DISCREC_VM_RESULTS=/vm-results (the writable results share),
#   DISCREC_VM_LIB=<repo>/tests/vm/guest-lib.sh (media change helpers),
#   DISCREC_VM_ISO=/vm-results/... or the host path of the ISO, if any,
#   DISCREC_VM_TGT_DRIVES=N (0 without --tgt-drives).
#
# Exit status: the scenario's exit status; 124 = watchdog timeout, 125 = the
# guest crashed / powered off without a status, 2 = usage error, 3 = setup error.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }

ISO="" ISO_FROM="" CD=empty VENDOR="" PRODUCT="" BUS=scsi MONITOR=""
TIMEOUT="${DISCREC_VM_TIMEOUT:-240}" MEM=1024 SMP=1 ACCEL="${DISCREC_VM_ACCEL:-tcg}"
RESULTS="" KEEP=0 CONSOLE=0 QUIET=0 OWN_RESULTS=1 NTGT=0
ENVS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --iso) ISO="$2"; CD=iso; shift 2 ;;
        --iso-from) ISO_FROM="$2"; CD=iso; shift 2 ;;
        --empty) CD=empty; shift ;;
        --no-cd) CD=none; shift ;;
        --vendor) VENDOR="$2"; shift 2 ;;
        --product) PRODUCT="$2"; shift 2 ;;
        --ide) BUS=ide; shift ;;
        --tgt-drives) NTGT="$2"; shift 2 ;;
        --monitor) MONITOR="$2"; shift 2 ;;
        --timeout) TIMEOUT="$2"; shift 2 ;;
        --mem) MEM="$2"; shift 2 ;;
        --smp) SMP="$2"; shift 2 ;;
        --kvm) ACCEL=kvm; shift ;;
        --env) ENVS+=("$2"); shift 2 ;;
        --results) RESULTS="$2"; KEEP=1; OWN_RESULTS=0; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --console) CONSOLE=1; shift ;;
        -q|--quiet) QUIET=1; shift ;;
        -h|--help) usage ;;
        --) shift; break ;;
        -*) vm_log "unknown option $1"; usage ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || usage
SCRIPT="$1"; shift
[ -f "$SCRIPT" ] || vm_die "no such scenario script: $SCRIPT" 2
[ -x "$SCRIPT" ] || vm_die "scenario script is not executable: $SCRIPT" 2
head -c 2 "$SCRIPT" | grep -q '^#!' || vm_die "scenario script needs a shebang: $SCRIPT" 2
SCRIPT="$(realpath "$SCRIPT")"
[ -z "$ISO" ] || { [ -f "$ISO" ] || vm_die "no such ISO: $ISO" 2; ISO="$(realpath "$ISO")"; }
if [ -n "$VENDOR$PRODUCT" ] && [ "$BUS" = ide ]; then vm_die "--vendor/--product need scsi-cd" 2; fi
[ "$(id -u)" = 0 ] || vm_die "run.sh must run as root (9p export of /)" 3
case "$NTGT" in ''|*[!0-9]*) vm_die "--tgt-drives needs a number" 2 ;; esac
[ "$NTGT" -le 8 ] || vm_die "--tgt-drives: at most 8" 2

# --- build what is missing ----------------------------------------------
need_fetch=0
if [ ! -f "$VM_ENV" ]; then need_fetch=1; else
    . "$VM_ENV"
    [ -x "$VM_QEMU" ] && [ -f "$VM_KERNEL" ] || need_fetch=1
    # the writable drives need tgt and QEMU's iSCSI module (fetch.sh installs both)
    if [ "$NTGT" -gt 0 ]; then
        [ -f "${VM_QEMU_MODULE_DIR:-/nonexistent}/block-iscsi.so" ] && command -v tgtd >/dev/null &&
            command -v dvd+rw-mediainfo >/dev/null || need_fetch=1
    fi
fi
if [ $need_fetch = 1 ]; then
    vm_log "cache incomplete: running tests/vm/fetch.sh"
    "$VM_DIR/fetch.sh" || vm_die "fetch.sh failed" 3
    . "$VM_ENV"
fi
if [ "$NTGT" -gt 0 ]; then
    [ -f "${VM_QEMU_MODULE_DIR:-/nonexistent}/block-iscsi.so" ] ||
        vm_die "QEMU's iSCSI module (block-iscsi.so from qemu-block-extra) is missing in ${VM_QEMU_MODULE_DIR:-the cache}" 3
    command -v tgtd >/dev/null || vm_die "tgtd is not installed (apt-get install tgt)" 3
fi
# DISCREC_VM_BOOT=bzimage boots the compressed kernel instead of the PVH vmlinux
if [ "${DISCREC_VM_BOOT:-}" = bzimage ]; then VM_KERNEL="$VM_ROOT/boot/vmlinuz-$VM_KVER"; fi
vm_build_helpers
if [ ! -f "$VM_INITRAMFS" ] || [ "$VM_DIR/guest-init.sh" -nt "$VM_INITRAMFS" ] ||
   [ "$VM_DIR/build-initramfs.sh" -nt "$VM_INITRAMFS" ] || [ "$VM_ENV" -nt "$VM_INITRAMFS" ]; then
    "$VM_DIR/build-initramfs.sh" || vm_die "build-initramfs.sh failed" 3
fi

# --- results share --------------------------------------------------------
if [ -n "$RESULTS" ]; then
    mkdir -p "$RESULTS"; RESULTS="$(realpath "$RESULTS")"
    rm -f "$RESULTS"/{status,stdout,stderr,console.log,qemu.log,qemu.cmdline,host-request,host-reply,host-requests.log,init-error,uptime-*,script-*}
else
    RESULTS="$(mktemp -d "${TMPDIR:-/tmp}/discrec-vm.XXXXXX")"
fi
chmod 755 "$RESULTS"
[ -n "$MONITOR" ] || MONITOR="$RESULTS/monitor.sock"
rm -f "$MONITOR"

if [ -n "$ISO_FROM" ]; then
    [ -d "$ISO_FROM" ] || vm_die "no such directory: $ISO_FROM" 2
    ISO="$RESULTS/cd.iso"
    xorriso -as mkisofs -quiet -R -J -V DISCREC_TEST -o "$ISO" "$ISO_FROM" ||
        vm_die "xorriso -as mkisofs failed" 3
fi

# The guest mounts fresh tmpfs on /tmp, /run and /dev/shm: a script or the
# guest library (and scenarios/checks.sh beside it) from there (a checkout
# under /tmp) is copied into the results share and used from /vm-results.
GSCRIPT="$SCRIPT"
case "$SCRIPT" in
    /tmp/*|/run/*|/dev/*|/proc/*|/sys/*)
        cp "$SCRIPT" "$RESULTS/script-$(basename "$SCRIPT")"
        GSCRIPT="/vm-results/script-$(basename "$SCRIPT")" ;;
esac
GLIB="$VM_DIR/guest-lib.sh"
case "$GLIB" in
    /tmp/*|/run/*|/dev/*)
        # with the scenarios' shared check runner, which they find beside the library
        cp "$GLIB" "$RESULTS/guest-lib.sh"
        mkdir -p "$RESULTS/scenarios"
        cp "$VM_DIR/scenarios/checks.sh" "$RESULTS/scenarios/checks.sh"
        GLIB=/vm-results/guest-lib.sh ;;
esac

# The wrapper the guest runs: fixed environment, cwd and quoted arguments.
{
    echo '#!/bin/bash'
    printf 'export DISCREC_VM_REPO=%q DISCREC_VM_LIB=%q DISCREC_VM_ISO=%q DISCREC_VM_SGIO=%q\n' \
        "$VM_REPO" "$GLIB" "${ISO/#$RESULTS\//\/vm-results\/}" "$VM_BIN/sgio"
    printf 'export DISCREC_VM_TGT_DRIVES=%q\n' "$NTGT"
    for e in ${ENVS[@]+"${ENVS[@]}"}; do printf 'export %q\n' "$e"; done
    printf 'cd %q 2>/dev/null || cd /\n' "$PWD"
    printf 'exec %q' "$GSCRIPT"
    for a in "$@"; do printf ' %q' "$a"; done
    echo
} >"$RESULTS/scenario.sh"
chmod 755 "$RESULTS/scenario.sh"

# --- QEMU command line ----------------------------------------------------
APPEND="console=ttyS0 panic=-1 loglevel=4 discrec.cd=$([ $CD = none ] && echo 0 || echo 1)"
QARGS=(-nodefaults -no-user-config -machine pc -accel "$ACCEL" -cpu max -smp "$SMP" -m "$MEM"
       -kernel "$VM_KERNEL" -initrd "$VM_INITRAMFS" -append "$APPEND"
       -no-reboot -display none -serial "file:$RESULTS/console.log"
       -monitor "unix:$MONITOR,server,nowait"
       -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
       -virtfs "local,path=$RESULTS,mount_tag=results,security_model=none,multidevs=remap")
if [ $CD != none ]; then
    # an empty drive must not name a format ("A block device must be specified")
    drive="if=none,id=cd0,media=cdrom,readonly=on"
    [ $CD = iso ] && drive+=",format=raw,file=${ISO//,/,,}"  # QEMU escapes "," as ",,"
    QARGS+=(-drive "$drive")
    if [ $BUS = ide ]; then
        QARGS+=(-device ide-cd,drive=cd0,bus=ide.1)
    else
        dev="scsi-cd,drive=cd0,bus=scsi0.0,id=scsicd0"
        [ -z "$VENDOR" ] || dev+=",vendor=${VENDOR//,/,,}"
        [ -z "$PRODUCT" ] || dev+=",product=${PRODUCT//,/,,}"
        QARGS+=(-device virtio-scsi-pci,id=scsi0 -device "$dev")
    fi
fi

QPID="" WPID=""
cleanup() {
    [ -z "$WPID" ] || kill "$WPID" 2>/dev/null || true
    [ -z "$QPID" ] || kill "$QPID" 2>/dev/null || true
    # QEMU's initiator must be gone before the targets are deleted
    [ -z "$QPID" ] || for _ in $(seq 1 50); do kill -0 "$QPID" 2>/dev/null || break; sleep 0.1; done
    [ "$NTGT" = 0 ] || ! declare -F tgt_stop >/dev/null || tgt_stop
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM HUP

# --- writable drives: tgtd + QEMU's iSCSI initiator ------------------------
QENV=()
if [ "$NTGT" -gt 0 ]; then
    # shellcheck source=SCRIPTDIR/tgt.sh
    . "$VM_DIR/tgt.sh"
    rm -rf "$RESULTS/tgt"
    tgt_start "$RESULTS/tgt" "$NTGT"
    case " ${QARGS[*]} " in *" virtio-scsi-pci,id=scsi0 "*) ;; *) QARGS+=(-device virtio-scsi-pci,id=scsi0) ;; esac
    mapfile -t targs < <(tgt_qemu_args)
    QARGS+=("${targs[@]}")
    QENV=(QEMU_MODULE_DIR="$VM_QEMU_MODULE_DIR")
fi
printf '%q ' ${QENV[@]+"${QENV[@]}"} "$VM_QEMU" "${QARGS[@]}" >"$RESULTS/qemu.cmdline"; echo >>"$RESULTS/qemu.cmdline"

# --- host side of guest requests (see guest-lib.sh) -----------------------
monitor_cmd() { # send one HMP command, print the monitor's answer
    { printf '%s\n' "$1"; sleep 0.3; } |
        timeout 10 socat -t 2 - "UNIX-CONNECT:$MONITOR" 2>&1 |
        tr -d '\r' | grep -v -e '^QEMU .* monitor - type' -e '^(qemu)' || true
}
# Host operations the guest may ask for ("host:OP ARGS"): an allowlist, each
# with its arguments checked; anything else is refused with "ERROR: ...".
#   host:tgt-new-blank I   drive I gets a new blank disc (the guest ejected it first)
#   host:tgt-backing I     the host path and size of drive I's backing file
host_op() {
    local -a a
    read -r -a a <<<"$1"
    case "${a[0]:-}:${#a[@]}" in
        tgt-new-blank:2|tgt-backing:2)
            [ "$NTGT" -gt 0 ] || { echo "ERROR: no --tgt-drives in this run"; return; }
            case "${a[1]}" in ''|*[!0-9]*) echo "ERROR: bad drive number '${a[1]}'"; return ;; esac
            [ "${a[1]}" -ge 1 ] && [ "${a[1]}" -le "$NTGT" ] || { echo "ERROR: no drive ${a[1]} (1..$NTGT)"; return; } ;;
        *) echo "ERROR: host operation not allowed: $1 (allowed: tgt-new-blank I, tgt-backing I)"; return ;;
    esac
    case "${a[0]}" in
        tgt-new-blank) tgt_new_blank "${a[1]}" 2>&1 || echo "ERROR: tgt-new-blank ${a[1]} failed" ;;
        tgt-backing) f=$(tgt_backing "${a[1]}"); echo "$f $(stat -c %s "$f" 2>/dev/null || echo missing)" ;;
    esac
}
watch_requests() {
    local req cmd
    while kill -0 "$QPID" 2>/dev/null; do
        if [ -e "$RESULTS/host-request" ]; then
            req=$(cat "$RESULTS/host-request"); rm -f "$RESULTS/host-request"
            # guest paths under /vm-results are $RESULTS on the host
            cmd=${req//\/vm-results\//$RESULTS\/}
            echo "$(date +%T.%N | cut -c1-12) $cmd" >>"$RESULTS/host-requests.log"
            case "$cmd" in
                host:*) host_op "${cmd#host:}" >"$RESULTS/host-reply.tmp" ;;
                *) monitor_cmd "$cmd" >"$RESULTS/host-reply.tmp" ;;
            esac
            sed 's/^/    /' "$RESULTS/host-reply.tmp" >>"$RESULTS/host-requests.log"
            mv "$RESULTS/host-reply.tmp" "$RESULTS/host-reply"
        fi
        sleep 0.1
    done
}

T0=$(date +%s.%N)
env ${QENV[@]+"${QENV[@]}"} timeout -k 5 "$TIMEOUT" "$VM_QEMU" "${QARGS[@]}" >"$RESULTS/qemu.log" 2>&1 &
QPID=$!
watch_requests &
WPID=$!
set +e
wait "$QPID"; QRC=$?
set -e
QPID=""
kill "$WPID" 2>/dev/null || true; wait "$WPID" 2>/dev/null || true; WPID=""
[ "$NTGT" = 0 ] || tgt_stop
T1=$(date +%s.%N)

# --- report ---------------------------------------------------------------
[ ! -f "$RESULTS/stdout" ] || cat "$RESULTS/stdout"
[ ! -f "$RESULTS/stderr" ] || cat "$RESULTS/stderr" >&2
show_console() {
    echo "----- guest console ($RESULTS/console.log) -----" >&2
    cat "$RESULTS/console.log" >&2 2>/dev/null || true
    if [ -s "$RESULTS/qemu.log" ]; then
        echo "----- qemu output ($RESULTS/qemu.log) -----" >&2; cat "$RESULTS/qemu.log" >&2
    fi
    echo "----- end -----" >&2
}
up() { [ -f "$RESULTS/$1" ] && cut -d' ' -f1 "$RESULTS/$1" || echo '?'; }
if [ -f "$RESULTS/status" ]; then
    RC=$(cat "$RESULTS/status")
    [ $CONSOLE = 0 ] || show_console
    [ $QUIET = 1 ] || vm_log "$(basename "$SCRIPT") exited $RC; guest boot $(up uptime-start) s, scenario end at $(up uptime-end) s guest uptime, total $(awk "BEGIN{printf \"%.1f\", $T1 - $T0}") s wall"
else
    show_console
    [ ! -f "$RESULTS/init-error" ] || cat "$RESULTS/init-error" >&2
    if [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; then
        vm_log "FAILED: TIMEOUT: the guest did not finish within ${TIMEOUT}s (no status file); results in $RESULTS"
        RC=124
    else
        vm_log "FAILED: GUEST CRASH: QEMU exited $QRC without a scenario status (kernel panic, init failure or QEMU error); results in $RESULTS"
        RC=125
    fi
    KEEP=1
fi
if [ $KEEP = 0 ] && [ "$RC" = 0 ]; then
    rm -rf "$RESULTS"
elif [ $OWN_RESULTS = 1 ] && { [ $QUIET = 0 ] || [ "$RC" != 0 ]; }; then
    vm_log "results kept in $RESULTS"
fi
exit "$RC"
