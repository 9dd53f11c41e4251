/* SPDX-License-Identifier: MIT */
/*
 * test-util-units.c -- sizes and durations of util-units.h: decimal
 * prefixes are powers of 1000 and only the IEC forms powers of 1024, the
 * same in the configuration file and in a Redis destination's spool_max,
 * fractions, refused suffixes and signs, and the duration bound.
 */
#include "util-units.h"

#include <errno.h>

#include "check.h"
#include "output-redis-url.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void test_util_units__bytes_table(void)
{
	static const struct { const char *in; int rc; uint64_t want; } cases[] = {
		{ "0", 0, 0 },
		{ "1500000", 0, 1500000 },
		{ "12b", 0, 12 },
		{ "256k", 0, 256000 },
		{ "256KB", 0, 256000 },
		{ "256KiB", 0, 262144 },
		{ "50MB", 0, 50000000 },
		{ "50m", 0, 50000000 },
		{ "1MiB", 0, 1048576 },
		{ "2GB", 0, 2000000000ull },
		{ "2gib", 0, 2147483648ull },
		{ "1.5GB", 0, 1500000000ull },
		{ "", -EINVAL, 0 },
		{ "MB", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "5TB", -EINVAL, 0 },
		{ "5 MB", -EINVAL, 0 },
		{ "5MBB", -EINVAL, 0 },
		{ "10000000000GB", -EINVAL, 0 },   /* past 9e18 */
		{ "nan", -EINVAL, 0 },
		{ "inf", -EINVAL, 0 },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		uint64_t v = 12345;
		int rc = units_parse_bytes(cases[i].in, &v);
		CHECK_EQ_I(rc, cases[i].rc);
		if (rc == 0)
			CHECK_EQ_U(v, cases[i].want);
		else
			CHECK_EQ_U(v, 12345);   /* untouched on error */
		if (rc != cases[i].rc)
			fprintf(stderr, "    input '%s'\n", cases[i].in);
	}
}

static void test_util_units__duration_table(void)
{
	static const struct { const char *in; uint64_t max; int rc; uint32_t want; } cases[] = {
		{ "90", 86400, 0, 90 },
		{ "90s", 86400, 0, 90 },
		{ "30m", 86400, 0, 1800 },
		{ "24h", 86400, 0, 86400 },
		{ "2d", 86400 * 7, 0, 172800 },
		{ "2d", 86400, -EINVAL, 0 },     /* above max */
		{ "-5", 86400, -EINVAL, 0 },
		{ "5w", 86400 * 70, -EINVAL, 0 },
		{ "", 86400, -EINVAL, 0 },
		{ "1hx", 86400, -EINVAL, 0 },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		uint32_t v = 7;
		int rc = units_parse_duration(cases[i].in, cases[i].max, &v);
		CHECK_EQ_I(rc, cases[i].rc);
		if (rc == 0)
			CHECK_EQ_U(v, cases[i].want);
	}
}

/* A destination's spool_max reads sizes the way the configuration does. */
static void test_util_units__redis_spool_max_same_units(void)
{
	struct out_redis_url u;
	char err[256];
	uint64_t want;

	CHECK_EQ_I(out_redis_url_parse("redis://h?spool_max=256MB", &u, err, sizeof(err)), 0);
	CHECK_EQ_I(units_parse_bytes("256MB", &want), 0);
	CHECK_EQ_U(u.spool_max, want);
	CHECK_EQ_U(u.spool_max, 256000000);
	CHECK_EQ_I(out_redis_url_parse("redis://h?spool_max=256k", &u, err, sizeof(err)), 0);
	CHECK_EQ_U(u.spool_max, 256000);
	CHECK_EQ_I(out_redis_url_parse("redis://h?spool_max=64MiB", &u, err, sizeof(err)), 0);
	CHECK_EQ_U(u.spool_max, 64ull << 20);
	CHECK_EQ_I(out_redis_url_parse("redis://h?spool_max=1k", &u, err, sizeof(err)), -EINVAL);
	CHECK_EQ_I(out_redis_url_parse("redis://h?spool_max=lots", &u, err, sizeof(err)), -EINVAL);
}

int main(void)
{
	RUN(test_util_units__bytes_table);
	RUN(test_util_units__duration_table);
	RUN(test_util_units__redis_spool_max_same_units);
	return CHECK_DONE();
}
