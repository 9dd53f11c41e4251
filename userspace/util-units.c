/* SPDX-License-Identifier: MIT */
/* util-units.c -- sizes and durations from text.  See util-units.h. */
#include "util-units.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <strings.h>

int units_parse_bytes(const char *str, uint64_t *out)
{
	static const struct { const char *suffix; uint64_t mul; } units[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1000ull }, { "kb", 1000ull }, { "kib", 1ull << 10 },
		{ "m", 1000000ull }, { "mb", 1000000ull }, { "mib", 1ull << 20 },
		{ "g", 1000000000ull }, { "gb", 1000000000ull }, { "gib", 1ull << 30 },
	};
	char *end;
	double v;

	errno = 0;
	v = strtod(str, &end);
	if (end == str || errno || !(v >= 0))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].suffix))
			continue;
		if (v * (double)units[i].mul > 9e18)
			return -EINVAL;
		*out = (uint64_t)llround(v * (double)units[i].mul);
		return 0;
	}
	return -EINVAL;
}

int units_parse_duration(const char *str, uint64_t max, uint32_t *out)
{
	char *end;
	unsigned long long v, mul = 1;

	errno = 0;
	v = strtoull(str, &end, 10);
	if (end == str || *str == '-' || errno)
		return -EINVAL;
	if (*end == 's')
		end++;
	else if (*end == 'm')
		mul = 60, end++;
	else if (*end == 'h')
		mul = 3600, end++;
	else if (*end == 'd')
		mul = 86400, end++;
	if (*end || v > max / mul || v * mul > max)
		return -EINVAL;
	*out = (uint32_t)(v * mul);
	return 0;
}
