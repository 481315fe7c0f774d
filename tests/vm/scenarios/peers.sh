#!/bin/bash
# Peers tier: how long discrec takes, and how much memory it uses, against the
# libburn/cdrkit tools on a real kernel CD drive (/dev/sr0 on QEMU's scsi-cd),
# in ONE guest boot. Run it through tests/vm/run-peers.sh, which builds
# discrec, makes the image, compiles the timer and boots the guest:
#   DISCREC=/path/to/discrec tests/vm/run-peers.sh
#
# Two questions (issue "Performance"):
#   acquire: take the drive exclusively and read its identity
#       discrec lock /dev/sr0 --name Bench -- discrec info /dev/sr0   (the pair; see below)
#       xorriso -outdev /dev/sr0     cdrskin dev=/dev/sr0 -checkdrive
#   list:    enumerate the drives (opening each, INQUIRY)
#       discrec list     xorriso -devices     cdrskin --devices     wodim --devices
# No single discrec subcommand both acquires and reads the identity: `lock`
# acquires (O_EXCL + flock + POSIX lock, owner record, media polling off) and
# runs COMMAND; `info` reads the identity (and profiles, features, mode pages,
# medium, owner) without acquiring, which is allowed while another client
# holds the drive. `lock -- info` is therefore the honest equivalent of
# xorriso's acquisition; `lock -- true` and `info` alone are shown too.
#
# Method: every command first runs once untimed (warm-up: page cache; its
# output is checked for the drive, its exit status becomes the expected one),
# then PEERS_ROUNDS rounds, each running every discrec row
# PEERS_DISCREC_PER_ROUND times and every peer row once (interleaved, so a
# change of load on the host hits all rows alike). Each run is timed by the
# timer helper (PEERS_TIMER, built by run-peers.sh): CLOCK_MONOTONIC around
# posix_spawnp + wait4, stdin/stdout/stderr on /dev/null; wait4's ru_maxrss is
# the run's peak RSS (the largest of the process and its waited-for children),
# ru_utime + ru_stime its CPU time. Raw data: RESULTS/peers-raw/ROW.txt.
#
# Reading the ratios: the guest runs under TCG, which makes CPU work (process
# start, dynamic linking, argument parsing) tens of times slower than native
# (/bin/true: ~25 ms here, ~0.75 ms on the host; run-peers.sh prints the host
# reference) but not sleeping: most of xorriso's time is libburn's fixed
# sleeps (0.5 s after each START STOP UNIT), of `xorriso -devices` its 100 ms
# polling. The cpu column tells the two apart.
#
# Output: per row runs, median, min, p90, max, cpu, peer/discrec ratio; peak RSS;
# the issue's goals; last line "peers: N rows measured, M failed".
# Exit status: 0 if every run of every row exited as its warm-up did and the
# warm-up found the drive, 1 otherwise. Missed goals do not fail the run.
set -euo pipefail

DISCREC="${DISCREC:-${DISCREC_VM_REPO:-}/target/release/discrec}"
TIMER="${PEERS_TIMER:-/vm-results/runtimes}"
DEV=/dev/sr0
ROUNDS="${PEERS_ROUNDS:-11}"
PER="${PEERS_DISCREC_PER_ROUND:-5}"
W=/tmp/peers
mkdir -p "$W"

now() { cut -d' ' -f1 /proc/uptime; }
T_START=$(now)

# ------------------------------------------------------------------ rows --
# A row: id, group (floor, acquire, owner, list), kind (floor; discrec = the
# group's base the peers are compared with; part = a part of it; peer), a
# pattern the warm-up output must contain ('' = none), the command.
ROW_ID=() ROW_GROUP=() ROW_KIND=() ROW_PAT=() CMD=()
add() { # add ID GROUP KIND PATTERN COMMAND...
    ROW_ID+=("$1"); ROW_GROUP+=("$2"); ROW_KIND+=("$3"); ROW_PAT+=("$4")
    shift 4
    CMD+=("$(printf '%q ' "$@")")
}
D="$DISCREC"
add floor-true          floor   floor   ''             /bin/true
add discrec-version     floor   floor   'discrec'      "$D" --version
add discrec-lock-info   acquire discrec 'QEMU CD-ROM'  "$D" lock "$DEV" --name Bench -- "$D" info "$DEV"
add discrec-lock-true   acquire part    ''             "$D" lock "$DEV" --name Bench -- /bin/true
add discrec-info        acquire part    'QEMU CD-ROM'  "$D" info "$DEV"
add discrec-owner       owner   part    ''             "$D" owner "$DEV"
add xorriso-outdev      acquire peer    'Media current:' xorriso -outdev "$DEV"
add xorriso-outdev-toc  acquire peer    'Media current:' xorriso -outdev "$DEV" -toc
add cdrskin-checkdrive  acquire peer    'QEMU CD-ROM'  cdrskin dev="$DEV" -checkdrive
add discrec-list        list    discrec 'QEMU CD-ROM'  "$D" list
add xorriso-devices     list    peer    'QEMU CD-ROM'  xorriso -devices
add cdrskin-devices     list    peer    'QEMU CD-ROM'  cdrskin --devices
add wodim-devices       list    peer    'QEMU CD-ROM'  wodim --devices
N=${#ROW_ID[@]}

runs_per_round() { case "${ROW_KIND[$1]}" in peer) echo 1 ;; *) echo "$PER" ;; esac; }
cmd_of() { eval "CMDV=(${CMD[$1]})"; }

# ---------------------------------------------------------------- checks --
echo "# guest kernel: $(uname -r) ($(nproc) CPU, $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MiB), boot to scenario: ${T_START} s uptime"
echo "# discrec: $DISCREC ($("$DISCREC" --version 2>&1 | head -n 1))"
echo "# peers: $(xorriso -version 2>/dev/null | head -n 1 | cut -c1-40); $(cdrskin -version 2>/dev/null | grep -m1 -i 'cdrskin version'); $(wodim --version 2>&1 | grep -m1 -i '^wodim ')"
echo "# drive: $(sg_inq "$DEV" 2>/dev/null | sed -n 's/^ *\(Vendor\|Product\|Product revision\) \(identification\|level\): *//p' | tr '\n' ' ')medium ${DISCREC_VM_ISO:-?}"
fatal=""
[ -x "$DISCREC" ] || fatal="no discrec binary at $DISCREC (pass --env DISCREC=...)"
[ -x "$TIMER" ] || fatal="no timer helper at $TIMER (run-peers.sh builds it)"
[ -b "$DEV" ] || fatal="no $DEV in the guest"
for t in xorriso cdrskin wodim; do command -v "$t" >/dev/null || fatal="$t is missing (tests/vm/fetch.sh installs it)"; done
if [ -n "$fatal" ]; then echo "FAIL setup: $fatal"; echo "peers: 0 rows measured, 1 failed"; exit 1; fi
mountpoint -q /dev/shm || { mkdir -p /dev/shm; mount -t tmpfs -o mode=1777 tmpfs /dev/shm; }
i=0; until sg_turs "$DEV" >/dev/null 2>&1; do i=$((i + 1)); [ $i -le 150 ] || break; sleep 0.1; done

# --------------------------------------------------------------- warm-up --
# One untimed run per row: output checked, exit status recorded.
declare -a WANT_RC BAD
FAILED=0
for ((r = 0; r < N; r++)); do
    cmd_of "$r"
    rc=0; timeout -k 2 60 "${CMDV[@]}" >"$W/warm.$r" 2>&1 </dev/null || rc=$?
    WANT_RC[r]=$rc; BAD[r]=""
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then BAD[r]="warm-up timed out"
    elif [ "${ROW_KIND[$r]}" != peer ] && [ "$rc" != 0 ]; then BAD[r]="warm-up exited $rc"
    elif [ -n "${ROW_PAT[$r]}" ] && ! grep -q -e "${ROW_PAT[$r]}" "$W/warm.$r"; then
        BAD[r]="warm-up output lacks '${ROW_PAT[$r]}'"
    fi
    : >"$W/t.$r"
    if [ -n "${BAD[$r]}" ] || [ "${PEERS_VERBOSE:-0}" != 0 ]; then
        echo "# warm-up ${ROW_ID[$r]}: exit $rc ${BAD[$r]:+- ${BAD[$r]}}"
        echo "#   \$ ${CMD[$r]}"
        head -n 12 "$W/warm.$r" | sed 's/^/#   | /'
    fi
done

# ------------------------------------------------------------ the rounds --
T_ROUNDS=$(now)
for ((k = 1; k <= ROUNDS; k++)); do
    for ((r = 0; r < N; r++)); do
        [ -z "${BAD[$r]}" ] || continue
        cmd_of "$r"
        "$TIMER" "$(runs_per_round "$r")" "${CMDV[@]}" >>"$W/t.$r" ||
            BAD[r]="the timer failed (exit $?)"
    done
done
T_END=$(now)
# keep the raw data: RESULTS/peers-raw/ROW_ID.txt ("ns status maxrss_kib cpu_us" per run) and the warm-up outputs
if [ -d "${DISCREC_VM_RESULTS:-}" ]; then
    mkdir -p "$DISCREC_VM_RESULTS/peers-raw"
    for ((r = 0; r < N; r++)); do
        cp "$W/t.$r" "$DISCREC_VM_RESULTS/peers-raw/${ROW_ID[$r]}.txt"
        cp "$W/warm.$r" "$DISCREC_VM_RESULTS/peers-raw/${ROW_ID[$r]}.warm-up.txt"
    done
fi

# ---------------------------------------------------------------- report --
# quantiles COLUMN FILE -> "runs median min p90 max" of that column (p90: nearest rank);
# sort(1), not gawk's asort: the host's awk may be mawk
quantiles() {
    cut -d' ' -f"$1" "$2" | sort -n | awk '{ v[NR] = $1 }
        END {
            n = NR
            if (n == 0) { print "0 0 0 0 0"; exit }
            med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
            p = int(0.9 * n); if (p < 0.9 * n) p++
            # %.0f, not %d: in mawk %d stops at 2^31 (2.1 s in ns)
            printf "%d %.0f %.0f %.0f %.0f\n", n, med, v[1], v[p], v[n]
        }'
}
# stats FILE WANT_STATUS ->
#   "runs median min p90 max rss_median rss_max cpu_median wrong_status_count" (ns, KiB, us)
stats() {
    local n med mn p90 mx rmed rmx cmed
    read -r n med mn p90 mx <<<"$(quantiles 1 "$1")"
    read -r _ rmed _ _ rmx <<<"$(quantiles 3 "$1")"
    read -r _ cmed _ _ _ <<<"$(quantiles 4 "$1")"
    echo "$n $med $mn $p90 $mx $rmed $rmx $cmed $(awk -v want="$2" '$2 != want { bad++ } END { print bad + 0 }' "$1")"
}
ms() { awk -v ns="$1" 'BEGIN { printf "%.1f", ns / 1e6 }'; }
declare -a S_N S_MED S_MIN S_P90 S_MAX S_RMED S_RMAX S_CPU
for ((r = 0; r < N; r++)); do
    # (a here-string: the guest has no /dev/fd for process substitution)
    read -r n med mn p90 mx rmed rmx cmed wrong <<<"$(stats "$W/t.$r" "${WANT_RC[$r]}")"
    S_N[r]=$n S_MED[r]=$med S_MIN[r]=$mn S_P90[r]=$p90 S_MAX[r]=$mx S_RMED[r]=$rmed S_RMAX[r]=$rmx S_CPU[r]=$cmed
    [ "$wrong" = 0 ] || BAD[r]="${BAD[$r]:+${BAD[$r]}; }$wrong timed run(s) exited other than the warm-up ($((WANT_RC[r])))"
    [ -n "${BAD[$r]}" ] || [ "${S_N[$r]}" -gt 0 ] || BAD[r]="no timed runs"
    [ -z "${BAD[$r]}" ] || FAILED=$((FAILED + 1))
done
# the discrec row each group's peers are compared with
base_of() {
    local g="${ROW_GROUP[$1]}" r
    for ((r = 0; r < N; r++)); do
        [ "${ROW_GROUP[$r]}" = "$g" ] && [ "${ROW_KIND[$r]}" = discrec ] && { echo "$r"; return; }
    done
    echo -1
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else printf "-" }'; }

echo
echo "# time per command: wall time of fork/exec to exit, guest CLOCK_MONOTONIC (ms)"
echo "# ($ROUNDS rounds, interleaved; discrec rows $PER runs per round, peers 1; ratio = this row's median / the group's discrec median;"
echo "#  cpu = median user+sys CPU time of the run, the rest of the wall time is waiting: sleeps, the drive, scheduling)"
printf '%-8s %-19s %5s %9s %9s %9s %9s %8s %10s  %s\n' group row runs median min p90 max cpu ratio command
for ((r = 0; r < N; r++)); do
    b=$(base_of "$r"); rt="-"
    if [ "$b" -ge 0 ] && [ "$b" != "$r" ] && [ "${S_MED[$b]}" -gt 0 ]; then rt=$(ratio "${S_MED[$r]}" "${S_MED[$b]}"); fi
    [ "$b" != "$r" ] || rt="1.0x (base)"
    printf '%-8s %-19s %5s %9s %9s %9s %9s %8s %10s  %s\n' "${ROW_GROUP[$r]}" "${ROW_ID[$r]}" "${S_N[$r]}" \
        "$(ms "${S_MED[$r]}")" "$(ms "${S_MIN[$r]}")" "$(ms "${S_P90[$r]}")" "$(ms "${S_MAX[$r]}")" \
        "$(ms "$((S_CPU[r] * 1000))")" "$rt" \
        "${CMD[$r]//"$DISCREC"/discrec}${BAD[$r]:+  FAILED: ${BAD[$r]}}"
done

echo
echo "# peak RSS per run (wait4 ru_maxrss: the process and its waited-for children; KiB)"
printf '%-19s %5s %11s %9s   %s\n' row runs 'median KiB' 'max KiB' 'exit status'
for ((r = 0; r < N; r++)); do
    printf '%-19s %5s %11s %9s   %s\n' "${ROW_ID[$r]}" "${S_N[$r]}" "${S_RMED[$r]}" "${S_RMAX[$r]}" "${WANT_RC[$r]}"
done

echo
echo "# goals (issue \"Performance\")"
goal() { # goal TEXT PEER_ID BASE_ID FACTOR
    local p=-1 b=-1 r
    for ((r = 0; r < N; r++)); do
        [ "${ROW_ID[$r]}" = "$2" ] && p=$r; [ "${ROW_ID[$r]}" = "$3" ] && b=$r
    done
    if [ "$p" -lt 0 ] || [ "$b" -lt 0 ] || [ -n "${BAD[$p]}" ] || [ -n "${BAD[$b]}" ]; then
        echo "goal $1: not measured"; return
    fi
    awk -v t="$1" -v p="${S_MED[$p]}" -v b="${S_MED[$b]}" -v f="$4" -v pn="$2" -v bn="$3" 'BEGIN {
        printf "goal %s: %s (%.1fx: %s %.1f ms / %s %.1f ms; needs >= %dx)\n",
            t, (p / b >= f) ? "met" : "NOT MET", p / b, pn, p / 1e6, bn, b / 1e6, f }'
}
goal "drive acquisition >= 100x faster than xorriso" xorriso-outdev discrec-lock-info 100
goal "drive acquisition >= 100x faster than xorriso (acquire only)" xorriso-outdev discrec-lock-true 100
goal "list >= 10x faster than xorriso -devices" xorriso-devices discrec-list 10
for id in discrec-owner discrec-list discrec-lock-true; do
    for ((r = 0; r < N; r++)); do
        [ "${ROW_ID[$r]}" = "$id" ] || continue
        awk -v id="$id" -v k="${S_RMAX[$r]}" 'BEGIN {
            printf "goal peak RSS < 8 MiB, %s on /dev/sr0: %s (max %d KiB = %.2f MiB)\n", id, (k > 0 && k < 8192) ? "met" : "NOT MET", k, k / 1024 }'
    done
done

echo
echo "# timings (guest uptime): start $T_START s, rounds $T_ROUNDS-$T_END s ($(awk -v a="$T_ROUNDS" -v b="$T_END" 'BEGIN { printf "%.1f", b - a }') s)"
echo "peers: $((N - FAILED)) rows measured, $FAILED failed"
[ "$FAILED" = 0 ]
