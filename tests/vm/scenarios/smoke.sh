#!/bin/bash
# Smoke test of the guest tier. Expects an ISO containing hello.txt with the
# text given as $1 (default "hello from the host"), e.g.:
#   d=$(mktemp -d); echo 'hello from the host' >"$d/hello.txt"
#   tests/vm/run.sh --iso-from "$d" tests/vm/scenarios/smoke.sh
# Checks: /dev/sr0 and /dev/sg0 exist, the iso9660 mounts and the file reads
# back, sg_inq sees the QEMU drive, xorriso -toc sees the medium; then the
# host ejects the medium on request (sr0 reports not ready), and inserts an
# ISO the guest built in /vm-results, which mounts.
set -euo pipefail
expect="${1:-hello from the host}"
step() { echo "== $*"; }

step "devices"
[ -b /dev/sr0 ] || { echo "no /dev/sr0" >&2; exit 1; }
[ -c /dev/sg0 ] || { echo "no /dev/sg0" >&2; exit 1; }
ls -l /dev/sr0 /dev/sg0
uname -r

step "mount iso9660"
mkdir -p /mnt/cd
mount -t iso9660 -o ro /dev/sr0 /mnt/cd
got=$(cat /mnt/cd/hello.txt)
[ "$got" = "$expect" ] || { echo "hello.txt: got '$got', want '$expect'" >&2; exit 1; }
echo "hello.txt: $got"
umount /mnt/cd

step "sg_inq /dev/sr0"
sg_inq /dev/sr0 | tee /tmp/inq.txt
grep -q 'Vendor identification: QEMU' /tmp/inq.txt

step "xorriso -outdev /dev/sr0 -toc"
xorriso -outdev /dev/sr0 -toc 2>&1 | tee /tmp/toc.txt
grep -q 'Media current: CD-ROM' /tmp/toc.txt

step "host-side eject via the results share"
. "$DISCREC_VM_LIB"
echo 0 >/proc/sys/dev/cdrom/autoclose
vm_eject_media
rc=0; sg_turs /dev/sr0 >/tmp/turs.txt 2>&1 || rc=$?
cat /tmp/turs.txt
# sg_turs exits 2 for NOT READY (sense key 2, e.g. MEDIUM NOT PRESENT)
[ $rc = 2 ] || { echo "TEST UNIT READY after eject: exit $rc, want 2 (not ready)" >&2; exit 1; }

step "host-side media change to an ISO built in the guest"
mkdir -p /tmp/second && echo second >/tmp/second/two.txt
iso=$(vm_make_iso /tmp/second SECOND)
vm_change_media "$iso"
# the first command after the change reports UNIT ATTENTION; retry
for i in 1 2 3 4 5 6 7 8 9 10; do sg_turs /dev/sr0 >/dev/null 2>&1 && break; sleep 0.2; done
sg_turs /dev/sr0
mount -t iso9660 -o ro /dev/sr0 /mnt/cd
[ "$(cat /mnt/cd/two.txt)" = second ] || { echo "two.txt mismatch after media change" >&2; exit 1; }
echo "two.txt: $(cat /mnt/cd/two.txt)"
umount /mnt/cd
echo "SMOKE OK"
