# shellcheck shell=bash
# The check runner and helpers every guest scenario shares (sourced, not run):
# a check is a function that runs commands with `x`/`bg` and calls `bad` for
# each reason to fail; `check NAME FUNCTION` runs it, ends what it left
# running, calls the scenario's `settle`, and prints "PASS NAME" or
# "FAIL NAME: why" with the commands it ran; `checks_summary` prints the
# timings and exactly "N passed, M failed" and returns 0 only if none failed.
#
# Set before sourcing: CLOG (the current check's log file), CHECK_VERBOSE
# (1: print the log of passing checks too), X_TIMEOUT (watchdog of `x`,
# seconds, default 60), DISCREC and, for the device helpers, DEV. The scenario
# defines `settle` (restore the drive between checks).

# (builtins only where it is cheap: each exec costs tens of ms in a TCG guest on 9p)
now() { local up _; read -r up _ </proc/uptime; echo "$up"; }
T_START=${T_START:-$(now)}
PASSED=0 FAILED=0 TIMINGS=""
: "${CLOG:=/tmp/check.log}" "${CHECK_VERBOSE:=0}" "${X_TIMEOUT:=60}"

WHY=""
# bad WHY...: record a reason for the current check to fail (it keeps going)
bad() { WHY="${WHY:+$WHY; }$*"; echo "  => $*" >>"$CLOG"; }
note() { echo "  # $*" >>"$CLOG"; }

# x CMD...: run CMD (X_TIMEOUT watchdog); stdout -> $OUT, stderr -> $ERR,
# status -> $RC. The command and its output go to the check's log.
OUT="" ERR="" RC=0
x() {
    timeout -k 2 "$X_TIMEOUT" "$@" >/tmp/x.out 2>/tmp/x.err </dev/null
    RC=$?
    OUT=$(</tmp/x.out) ERR=$(</tmp/x.err)
    local up _ lines i
    read -r up _ </proc/uptime
    {
        printf '$'; printf ' %q' "$@"; printf '   [exit %s, t=%s]\n' "$RC" "$up"
        mapfile -t -n 40 lines </tmp/x.out
        for i in "${!lines[@]}"; do printf '  | %s\n' "${lines[i]}"; done
        mapfile -t lines </tmp/x.err
        for ((i = ${#lines[@]} > 25 ? ${#lines[@]} - 25 : 0; i < ${#lines[@]}; i++)); do
            printf '  ! %s\n' "${lines[i]}"
        done
    } >>"$CLOG"
    return $RC
}

# wait_for SECS CMD...: poll CMD every 0.1 s until it succeeds; 1 on timeout
wait_for() {
    local n=$(( $1 * 10 )) i=0; shift
    until "$@" >/dev/null 2>&1; do
        i=$((i + 1)); [ $i -le $n ] || return 1
        sleep 0.1
    done
}

# Background processes of the current check: bg TAG CMD... starts CMD with
# output in /tmp/bg.TAG.{out,err}; its pid is in $BGPID and in BG_PIDS.
BG_PIDS=() BG_TAGS=()
bg() {
    local tag="$1"; shift
    "$@" >"/tmp/bg.$tag.out" 2>"/tmp/bg.$tag.err" </dev/null &
    BGPID=$!
    BG_PIDS+=("$BGPID"); BG_TAGS+=("$tag")
    { printf '$'; printf ' %q' "$@"; printf ' &   [pid %s, t=%s]\n' "$BGPID" "$(now)"; } >>"$CLOG"
}
# bg_wait PID SECS: wait for a background process; its status in $RC (124 on timeout)
bg_wait() {
    local pid="$1" n=$(( $2 * 10 )) i=0
    while kill -0 "$pid" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt $n ]; then RC=124; note "pid $pid still running after $2 s"; return 124; fi
        sleep 0.1
    done
    { wait "$pid"; } 2>/dev/null; RC=$?
    note "pid $pid exited $RC (t=$(now))"
    return $RC
}
# bg_reap: end what the check left running (TERM, then KILL after 3 s), log its output
bg_reap() {
    local i pid
    for i in "${!BG_PIDS[@]}"; do
        pid=${BG_PIDS[$i]}
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null
            for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null
        {
            echo "  [background ${BG_TAGS[$i]} pid $pid output]"
            tail -n 30 "/tmp/bg.${BG_TAGS[$i]}.out" 2>/dev/null | sed 's/^/  | /'
            tail -n 30 "/tmp/bg.${BG_TAGS[$i]}.err" 2>/dev/null | sed 's/^/  ! /'
        } >>"$CLOG"
    done
    BG_PIDS=() BG_TAGS=()
}

# owner_is NAME: the holder's client (or program) name is NAME ("" = free); by
# JSON, since the text form adds what a client is doing ("Name: writing 43 %")
owner_is() { [ "$(timeout 10 "$DISCREC" owner --json "$DEV" 2>/dev/null | jq -r '.owner.name // ""')" = "$1" ]; }
has() { printf '%s' "$1" | grep -q -i -e "$2"; }   # has TEXT PATTERN (case-insensitive)
ready() { sg_turs "$DEV" >/dev/null 2>&1; }
# wait_ready [SECS]: until TEST UNIT READY passes (the first command after a
# change gets UNIT ATTENTION)
wait_ready() { wait_for "${1:-10}" ready; }

# profile/feature helpers ---------------------------------------------------
hex4() { printf '%04x\n' "$(( $1 ))" 2>/dev/null || echo "?$1"; }  # "0x0010" or 16 -> 0010
# sg_get_config's profile name -> code
profile_code() {
    case "$1" in
        CD-ROM) echo 0008 ;; CD-R) echo 0009 ;; CD-RW) echo 000a ;; DVD-ROM) echo 0010 ;;
        DVD-R*sequential*) echo 0011 ;; DVD-RAM) echo 0012 ;; DVD-RW*restricted*) echo 0013 ;;
        DVD-RW*sequential*) echo 0014 ;; DVD+RW) echo 001a ;; DVD+R) echo 001b ;;
        BD-ROM) echo 0040 ;; BD-R*sequential*|BD-R\ SRM*) echo 0041 ;; BD-RE) echo 0043 ;;
        *) echo "?$1" ;;
    esac
}
# info_profiles JSON -> lines "CODE NAME CURRENT" (code as 4 hex digits)
info_profiles() {
    printf '%s' "$1" | jq -r '.profiles[] | "\(.code) \(.name) \(.current)"' 2>/dev/null |
        while read -r c n cur; do echo "$(hex4 "$c") $n $cur"; done
}
# info_features JSON -> codes (4 hex digits), objects {code:..} or bare codes
info_features() {
    printf '%s' "$1" | jq -r '.features[] | if type == "object" then (.code // .feature) else . end' 2>/dev/null |
        while read -r c; do hex4 "$c"; done
}
# info_features_current JSON -> lines "CODE CURRENT"
info_features_current() {
    printf '%s' "$1" | jq -r '.features[] | "\(.code) \(.current)"' 2>/dev/null |
        while read -r c cur; do echo "$(hex4 "$c") $cur"; done
}
# sg_get_config's output in /tmp/sgc.txt -> "CODE NAME CURRENT" profile lines
sgc_profiles() {
    sed -n 's/^ *profile: \(.*[^ ]\) *, currentP=\([01]\).*/\1 \2/p' /tmp/sgc.txt |
        while read -r n cur; do echo "$(profile_code "$n") $n $([ "$cur" = 1 ] && echo true || echo false)"; done
}
# ... -> feature codes
sgc_features() { sed -n 's/.*current=[01] \[0x\([0-9a-fA-F]*\)\]$/\1/p' /tmp/sgc.txt | while read -r c; do hex4 "0x$c"; done; }
# ... -> lines "CODE CURRENT"
sgc_features_current() {
    sed -n 's/.*current=\([01]\) \[0x\([0-9a-fA-F]*\)\]$/\2 \1/p' /tmp/sgc.txt |
        while read -r c cur; do echo "$(hex4 "0x$c") $([ "$cur" = 1 ] && echo true || echo false)"; done
}

# /dev/shm as every distribution has it (owner records and emulated drives live there)
shared_dev_shm() {
    mountpoint -q /dev/shm && [ "$(stat -c %a /dev/shm)" = 1777 ] || {
        mkdir -p /dev/shm; mount -t tmpfs -o mode=1777 tmpfs /dev/shm; }
}

# ----------------------------------------------------------------- runner --
check() { # check NAME FUNCTION
    local name="$1" fn="$2" t0 t1
    WHY=""; : >"$CLOG"
    t0=$(now)
    "$fn"
    bg_reap
    settle
    t1=$(now)
    TIMINGS="$TIMINGS$(printf '#   %-34s %6.1f s' "$name" "$(echo "$t1 $t0" | awk '{print $1 - $2}')")"$'\n'
    if [ -z "$WHY" ]; then
        PASSED=$((PASSED + 1)); echo "PASS $name"
        [ "$CHECK_VERBOSE" = 0 ] || sed 's/^/    /' "$CLOG"
    else
        FAILED=$((FAILED + 1)); echo "FAIL $name: $WHY"
        sed 's/^/    /' "$CLOG"
        echo "    [dmesg tail]"; dmesg | tail -n 8 | sed 's/^/    | /'
    fi
}

# checks_summary: timings, then exactly "N passed, M failed"; 0 only if none failed
checks_summary() {
    echo "# timings (guest uptime): start $T_START s, end $(now) s"
    printf '%s' "$TIMINGS"
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" = 0 ]
}
