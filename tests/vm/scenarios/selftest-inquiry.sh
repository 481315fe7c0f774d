#!/bin/bash
# Harness self-test: the drive's INQUIRY vendor/product are $1/$2.
set -euo pipefail
[ -b /dev/sr0 ] || { echo "no /dev/sr0" >&2; exit 1; }
sg_inq /dev/sr0 | tee /tmp/inq.txt | grep -E 'Vendor|Product'
grep -q "Vendor identification: $1" /tmp/inq.txt
grep -q "Product identification: $2" /tmp/inq.txt
