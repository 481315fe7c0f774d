#!/bin/sh
# Harness self-test: panics the guest kernel; run.sh must report GUEST CRASH (exit 125).
echo "crashing the guest kernel on purpose"
echo 1 >/proc/sys/kernel/sysrq
echo c >/proc/sysrq-trigger
sleep 60
