#!/bin/bash
# Guest half of tests/vm/capture-fixtures.sh (do not run directly).
# Boots with an EMPTY drive (tray closed, no medium): captures the no-medium
# responses; then asks the host to insert /vm-results/fixture.iso and
# captures the rest. Everything lands in /vm-results/fixtures/ with a
# manifest.tsv: file, CDB, sgio exit, bytes, SG_IO status line, sg_raw agreement, sg_raw status text.
set -uo pipefail
. "$DISCREC_VM_LIB"
OUT=/vm-results/fixtures
DEV=/dev/sr0
mkdir -p "$OUT"
printf 'file\tcdb\tsgio_exit\tbytes\tsgio\tsg_raw_agrees\tsg_raw_status\n' >"$OUT/manifest.tsv"
echo 0 >/proc/sys/dev/cdrom/autoclose

# raw NAME ALLOC CDB-bytes...
# Data-in goes to NAME, exactly as many bytes as the device transferred
# (sgio helper: allocation length minus SG_IO resid; QEMU's scsi-cd reports
# resid 0 and zero-pads to the allocation length); nothing if the command
# failed. The sense data, if any, goes to NAME.sense. sg_raw (sg3-utils) then repeats the command for its
# human-readable status/sense decoding (NAME.log) and, where the answer is
# stable, confirms the bytes ("sg_raw agrees": its data, which is always
# ALLOC bytes long, starts with NAME's bytes).
SGIO="$DISCREC_VM_SGIO"
raw() {
    local name="$1" alloc="$2"; shift 2
    local rc=0 bytes=0 line st agree=-
    rm -f "$OUT/$name" "$OUT/$name.sense"
    line=$("$SGIO" -r "$alloc" -o "$OUT/$name" -s "$OUT/$name.sense" "$DEV" "$@") || rc=$?
    # no data file for a command the drive rejected
    [ "$rc" = 0 ] || rm -f "$OUT/$name"
    [ -f "$OUT/$name" ] && bytes=$(stat -c %s "$OUT/$name")
    sg_raw -v -r "$alloc" -o /tmp/sg_raw.bin "$DEV" "$@" >"$OUT/$name.log" 2>&1 || true
    if [ "$bytes" != 0 ] && [ -f /tmp/sg_raw.bin ]; then
        if cmp -s -n "$bytes" "$OUT/$name" /tmp/sg_raw.bin; then agree=yes; else agree=no; fi
    fi
    rm -f /tmp/sg_raw.bin
    st=$(grep -E -i 'SCSI Status|Sense key|Additional sense' "$OUT/$name.log" |
        sed 's/^ *//' | tr '\n' ' ' | sed 's/ *$//')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$*" "$rc" "$bytes" "$line" "$agree" "$st" >>"$OUT/manifest.tsv"
    echo "$name: exit $rc, $bytes bytes; $line; sg_raw agrees: $agree; $st"
}

echo "== empty drive"
vm_wait_dev $DEV 10
raw tur_no_medium.bin 0 00 00 00 00 00 00
raw sense_no_medium.bin 18 03 00 00 00 12 00
raw gesn_media_empty.bin 8 4a 01 00 00 10 00 00 00 08 00
raw get_configuration_rt0_empty.bin 65530 46 00 00 00 00 00 00 ff fa 00
sg_get_config "$DEV" >"$OUT/sg_get_config_empty.txt" 2>&1 || true

echo "== inserting the ISO (host: change cd0 ... raw)"
vm_change_media /vm-results/fixture.iso || exit 1
# The first commands after a change report UNIT ATTENTION (medium may have changed).
raw tur_after_change.bin 0 00 00 00 00 00 00
for i in $(seq 1 20); do sg_turs "$DEV" >/dev/null 2>&1 && break; sleep 0.2; done
sg_turs "$DEV" || { echo "drive not ready after the media change" >&2; exit 1; }

echo "== ISO in the drive"
raw inquiry.bin 96 12 00 00 00 60 00
raw vpd00.bin 255 12 01 00 00 ff 00
raw vpd80.bin 255 12 01 80 00 ff 00
raw vpd83.bin 255 12 01 83 00 ff 00
raw get_configuration_rt0.bin 65530 46 00 00 00 00 00 00 ff fa 00
raw get_configuration_rt1.bin 65530 46 01 00 00 00 00 00 ff fa 00
raw get_configuration_rt2_0003.bin 65530 46 02 00 03 00 00 00 ff fa 00
raw mode_sense10_3f.bin 65530 5a 08 3f 00 00 00 00 ff fa 00
raw gesn_media.bin 8 4a 01 00 00 10 00 00 00 08 00
# extras: often needed next to the above
raw read_capacity.bin 8 25 00 00 00 00 00 00 00 00 00
raw read_disc_information.bin 34 51 00 00 00 00 00 00 00 22 00
raw read_toc_f0.bin 65530 43 00 00 00 00 00 00 ff fa 00
raw read_track_information_1.bin 36 52 01 00 00 00 01 00 00 24 00

sg_inq "$DEV" >"$OUT/sg_inq.txt" 2>&1 || true
sg_inq -p 0x00 "$DEV" >"$OUT/sg_inq_vpd00.txt" 2>&1 || true
sg_inq -p 0x83 "$DEV" >"$OUT/sg_inq_vpd83.txt" 2>&1 || true
sg_get_config "$DEV" >"$OUT/sg_get_config.txt" 2>&1 || true
sg_get_config -c "$DEV" >"$OUT/sg_get_config_current.txt" 2>&1 || true
sg_get_config -v --rt=2 --starting=3 "$DEV" >"$OUT/sg_get_config_rt2_0003.txt" 2>&1 || true
{ sg_inq -V; sg_raw -V; } >"$OUT/sg3_utils_version.txt" 2>&1 || true
uname -r >"$OUT/guest_kernel.txt"
echo "capture done"
