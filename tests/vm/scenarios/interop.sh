#!/bin/bash
# Interop tier: discrec against a real kernel CD drive (/dev/sr0 on QEMU's
# scsi-cd) and the real peer tools (xorriso, cdrskin, mount, util-linux eject,
# sg3-utils), in ONE guest boot. Run it through tests/vm/run-interop.sh, which
# builds discrec, makes the images and boots the guest:
#   tests/vm/run-interop.sh                                  # cargo build + run
#   DISCREC=/path/to/discrec tests/vm/run-interop.sh         # a given binary
#
# Needs (from run-interop.sh): the small ISO in the drive at boot
# ($DISCREC_VM_ISO, CD-ROM profile), INTEROP_BIG_ISO = an image larger than
# 737,280,000 bytes (QEMU reports DVD-ROM for it), DISCREC = the binary.
#
# Prints "PASS name" or "FAIL name: why" (then the commands it ran with their
# output) for every check, a timing block, and last exactly "N passed, M failed".
# Exit status: 0 if every check passed, 1 otherwise.
set -u

DISCREC="${DISCREC:-${DISCREC_VM_REPO:-}/target/release/discrec}"
DEV=/dev/sr0
SMALL="${INTEROP_SMALL_ISO:-${DISCREC_VM_ISO:-}}"
BIG="${INTEROP_BIG_ISO:-/vm-results/big.iso}"
SGIO="${DISCREC_VM_SGIO:-}"
HELPERS="$(dirname "${SGIO:-/nonexistent/x}")"
NEWER="(needs the discrec build with list/info/eject/close-tray)"
. "$DISCREC_VM_LIB"

CLOG=/tmp/interop-check.log CHECK_VERBOSE=${INTEROP_VERBOSE:-0} X_TIMEOUT=60
# shellcheck source=checks.sh
. "$(dirname "$DISCREC_VM_LIB")/scenarios/checks.sh"

# ---------------------------------------------------------------- helpers --
# supports SUBCOMMAND: does this discrec have it?
supports() { timeout 10 "$DISCREC" "$1" --help >/dev/null 2>&1; }
need() { # need SUB...: fail the check (clearly) if the binary lacks one of them
    local s missing=""
    for s in "$@"; do supports "$s" || missing="$missing $s"; done
    [ -z "$missing" ] && return 0
    bad "this discrec has no subcommand(s):$missing $NEWER"
    set -- $missing
    { echo "  \$ $DISCREC $1 --help"; timeout 10 "$DISCREC" "$1" --help 2>&1 | head -n 3 | sed 's/^/  ! /'; } >>"$CLOG"
    return 1
}

# tray: prints "open" or "closed" and "medium"/"empty" (GET EVENT STATUS
# NOTIFICATION, media class, polled; byte 5: bit 0 tray open, bit 1 medium present)
tray() {
    local b
    "$SGIO" -r 8 -o /tmp/gesn "$DEV" 4a 01 00 00 10 00 00 00 08 00 >/tmp/gesn.txt 2>&1 || { echo "error $(cat /tmp/gesn.txt)"; return 1; }
    b=$(od -An -tu1 -j5 -N1 /tmp/gesn | tr -d ' ')
    printf '%s %s\n' "$( (( b & 1 )) && echo open || echo closed)" "$( (( b & 2 )) && echo medium || echo empty)"
}
trayx() { OUT=$(tray); note "tray (GESN): $OUT"; }

# insert IMAGE: host-side media change, then wait until the drive is ready
insert() {
    vm_change_media "$1" >>"$CLOG" 2>&1 || { bad "host media change to $1 failed"; return 1; }
    wait_ready 15 || { bad "drive not ready 15 s after inserting $1"; return 1; }
}

# Restore the drive between checks: nothing mounted, small medium in, tray closed.
settle() {
    local m
    for m in /mnt/cd /mnt/x; do mountpoint -q "$m" 2>/dev/null && umount "$m" 2>/dev/null; done
    ready && return 0
    eject -t "$DEV" >/dev/null 2>&1
    wait_ready 3 && return 0
    vm_change_media "$SMALL" >/dev/null 2>&1
    wait_ready 15 || echo "# WARNING: the drive is not ready after restoring $SMALL"
}

# ----------------------------------------------------------------- checks --

# 1. identity, profiles, features and enumeration, against sg3-utils
c_list_info_identity() {
    x sg_inq "$DEV" || { bad "sg_inq failed (test premise)"; return; }
    local v p r
    v=$(printf '%s\n' "$OUT" | sed -n 's/^ *Vendor identification: *//p' | sed 's/ *$//')
    p=$(printf '%s\n' "$OUT" | sed -n 's/^ *Product identification: *//p' | sed 's/ *$//')
    r=$(printf '%s\n' "$OUT" | sed -n 's/^ *Product revision level: *//p' | sed 's/ *$//')
    note "sg_inq: vendor='$v' product='$p' revision='$r'"
    x sg_get_config "$DEV"; cp /tmp/x.out /tmp/sgc.txt
    local sgp sgf
    sgp=$(sgc_profiles); sgf=$(sgc_features)
    note "sg_get_config profiles: $(echo $sgp) / features: $(echo $sgf)"
    echo "$sgp" | grep -q '^0008 CD-ROM true$' || bad "premise: sg_get_config does not show CD-ROM current with the small ISO"
    need info list || return
    x "$DISCREC" info "$DEV" --json || { bad "discrec info $DEV --json exited $RC: $ERR"; return; }
    local j="$OUT" jv jp jr prof feat c
    printf '%s' "$j" | jq -e . >/dev/null 2>&1 || { bad "discrec info --json: not JSON"; return; }
    jv=$(printf '%s' "$j" | jq -r '.vendor' | sed 's/ *$//')
    jp=$(printf '%s' "$j" | jq -r '.product' | sed 's/ *$//')
    jr=$(printf '%s' "$j" | jq -r '.revision' | sed 's/ *$//')
    [ "$jv" = "$v" ] || bad "vendor '$jv' != sg_inq '$v'"
    [ "$jp" = "$p" ] || bad "product '$jp' != sg_inq '$p'"
    [ "$jr" = "$r" ] || bad "revision '$jr' != sg_inq '$r'"
    [ "$(printf '%s' "$j" | jq -r '.device')" = "$DEV" ] || bad "info .device is not $DEV"
    prof=$(info_profiles "$j"); feat=$(info_features "$j")
    note "discrec profiles: $(echo $prof) / features: $(echo $feat)"
    echo "$prof" | grep -q '^0010 DVD-ROM ' || bad "profile 0x0010 DVD-ROM missing"
    echo "$prof" | grep -q '^0008 CD-ROM true$' || bad "profile 0x0008 CD-ROM missing or not current"
    echo "$prof" | grep -q '^0010 DVD-ROM true$' && bad "DVD-ROM marked current with a CD-sized image"
    for c in 0000 0001 0003; do echo "$feat" | grep -qx "$c" || bad "feature 0x$c missing"; done
    for c in $sgf; do echo "$feat" | grep -qx "$c" || bad "feature 0x$c (sg_get_config) missing"; done
    while read -r c _ cur; do
        [ -n "$c" ] || continue
        echo "$prof" | grep -q "^$c .* $cur\$" || bad "profile 0x$c current=$cur (sg_get_config) not in discrec's profiles"
    done <<<"$sgp"
    x "$DISCREC" list || bad "discrec list exited $RC"
    has "$OUT" "$DEV" || bad "discrec list does not show $DEV"
    x "$DISCREC" list --json || bad "discrec list --json exited $RC"
    has "$OUT" "\"$DEV\"" || bad "discrec list --json does not show \"$DEV\""
}

# 1b. a >737,280,000-byte image: QEMU switches the current profile to DVD-ROM
c_profile_follows_media() {
    insert "$BIG" || return
    x sg_get_config "$DEV"; cp /tmp/x.out /tmp/sgc.txt
    sgc_profiles | grep -q '^0010 DVD-ROM true$' || bad "premise: sg_get_config does not show DVD-ROM current with the big image"
    if need info; then
        if x "$DISCREC" info "$DEV" --json; then
            local prof; prof=$(info_profiles "$OUT")
            note "discrec profiles: $(echo $prof)"
            echo "$prof" | grep -q '^0010 DVD-ROM true$' || bad "current profile is not 0x0010 DVD-ROM after the swap"
            echo "$prof" | grep -q '^0008 CD-ROM true$' && bad "CD-ROM still current after the swap"
        else
            bad "discrec info exited $RC: $ERR"
        fi
    fi
    insert "$SMALL"
}

# 2. a mounted iso9660: refused (naming the mount point) without --force; --force unmounts
c_mounted_force() {
    mkdir -p /mnt/cd
    x mount -t iso9660 -o ro "$DEV" /mnt/cd || { bad "premise: cannot mount $DEV"; return; }
    x "$DISCREC" lock "$DEV" --name T -- true
    [ "$RC" = 1 ] || bad "lock while mounted exited $RC, want 1"
    has "$ERR" 'E_ACCESSDENIED (0x80070005)' || bad "lock while mounted: no E_ACCESSDENIED"
    has "$ERR" '/mnt/cd' || bad "lock while mounted: error does not name /mnt/cd"
    mountpoint -q /mnt/cd || bad "/mnt/cd was unmounted without --force"
    x "$DISCREC" owner "$DEV"
    has "$OUT" '/mnt/cd' || bad "owner of a mounted drive does not name /mnt/cd"
    x "$DISCREC" lock "$DEV" --name T --force -- sh -c \
        'if grep -q " /mnt/cd " /proc/mounts; then echo "STILL MOUNTED"; exit 3; fi; echo "not mounted"'
    [ "$RC" = 0 ] || bad "lock --force exited $RC, want 0 (COMMAND: $OUT)"
    has "$OUT" 'not mounted' || bad "COMMAND under lock --force did not run or saw /mnt/cd mounted"
    mountpoint -q /mnt/cd && bad "/mnt/cd still mounted after lock --force"
}

# 3. while discrec holds: xorriso, cdrskin, mount and eject fail; after release they work
c_held_blocks_peers() {
    mkdir -p /mnt/x
    bg holder "$DISCREC" lock "$DEV" --name Holder -- sleep 60; local h=$BGPID
    wait_for 5 owner_is Holder || { bad "holder did not show up as owner within 5 s"; return; }
    x xorriso -outdev "$DEV" -toc
    [ "$RC" != 0 ] || bad "xorriso -toc succeeded while held"
    has "$OUT$ERR" 'busy' || bad "xorriso did not report a busy device"
    x cdrskin dev="$DEV" -checkdrive
    [ "$RC" != 0 ] || bad "cdrskin -checkdrive succeeded while held"
    x mount -t iso9660 -o ro "$DEV" /mnt/x
    if [ "$RC" = 0 ]; then bad "mount succeeded while held"; umount /mnt/x; fi
    x eject "$DEV"
    if [ "$RC" = 0 ]; then bad "eject succeeded while held"; eject -t "$DEV"; fi
    kill -TERM "$h"; note "kill -TERM $h"; bg_wait "$h" 10
    x "$DISCREC" owner "$DEV"
    [ -z "$OUT" ] || bad "owner after release is '$OUT', want empty"
    x xorriso -outdev "$DEV" -toc || bad "xorriso -toc failed after release"
    x cdrskin dev="$DEV" -checkdrive || bad "cdrskin -checkdrive failed after release"
    if x mount -t iso9660 -o ro "$DEV" /mnt/x; then x umount /mnt/x; else bad "mount failed after release"; fi
    if x eject "$DEV"; then
        x eject -t "$DEV" || bad "eject -t failed"
        wait_ready 10 || bad "drive not ready after eject -t"
    else
        bad "eject failed after release"
    fi
}

# xorriso_grabbed TAG: the background xorriso TAG has acquired the drive
xorriso_grabbed() { grep -q -e '^Media current:' "/tmp/bg.$1.out" "/tmp/bg.$1.err"; }

# 4. while xorriso holds the drive: discrec refused, owner names xorriso
c_xorriso_holds() {
    bg xo xorriso -outdev "$DEV" -toc -sleep 4; local xp=$BGPID
    wait_for 10 xorriso_grabbed xo || { bad "xorriso did not acquire the drive within 10 s"; return; }
    x "$DISCREC" lock "$DEV" --name T -- true
    [ "$RC" = 1 ] || bad "lock while xorriso holds exited $RC, want 1"
    has "$ERR" 'E_ACCESSDENIED (0x80070005)' || bad "lock while xorriso holds: no E_ACCESSDENIED"
    has "$ERR" 'xorriso' || note "(the refusal does not name xorriso)"
    x "$DISCREC" owner "$DEV"
    has "$OUT" 'xorriso' || bad "owner while xorriso holds is '$OUT', want xorriso"
    x "$DISCREC" owner "$DEV" --json
    bg_wait "$xp" 20 || bad "xorriso exited $RC"
}

# 5. --handoff: xorriso runs under the lock; the name is published; peers refused
c_handoff_xorriso() {
    x "$DISCREC" lock "$DEV" --name 'Handoff Job' --handoff -- xorriso -outdev "$DEV" -toc
    [ "$RC" = 0 ] || bad "lock --handoff -- xorriso -toc exited $RC"
    bg ho "$DISCREC" lock "$DEV" --name 'Handoff Job' --handoff -- xorriso -outdev "$DEV" -toc -sleep 4
    local hp=$BGPID
    wait_for 10 xorriso_grabbed ho || bad "the hand-off xorriso did not acquire the drive within 10 s"
    x "$DISCREC" owner "$DEV"
    [ "$OUT" = 'Handoff Job' ] || bad "owner during hand-off is '$OUT', want 'Handoff Job'"
    x "$DISCREC" owner "$DEV" --json
    x "$DISCREC" lock "$DEV" --name Second -- true
    [ "$RC" = 1 ] || bad "second lock during hand-off exited $RC, want 1"
    has "$ERR" 'E_ACCESSDENIED (0x80070005)' || bad "second lock during hand-off: no E_ACCESSDENIED"
    bg_wait "$hp" 20 || bad "lock --handoff -- xorriso -toc -sleep 4 exited $RC"
}

# 6. SIGKILL of the holder: xorriso gets the drive at once
c_sigkill_frees_for_xorriso() {
    bg doomed "$DISCREC" lock "$DEV" --name Doomed -- sleep 60; local d=$BGPID child
    wait_for 5 owner_is Doomed || { bad "holder did not show up as owner within 5 s"; return; }
    child=$(pgrep -P "$d" | head -n 1)
    kill -KILL "$d"; note "kill -KILL $d"; bg_wait "$d" 5
    # The job's command inherited the claim (as with flock(1)): still held, still named.
    x "$DISCREC" owner "$DEV"
    [ "$OUT" = Doomed ] || bad "owner after SIGKILL of discrec is '$OUT', want Doomed (its job holds the claim)"
    x xorriso -outdev "$DEV" -toc && bad "xorriso got the drive while the job still held it"
    [ -n "$child" ] || { bad "no job process found"; return; }
    kill -KILL "$child"; note "kill -KILL $child (the job)"
    wait_for 5 sh -c "! kill -0 $child 2>/dev/null" || bad "the job did not die"
    x xorriso -outdev "$DEV" -toc || bad "xorriso -toc failed right after SIGKILL of the last holder"
    x "$DISCREC" owner "$DEV"
    [ -z "$OUT" ] || bad "owner after the last holder died is '$OUT', want empty"
}

# 8. kernel media polling stops while held (no DISK_MEDIA_CHANGE uevent), resumes after
c_polling_suspended() {
    local pf=/sys/block/sr0/events_poll_msecs old base t0 t1 mp
    old=$(cat "$pf")
    x cat /sys/block/sr0/events
    echo 500 >"$pf" || { bad "cannot set $pf"; return; }
    note "events_poll_msecs: $old -> $(cat $pf)"
    bg uev "$HELPERS/uevmon" sr0; mp=$BGPID
    wait_for 5 grep -q listening /tmp/bg.uev.err || { bad "uevmon did not start"; echo "$old" >"$pf"; return; }
    nmc() { grep -c 'DISK_MEDIA_CHANGE=1' /tmp/bg.uev.out; }
    more_than() { [ "$(nmc)" -gt "$1" ]; }
    # control: nobody holds the drive, polling reports the change
    base=$(nmc)
    vm_change_media "$BIG" >>"$CLOG" 2>&1 || bad "host media change failed"
    t0=$(now)
    if wait_for 6 more_than "$base"; then
        note "control: media-change uevent $(echo "$(now) $t0" | awk '{printf "%.1f", $1-$2}') s after the change (drive free)"
    else
        bad "premise: no DISK_MEDIA_CHANGE uevent within 6 s of a media change while the drive is free"
        echo "$old" >"$pf"; return
    fi
    # held: no uevent while the medium changes (nobody opens $DEV meanwhile)
    bg poller "$DISCREC" lock "$DEV" --name Poller -- sh -c 'touch /tmp/poll-held; exec sleep 30'
    local pp=$BGPID
    wait_for 5 test -e /tmp/poll-held || { bad "lock did not start COMMAND within 5 s"; echo "$old" >"$pf"; return; }
    sleep 1
    base=$(nmc)
    vm_change_media "$SMALL" >>"$CLOG" 2>&1 || bad "host media change failed"
    note "medium changed while held (t=$(now)); watching 4 s"
    sleep 4
    [ "$(nmc)" = "$base" ] || bad "$(( $(nmc) - base )) DISK_MEDIA_CHANGE uevent(s) while discrec held the drive"
    # release: polling resumes and reports the change made while held
    kill -TERM "$pp"; note "kill -TERM $pp"; bg_wait "$pp" 10
    t0=$(now)
    if wait_for 6 more_than "$base"; then
        t1=$(now); note "media-change uevent $(echo "$t1 $t0" | awk '{printf "%.1f", $1-$2}') s after release"
    else
        bad "no DISK_MEDIA_CHANGE uevent within 6 s after release"
    fi
    echo "$old" >"$pf"
    { echo "  [uevents]"; sed 's/^/  | /' /tmp/bg.uev.out | cut -c1-220; } >>"$CLOG"
    rm -f /tmp/poll-held
}

# 7. eject / close-tray; a second client refused while locked; an empty drive
c_eject_close_locked_nomedia() {
    echo 0 >/proc/sys/dev/cdrom/autoclose
    need eject close-tray info || return
    trayx; note "tray before: $OUT"
    x "$DISCREC" eject "$DEV" || bad "discrec eject exited $RC: $ERR"
    trayx; [ "$OUT" = "open medium" ] || [ "$OUT" = "open empty" ] || bad "tray not open after discrec eject (GESN: $OUT)"
    x sg_turs "$DEV"; [ "$RC" != 0 ] || bad "TEST UNIT READY passes with the tray open"
    x "$DISCREC" close-tray "$DEV" || bad "discrec close-tray exited $RC: $ERR"
    wait_ready 10 || bad "drive not ready 10 s after close-tray"
    trayx; [ "$OUT" = "closed medium" ] || bad "after close-tray GESN says '$OUT', want 'closed medium'"
    bg h7 "$DISCREC" lock "$DEV" --name Holder7 -- sleep 60; local h=$BGPID
    if wait_for 5 owner_is Holder7; then
        x "$DISCREC" eject "$DEV"
        [ "$RC" = 1 ] || bad "eject by a second client while locked exited $RC, want 1"
        has "$ERR" 'E_IMAPI_RECORDER_LOCKED (0xC0AA0210)' || bad "eject by a second client while locked: no E_IMAPI_RECORDER_LOCKED (0xC0AA0210)"
        x "$DISCREC" close-tray "$DEV"
        [ "$RC" = 1 ] || bad "close-tray by a second client while locked exited $RC, want 1"
        has "$ERR" 'E_IMAPI_RECORDER_LOCKED (0xC0AA0210)' || bad "close-tray by a second client while locked: no E_IMAPI_RECORDER_LOCKED"
        trayx; [ "$OUT" = "closed medium" ] || bad "tray moved while locked (GESN: $OUT)"
        x "$DISCREC" info "$DEV" --json || bad "info by a second client while locked exited $RC (read-only queries must keep working)"
    else
        bad "holder did not show up as owner within 5 s"
    fi
    kill -TERM "$h"; note "kill -TERM $h"; bg_wait "$h" 10
    # empty drive: the host removes the medium
    vm_eject_media >>"$CLOG" 2>&1 || { bad "host eject failed"; return; }
    trayx
    x "$DISCREC" info "$DEV" --json
    if [ "$RC" = 0 ]; then
        local m; m=$(printf '%s' "$OUT" | jq -r '.medium' 2>/dev/null)
        [ "$m" = none ] || bad "info on an empty drive: medium '$m', want none"
    elif has "$ERR" 'E_IMAPI_RECORDER_MEDIA_NO_MEDIA (0xC0AA0202)'; then
        note "info on an empty drive: E_IMAPI_RECORDER_MEDIA_NO_MEDIA"
    else
        bad "info on an empty drive exited $RC without E_IMAPI_RECORDER_MEDIA_NO_MEDIA: $ERR"
    fi
    insert "$SMALL"
}

U_OK=(setpriv --reuid=4242 --regid=4242 --groups=4243)   # in the drive's group
U_NO=(setpriv --reuid=4244 --regid=4244 --clear-groups)  # no access to the drive
DEV_MODE=""
unpriv_setup() {
    [ -n "$DEV_MODE" ] || DEV_MODE=$(stat -c '%u %g %a' "$DEV")
    chgrp 4243 "$DEV" && chmod 0660 "$DEV"
}
unpriv_restore() { set -- $DEV_MODE; chown "$1:$2" "$DEV"; chmod "$3" "$DEV"; }

# 9. an ordinary user with read-write access locks; one without is refused (permission)
c_unprivileged() {
    unpriv_setup
    x stat -c '%A %U:%G %n' "$DEV" /dev/shm
    x "${U_OK[@]}" "$DISCREC" lock "$DEV" --name 'User Job' -- id
    [ "$RC" = 0 ] || bad "user 4242 (group 4243, rw access) could not lock: exit $RC: $ERR"
    bg u1 "${U_OK[@]}" "$DISCREC" lock "$DEV" --name 'User Job' -- sleep 60; local u=$BGPID
    if wait_for 5 owner_is 'User Job'; then
        x "${U_OK[@]}" "$DISCREC" owner "$DEV"
        [ "$OUT" = 'User Job' ] || bad "owner as user 4242: '$OUT', want 'User Job'"
        x "${U_NO[@]}" "$DISCREC" owner "$DEV"
        [ "$OUT" = 'User Job' ] || bad "owner as user 4244 (no access): '$OUT', want 'User Job'"
        x "${U_OK[@]}" "$DISCREC" lock "$DEV" --name Other -- true
        [ "$RC" = 1 ] && has "$ERR" 'E_ACCESSDENIED' || bad "a second lock by the same user while held exited $RC"
    else
        bad "the unprivileged holder did not show up as owner within 5 s (root's view)"
    fi
    kill -TERM "$u"; note "kill -TERM $u"; bg_wait "$u" 10
    x "${U_NO[@]}" "$DISCREC" lock "$DEV" --name NoAccess -- true
    [ "$RC" = 77 ] || bad "user without access: lock exited $RC, want 77 (permission denied)"
    has "$ERR" 'E_ACCESSDENIED (0x80070005)' || bad "user without access: no E_ACCESSDENIED"
    has "$ERR" 'permission denied\|read-write' || bad "user without access: the error says neither 'permission denied' nor 'read-write'"
    unpriv_restore
}

# 9b. the same user with access ejects and closes the tray
c_unprivileged_eject() {
    echo 0 >/proc/sys/dev/cdrom/autoclose
    need eject close-tray || return
    unpriv_setup
    x "${U_OK[@]}" "$DISCREC" eject "$DEV" || bad "user with access: discrec eject exited $RC: $ERR"
    trayx; [ "${OUT%% *}" = open ] || bad "tray not open after the user's eject (GESN: $OUT)"
    x "${U_OK[@]}" "$DISCREC" close-tray "$DEV" || bad "user with access: discrec close-tray exited $RC: $ERR"
    wait_ready 10
    trayx; [ "$OUT" = "closed medium" ] || bad "after the user's close-tray GESN says '$OUT'"
    unpriv_restore
}

# ------------------------------------------------------------------- main --
echo "# guest kernel: $(uname -r) ($(nproc) CPU), boot to scenario: ${T_START} s uptime"
echo "# discrec: $DISCREC ($("$DISCREC" --version 2>&1 | head -n 1))"
echo "# peers: $(xorriso -version 2>/dev/null | head -n 1); $(cdrskin -version 2>/dev/null | grep -m1 -i 'cdrskin version'); $(eject --version 2>&1 | head -n 1); sg3_utils $(sg_inq -V 2>&1 | head -n 1)"
echo "# drive: $(sg_inq "$DEV" 2>/dev/null | sed -n 's/^ *\(Vendor\|Product\) identification: *//p' | tr '\n' ' ')/ small=$SMALL big=$BIG"
fatal=""
[ -x "$DISCREC" ] || fatal="no discrec binary at $DISCREC (pass --env DISCREC=...)"
[ -b "$DEV" ] || fatal="no $DEV in the guest"
[ -x "$HELPERS/uevmon" ] || fatal="no uevmon helper in $HELPERS (run.sh builds tests/vm/helpers/*.c)"
command -v jq >/dev/null || fatal="jq is missing on the host (tests/vm/fetch.sh installs it)"
[ -n "$SMALL" ] || fatal="no small ISO (boot with --iso)"
if [ -n "$fatal" ]; then echo "FAIL setup: $fatal"; echo "0 passed, 1 failed"; exit 1; fi
shared_dev_shm
wait_ready 15 || echo "# WARNING: $DEV not ready at start"

check list-info-identity c_list_info_identity
check profile-follows-media c_profile_follows_media
check mounted-force c_mounted_force
check held-blocks-peers c_held_blocks_peers
check xorriso-holds c_xorriso_holds
check handoff-xorriso c_handoff_xorriso
check sigkill-frees-for-xorriso c_sigkill_frees_for_xorriso
check polling-suspended c_polling_suspended
check eject-close-locked-nomedia c_eject_close_locked_nomedia
check unprivileged c_unprivileged
check unprivileged-eject c_unprivileged_eject

checks_summary
