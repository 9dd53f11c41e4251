/* SPDX-License-Identifier: MIT */
/*
 * output-redis.h -- the Redis record sink (docs/redis.md).
 *
 *   redis://[user@]host[:port][/db][?key=K&mode=M&maxlen=N&batch=N&flush_ms=N&spool=DIR...]
 *   unix:/path/to/redis.sock[?db=N&...]
 *
 * out_redis_write() copies the record into a bounded in-memory queue and
 * returns; a delivery thread pipelines the records to Redis (XADD, RPUSH
 * or PUBLISH, binary-safe argv).  When Redis is unreachable, slow or
 * refusing, or the queue is half full, that thread moves records to an
 * on-disk spool (spool.h), delivered in order once Redis is back,
 * reconnecting with exponential backoff.  Only the delivery thread
 * touches the spool after open: the writer never waits on the network
 * or the disk, and a full queue drops the record (counted as queue_full).  At-least-once: consumers de-duplicate by the
 * record id.  The password comes from out_sink_config.redis_password (the
 * sensor's options layer reads $MAILTAP_REDIS_PASSWORD), never from the URL.
 */
#ifndef MAILTAP_OUTPUT_REDIS_H
#define MAILTAP_OUTPUT_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "output-redis-url.h"
#include "output.h"
#include "spool.h"

struct out_redis;

/* Open a Redis sink: parse @dest, open the spool (the URL's spool=, else
 * cfg->spool_dir, else $MAILTAP_SPOOL_DIR, else /var/lib/mailtap/spool;
 * records in its <kind> subfolder), start the delivery thread.
 * Connecting happens in the thread: an unreachable Redis is not an error
 * here, records wait in the spool.  Returns a new handle or NULL with a
 * message in err. */
struct out_redis *out_redis_open(const char *dest, const struct out_sink_config *cfg,
				 char *err, size_t errlen);

/* Queue one record (copied; a trailing newline is not sent).  Never waits
 * for the network or the disk, makes no system call but the lock's: a
 * full queue (r->u.queue records or 64 MiB) drops the record.  0, also
 * then (counted in dropped and queue_full, reported once by the delivery
 * thread, and out_redis_close then fails); -ENOMEM (counted in dropped). */
int out_redis_write(struct out_redis *r, const char *id, const char *line, size_t len);

/* Deliver for at most close_ms (not at all when Redis is down), leave the
 * rest in the spool for the next start, stop the thread, free.  0, or
 * -EIO with a message in err when records were dropped. */
int out_redis_close(struct out_redis *r, char *err, size_t errlen);

/* Counters so far (thread-safe). */
void out_redis_get_stats(struct out_redis *r, struct out_sink_stats *out);

/* Store @h for the next heartbeat, written by the delivery thread as the
 * hash mailtap:sensor:<id> with a TTL of 3 intervals.  0. */
int out_redis_heartbeat(struct out_redis *r, const struct out_health *h);

#endif
