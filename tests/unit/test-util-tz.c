/* SPDX-License-Identifier: MIT */
/*
 * test-util-tz.c -- util-tz against glibc's own conversion (the reference,
 * run here single-threaded with setenv/tzset, the way util-tz replaces):
 * every hour of 1990-2045 in zones with both hemispheres' rules, half-hour
 * offsets and no DST; beyond the last transition the POSIX footer rules.
 */
#include "util-tz.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static struct tz z; /* 24 KiB: not on the stack */

static long glibc_offset(const char *zone, time_t t)
{
	struct tm tm;
	setenv("TZ", zone, 1);
	tzset();
	localtime_r(&t, &tm);
	return tm.tm_gmtoff;
}

static void same_as_glibc(const char *zone)
{
	char err[256] = "";
	unsigned bad = 0;
	CHECK_EQ_I(tz_load(&z, zone, err, sizeof(err)), 0);
	/* 1990-01-01 .. 2045-01-01, every hour (footer rules after 2037) */
	for (int64_t t = 631152000; t < 2366841600; t += 3600) {
		long want = glibc_offset(zone, (time_t)t);
		if (tz_offset(&z, t) != want && bad++ < 3)
			fprintf(stderr, "  %s at %lld: %d, glibc %ld\n", zone, (long long)t,
				tz_offset(&z, t), want);
	}
	CHECK_EQ_U(bad, 0);
}

static void test_tz__offsets_equal_glibc_in_every_kind_of_zone(void)
{
	same_as_glibc("Europe/Berlin");
	same_as_glibc("America/New_York");
	same_as_glibc("Australia/Sydney");     /* southern hemisphere */
	same_as_glibc("Asia/Kolkata");         /* +05:30, no DST */
	same_as_glibc("America/Sao_Paulo");    /* DST abolished in 2019 */
}

static void test_tz__localtime_is_wall_clock(void)
{
	char err[256];
	struct tm tm;
	CHECK_EQ_I(tz_load(&z, "Europe/Berlin", err, sizeof(err)), 0);
	tz_localtime(&z, 1772625600, &tm); /* 2026-03-04 12:00:00 UTC */
	CHECK_EQ_I(tm.tm_hour, 13);
	CHECK_EQ_I(tm.tm_wday, 3);
	tz_localtime(&z, 1782907200, &tm); /* 2026-07-01 12:00:00 UTC: CEST */
	CHECK_EQ_I(tm.tm_hour, 14);
}

static void test_tz__utc_needs_no_file_and_bad_names_are_refused(void)
{
	char err[256];
	CHECK_EQ_I(tz_load(&z, "UTC", err, sizeof(err)), 0);
	CHECK_EQ_I(tz_offset(&z, 1772625600), 0);
	err[0] = '\0';
	CHECK(tz_load(&z, "Mars/Olympus", err, sizeof(err)) < 0);
	CHECK(strstr(err, "Mars/Olympus") != NULL);
	CHECK_EQ_I(tz_load(&z, "../../etc/passwd", err, sizeof(err)), -EINVAL);
	CHECK_EQ_I(tz_load(&z, "/etc/localtime", err, sizeof(err)), -EINVAL);
	/* a file that is not TZif */
	setenv("TZDIR", "/etc", 1);
	CHECK(tz_load(&z, "hostname", err, sizeof(err)) < 0);
	unsetenv("TZDIR");
}

int main(void)
{
	RUN(test_tz__offsets_equal_glibc_in_every_kind_of_zone);
	RUN(test_tz__localtime_is_wall_clock);
	RUN(test_tz__utc_needs_no_file_and_bad_names_are_refused);
	return CHECK_DONE();
}
