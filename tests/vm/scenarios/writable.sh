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
BIG_ISO="${WRITABLE_BIG_ISO:-/vm-results/big.iso}"
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
    # `discrec media` on the blank disc: DVD+R, blank, and the free blocks of the
    # invisible track that dvd+rw-mediainfo reports
    x dvd+rw-mediainfo "$DEV"
    local free; free=$(printf '%s\n' "$OUT" | sed -n 's/^ *Free Blocks: *\([0-9]*\)\*2KB.*/\1/p' | head -n 1)
    x "$DISCREC" media "$DEV" --json || { bad "discrec media exited $RC"; return; }
    j="$OUT"
    [ "$(hex4 "$(json_field "$j" .profile)")" = 001b ] || bad "media: profile $(json_field "$j" .profile), want DVD+R"
    [ "$(json_field "$j" '.status.flags | join(",")')" = blank ] || bad "media: status $(json_field "$j" '.status.flags'), want blank"
    note "free blocks: dvd+rw-mediainfo ${free:-?}, discrec media $(json_field "$j" .free_sectors)"
    [ -n "$free" ] && [ "$(json_field "$j" .free_sectors)" = "$free" ] || bad "media: free sectors $(json_field "$j" .free_sectors), dvd+rw-mediainfo ${free:-?}"
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
}

# ------------------------------------------------------- discrec burn --
# The image burned by the checks below that watch a burn while it runs:
# BIG_ISO (WRITABLE_BIG_MIB MiB, default 24), long enough under TCG for
# several owner queries, a SIGKILL and a SIGINT mid-write.
BURN_NAME='CI Burner'

# json_done FILE: the "done" event of a `discrec burn --json` run, or nothing
json_done() { grep '"event":"done"' "$1" 2>/dev/null | tail -n 1; }

# host_image_matches IMAGE: the host's backing file of drive 1 starts with IMAGE
# (the guest sees the host root read-only, so cmp reads it directly)
host_image_matches() {
    local path size want
    read -r path size < <(vm_host_op 'tgt-backing 1' 2>/dev/null)
    want=$(stat -c %s "$1")
    note "host backing file: $path ($size bytes), image $want bytes"
    [ -f "$path" ] || { bad "the host's backing file $path is not visible in the guest"; return 1; }
    cmp -n "$want" "$path" "$1" >>"$CLOG" 2>&1 || { bad "the host's backing file does not start with the image"; return 1; }
}

# json_field JSON FILTER: jq -r FILTER of JSON ("" when it fails)
json_field() { printf '%s' "$1" | jq -r "$2" 2>/dev/null; }

# (issue 13, scenarios 2 and 3) `discrec burn` of an ISO, verified in full: it
# reads back identical through the guest kernel (dd + cmp, mount) right after
# the burn, with no eject in between (the writer announces the new medium:
# /sys/block/srN/size already covers the image), and the host's backing file
# starts with the image.
c_burn_reads_back_without_eject() {
    fresh_disc || return
    local size sys; size=$(stat -c %s "$ISO")
    x "$DISCREC" burn "$ISO" "$DEV" -N "$BURN_NAME" --json || bad "discrec burn exited $RC: $(tail -n 3 /tmp/x.err)"
    local done; done=$(json_done /tmp/x.out)
    [ -n "$done" ] || { bad "no done event in burn --json"; return; }
    [ "$(json_field "$done" .verification)" = full ] || bad "verification is '$(json_field "$done" .verification)', want full"
    [ "$(json_field "$done" .verified_sectors)" = $((size / 2048)) ] || bad "verified $(json_field "$done" .verified_sectors) sectors, want $((size / 2048))"
    [ "$(json_field "$done" .sha256)" = "$(sha256sum "$ISO" | cut -d' ' -f1)" ] || bad "the reported sha256 is not the image's"
    sys=$(cat "/sys/block/${DEV#/dev/}/size")
    note "/sys/block/${DEV#/dev/}/size right after the burn: $sys (x512 = $((sys * 512)) bytes, image $size)"
    [ $((sys * 512)) -ge "$size" ] || bad "the kernel still sees $((sys * 512)) bytes after the burn, want >= $size (no change notification)"
    read_back
    host_image_matches "$ISO"
    x "$DISCREC" owner "$DEV"; [ -z "$OUT" ] || bad "owner after the burn is '$OUT', want empty"
}

# (issue 13, scenario 1, after the burn) `discrec media` reports what the drive
# reports: dvd+rw-mediainfo's profile and disc status.
c_media_after_burn_matches_the_drive() {
    # the disc burned by the previous check
    x dvd+rw-mediainfo "$DEV"
    local mi_status mi_profile; mi_status=$(printf '%s\n' "$OUT" | sed -n 's/^ *Disc status: *//p')
    mi_profile=$(printf '%s\n' "$OUT" | sed -n 's/^ *Mounted Media: *\([0-9A-Fa-f]*\)h.*/\1/p')
    x "$DISCREC" media "$DEV" --json || { bad "discrec media exited $RC"; return; }
    local j="$OUT" prof flags
    prof=$(hex4 "$(json_field "$j" .profile)"); flags=$(json_field "$j" '.status.flags | join(",")')
    note "dvd+rw-mediainfo: profile $mi_profile, status '$mi_status'; discrec media: profile $prof, flags $flags"
    [ "$prof" = "$(hex4 "0x$mi_profile")" ] || bad "media profile $prof, the drive says $mi_profile"
    case "$mi_status" in
        blank) has "$flags" blank || bad "the drive says blank, media says $flags" ;;
        appendable) has "$flags" appendable || bad "the drive says appendable, media says $flags" ;;
        complete) has "$flags" 'blank\|appendable' && bad "the drive says complete, media says $flags" ;;
        *) bad "unexpected disc status '$mi_status' from dvd+rw-mediainfo" ;;
    esac
    has "$flags" blank && bad "media says blank after a burn"
}

# slow_burn [OPTIONS...]: `discrec burn` of BIG_ISO in the background (pid in
# $BURN), fed through a FIFO at FEED_SECS per MiB, so that a burn under watch
# lasts long enough for the checks (tgt over iSCSI writes far faster than TCG
# can ask questions); the FIFO also proves a streamed image (--size) burns.
FEED_SECS=${WRITABLE_FEED_SECS:-0.5}
slow_burn() {
    local size; size=$(stat -c %s "$BIG_ISO")
    rm -f /tmp/feed; mkfifo /tmp/feed
    bg feed sh -c 'i=0; while [ $((i * 1048576)) -lt '"$size"' ]; do
        dd if="$1" bs=1M skip=$i count=1 status=none || exit 1; i=$((i + 1)); sleep '"$FEED_SECS"'
    done >/tmp/feed' feed "$BIG_ISO"
    bg burn "$DISCREC" burn /tmp/feed "$DEV" --size "$size" -N "$BURN_NAME" --verify none "$@"; BURN=$BGPID
}

# writing_lba: the job LBA another process sees while the burn writes ("" otherwise)
writing_lba() {
    timeout 10 "$DISCREC" owner --json "$DEV" 2>/dev/null |
        jq -r --arg n "$BURN_NAME" 'select(.owner.name == $n) | .owner.job | select(.action == "writing_data") | .lba' 2>/dev/null
}

# (issue 13, scenario 4) while `discrec burn` runs: growisofs, xorriso, cdrskin,
# mount and eject are refused, and another process's `owner --json` names the
# client and shows the job's LBA advancing.
c_burn_visible_and_exclusive() {
    fresh_disc || return
    mkdir -p /mnt/w
    slow_burn
    wait_for 20 owner_is "$BURN_NAME" || { bad "the burn did not show up as owner within 20 s"; return; }
    x growisofs -Z "$DEV=$ISO"; [ "$RC" != 0 ] || bad "growisofs -Z succeeded during the burn"
    x xorriso -as cdrecord -v -tao dev="$DEV" "$ISO"; [ "$RC" != 0 ] || bad "xorriso succeeded during the burn"
    x cdrskin -tao dev="$DEV" "$ISO"; [ "$RC" != 0 ] || bad "cdrskin succeeded during the burn"
    x mount -t iso9660 -o ro "$DEV" /mnt/w; if [ "$RC" = 0 ]; then bad "mount succeeded during the burn"; umount /mnt/w; fi
    x eject "$DEV"; [ "$RC" != 0 ] || bad "eject succeeded during the burn"
    kill -0 "$BURN" 2>/dev/null || bad "the burn ended before the refusals were all tried: make WRITABLE_FEED_SECS larger"
    local lbas="" l
    while kill -0 "$BURN" 2>/dev/null; do
        l=$(writing_lba); [ -n "$l" ] && lbas="$lbas $l"
        sleep 0.3
    done
    note "job LBAs seen by another process: $lbas"
    set -- $lbas
    [ $# -ge 2 ] || bad "fewer than two job LBAs seen while writing (got:$lbas)"
    [ $# -ge 2 ] && [ "${!#}" -gt "$1" ] || bad "the job's LBA did not advance ($lbas)"
    bg_wait "$BURN" 120 || bad "discrec burn exited $RC: $(tail -n 3 /tmp/bg.burn.err)"
}

# start_big_burn: slow_burn, returning once another process sees it writing
# (job LBA > 0)
start_big_burn() {
    slow_burn
    local l i
    for i in $(seq 1 200); do
        kill -0 "$BURN" 2>/dev/null || { bad "the burn ended before it was seen writing"; return 1; }
        l=$(writing_lba)
        [ -n "$l" ] && [ "$l" -gt 0 ] && { note "writing at LBA $l"; return 0; }
        sleep 0.1
    done
    bad "the burn was not seen writing within 20 s"; return 1
}

# (issue 13, scenario 6) SIGKILL of `discrec burn` mid-write: the drive is free
# at once for xorriso, and `discrec media` reports the medium as written to
# (not blank).
c_sigkill_mid_burn() {
    fresh_disc || return
    start_big_burn || return
    kill -KILL "$BURN"; note "kill -KILL $BURN"; bg_wait "$BURN" 10
    x xorriso -outdev "$DEV" -toc
    [ "$RC" = 0 ] || bad "xorriso could not take the drive right after the SIGKILL (exit $RC)"
    x "$DISCREC" owner "$DEV"; [ -z "$OUT" ] || bad "owner after the SIGKILL is '$OUT', want empty"
    x "$DISCREC" media "$DEV" --json || bad "discrec media exited $RC after the SIGKILL"
    local flags; flags=$(json_field "$OUT" '.status.flags | join(",")')
    note "media after the SIGKILL: $flags"
    [ -n "$flags" ] || bad "no status from discrec media"
    has "$flags" blank && bad "discrec media reports blank after a killed burn wrote sectors"
    x dvd+rw-mediainfo "$DEV"; has "$OUT" 'Disc status: *blank' && bad "dvd+rw-mediainfo reports blank after a killed burn"
}

# (issue 13, scenario 7) SIGINT mid-write cancels: E_IMAPI_REQUEST_CANCELLED,
# exit 130 (128 + SIGINT), the drive released.
c_sigint_cancels_burn() {
    fresh_disc || return
    start_big_burn || return
    kill -INT "$BURN"; note "kill -INT $BURN"; bg_wait "$BURN" 60
    [ "$RC" = 130 ] || bad "discrec burn exited $RC after SIGINT, want 130"
    has "$(cat /tmp/bg.burn.err)" 'E_IMAPI_REQUEST_CANCELLED' || bad "no E_IMAPI_REQUEST_CANCELLED on stderr: $(tail -n 2 /tmp/bg.burn.err)"
    x "$DISCREC" owner "$DEV"; [ -z "$OUT" ] || bad "owner after the cancel is '$OUT', want empty"
    x xorriso -outdev "$DEV" -toc; [ "$RC" = 0 ] || bad "xorriso could not take the drive after the cancel (exit $RC)"
}

# (issue 13, scenario 8) refusals on a real drive: an image larger than the
# free space is refused before a sector is written (the disc stays blank), and
# a disc closed by a burn refuses the next one; each with its HRESULT, exit 74.
c_burn_refusals() {
    fresh_disc || return
    truncate -s 5G /tmp/huge.iso
    x "$DISCREC" burn /tmp/huge.iso "$DEV" -N "$BURN_NAME"
    [ "$RC" = 74 ] || bad "a 5 GiB image on a DVD+R: exit $RC, want 74"
    has "$ERR" 'E_IMAPI_DF2DATA_STREAM_TOO_LARGE_FOR_CURRENT_MEDIA' || bad "no STREAM_TOO_LARGE for a 5 GiB image: $ERR"
    rm -f /tmp/huge.iso
    x dvd+rw-mediainfo "$DEV"; has "$OUT" 'Disc status: *blank' || bad "the disc is not blank after the refused oversized burn"
    x "$DISCREC" burn "$ISO" "$DEV" -N "$BURN_NAME" --close --verify quick || bad "burn --close exited $RC: $ERR"
    x "$DISCREC" burn "$ISO" "$DEV" -N "$BURN_NAME"
    [ "$RC" = 74 ] || bad "a second burn on a closed disc: exit $RC, want 74"
    has "$ERR" 'E_IMAPI_' || bad "no IMAPI HRESULT for a burn on a closed disc: $ERR"
    note "closed disc: $ERR"
}

# (issue 13, scenario 9) an unprivileged user in the device's group runs
# `discrec burn` itself.
c_unprivileged_burn() {
    fresh_disc || return
    unpriv_setup
    x env HOME=/tmp "${U_OK[@]}" "$DISCREC" burn "$ISO" "$DEV" -N 'User Burn' || bad "user 4242 (group 4243, rw access): discrec burn exited $RC: $ERR"
    unpriv_restore
    read_back
}

# ------------------------------------------------------------------- main --
fatal=""
[ -x "$DISCREC" ] || fatal="no discrec binary at $DISCREC (pass --env DISCREC=...)"
[ "${DISCREC_VM_TGT_DRIVES:-0}" -ge 1 ] || fatal="no writable drive (run.sh --tgt-drives 1)"
DEV=$(vm_tgt_dev 1 20) || fatal="writable drive 1 did not appear in the guest (no sr device at scsi-id 1)"
[ -f "$ISO" ] || fatal="no image $ISO"
[ -f "$BIG_ISO" ] || fatal="no image $BIG_ISO"
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
check burn-reads-back-without-eject c_burn_reads_back_without_eject
check media-after-burn-matches-the-drive c_media_after_burn_matches_the_drive
check burn-visible-and-exclusive c_burn_visible_and_exclusive
check sigkill-mid-burn c_sigkill_mid_burn
check sigint-cancels-burn c_sigint_cancels_burn
check burn-refusals c_burn_refusals
check unprivileged-burn c_unprivileged_burn

checks_summary
