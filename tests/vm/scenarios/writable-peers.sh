#!/bin/bash
# Writable peers: how long growisofs -Z, xorriso -as cdrecord -tao and
# cdrskin -tao take to burn the same image to the same kind of drive (a blank
# DVD+R from the host's tgt over QEMU's iSCSI initiator, scsi-generic), in ONE
# guest boot. Run it through tests/vm/run-writable-peers.sh.
#
# Needs: WPEERS_SIZES ("32 128": MiB), images /vm-results/peers-<MiB>.iso,
# WPEERS_RUNS (3). Every burn gets a new blank disc (vm_tgt_new_disc, not
# timed). The tools run bare (no discrec), stdout/stderr to a log; the time is
# the wall time of the burning command alone (date +%s.%N around it). A burn
# counts if the tool exits 0 and the host's backing file afterwards holds at
# least the image's size. Rounds interleave the tools so host load hits all alike.
#
# Output: a markdown table of medians (and MiB/s), the raw times, and last
# "writable-peers: N burns measured, M failed". Exit 0 only if every burn worked.
# `discrec burn` runs twice per round: --verify none and --verify full (every
# sector read back); the table ends with each discrec row's ratio to the
# fastest peer of that size (peer median / discrec median: >= 1.0 means discrec
# is at least as fast). The peers do not verify.
set -u
. "$DISCREC_VM_LIB"
SIZES="${WPEERS_SIZES:-32 128}"
RUNS="${WPEERS_RUNS:-3}"
DISCREC="${DISCREC:-}"
TOOLS="growisofs xorriso cdrskin"
[ -x "$DISCREC" ] && TOOLS="$TOOLS discrec-noverify discrec-verify"
now() { cut -d' ' -f1 /proc/uptime; }
DEV=$(vm_tgt_dev 1 20) || { echo "no writable drive"; echo "writable-peers: 0 burns measured, 1 failed"; exit 1; }
vm_tgt_ready "$DEV" 20
echo "# guest kernel $(uname -r), boot to scenario $(now) s; drive $DEV ($(sg_inq "$DEV" 2>/dev/null | sed -n 's/^ *Product identification: *//p' | sed 's/ *$//'), tgt over iSCSI, scsi-generic)"
echo "# $(growisofs -version 2>&1 | head -n 1 | sed 's/^ *\* *//'); $(xorriso -version 2>/dev/null | head -n 1); $(cdrskin -version 2>/dev/null | grep -m1 -i 'cdrskin version' | tr -s ' ')"
OKN=0 BADN=0 FIRST=1
: >/tmp/times
for r in $(seq 1 "$RUNS"); do
    for s in $SIZES; do
        iso=/vm-results/peers-$s.iso
        size=$(stat -c %s "$iso")
        for t in $TOOLS; do
            if [ $FIRST = 1 ]; then FIRST=0; else
                vm_tgt_new_disc 1 >/tmp/newdisc.log 2>&1 || { echo "# new disc failed before $t $s MiB run $r:"; sed 's/^/#   /' /tmp/newdisc.log; BADN=$((BADN + 1)); continue; }
            fi
            case $t in
                growisofs) cmd=(growisofs -Z "$DEV=$iso") ;;
                xorriso) cmd=(xorriso -as cdrecord -v -tao dev="$DEV" "$iso") ;;
                cdrskin) cmd=(cdrskin -tao dev="$DEV" "$iso") ;;
                discrec-noverify) cmd=("$DISCREC" burn "$iso" "$DEV" -N 'Peers' --verify none) ;;
                discrec-verify) cmd=("$DISCREC" burn "$iso" "$DEV" -N 'Peers' --verify full) ;;
            esac
            t0=$(date +%s.%N)
            timeout -k 5 600 "${cmd[@]}" >/tmp/burn.log 2>&1 </dev/null; rc=$?
            t1=$(date +%s.%N)
            back=$(vm_host_op "tgt-backing 1" 2>/dev/null | awk '{print $2}')
            sec=$(awk "BEGIN{printf \"%.2f\", $t1 - $t0}")
            if [ $rc = 0 ] && [ "${back:-0}" -ge "$size" ] 2>/dev/null; then
                OKN=$((OKN + 1)); echo "$s $t $sec" >>/tmp/times
                echo "# run $r: $t ${s} MiB: $sec s (backing file $back bytes, image $size)"
            else
                BADN=$((BADN + 1))
                echo "# run $r: $t ${s} MiB FAILED: exit $rc, backing file ${back:-?} bytes (image $size); last lines:"
                tail -n 15 /tmp/burn.log | sed 's/^/#   /'
            fi
        done
    done
done
echo
echo "| image | tool | runs | median | min | max | MiB/s (median) |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"
for s in $SIZES; do
    for t in $TOOLS; do
        v=$(awk -v s="$s" -v t="$t" '$1 == s && $2 == t {print $3}' /tmp/times | sort -n)
        n=$(printf '%s\n' "$v" | grep -c .)
        [ "$n" -gt 0 ] || { echo "| $s MiB | $t | 0 | - | - | - | - |"; continue; }
        med=$(printf '%s\n' "$v" | awk '{a[NR]=$1} END{ if (NR % 2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2 }')
        label=$t
        case $t in growisofs) label='`growisofs -Z`';; xorriso) label='`xorriso -as cdrecord -tao`';; cdrskin) label='`cdrskin -tao`';;
            discrec-noverify) label='`discrec burn --verify none`';; discrec-verify) label='`discrec burn --verify full`';; esac
        echo "| $s MiB | $label | $n | $med s | $(printf '%s\n' "$v" | head -n1) s | $(printf '%s\n' "$v" | tail -n1) s | $(awk "BEGIN{printf \"%.1f\", $s / $med}") |"
    done
done
echo
median_of() { awk -v s="$1" -v t="$2" '$1 == s && $2 == t {print $3}' /tmp/times | sort -n |
    awk '{a[NR]=$1} END{ if (NR == 0) print ""; else if (NR % 2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2 }'; }
for s in $SIZES; do
    best="" bt=""
    for t in growisofs xorriso cdrskin; do
        m=$(median_of "$s" "$t"); [ -n "$m" ] || continue
        if [ -z "$best" ] || awk "BEGIN{exit !($m < $best)}"; then best=$m bt=$t; fi
    done
    for t in discrec-noverify discrec-verify; do
        m=$(median_of "$s" "$t"); [ -n "$m" ] && [ -n "$best" ] || continue
        echo "ratio $s MiB: $t vs fastest peer ($bt, $best s): $(awk "BEGIN{printf \"%.2f\", $best / $m}")"
    done
done
echo
echo "writable-peers: $OKN burns measured, $BADN failed"
[ "$BADN" = 0 ]
