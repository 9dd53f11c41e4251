/* SPDX-License-Identifier: MIT */
/*
 * stream-prefix.c -- first-N-bytes TCP reassembly into a caller buffer.
 * Offsets are computed from the ISN with 32-bit serial arithmetic (RFC 1982,
 * RFC 9293 3.4), so "before the ISN" means up to 2^31 behind it.  A sorted
 * array of disjoint ranges records which offsets hold data; new segments
 * only fill bytes no earlier segment supplied.  Segment bytes are read
 * through util-cursor.h.
 */
#include "stream-prefix.h"

#include <errno.h>
#include <string.h>

#include "util-cursor.h"

void stream_prefix_init(struct stream_prefix *sp, uint8_t *buf, size_t cap)
{
	memset(sp, 0, sizeof(*sp));
	sp->buf = buf;
	sp->cap = buf ? (cap < STREAM_PREFIX_MAX_CAP ? cap : STREAM_PREFIX_MAX_CAP) : 0;
}

void stream_prefix_set_isn(struct stream_prefix *sp, uint32_t isn)
{
	if (sp->has_isn)
		return;
	sp->isn = isn;
	sp->has_isn = true;
}

/* Store segment bytes [from, to) (stream offsets); @seg starts at @seg_start. */
static int store(struct stream_prefix *sp, const struct cursor *seg, uint32_t seg_start,
		 uint32_t from, uint32_t to)
{
	struct cursor part = *seg;

	if (!cur_skip(&part, from - seg_start) || !cur_copy(&part, sp->buf + from, to - from))
		return 0; /* cannot happen: [from, to) lies inside the segment */
	return (int)(to - from);
}

int stream_prefix_add(struct stream_prefix *sp, uint32_t seq, const uint8_t *data, size_t len)
{
	struct stream_prefix_range *r = sp->ranges;
	struct cursor seg;
	uint32_t start, end, pos, off;
	unsigned i, j, k, n = sp->nranges;
	int added = 0;

	if (len == 0)
		return 0;
	cur_init(&seg, data, len);
	stream_prefix_set_isn(sp, seq);

	off = seq - sp->isn;
	if (off & 0x80000000u) { /* starts before the ISN: cut the head */
		if (!cur_skip(&seg, sp->isn - seq))
			return 0;
		off = 0;
	}
	if (off >= sp->cap) {
		sp->full = true;
		return 0;
	}
	if (cur_len(&seg) > sp->cap - off) {
		cur_truncate(&seg, sp->cap - off);
		sp->full = true;
	}
	if (cur_len(&seg) == 0)
		return 0;
	start = off;
	end = start + (uint32_t)cur_len(&seg);

	/* Ranges i..j-1 overlap or touch [start, end). */
	for (i = 0; i < n && r[i].end < start; i++)
		;
	for (j = i; j < n && r[j].start <= end; j++)
		;
	if (i == j && n == STREAM_PREFIX_MAX_RANGES) {
		sp->range_overflows++;
		return -ENOSPC;
	}

	/* Fill only the holes: the first copy of a byte wins.  Ranges i..j-1
	 * are sorted and each ends at or after start and starts by end. */
	pos = start;
	for (k = i; k < j; k++) {
		if (r[k].start > pos)
			added += store(sp, &seg, start, pos, r[k].start);
		pos = r[k].end;
	}
	if (pos < end)
		added += store(sp, &seg, start, pos, end);

	if (i == j) {
		memmove(&r[i + 1], &r[i], (n - i) * sizeof(*r));
		r[i].start = start;
		r[i].end = end;
		sp->nranges++;
	} else {
		r[i].start = r[i].start < start ? r[i].start : start;
		r[i].end = r[j - 1].end > end ? r[j - 1].end : end;
		memmove(&r[i + 1], &r[j], (n - j) * sizeof(*r));
		sp->nranges = (uint8_t)(n - (j - i - 1));
	}
	return added;
}

size_t stream_prefix_contiguous(const struct stream_prefix *sp)
{
	return sp->nranges && sp->ranges[0].start == 0 ? sp->ranges[0].end : 0;
}

bool stream_prefix_complete(const struct stream_prefix *sp)
{
	return sp->cap && stream_prefix_contiguous(sp) == sp->cap;
}
