#!/bin/sh
# Harness self-test: exits with the status given as $1 (with output on both streams).
echo "stdout line; args: $*"
echo "stderr line" >&2
exit "${1:-0}"
