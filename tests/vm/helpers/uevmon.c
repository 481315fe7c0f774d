/*
 * uevmon: print the kernel's uevents (NETLINK_KOBJECT_UEVENT, the kernel
 * multicast group, as udevd would see them) one per line, for guests without
 * udev. Each line: seconds since start (CLOCK_MONOTONIC), then the event's
 * KEY=VALUE pairs separated by spaces, e.g.
 *   0.512 ACTION=change DEVPATH=/devices/.../block/sr0 SUBSYSTEM=block
 *         DISK_MEDIA_CHANGE=1 DEVNAME=sr0 DEVTYPE=disk SEQNUM=1234 ...
 * Line-buffered, so a scenario can run it in the background into a file and
 * grep the file. Events are printed only if they mention FILTER (a substring
 * of the whole event) when one is given.
 *
 *   uevmon [FILTER]
 *
 * Prints "uevmon: listening" on stderr once the socket is bound (events
 * before that moment are not seen). Exit: 2 on a socket error.
 * Built by tests/vm/lib.sh (vm_build_helpers) into $DISCREC_VM_CACHE/bin.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
    if (fd < 0) {
        fprintf(stderr, "uevmon: socket: %s\n", strerror(errno));
        return 2;
    }
    int rcv = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv);
    struct sockaddr_nl sa;
    memset(&sa, 0, sizeof sa);
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = 1; /* kernel events (udevd re-broadcasts on group 2) */
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        fprintf(stderr, "uevmon: bind: %s\n", strerror(errno));
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    fprintf(stderr, "uevmon: listening\n");
    double t0 = now();
    static char buf[16384];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ENOBUFS) {
                printf("%.3f uevmon: ENOBUFS (events lost)\n", now() - t0);
                continue;
            }
            fprintf(stderr, "uevmon: recv: %s\n", strerror(errno));
            return 2;
        }
        buf[n] = 0;
        /* "ACTION@DEVPATH\0KEY=VALUE\0..." -> join with spaces */
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] == 0)
                buf[i] = ' ';
        if (filter && !strstr(buf, filter))
            continue;
        char *kv = strchr(buf, ' '); /* skip the ACTION@DEVPATH header */
        printf("%.3f %s\n", now() - t0, kv ? kv + 1 : buf);
    }
}
