#!/bin/bash
# TCMU tier: the project's emulated recorder as a real SCSI drive of the guest
# (`discrec emu serve`: TCMU + tcm_loop in the guest kernel, bound by sr as
# /dev/srN), checked with sg3-utils, dvd+rw-tools, cdrskin, growisofs, xorriso
# and discrec, in two QEMU guests side by side (tests/vm/scenarios/tcmu.sh).
#
#   tests/vm/run-tcmu.sh [--keep] [extra run.sh options...]
#
# 1. builds `cargo build --release -p discrec` (skipped when DISCREC is set)
# 2. makes image.iso in the results dir (TCMU_IMAGE_MIB MiB of random data,
#    default 2, plus hello.txt)
# 3. boots two guests side by side with `run.sh --no-cd` (one core each), each
#    serving half of the writable profiles, one emulated drive per profile (the
#    scenario loads target_core_user and tcm_loop); the second guest also runs
#    the fault checks. TCMU_PROFILES: one guest with those profiles and faults.
#
# Output: per guest, "PASS name" / "FAIL name: why" (+ the commands' output) per
# check and its own count; last, exactly "N passed, M failed" over both guests.
# Exit status: 0 = all passed, 1 = some failed, or a guest's run.sh status 124
# (timeout) / 125 (guest crash) / 2 / 3 (usage / setup). Nothing here skips: a missing module or tool is a
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

mkdir -p "$RESULTS/img"
echo 'discrec tcmu: burned through a real /dev/srN served by discrec emu serve' >"$RESULTS/img/hello.txt"
head -c "$(( ${TCMU_IMAGE_MIB:-2} * 1024 * 1024 ))" /dev/urandom >"$RESULTS/img/data.bin"
vm_mkiso TCMU "$RESULTS/image.iso" "$RESULTS/img"
rm -rf "$RESULTS/img"
chmod 644 "$RESULTS/image.iso"

# Two guests side by side (the machine's two cores; a TCG guest uses one), each serving half
# of the profiles; the second also runs the fault checks. TCMU_PROFILES: one guest, those
# profiles, with the faults.
if [ -n "${TCMU_PROFILES:-}" ]; then
    PARTS=("$TCMU_PROFILES") FAULTS=(1)
else
    PARTS=("0009 000a 0011 0013 0014" "001a 001b 002b 0041 0043") FAULTS=(0 1)
fi
PIDS=()
for i in "${!PARTS[@]}"; do
    R="$RESULTS/guest$((i + 1))"
    mkdir -p "$R"; chmod 755 "$R"
    ln "$RESULTS/image.iso" "$R/image.iso"
    GDISCREC="$(vm_guest_path "$DISCREC" "$R")"
    ENVS=(--env DISCREC="$GDISCREC" --env TCMU_ISO=/vm-results/image.iso
          --env "TCMU_PROFILES=${PARTS[i]}" --env "TCMU_FAULTS=${FAULTS[i]}")
    for v in TCMU_VERBOSE TCMU_CHECKS; do
        [ -z "${!v:-}" ] || ENVS+=(--env "$v=${!v}")
    done
    "$VM/run.sh" --results "$R" --no-cd --timeout "${TCMU_TIMEOUT:-1500}" \
        "${ENVS[@]}" "$@" "$VM/scenarios/tcmu.sh" >"$R/run.log" 2>&1 &
    PIDS+=($!)
    vm_log "tcmu: guest $((i + 1)) (profiles ${PARTS[i]}$([ "${FAULTS[i]}" = 1 ] && echo ', faults')) started, results in $R"
    # one at a time through run.sh's preparation (helpers, initramfs), until QEMU starts
    while kill -0 "${PIDS[i]}" 2>/dev/null && [ ! -s "$R/qemu.cmdline" ]; do sleep 0.2; done
done
rc=0 PASSED=0 FAILED=0
for i in "${!PARTS[@]}"; do
    R="$RESULTS/guest$((i + 1))" grc=0
    wait "${PIDS[i]}" || grc=$?
    echo "## guest $((i + 1)): profiles ${PARTS[i]}, exit $grc"
    cat "$R/run.log"
    p=0 f=0
    read -r p f < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$R/run.log" | tail -n 1) || true
    PASSED=$((PASSED + ${p:-0})) FAILED=$((FAILED + ${f:-0}))
    # a guest that did not finish (timeout 124, crash 125, setup 2/3) outranks failed checks
    if [ "$grc" != 0 ] && { [ "$rc" = 0 ] || [ "$rc" = 1 ]; }; then rc=$grc; fi
done
T1=$(date +%s.%N)
vm_log "tcmu: exit $rc, $(awk "BEGIN{printf \"%.1f\", $T1 - $T0}") s wall (build + image + guests)"
if [ $rc = 0 ] && [ $KEEP = 0 ]; then
    rm -rf "$RESULTS"
else
    vm_log "results kept in $RESULTS (guestN/: console.log, stdout, ...)"
fi
echo "$PASSED passed, $FAILED failed"
exit $rc
