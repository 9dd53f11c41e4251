/* SPDX-License-Identifier: MIT */
/*
 * fuzz-dns.c -- dns_response_parse(), the dns_tcp_next() framing loop, and
 * the IP -> name cache fed with what they return.
 *
 * Input: one selector byte, then bytes that are parsed twice: once as a UDP
 * payload (one message) and once as a DNS-over-TCP stream (2-byte length
 * prefixed messages, parsed until the framing stops).  Selector bits 0-1
 * pick a tiny cache capacity (1, 2, 3 or 64 entries, so eviction happens),
 * bit 2 the TTL floor (0 or 300 s), bits 3-4 how far packet time moves
 * between messages (0, 1 s, 10 min, or backwards).
 *
 * Checked besides memory safety: what app-dns.h promises about a DNS_OK
 * response (names lower-case from [a-z0-9-_] and dots, NUL-terminated,
 * counts within DNS_MAX_ANSWERS/DNS_MAX_CNAMES, A/AAAA families), the TCP
 * framing consuming on OK/INVALID and nothing on TRUNCATED, the cache
 * returning the qname for the last answer learned (TTL floor on), and
 * dns_cache_check() after every operation.
 */
#include "fuzz-common.h"

#include "app-dns.h"
#include "dns-cache.h"

static const size_t capacities[4] = { 1, 2, 3, 64 };

static void check_name(const char *name)
{
	FUZZ_CHECK(memchr(name, 0, DNS_NAME_BUF) != NULL);
	if (!strcmp(name, "."))
		return;
	for (const char *s = name; *s; s++)
		FUZZ_CHECK((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
			   *s == '_' || *s == '.');
}

static void check_response(const struct dns_response *r)
{
	FUZZ_CHECK(r->n_answers <= DNS_MAX_ANSWERS);
	FUZZ_CHECK(r->n_cnames <= DNS_MAX_CNAMES);
	check_name(r->qname);
	for (unsigned i = 0; i < r->n_cnames; i++)
		check_name(r->cnames[i]);
	for (unsigned i = 0; i < r->n_answers; i++)
		FUZZ_CHECK(r->answers[i].addr.family == NET_ADDR_V4 ||
			   r->answers[i].addr.family == NET_ADDR_V6);
	FUZZ_CHECK(r->opcode < 16 && r->rcode < 16);
}

struct state {
	struct dns_cache *cache;
	uint64_t now;
	uint8_t sel;
	struct dns_response r;
};

static void advance(struct state *s)
{
	static const uint64_t step[4] = { 0, 1000000000ull, 600000000000ull, 0 };
	unsigned k = (s->sel >> 3) & 3;
	if (k == 3)
		s->now = s->now > 5000000000ull ? s->now - 5000000000ull : 0;
	else
		s->now += step[k];
}

static void learn(struct state *s, const uint8_t *msg, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum dns_result res;

	if (!copy)
		abort();
	memcpy(copy, msg, len);
	res = dns_response_parse(copy, len, &s->r);
	free(copy);
	FUZZ_CHECK(res == DNS_OK || res == DNS_NOT_RESPONSE || res == DNS_TRUNCATED ||
		   res == DNS_INVALID);
	if (res != DNS_OK)
		return;
	check_response(&s->r);
	dns_cache_learn(s->cache, &s->r, s->now);
	FUZZ_CHECK(dns_cache_check(s->cache));
	if (s->r.n_answers && s->r.qname[0] && strcmp(s->r.qname, ".") && (s->sel & 4)) {
		const struct net_addr *a = &s->r.answers[s->r.n_answers - 1].addr;
		const char *name = dns_cache_get(s->cache, a, s->now);
		FUZZ_CHECK(name != NULL);
		FUZZ_CHECK(strncmp(name, s->r.qname, DNS_CACHE_NAME_LEN - 1) == 0);
	}
	for (unsigned i = 0; i < s->r.n_answers; i++) {
		const char *name = dns_cache_get(s->cache, &s->r.answers[i].addr,
						 s->now + 400000000000ull);
		if (name)
			FUZZ_CHECK(strlen(name) < DNS_CACHE_NAME_LEN);
	}
	FUZZ_CHECK(dns_cache_check(s->cache));
	advance(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct state s;
	struct cursor stream, msg;
	struct dns_cache_stats cs;

	if (size < 1)
		return 0;
	s.sel = data[0];
	s.now = 1700000000ull * 1000000000ull;
	s.cache = dns_cache_new(capacities[s.sel & 3], (s.sel & 4) ? 300 : 0, 0x5eed);
	if (!s.cache)
		abort();

	learn(&s, data + 1, size - 1); /* UDP: the whole payload is one message */

	cur_init(&stream, data + 1, size - 1);
	while (cur_len(&stream)) {
		size_t before = cur_len(&stream);
		enum dns_result r = dns_tcp_next(&stream, &msg);
		if (r == DNS_TRUNCATED) {
			FUZZ_CHECK(cur_len(&stream) == before);
			break;
		}
		FUZZ_CHECK(r == DNS_OK || r == DNS_INVALID);
		FUZZ_CHECK(cur_len(&stream) == before - 2 - cur_len(&msg));
		if (r == DNS_INVALID) {
			FUZZ_CHECK(cur_len(&msg) < DNS_HEADER_LEN);
			continue;
		}
		learn(&s, cur_ptr(&msg), cur_len(&msg));
	}
	dns_cache_get_stats(s.cache, &cs);
	FUZZ_CHECK(cs.entries <= cs.capacity || cs.capacity == 0);
	dns_cache_free(s.cache);
	s.cache = NULL;
	return 0;
}
