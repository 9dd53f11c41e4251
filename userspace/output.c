/* SPDX-License-Identifier: MIT */
/* output.c -- dispatch record sinks by destination.  See output.h. */
#include "output.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output-file.h"
#include "output-redis.h"

enum sink_kind { SINK_FILE, SINK_REDIS };

struct out_sink {
	enum sink_kind kind;
	struct out_file *file;     /* owned, SINK_FILE */
	struct out_redis *redis;   /* owned, SINK_REDIS */
	struct out_sink_stats st;  /* SINK_FILE; the redis sink keeps its own */
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
	if (is_redis_dest(dest)) {
		/* messages show neither the query nor a password */
		out_redis_url_redact(dest, s->dest, sizeof(s->dest));
		s->kind = SINK_REDIS;
		s->redis = out_redis_open(dest, cfg, err, errlen);
		if (!s->redis) {
			free(s);
			return NULL;
		}
		return s;
	}
	snprintf(s->dest, sizeof(s->dest), "%s", dest);
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
	int rc;

	if (s->kind == SINK_REDIS)
		return out_redis_write(s->redis, id, line, len);
	rc = out_file_write(s->file, line, len);
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
	if (s->kind == SINK_REDIS)
		rc = out_redis_close(s->redis, err, errlen);
	else
		rc = out_file_close(s->file, err, errlen);
	free(s);
	return rc;
}

int out_sink_heartbeat(struct out_sink *s, const struct out_health *h)
{
	if (!s || s->kind != SINK_REDIS)
		return 0;
	return out_redis_heartbeat(s->redis, h);
}

void out_sink_get_stats(const struct out_sink *s, struct out_sink_stats *out)
{
	if (s->kind == SINK_REDIS) {
		/* the redis sink locks its counters (shared with its thread) */
		out_redis_get_stats(s->redis, out);
		return;
	}
	*out = s->st;
}

const char *out_sink_dest(const struct out_sink *s)
{
	return s->dest;
}
