/*
 * testfiles.h - files and data for the cmocka tests of the image store and
 * the deploy engine (include after cmocka.h).
 */
#ifndef BH_TESTS_TESTFILES_H
#define BH_TESTS_TESTFILES_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* dir/name, in one of four rotating static buffers */
static inline const char *dir_path(const char *dir, const char *name)
{
    static char buf[4][512];
    static int i;
    char *p = buf[i++ % 4];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

/* Deterministic pseudo-random bytes (xorshift64*). */
static inline void fill_random(uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t s = seed * 0x9e3779b97f4a7c15u + 1;
    for (size_t i = 0; i < n; i++) {
        if (i % 8 == 0) {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
        }
        p[i] = (uint8_t)((s * 0x2545f4914f6cdd1du) >> (8 * (i % 8)));
    }
}

static inline void write_file(const char *p, const uint8_t *d, size_t n)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, d, n), (ssize_t)n);
    close(fd);
}

/* The whole file, malloc'd (one byte more, for a NUL). */
static inline uint8_t *read_file(const char *p, size_t *n)
{
    int fd = open(p, O_RDONLY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    uint8_t *d = malloc((size_t)st.st_size + 1);
    assert_non_null(d);
    assert_int_equal(pread(fd, d, (size_t)st.st_size, 0), st.st_size);
    close(fd);
    *n = (size_t)st.st_size;
    return d;
}

#endif
