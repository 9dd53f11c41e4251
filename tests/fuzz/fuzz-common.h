/* SPDX-License-Identifier: MIT */
/*
 * fuzz-common.h -- shared bits of the libFuzzer harnesses: the entry point
 * prototypes, a bounded byte reader over the fuzz input, an in-memory file
 * for APIs that want a path, and FUZZ_CHECK for harness-level invariants
 * (a violated invariant aborts, which libFuzzer reports as a crash).
 */
#ifndef MAILTAP_FUZZ_COMMON_H
#define MAILTAP_FUZZ_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant the parser's header promises; failing it is a bug. */
#define FUZZ_CHECK(cond)                                                         \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, \
				__LINE__, #cond);                                \
			abort();                                                 \
		}                                                                \
	} while (0)

/* Consume-from-the-front reader.  Reads past the end return zeros. */
struct fz {
	const uint8_t *p;
	size_t len;
};

static inline void fz_init(struct fz *f, const uint8_t *p, size_t len)
{
	f->p = p;
	f->len = len;
}

static inline uint8_t fz_u8(struct fz *f)
{
	uint8_t v = 0;
	if (f->len) {
		v = f->p[0];
		f->p++;
		f->len--;
	}
	return v;
}

static inline uint16_t fz_u16(struct fz *f)
{
	uint16_t hi = fz_u8(f);
	return (uint16_t)((hi << 8) | fz_u8(f));
}

static inline uint32_t fz_u32(struct fz *f)
{
	uint32_t hi = fz_u16(f);
	return (hi << 16) | fz_u16(f);
}

/* Take up to n bytes (fewer at the end); returns how many, *out borrowed. */
static inline size_t fz_bytes(struct fz *f, size_t n, const uint8_t **out)
{
	if (n > f->len)
		n = f->len;
	*out = f->p;
	f->p += n;
	f->len -= n;
	return n;
}

/*
 * Put @len bytes in an anonymous in-memory file and write its
 * "/proc/self/fd/N" path into @path.  Returns the fd (close it when done)
 * or -1.
 */
static inline int fz_memfile(const void *data, size_t len, char *path, size_t pathlen)
{
	int fd = memfd_create("mailtap-fuzz", MFD_CLOEXEC);
	const uint8_t *p = data;
	if (fd < 0)
		return -1;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w <= 0) {
			close(fd);
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	return fd;
}

/* Touch every byte so ASan sees an out-of-bounds range. */
static inline unsigned fz_touch(const uint8_t *p, size_t n)
{
	unsigned s = 0;
	for (size_t i = 0; i < n; i++)
		s += p[i];
	return s;
}

#endif
