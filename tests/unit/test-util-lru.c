/* SPDX-License-Identifier: MIT */
/*
 * test-util-lru.c -- the bounded LRU map of util-lru.h: put/get and the
 * created flag, zeroed new values, recency on get and put, eviction of the
 * least recently used entry (counted, reported to the callback with its key
 * and value before the slot is reused), capacity 1, keys compared over every
 * byte, foreach order and early stop, many inserts staying bounded and
 * consistent with a naive model, and lru_new's argument checks.
 */
#include "util-lru.h"

#include <errno.h>
#include <stdlib.h>

#include "check.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A key wider than a word, so a comparison that stops early would show. */
struct key {
	char name[24];
	uint32_t tail;  /* the last bytes of the key */
};

struct val {
	uint64_t n;
	char tag[8];
};

static struct key K(const char *name, uint32_t tail)
{
	struct key k;
	memset(&k, 0, sizeof(k));
	snprintf(k.name, sizeof(k.name), "%s", name);
	k.tail = tail;
	return k;
}

/* Every eviction callback, in order. */
struct evlog {
	size_t n;
	struct key keys[64];
	uint64_t vals[64];
	void *arg_seen;
};

static void log_evict(const void *key, void *value, void *arg)
{
	struct evlog *log = arg;
	if (log->n < ARRAY_LEN(log->keys)) {
		memcpy(&log->keys[log->n], key, sizeof(struct key));
		log->vals[log->n] = ((struct val *)value)->n;
	}
	log->arg_seen = arg;
	log->n++;
}

/* Put @name with value @n; returns the created flag. */
static bool put_n(struct lru *m, const char *name, uint64_t n)
{
	struct key k = K(name, 0);
	bool created = false;
	struct val *v = lru_put(m, &k, &created);
	v->n = n;
	return created;
}

static struct val *get_name(struct lru *m, const char *name)
{
	struct key k = K(name, 0);
	return lru_get(m, &k);
}

/* Collect the keys in foreach order into a "a,b,c" string. */
struct order {
	char s[256];
	size_t visits;
	size_t stop_after;  /* 0 = never */
};

static int collect(const void *key, void *value, void *arg)
{
	struct order *o = arg;
	const struct key *k = key;
	size_t len = strlen(o->s);
	snprintf(o->s + len, sizeof(o->s) - len, "%s%s", len ? "," : "", k->name);
	o->visits++;
	if (o->stop_after && o->visits >= o->stop_after)
		return 7;
	return 0;
}

static const char *order_of(const struct lru *m)
{
	static struct order o;
	memset(&o, 0, sizeof(o));
	lru_foreach(m, collect, &o);
	return o.s;
}

/* ---- put / get ------------------------------------------------------- */

static void test_util_lru__put_creates_a_zeroed_value_then_finds_it(void)
{
	struct lru *m = lru_new(4, sizeof(struct key), sizeof(struct val), 1);
	struct key k = K("alice", 0);
	bool created = false;
	struct val *v;

	CHECK(m != NULL);
	CHECK_EQ_U(lru_capacity(m), 4);
	CHECK_EQ_U(lru_count(m), 0);
	CHECK(lru_get(m, &k) == NULL);

	v = lru_put(m, &k, &created);
	CHECK(v != NULL);
	CHECK(created);
	CHECK_EQ_U(v->n, 0);
	CHECK_STREQ(v->tag, "");
	CHECK_EQ_U(lru_count(m), 1);
	v->n = 42;
	snprintf(v->tag, sizeof(v->tag), "x");

	/* the same key again: found, not created, value kept */
	created = true;
	v = lru_put(m, &k, &created);
	CHECK(!created);
	CHECK_EQ_U(v->n, 42);
	CHECK_STREQ(v->tag, "x");
	CHECK_EQ_U(lru_count(m), 1);

	v = lru_get(m, &k);
	CHECK(v != NULL);
	CHECK_EQ_U(v ? v->n : 0, 42);
	CHECK_EQ_U(lru_evictions(m), 0);
	lru_free(m);
}

static void test_util_lru__put_accepts_a_null_created_flag(void)
{
	struct lru *m = lru_new(2, sizeof(struct key), sizeof(struct val), 1);
	struct key k = K("bob", 0);
	struct val *v = lru_put(m, &k, NULL);

	CHECK(v != NULL);
	v->n = 5;
	CHECK(lru_put(m, &k, NULL) == v);
	CHECK_EQ_U(lru_count(m), 1);
	lru_free(m);
}

static void test_util_lru__get_of_a_missing_key_is_null_and_changes_nothing(void)
{
	struct lru *m = lru_new(3, sizeof(struct key), sizeof(struct val), 1);

	put_n(m, "a", 1);
	put_n(m, "b", 2);
	CHECK(get_name(m, "zz") == NULL);
	CHECK_EQ_U(lru_count(m), 2);
	CHECK_STREQ(order_of(m), "a,b");
	lru_free(m);
}

/* ---- eviction -------------------------------------------------------- */

static void test_util_lru__full_map_evicts_the_least_recently_used(void)
{
	struct lru *m = lru_new(3, sizeof(struct key), sizeof(struct val), 1);
	struct evlog log;

	memset(&log, 0, sizeof(log));
	lru_set_evict_cb(m, log_evict, &log);
	CHECK(put_n(m, "a", 1));
	CHECK(put_n(m, "b", 2));
	CHECK(put_n(m, "c", 3));
	CHECK_EQ_U(log.n, 0);

	/* a get makes "a" the most recent: "b" is now the oldest */
	CHECK(get_name(m, "a") != NULL);
	CHECK(put_n(m, "d", 4));
	CHECK_EQ_U(log.n, 1);
	CHECK_STREQ(log.keys[0].name, "b");
	CHECK_EQ_U(log.vals[0], 2);        /* the value is still intact */
	CHECK(log.arg_seen == &log);
	CHECK_EQ_U(lru_evictions(m), 1);
	CHECK_EQ_U(lru_count(m), 3);
	CHECK(get_name(m, "b") == NULL);
	CHECK_STREQ(order_of(m), "c,a,d");

	/* a put of an existing key also refreshes it: "c" survives, "a" goes */
	CHECK(!put_n(m, "c", 30));
	CHECK(put_n(m, "e", 5));
	CHECK_EQ_U(log.n, 2);
	CHECK_STREQ(log.keys[1].name, "a");
	CHECK_EQ_U(log.vals[1], 1);
	CHECK_STREQ(order_of(m), "d,c,e");
	CHECK_EQ_U(get_name(m, "c") ? get_name(m, "c")->n : 0, 30);
	CHECK_EQ_U(lru_evictions(m), 2);
	lru_free(m);
}

static void test_util_lru__reused_slot_starts_zeroed(void)
{
	struct lru *m = lru_new(1, sizeof(struct key), sizeof(struct val), 1);
	struct key k = K("old", 0);
	struct val *v = lru_put(m, &k, NULL);
	bool created = false;

	v->n = 0xdeadbeef;
	snprintf(v->tag, sizeof(v->tag), "dirty");
	k = K("new", 0);
	v = lru_put(m, &k, &created);
	CHECK(created);
	CHECK_EQ_U(v->n, 0);
	CHECK_STREQ(v->tag, "");
	lru_free(m);
}

static void test_util_lru__eviction_without_callback_is_counted(void)
{
	struct lru *m = lru_new(2, sizeof(struct key), sizeof(struct val), 1);

	for (int i = 0; i < 10; i++) {
		char name[8];
		snprintf(name, sizeof(name), "k%d", i);
		put_n(m, name, (uint64_t)i);
	}
	CHECK_EQ_U(lru_count(m), 2);
	CHECK_EQ_U(lru_evictions(m), 8);
	CHECK_STREQ(order_of(m), "k8,k9");
	lru_free(m);
}

static void test_util_lru__capacity_one_keeps_only_the_last_key(void)
{
	struct lru *m = lru_new(1, sizeof(struct key), sizeof(struct val), 9);
	struct evlog log;

	memset(&log, 0, sizeof(log));
	lru_set_evict_cb(m, log_evict, &log);
	CHECK(put_n(m, "a", 1));
	CHECK(!put_n(m, "a", 11));        /* same key: no eviction */
	CHECK_EQ_U(log.n, 0);
	CHECK(put_n(m, "b", 2));
	CHECK_EQ_U(log.n, 1);
	CHECK_STREQ(log.keys[0].name, "a");
	CHECK_EQ_U(log.vals[0], 11);
	CHECK(get_name(m, "a") == NULL);
	CHECK_EQ_U(get_name(m, "b") ? get_name(m, "b")->n : 0, 2);
	CHECK(put_n(m, "a", 3));
	CHECK(get_name(m, "b") == NULL);
	CHECK_EQ_U(lru_count(m), 1);
	CHECK_EQ_U(lru_evictions(m), 2);
	CHECK_STREQ(order_of(m), "a");
	lru_free(m);
}

/* ---- keys ------------------------------------------------------------ */

static void test_util_lru__keys_differing_only_in_the_last_byte_are_distinct(void)
{
	struct lru *m = lru_new(8, sizeof(struct key), sizeof(struct val), 1);
	struct key a = K("same-prefix", 1), b = K("same-prefix", 2);
	struct key c = K("same-prefix", 1u << 24); /* differs in the very last byte */
	bool created;
	struct val *va, *vb, *vc;

	va = lru_put(m, &a, &created);
	CHECK(created);
	va->n = 1;
	vb = lru_put(m, &b, &created);
	CHECK(created);
	vb->n = 2;
	vc = lru_put(m, &c, &created);
	CHECK(created);
	vc->n = 3;
	CHECK_EQ_U(lru_count(m), 3);
	CHECK_EQ_U(((struct val *)lru_get(m, &a))->n, 1);
	CHECK_EQ_U(((struct val *)lru_get(m, &b))->n, 2);
	CHECK_EQ_U(((struct val *)lru_get(m, &c))->n, 3);
	lru_free(m);
}

static void test_util_lru__keys_differing_only_in_the_first_byte_are_distinct(void)
{
	struct lru *m = lru_new(8, sizeof(struct key), sizeof(struct val), 1);
	struct key a = K("xbc", 0), b = K("ybc", 0);
	bool created;

	lru_put(m, &a, &created);
	CHECK(created);
	lru_put(m, &b, &created);
	CHECK(created);
	CHECK_EQ_U(lru_count(m), 2);
	lru_free(m);
}

static void test_util_lru__one_byte_keys_all_fit(void)
{
	struct lru *m = lru_new(256, 1, sizeof(uint32_t), 3);

	/* values copied with memcpy: their alignment is the next test's */
	for (unsigned i = 0; i < 256; i++) {
		unsigned char k = (unsigned char)i;
		bool created = false;
		uint32_t x = i * 7;
		memcpy(lru_put(m, &k, &created), &x, sizeof(x));
		CHECK(created);
	}
	CHECK_EQ_U(lru_count(m), 256);
	CHECK_EQ_U(lru_evictions(m), 0);
	for (unsigned i = 0; i < 256; i++) {
		unsigned char k = (unsigned char)i;
		void *v = lru_get(m, &k);
		uint32_t x = 0;
		if (v)
			memcpy(&x, v, sizeof(x));
		CHECK(v && x == i * 7);
	}
	lru_free(m);
}

/* Values hold structs with uint64_t and double members (the engine's
 * tables do), so every value must be aligned for them (8 bytes), whatever
 * the key size; keys are only ever memcmp'd and memcpy'd. */
#define VALUE_ALIGN (_Alignof(uint64_t) > _Alignof(double) ? _Alignof(uint64_t) : _Alignof(double))

static void test_util_lru__values_are_aligned_for_any_type(void)
{
	/* the engine's keys: peer 40, alert 56, pair 60, count 80, novelty 89 */
	static const size_t key_sizes[] = { 1, 3, 4, 13, 20, 40, 56, 60, 80, 89 };

	for (size_t i = 0; i < ARRAY_LEN(key_sizes); i++) {
		size_t ks = key_sizes[i];
		struct lru *m = lru_new(4, ks, sizeof(uint64_t) * 2, 5);
		unsigned char key[128];
		int misaligned = 0;

		CHECK(m != NULL);
		if (!m)
			continue;
		for (unsigned n = 0; n < 6; n++) {  /* fresh slots and reused ones */
			void *v;
			memset(key, 0, sizeof(key));
			key[0] = (unsigned char)n;
			v = lru_put(m, key, NULL);
			if ((uintptr_t)v % VALUE_ALIGN)
				misaligned++;
		}
		if (misaligned)
			fprintf(stderr, "  key size %zu: %d of 6 values misaligned\n", ks, misaligned);
		CHECK_EQ_I(misaligned, 0);
		lru_free(m);
	}
}

/* ---- foreach --------------------------------------------------------- */

static void test_util_lru__foreach_walks_oldest_first_without_reordering(void)
{
	struct lru *m = lru_new(5, sizeof(struct key), sizeof(struct val), 1);
	struct order o;

	CHECK_STREQ(order_of(m), "");     /* empty map: no visits */
	put_n(m, "a", 1);
	put_n(m, "b", 2);
	put_n(m, "c", 3);
	get_name(m, "a");
	CHECK_STREQ(order_of(m), "b,c,a");
	CHECK_STREQ(order_of(m), "b,c,a"); /* a walk does not touch recency */

	/* fn's non-zero return stops the walk and is returned */
	memset(&o, 0, sizeof(o));
	o.stop_after = 2;
	CHECK_EQ_I(lru_foreach(m, collect, &o), 7);
	CHECK_STREQ(o.s, "b,c");
	CHECK_EQ_U(o.visits, 2);
	lru_free(m);
}

static int bump(const void *key, void *value, void *arg)
{
	((struct val *)value)->n += 100;
	(*(int *)arg)++;
	return 0;
}

static void test_util_lru__foreach_may_modify_values(void)
{
	struct lru *m = lru_new(3, sizeof(struct key), sizeof(struct val), 1);
	int visits = 0;

	put_n(m, "a", 1);
	put_n(m, "b", 2);
	CHECK_EQ_I(lru_foreach(m, bump, &visits), 0);
	CHECK_EQ_I(visits, 2);
	CHECK_EQ_U(get_name(m, "a")->n, 101);
	CHECK_EQ_U(get_name(m, "b")->n, 102);
	lru_free(m);
}

/* ---- many inserts ---------------------------------------------------- */

static int count_visits(const void *key, void *value, void *arg)
{
	(*(size_t *)arg)++;
	return 0;
}

static void test_util_lru__many_inserts_stay_bounded(void)
{
	enum { CAP = 100, N = 10000 };
	struct lru *m = lru_new(CAP, sizeof(uint32_t), sizeof(uint64_t), 12345);
	size_t visits = 0;
	int ok = 1;

	for (uint32_t i = 0; i < N; i++) {
		bool created = false;
		uint64_t *v = lru_put(m, &i, &created);
		if (!created || *v != 0)
			ok = 0;
		*v = (uint64_t)i * 3;
		if (lru_count(m) > CAP)
			ok = 0;
	}
	CHECK(ok);
	CHECK_EQ_U(lru_count(m), CAP);
	CHECK_EQ_U(lru_evictions(m), N - CAP);
	/* the newest CAP keys are there with their values, the rest are gone */
	ok = 1;
	for (uint32_t i = 0; i < N; i++) {
		uint64_t *v = lru_get(m, &i);
		if (i >= N - CAP ? !v || *v != (uint64_t)i * 3 : v != NULL)
			ok = 0;
	}
	CHECK(ok);
	lru_foreach(m, count_visits, &visits);
	CHECK_EQ_U(visits, CAP);
	lru_free(m);
}

/* Random puts and gets over a small key space, against a naive model: an
 * array ordered oldest first.  Catches a broken bucket chain or recency list
 * (a key found twice, lost, or evicted out of order). */
static void test_util_lru__random_operations_match_a_naive_model(void)
{
	enum { CAP = 8, KEYS = 29, OPS = 50000 };
	struct lru *m = lru_new(CAP, sizeof(uint32_t), sizeof(uint32_t), 77);
	uint32_t model_k[CAP], model_v[CAP];
	size_t model_n = 0;
	uint64_t rng = 0x9e3779b97f4a7c15ULL, model_evictions = 0;
	int mismatches = 0;

	for (int op = 0; op < OPS; op++) {
		uint32_t k, pos;
		bool is_put, created = false;
		uint32_t *v;

		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		k = (uint32_t)(rng >> 33) % KEYS;
		is_put = (rng >> 20) & 1;
		for (pos = 0; pos < model_n && model_k[pos] != k; pos++)
			;
		if (is_put) {
			v = lru_put(m, &k, &created);
			if (created != (pos == model_n))
				mismatches++;
			if (pos == model_n) {
				if (model_n == CAP) { /* evict the oldest */
					memmove(model_k, model_k + 1, (CAP - 1) * sizeof(*model_k));
					memmove(model_v, model_v + 1, (CAP - 1) * sizeof(*model_v));
					model_n--;
					model_evictions++;
				}
				model_k[model_n] = k;
				model_v[model_n] = (uint32_t)op;
				model_n++;
				*v = (uint32_t)op;
			} else if (*v != model_v[pos]) {
				mismatches++;
			}
		} else {
			v = lru_get(m, &k);
			if ((v != NULL) != (pos < model_n) || (v && *v != model_v[pos]))
				mismatches++;
		}
		if (pos < model_n) { /* touched: becomes the newest */
			uint32_t tk = model_k[pos], tv = model_v[pos];
			memmove(model_k + pos, model_k + pos + 1, (model_n - pos - 1) * sizeof(*model_k));
			memmove(model_v + pos, model_v + pos + 1, (model_n - pos - 1) * sizeof(*model_v));
			model_k[model_n - 1] = tk;
			model_v[model_n - 1] = tv;
		}
		if (lru_count(m) != model_n)
			mismatches++;
	}
	CHECK_EQ_I(mismatches, 0);
	CHECK_EQ_U(lru_evictions(m), model_evictions);
	lru_free(m);
}

/* ---- lru_new arguments ----------------------------------------------- */

static void test_util_lru__new_rejects_bad_arguments(void)
{
	struct lru *m;

	errno = 0;
	CHECK(lru_new(0, 4, 4, 1) == NULL);          /* no capacity */
	CHECK_EQ_I(errno, EINVAL);
	errno = 0;
	CHECK(lru_new(4, 0, 4, 1) == NULL);          /* no key */
	CHECK_EQ_I(errno, EINVAL);
	errno = 0;
	CHECK(lru_new((size_t)UINT32_MAX, 4, 4, 1) == NULL); /* too many to index */
	CHECK_EQ_I(errno, EINVAL);
	errno = 0;
	CHECK(lru_new(SIZE_MAX, 4, 4, 1) == NULL);
	CHECK_EQ_I(errno, EINVAL);
	/* key + value + node header wrap size_t: the entry size must not
	 * silently become 0 (every entry would share one slot) */
	errno = 0;
	m = lru_new(4, 4, SIZE_MAX - 15, 1);
	CHECK(m == NULL);
	CHECK(errno != 0);
	lru_free(m);

	/* a value of zero bytes is a set: put still returns a usable pointer */
	m = lru_new(2, 4, 0, 1);
	CHECK(m != NULL);
	if (m) {
		uint32_t k = 1;
		bool created = false;
		CHECK(lru_put(m, &k, &created) != NULL);
		CHECK(created);
		CHECK(lru_get(m, &k) != NULL);
		lru_free(m);
	}
	lru_free(NULL); /* a no-op */
}

int main(void)
{
	RUN(test_util_lru__put_creates_a_zeroed_value_then_finds_it);
	RUN(test_util_lru__put_accepts_a_null_created_flag);
	RUN(test_util_lru__get_of_a_missing_key_is_null_and_changes_nothing);
	RUN(test_util_lru__full_map_evicts_the_least_recently_used);
	RUN(test_util_lru__reused_slot_starts_zeroed);
	RUN(test_util_lru__eviction_without_callback_is_counted);
	RUN(test_util_lru__capacity_one_keeps_only_the_last_key);
	RUN(test_util_lru__keys_differing_only_in_the_last_byte_are_distinct);
	RUN(test_util_lru__keys_differing_only_in_the_first_byte_are_distinct);
	RUN(test_util_lru__one_byte_keys_all_fit);
	RUN(test_util_lru__values_are_aligned_for_any_type);
	RUN(test_util_lru__foreach_walks_oldest_first_without_reordering);
	RUN(test_util_lru__foreach_may_modify_values);
	RUN(test_util_lru__many_inserts_stay_bounded);
	RUN(test_util_lru__random_operations_match_a_naive_model);
	RUN(test_util_lru__new_rejects_bad_arguments);
	return CHECK_DONE();
}
