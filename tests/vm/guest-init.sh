#!/bin/busybox sh
# /init of the QEMU guest test tier (busybox-static initramfs).
# Copied into the initramfs by build-initramfs.sh; @KVER@ is substituted.
#
# 1. mount proc/sys/devtmpfs, insmod the modules (order from modprobe --show-depends)
# 2. host root (9p tag "hostroot", read-only) + tmpfs upper  -> overlay on /newroot
# 3. results share (9p tag "results", writable)              -> /newroot/vm-results
# 4. chroot, mount /proc /sys /dev /dev/pts /dev/shm /tmp /run inside it
# 5. run the scenario (kernel cmdline discrec.script=PATH, default
#    /vm-results/scenario.sh written by run.sh); stdout, stderr and the exit
#    status go to /vm-results/{stdout,stderr,status}
# 6. poweroff -f. No status file on the host = the guest crashed or timed out.

/bin/busybox mkdir -p /proc /sys /dev /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

KVER=@KVER@
log() { echo "vm-init: $*" >/dev/console; }
fail() {
    log "FATAL: $*"
    [ -d /newroot/vm-results ] && echo "vm-init: FATAL: $*" >>/newroot/vm-results/init-error
    sync
    poweroff -f
    sleep 5
    exit 1
}

cmdline_arg() { # cmdline_arg NAME -> value of NAME=... on the kernel command line
    for w in $(cat /proc/cmdline); do
        case "$w" in "$1="*) echo "${w#*=}"; return 0;; esac
    done
    return 1
}

while read -r mod; do
    [ -n "$mod" ] || continue
    insmod "/lib/modules/$KVER/$mod" 2>/dev/null || log "insmod $mod failed"
done </lib/modules/$KVER/load-order

# overlay: read-only host root below, tmpfs above
mkdir -p /lower /rw /newroot
MSIZE=262144
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=$MSIZE,cache=loose hostroot /lower ||
    fail "cannot mount the hostroot 9p share"
mount -t tmpfs -o mode=0755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot ||
    fail "cannot mount the overlay"
mkdir -p /newroot/vm-results
mount -t 9p -o trans=virtio,version=9p2000.L,msize=$MSIZE results /newroot/vm-results ||
    fail "cannot mount the results 9p share"
R=/newroot/vm-results
cat /proc/uptime >$R/uptime-mounted

# the guest kernel's modules, for modprobe inside the chroot
mkdir -p /newroot/lib/modules/$KVER
mount --bind /lib/modules/$KVER /newroot/lib/modules/$KVER

for d in proc sys dev tmp run; do mkdir -p /newroot/$d; done
mount -t proc proc /newroot/proc
mount -t sysfs sysfs /newroot/sys
mount -t devtmpfs devtmpfs /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /newroot/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /newroot/dev/shm
mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp
mount -t tmpfs -o mode=0755 tmpfs /newroot/run

# Wait for the CD drive (SCSI scanning is asynchronous).
if [ "$(cmdline_arg discrec.cd)" = 1 ]; then
    i=0
    while [ ! -e /dev/sr0 ] || [ ! -e /dev/sg0 ]; do
        i=$((i + 1))
        [ $i -le 200 ] || { log "no /dev/sr0 after 20 s"; break; }
        sleep 0.1
    done
fi

SCRIPT=$(cmdline_arg discrec.script) || SCRIPT=/vm-results/scenario.sh
cat /proc/uptime >$R/uptime-start
log "running $SCRIPT"
chroot /newroot /usr/bin/env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root TERM=dumb LANG=C.UTF-8 DISCREC_VM=1 DISCREC_VM_RESULTS=/vm-results \
    DISCREC_VM_KVER=$KVER \
    "$SCRIPT" >$R/stdout 2>$R/stderr </dev/null
rc=$?
cat /proc/uptime >$R/uptime-end
echo $rc >$R/status.tmp
mv $R/status.tmp $R/status
log "scenario exited $rc"
sync
poweroff -f
sleep 5
