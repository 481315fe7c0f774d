# shellcheck shell=bash
# Shared settings for the QEMU guest test tier (sourced by fetch.sh,
# build-initramfs.sh, run.sh, capture-fixtures.sh, run-interop.sh,
# run-peers.sh). Host side only.
# shellcheck disable=SC2034  # the settings are used by the scripts that source this

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
            { gcc -O2 -Wall -Wextra -o "$out.tmp" "$src" && mv "$out.tmp" "$out"; } || vm_die "cannot build $src"
        fi
    done
}

# vm_discrec_binary: set DISCREC to the absolute path of the discrec binary to
# run in the guest. DISCREC set (and executable): used as is. Unset: `cargo
# build --release -p discrec` in the repo, then the binary in cargo's target
# directory (CARGO_TARGET_DIR honoured). Exits 3 if there is no binary.
vm_discrec_binary() {
    if [ -z "${DISCREC:-}" ]; then
        vm_log "cargo build --release -p discrec"
        (cd "$VM_REPO" && cargo build --release -p discrec) || vm_die "cargo build failed" 3
        DISCREC="$(cd "$VM_REPO" && cargo metadata --format-version 1 --no-deps 2>/dev/null |
            sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release/discrec"
        [ -x "$DISCREC" ] || DISCREC="$VM_REPO/target/release/discrec"
    fi
    [ -x "$DISCREC" ] || vm_die "no discrec binary at $DISCREC" 3
    DISCREC="$(realpath "$DISCREC")"
}

# vm_tier_begin TAG [ARGS...]: the start of a run-*.sh tier: T0 (wall clock),
# KEEP (1 when the first argument is --keep: the caller then drops it with
# `[ "$KEEP" = 0 ] || shift`) and RESULTS, a new results dir readable by the
# guest's unprivileged checks.
vm_tier_begin() {
    T0=$(date +%s.%N)
    KEEP=0; [ "${2:-}" != --keep ] || KEEP=1
    RESULTS="$(mktemp -d "${TMPDIR:-/tmp}/discrec-$1.XXXXXX")"
    chmod 755 "$RESULTS"
}

# vm_need_jq: the scenarios read discrec's JSON with jq
vm_need_jq() {
    command -v jq >/dev/null || { vm_log "installing jq"; apt-get install -y -qq jq >&2 || vm_die "jq is needed" 3; }
}

# vm_tier_end TAG RC WHAT: log the wall time since vm_tier_begin, remove the
# results dir if the tier passed (unless --keep), exit RC
vm_tier_end() {
    local t1; t1=$(date +%s.%N)
    vm_log "$1: exit $2, $(awk "BEGIN{printf \"%.1f\", $t1 - $T0}") s wall ($3)"
    if [ "$2" = 0 ] && [ "$KEEP" = 0 ]; then
        rm -rf "$RESULTS"
    else
        vm_log "results kept in $RESULTS (console.log, stdout, host-requests.log, ...)"
    fi
    exit "$2"
}

# vm_guest_path FILE RESULTS: print the path under which the guest sees FILE.
# The guest has its own /tmp, /run and /dev: a file there is copied into the
# results share RESULTS and named /vm-results/BASENAME; anything else is seen
# at its host path (the host root is shared read-only).
vm_guest_path() {
    case "$1" in
        /tmp/*|/run/*|/dev/*)
            cp "$1" "$2/$(basename "$1")" || vm_die "cannot copy $1 into $2" 3
            echo "/vm-results/$(basename "$1")" ;;
        *) echo "$1" ;;
    esac
}

# vm_mkiso VOLID OUT DIR: an ISO 9660 + Rock Ridge + Joliet image of DIR
# (xorriso -as mkisofs; its banner is shown only when it fails). Exits 3 on failure.
vm_mkiso() {
    local log
    log="$(dirname "$2")/.mkiso.log"
    xorriso -as mkisofs -quiet -R -J -V "$1" -o "$2" "$3" 2>"$log" ||
        { cat "$log" >&2; rm -f "$log"; vm_die "xorriso -as mkisofs $2 failed" 3; }
    rm -f "$log"
}
