#!/bin/bash
# Build the guest initramfs: busybox-static, /init (guest-init.sh) and the
# kernel modules the tier needs plus their dependencies (resolved with
# modprobe --show-depends against the extracted kernel's module tree).
# Output: $VM_CACHE/initramfs.cpio (uncompressed: no decompression under TCG).
# Run tests/vm/fetch.sh first.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -f "$VM_ENV" ] || vm_die "$VM_ENV missing: run tests/vm/fetch.sh first"
. "$VM_ENV"
vm_lock

MODULES=(virtio_pci virtio_scsi sr_mod sg isofs cdrom 9pnet_virtio 9p overlay
         ata_piix ahci loop ext4
         target_core_user tcm_loop)  # the TCMU tier (run-tcmu.sh): the emulated drive as /dev/srN
BUSYBOX=/bin/busybox
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
    { ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic' || vm_die "$BUSYBOX is not static: apt-get install busybox-static"; }

STAGE=$(mktemp -d "$VM_CACHE/initramfs.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT

mkdir -p "$STAGE"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,lib/modules/"$VM_KVER"}
cp "$BUSYBOX" "$STAGE/bin/busybox"
sed "s/@KVER@/$VM_KVER/g" "$VM_DIR/guest-init.sh" >"$STAGE/init"
chmod 755 "$STAGE/init"

MODDIR="$VM_ROOT/lib/modules/$VM_KVER"
: >"$STAGE/lib/modules/$VM_KVER/load-order"
for m in "${MODULES[@]}"; do
    modprobe -d "$VM_ROOT" -S "$VM_KVER" --show-depends "$m"
done | awk '!seen[$0]++' | while read -r kind path _; do
    case "$kind" in
        insmod)
            rel="${path#"$MODDIR"/}"
            mkdir -p "$STAGE/lib/modules/$VM_KVER/$(dirname "$rel")"
            cp "$path" "$STAGE/lib/modules/$VM_KVER/$rel"
            echo "$rel" >>"$STAGE/lib/modules/$VM_KVER/load-order"
            ;;
        builtin) ;;
        *) vm_die "unexpected modprobe output: $kind $path" ;;
    esac
done
# module metadata for the subset, so modprobe works inside the guest chroot
cp "$MODDIR"/modules.{order,builtin,builtin.modinfo} "$STAGE/lib/modules/$VM_KVER/" 2>/dev/null || true
depmod -b "$STAGE" "$VM_KVER"

(cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) >"$VM_INITRAMFS.tmp"
mv "$VM_INITRAMFS.tmp" "$VM_INITRAMFS"
vm_log "initramfs: $VM_INITRAMFS ($(du -h "$VM_INITRAMFS" | cut -f1), $(wc -l <"$STAGE/lib/modules/$VM_KVER/load-order") modules)"
