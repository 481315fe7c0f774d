#!/bin/bash
# TCMU tier: the project's emulated recorder as a real SCSI drive of the guest
# (`discrec emu serve`: TCMU + tcm_loop in the guest kernel, bound by sr as
# /dev/srN), checked with sg3-utils, dvd+rw-tools, cdrskin, growisofs, xorriso
# and discrec, in one QEMU guest boot (tests/vm/scenarios/tcmu.sh).
#
#   tests/vm/run-tcmu.sh [--keep] [extra run.sh options...]
#
# 1. builds `cargo build --release -p discrec` (skipped when DISCREC is set)
# 2. makes image.iso in the results dir (TCMU_IMAGE_MIB MiB of random data,
#    default 2, plus hello.txt)
# 3. boots the guest with `run.sh --no-cd`; the scenario loads target_core_user
#    and tcm_loop and serves one emulated drive per writable profile.
#
# Output: "PASS name" / "FAIL name: why" (+ the commands' output) per check,
# then exactly "N passed, M failed". Exit status: the scenario's (0 = all
# passed, 1 = some failed), or run.sh's 124 (timeout) / 125 (guest crash) /
# 2 / 3 (usage / setup). Nothing here skips: a missing module or tool is a
# failure (as CI=true requires).
# Environment: DISCREC (binary to test), TCMU_TIMEOUT (guest watchdog, default
# 1500 s), TCMU_IMAGE_MIB, TCMU_PROFILES (e.g. "0009 001a"), TCMU_CHECKS (regex
# of check names to run), TCMU_VERBOSE=1, TMPDIR, DISCREC_VM_* (run.sh).
set -euo pipefail
VM="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=SCRIPTDIR/lib.sh
. "$VM/lib.sh"
KEEP=0
if [ "${1:-}" = --keep ]; then KEEP=1; shift; fi
T0=$(date +%s.%N)

vm_discrec_binary
# the guest runs the host's tools (its root is the host's, read-only): fetch.sh installs them
TOOLS=(jq sg_inq sg_turs sg_raw sg_get_config dvd+rw-mediainfo cdrskin growisofs xorriso eject)
for tool in "${TOOLS[@]}"; do
    command -v "$tool" >/dev/null && continue
    vm_log "$tool is missing: running tests/vm/fetch.sh"
    "$VM/fetch.sh" || vm_die "fetch.sh failed" 3
    break
done
for tool in "${TOOLS[@]}"; do
    command -v "$tool" >/dev/null || vm_die "$tool is missing after fetch.sh" 3
done

RESULTS="$(mktemp -d "${TMPDIR:-/tmp}/discrec-tcmu.XXXXXX")"
chmod 755 "$RESULTS"
GDISCREC="$(vm_guest_path "$DISCREC" "$RESULTS")"

mkdir -p "$RESULTS/img"
echo 'discrec tcmu: burned through a real /dev/srN served by discrec emu serve' >"$RESULTS/img/hello.txt"
head -c "$(( ${TCMU_IMAGE_MIB:-2} * 1024 * 1024 ))" /dev/urandom >"$RESULTS/img/data.bin"
vm_mkiso TCMU "$RESULTS/image.iso" "$RESULTS/img"
rm -rf "$RESULTS/img"
chmod 644 "$RESULTS/image.iso"

ENVS=(--env DISCREC="$GDISCREC" --env TCMU_ISO=/vm-results/image.iso)
for v in TCMU_VERBOSE TCMU_PROFILES TCMU_CHECKS; do
    [ -z "${!v:-}" ] || ENVS+=(--env "$v=${!v}")
done
rc=0
"$VM/run.sh" --results "$RESULTS" --no-cd --timeout "${TCMU_TIMEOUT:-1500}" \
    "${ENVS[@]}" "$@" "$VM/scenarios/tcmu.sh" || rc=$?
T1=$(date +%s.%N)
vm_log "tcmu: exit $rc, $(awk "BEGIN{printf \"%.1f\", $T1 - $T0}") s wall (build + image + guest)"
if [ $rc = 0 ] && [ $KEEP = 0 ]; then
    rm -rf "$RESULTS"
else
    vm_log "results kept in $RESULTS (console.log, stdout, ...)"
fi
exit $rc
