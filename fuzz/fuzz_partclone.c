/*
 * libFuzzer driver: the partclone image reader (src/image/partclone.c) and
 * the source sniffer (src/image/srcfmt.c).
 *
 * Any input either restores (the output is exactly the file system's size,
 * no more blocks used than it has) or is refused as corrupt or unsupported
 * with a message; never a crash, and memory grows only with the input.
 */
#include "image/srcfmt.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)bh_srcfmt_name(bh_srcfmt_sniff(data, size));
    int in = memfd_create("in", 0), out = memfd_create("out", 0);
    CHECK(in >= 0 && out >= 0);
    CHECK(write(in, data, size) == (ssize_t)size);
    CHECK(lseek(in, 0, SEEK_SET) == 0);
    struct bh_partclone_info pi;
    struct bh_err err = {0};
    int rc = bh_srcfmt_partclone(in, out, &pi, &err);
    if (rc) {
        CHECK(rc == BH_EINVAL || rc == BH_EUNSUPP || rc == BH_ENOMEM || rc == BH_EIO);
        CHECK(err.msg[0]);
    } else {
        struct stat st;
        CHECK(fstat(out, &st) == 0 && (uint64_t)st.st_size == pi.device_size);
        CHECK(pi.used_blocks <= pi.total_blocks);
        CHECK(bh_srcfmt_sniff(data, size) == BH_SRC_PARTCLONE);
    }
    close(in);
    close(out);
    return 0;
}
