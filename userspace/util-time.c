/* SPDX-License-Identifier: MIT */
/* util-time.c -- packet-time formatting.  See util-time.h. */
#include "util-time.h"

#include <stdio.h>
#include <time.h>

const char *time_format_rfc3339(uint64_t ns, char *buf, size_t len)
{
	time_t secs = (time_t)(ns / 1000000000ull);
	unsigned usec = (unsigned)((ns % 1000000000ull) / 1000);
	struct tm tm;

	if (!gmtime_r(&secs, &tm)) {
		snprintf(buf, len, "invalid");
		return buf;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec);
	return buf;
}

double time_ns_to_s(uint64_t ns)
{
	/* round to the microsecond so JSON shows stable short numbers */
	return (double)((ns + 500) / 1000) / 1e6;
}
