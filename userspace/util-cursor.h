/* SPDX-License-Identifier: MIT */
/*
 * util-cursor.h -- the one bounds-checked reader every packet parser uses.
 *
 * A cursor is a (pointer, remaining length) pair over borrowed bytes, in the
 * shape of BoringSSL's CBS.  Every read checks the remaining length first and
 * returns false, consuming nothing, when the bytes are not there.  Lengths
 * taken from the wire become child cursors (cur_sub, cur_*_prefixed), so a
 * parser can never read past what a header declared.  No parser indexes
 * packet memory directly: they all go through these functions.
 *
 * Ownership: a cursor borrows the bytes it points at; it never frees them.
 */
#ifndef MAILTAP_UTIL_CURSOR_H
#define MAILTAP_UTIL_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CUR_MUST_CHECK __attribute__((warn_unused_result))

struct cursor {
	const uint8_t *p; /* borrowed: next unread byte */
	size_t len;       /* bytes remaining */
};

/* An empty cursor keeps its position (not NULL), so zero-length reads and
 * cur_offset() stay defined for empty children. */
static inline void cur_init(struct cursor *c, const uint8_t *p, size_t len)
{
	c->p = p;
	c->len = p ? len : 0;
}

static inline size_t cur_len(const struct cursor *c) { return c->len; }

/* Borrowed pointer to the next unread byte; valid as long as the data is. */
static inline const uint8_t *cur_ptr(const struct cursor *c) { return c->p; }

/* Narrow the cursor to at most n bytes (drops link padding after an IP
 * datagram, for example).  Never grows it. */
static inline void cur_truncate(struct cursor *c, size_t n)
{
	if (n < c->len)
		c->len = n;
}

static inline CUR_MUST_CHECK bool cur_skip(struct cursor *c, size_t n)
{
	if (c->len < n)
		return false;
	c->p += n;
	c->len -= n;
	return true;
}

static inline CUR_MUST_CHECK bool cur_u8(struct cursor *c, uint8_t *out)
{
	if (c->len < 1)
		return false;
	*out = c->p[0];
	c->p++;
	c->len--;
	return true;
}

static inline CUR_MUST_CHECK bool cur_be16(struct cursor *c, uint16_t *out)
{
	if (c->len < 2)
		return false;
	*out = (uint16_t)((c->p[0] << 8) | c->p[1]);
	c->p += 2;
	c->len -= 2;
	return true;
}

static inline CUR_MUST_CHECK bool cur_be24(struct cursor *c, uint32_t *out)
{
	if (c->len < 3)
		return false;
	*out = ((uint32_t)c->p[0] << 16) | ((uint32_t)c->p[1] << 8) | c->p[2];
	c->p += 3;
	c->len -= 3;
	return true;
}

static inline CUR_MUST_CHECK bool cur_be32(struct cursor *c, uint32_t *out)
{
	if (c->len < 4)
		return false;
	*out = ((uint32_t)c->p[0] << 24) | ((uint32_t)c->p[1] << 16) |
	       ((uint32_t)c->p[2] << 8) | c->p[3];
	c->p += 4;
	c->len -= 4;
	return true;
}

/* Little-endian 16/32-bit reads (loopback/null link headers, pcap bodies). */
static inline CUR_MUST_CHECK bool cur_le16(struct cursor *c, uint16_t *out)
{
	if (c->len < 2)
		return false;
	*out = (uint16_t)(c->p[0] | (c->p[1] << 8));
	c->p += 2;
	c->len -= 2;
	return true;
}

static inline CUR_MUST_CHECK bool cur_le32(struct cursor *c, uint32_t *out)
{
	if (c->len < 4)
		return false;
	*out = (uint32_t)c->p[0] | ((uint32_t)c->p[1] << 8) |
	       ((uint32_t)c->p[2] << 16) | ((uint32_t)c->p[3] << 24);
	c->p += 4;
	c->len -= 4;
	return true;
}

static inline CUR_MUST_CHECK bool cur_peek_u8(const struct cursor *c, uint8_t *out)
{
	if (c->len < 1)
		return false;
	*out = c->p[0];
	return true;
}

static inline CUR_MUST_CHECK bool cur_peek_be16(const struct cursor *c, uint16_t *out)
{
	if (c->len < 2)
		return false;
	*out = (uint16_t)((c->p[0] << 8) | c->p[1]);
	return true;
}

/* Borrow n bytes: *out points into the cursor's data. */
static inline CUR_MUST_CHECK bool cur_bytes(struct cursor *c, size_t n, const uint8_t **out)
{
	if (c->len < n)
		return false;
	*out = c->p;
	c->p += n;
	c->len -= n;
	return true;
}

/* Copy n bytes into dst (which must hold n bytes). */
static inline CUR_MUST_CHECK bool cur_copy(struct cursor *c, void *dst, size_t n)
{
	if (c->len < n)
		return false;
	if (n)
		memcpy(dst, c->p, n);
	c->p += n;
	c->len -= n;
	return true;
}

/* Take the next n bytes as a child cursor and advance past them. */
static inline CUR_MUST_CHECK bool cur_sub(struct cursor *c, size_t n, struct cursor *child)
{
	if (c->len < n)
		return false;
	cur_init(child, c->p, n);
	c->p += n;
	c->len -= n;
	return true;
}

/* Length-prefixed children (TLS vectors, DNS labels). On failure nothing is
 * consumed. */
static inline CUR_MUST_CHECK bool cur_u8_prefixed(struct cursor *c, struct cursor *child)
{
	struct cursor save = *c;
	uint8_t n;
	if (!cur_u8(c, &n) || !cur_sub(c, n, child)) {
		*c = save;
		return false;
	}
	return true;
}

static inline CUR_MUST_CHECK bool cur_be16_prefixed(struct cursor *c, struct cursor *child)
{
	struct cursor save = *c;
	uint16_t n;
	if (!cur_be16(c, &n) || !cur_sub(c, n, child)) {
		*c = save;
		return false;
	}
	return true;
}

static inline CUR_MUST_CHECK bool cur_be24_prefixed(struct cursor *c, struct cursor *child)
{
	struct cursor save = *c;
	uint32_t n;
	if (!cur_be24(c, &n) || !cur_sub(c, n, child)) {
		*c = save;
		return false;
	}
	return true;
}

/* True when every byte has been consumed. */
static inline bool cur_expect_end(const struct cursor *c) { return c->len == 0; }

/* A cursor positioned at byte `off` of the same data, for DNS compression
 * pointers: base must be the start of the message. */
static inline CUR_MUST_CHECK bool cur_at(const struct cursor *base, size_t off, struct cursor *out)
{
	if (off > base->len)
		return false;
	cur_init(out, base->p + off, base->len - off);
	return true;
}

/* Offset of c's read position from base's start (both over the same data). */
static inline size_t cur_offset(const struct cursor *base, const struct cursor *c)
{
	return (size_t)(c->p - base->p);
}

#endif
