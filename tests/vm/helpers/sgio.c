/*
 * sgio: send one SCSI command through SG_IO and keep exactly what the device
 * transferred (allocation length minus the residual count). sg_raw(8) always
 * writes the whole allocation length, so it cannot tell a 40-byte answer from
 * a 65530-byte one.
 *
 *   sgio [-r ALLOC] [-o DATA_FILE] [-s SENSE_FILE] DEVICE CDB-HEX-BYTES...
 *
 * Prints "status=0xSS host=0xHH driver=0xDD resid=N transferred=N sense=HEX"
 * on stdout. Exit: 0 GOOD, 1 any other SCSI/host/driver status, 2 usage or
 * system error. Built by tests/vm/fetch.sh into $DISCREC_VM_CACHE/bin/sgio.
 */
#include <errno.h>
#include <fcntl.h>
#include <scsi/sg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int write_file(const char *path, const unsigned char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "sgio: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long alloc = 0;
    const char *out = NULL, *sense_out = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "r:o:s:")) != -1) {
        switch (opt) {
        case 'r': alloc = strtoul(optarg, NULL, 0); break;
        case 'o': out = optarg; break;
        case 's': sense_out = optarg; break;
        default: goto usage;
        }
    }
    if (argc - optind < 2 || argc - optind - 1 > 16)
        goto usage;
    const char *dev = argv[optind++];
    unsigned char cdb[16];
    int cdb_len = 0;
    for (; optind < argc; optind++) {
        char *end;
        unsigned long b = strtoul(argv[optind], &end, 16);
        if (*end || b > 0xff)
            goto usage;
        cdb[cdb_len++] = (unsigned char)b;
    }
    int fd = open(dev, O_RDWR | O_NONBLOCK);
    if (fd < 0) {
        fprintf(stderr, "sgio: open %s: %s\n", dev, strerror(errno));
        return 2;
    }
    unsigned char *buf = calloc(1, alloc ? alloc : 1);
    unsigned char sense[64] = {0};
    sg_io_hdr_t io;
    memset(&io, 0, sizeof io);
    io.interface_id = 'S';
    io.cmdp = cdb;
    io.cmd_len = cdb_len;
    io.dxfer_direction = alloc ? SG_DXFER_FROM_DEV : SG_DXFER_NONE;
    io.dxferp = alloc ? buf : NULL;
    io.dxfer_len = alloc;
    io.sbp = sense;
    io.mx_sb_len = sizeof sense;
    io.timeout = 20000;
    if (ioctl(fd, SG_IO, &io) < 0) {
        fprintf(stderr, "sgio: SG_IO: %s\n", strerror(errno));
        return 2;
    }
    long got = (long)alloc - io.resid;
    if (got < 0)
        got = 0;
    printf("status=0x%02x host=0x%02x driver=0x%02x resid=%d transferred=%ld sense=",
           io.status, io.host_status, io.driver_status, io.resid, got);
    for (int i = 0; i < io.sb_len_wr; i++)
        printf("%02x", sense[i]);
    printf("\n");
    if (out && got > 0 && write_file(out, buf, (size_t)got) < 0)
        return 2;
    if (sense_out && io.sb_len_wr > 0 && write_file(sense_out, sense, io.sb_len_wr) < 0)
        return 2;
    return (io.status || io.host_status || (io.driver_status & 0x0f)) ? 1 : 0;
usage:
    fprintf(stderr, "usage: sgio [-r ALLOC] [-o DATA_FILE] [-s SENSE_FILE] DEVICE CDB-HEX-BYTES...\n");
    return 2;
}
