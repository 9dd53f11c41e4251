/* SPDX-License-Identifier: MIT */
/*
 * stream-prefix.h -- bounded reassembly of the first bytes of one TCP
 * direction into a caller-provided buffer, enough to parse a ClientHello or
 * a STARTTLS exchange.  Segments may arrive out of order, retransmitted or
 * overlapping; sequence numbers use 32-bit serial arithmetic (RFC 1982), so
 * wrap-around at 0xffffffff is transparent.  Overlaps keep the bytes that
 * arrived first (BSD/Suricata "first" policy).  Nothing past `cap` bytes is
 * kept, and nothing is allocated.  Does not track SYN/FIN/RST itself: the
 * caller passes the ISN (SYN seq + 1) when it saw the SYN.
 */
#ifndef MAILTAP_STREAM_PREFIX_H
#define MAILTAP_STREAM_PREFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Disjoint received ranges remembered.  One range is the in-order prefix;
 * the rest are islands after holes.  A hello rarely spans more than a few
 * segments, so 8 islands is plenty (a segment that would need a 9th is
 * dropped and counted in `range_overflows`). */
#define STREAM_PREFIX_MAX_RANGES 8
/* Largest usable buffer: offsets must stay inside half the sequence space
 * for serial arithmetic to order them.  Larger capacities are clamped. */
#define STREAM_PREFIX_MAX_CAP ((size_t)1 << 30)

struct stream_prefix_range {
	uint32_t start, end; /* byte offsets from isn, [start, end) */
};

struct stream_prefix {
	uint8_t *buf;     /* borrowed: caller owns it; must outlive sp */
	size_t cap;       /* bytes of buf in use at most */
	uint32_t isn;     /* sequence number of stream byte 0 */
	bool has_isn;
	bool full;        /* some data fell at or past cap and was cut */
	uint8_t nranges;
	struct stream_prefix_range ranges[STREAM_PREFIX_MAX_RANGES]; /* sorted,
	                  * disjoint and non-adjacent */
	uint32_t range_overflows; /* segments dropped for lack of a range */
};

/* Start empty over @buf (borrowed, @cap bytes, caller-owned). */
void stream_prefix_init(struct stream_prefix *sp, uint8_t *buf, size_t cap);

/* Set the sequence number of the first payload byte (SYN seq + 1).  Only
 * takes effect before the ISN is known: once set (explicitly or by the
 * first data segment) it is kept. */
void stream_prefix_set_isn(struct stream_prefix *sp, uint32_t isn);

/*
 * Add a segment's captured payload: @data (borrowed for the call) holds
 * @len bytes starting at sequence @seq.  Pass only captured bytes; missing
 * bytes of a snapped segment simply stay a hole.  Without an ISN, @seq
 * becomes it.  Bytes before the ISN or at/after cap are cut.  Returns the
 * number of new bytes stored (>= 0), or -ENOSPC when the segment would need
 * more than STREAM_PREFIX_MAX_RANGES ranges and was dropped.
 */
int stream_prefix_add(struct stream_prefix *sp, uint32_t seq, const uint8_t *data, size_t len);

/* Bytes available in order from offset 0 (buf[0 .. n-1] are valid). */
size_t stream_prefix_contiguous(const struct stream_prefix *sp);

/* True when the whole buffer is filled in order: nothing more to collect. */
bool stream_prefix_complete(const struct stream_prefix *sp);

#endif
