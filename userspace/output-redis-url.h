/* SPDX-License-Identifier: MIT */
/*
 * output-redis-url.h -- the one parser of Redis destinations, shared by
 * the Redis sink (output-redis.c), the option checks (sensor/options.c)
 * and mailtap-alerts (sensor/tool-alerts.c).  docs/redis.md lists the
 * forms and options:
 *
 *   redis://[user@]host[:port][/db][?key=K&mode=M&maxlen=N&batch=N&flush_ms=N&spool=DIR...]
 *   redis://[user@][::1]:6379
 *   unix:/path/to/redis.sock[?db=N&...]
 *
 * A password is never part of a destination (refused).
 */
#ifndef MAILTAP_OUTPUT_REDIS_URL_H
#define MAILTAP_OUTPUT_REDIS_URL_H

#include <stddef.h>
#include <stdint.h>

#include "spool.h"

#define OUT_REDIS_BACKOFF_MIN_MS 100  /* the reconnect backoff starts here */

enum out_redis_mode {
	OUT_REDIS_MODE_STREAM,   /* XADD key MAXLEN ~ N * data <json> id <record_id> */
	OUT_REDIS_MODE_LIST,     /* RPUSH key <json> (what Logstash's redis input reads) */
	OUT_REDIS_MODE_CHANNEL,  /* PUBLISH key <json> (no storage: subscribers only) */
};

#define OUT_REDIS_URL_HOST_MAX 256

/* A parsed destination.  Defaults are filled in by out_redis_url_parse. */
struct out_redis_url {
	int is_unix;
	char host[OUT_REDIS_URL_HOST_MAX];  /* host name / address, or the socket path */
	int port;                       /* 6379 */
	char user[128];                 /* ACL user, "" = default */
	int db;                         /* 0 */
	char key[256];                  /* "" = mailtap:<kind> */
	enum out_redis_mode mode;           /* stream */
	uint64_t maxlen;                /* 1000000; 0 = no trimming */
	unsigned batch;                 /* 256 records per round trip */
	unsigned flush_ms;              /* 100: a partial batch waits at most this */
	unsigned queue;                 /* 65536 records in memory */
	unsigned timeout_ms;            /* 2000: connect and command timeout */
	unsigned close_ms;              /* 3000: out_sink_close delivers this long */
	unsigned backoff_max_ms;        /* 10000: reconnect backoff ceiling */
	char spool[512];                /* "" = default, "none" = no spool */
	uint64_t spool_max;             /* 0 = spool default (256 MiB) */
	enum spool_drop spool_drop;     /* oldest */
};

/* Parse @dest into @u (defaults for what it does not say).  0, or -EINVAL with a message in err (a password in
 * the URL is refused: it belongs in $MAILTAP_REDIS_PASSWORD). */
int out_redis_url_parse(const char *dest, struct out_redis_url *u, char *err, size_t errlen);

/* @dest as it may appear in messages: without the query, and with a
 * password (refused anyway) masked as "***". */
void out_redis_url_redact(const char *dest, char *buf, size_t len);

/* AUTH with u->user and @password (borrowed; NULL or "" with no user: no
 * AUTH), then SELECT u->db, on the connected @c: the one login every
 * Redis client of the program does (the sink, mailtap-alerts,
 * mailtap-web).  Returns 0; -EIO when the connection failed (c->errstr
 * says why); -EACCES when the server refused: the server's error text in
 * @reply.  *@cmd names the command that failed ("AUTH", "SELECT"). */
struct redisContext;
int out_redis_url_login(struct redisContext *c, const struct out_redis_url *u,
			const char *password, const char **cmd, char *reply, size_t replylen);

/* A blocking hiredis connection to @u for a reader (mailtap-alerts,
 * mailtap-web): connect within @connect_tv, commands time out after
 * @cmd_tv, AUTH with u->user and @password (borrowed; NULL or "" with no
 * user: no AUTH), SELECT u->db.  Returns the context (free with
 * redisFree) or NULL with the reason in @err. */
struct timeval;
struct redisContext *out_redis_url_connect(const struct out_redis_url *u, const char *password,
					   struct timeval connect_tv, struct timeval cmd_tv,
					   char *err, size_t errlen);

#endif
