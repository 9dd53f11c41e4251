/* SPDX-License-Identifier: MIT */
/* output.c -- dispatch record sinks by destination.  See output.h. */
#include "output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output-file.h"

enum sink_kind { SINK_FILE, SINK_REDIS };

struct out_sink {
	enum sink_kind kind;
	struct out_file *file;     /* owned, SINK_FILE */
	void *redis;               /* owned, SINK_REDIS (output-redis.c) */
	struct out_sink_stats st;
	char dest[256];
};

static int is_redis_dest(const char *dest)
{
	return !strncmp(dest, "redis://", 8) || !strncmp(dest, "unix:", 5);
}

struct out_sink *out_sink_open(const char *dest, const struct out_sink_config *cfg,
			       char *err, size_t errlen)
{
	struct out_sink *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(s->dest, sizeof(s->dest), "%s", dest);
	if (is_redis_dest(dest)) {
		s->kind = SINK_REDIS;
		snprintf(err, errlen, "'%s': redis sinks are not available in this build", dest);
		free(s);
		return NULL;
	}
	s->kind = SINK_FILE;
	s->file = out_file_open(dest, err, errlen);
	if (!s->file) {
		free(s);
		return NULL;
	}
	return s;
}

int out_sink_write(struct out_sink *s, const char *id, const char *line, size_t len)
{
	int rc = out_file_write(s->file, line, len);
	if (rc == 0) {
		s->st.written++;
		s->st.delivered++;
	}
	return rc;
}

int out_sink_close(struct out_sink *s, char *err, size_t errlen)
{
	int rc;
	if (!s)
		return 0;
	rc = out_file_close(s->file, err, errlen);
	free(s);
	return rc;
}

void out_sink_get_stats(const struct out_sink *s, struct out_sink_stats *out)
{
	*out = s->st;
}

const char *out_sink_dest(const struct out_sink *s)
{
	return s->dest;
}
