/* SPDX-License-Identifier: MIT */
/* util-time.h -- packet-time formatting (RFC 3339, UTC, microseconds). */
#ifndef MAILTAP_UTIL_TIME_H
#define MAILTAP_UTIL_TIME_H

#include <stddef.h>
#include <stdint.h>

#define TIME_RFC3339_LEN 32 /* "2026-03-02T09:00:00.123456Z" + NUL, with room */

/* Format ns since the epoch as "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" into buf;
 * returns buf. */
const char *time_format_rfc3339(uint64_t ns, char *buf, size_t len);

/* ns as seconds with microsecond precision, for JSON numbers. */
double time_ns_to_s(uint64_t ns);

#endif
