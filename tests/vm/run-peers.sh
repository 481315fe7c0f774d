#!/bin/bash
# Peers tier: discrec's speed and memory against xorriso, cdrskin and wodim
# on a real kernel CD drive, in one QEMU guest boot (tests/vm/scenarios/peers.sh).
#
#   tests/vm/run-peers.sh [--keep] [extra run.sh options...]
#
# 1. builds `cargo build --release -p discrec` (skipped when DISCREC is set:
#    DISCREC=/path/to/discrec tests/vm/run-peers.sh)
# 2. makes small.iso (CD-ROM profile) in the results dir and compiles the
#    timer helper `runtimes` there (source below: CLOCK_MONOTONIC around
#    posix_spawnp + wait4, prints "ns status maxrss_kib cpu_us" per run), and
#    times /bin/true and `discrec --version` on the host with it (reference
#    for the guest's process-start cost: TCG runs code tens of times slower)
# 3. boots the guest with small.iso in the drive and runs the scenario.
#
# Output: the scenario's tables (time per command with median, min, p90, max
# and the peer/discrec ratio; peak RSS; the issue's goals), its last line
# "peers: N rows measured, M failed", then the wall time. Exit status: the
# scenario's (0 = every row measured; missed goals do not fail), or run.sh's
# 124 (timeout) / 125 (guest crash) / 2 / 3 (usage / setup).
# Environment: DISCREC (binary to test), PEERS_ROUNDS (default 11: peers run
# once per round), PEERS_DISCREC_PER_ROUND (default 5: discrec rows run 5
# times per round), PEERS_VERBOSE=1 (show every warm-up output),
# PEERS_TIMEOUT (guest watchdog, default 600 s), TMPDIR (where the results dir
# goes), DISCREC_VM_* (run.sh).
set -euo pipefail
VM="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=SCRIPTDIR/lib.sh
. "$VM/lib.sh"
vm_tier_begin peers "$@"; [ "$KEEP" = 0 ] || shift

vm_discrec_binary
command -v gcc >/dev/null || vm_die "gcc is needed for the timer helper (tests/vm/fetch.sh installs it)" 3

GDISCREC="$(vm_guest_path "$DISCREC" "$RESULTS")"

mkdir -p "$RESULTS/small"
echo 'discrec peers: small image' >"$RESULTS/small/hello.txt"
vm_mkiso PEERS_SMALL "$RESULTS/small.iso" "$RESULTS/small"
rm -rf "$RESULTS/small"

# The timer: runs COMMAND N times; per run one line "NANOSECONDS STATUS MAXRSS_KIB CPU_US".
cat >"$RESULTS/runtimes.c" <<'EOF'
/* runtimes N COMMAND [ARGS...]: run COMMAND N times (stdin, stdout and stderr on
 * /dev/null); per run print "NANOSECONDS STATUS MAXRSS_KIB CPU_US":
 * CLOCK_MONOTONIC around posix_spawnp + wait4, the exit status (128+N for
 * signal N), wait4's ru_maxrss and ru_utime + ru_stime (the process and its
 * waited-for children). posix_spawnp (vfork-like) keeps the timer's own pages
 * out of the child's accounting as far as the kernel allows. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: runtimes N COMMAND [ARGS...]\n");
        return 2;
    }
    long n = strtol(argv[1], NULL, 10);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    for (long i = 0; i < n; i++) {
        struct timespec a, b;
        struct rusage ru;
        pid_t pid;
        int st = 0;
        clock_gettime(CLOCK_MONOTONIC, &a);
        int err = posix_spawnp(&pid, argv[2], &fa, NULL, argv + 2, environ);
        if (err) {
            fprintf(stderr, "runtimes: %s: %s\n", argv[2], strerror(err));
            return 127;
        }
        if (wait4(pid, &st, 0, &ru) < 0) {
            perror("runtimes: wait4");
            return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        long long ns = (long long)(b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
        int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        long long cpu = (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL +
                        ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
        printf("%lld %d %ld %lld\n", ns, status, ru.ru_maxrss, cpu);
        fflush(stdout);
    }
    return 0;
}
EOF
gcc -O2 -Wall -Wextra -o "$RESULTS/runtimes" "$RESULTS/runtimes.c" || vm_die "cannot build the timer helper" 3

# Host reference: the same timer on the host (the guest runs under TCG).
host_median() { # host_median COMMAND... -> median ms of 51 runs
    "$RESULTS/runtimes" 51 "$@" | cut -d' ' -f1 | sort -n | sed -n 26p | awk '{ printf "%.2f", $1 / 1e6 }'
}
"$RESULTS/runtimes" 5 "$DISCREC" --version >/dev/null
vm_log "peers: host reference (native, not the guest): /bin/true $(host_median /bin/true) ms, discrec --version $(host_median "$DISCREC" --version) ms (median of 51)"

ENVS=(--env DISCREC="$GDISCREC" --env PEERS_TIMER=/vm-results/runtimes)
for v in PEERS_ROUNDS PEERS_DISCREC_PER_ROUND PEERS_VERBOSE; do
    [ -z "${!v:-}" ] || ENVS+=(--env "$v=${!v}")
done
vm_log "peers: host load before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
rc=0
"$VM/run.sh" --results "$RESULTS" --iso "$RESULTS/small.iso" --timeout "${PEERS_TIMEOUT:-600}" \
    "${ENVS[@]}" "$@" "$VM/scenarios/peers.sh" || rc=$?
vm_log "peers: host load after: $(cut -d' ' -f1-3 /proc/loadavg)"
vm_tier_end peers "$rc" "build + image + guest"
