/* SPDX-License-Identifier: MIT */
/*
 * fuzz-stream-prefix.c -- stream_prefix_add() over a sequence of segments,
 * checked against a byte-per-byte model, then the contiguous prefix parsed
 * as a ClientHello (as app-layer.c does).
 *
 * Input:
 *   u8  cap selector (1, 2, 16, 517, 1500, 4096, 16384 or 0 bytes)
 *   u8  flags: bit0 set the ISN before the first segment, bit1 after it,
 *       bit2 give the prefix a NULL buffer
 *   u32 ISN
 *   then segments until the input ends:
 *   u8  seq mode: 0-63 seq = ISN + u16 offset; 64-127 seq = ISN - u16;
 *       128-191 seq = previous end; 192-255 seq = u32 as given
 *   u16 or u32 (per mode; nothing for "previous end")
 *   u16 length, then that many payload bytes (fewer at the end of input)
 *
 * The model: a shadow buffer and a "known" flag per stream offset.  A
 * segment stored by the prefix fills only unknown offsets in [0, cap)
 * (first copy wins); a segment the prefix refused with -ENOSPC changes
 * nothing.  After each segment: the return value equals the number of newly
 * known bytes, the ranges are sorted, disjoint and non-adjacent, the
 * contiguous prefix matches the model byte for byte and is exactly the
 * model's known run from 0.
 */
#include "fuzz-common.h"

#include <errno.h>

#include "app-tls.h"
#include "stream-prefix.h"

static const size_t caps[8] = { 1, 2, 16, 517, 1500, 4096, 16384, 0 };

struct model {
	size_t cap;
	uint8_t *buf;
	uint8_t *known;
	bool has_isn;
	uint32_t isn;
};

static void check_ranges(const struct stream_prefix *sp)
{
	FUZZ_CHECK(sp->nranges <= STREAM_PREFIX_MAX_RANGES);
	for (unsigned i = 0; i < sp->nranges; i++) {
		FUZZ_CHECK(sp->ranges[i].start < sp->ranges[i].end);
		FUZZ_CHECK(sp->ranges[i].end <= sp->cap);
		if (i)
			FUZZ_CHECK(sp->ranges[i - 1].end < sp->ranges[i].start);
	}
}

/* Count (and with @apply, store) the bytes the model keeps of a segment. */
static int model_add(struct model *m, uint32_t seq, const uint8_t *d, size_t len, bool apply)
{
	uint32_t off;
	size_t skip = 0;
	int added = 0;

	if (!len)
		return 0;
	if (!m->has_isn) {
		if (apply) {
			m->isn = seq;
			m->has_isn = true;
		} else {
			off = 0;
			goto counted;
		}
	}
	off = seq - m->isn;
	if (off & 0x80000000u) {
		skip = m->isn - seq;
		if (skip >= len)
			return 0;
		off = 0;
	}
counted:
	for (size_t i = skip; i < len; i++) {
		size_t o = (size_t)off + (i - skip);
		if (o >= m->cap)
			break;
		if (!m->known[o]) {
			if (apply) {
				m->known[o] = 1;
				m->buf[o] = d[i];
			}
			added++;
		}
	}
	return added;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tls_hello h;
	struct stream_prefix sp;
	struct model m;
	struct fz in;
	uint8_t flags, *buf;
	uint32_t isn, seq, prev_end;
	size_t cap;
	unsigned nseg = 0;

	fz_init(&in, data, size);
	cap = caps[fz_u8(&in) & 7];
	flags = fz_u8(&in);
	isn = fz_u32(&in);

	buf = malloc(cap ? cap : 1);
	memset(&m, 0, sizeof(m));
	m.cap = (flags & 4) ? 0 : cap;
	m.buf = calloc(1, cap + 1);
	m.known = calloc(1, cap + 1);
	if (!buf || !m.buf || !m.known)
		abort();
	stream_prefix_init(&sp, (flags & 4) ? NULL : buf, cap);
	FUZZ_CHECK(sp.cap == m.cap);
	if (flags & 1) {
		stream_prefix_set_isn(&sp, isn);
		m.has_isn = true;
		m.isn = isn;
	}
	prev_end = isn;

	while (in.len && nseg++ < 256) {
		uint8_t mode = fz_u8(&in);
		const uint8_t *seg;
		uint8_t *copy;
		size_t len;
		int got, want;

		if (mode < 64)
			seq = isn + fz_u16(&in);
		else if (mode < 128)
			seq = isn - fz_u16(&in);
		else if (mode < 192)
			seq = prev_end;
		else
			seq = fz_u32(&in);
		len = fz_bytes(&in, fz_u16(&in), &seg);

		/* exact-size copy: catches reads past the segment */
		copy = malloc(len ? len : 1);
		if (!copy)
			abort();
		memcpy(copy, seg, len);
		want = model_add(&m, seq, copy, len, false);
		got = stream_prefix_add(&sp, seq, copy, len);
		FUZZ_CHECK(got == -ENOSPC || got >= 0);
		if (got != -ENOSPC) {
			FUZZ_CHECK(got == want);
			(void)model_add(&m, seq, copy, len, true);
		}
		free(copy);

		prev_end = seq + (uint32_t)len;
		if (nseg == 1 && (flags & 2)) {
			stream_prefix_set_isn(&sp, isn + 7); /* ignored once an ISN is known */
			if (!m.has_isn) {
				m.isn = isn + 7;
				m.has_isn = true;
			}
		}
		check_ranges(&sp);
		FUZZ_CHECK(sp.has_isn == m.has_isn);
		if (sp.has_isn)
			FUZZ_CHECK(sp.isn == m.isn);
		{
			size_t n = stream_prefix_contiguous(&sp), run = 0;
			while (run < m.cap && m.known[run])
				run++;
			FUZZ_CHECK(n == run);
			FUZZ_CHECK(n == 0 || memcmp(buf, m.buf, n) == 0);
			FUZZ_CHECK(stream_prefix_complete(&sp) == (m.cap && run == m.cap));
		}
	}
	{
		size_t n = stream_prefix_contiguous(&sp);
		if (n)
			(void)tls_client_hello_parse(buf, n, &h);
	}
	free(buf);
	free(m.buf);
	free(m.known);
	return 0;
}
