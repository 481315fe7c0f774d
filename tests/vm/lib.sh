# Shared settings for the QEMU guest test tier (sourced by fetch.sh,
# build-initramfs.sh, run.sh, capture-fixtures.sh). Host side only.

VM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VM_REPO="$(cd "$VM_DIR/../.." && pwd)"
VM_CACHE="${DISCREC_VM_CACHE:-/var/cache/discrecorder-vm}"
VM_DEBS="$VM_CACHE/debs"        # downloaded .deb files
VM_ROOT="$VM_CACHE/root"        # dpkg-deb -x target (qemu, seabios, kernel, modules)
VM_ENV="$VM_CACHE/vm.env"       # written by fetch.sh: VM_KVER, VM_KERNEL, VM_QEMU, ...
VM_INITRAMFS="$VM_CACHE/initramfs.cpio"

vm_log() { printf 'discrec-vm: %s\n' "$*" >&2; }
vm_die() { printf 'discrec-vm: ERROR: %s\n' "$1" >&2; exit "${2:-1}"; }

# Serialise fetch/build steps between concurrent runs.
vm_lock() {
    mkdir -p "$VM_CACHE"
    exec 9>"$VM_CACHE/.lock"
    flock 9
}

# Build the small C helpers (tests/vm/helpers/*.c) into $VM_CACHE/bin.
VM_BIN="$VM_CACHE/bin"
vm_build_helpers() {
    local src out
    mkdir -p "$VM_BIN"
    for src in "$VM_DIR"/helpers/*.c; do
        out="$VM_BIN/$(basename "$src" .c)"
        if [ ! -x "$out" ] || [ "$src" -nt "$out" ]; then
            command -v gcc >/dev/null || vm_die "gcc is needed to build $src (apt-get install gcc libc6-dev)"
            gcc -O2 -Wall -Wextra -o "$out.tmp" "$src" && mv "$out.tmp" "$out" || vm_die "cannot build $src"
        fi
    done
}
