/* SPDX-License-Identifier: MIT */
/* output-redis-url.c -- parse Redis destinations.  See output-redis-url.h. */
#include "output-redis-url.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "util-units.h"

#define OUT_REDIS_DEFAULT_PORT      6379
#define OUT_REDIS_DEFAULT_MAXLEN    1000000
#define OUT_REDIS_DEFAULT_BATCH     256
#define OUT_REDIS_DEFAULT_FLUSH_MS  100
#define OUT_REDIS_DEFAULT_QUEUE     65536
#define OUT_REDIS_DEFAULT_TIMEOUT   2000
#define OUT_REDIS_DEFAULT_CLOSE_MS  3000
#define OUT_REDIS_DEFAULT_BACKOFF   10000

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	if (!*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	*out = v;
	return 0;
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	uint64_t v;
	if (parse_u64(s, &v) < 0 || v < lo || v > hi)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* Undo %XX escapes in place (paths and keys may need them). */
static int url_unescape(char *s)
{
	char *w = s;
	for (; *s; s++) {
		if (*s == '%') {
			int hi, lo;
			if (sscanf(s + 1, "%1x%1x", &hi, &lo) != 2)
				return -1;
			*w++ = (char)(hi << 4 | lo);
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = 0;
	return 0;
}

static int url_query(char *q, struct out_redis_url *u, char *err, size_t errlen)
{
	char *save = NULL;
	for (char *kv = strtok_r(q, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
		char *v = strchr(kv, '=');
		unsigned tmp = 0;
		int bad = 0;
		if (!v) {
			snprintf(err, errlen, "'%s' needs a value (name=value)", kv);
			return -EINVAL;
		}
		*v++ = 0;
		if (url_unescape(v) < 0) {
			snprintf(err, errlen, "bad %%-escape in '%s'", kv);
			return -EINVAL;
		}
		if (!strcmp(kv, "key")) {
			bad = !*v || strlen(v) >= sizeof(u->key);
			if (!bad)
				snprintf(u->key, sizeof(u->key), "%s", v);
		} else if (!strcmp(kv, "mode")) {
			if (!strcmp(v, "stream") || !strcmp(v, "xadd"))
				u->mode = OUT_REDIS_MODE_STREAM;
			else if (!strcmp(v, "list") || !strcmp(v, "rpush"))
				u->mode = OUT_REDIS_MODE_LIST;
			else if (!strcmp(v, "channel") || !strcmp(v, "publish"))
				u->mode = OUT_REDIS_MODE_CHANNEL;
			else
				bad = 1;
		} else if (!strcmp(kv, "maxlen")) {
			bad = parse_u64(v, &u->maxlen) < 0;
		} else if (!strcmp(kv, "batch")) {
			bad = parse_uint(v, 1, 100000, &u->batch) < 0;
		} else if (!strcmp(kv, "flush_ms")) {
			bad = parse_uint(v, 1, 60000, &u->flush_ms) < 0;
		} else if (!strcmp(kv, "queue")) {
			bad = parse_uint(v, 1, 10000000, &u->queue) < 0;
		} else if (!strcmp(kv, "timeout_ms")) {
			bad = parse_uint(v, 10, 600000, &u->timeout_ms) < 0;
		} else if (!strcmp(kv, "close_ms")) {
			bad = parse_uint(v, 0, 600000, &u->close_ms) < 0;
		} else if (!strcmp(kv, "backoff_max_ms")) {
			bad = parse_uint(v, OUT_REDIS_BACKOFF_MIN_MS, 3600000, &u->backoff_max_ms) < 0;
		} else if (!strcmp(kv, "db")) {
			bad = parse_uint(v, 0, 100000, &tmp) < 0;
			u->db = (int)tmp;
		} else if (!strcmp(kv, "spool")) {
			bad = !*v || strlen(v) >= sizeof(u->spool);
			if (!bad)
				snprintf(u->spool, sizeof(u->spool), "%s", v);
		} else if (!strcmp(kv, "spool_max")) {
			/* the sizes of the configuration file: 256MB = 256 * 10^6 */
			bad = units_parse_bytes(v, &u->spool_max) < 0 || u->spool_max < 4096;
		} else if (!strcmp(kv, "spool_drop")) {
			if (!strcmp(v, "oldest"))
				u->spool_drop = SPOOL_DROP_OLDEST;
			else if (!strcmp(v, "newest"))
				u->spool_drop = SPOOL_DROP_NEWEST;
			else
				bad = 1;
		} else if (!strcmp(kv, "password")) {
			snprintf(err, errlen, "no password in the URL: set MAILTAP_REDIS_PASSWORD");
			return -EINVAL;
		} else {
			snprintf(err, errlen, "unknown option '%s' (key, mode, maxlen, batch, flush_ms, "
				 "queue, timeout_ms, close_ms, backoff_max_ms, db, spool, spool_max, spool_drop)",
				 kv);
			return -EINVAL;
		}
		if (bad) {
			snprintf(err, errlen, "bad value for %s: '%s'", kv, v);
			return -EINVAL;
		}
	}
	return 0;
}

int out_redis_url_parse(const char *dest, struct out_redis_url *u, char *err, size_t errlen)
{
	char buf[1024], *rest, *q, *at, *slash, *colon;

	memset(u, 0, sizeof(*u));
	u->port = OUT_REDIS_DEFAULT_PORT;
	u->maxlen = OUT_REDIS_DEFAULT_MAXLEN;
	u->batch = OUT_REDIS_DEFAULT_BATCH;
	u->flush_ms = OUT_REDIS_DEFAULT_FLUSH_MS;
	u->queue = OUT_REDIS_DEFAULT_QUEUE;
	u->timeout_ms = OUT_REDIS_DEFAULT_TIMEOUT;
	u->close_ms = OUT_REDIS_DEFAULT_CLOSE_MS;
	u->backoff_max_ms = OUT_REDIS_DEFAULT_BACKOFF;
	u->mode = OUT_REDIS_MODE_STREAM;
	u->spool_drop = SPOOL_DROP_OLDEST;

	if (strlen(dest) >= sizeof(buf)) {
		snprintf(err, errlen, "destination too long");
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", dest);
	q = strchr(buf, '?');
	if (q)
		*q++ = 0;

	if (!strncmp(buf, "unix:", 5)) {
		rest = buf + 5;
		if (!strncmp(rest, "//", 2))
			rest += 2;
		if (*rest != '/' || url_unescape(rest) < 0 || strlen(rest) >= sizeof(u->host)) {
			snprintf(err, errlen, "expected unix:/path/to/redis.sock[?options]");
			return -EINVAL;
		}
		u->is_unix = 1;
		snprintf(u->host, sizeof(u->host), "%s", rest);
	} else if (!strncmp(buf, "redis://", 8)) {
		rest = buf + 8;
		slash = strchr(rest, '/');
		if (slash) {
			unsigned db;
			*slash++ = 0;
			if (*slash && parse_uint(slash, 0, 100000, &db) < 0) {
				snprintf(err, errlen, "bad database number '%s'", slash);
				return -EINVAL;
			}
			u->db = *slash ? (int)db : 0;
		}
		at = strrchr(rest, '@');
		if (at) {
			*at = 0;
			if (strchr(rest, ':')) {
				snprintf(err, errlen, "no password in the URL: set MAILTAP_REDIS_PASSWORD");
				return -EINVAL;
			}
			if (url_unescape(rest) < 0 || !*rest || strlen(rest) >= sizeof(u->user)) {
				snprintf(err, errlen, "bad user name");
				return -EINVAL;
			}
			snprintf(u->user, sizeof(u->user), "%s", rest);
			rest = at + 1;
		}
		if (*rest == '[') {                 /* [IPv6]:port */
			char *end = strchr(rest, ']');
			if (!end) {
				snprintf(err, errlen, "unclosed '[' in the host");
				return -EINVAL;
			}
			*end = 0;
			snprintf(u->host, sizeof(u->host), "%s", rest + 1);
			colon = end[1] == ':' ? end + 1 : NULL;
			if (end[1] && !colon) {
				snprintf(err, errlen, "expected ':port' after ']'");
				return -EINVAL;
			}
		} else {
			colon = strchr(rest, ':');
			if (colon)
				*colon = 0;
			if (strlen(rest) >= sizeof(u->host)) {
				snprintf(err, errlen, "host name too long");
				return -EINVAL;
			}
			snprintf(u->host, sizeof(u->host), "%s", rest);
		}
		if (colon) {
			unsigned port;
			if (parse_uint(colon + 1, 1, 65535, &port) < 0) {
				snprintf(err, errlen, "bad port '%s'", colon + 1);
				return -EINVAL;
			}
			u->port = (int)port;
		}
		if (!u->host[0]) {
			snprintf(err, errlen, "no host: expected redis://[user@]host[:port][/db]");
			return -EINVAL;
		}
	} else {
		snprintf(err, errlen, "not a redis destination (redis://... or unix:/...)");
		return -EINVAL;
	}
	if (q && *q)
		return url_query(q, u, err, errlen);
	return 0;
}

void out_redis_url_redact(const char *dest, char *buf, size_t len)
{
	size_t n = strcspn(dest, "?");
	const char *at = memchr(dest, '@', n);
	const char *colon = NULL;

	if (!strncmp(dest, "redis://", 8) && at)
		colon = memchr(dest + 8, ':', (size_t)(at - dest - 8));
	if (colon)
		snprintf(buf, len, "%.*s:***%.*s", (int)(colon - dest), dest, (int)(n - (size_t)(at - dest)), at);
	else
		snprintf(buf, len, "%.*s", (int)n, dest);
}


int out_redis_url_login(struct redisContext *c, const struct out_redis_url *u,
			const char *password, const char **cmd, char *reply, size_t replylen)
{
	redisReply *rp;

	*cmd = NULL;
	if ((password && *password) || u->user[0]) {
		const char *argv[3] = { "AUTH" };
		size_t lens[3] = { 4 };
		int argc = 1;
		if (u->user[0]) {
			argv[argc] = u->user;
			lens[argc++] = strlen(u->user);
		}
		/* a user without a password: only an ACL "nopass" user takes it */
		argv[argc] = password ? password : "";
		lens[argc] = strlen(argv[argc]);
		argc++;
		*cmd = "AUTH";
		rp = redisCommandArgv(c, argc, argv, lens);
		if (!rp)
			return -EIO;
		if (rp->type == REDIS_REPLY_ERROR) {
			snprintf(reply, replylen, "%s", rp->str);
			freeReplyObject(rp);
			return -EACCES;
		}
		freeReplyObject(rp);
	}
	if (u->db) {
		char db[16];
		const char *argv[2] = { "SELECT", db };
		size_t lens[2] = { 6, 0 };
		lens[1] = (size_t)snprintf(db, sizeof(db), "%d", u->db);
		*cmd = "SELECT";
		rp = redisCommandArgv(c, 2, argv, lens);
		if (!rp)
			return -EIO;
		if (rp->type == REDIS_REPLY_ERROR) {
			snprintf(reply, replylen, "%s", rp->str);
			freeReplyObject(rp);
			return -EACCES;
		}
		freeReplyObject(rp);
	}
	*cmd = NULL;
	return 0;
}

struct redisContext *out_redis_url_connect(const struct out_redis_url *u, const char *password,
					   struct timeval connect_tv, struct timeval cmd_tv,
					   char *err, size_t errlen)
{
	redisContext *c;
	const char *cmd;
	char reply[256];
	int rc;

	c = u->is_unix ? redisConnectUnixWithTimeout(u->host, connect_tv)
		       : redisConnectWithTimeout(u->host, u->port, connect_tv);
	if (!c || c->err) {
		snprintf(err, errlen, "cannot connect to redis: %s", c ? c->errstr : "out of memory");
		redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, cmd_tv);
	rc = out_redis_url_login(c, u, password, &cmd, reply, sizeof(reply));
	if (rc < 0) {
		const char *why = rc == -EIO ? c->errstr : reply;
		if (!strcmp(cmd, "AUTH"))
			snprintf(err, errlen, "redis authentication failed: %s", why);
		else
			snprintf(err, errlen, "SELECT %d failed: %s", u->db, why);
		redisFree(c);
		return NULL;
	}
	return c;
}
