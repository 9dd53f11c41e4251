/* SPDX-License-Identifier: MIT */
/*
 * app-dns.c -- DNS response parsing (RFC 1035): a structural walk over every
 * section, then a bounded CNAME-chain walk from the question name and a pass
 * that keeps the A/AAAA answers owned by a name on that chain.  All wire
 * reads go through util-cursor.h; names are decoded by a loop with a jump
 * budget, never by recursion.  See app-dns.h for the decisions taken.
 */
#include "app-dns.h"

#include <stdbool.h>
#include <string.h>

#define DNS_FLAG_QR 0x8000
#define DNS_FLAG_TC 0x0200
#define DNS_PTR_MASK 0xc0 /* top bits 11: compression pointer */

/* One resource record header; both cursors borrow the message. */
struct dns_rr {
	struct cursor owner; /* at the owner name, decoded on demand */
	uint16_t type, rclass;
	uint32_t ttl;
	struct cursor rdata;
};

/* Lower-case an allowed name character; anything else clears *ok. */
static char dns_name_char(uint8_t ch, bool *ok)
{
	if (ch >= 'A' && ch <= 'Z')
		return (char)(ch - 'A' + 'a');
	if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_')
		return (char)ch;
	*ok = false;
	return '?';
}

/*
 * Decode the name at @c into @out (DNS_NAME_BUF bytes, always NUL-terminated
 * on DNS_OK) and advance @c past it: past the first compression pointer, or
 * past the root label.  @msg is the whole message, for pointers.  *ok tells
 * whether every character was allowed.
 */
static enum dns_result dns_name_read(const struct cursor *msg, struct cursor *c,
				     char *out, bool *ok)
{
	struct cursor pos = *c;
	size_t floor, wire = 1, n = 0; /* wire: bytes incl. the root label */
	unsigned labels = 0, jumps = 0;
	bool jumped = false;
	uint8_t len, lo, ch;

	*ok = true;
	if (!cur_len(c))
		return DNS_TRUNCATED;
	floor = cur_offset(msg, c); /* pointers must land below this */
	for (;;) {
		if (!cur_u8(&pos, &len))
			return DNS_TRUNCATED;
		if ((len & DNS_PTR_MASK) == DNS_PTR_MASK) {
			size_t off;
			if (!cur_u8(&pos, &lo))
				return DNS_TRUNCATED;
			off = ((size_t)(len & ~DNS_PTR_MASK) << 8) | lo;
			if (off >= floor || off < DNS_HEADER_LEN || ++jumps > DNS_MAX_PTR_JUMPS)
				return DNS_INVALID;
			if (!jumped)
				*c = pos;
			jumped = true;
			if (!cur_at(msg, off, &pos))
				return DNS_INVALID;
			floor = off;
			continue;
		}
		if (len > DNS_LABEL_MAX) /* 0x40 and 0x80 label types */
			return DNS_INVALID;
		if (len == 0)
			break;
		wire += (size_t)len + 1;
		if (++labels > DNS_MAX_LABELS || wire > DNS_NAME_MAX)
			return DNS_INVALID;
		if (n)
			out[n++] = '.';
		for (unsigned i = 0; i < len; i++) {
			if (!cur_u8(&pos, &ch))
				return DNS_TRUNCATED;
			out[n++] = dns_name_char(ch, ok);
		}
	}
	if (!jumped)
		*c = pos;
	if (!n)
		out[n++] = '.';
	out[n] = '\0';
	return DNS_OK;
}

/* Step over a name without following pointers (cheap, checks labels only). */
static enum dns_result dns_name_skip(struct cursor *c)
{
	uint8_t len;

	for (;;) {
		if (!cur_u8(c, &len))
			return DNS_TRUNCATED;
		if ((len & DNS_PTR_MASK) == DNS_PTR_MASK)
			return cur_skip(c, 1) ? DNS_OK : DNS_TRUNCATED;
		if (len > DNS_LABEL_MAX)
			return DNS_INVALID;
		if (!len)
			return DNS_OK;
		if (!cur_skip(c, len))
			return DNS_TRUNCATED;
	}
}

/* Read a record header; the owner is only skipped (see dns_rr_owner()). */
static enum dns_result dns_rr_read(struct cursor *c, struct dns_rr *rr)
{
	enum dns_result r;

	rr->owner = *c;
	if ((r = dns_name_skip(c)) != DNS_OK)
		return r;
	if (!cur_be16(c, &rr->type) || !cur_be16(c, &rr->rclass) ||
	    !cur_be32(c, &rr->ttl) || !cur_be16_prefixed(c, &rr->rdata))
		return DNS_TRUNCATED;
	if (rr->ttl & 0x80000000u) /* RFC 2181 section 8 */
		rr->ttl = 0;
	return DNS_OK;
}

/* Decode @rr's owner into @out; true when well-formed with allowed chars. */
static bool dns_rr_owner(const struct cursor *msg, const struct dns_rr *rr, char *out)
{
	struct cursor at = rr->owner;
	bool ok;

	return dns_name_read(msg, &at, out, &ok) == DNS_OK && ok;
}

/* The CNAME target in @rr's rdata: exactly one name, nothing after it. */
static enum dns_result dns_cname_read(const struct cursor *msg, const struct dns_rr *rr,
				      char *out, bool *ok)
{
	struct cursor rd = rr->rdata;

	if (dns_name_read(msg, &rd, out, ok) != DNS_OK || !cur_expect_end(&rd))
		return DNS_INVALID;
	return DNS_OK;
}

/* Skip @count records, checking names and the rdata of IN A/AAAA/CNAME. */
static enum dns_result dns_section_check(const struct cursor *msg, struct cursor *c,
					 unsigned count)
{
	char name[DNS_NAME_BUF];
	struct cursor at;
	struct dns_rr rr;
	enum dns_result r;
	bool ok;

	for (unsigned i = 0; i < count; i++) {
		if ((r = dns_rr_read(c, &rr)) != DNS_OK)
			return r;
		at = rr.owner;
		if ((r = dns_name_read(msg, &at, name, &ok)) != DNS_OK)
			return r;
		if (rr.rclass != DNS_CLASS_IN)
			continue;
		if ((rr.type == DNS_TYPE_A && cur_len(&rr.rdata) != 4) ||
		    (rr.type == DNS_TYPE_AAAA && cur_len(&rr.rdata) != 16))
			return DNS_INVALID;
		if (rr.type == DNS_TYPE_CNAME &&
		    dns_cname_read(msg, &rr, name, &ok) != DNS_OK)
			return DNS_INVALID;
	}
	return DNS_OK;
}

static bool dns_on_chain(const struct dns_response *out, const char *name)
{
	if (!strcmp(out->qname, name))
		return true;
	for (unsigned i = 0; i < out->n_cnames; i++)
		if (!strcmp(out->cnames[i], name))
			return true;
	return false;
}

/*
 * Extend out->cnames from the qname through the IN CNAMEs of the answer
 * section (@ans, already checked).  Records may come in any order, so walk
 * the section again while the last walk added a link: at most
 * DNS_MAX_CNAMES + 1 walks.  A target already on the chain (a loop) ends it.
 */
static void dns_chain_follow(const struct cursor *msg, const struct cursor *ans,
			     unsigned count, struct dns_response *out)
{
	char owner[DNS_NAME_BUF], target[DNS_NAME_BUF];
	const char *tail = out->qname;
	struct dns_rr rr;
	bool ok, added = true;

	for (unsigned walk = 0; added && walk <= DNS_MAX_CNAMES; walk++) {
		struct cursor c = *ans;
		added = false;
		for (unsigned i = 0; i < count; i++) {
			if (dns_rr_read(&c, &rr) != DNS_OK)
				return;
			if (rr.type != DNS_TYPE_CNAME || rr.rclass != DNS_CLASS_IN ||
			    !dns_rr_owner(msg, &rr, owner) || strcmp(owner, tail))
				continue;
			if (dns_cname_read(msg, &rr, target, &ok) != DNS_OK)
				return;
			if (!ok) {
				out->flags |= DNS_RESP_BAD_NAME;
				return;
			}
			if (dns_on_chain(out, target))
				return;
			if (out->n_cnames == DNS_MAX_CNAMES) {
				out->flags |= DNS_RESP_CAPPED;
				return;
			}
			tail = strcpy(out->cnames[out->n_cnames++], target); /* fits: same size */
			added = true;
		}
	}
}

/* Keep the IN A/AAAA answers whose owner is on the chain. */
static void dns_answers_collect(const struct cursor *msg, const struct cursor *ans,
				unsigned count, struct dns_response *out)
{
	char owner[DNS_NAME_BUF];
	struct cursor c = *ans;
	struct dns_rr rr;
	uint8_t a[16];

	for (unsigned i = 0; i < count; i++) {
		struct dns_answer *ent;
		if (dns_rr_read(&c, &rr) != DNS_OK)
			return;
		if (rr.rclass != DNS_CLASS_IN ||
		    (rr.type != DNS_TYPE_A && rr.type != DNS_TYPE_AAAA) ||
		    !dns_rr_owner(msg, &rr, owner) || !dns_on_chain(out, owner))
			continue;
		if (out->n_answers == DNS_MAX_ANSWERS) {
			out->flags |= DNS_RESP_CAPPED;
			return;
		}
		ent = &out->answers[out->n_answers];
		if (!cur_copy(&rr.rdata, a, cur_len(&rr.rdata))) /* 4 or 16: checked */
			return;
		if (rr.type == DNS_TYPE_A)
			net_addr_set_v4(&ent->addr, a);
		else
			net_addr_set_v6(&ent->addr, a);
		ent->ttl = rr.ttl;
		out->n_answers++;
	}
}

enum dns_result dns_response_parse(const uint8_t *msg, size_t len, struct dns_response *out)
{
	char scratch[DNS_NAME_BUF];
	struct cursor m, c, ans;
	uint16_t flags, qd, an, ns, ar, qclass, qtype;
	enum dns_result r;
	bool ok;

	memset(out, 0, sizeof(*out));
	cur_init(&m, msg, len);
	c = m;
	if (!cur_be16(&c, &out->id) || !cur_be16(&c, &flags))
		return DNS_TRUNCATED;
	if (!(flags & DNS_FLAG_QR))
		return DNS_NOT_RESPONSE;
	if (!cur_be16(&c, &qd) || !cur_be16(&c, &an) || !cur_be16(&c, &ns) ||
	    !cur_be16(&c, &ar))
		return DNS_TRUNCATED;
	out->opcode = (flags >> 11) & 0xf;
	out->rcode = flags & 0xf;
	if (flags & DNS_FLAG_TC)
		out->flags |= DNS_RESP_TC;

	for (unsigned i = 0; i < qd; i++) {
		char *name = i ? scratch : out->qname;
		if ((r = dns_name_read(&m, &c, name, &ok)) != DNS_OK)
			return r;
		if (!ok && !i)
			return DNS_INVALID;
		if (!cur_be16(&c, &qtype) || !cur_be16(&c, &qclass))
			return DNS_TRUNCATED;
		if (!i)
			out->qtype = qtype;
	}
	ans = c;
	if ((r = dns_section_check(&m, &c, an)) != DNS_OK ||
	    (r = dns_section_check(&m, &c, (unsigned)ns + ar)) != DNS_OK)
		return r;

	if (out->opcode == 0 && qd) {
		dns_chain_follow(&m, &ans, an, out);
		dns_answers_collect(&m, &ans, an, out);
	}
	return DNS_OK;
}

enum dns_result dns_tcp_next(struct cursor *stream, struct cursor *msg)
{
	if (!cur_be16_prefixed(stream, msg))
		return DNS_TRUNCATED;
	return cur_len(msg) < DNS_HEADER_LEN ? DNS_INVALID : DNS_OK;
}
