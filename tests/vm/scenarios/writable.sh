#!/bin/bash
# Writable tier: discrec against a real kernel /dev/srN that can BURN (a blank
# DVD+R emulated by the host's tgt, attached through QEMU's iSCSI initiator as
# scsi-generic) and the real burners (growisofs, xorriso, cdrskin), in ONE
# guest boot. Run it through tests/vm/run-writable.sh, which builds discrec,
# makes the image and boots the guest with `run.sh --tgt-drives 1`:
#   tests/vm/run-writable.sh                                  # cargo build + run
#   DISCREC=/path/to/discrec tests/vm/run-writable.sh         # a given binary
#
# Needs (from run-writable.sh): WRITABLE_ISO = the image to burn (a few MiB,
# with hello.txt at its root), DISCREC = the binary, writable drive 1.
# Every burn goes to a fresh blank disc (vm_tgt_new_disc: guest ejects, the
# host points the LUN at a new empty file, guest closes the tray).
#
# Prints "PASS name" or "FAIL name: why" (then the commands it ran with their
# output) for every check, a timing block, and last exactly "N passed, M failed".
# Exit status: 0 if every check passed, 1 otherwise.
set -u

DISCREC="${DISCREC:-${DISCREC_VM_REPO:-}/target/release/discrec}"
ISO="${WRITABLE_ISO:-/vm-results/image.iso}"
. "$DISCREC_VM_LIB"

CLOG=/tmp/writable-check.log CHECK_VERBOSE=${WRITABLE_VERBOSE:-0} X_TIMEOUT=120
# shellcheck source=checks.sh
. "$(dirname "$DISCREC_VM_LIB")/scenarios/checks.sh"
DISC_USED=1   # the disc in the drive has been written to (or may have been): take a new one

# ---------------------------------------------------------------- helpers --

# fresh_disc: a new blank DVD+R in drive 1 (unless the current one is untouched)
fresh_disc() {
    if [ "$DISC_USED" = 1 ]; then
        vm_tgt_new_disc 1 >>"$CLOG" 2>&1 || { bad "could not put a new blank disc in drive 1"; return 1; }
        note "new blank disc: $(vm_host_op 'tgt-backing 1' 2>&1)"
    fi
    DISC_USED=1
}

# disc_status: dvd+rw-mediainfo's "Disc status" (blank / complete / appendable)
disc_status() { dvd+rw-mediainfo "$DEV" 2>/dev/null | sed -n 's/^ *Disc status: *//p'; }

# read_back: the drive's content through the guest kernel equals the image, and
# the iso9660 on it mounts and carries hello.txt
read_back() {
    local size; size=$(stat -c %s "$ISO")
    blockdev --flushbufs "$DEV" 2>/dev/null
    x blockdev --getsize64 "$DEV"; note "kernel size of $DEV: $OUT bytes (image: $size)"
    if x sh -c "dd if='$DEV' bs=1M count=$size iflag=count_bytes status=none | cmp - '$ISO'"; then
        note "dd + cmp: the first $size bytes of $DEV equal the image"
    else
        bad "read back through $DEV differs from the image (dd + cmp: $OUT $ERR)"
    fi
    mkdir -p /mnt/w
    if x mount -t iso9660 -o ro "$DEV" /mnt/w; then
        cmp /mnt/w/hello.txt "$HELLO" >>"$CLOG" 2>&1 || bad "hello.txt on the mounted disc differs"
        x umount /mnt/w
    else
        bad "mount -t iso9660 $DEV failed after the burn"
    fi
}

# settle: nothing mounted, tray closed, drive ready
settle() {
    mountpoint -q /mnt/w 2>/dev/null && umount /mnt/w 2>/dev/null
    ready && return 0
    eject -t "$DEV" >/dev/null 2>&1
    vm_tgt_ready "$DEV" 10 || echo "# WARNING: $DEV not ready after settling"
}

# ----------------------------------------------------------------- checks --

# (issue 13, scenario 1) `discrec info` on the blank disc agrees with sg_get_config
# and dvd+rw-mediainfo: DVD+R (0x001B) current, the same profiles and features.
c_info_blank_dvdr() {
    fresh_disc || return
    DISC_USED=0   # only read here: the next check may burn this disc
    x sg_get_config "$DEV"; cp /tmp/x.out /tmp/sgc.txt
    local sgp sgf; sgp=$(sgc_profiles); sgf=$(sgc_features_current)
    note "sg_get_config profiles: $(echo $sgp) / features: $(echo $sgf)"
    echo "$sgp" | grep -q '^001b DVD+R true$' || bad "premise: sg_get_config does not show DVD+R current"
    x dvd+rw-mediainfo "$DEV"
    local mm ds
    mm=$(printf '%s\n' "$OUT" | sed -n 's/^ *Mounted Media: *\([0-9A-Fa-f]*\)h.*/\1/p')
    ds=$(printf '%s\n' "$OUT" | sed -n 's/^ *Disc status: *//p')
    note "dvd+rw-mediainfo: mounted media ${mm}h, disc status '$ds'"
    [ "$(hex4 "0x${mm:-0}")" = 001b ] || bad "premise: dvd+rw-mediainfo mounted media is '${mm}h', not 1Bh"
    [ "$ds" = blank ] || bad "premise: dvd+rw-mediainfo disc status '$ds', not blank"
    x "$DISCREC" info "$DEV" --json || { bad "discrec info $DEV --json exited $RC: $ERR"; return; }
    local j="$OUT" prof feat c cur
    printf '%s' "$j" | jq -e . >/dev/null 2>&1 || { bad "discrec info --json: not JSON"; return; }
    prof=$(info_profiles "$j"); feat=$(info_features_current "$j")
    note "discrec profiles: $(echo $prof) / features: $(echo $feat)"
    echo "$prof" | grep -q '^001b DVD+R true$' || bad "discrec info: profile 0x001B DVD+R missing or not current"
    [ "$(echo "$prof" | grep -c ' true$')" = 1 ] || bad "discrec info: not exactly one current profile"
    [ "$(echo "$prof" | awk '$3 == "true" {print $1}')" = "$(hex4 "0x${mm:-0}")" ] ||
        bad "discrec's current profile differs from dvd+rw-mediainfo's mounted media ${mm}h"
    while read -r c _ cur; do
        [ -n "$c" ] || continue
        echo "$prof" | grep -q "^$c .* $cur\$" || bad "profile 0x$c current=$cur (sg_get_config) not in discrec's profiles"
    done <<<"$sgp"
    [ "$(echo "$prof" | wc -l)" = "$(echo "$sgp" | wc -l)" ] || bad "discrec lists $(echo "$prof" | wc -l) profiles, sg_get_config $(echo "$sgp" | wc -l)"
    while read -r c cur; do
        [ -n "$c" ] || continue
        echo "$feat" | grep -qx "$c $cur" || bad "feature 0x$c current=$cur (sg_get_config) not in discrec's features"
    done <<<"$sgf"
    echo "$feat" | grep -qx '002b true' || bad "discrec info: feature 0x002B DVD+R not current"
    [ "$(printf '%s' "$j" | jq -r .medium)" = ready ] || bad "discrec info: medium '$(printf '%s' "$j" | jq -r .medium)', want ready"
    # PLACEHOLDER (issue 13, scenario 1, needs `discrec media`): `discrec media --json` on
    # this blank disc = sg_get_config/dvd+rw-mediainfo: profile DVD+R, blank, capacity
    # (dvd+rw-mediainfo's "Free Blocks" / READ CAPACITY of the track); after a burn,
    # what the drive reports (DVD-ROM, complete).
}

# handoff_burn NAME CMD...: on a fresh disc, `discrec lock --handoff -- CMD` burns the
# image; meanwhile another process's `discrec owner` names 'Handoff Job'; read back.
handoff_burn() {
    local tool="$1" hp seen=0 t0; shift
    fresh_disc || return
    t0=$(now)
    bg burn "$DISCREC" lock "$DEV" --name 'Handoff Job' --handoff -- "$@"; hp=$BGPID
    while kill -0 "$hp" 2>/dev/null; do
        if owner_is 'Handoff Job'; then seen=$((seen + 1)); [ $seen = 1 ] && note "owner = 'Handoff Job' at t=$(now)"; fi
        sleep 0.5
    done
    bg_wait "$hp" 5 || bad "lock --handoff -- $tool exited $RC"
    note "$tool: $(echo "$(now) $t0" | awk '{printf "%.1f", $1 - $2}') s; owner named 'Handoff Job' $seen time(s)"
    [ $seen -gt 0 ] || bad "another process's 'discrec owner' never named 'Handoff Job' during the $tool burn"
    x "$DISCREC" owner "$DEV"; [ -z "$OUT" ] || bad "owner after the burn is '$OUT', want empty"
    x dvd+rw-mediainfo "$DEV"
    has "$OUT" 'Disc status: *blank' && bad "dvd+rw-mediainfo still says blank after the $tool burn"
    # libburn tools leave the kernel with the old (2048-byte) view: reload the tray
    case "$tool" in
        growisofs) ;;   # it reloads the tray itself
        *) x eject "$DEV" || bad "eject after $tool failed"
           x eject -t "$DEV" || bad "eject -t after $tool failed"
           vm_tgt_ready "$DEV" 20 || bad "$DEV not ready after the tray reload" ;;
    esac
    read_back
}

# (issue 13, scenario 5) hand-off burns with the three peers
c_handoff_growisofs() { handoff_burn growisofs growisofs -Z "$DEV=$ISO"; }
c_handoff_xorriso() { handoff_burn xorriso xorriso -as cdrecord -v -tao dev="$DEV" "$ISO"; }
c_handoff_cdrskin() { handoff_burn cdrskin cdrskin -tao dev="$DEV" "$ISO"; }

# (c) while `discrec lock` (no hand-off) holds the writable drive, the burners,
# mount and eject are refused, and the disc stays blank.
c_held_refuses_burners() {
    fresh_disc || return
    mkdir -p /mnt/w
    bg holder "$DISCREC" lock "$DEV" --name Holder -- sleep 100; local h=$BGPID
    wait_for 5 owner_is Holder || { bad "holder did not show up as owner within 5 s"; return; }
    x growisofs -Z "$DEV=$ISO"
    [ "$RC" != 0 ] || bad "growisofs -Z succeeded while held"
    has "$OUT$ERR" 'O_EXCL\|busy' || bad "growisofs did not fail for a busy device"
    x xorriso -as cdrecord -v -tao dev="$DEV" "$ISO"
    [ "$RC" != 0 ] || bad "xorriso -as cdrecord -tao succeeded while held"
    has "$OUT$ERR" 'busy' || bad "xorriso did not report a busy device"
    x cdrskin -tao dev="$DEV" "$ISO"
    [ "$RC" != 0 ] || bad "cdrskin -tao succeeded while held"
    has "$OUT$ERR" 'busy' || bad "cdrskin did not report a busy device"
    x mount -t iso9660 -o ro "$DEV" /mnt/w
    if [ "$RC" = 0 ]; then bad "mount succeeded while held"; umount /mnt/w; fi
    x eject "$DEV"
    if [ "$RC" = 0 ]; then bad "eject succeeded while held"; eject -t "$DEV"; fi
    has "$ERR" 'busy' || bad "eject did not fail for a busy device"
    owner_is Holder || bad "the holder lost the drive"
    kill -TERM "$h"; note "kill -TERM $h"; bg_wait "$h" 10
    x "$DISCREC" owner "$DEV"; [ -z "$OUT" ] || bad "owner after release is '$OUT', want empty"
    x dvd+rw-mediainfo "$DEV"
    if has "$OUT" 'Disc status: *blank'; then DISC_USED=0; else bad "the disc is no longer blank after the refused burners"; fi
    # PLACEHOLDER (issue 13, scenario 4, needs `discrec burn`): the same refusals while
    # `discrec burn` (not `lock`) runs, plus `discrec owner --json` from another process
    # showing the client and an advancing job LBA.
}

# (d) an unprivileged user in the device's group burns through the hand-off
U_OK=(setpriv --reuid=4242 --regid=4242 --groups=4243)
DEV_MODE=""
unpriv_setup() {
    [ -n "$DEV_MODE" ] || DEV_MODE=$(stat -c '%u %g %a' "$DEV")
    chgrp 4243 "$DEV" && chmod 0660 "$DEV"
}
unpriv_restore() { set -- $DEV_MODE; chown "$1:$2" "$DEV"; chmod "$3" "$DEV"; }
c_unprivileged_handoff_burn() {
    fresh_disc || return
    unpriv_setup
    x stat -c '%A %U:%G %n' "$DEV" "$ISO"
    local hp seen=0
    bg ub env HOME=/tmp "${U_OK[@]}" "$DISCREC" lock "$DEV" --name 'User Burn' --handoff -- growisofs -Z "$DEV=$ISO"; hp=$BGPID
    while kill -0 "$hp" 2>/dev/null; do
        owner_is 'User Burn' && seen=$((seen + 1))
        sleep 0.5
    done
    bg_wait "$hp" 5 || bad "user 4242 (group 4243, rw access): lock --handoff -- growisofs exited $RC"
    [ $seen -gt 0 ] || bad "owner never named 'User Burn' during the user's burn"
    unpriv_restore
    read_back
    # PLACEHOLDER (issue 13, scenario 9, needs `discrec burn`): the same user runs
    # `discrec burn` directly.
}

# PLACEHOLDER (issue 13, scenario 2, needs `discrec burn`): `discrec burn DEV image.iso`;
# dd + cmp and mount through the guest kernel; the host's backing file starts with the
# image (vm_host_op "tgt-backing 1" gives its host path and size: the guest sees the
# host root read-only, so `cmp -n SIZE` against that path works); verification passed.
# PLACEHOLDER (issue 13, scenario 3, needs `discrec burn`): the new medium is visible
# without an eject: /sys/block/srN/size and a mount right after the burn.
# PLACEHOLDER (issue 13, scenario 6, needs `discrec burn` + `discrec media`): SIGKILL of
# `discrec burn` mid-write; xorriso gets the drive at once; `discrec media` reports an
# incomplete track/session, not "blank".
# PLACEHOLDER (issue 13, scenario 7, needs `discrec burn`): SIGINT mid-write gives
# E_IMAPI_REQUEST_CANCELLED and releases the drive.
# PLACEHOLDER (issue 13, scenario 8, needs `discrec burn`): refusals on a real drive:
# burning to a closed disc (burn, then burn again without a new disc), an image larger
# than the free space (a sparse image > dvd+rw-mediainfo's free blocks).

# ------------------------------------------------------------------- main --
fatal=""
[ -x "$DISCREC" ] || fatal="no discrec binary at $DISCREC (pass --env DISCREC=...)"
[ "${DISCREC_VM_TGT_DRIVES:-0}" -ge 1 ] || fatal="no writable drive (run.sh --tgt-drives 1)"
DEV=$(vm_tgt_dev 1 20) || fatal="writable drive 1 did not appear in the guest (no sr device at scsi-id 1)"
[ -f "$ISO" ] || fatal="no image $ISO"
HELLO=/tmp/hello.txt
xorriso -osirrox on -indev "$ISO" -extract /hello.txt "$HELLO" >/dev/null 2>&1 || fatal="cannot extract hello.txt from $ISO"
for t in jq growisofs xorriso cdrskin dvd+rw-mediainfo sg_get_config setpriv; do
    command -v "$t" >/dev/null || fatal="$t is missing on the host (tests/vm/fetch.sh installs it)"
done
echo "# guest kernel: $(uname -r) ($(nproc) CPU), boot to scenario: ${T_START} s uptime"
echo "# discrec: $DISCREC ($("$DISCREC" --version 2>&1 | head -n 1))"
echo "# writable drive 1: ${DEV:-?} = $(sg_inq "${DEV:-/nonexistent}" 2>/dev/null | sed -n 's/^ *\(Vendor\|Product\) identification: *//p' | tr '\n' ' ')(tgt via iSCSI, scsi-generic); image $ISO ($(stat -c %s "$ISO" 2>/dev/null) bytes)"
echo "# peers: $(growisofs -version 2>&1 | head -n 1); $(xorriso -version 2>/dev/null | head -n 1); $(cdrskin -version 2>/dev/null | grep -m1 -i 'cdrskin version')"
if [ -n "$fatal" ]; then echo "FAIL setup: $fatal"; echo "0 passed, 1 failed"; exit 1; fi
shared_dev_shm
vm_tgt_ready "$DEV" 20 || echo "# WARNING: $DEV not ready at start"
DISC_USED=0   # blank at boot

check info-blank-dvdr c_info_blank_dvdr
check held-refuses-burners c_held_refuses_burners
check handoff-growisofs c_handoff_growisofs
check handoff-xorriso-cdrecord-tao c_handoff_xorriso
check handoff-cdrskin-tao c_handoff_cdrskin
check unprivileged-handoff-burn c_unprivileged_handoff_burn

checks_summary
