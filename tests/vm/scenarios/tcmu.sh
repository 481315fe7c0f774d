#!/bin/bash
# TCMU tier: the project's emulated recorder served as a real SCSI drive of the
# guest (`discrec emu serve NAME`: a TCMU handler behind the guest kernel's LIO
# target and tcm_loop), bound by the guest's own sr driver as /dev/srN, and
# checked with the real tools, in ONE guest boot. Run it through
# tests/vm/run-tcmu.sh (builds discrec, makes the image, boots with --no-cd).
#
# One drive per writable profile the emulated drive records (emu:pXXXX, medium
# XXXX), each served by its own `discrec emu serve` process. Checks per
# profile: bind (sr binds, type 5), inquiry (sg_inq), config (sg_get_config's
# current profile), mediainfo (dvd+rw-mediainfo, or cdrskin -minfo for CD),
# then the burners (cdrskin -tao/-sao, growisofs, xorriso, discrec burn) with the data read
# back through the kernel, multi-session appends (xorriso, discrec) with mount, discrec
# blank/format of rewritables; faults: a medium error mid-write (growisofs, discrec), hang (sg_raw times out, the drive works
# after the fault is cleared; discrec's E_IMAPI_RECORDER_COMMAND_TIMEOUT),
# vanish (the handler's SIGTERM or a vanish fault removes /dev/srN; discrec
# then says ERROR_DEV_NOT_EXIST).
#
# Prints "PASS name" or "FAIL name: why" (then the commands it ran with their
# output) for every check, a timing block, and last exactly "N passed, M failed".
# Exit status: 0 if every check passed, 1 otherwise.
# Environment: DISCREC (binary), TCMU_ISO (image to burn), TCMU_PROFILES
# (default: every writable profile), TCMU_FAULTS=0 (skip the hang and vanish
# checks), TCMU_VERBOSE=1, TCMU_CHECKS (a
# regular expression: run only the checks whose name matches).
set -u

DISCREC="${DISCREC:-${DISCREC_VM_REPO:-}/target/release/discrec}"
ISO="${TCMU_ISO:-/vm-results/image.iso}"
# the emulated drives' state files: the guest's own tmpfs
export DISCRECORDER_RUNTIME_DIR=/run/discrec
mkdir -p "$DISCRECORDER_RUNTIME_DIR"

CLOG=/tmp/tcmu-check.log CHECK_VERBOSE=${TCMU_VERBOSE:-0} X_TIMEOUT=180
# shellcheck source=checks.sh
. "$(dirname "$DISCREC_VM_LIB")/scenarios/checks.sh"

# This tier's own runner (replaces checks.sh's): a check takes arguments, TCMU_CHECKS
# selects checks by name, and a failing check prints the commands the drives got.
check() { # check NAME FUNCTION ARGS...
    local name="$1" fn="$2" t0 t1; shift 2
    if [ -n "${TCMU_CHECKS:-}" ] && ! printf '%s' "$name" | grep -Eq "$TCMU_CHECKS"; then return; fi
    WHY=""; : >"$CLOG"
    t0=$(now)
    # where each drive's trace ends now (one stat for all: execs are slow in the guest)
    local tr size; declare -A TRACE_AT=()
    # (a file, not a process substitution: the guest has no /dev/fd)
    stat -c '%n %s' /tmp/trace.* >/tmp/check-trace-at 2>/dev/null
    while read -r tr size; do TRACE_AT[$tr]=$size; done </tmp/check-trace-at
    "$fn" "$@"
    t1=$(now)
    TIMINGS="$TIMINGS$(printf '#   %-34s %6.1f s' "$name" "$(echo "$t1 $t0" | awk '{print $1 - $2}')")"$'\n'
    if [ -z "$WHY" ]; then
        PASSED=$((PASSED + 1)); echo "PASS $name"
        [ "${TCMU_VERBOSE:-0}" = 0 ] || sed 's/^/    /' "$CLOG"
    else
        FAILED=$((FAILED + 1)); echo "FAIL $name: $WHY"
        sed 's/^/    /' "$CLOG"
        for tr in /tmp/trace.*; do
            [ -f "$tr" ] || continue
            tail -c +"$(( ${TRACE_AT[$tr]:-0} + 1 ))" "$tr" >/tmp/check-trace
            local n; n=$(wc -l </tmp/check-trace)
            [ "$n" -gt 0 ] || continue
            echo "    [commands the drive 0x${tr#/tmp/trace.} got during the check: $n, the last 80]"
            tail -n 80 /tmp/check-trace | sed 's/^/    > /'
            echo "    [of those, the ones that set up or end a recording: MODE SELECT, SEND CUE SHEET, RESERVE TRACK, CLOSE, BLANK, FORMAT UNIT]"
            grep -E '^(55|5d|53|5b|a1|04) ' /tmp/check-trace | tail -n 40 | sed 's/^/    > /'
        done
        echo "    [dmesg tail]"; dmesg | tail -n 12 | sed 's/^/    | /'
    fi
}

# ------------------------------------------------------------ drives --
declare -A DEV SERVE_PID
# sg_get_config's names of the profiles
profile_name() {
    case "$1" in
        0009) echo "CD-R" ;; 000a) echo "CD-RW" ;; 0011) echo "DVD-R sequential recording" ;;
        0013) echo "DVD-RW restricted overwrite" ;; 0014) echo "DVD-RW sequential recording" ;;
        001a) echo "DVD+RW" ;; 001b) echo "DVD+R" ;; 002b) echo "DVD+R dual layer" ;;
        0041) echo "BD-R SRM" ;; 0042) echo "BD-R RRM" ;; 0043) echo "BD-RE" ;;
        *) echo "?$1" ;;
    esac
}
is_cd() { case "$1" in 0008|0009|000a) return 0 ;; esac; return 1; }

# serve P: emu:pP with medium P, served in the background; DEV[P] = its /dev/srN
serve() {
    local p="$1" name="p$1" i
    x "$DISCREC" emu create "$name" || { bad "emu create $name failed"; return 1; }
    x "$DISCREC" emu set "$name" --medium "0x$p" || { bad "emu set $name --medium 0x$p failed"; return 1; }
    "$DISCREC" emu serve "$name" --json --cmd-time-out 20 --trace "/tmp/trace.$p" >"/tmp/serve.$p.out" 2>"/tmp/serve.$p.err" </dev/null &
    SERVE_PID[$p]=$!
    note "discrec emu serve $name & (pid ${SERVE_PID[$p]})"
    for i in $(seq 1 300); do
        [ -s "/tmp/serve.$p.out" ] && break
        kill -0 "${SERVE_PID[$p]}" 2>/dev/null || break
        sleep 0.1
    done
    DEV[$p]=$(jq -r '.block // empty' "/tmp/serve.$p.out" 2>/dev/null)
    { sed 's/^/  | /' "/tmp/serve.$p.out"; sed 's/^/  ! /' "/tmp/serve.$p.err"; } >>"$CLOG"
    [ -n "${DEV[$p]}" ] || { bad "emu serve $name printed no block device"; return 1; }
}

c_bind() {
    local p="$1" d sysdev
    serve "$p" || return
    d=${DEV[$p]}
    [ -b "$d" ] || bad "$d is not a block device"
    sysdev=/sys/block/$(basename "$d")/device
    [ "$(cat "$sysdev/type" 2>/dev/null)" = 5 ] || bad "SCSI type of $d is '$(cat "$sysdev/type" 2>/dev/null)', not 5"
    [ "$(basename "$(readlink "$sysdev/driver")")" = sr ] || bad "$d is not bound by sr"
    dmesg | grep -q "Attached scsi CD-ROM $(basename "$d")" || bad "no 'Attached scsi CD-ROM' in dmesg"
}

c_inquiry() {
    local d=${DEV[$1]:-}; [ -n "$d" ] || { bad "not served"; return; }
    x sg_inq "$d" || bad "sg_inq failed"
    has "$OUT" "Peripheral device type: cd/dvd" || bad "sg_inq: not a cd/dvd device"
    has "$OUT" "Vendor identification: DISCREC" || bad "sg_inq: vendor is not DISCREC"
    has "$OUT" "RMB=1" || bad "sg_inq: not removable"
}

c_config() {
    local p="$1" d=${DEV[$1]:-} name; [ -n "$d" ] || { bad "not served"; return; }
    name=$(profile_name "$p")
    x sg_get_config "$d" || bad "sg_get_config failed"
    has "$OUT" "Current profile: $name" || bad "sg_get_config: current profile is not $name"
    x "$DISCREC" info "$d" --json
    [ "$(printf '%s' "$OUT" | jq -r '[.profiles[] | select(.current) | .code][0]' 2>/dev/null)" = "$(printf '0x%04X' "$((16#$p))")" ] ||
        bad "discrec info: current profile is not 0x$p"
}

c_mediainfo() {
    local p="$1" d=${DEV[$1]:-}; [ -n "$d" ] || { bad "not served"; return; }
    if is_cd "$p"; then
        x cdrskin -minfo dev="$d" || bad "cdrskin -minfo failed (exit $RC)"
        has "$OUT$ERR" "Mounted media type: *$(profile_name "$p")\|Mounted Media: *${p#00}h" ||
            bad "cdrskin -minfo does not name the mounted $(profile_name "$p")"
    else
        x dvd+rw-mediainfo "$d" || bad "dvd+rw-mediainfo failed (exit $RC)"
        has "$OUT" "Mounted Media: *${p#00}h" || bad "dvd+rw-mediainfo: mounted media is not ${p#00}h"
        if [ "$p" = 0013 ]; then
            # a restricted-overwrite DVD-RW is one that was formatted so: not blank
            has "$OUT" "Disc status: *\(complete\|other\)" || bad "dvd+rw-mediainfo: a formatted DVD-RW is not complete/other"
        else
            has "$OUT" "Disc status: *blank" || bad "dvd+rw-mediainfo: disc status is not blank"
        fi
    fi
}

# append P: two xorriso sessions on a fresh sequential disc, both files visible after mount
append() {
    local p="$1" d=${DEV[$1]:-}; [ -n "$d" ] || { bad "not served"; return; }
    new_disc "$p"
    mkdir -p /tmp/s1 /tmp/s2; echo one >/tmp/s1/one.txt; echo two >/tmp/s2/two.txt
    x xorriso -outdev "$d" -write_type tao -map /tmp/s1 / -close off -commit || { bad "first session failed (exit $RC)"; return; }
    x xorriso -dev "$d" -write_type tao -map /tmp/s2 / -close off -commit || { bad "second session failed (exit $RC)"; return; }
    x xorriso -outdev "$d" -toc
    has "$OUT$ERR" "ISO session *: *2 " || bad "xorriso -toc shows no second session"
    x eject "$d"; x eject -t "$d"
    # session 2 imported session 1's tree: both files
    mounted "$d" "after the append" one.txt=one two.txt=two
}

# discrec's own burner (`discrec burn IMAGE DEV -N NAME`, verifying by default)
discrec_burn() {
    "$DISCREC" burn --help >/dev/null 2>&1 || { bad "this discrec has no burn subcommand"; return; }
    burn "$1" "$DISCREC" burn "$ISO" @DEV@ -N "TCMU Burn"
}

# discrec_append P: two `discrec burn`s on one sequential disc, the second image made for
# the NWA `discrec media` reports (mkisofs -C); the kernel mounts the second session, and the
# first still reads back where it was written
discrec_append() {
    local p="$1" d=${DEV[$1]:-} nwa; [ -n "$d" ] || { bad "not served"; return; }
    new_disc "$p"
    mkdir -p /tmp/a1 /tmp/a2; echo one >/tmp/a1/one.txt; echo two >/tmp/a2/two.txt
    x xorriso -as mkisofs -quiet -R -V S1 -o /tmp/a1.iso /tmp/a1 || { bad "mkisofs (session 1) failed"; return; }
    x "$DISCREC" burn /tmp/a1.iso "$d" -N "TCMU Append" || { bad "discrec burn (session 1) failed (exit $RC)"; return; }
    x "$DISCREC" media "$d" --json
    nwa=$(printf '%s' "$OUT" | jq -r '.next_writable_address // empty')
    [ -n "$nwa" ] || { bad "discrec media gave no next writable address after session 1"; return; }
    x xorriso -as mkisofs -quiet -R -V S2 -C "0,$nwa" -o /tmp/a2.iso /tmp/a2 || { bad "mkisofs -C 0,$nwa failed"; return; }
    x "$DISCREC" burn /tmp/a2.iso "$d" -N "TCMU Append" || { bad "discrec burn (session 2) failed (exit $RC)"; return; }
    x "$DISCREC" media "$d" --json
    [ "$(printf '%s' "$OUT" | jq -r .sessions)" = 2 ] || bad "discrec media: not 2 sessions after the append"
    [ "$(printf '%s' "$OUT" | jq -r .previous_session.start_lba)" = "$nwa" ] ||
        bad "discrec media: the last session does not start at $nwa"
    x eject "$d"; x eject -t "$d"
    mounted "$d" "after the append" two.txt=two
    x sh -c "dd if='$d' bs=2048 count=$(( $(stat -c %s /tmp/a1.iso) / 2048 )) status=none | cmp - /tmp/a1.iso" ||
        bad "session 1 no longer reads back as written"
}

# erase P blank|format: burn, erase with discrec, then the disc reads as empty to
# `discrec media` and takes a new burn that reads back through the kernel
erase() {
    local p="$1" how="$2" d=${DEV[$1]:-}; [ -n "$d" ] || { bad "not served"; return; }
    new_disc "$p"
    x "$DISCREC" burn "$ISO" "$d" -N "TCMU Erase" --verify none || { bad "discrec burn before the $how failed (exit $RC)"; return; }
    x "$DISCREC" "$how" "$d" -N "TCMU Erase" || { bad "discrec $how failed (exit $RC)"; return; }
    x "$DISCREC" media "$d" --json
    if [ "$how" = blank ]; then
        printf '%s' "$OUT" | jq -e '.status.flags | index("blank")' >/dev/null ||
            bad "discrec media: not blank after discrec blank"
    else
        [ "$(printf '%s' "$OUT" | jq -r .needs_format)" = false ] || bad "discrec media: still needs formatting"
    fi
    x "$DISCREC" burn "$ISO" "$d" -N "TCMU Erase" || { bad "discrec burn after the $how failed (exit $RC)"; return; }
    read_back "$d"
}

# medium_error P TOOL...: sector 300 of a fresh disc is defective; TOOL reports the medium
# error of its WRITE (growisofs: SK=3h/WRITE ERROR at LBA 120h, the WRITE of 288-303, through
# the kernel; discrec: its HRESULT, exit 74, the LBAs), the drive is free after and takes the
# next disc
medium_error() {
    local p="$1" d=${DEV[$1]:-}; shift
    [ -n "$d" ] || { bad "not served"; return; }
    new_disc "$p"
    x "$DISCREC" emu set "p$p" --fault medium-error --lba 300 || { bad "emu set --fault medium-error failed"; return; }
    local args=() a
    for a in "$@"; do args+=("${a//@DEV@/$d}"); done
    x "${args[@]}"
    local rc=$RC out="$OUT$ERR"
    x "$DISCREC" emu set "p$p" --fault none
    note "$1 exited $rc"
    case "$1" in
        # growisofs reports the failed WRITE, closes the track and session, and exits 0
        growisofs) ;;
        *) [ "$rc" != 0 ] || bad "$1 succeeded over a defective sector" ;;
    esac
    case "$1" in
        */discrec|discrec)
            [ "$rc" = 74 ] || bad "discrec burn exited $rc, not 74"
            has "$out" E_IMAPI_UNEXPECTED_RESPONSE_FROM_DEVICE || bad "discrec burn did not give the medium error's HRESULT"
            has "$out" "writing LBA" || bad "discrec burn did not name the LBA it was writing" ;;
        growisofs)
            has "$out" "WRITE@LBA=120h failed with SK=3h/WRITE ERROR" ||
                bad "growisofs did not report the MEDIUM ERROR (SK 3, WRITE ERROR) of its WRITE at 288 (120h)" ;;
        *)
            has "$out" "3 0C 00\|medium error\|write error" || bad "$1 did not report the medium error" ;;
    esac
    x "$DISCREC" owner "$d" --json
    [ "$(printf '%s' "$OUT" | jq -r '.owner // "null"')" = null ] || bad "the drive is still held after the failed burn"
    burn "$p" "$DISCREC" burn "$ISO" @DEV@ -N "TCMU After Error"
}

# new_disc P: a fresh blank disc of profile P in its drive
new_disc() {
    x "$DISCREC" emu set "p$1" --medium "0x$1" || bad "emu set --medium failed"
    x sg_turs "${DEV[$1]}"   # consume the unit attention
}
# read_back DEV: the first image-size bytes through the kernel equal the image, and it mounts
read_back() {
    local d="$1" size; size=$(stat -c %s "$ISO")
    x eject "$d"; x eject -t "$d"
    blockdev --flushbufs "$d" 2>/dev/null
    x blockdev --getsize64 "$d"; note "kernel size of $d: $OUT bytes (image: $size)"
    if x sh -c "dd if='$d' bs=2048 count=$size iflag=count_bytes status=none | cmp - '$ISO'"; then
        note "dd + cmp: the first $size bytes of $d equal the image"
    else
        bad "read back through $d differs from the image ($OUT $ERR)"
    fi
    mounted "$d" "after the burn"
}
# mounted DEV WHEN [FILE=TEXT...]: DEV mounts as ISO 9660 (its last session) and each FILE
# holds TEXT; WHEN says when, in the reasons
mounted() {
    local d="$1" when="$2" ft; shift 2
    mkdir -p /mnt/t
    x mount -t iso9660 -o ro "$d" /mnt/t || { bad "mount -t iso9660 $d failed $when"; return; }
    for ft in "$@"; do
        [ "$(cat "/mnt/t/${ft%%=*}" 2>/dev/null)" = "${ft#*=}" ] ||
            bad "${ft%%=*} does not hold '${ft#*=}' in the mounted disc $when"
    done
    x umount /mnt/t
}
burn() { # burn P TOOL...: a new blank disc, TOOL (with DEV substituted), read back
    local p="$1" d=${DEV[$1]:-}; shift
    [ -n "$d" ] || { bad "not served"; return; }
    new_disc "$p"
    local args=() a
    for a in "$@"; do args+=("${a//@DEV@/$d}"); done
    x "${args[@]}" || { bad "$1 failed (exit $RC)"; return; }
    read_back "$d"
}

# generic SCSI node of a served drive
sg_of() { basename "$(ls -d /sys/block/"$(basename "$1")"/device/scsi_generic/* 2>/dev/null | head -n1)"; }
elapsed() { echo "$(now) $1" | awk '{printf "%.1f", $1 - $2}'; }
# wait_gone PID SECS: wait for PID to end by itself (0) or SECS to pass (1)
wait_gone() {
    local end; end=$(echo "$(now) $2" | awk '{print $1 + $2}')
    while kill -0 "$1" 2>/dev/null; do
        awk "BEGIN{exit !($(now) < $end)}" || return 1
        sleep 0.5
    done
}

# A hung drive through the real kernel: the command's timeout fires, the SCSI error handler
# aborts it (tcm_loop -> LIO ABORT_TASK -> a TMR entry -> the handler completes it), the caller
# gets DID_TIME_OUT while the drive still hangs; once the fault is cleared the drive works.
# Through /dev/sgN: no sr media check on open, so only the command itself meets the hang.
c_hang_sg() {
    local p="$1" d=${DEV[$1]:-} t0 sg; [ -n "$d" ] || { bad "not served"; return; }
    sg=/dev/$(sg_of "$d"); [ -c "$sg" ] || { bad "no sg node for $d"; return; }
    x "$DISCREC" emu set "p$p" --fault hang
    t0=$(now)
    sg_raw -t 5 "$sg" 00 00 00 00 00 00 >/tmp/hang.raw 2>&1 &
    local pid=$!
    wait_gone "$pid" 45 || bad "sg_raw -t 5 $sg still blocked 45 s into the hang"
    note "sg_raw -t 5 TEST UNIT READY ended $(elapsed "$t0") s into the hang"
    x "$DISCREC" emu set "p$p" --fault none
    wait "$pid"; local src=$?
    sed 's/^/  | /' /tmp/hang.raw >>"$CLOG"
    dmesg | grep -i -e abort -e timed -e timeout | tail -n 6 | sed 's/^/  dmesg| /' >>"$CLOG"
    [ "$src" != 0 ] || bad "sg_raw's TEST UNIT READY succeeded while the drive hung"
    grep -q DID_TIME_OUT /tmp/hang.raw || bad "sg_raw did not report DID_TIME_OUT"
    wait_for 30 sg_turs "$d" || bad "the drive did not answer TEST UNIT READY within 30 s after the fault was cleared"
    x sg_inq "$d" || bad "sg_inq failed after the hang"
}

# discrec on the sr node of a drive that hangs from its first GET CONFIGURATION on: the
# command's SG_IO timeout (--timeout 5), the kernel's abort, our HRESULT. (Hung from the
# start, the sr driver's own media check on open(2), TEST UNIT READY with its fixed 30 s
# timeout, retried, met the hang first: 100-180 s under TCG before discrec sent anything.)
c_hang_discrec() {
    local p="$1" d=${DEV[$1]:-} t0; [ -n "$d" ] || { bad "not served"; return; }
    x "$DISCREC" emu set "p$p" --fault hang --at-opcode 0x46
    t0=$(now)
    "$DISCREC" info "$d" --timeout 5 >/tmp/hang.info 2>&1 &
    local pid=$!
    wait_gone "$pid" 120 || bad "discrec info --timeout 5 still blocked 120 s into the hang"
    note "discrec info ended $(elapsed "$t0") s into the hang"
    x "$DISCREC" emu set "p$p" --fault none
    wait "$pid"; local rc=$?
    note "discrec info --timeout 5: exit $rc"
    grep -v '^ *\*\? *0x' /tmp/hang.info | sed 's/^/  | /' >>"$CLOG"
    dmesg | grep -i -e abort -e timed -e timeout -e 'sr[0-9]' | tail -n 8 | sed 's/^/  dmesg| /' >>"$CLOG"
    grep -q E_IMAPI_RECORDER_COMMAND_TIMEOUT /tmp/hang.info || bad "discrec info did not say E_IMAPI_RECORDER_COMMAND_TIMEOUT (exit $rc)"
    wait_for 60 sg_turs "$d" || bad "the drive did not answer TEST UNIT READY within 60 s after the fault was cleared"
}

gone() { [ ! -e "$1" ] && ! ls /sys/kernel/config/target/loopback 2>/dev/null | grep -q '^naa\.'; }
c_vanish_sigterm() {
    local p="$1" d=${DEV[$1]:-}; [ -n "$d" ] || { bad "not served"; return; }
    kill -TERM "${SERVE_PID[$p]}"
    wait "${SERVE_PID[$p]}"; local rc=$?
    note "discrec emu serve exited $rc"
    [ "$rc" = 0 ] || bad "emu serve exited $rc on SIGTERM"
    sed 's/^/  ! /' "/tmp/serve.$p.err" >>"$CLOG"
    [ ! -e "$d" ] || bad "$d still exists after the handler stopped"
    ls -R /sys/kernel/config/target/core 2>/dev/null | grep -q "discrec-p$p" && bad "the backstore discrec-p$p is still in configfs"
    x "$DISCREC" info "$d"
    has "$OUT$ERR" "ERROR_DEV_NOT_EXIST" || bad "discrec info $d does not say ERROR_DEV_NOT_EXIST"
}
c_vanish_fault() {
    local p="$1" d=${DEV[$1]:-}; [ -n "$d" ] || { bad "not served"; return; }
    x "$DISCREC" emu set "p$p" --fault vanish
    sg_turs "$d" >/dev/null 2>&1   # the next command finds the drive gone
    local i; for i in $(seq 1 100); do kill -0 "${SERVE_PID[$p]}" 2>/dev/null || break; sleep 0.1; done
    kill -0 "${SERVE_PID[$p]}" 2>/dev/null && bad "emu serve still runs 10 s after the drive vanished"
    wait "${SERVE_PID[$p]}" 2>/dev/null
    [ ! -e "$d" ] || bad "$d still exists after the drive vanished"
    x "$DISCREC" info "$d"
    has "$OUT$ERR" "ERROR_DEV_NOT_EXIST" || bad "discrec info $d does not say ERROR_DEV_NOT_EXIST"
}

# the serving worker of a served drive (`emu serve` re-executes itself as --worker)
worker_of() { cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -m1 .; }
# SIGKILL of WHO (worker: the supervisor cleans up after it; parent: the worker gets SIGTERM
# through PR_SET_PDEATHSIG and cleans up itself): the device and every LIO object go
c_vanish_sigkill() {
    local who="$1" p="$2" d=${DEV[$2]:-} victim w; [ -n "$d" ] || { bad "not served"; return; }
    w=$(worker_of "${SERVE_PID[$p]}")
    [ -n "$w" ] || { bad "no worker process under emu serve (pid ${SERVE_PID[$p]})"; return; }
    if [ "$who" = worker ]; then victim=$w; else victim=${SERVE_PID[$p]}; fi
    note "SIGKILL to the $who (pid $victim; supervisor ${SERVE_PID[$p]}, worker $w)"
    local t0; t0=$(now)
    kill -KILL "$victim"
    wait_gone "$w" 60 || bad "the worker still runs 60 s after the SIGKILL"
    wait_gone "${SERVE_PID[$p]}" 60 || bad "emu serve still runs 60 s after the SIGKILL"
    wait "${SERVE_PID[$p]}" 2>/dev/null
    note "everything ended $(elapsed "$t0") s after the SIGKILL"
    sed 's/^/  ! /' "/tmp/serve.$p.err" >>"$CLOG"
    wait_for 10 test ! -e "$d" || bad "$d still exists after the SIGKILL"
    ls -R /sys/kernel/config/target/core 2>/dev/null | grep -q "discrec-p$p" && bad "the backstore discrec-p$p is still in configfs"
    x "$DISCREC" info "$d"
    has "$OUT$ERR" "ERROR_DEV_NOT_EXIST" || bad "discrec info $d does not say ERROR_DEV_NOT_EXIST"
}

# ----------------------------------------------------------- main --
for m in target_core_user tcm_loop; do
    # the initramfs carries them (build-initramfs.sh); the cache's full module tree is the
    # fallback for an initramfs some other checkout built without them
    modprobe "$m" 2>/dev/null || modprobe -d /var/cache/discrecorder-vm/root "$m" ||
        { echo "FAIL modules: cannot load $m"; echo "0 passed, 1 failed"; exit 1; }
done
mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config

# every writable profile the emulated drive records (a drive takes a medium's profile on
# with `emu set --medium`)
PROFILES=${TCMU_PROFILES:-0009 000a 0011 0013 0014 001a 001b 002b 0041 0043}
echo "# profiles: $(echo $PROFILES)"

for p in $PROFILES; do check "bind-$p" c_bind "$p"; done
for p in $PROFILES; do
    check "inquiry-$p" c_inquiry "$p"
    check "config-$p" c_config "$p"
    check "mediainfo-$p" c_mediainfo "$p"
done
for p in $PROFILES; do
    case "$p" in
        0009|000a)
            check "cdrskin-tao-$p" burn "$p" cdrskin -v dev=@DEV@ -tao "$ISO"
            check "cdrskin-sao-$p" burn "$p" cdrskin -v dev=@DEV@ -sao "$ISO"
            check "xorriso-$p" burn "$p" xorriso -as cdrecord -v dev=@DEV@ -tao "$ISO"
            # cdrkit's wodim: cdrecord's own command sequences, not libburn's
            check "wodim-tao-$p" burn "$p" wodim -v dev=@DEV@ -tao "$ISO"
            check "wodim-dao-$p" burn "$p" wodim -v dev=@DEV@ -dao "$ISO" ;;
        0041)
            # growisofs formats a blank BD-R with spare areas first (FORMAT UNIT type 32h);
            # without them it writes at once
            check "growisofs-$p" burn "$p" growisofs -use-the-force-luke=spare:none -Z "@DEV@=$ISO"
            check "growisofs-spare-$p" burn "$p" growisofs -Z "@DEV@=$ISO"
            check "xorriso-$p" burn "$p" xorriso -as cdrecord -v dev=@DEV@ "$ISO" ;;
        *)
            check "growisofs-$p" burn "$p" growisofs -Z "@DEV@=$ISO"
            check "xorriso-$p" burn "$p" xorriso -as cdrecord -v dev=@DEV@ "$ISO" ;;
    esac
    case "$p" in 0009|0011|001b|0041) check "xorriso-append-$p" append "$p" ;; esac
    check "discrec-burn-$p" discrec_burn "$p"
    case "$p" in 0009|0011|0041) check "discrec-append-$p" discrec_append "$p" ;; esac
    case "$p" in
        000a|0014) check "discrec-blank-$p" erase "$p" blank ;;
        001a|0043) check "discrec-format-$p" erase "$p" format ;;
    esac
done
# a defective sector mid-write, through the kernel, to a peer and to discrec
for p in $PROFILES; do
    [ "$p" = 001b ] || continue
    check "medium-error-growisofs-$p" medium_error "$p" growisofs -Z "@DEV@=$ISO"
    check "medium-error-discrec-$p" medium_error "$p" "$DISCREC" burn "$ISO" @DEV@ -N "TCMU Medium Error"
done
FIRST=$(echo $PROFILES | cut -d' ' -f1) LAST=$(echo $PROFILES | awk '{print $NF}')
if [ "${TCMU_FAULTS:-1}" = 1 ]; then
    check "hang-sg-$FIRST" c_hang_sg "$FIRST"
    check "hang-discrec-$FIRST" c_hang_discrec "$FIRST"
    check "vanish-sigterm-$FIRST" c_vanish_sigterm "$FIRST"
    [ "$LAST" = "$FIRST" ] || check "vanish-fault-$LAST" c_vanish_fault "$LAST"
    check "rebind-$FIRST" c_bind "$FIRST"
    check "vanish-sigkill-worker-$FIRST" c_vanish_sigkill worker "$FIRST"
    check "rebind-again-$FIRST" c_bind "$FIRST"
    check "vanish-sigkill-parent-$FIRST" c_vanish_sigkill parent "$FIRST"
fi

# the rest stop on SIGTERM and must leave nothing behind
for p in "${!SERVE_PID[@]}"; do
    kill -TERM "${SERVE_PID[$p]}" 2>/dev/null && wait "${SERVE_PID[$p]}" 2>/dev/null
done
check_clean() {
    local left; left=$(ls /sys/kernel/config/target/core /sys/kernel/config/target/loopback 2>/dev/null | grep -e '^user_' -e '^naa\.')
    [ -z "$left" ] || bad "LIO objects left behind: $(echo $left)"
    ls /dev/sr* >/dev/null 2>&1 && bad "sr devices left: $(ls /dev/sr*)"
}
check "all-removed" check_clean

checks_summary
