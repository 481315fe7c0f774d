#!/bin/bash
# Fetch everything the QEMU guest test tier needs (idempotent; run as root).
#
#  * apt-get download (not install!) qemu-system-x86, qemu-system-common,
#    qemu-system-data, seabios and the generic Debian kernel
#    linux-image-<ver>-amd64, then dpkg-deb -x them into $VM_ROOT.
#    qemu-system-x86 must not be installed system-wide: on these machines
#    that would remove the backported qemu-utils.
#  * apt-get install QEMU's runtime libraries, busybox-static, kmod, cpio,
#    socat and the peer tools the scenarios run inside the guest from the
#    host root (xorriso cdrskin wodim growisofs eject sg3-utils genisoimage).
#  * the writable drive (tests/vm/tgt.sh): apt-get install tgt (the SCSI
#    target daemon that emulates a DVD+R recorder), libiscsi7 and
#    libiscsi-bin (+ dvd+rw-tools: dvd+rw-mediainfo); apt-get download qemu-block-extra of EXACTLY the version of
#    the cached qemu-system-x86 (not installed: its Depends pin QEMU packages)
#    and extract it into $VM_ROOT too, so QEMU_MODULE_DIR=$VM_ROOT/usr/lib/
#    x86_64-linux-gnu/qemu gives the extracted QEMU its iSCSI initiator.
#  * extract an uncompressed vmlinux (PVH boot, ~2x faster under TCG) from
#    the vmlinuz; fall back to the bzImage.
#
# Environment:
#   DISCREC_VM_CACHE       cache dir (default /var/cache/discrecorder-vm)
#   DISCREC_VM_KERNEL_PKG  kernel package (default: what linux-image-amd64 depends on)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || vm_die "fetch.sh must run as root (apt-get)"
vm_lock
export DEBIAN_FRONTEND=noninteractive

APT_UPDATED=0
apt_update_once() {
    if [ "$APT_UPDATED" = 0 ]; then
        vm_log "apt-get update"
        timeout 300 apt-get update -qq >&2
        APT_UPDATED=1
    fi
}

# Host packages. QEMU's runtime libraries first (list from the measured notes;
# anything else ldd reports missing is resolved below from the deb's Depends).
HOST_PKGS=(libcapstone4 libfdt1 libpmem1 librdmacm1 libibverbs1 libslirp0 libvdeplug2
           busybox-static kmod cpio socat xz-utils zstd gcc libc6-dev
           xorriso cdrskin wodim growisofs eject sg3-utils genisoimage jq
           tgt libiscsi7 libiscsi-bin dvd+rw-tools)

missing_pkgs() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
    done
}

apt_install() {
    local need
    need=$(missing_pkgs "$@")
    [ -n "$need" ] || return 0
    vm_log "apt-get install $(echo $need)"
    # shellcheck disable=SC2086
    if ! timeout 600 apt-get install -y -qq --no-install-recommends $need >&2; then
        apt_update_once
        # shellcheck disable=SC2086
        timeout 600 apt-get install -y -qq --no-install-recommends $need >&2
    fi
}

apt_install "${HOST_PKGS[@]}"

# Which kernel? The generic flavour (cloud-amd64 lacks 9p and AHCI).
KPKG="${DISCREC_VM_KERNEL_PKG:-}"
if [ -z "$KPKG" ] && [ -f "$VM_ENV" ]; then
    KPKG=$(. "$VM_ENV"; echo "${VM_KERNEL_PKG:-}")
fi
if [ -z "$KPKG" ]; then
    pick_kernel() {
        apt-cache depends linux-image-amd64 2>/dev/null |
            sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | grep -v cloud | head -n1
    }
    KPKG=$(pick_kernel || true)
    if [ -z "$KPKG" ]; then apt_update_once; KPKG=$(pick_kernel || true); fi
    [ -n "$KPKG" ] || vm_die "cannot determine the kernel package (apt-cache depends linux-image-amd64)"
fi
case "$KPKG" in *cloud*) vm_die "$KPKG: the cloud kernel lacks 9p/AHCI; use the generic -amd64 one";; esac

DEB_PKGS=(qemu-system-x86 qemu-system-common qemu-system-data seabios "$KPKG")

mkdir -p "$VM_DEBS" "$VM_ROOT"
# let apt's sandbox user write there (avoids the "unsandboxed" warning)
id _apt >/dev/null 2>&1 && chown _apt "$VM_DEBS" 2>/dev/null || true
have_deb() { compgen -G "$VM_DEBS/${1}_*.deb" >/dev/null; }
for p in "${DEB_PKGS[@]}"; do
    if ! have_deb "$p"; then
        vm_log "apt-get download $p"
        if ! (cd "$VM_DEBS" && timeout 600 apt-get download -q "$p" >&2); then
            apt_update_once
            (cd "$VM_DEBS" && timeout 600 apt-get download -q "$p" >&2)
        fi
    fi
done

# QEMU's iSCSI block module: qemu-block-extra of exactly the cached QEMU's
# version (a module of another build is refused by QEMU).
QEMU_DEB_VER=$(dpkg-deb -f "$(ls "$VM_DEBS"/qemu-system-x86_*.deb | head -n1)" Version)
if ! compgen -G "$VM_DEBS/qemu-block-extra_$(printf '%s' "$QEMU_DEB_VER" | sed 's/:/%3a/')_*.deb" >/dev/null; then
    rm -f "$VM_DEBS"/qemu-block-extra_*.deb "$VM_ROOT"/.extracted.qemu-block-extra_*
    vm_log "apt-get download qemu-block-extra=$QEMU_DEB_VER"
    if ! (cd "$VM_DEBS" && timeout 600 apt-get download -q "qemu-block-extra=$QEMU_DEB_VER" >&2); then
        apt_update_once
        (cd "$VM_DEBS" && timeout 600 apt-get download -q "qemu-block-extra=$QEMU_DEB_VER" >&2) ||
            vm_die "cannot download qemu-block-extra=$QEMU_DEB_VER (the cached QEMU's version); delete $VM_CACHE to refetch both"
    fi
fi

# Extract (marker per deb so a re-run is a no-op).
for deb in "$VM_DEBS"/*.deb; do
    mark="$VM_ROOT/.extracted.$(basename "$deb")"
    if [ ! -e "$mark" ]; then
        vm_log "dpkg-deb -x $(basename "$deb")"
        dpkg-deb -x "$deb" "$VM_ROOT"
        touch "$mark"
    fi
done

QEMU="$VM_ROOT/usr/bin/qemu-system-x86_64"
[ -x "$QEMU" ] || vm_die "missing $QEMU after extraction"

# Libraries the extracted QEMU still misses: install the lib* packages of its Depends.
if LC_ALL=C ldd "$QEMU" | grep -q 'not found'; then
    deps=$(dpkg-deb -f "$(ls "$VM_DEBS"/qemu-system-x86_*.deb | head -n1)" Depends |
        tr ',|' '\n\n' | sed 's/(.*)//; s/:any//; s/^ *//; s/ *$//' | grep '^lib' | sort -u)
    # shellcheck disable=SC2086
    apt_install $deps
    if LC_ALL=C ldd "$QEMU" | grep 'not found' >&2; then
        vm_die "the extracted QEMU still misses the libraries above"
    fi
fi

# The iSCSI module and what it links (libiscsi7).
QEMU_MODULE_DIR="$VM_ROOT/usr/lib/x86_64-linux-gnu/qemu"
[ -f "$QEMU_MODULE_DIR/block-iscsi.so" ] || vm_die "no $QEMU_MODULE_DIR/block-iscsi.so after extracting qemu-block-extra"
if LC_ALL=C ldd "$QEMU_MODULE_DIR/block-iscsi.so" | grep 'not found' >&2; then
    vm_die "QEMU's iSCSI module misses the libraries above (apt-get install libiscsi7)"
fi
command -v tgtd >/dev/null && command -v tgtadm >/dev/null || vm_die "tgtd/tgtadm missing after apt-get install tgt"

# Kernel version and module dependency data.
KVER=$(ls "$VM_ROOT/lib/modules" | grep -- '-amd64$' | grep -v cloud | sort -V | tail -n1)
[ -n "$KVER" ] || vm_die "no kernel modules under $VM_ROOT/lib/modules"
VMLINUZ="$VM_ROOT/boot/vmlinuz-$KVER"
[ -f "$VMLINUZ" ] || vm_die "missing $VMLINUZ"
if [ ! -s "$VM_ROOT/lib/modules/$KVER/modules.dep" ] ||
   [ "$VM_ROOT/lib/modules/$KVER/modules.dep" -ot "$VMLINUZ" ]; then
    vm_log "depmod $KVER"
    depmod -b "$VM_ROOT" "$KVER"
fi

# Uncompressed vmlinux for PVH boot (the approach of the kernel's
# scripts/extract-vmlinux: find a compression magic, decompress from there,
# keep the first result that is an ELF with the Xen PVH entry note).
VMLINUX="$VM_CACHE/vmlinux-$KVER"
is_pvh_elf() {
    readelf -h "$1" >/dev/null 2>&1 || return 1
    # XEN_ELFNOTE_PHYS32_ENTRY = 0x12
    LC_ALL=C readelf -n "$1" 2>/dev/null | grep -q '^ *Xen .*(0x00000012)'
}
extract_vmlinux() {
    local img="$1" out="$2" tmp="$2.tmp" magic cmd off
    local -a tries=(
        '\xfd\x37\x7a\x58\x5a\x00|xz -dc'
        '\x28\xb5\x2f\xfd|zstd -dcq'
        '\x1f\x8b\x08|gzip -dc'
        '\x02\x21\x4c\x18|lz4 -dc'
        '\x42\x5a\x68|bzip2 -dc'
        '\x5d\x00\x00\x00|xz -dc --format=lzma'
    )
    for t in "${tries[@]}"; do
        magic="${t%%|*}"; cmd="${t#*|}"
        command -v "${cmd%% *}" >/dev/null || continue
        for off in $(LC_ALL=C grep -obUaP "$magic" "$img" | cut -d: -f1 | head -n 5); do
            tail -c +"$((off + 1))" "$img" | $cmd >"$tmp" 2>/dev/null || true
            if is_pvh_elf "$tmp"; then mv "$tmp" "$out"; return 0; fi
        done
    done
    rm -f "$tmp"
    return 1
}
KERNEL="$VMLINUZ"
BOOT=bzimage
if [ -s "$VMLINUX" ] && is_pvh_elf "$VMLINUX"; then
    KERNEL="$VMLINUX"; BOOT=pvh
elif [ "${DISCREC_VM_NO_PVH:-0}" != 1 ]; then
    vm_log "extracting vmlinux from $(basename "$VMLINUZ")"
    if extract_vmlinux "$VMLINUZ" "$VMLINUX"; then
        KERNEL="$VMLINUX"; BOOT=pvh
    else
        vm_log "could not extract a PVH vmlinux; booting the bzImage (slower)"
    fi
fi

vm_build_helpers

QEMU_VERSION=$("$QEMU" --version | head -n1)
cat >"$VM_ENV.tmp" <<EOF
# written by tests/vm/fetch.sh
VM_KERNEL_PKG=$KPKG
VM_KVER=$KVER
VM_KERNEL=$KERNEL
VM_BOOT=$BOOT
VM_QEMU=$QEMU
VM_QEMU_VERSION="$QEMU_VERSION"
VM_QEMU_MODULE_DIR=$QEMU_MODULE_DIR
EOF
mv "$VM_ENV.tmp" "$VM_ENV"
vm_log "ready: $QEMU_VERSION; kernel $KVER ($BOOT: $KERNEL); cache $VM_CACHE ($(du -sh "$VM_CACHE" | cut -f1))"
