/* SPDX-License-Identifier: MIT */
/*
 * util-units.h -- the one parser of sizes and durations in configuration
 * text, shared by the YAML file and command line (sensor/options.c) and
 * the Redis destination options (output-redis-url.c), so "50MB" means the
 * same everywhere.
 *
 * Sizes: a number of bytes, fractions allowed ("1.5GB"), with an optional
 * suffix, case-insensitive:
 *   ""/"b"                 bytes
 *   "k", "kb"              10^3      "kib"   2^10
 *   "m", "mb"              10^6      "mib"   2^20
 *   "g", "gb"              10^9      "gib"   2^30
 * Decimal (SI) prefixes are powers of 1000; only the explicit IEC forms
 * are powers of 1024.
 *
 * Durations: whole seconds, with an optional "s", "m", "h" or "d".
 */
#ifndef MAILTAP_UTIL_UNITS_H
#define MAILTAP_UTIL_UNITS_H

#include <stdint.h>

/* Parse a size into @out (rounded to a whole byte).  0, or -EINVAL for
 * anything else (negative, unknown suffix, above 9e18). */
int units_parse_bytes(const char *str, uint64_t *out);

/* Parse a duration into @out seconds.  0, or -EINVAL (not a duration, or
 * more than @max seconds). */
int units_parse_duration(const char *str, uint64_t max, uint32_t *out);

#endif
