/* SPDX-License-Identifier: MIT */
/*
 * test-util-hash.c -- the one seeded hash of util-hash.h: XXH3's known
 * value, same seed same hash, different seeds different hashes, every key
 * byte counted, the string form, the per-process seed (non-zero, stable in
 * a process, different in another process) and hash_seed's choice; then
 * the bounded pool of util-lru.h hashed with it: full at capacity, the
 * eviction and count counters, and the same contents and order whatever
 * the seed (order is recency, never hash order, so output cannot depend on
 * the seed).
 */
#include "util-hash.h"
#include "util-lru.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static void test_util_hash__known_xxh3_value(void)
{
	/* XXH3_64bits of the empty input with seed 0 (xxHash's test vector) */
	CHECK_EQ_U(hash64("", 0, 0), 0x2D06800538D394C2ULL);
}

static void test_util_hash__same_seed_same_hash(void)
{
	const char k[] = "10.20.1.54:443";
	CHECK_EQ_U(hash64(k, sizeof(k), 1), hash64(k, sizeof(k), 1));
	CHECK_EQ_U(hash64(k, sizeof(k), 0xfeedfacecafebeefULL),
		   hash64(k, sizeof(k), 0xfeedfacecafebeefULL));
}

static void test_util_hash__different_seeds_different_hashes(void)
{
	const char k[] = "outlook.office365.com";
	uint64_t h[16];

	for (int i = 0; i < 16; i++)
		h[i] = hash64(k, sizeof(k), (uint64_t)i + 1);
	for (int i = 0; i < 16; i++)
		for (int j = i + 1; j < 16; j++)
			CHECK(h[i] != h[j]);
}

static void test_util_hash__every_byte_counts(void)
{
	unsigned char k[40];

	memset(k, 0, sizeof(k));
	uint64_t h0 = hash64(k, sizeof(k), 7);
	for (size_t i = 0; i < sizeof(k); i++) {
		k[i] = 1;
		CHECK(hash64(k, sizeof(k), 7) != h0);
		k[i] = 0;
	}
	/* the length is part of the input */
	CHECK(hash64(k, sizeof(k) - 1, 7) != h0);
}

static void test_util_hash__string_form_hashes_without_the_nul(void)
{
	CHECK_EQ_U(hash64_str("imap.gmail.com", 3), hash64("imap.gmail.com", 14, 3));
	CHECK_EQ_U(hash64_str("", 3), hash64("", 0, 3));
}

static void test_util_hash__process_seed_is_stable_and_non_zero(void)
{
	uint64_t s = hash_process_seed();
	CHECK(s != 0);
	CHECK_EQ_U(hash_process_seed(), s);
	CHECK_EQ_U(hash_seed(0), s);
	CHECK_EQ_U(hash_seed(1), 1);
	CHECK_EQ_U(hash_seed(0xabcdefULL), 0xabcdefULL);
}

static void test_util_hash__another_process_draws_another_seed(void)
{
	int fd[2];
	uint64_t mine = hash_process_seed(), theirs = 0;
	pid_t pid;

	CHECK(pipe(fd) == 0);
	/* a fresh process: exec ourselves would be cleaner, but fork keeps the
	 * drawn seed; so the child reports a seed drawn by getrandom directly
	 * the way draw_seed does, and we check the parent's is not a constant */
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		uint64_t s = 0;
		if (getentropy(&s, sizeof(s)) < 0)
			s = 0;
		if (write(fd[1], &s, sizeof(s)) != (ssize_t)sizeof(s))
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	CHECK_EQ_I(read(fd[0], &theirs, sizeof(theirs)), (int64_t)sizeof(theirs));
	close(fd[0]);
	waitpid(pid, NULL, 0);
	CHECK(theirs != mine);
	CHECK(mine != 0x9e3779b97f4a7c15ULL); /* not the all-failed fallback */
}

struct ukey {
	uint32_t host;
	uint32_t port;
};

static int collect(const void *key, void *value, void *arg)
{
	uint32_t **out = arg;
	*(*out)++ = ((const struct ukey *)key)->host;
	(void)value;
	return 0;
}

/* Fill a pool of 64 with 200 keys under @seed; @order gets the survivors,
 * least recently used first. */
static void fill(uint64_t seed, uint32_t order[64], uint64_t *evictions, size_t *count)
{
	struct lru *m = lru_new(64, sizeof(struct ukey), sizeof(uint64_t), seed);
	uint32_t *p = order;

	CHECK(m != NULL);
	if (!m)
		return;
	for (uint32_t i = 0; i < 200; i++) {
		struct ukey k = { .host = i * 2654435761u, .port = 443 };
		bool created = false;
		uint64_t *v = lru_put(m, &k, &created);
		CHECK(created);
		*v = i;
		CHECK(lru_count(m) <= lru_capacity(m));
	}
	*evictions = lru_evictions(m);
	*count = lru_count(m);
	lru_foreach(m, collect, &p);
	lru_free(m);
}

static void test_util_hash__bounded_pool_counts_when_full_and_ignores_the_seed_for_order(void)
{
	uint32_t a[64], b[64];
	uint64_t ea = 0, eb = 0;
	size_t ca = 0, cb = 0;

	fill(1, a, &ea, &ca);
	fill(hash_process_seed(), b, &eb, &cb);
	CHECK_EQ_U(ca, 64);
	CHECK_EQ_U(ea, 200 - 64);
	CHECK_EQ_U(cb, ca);
	CHECK_EQ_U(eb, ea);
	for (int i = 0; i < 64; i++) {
		CHECK_EQ_U(a[i], (136u + (uint32_t)i) * 2654435761u);
		CHECK_EQ_U(b[i], a[i]);
	}
}

int main(void)
{
	RUN(test_util_hash__known_xxh3_value);
	RUN(test_util_hash__same_seed_same_hash);
	RUN(test_util_hash__different_seeds_different_hashes);
	RUN(test_util_hash__every_byte_counts);
	RUN(test_util_hash__string_form_hashes_without_the_nul);
	RUN(test_util_hash__process_seed_is_stable_and_non_zero);
	RUN(test_util_hash__another_process_draws_another_seed);
	RUN(test_util_hash__bounded_pool_counts_when_full_and_ignores_the_seed_for_order);
	return CHECK_DONE();
}
