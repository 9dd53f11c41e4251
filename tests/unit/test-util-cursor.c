/* SPDX-License-Identifier: MIT */
/* test-util-cursor.c -- every cursor reader at exact length, one short and empty; SIZE_MAX lengths. */
#include "util-cursor.h"

#include <stdint.h>

#include "check.h"

/* 0x01..0x08: distinct bytes so byte order mistakes show */
static const uint8_t bytes8[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };

/* One fixed-width reader, its width and the value it reads from bytes8. */
enum reader { R_U8, R_BE16, R_BE24, R_BE32, R_LE16, R_LE32, R_PEEK_U8, R_PEEK_BE16 };

struct reader_case {
	const char *name;
	enum reader r;
	size_t width;
	uint32_t want;
	bool consumes;
};

static const struct reader_case readers[] = {
	{ "u8", R_U8, 1, 0x01, true },
	{ "be16", R_BE16, 2, 0x0102, true },
	{ "be24", R_BE24, 3, 0x010203, true },
	{ "be32", R_BE32, 4, 0x01020304, true },
	{ "le16", R_LE16, 2, 0x0201, true },
	{ "le32", R_LE32, 4, 0x04030201, true },
	{ "peek_u8", R_PEEK_U8, 1, 0x01, false },
	{ "peek_be16", R_PEEK_BE16, 2, 0x0102, false },
};

static bool read_one(enum reader r, struct cursor *c, uint32_t *out)
{
	uint8_t v8 = 0xee;
	uint16_t v16 = 0xeeee;
	uint32_t v32 = 0xeeeeeeee;
	bool ok = false;

	switch (r) {
	case R_U8: ok = cur_u8(c, &v8); *out = v8; break;
	case R_BE16: ok = cur_be16(c, &v16); *out = v16; break;
	case R_BE24: ok = cur_be24(c, &v32); *out = v32; break;
	case R_BE32: ok = cur_be32(c, &v32); *out = v32; break;
	case R_LE16: ok = cur_le16(c, &v16); *out = v16; break;
	case R_LE32: ok = cur_le32(c, &v32); *out = v32; break;
	case R_PEEK_U8: ok = cur_peek_u8(c, &v8); *out = v8; break;
	case R_PEEK_BE16: ok = cur_peek_be16(c, &v16); *out = v16; break;
	}
	return ok;
}

static void test_util_cursor__readers_exact_length(void)
{
	for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++) {
		const struct reader_case *t = &readers[i];
		struct cursor c;
		uint32_t v = 0;

		cur_init(&c, bytes8, t->width);
		if (!read_one(t->r, &c, &v)) {
			fprintf(stderr, "  reader %s failed at exact length\n", t->name);
			CHECK(0);
			continue;
		}
		CHECK_EQ_U(v, t->want);
		if (t->consumes) {
			CHECK_EQ_U(cur_len(&c), 0);
			CHECK(cur_expect_end(&c));
			CHECK(cur_ptr(&c) == bytes8 + t->width);
		} else {
			CHECK_EQ_U(cur_len(&c), t->width);
			CHECK(cur_ptr(&c) == bytes8);
		}
	}
}

static void test_util_cursor__readers_longer_input(void)
{
	for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++) {
		const struct reader_case *t = &readers[i];
		struct cursor c;
		uint32_t v = 0;

		cur_init(&c, bytes8, sizeof(bytes8));
		CHECK(read_one(t->r, &c, &v));
		CHECK_EQ_U(v, t->want);
		CHECK_EQ_U(cur_len(&c), sizeof(bytes8) - (t->consumes ? t->width : 0));
	}
}

static void test_util_cursor__readers_one_short(void)
{
	for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++) {
		const struct reader_case *t = &readers[i];
		struct cursor c;
		uint32_t v = 0x5a5a5a5a;

		cur_init(&c, bytes8, t->width - 1);
		if (read_one(t->r, &c, &v)) {
			fprintf(stderr, "  reader %s succeeded one byte short\n", t->name);
			CHECK(0);
		}
		/* nothing consumed */
		CHECK_EQ_U(cur_len(&c), t->width - 1);
		CHECK(cur_ptr(&c) == bytes8);
	}
}

static void test_util_cursor__readers_empty(void)
{
	for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++) {
		const struct reader_case *t = &readers[i];
		struct cursor c;
		uint32_t v = 0;

		cur_init(&c, bytes8, 0);
		CHECK(!read_one(t->r, &c, &v));
		CHECK_EQ_U(cur_len(&c), 0);
		cur_init(&c, NULL, 4); /* NULL data is empty whatever the length */
		CHECK_EQ_U(cur_len(&c), 0);
		CHECK(!read_one(t->r, &c, &v));
	}
}

static void test_util_cursor__init(void)
{
	struct cursor c;

	cur_init(&c, bytes8, 8);
	CHECK(cur_ptr(&c) == bytes8);
	CHECK_EQ_U(cur_len(&c), 8);
	CHECK(!cur_expect_end(&c));
	cur_init(&c, bytes8, 0);
	CHECK_EQ_U(cur_len(&c), 0);
	CHECK(cur_expect_end(&c));
	cur_init(&c, NULL, SIZE_MAX);
	CHECK(cur_ptr(&c) == NULL);
	CHECK_EQ_U(cur_len(&c), 0);
}

static void test_util_cursor__skip(void)
{
	struct cursor c;

	cur_init(&c, bytes8, 8);
	CHECK(cur_skip(&c, 0));
	CHECK_EQ_U(cur_len(&c), 8);
	CHECK(cur_skip(&c, 3));
	CHECK_EQ_U(cur_len(&c), 5);
	CHECK(cur_ptr(&c) == bytes8 + 3);
	CHECK(!cur_skip(&c, 6)); /* one short */
	CHECK_EQ_U(cur_len(&c), 5);
	CHECK(cur_ptr(&c) == bytes8 + 3);
	CHECK(cur_skip(&c, 5)); /* exact */
	CHECK(cur_expect_end(&c));
	CHECK(!cur_skip(&c, 1)); /* empty */
	CHECK(cur_skip(&c, 0));
	CHECK_EQ_U(cur_len(&c), 0);
}

static void test_util_cursor__skip_empty_init(void)
{
	struct cursor c;

	/* an empty cursor from cur_init over real data: zero-length
	 * operations on it must still succeed (and be UB-free under UBSan) */
	cur_init(&c, bytes8, 0);
	CHECK(cur_skip(&c, 0));
	CHECK(!cur_skip(&c, 1));
	CHECK_EQ_U(cur_len(&c), 0);
}

static void test_util_cursor__size_max(void)
{
	struct cursor c, child = { NULL, 0 };
	const uint8_t *p = NULL;

	cur_init(&c, bytes8, 8);
	CHECK(!cur_skip(&c, SIZE_MAX));
	CHECK_EQ_U(cur_len(&c), 8);
	CHECK(!cur_bytes(&c, SIZE_MAX, &p));
	CHECK(p == NULL);
	CHECK_EQ_U(cur_len(&c), 8);
	CHECK(!cur_sub(&c, SIZE_MAX, &child));
	CHECK_EQ_U(cur_len(&c), 8);
	CHECK(cur_ptr(&c) == bytes8);
	CHECK(!cur_copy(&c, NULL, SIZE_MAX));
	CHECK_EQ_U(cur_len(&c), 8);
	CHECK(!cur_skip(&c, SIZE_MAX - 7));
	CHECK(!cur_skip(&c, (size_t)1 << (sizeof(size_t) * 8 - 1)));
	CHECK_EQ_U(cur_len(&c), 8);

	/* and from a partly read cursor, where p + n would wrap */
	CHECK(cur_skip(&c, 4));
	CHECK(!cur_skip(&c, SIZE_MAX));
	CHECK(!cur_sub(&c, SIZE_MAX - 3, &child));
	CHECK_EQ_U(cur_len(&c), 4);

	/* cur_at with a huge offset */
	cur_init(&c, bytes8, 8);
	CHECK(!cur_at(&c, SIZE_MAX, &child));
	CHECK(!cur_at(&c, 9, &child));
}

static void test_util_cursor__bytes(void)
{
	struct cursor c;
	const uint8_t *p = NULL;

	cur_init(&c, bytes8, 4);
	CHECK(cur_bytes(&c, 4, &p)); /* exact */
	CHECK(p == bytes8);
	CHECK(cur_expect_end(&c));

	cur_init(&c, bytes8, 4);
	p = NULL;
	CHECK(!cur_bytes(&c, 5, &p)); /* one short */
	CHECK(p == NULL);
	CHECK_EQ_U(cur_len(&c), 4);

	CHECK(cur_skip(&c, 1));
	CHECK(cur_bytes(&c, 2, &p));
	CHECK(p == bytes8 + 1);
	CHECK_EQ_U(cur_len(&c), 1);
	CHECK(cur_bytes(&c, 0, &p));
	CHECK(p == bytes8 + 3);
}

static void test_util_cursor__copy(void)
{
	struct cursor c;
	uint8_t dst[8];

	memset(dst, 0xaa, sizeof(dst));
	cur_init(&c, bytes8, 8);
	CHECK(cur_copy(&c, dst, 8)); /* exact */
	CHECK(!memcmp(dst, bytes8, 8));
	CHECK(cur_expect_end(&c));
	CHECK(cur_copy(&c, dst, 0));

	memset(dst, 0xaa, sizeof(dst));
	cur_init(&c, bytes8, 7);
	CHECK(!cur_copy(&c, dst, 8)); /* one short: dst untouched */
	CHECK_EQ_U(dst[0], 0xaa);
	CHECK_EQ_U(cur_len(&c), 7);
}

static void test_util_cursor__sub(void)
{
	struct cursor c, child;
	uint8_t v;

	cur_init(&c, bytes8, 8);
	CHECK(cur_sub(&c, 3, &child));
	CHECK_EQ_U(cur_len(&child), 3);
	CHECK(cur_ptr(&child) == bytes8);
	CHECK_EQ_U(cur_len(&c), 5);
	CHECK(cur_ptr(&c) == bytes8 + 3);
	/* the child cannot read past its end even though the parent has more */
	CHECK(cur_skip(&child, 2));
	CHECK(cur_u8(&child, &v));
	CHECK_EQ_U(v, 0x03);
	CHECK(!cur_u8(&child, &v));

	CHECK(!cur_sub(&c, 6, &child)); /* one short */
	CHECK_EQ_U(cur_len(&c), 5);
	CHECK(cur_sub(&c, 5, &child)); /* exact */
	CHECK(cur_expect_end(&c));
	CHECK_EQ_U(cur_len(&child), 5);
	CHECK(cur_sub(&c, 0, &child)); /* zero from empty */
	CHECK_EQ_U(cur_len(&child), 0);
}

static void test_util_cursor__empty_child_keeps_position(void)
{
	struct cursor base, c, child;
	const uint8_t *p = NULL;
	uint8_t dst[1];

	/* a zero-length child (an empty TLS vector, a zero-length record)
	 * still sits at its place in the data: offsets stay meaningful and
	 * zero-length reads from it succeed */
	cur_init(&base, bytes8, 8);
	c = base;
	CHECK(cur_skip(&c, 3));
	CHECK(cur_sub(&c, 0, &child));
	CHECK_EQ_U(cur_len(&child), 0);
	CHECK_EQ_U(cur_offset(&base, &child), 3);
	CHECK(cur_skip(&child, 0));
	CHECK(cur_bytes(&child, 0, &p));
	CHECK(cur_copy(&child, dst, 0));
	CHECK(!cur_skip(&child, 1));
	CHECK_EQ_U(cur_len(&c), 5);
}

/* Prefixed readers: prefix width, input, expected child length, success. */
struct prefixed_case {
	const char *name;
	int width; /* 1, 2 or 3 */
	uint8_t in[8];
	size_t in_len;
	bool ok;
	size_t child_len;
};

static const struct prefixed_case prefixed[] = {
	/* u8 prefix 3, then 3 bytes: exact */
	{ "u8 exact", 1, { 0x03, 0xa1, 0xa2, 0xa3 }, 4, true, 3 },
	/* u8 prefix 3, then 2 bytes: one short */
	{ "u8 short", 1, { 0x03, 0xa1, 0xa2 }, 3, false, 0 },
	/* u8 prefix 0: empty child */
	{ "u8 zero", 1, { 0x00 }, 1, true, 0 },
	/* no prefix at all */
	{ "u8 empty", 1, { 0 }, 0, false, 0 },
	/* be16 prefix 0x0003, 3 bytes */
	{ "be16 exact", 2, { 0x00, 0x03, 0xa1, 0xa2, 0xa3 }, 5, true, 3 },
	/* be16 prefix 0x0003, 2 bytes */
	{ "be16 short", 2, { 0x00, 0x03, 0xa1, 0xa2 }, 4, false, 0 },
	/* be16 prefix cut in half */
	{ "be16 half prefix", 2, { 0x00 }, 1, false, 0 },
	/* be16 prefix 0xffff, 3 bytes */
	{ "be16 huge", 2, { 0xff, 0xff, 0xa1, 0xa2, 0xa3 }, 5, false, 0 },
	/* be24 prefix 0x000002, 2 bytes */
	{ "be24 exact", 3, { 0x00, 0x00, 0x02, 0xa1, 0xa2 }, 5, true, 2 },
	/* be24 prefix 0x000002, 1 byte */
	{ "be24 short", 3, { 0x00, 0x00, 0x02, 0xa1 }, 4, false, 0 },
	/* be24 prefix cut after two bytes */
	{ "be24 half prefix", 3, { 0x00, 0x00 }, 2, false, 0 },
	/* be24 prefix 0xffffff */
	{ "be24 huge", 3, { 0xff, 0xff, 0xff, 0xa1 }, 4, false, 0 },
};

static void test_util_cursor__prefixed(void)
{
	for (size_t i = 0; i < sizeof(prefixed) / sizeof(prefixed[0]); i++) {
		const struct prefixed_case *t = &prefixed[i];
		struct cursor c, child = { NULL, 0 };
		bool ok = false;

		cur_init(&c, t->in, t->in_len);
		switch (t->width) {
		case 1: ok = cur_u8_prefixed(&c, &child); break;
		case 2: ok = cur_be16_prefixed(&c, &child); break;
		case 3: ok = cur_be24_prefixed(&c, &child); break;
		}
		if (ok != t->ok) {
			fprintf(stderr, "  prefixed case \"%s\": got %d\n", t->name, ok);
			CHECK(0);
			continue;
		}
		if (ok) {
			CHECK_EQ_U(cur_len(&child), t->child_len);
			CHECK_EQ_U(cur_len(&c), t->in_len - (size_t)t->width - t->child_len);
			if (t->child_len)
				CHECK(cur_ptr(&child) == t->in + t->width);
		} else {
			/* consumed nothing, prefix included */
			CHECK_EQ_U(cur_len(&c), t->in_len);
			CHECK(cur_ptr(&c) == t->in);
		}
	}
}

static void test_util_cursor__truncate_never_grows(void)
{
	struct cursor c;

	cur_init(&c, bytes8, 8);
	cur_truncate(&c, 100);
	CHECK_EQ_U(cur_len(&c), 8);
	cur_truncate(&c, SIZE_MAX);
	CHECK_EQ_U(cur_len(&c), 8);
	cur_truncate(&c, 8);
	CHECK_EQ_U(cur_len(&c), 8);
	cur_truncate(&c, 5);
	CHECK_EQ_U(cur_len(&c), 5);
	CHECK(cur_ptr(&c) == bytes8);
	cur_truncate(&c, 7); /* cannot come back */
	CHECK_EQ_U(cur_len(&c), 5);
	cur_truncate(&c, 0);
	CHECK_EQ_U(cur_len(&c), 0);
	CHECK(cur_expect_end(&c));
	cur_truncate(&c, 3);
	CHECK_EQ_U(cur_len(&c), 0);
}

static void test_util_cursor__at_and_offset(void)
{
	struct cursor base, c, at;
	uint8_t v;

	cur_init(&base, bytes8, 8);
	c = base;
	CHECK_EQ_U(cur_offset(&base, &c), 0);
	CHECK(cur_skip(&c, 5));
	CHECK_EQ_U(cur_offset(&base, &c), 5);

	CHECK(cur_at(&base, 2, &at));
	CHECK_EQ_U(cur_len(&at), 6);
	CHECK(cur_u8(&at, &v));
	CHECK_EQ_U(v, 0x03);
	CHECK_EQ_U(cur_offset(&base, &at), 3);

	CHECK(cur_at(&base, 0, &at));
	CHECK_EQ_U(cur_len(&at), 8);
	CHECK(cur_ptr(&at) == bytes8);

	CHECK(cur_at(&base, 7, &at)); /* last byte */
	CHECK_EQ_U(cur_len(&at), 1);
	CHECK(cur_at(&base, 8, &at)); /* exactly the end: empty cursor */
	CHECK_EQ_U(cur_len(&at), 0);
	CHECK_EQ_U(cur_offset(&base, &at), 8); /* still positioned at the end */
	CHECK(!cur_at(&base, 9, &at)); /* one past */

	/* a cursor at an offset from a sub-cursor stays inside the sub-cursor */
	cur_init(&c, bytes8, 8);
	CHECK(cur_skip(&c, 4));
	CHECK(cur_at(&c, 1, &at));
	CHECK_EQ_U(cur_len(&at), 3);
	CHECK(cur_u8(&at, &v));
	CHECK_EQ_U(v, 0x06);
}

int main(void)
{
	RUN(test_util_cursor__init);
	RUN(test_util_cursor__readers_exact_length);
	RUN(test_util_cursor__readers_longer_input);
	RUN(test_util_cursor__readers_one_short);
	RUN(test_util_cursor__readers_empty);
	RUN(test_util_cursor__skip);
	RUN(test_util_cursor__skip_empty_init);
	RUN(test_util_cursor__size_max);
	RUN(test_util_cursor__bytes);
	RUN(test_util_cursor__copy);
	RUN(test_util_cursor__sub);
	RUN(test_util_cursor__empty_child_keeps_position);
	RUN(test_util_cursor__prefixed);
	RUN(test_util_cursor__truncate_never_grows);
	RUN(test_util_cursor__at_and_offset);
	return CHECK_DONE();
}
