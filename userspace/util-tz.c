/* SPDX-License-Identifier: MIT */
/*
 * util-tz.c -- time zones without the process environment.  See util-tz.h.
 *
 * Reads the TZif files of the system's tz database (RFC 8536): the
 * version 2+ body (64-bit transition times) and, for instants after the
 * last transition, the POSIX TZ footer ("CET-1CEST,M3.5.0,M10.5.0/3"),
 * whose rules of the "Mm.w.d[/time]" and "Jn"/"n" forms are evaluated
 * here.  Everything is read through bounds checks; a file that does not
 * parse is refused with a message.
 */
#include "util-tz.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TZ_FILE_MAX (256 * 1024)

struct rd {
	const unsigned char *p;
	size_t n, off;
};

static bool take(struct rd *r, size_t len, const unsigned char **out)
{
	if (r->n - r->off < len)
		return false;
	*out = r->p + r->off;
	r->off += len;
	return true;
}

static uint32_t be32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static int64_t be64(const unsigned char *b)
{
	return (int64_t)((uint64_t)be32(b) << 32 | be32(b + 4));
}

struct tzhead {
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
	char version;
};

static bool read_head(struct rd *r, struct tzhead *h)
{
	const unsigned char *b;
	if (!take(r, 44, &b) || memcmp(b, "TZif", 4))
		return false;
	h->version = (char)b[4];
	h->isutcnt = be32(b + 20);
	h->isstdcnt = be32(b + 24);
	h->leapcnt = be32(b + 28);
	h->timecnt = be32(b + 32);
	h->typecnt = be32(b + 36);
	h->charcnt = be32(b + 40);
	return h->typecnt > 0 && h->typecnt <= 256 && h->timecnt <= TZ_FILE_MAX &&
	       h->charcnt <= TZ_FILE_MAX && h->leapcnt <= TZ_FILE_MAX;
}

static size_t body_len(const struct tzhead *h, size_t tsize)
{
	return h->timecnt * (tsize + 1) + h->typecnt * 6 + h->charcnt +
	       h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

/* ------------------------------------------------------- POSIX footer */

static const char *posix_name(const char *s)
{
	if (*s == '<') {
		while (*s && *s != '>')
			s++;
		return *s == '>' ? s + 1 : NULL;
	}
	if (!isalpha((unsigned char)*s))
		return NULL;
	while (isalpha((unsigned char)*s))
		s++;
	return s;
}

/* [+-]hh[:mm[:ss]] into seconds; NULL on error. */
static const char *posix_hms(const char *s, int32_t *out, bool allow_sign)
{
	int sign = 1, h = 0, m = 0, sec = 0;
	if (allow_sign && (*s == '+' || *s == '-'))
		sign = *s++ == '-' ? -1 : 1;
	if (!isdigit((unsigned char)*s))
		return NULL;
	while (isdigit((unsigned char)*s) && h < 1000)
		h = h * 10 + (*s++ - '0');
	if (*s == ':') {
		s++;
		if (!isdigit((unsigned char)*s))
			return NULL;
		while (isdigit((unsigned char)*s) && m < 100)
			m = m * 10 + (*s++ - '0');
		if (*s == ':') {
			s++;
			if (!isdigit((unsigned char)*s))
				return NULL;
			while (isdigit((unsigned char)*s) && sec < 100)
				sec = sec * 10 + (*s++ - '0');
		}
	}
	if (h > 167 || m > 59 || sec > 59)
		return NULL;
	*out = sign * (h * 3600 + m * 60 + sec);
	return s;
}

static const char *posix_rule(const char *s, struct tz_rule *r)
{
	char *end;
	long v;
	r->secs = 7200;
	if (*s == 'M') {
		long m, w, d;
		m = strtol(s + 1, &end, 10);
		if (*end != '.')
			return NULL;
		w = strtol(end + 1, &end, 10);
		if (*end != '.')
			return NULL;
		d = strtol(end + 1, &end, 10);
		if (m < 1 || m > 12 || w < 1 || w > 5 || d < 0 || d > 6)
			return NULL;
		r->kind = 'M';
		r->mon = (int)m;
		r->week = (int)w;
		r->day = (int)d;
		s = end;
	} else {
		bool julian = *s == 'J';
		v = strtol(s + julian, &end, 10);
		if (end == s + julian || v < (julian ? 1 : 0) || v > 365)
			return NULL;
		r->kind = julian ? 'J' : 'D';
		r->day = (int)v;
		s = end;
	}
	if (*s == '/') {
		s = posix_hms(s + 1, &r->secs, true);
		if (!s)
			return NULL;
	}
	return s;
}

static bool parse_footer(const char *s, struct tz *z)
{
	int32_t off;
	s = posix_name(s);
	if (!s || !(s = posix_hms(s, &off, true)))
		return false;
	z->std_off = -off; /* POSIX offsets are west of Greenwich */
	z->has_dst = false;
	if (!*s)
		return true;
	s = posix_name(s);
	if (!s)
		return false;
	z->dst_off = z->std_off + 3600;
	if (*s && *s != ',') {
		if (!(s = posix_hms(s, &off, true)))
			return false;
		z->dst_off = -off;
	}
	if (*s != ',' || !(s = posix_rule(s + 1, &z->start)) || *s != ',' ||
	    !(s = posix_rule(s + 1, &z->end)) || *s)
		return false;
	z->has_dst = true;
	return true;
}

static bool leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* Local wall-clock seconds since the epoch at which @r happens in @year. */
static int64_t rule_local(const struct tz_rule *r, int64_t year)
{
	int64_t day;
	if (r->kind == 'M') {
		static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
		int64_t first = days_from_civil(year, (unsigned)r->mon, 1);
		int wday = (int)((first + 4) % 7); /* 1970-01-01 was a Thursday */
		int dim = mdays[r->mon - 1] + (r->mon == 2 && leap(year));
		int d = 1 + (r->day - wday + 7) % 7 + (r->week - 1) * 7;
		if (wday < 0)
			wday += 7, d = 1 + (r->day - wday + 7) % 7 + (r->week - 1) * 7;
		while (d > dim)
			d -= 7;
		day = first + d - 1;
	} else if (r->kind == 'J') {
		int n = r->day; /* 1..365, Feb 29 never counted */
		day = days_from_civil(year, 1, 1) + n - 1 + (leap(year) && n >= 60);
	} else {
		day = days_from_civil(year, 1, 1) + r->day;
	}
	return day * 86400 + r->secs;
}

static int32_t footer_offset(const struct tz *z, int64_t t)
{
	int64_t y, start, end;
	time_t tt;
	struct tm tm;
	if (!z->has_dst)
		return z->std_off;
	tt = (time_t)(t + z->std_off);
	if (!gmtime_r(&tt, &tm))
		return z->std_off;
	y = (int64_t)tm.tm_year + 1900;
	/* transitions in UTC: DST starts at local standard time, ends at local DST */
	start = rule_local(&z->start, y) - z->std_off;
	end = rule_local(&z->end, y) - z->dst_off;
	if (start < end)
		return t >= start && t < end ? z->dst_off : z->std_off;
	return t >= end && t < start ? z->std_off : z->dst_off; /* southern hemisphere */
}

/* ------------------------------------------------------------ loading */

static int parse(const unsigned char *buf, size_t len, struct tz *z)
{
	struct rd r = { buf, len, 0 };
	struct tzhead h;
	const unsigned char *b, *times, *idx, *types;
	size_t foot;
	char footer[128];

	if (!read_head(&r, &h))
		return -EINVAL;
	if (h.version < '2')
		return -ENOTSUP; /* version 1 files: 32-bit only, not shipped any more */
	if (!take(&r, body_len(&h, 4), &b) || !read_head(&r, &h) ||
	    !take(&r, h.timecnt * 8, &times) || !take(&r, h.timecnt, &idx) ||
	    !take(&r, h.typecnt * 6, &types) ||
	    !take(&r, body_len(&h, 8) - h.timecnt * 9 - h.typecnt * 6, &b))
		return -EINVAL;
	if (h.timecnt > TZ_MAX_TRANS)
		return -E2BIG;
	z->n = h.timecnt;
	for (uint32_t i = 0; i < h.timecnt; i++) {
		unsigned ti = idx[i];
		if (ti >= h.typecnt)
			return -EINVAL;
		z->at[i] = be64(times + 8 * i);
		z->off[i] = (int32_t)be32(types + 6 * ti);
		if (i && z->at[i] < z->at[i - 1])
			return -EINVAL;
	}
	/* before the first transition: the first non-DST type, or type 0 */
	z->first_off = (int32_t)be32(types);
	for (uint32_t i = 0; i < h.typecnt; i++)
		if (!types[6 * i + 4]) {
			z->first_off = (int32_t)be32(types + 6 * i);
			break;
		}
	/* footer: "\nTZ\n" */
	z->has_footer = false;
	if (r.n - r.off >= 2 && r.p[r.off] == '\n') {
		const unsigned char *nl = memchr(r.p + r.off + 1, '\n', r.n - r.off - 1);
		foot = nl ? (size_t)(nl - (r.p + r.off + 1)) : 0;
		if (nl && foot < sizeof(footer)) {
			memcpy(footer, r.p + r.off + 1, foot);
			footer[foot] = '\0';
			if (foot && !parse_footer(footer, z))
				return -EINVAL;
			z->has_footer = foot > 0;
		}
	}
	if (!z->n && !z->has_footer)
		z->std_off = z->first_off;
	return 0;
}

static bool name_ok(const char *name)
{
	if (!name[0] || name[0] == '/' || strlen(name) >= TZ_NAME_MAX || strstr(name, ".."))
		return false;
	for (const char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("/_+-", *c))
			return false;
	return true;
}

int tz_load(struct tz *z, const char *name, char *err, size_t errlen)
{
	const char *dir = getenv("TZDIR");
	char path[512];
	unsigned char *buf;
	size_t len;
	FILE *fp;
	int rc;

	memset(z, 0, sizeof(*z));
	snprintf(z->name, sizeof(z->name), "%s", name);
	if (!strcmp(name, "UTC") || !strcmp(name, "Etc/UTC") || !strcmp(name, "GMT") ||
	    !strcmp(name, "Z"))
		return 0; /* built in: no file needed */
	if (!name_ok(name)) {
		snprintf(err, errlen, "'%s' is not a time zone name (e.g. Europe/Berlin)", name);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/%s", dir && dir[0] ? dir : "/usr/share/zoneinfo", name);
	fp = fopen(path, "rb");
	if (!fp) {
		rc = -errno;
		snprintf(err, errlen, "unknown time zone '%s' (%s: %s)", name, path, strerror(-rc));
		return rc;
	}
	buf = malloc(TZ_FILE_MAX);
	if (!buf) {
		fclose(fp);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	len = fread(buf, 1, TZ_FILE_MAX, fp);
	fclose(fp);
	rc = parse(buf, len, z);
	free(buf);
	if (rc < 0)
		snprintf(err, errlen, "time zone '%s': %s is not a usable TZif file", name, path);
	return rc;
}

int32_t tz_offset(const struct tz *z, int64_t t)
{
	uint32_t lo = 0, hi = z->n;
	if (!z->n)
		return z->has_footer ? footer_offset(z, t) : z->std_off;
	if (t < z->at[0])
		return z->first_off;
	if (t >= z->at[z->n - 1] && z->has_footer)
		return footer_offset(z, t);
	while (hi - lo > 1) { /* the last transition at or before t */
		uint32_t mid = lo + (hi - lo) / 2;
		if (z->at[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return z->off[lo];
}

void tz_localtime(const struct tz *z, int64_t t, struct tm *tm)
{
	time_t lt = (time_t)(t + tz_offset(z, t));
	gmtime_r(&lt, tm);
}
