#!/bin/sh
# Harness self-test: never finishes; run.sh must report TIMEOUT (exit 124).
echo "hanging on purpose"
sleep 100000
