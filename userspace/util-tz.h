/* SPDX-License-Identifier: MIT */
/*
 * util-tz.h -- local time in a named zone without touching the process
 * environment: a zone's tz database file is read once (tz_load) into a
 * table of UTC offsets, and conversions are pure functions of that table,
 * safe from any thread.  Replaces setenv("TZ") + tzset(), which glibc
 * does not make thread-safe, while the Redis and metrics threads run.
 */
#ifndef MAILTAP_UTIL_TZ_H
#define MAILTAP_UTIL_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TZ_MAX_TRANS 2048          /* transitions kept (fat files have ~250) */
#define TZ_NAME_MAX 64

/* A POSIX TZ rule date: Mm.w.d, Jn or n, at @secs local time. */
struct tz_rule {
	char kind;                 /* 'M', 'J' or 'D' */
	int mon, week, day;
	int32_t secs;
};

struct tz {
	char name[TZ_NAME_MAX];
	uint32_t n;                     /* transitions */
	int64_t at[TZ_MAX_TRANS];       /* UTC seconds, ascending */
	int32_t off[TZ_MAX_TRANS];      /* seconds east of UTC from at[i] */
	int32_t first_off;              /* before at[0] */
	bool has_footer, has_dst;       /* the POSIX rule after the last transition */
	int32_t std_off, dst_off;
	struct tz_rule start, end;
};

/* Load zone @name ("UTC", "Europe/Berlin"; from $TZDIR or
 * /usr/share/zoneinfo).  Returns 0, or a negative errno with a sentence in
 * @err (unknown zone, bad name, unusable file). */
int tz_load(struct tz *z, const char *name, char *err, size_t errlen);

/* Seconds east of UTC at UTC time @t. */
int32_t tz_offset(const struct tz *z, int64_t t);

/* Broken-down local time at UTC time @t (tm_gmtoff/tm_zone are not set). */
void tz_localtime(const struct tz *z, int64_t t, struct tm *tm);

#endif
