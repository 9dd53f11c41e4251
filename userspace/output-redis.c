/* SPDX-License-Identifier: MIT */
/*
 * output-redis.c -- Redis record sink: a bounded in-memory queue filled by
 * the packet path, a delivery thread that pipelines XADD / RPUSH / PUBLISH
 * (binary-safe argv, never a format string with wire data), and an on-disk
 * spool for everything Redis cannot take right now.  See output-redis.h
 * and docs/redis.md.
 *
 * Order.  Every record gets a sequence number in out_redis_write order.
 * Undelivered records live in three places:
 *   P  the batch the thread is sending (from the queue or the spool),
 *   Q  the in-memory queue, filled by out_redis_write and nothing else,
 *   S  the spool, written by the delivery thread only.
 * Not spilling, S is empty and P is taken from Q.  "Spilling" starts when
 * Redis fails (the thread appends P, then Q, to the empty spool), when Q
 * is half full (Redis slower than the records) or at open when the spool
 * holds records from an earlier run; while spilling, the thread moves Q
 * to the end of S within flush_ms (also while it backs off) and sends
 * from S, so S holds older records than Q; it ends when S is empty.
 *
 * Threads.  The writer (the capture thread) only takes r->lock to queue a
 * record or read the counters: no file or socket I/O, no log line, not
 * even the spool's lock (its counters are cached in r by the thread).
 * The delivery thread never holds r->lock across I/O.  Locks: r->lock,
 * then the spool's own lock, never the other way round; r->ctx_lock only
 * guards freeing the hiredis context against out_redis_close shutting
 * its socket down.
 */
#include "output-redis.h"

#include <errno.h>
#include <hiredis.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util-log.h"
#include "util-time.h"

#define OUT_REDIS_QUEUE_BYTES       (64u * 1024 * 1024)  /* bound on queued payload */
#define OUT_REDIS_BATCH_BYTES       (4u * 1024 * 1024)   /* payload per spool read */
#define OUT_REDIS_SPOOL_DEFAULT     "/var/lib/mailtap/spool"

/* Error classes, each reported once until a delivery succeeds again. */
enum {
	REP_CONNECT = 1 << 0, REP_AUTH = 1 << 1, REP_NOAUTH = 1 << 2,
	REP_WRONGTYPE = 1 << 3, REP_OOM = 1 << 4, REP_NOPERM = 1 << 5,
	REP_OTHER = 1 << 6, REP_SPOOL = 1 << 7, REP_DROP = 1 << 8, REP_QFULL = 1 << 9,
};
#define REP_STICKY (REP_DROP | REP_QFULL)   /* drops are reported once per run */

struct out_redis {
	struct out_redis_url u;
	char dest[300];             /* for messages: no query, no password */
	char kind[32];
	char key[256];
	char hb_key[300];
	char sensor_id[128];
	char maxlen_str[24];
	char *password;             /* owned copy of cfg->redis_password; wiped at free */

	pthread_mutex_t lock;
	pthread_cond_t wake;        /* the thread waits on it */
	pthread_cond_t done_cond;
	struct spool_rec *q;        /* ring of r->u.queue records */
	size_t qhead, qlen, qbytes;
	uint64_t first_queued_ms;   /* arrival of the oldest queued record */
	uint64_t next_seq;
	uint64_t spool_dropped_seen; /* spool drops already reported */
	uint64_t sp_depth, sp_dropped; /* the spool's counters, as the thread last saw them */
	int queue_full_pending;     /* a write found the queue full: the thread reports it */
	int spilling;               /* the thread moves Q to the spool and delivers from there */
	int stopping, done;
	uint64_t deadline_ms;
	struct out_health hb;
	char hb_version[64], hb_mode[32], hb_state[16];
	int hb_pending;
	struct out_sink_stats st;
	unsigned reported;          /* REP_* already printed */
	char errstr[512];           /* the last problem, for out_redis_close */

	struct spool *spool;        /* owned, NULL with spool=none */
	char spool_dir[600];

	pthread_t thread;
	int thread_started;
	pthread_mutex_t ctx_lock;

	/* delivery thread only */
	redisContext *ctx;
	struct spool_rec *p;        /* the batch, r->u.batch slots */
	size_t np;
	int p_from_spool;
	struct spool_rec *sp;       /* records on their way to the spool, r->u.batch slots */
	int spool_unread;           /* the spool may hold records not read yet */
	unsigned backoff_ms;
	int failing;
};

/* ---- time --------------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Wait on @c until the monotonic time @until_ms (the cond uses CLOCK_MONOTONIC). */
static void cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, uint64_t until_ms)
{
	struct timespec ts = { .tv_sec = (time_t)(until_ms / 1000),
			       .tv_nsec = (long)(until_ms % 1000) * 1000000 };
	pthread_cond_timedwait(c, m, &ts);
}

/* ---- reporting --------------------------------------------------------- */

/* Log one warning "mailtap: redis DEST: ..." (util-log) unless @cls was already
 * reported since the last successful delivery.  Called with r->lock not
 * held.  The message never contains the password (it is never formatted). */
__attribute__((format(printf, 3, 4)))
static void report(struct out_redis *r, unsigned cls, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int first;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&r->lock);
	first = !(r->reported & cls);
	r->reported |= cls;
	snprintf(r->errstr, sizeof(r->errstr), "%s", msg);
	pthread_mutex_unlock(&r->lock);
	if (first)
		log_warn("redis %s: %s", r->dest, msg);
}

static const char *mode_type(const struct out_redis *r)
{
	return r->u.mode == OUT_REDIS_MODE_STREAM ? "stream" : "list";
}

static const char *mode_cmd(const struct out_redis *r)
{
	switch (r->u.mode) {
	case OUT_REDIS_MODE_STREAM: return "XADD";
	case OUT_REDIS_MODE_LIST: return "RPUSH";
	default: return "PUBLISH";
	}
}

/* An error reply to @cmd: say what is wrong and what to do. */
static void report_reply(struct out_redis *r, const char *cmd, const char *e)
{
	if (!strncmp(e, "WRONGPASS", 9) || strstr(e, "invalid password") ||
	    strstr(e, "invalid username-password"))
		report(r, REP_AUTH, "authentication as %s failed (%s): check the user in the URL "
		       "and MAILTAP_REDIS_PASSWORD; records wait in the spool",
		       r->u.user[0] ? r->u.user : "default", e);
	else if (!strncmp(e, "NOAUTH", 6))
		report(r, REP_NOAUTH, "the server requires authentication: set MAILTAP_REDIS_PASSWORD "
		       "(and the ACL user as redis://USER@host); records wait in the spool");
	else if (!strncmp(e, "WRONGTYPE", 9))
		report(r, REP_WRONGTYPE, "key '%s' holds a value that is not a %s: delete or rename "
		       "it, or choose another key with ?key=; records wait in the spool",
		       r->key, mode_type(r));
	else if (!strncmp(e, "OOM", 3))
		report(r, REP_OOM, "the server is out of memory (%s): raise maxmemory, lower ?maxlen= "
		       "or trim the key; records wait in the spool", e);
	else if (!strncmp(e, "NOPERM", 6))
		report(r, REP_NOPERM, "the ACL user may not run %s on '%s' (%s): grant it, e.g. "
		       "ACL SETUSER %s +%s +ping +select +type +hset +expire ~mailtap:*",
		       cmd, r->key, e, r->u.user[0] ? r->u.user : "default",
		       r->u.mode == OUT_REDIS_MODE_STREAM ? "xadd" :
		       r->u.mode == OUT_REDIS_MODE_LIST ? "rpush" : "publish");
	else
		report(r, REP_OTHER, "%s failed: %s; records wait in the spool", cmd, e);
}

/* ---- queue ------------------------------------------------------------- */

/* The spool's counters as the delivery thread last saw them, for the
 * other threads (out_redis_get_stats), which never take the spool's lock:
 * the thread may hold it through a write or an fdatasync.  Delivery
 * thread only (and out_redis_open before the thread starts). */
static void rd_spool_stats_refresh(struct out_redis *r)
{
	struct spool_stats ss = { 0 };
	if (r->spool)
		spool_get_stats(r->spool, &ss);
	pthread_mutex_lock(&r->lock);
	r->sp_depth = ss.depth;
	r->sp_dropped = ss.dropped;
	pthread_mutex_unlock(&r->lock);
}

/* The spool's own counters.  Delivery thread only. */
static uint64_t spool_dropped(struct out_redis *r)
{
	struct spool_stats ss;
	if (!r->spool)
		return 0;
	spool_get_stats(r->spool, &ss);
	return ss.dropped;
}

static uint64_t spool_depth(struct out_redis *r)
{
	struct spool_stats ss;
	if (!r->spool)
		return 0;
	spool_get_stats(r->spool, &ss);
	return ss.depth;
}

/*
 * The capture thread's only work: copy the record into the in-memory
 * queue, or count it as dropped when the queue is full.  No file, no
 * socket, no log line: the delivery thread reports the drop.
 */
int out_redis_write(struct out_redis *r, const char *id, const char *line, size_t len)
{
	struct spool_rec rec = { 0 };
	size_t idlen = id ? strnlen(id, SPOOL_ID_MAX) : 0;

	if (len && line[len - 1] == '\n')
		len--;
	/* copied before the lock, so the lock is held for a few stores */
	rec.id = malloc(idlen + 1);
	rec.data = malloc(len + 1);
	if (rec.id && rec.data) {
		memcpy(rec.id, id ? id : "", idlen);
		rec.id[idlen] = 0;
		memcpy(rec.data, line, len);
		rec.data[len] = 0;
		rec.len = len;
	}
	pthread_mutex_lock(&r->lock);
	r->st.written++;
	if (!rec.id || !rec.data) {
		r->st.dropped++;
		pthread_mutex_unlock(&r->lock);
		spool_rec_release(&rec);
		errno = ENOMEM;
		return -ENOMEM;
	}
	if (r->qlen >= r->u.queue || r->qbytes + len > OUT_REDIS_QUEUE_BYTES) {
		/* the documented bound: counted, reported by the thread */
		r->st.dropped++;
		r->st.queue_full++;
		if (!r->queue_full_pending) {
			r->queue_full_pending = 1;
			pthread_cond_signal(&r->wake);
		}
		pthread_mutex_unlock(&r->lock);
		spool_rec_release(&rec);
		return 0;
	}
	rec.seq = r->next_seq++;
	if (!r->qlen)
		r->first_queued_ms = now_ms();
	r->q[(r->qhead + r->qlen) % r->u.queue] = rec;
	r->qlen++;
	r->qbytes += len;
	if (r->qlen == r->u.batch)
		pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

/* Report what the spool's bound dropped since the last look (once). */
static void rd_report_spool_drops(struct out_redis *r, size_t lost)
{
	uint64_t d = spool_dropped(r);
	pthread_mutex_lock(&r->lock);
	if (d > r->spool_dropped_seen) {
		r->spool_dropped_seen = d;
		lost += !lost;
	}
	pthread_mutex_unlock(&r->lock);
	if (lost)
		report(r, REP_DROP, "%s: records are being dropped (counted)",
		       r->spool ? "the spool is full or refuses records" :
		       "redis is failing and there is no spool");
}

/* Append @n records, in order, to the end of the spool (r->lock not
 * held: this is the file I/O).  Returns how many were refused (counted
 * as dropped by the spool). */
static size_t rd_spool_append(struct out_redis *r, struct spool_rec *recs, size_t n)
{
	size_t ok = 0;
	for (size_t i = 0; i < n; i++)
		if (spool_append(r->spool, recs[i].seq, recs[i].id, strlen(recs[i].id),
				 recs[i].data, recs[i].len) == 0)
			ok++;
	pthread_mutex_lock(&r->lock);
	r->st.spooled += ok;
	pthread_mutex_unlock(&r->lock);
	return n - ok;
}

/* While spilling: move what the queue holds to the end of the spool, a
 * batch at a time, the lock held only to take each batch.  Delivery
 * thread only. */
static void rd_spill_queue(struct out_redis *r)
{
	size_t lost = 0, moved = 0;

	for (;;) {
		size_t n = 0;
		pthread_mutex_lock(&r->lock);
		if (!r->spilling || !r->spool) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		while (n < r->u.batch && r->qlen) {
			struct spool_rec *e = &r->q[r->qhead];
			r->qbytes -= e->len;
			r->sp[n++] = *e;
			memset(e, 0, sizeof(*e));
			r->qhead = (r->qhead + 1) % r->u.queue;
			r->qlen--;
		}
		if (n)
			r->spool_unread = 1;
		pthread_mutex_unlock(&r->lock);
		if (!n)
			break;
		lost += rd_spool_append(r, r->sp, n);
		for (size_t i = 0; i < n; i++)
			spool_rec_release(&r->sp[i]);
		moved += n;
		if (moved >= r->u.queue)
			break;   /* the rest next time: let delivery run */
	}
	if (moved) {
		rd_spool_stats_refresh(r);
		rd_report_spool_drops(r, lost);
	}
}

/* Redis failed: move P (when it came from the queue) and Q into the
 * spool, in order, and spill from now on.  P from the queue means the
 * spool was empty (the thread spills nothing while not spilling), so P
 * then Q are appended; P from the spool is read again.  Delivery thread
 * only. */
static void rd_spill(struct out_redis *r)
{
	size_t lost = 0;

	pthread_mutex_lock(&r->lock);
	if (r->p_from_spool) {
		for (size_t i = 0; i < r->np; i++)
			spool_rec_release(&r->p[i]);
		r->np = 0;
		r->p_from_spool = 0;
		if (r->spool)
			spool_rewind(r->spool);
	}
	if (r->spool) {
		r->spilling = 1;
		r->spool_unread = 1;
	}
	if (!r->spool) {
		/* nowhere to keep them: P and Q are lost, counted */
		lost = r->np + r->qlen;
		r->st.dropped += lost;
		for (size_t i = 0; i < r->np; i++)
			spool_rec_release(&r->p[i]);
		for (size_t i = 0; i < r->qlen; i++)
			spool_rec_release(&r->q[(r->qhead + i) % r->u.queue]);
		r->np = 0;
		r->qhead = r->qlen = r->qbytes = 0;
		pthread_mutex_unlock(&r->lock);
		if (lost)
			rd_report_spool_drops(r, lost);
		return;
	}
	pthread_mutex_unlock(&r->lock);
	if (r->np) {
		/* only this thread touches P */
		lost += rd_spool_append(r, r->p, r->np);
		for (size_t i = 0; i < r->np; i++)
			spool_rec_release(&r->p[i]);
		r->np = 0;
	}
	rd_spool_stats_refresh(r);
	rd_report_spool_drops(r, lost);
	rd_spill_queue(r);
}

/* Fill P from the queue or, when spilling, the spool.  Delivery thread. */
static void rd_fill(struct out_redis *r)
{
	int n, spill_now = 0;

	pthread_mutex_lock(&r->lock);
	if (!r->spilling && r->spool && r->qlen >= r->u.queue / 2) {
		/* Redis takes records slower than they come: rather than let
		 * the queue fill (and drop), keep them in the spool */
		r->spilling = spill_now = 1;
	}
	if (!r->spilling) {
		while (r->np < r->u.batch && r->qlen) {
			struct spool_rec *e = &r->q[r->qhead];
			r->qbytes -= e->len;
			r->p[r->np++] = *e;
			memset(e, 0, sizeof(*e));
			r->qhead = (r->qhead + 1) % r->u.queue;
			r->qlen--;
		}
		r->p_from_spool = 0;
		pthread_mutex_unlock(&r->lock);
		return;
	}
	pthread_mutex_unlock(&r->lock);
	if (spill_now)
		rd_spill_queue(r);
	pthread_mutex_lock(&r->lock);
	r->spool_unread = 0;
	pthread_mutex_unlock(&r->lock);

	n = spool_read(r->spool, r->p, r->u.batch, OUT_REDIS_BATCH_BYTES);
	if (n > 0) {
		r->np = (size_t)n;
		r->p_from_spool = 1;
		return;
	}
	if (n < 0)
		report(r, REP_SPOOL, "cannot read the spool %s: %s", r->spool_dir, strerror(-n));
	pthread_mutex_lock(&r->lock);
	/* all caught up: the queue holds only newer records, send it directly */
	if (!spool_depth(r))
		r->spilling = 0;
	pthread_mutex_unlock(&r->lock);
}

/* A stable 64-bit name of where records go: server (host and port, or
 * the socket path), db, key and mode.  FNV-1a: not a secret, only a
 * directory name that differs when the destination does. */
static uint64_t dest_identity(const struct out_redis *r)
{
	char id[OUT_REDIS_URL_HOST_MAX + 600];
	uint64_t h = 0xcbf29ce484222325ULL;
	int n = snprintf(id, sizeof(id), "%s|%s|%d|%d|%s|%d", r->u.is_unix ? "unix" : "tcp",
			 r->u.host, r->u.is_unix ? 0 : r->u.port, r->u.db, r->key, (int)r->u.mode);
	for (int i = 0; i < n && i < (int)sizeof(id); i++) {
		h ^= (unsigned char)id[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* ---- hiredis ------------------------------------------------------------ */

static void rd_drop_ctx(struct out_redis *r)
{
	pthread_mutex_lock(&r->ctx_lock);
	if (r->ctx)
		redisFree(r->ctx);
	r->ctx = NULL;
	pthread_mutex_unlock(&r->ctx_lock);
}

/* One command, argv-style.  Returns the reply (caller frees) or NULL when
 * the connection failed. */
static redisReply *rd_cmd(struct out_redis *r, int argc, const char **argv, const size_t *lens)
{
	return redisCommandArgv(r->ctx, argc, argv, lens);
}

static int rd_connect(struct out_redis *r, unsigned timeout_ms)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	struct timeval ctv = { .tv_sec = r->u.timeout_ms / 1000,
			       .tv_usec = (r->u.timeout_ms % 1000) * 1000 };
	redisContext *c;
	redisReply *rep;

	c = r->u.is_unix ? redisConnectUnixWithTimeout(r->u.host, tv)
			 : redisConnectWithTimeout(r->u.host, r->u.port, tv);
	if (!c || c->err) {
		report(r, REP_CONNECT, "cannot connect: %s; records wait in the spool, retrying "
		       "with backoff", c ? c->errstr : "out of memory");
		if (c)
			redisFree(c);
		return -1;
	}
	redisSetTimeout(c, ctv);
	if (!r->u.is_unix)
		redisEnableKeepAlive(c);
	pthread_mutex_lock(&r->ctx_lock);
	r->ctx = c;
	pthread_mutex_unlock(&r->ctx_lock);

	{
		const char *cmd;
		char reply[256];
		int lr = out_redis_url_login(c, &r->u, r->password, &cmd, reply, sizeof(reply));
		if (lr == -EIO)
			goto out_io;
		if (lr < 0) {
			report_reply(r, cmd, reply);
			goto out_fail;
		}
	}
	if (r->u.mode != OUT_REDIS_MODE_CHANNEL) {
		/* a key of the wrong type is found now, with a clear message,
		 * rather than as a WRONGTYPE on every batch */
		const char *argv[2] = { "TYPE", r->key };
		size_t lens[2] = { 4, strlen(r->key) };
		rep = rd_cmd(r, 2, argv, lens);
		if (!rep)
			goto out_io;
		if (rep->type == REDIS_REPLY_ERROR) {
			report_reply(r, "TYPE", rep->str);
			freeReplyObject(rep);
			goto out_fail;
		}
		if (rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "none") &&
		    strcmp(rep->str, mode_type(r))) {
			report(r, REP_WRONGTYPE, "key '%s' is a %s, not a %s: delete or rename it, or "
			       "choose another key with ?key=; records wait in the spool",
			       r->key, rep->str, mode_type(r));
			freeReplyObject(rep);
			goto out_fail;
		}
		freeReplyObject(rep);
	}
	return 0;

out_io:
	report(r, REP_CONNECT, "connection lost during setup: %s; retrying with backoff",
	       r->ctx->errstr);
out_fail:
	rd_drop_ctx(r);
	return -1;
}

/* Send P pipelined; commit what Redis took.  0 when all of P was
 * delivered, -1 otherwise (what is left stays in P or the spool). */
static int rd_send(struct out_redis *r)
{
	size_t ok = r->np, n = r->np;
	int io_err = 0;
	size_t klen = strlen(r->key), mlen = strlen(r->maxlen_str);

	for (size_t i = 0; i < n; i++) {
		const char *argv[10];
		size_t lens[10];
		int argc = 0;
		struct spool_rec *e = &r->p[i];
#define ARG(s, l) (argv[argc] = (s), lens[argc++] = (l))
		if (r->u.mode == OUT_REDIS_MODE_STREAM) {
			ARG("XADD", 4);
			ARG(r->key, klen);
			if (r->u.maxlen) {
				ARG("MAXLEN", 6);
				ARG("~", 1);
				ARG(r->maxlen_str, mlen);
			}
			ARG("*", 1);
			ARG("data", 4);
			ARG(e->data, e->len);
			if (e->id[0]) {
				ARG("id", 2);
				ARG(e->id, strlen(e->id));
			}
		} else {
			ARG(r->u.mode == OUT_REDIS_MODE_LIST ? "RPUSH" : "PUBLISH", r->u.mode == OUT_REDIS_MODE_LIST ? 5 : 7);
			ARG(r->key, klen);
			ARG(e->data, e->len);
		}
#undef ARG
		if (redisAppendCommandArgv(r->ctx, argc, argv, lens) != REDIS_OK) {
			ok = 0;
			io_err = 1;
			break;
		}
	}
	for (size_t i = 0; i < n && !io_err; i++) {
		void *v = NULL;
		redisReply *rep;
		if (redisGetReply(r->ctx, &v) != REDIS_OK) {
			if (ok > i)
				ok = i;
			io_err = 1;
			break;
		}
		rep = v;
		if (rep->type == REDIS_REPLY_ERROR) {
			if (ok > i) {
				ok = i;
				report_reply(r, mode_cmd(r), rep->str);
			}
		}
		freeReplyObject(rep);
	}
	if (io_err)
		report(r, REP_CONNECT, "connection lost: %s; records wait in the spool, reconnecting "
		       "with backoff", r->ctx->errstr[0] ? r->ctx->errstr : "write failed");

	pthread_mutex_lock(&r->lock);
	r->st.delivered += ok;
	if (ok < n)
		r->st.retried += n - ok;
	pthread_mutex_unlock(&r->lock);
	if (r->p_from_spool) {
		if (ok)
			spool_commit(r->spool, r->p[ok - 1].seq);
		for (size_t i = 0; i < n; i++)
			spool_rec_release(&r->p[i]);
		r->np = 0;
		if (ok < n) {
			spool_rewind(r->spool);
			r->spool_unread = 1;
		}
	} else {
		for (size_t i = 0; i < ok; i++)
			spool_rec_release(&r->p[i]);
		memmove(r->p, r->p + ok, (n - ok) * sizeof(*r->p));
		r->np = n - ok;
	}
	return ok == n ? 0 : -1;
}

static void hb_add(const char **argv, size_t *lens, int *argc, const char *field, const char *val)
{
	argv[*argc] = field;
	lens[(*argc)++] = strlen(field);
	argv[*argc] = val;
	lens[(*argc)++] = strlen(val);
}

/* HSET mailtap:sensor:<id> ... ; EXPIRE.  0 or -1 (connection or error). */
static int rd_heartbeat(struct out_redis *r)
{
	struct out_health h;
	struct out_sink_stats st;
	char num[16][64], f[8][64], t1[TIME_RFC3339_LEN], t2[TIME_RFC3339_LEN], t3[TIME_RFC3339_LEN];
	char ttl[16], err[512], state[16];
	const char *argv[64];
	size_t lens[64];
	int argc = 0, nb = 0, rc = 0;
	unsigned interval;
	uint64_t depth = spool_depth(r);

	pthread_mutex_lock(&r->lock);
	h = r->hb;
	st = r->st;
	st.dropped += spool_dropped(r);
	r->hb_pending = 0;
	snprintf(err, sizeof(err), "%s", r->errstr);
	snprintf(state, sizeof(state), "%s", r->hb_state[0] ? r->hb_state : "running");
	pthread_mutex_unlock(&r->lock);

	argv[argc] = "HSET";
	lens[argc++] = 4;
	argv[argc] = r->hb_key;
	lens[argc++] = strlen(r->hb_key);
#define NUM(field, v) (snprintf(num[nb], sizeof(num[nb]), "%llu", (unsigned long long)(v)), \
		       hb_add(argv, lens, &argc, field, num[nb]), nb++)
	hb_add(argv, lens, &argc, "sensor", r->sensor_id);
	hb_add(argv, lens, &argc, "version", h.version ? h.version : "");
	hb_add(argv, lens, &argc, "capture_mode", h.capture_mode ? h.capture_mode : "");
	hb_add(argv, lens, &argc, "start_time",
	       h.start_time_ns ? time_format_rfc3339(h.start_time_ns, t1, sizeof(t1)) : "");
	hb_add(argv, lens, &argc, "last_packet",
	       h.last_packet_ns ? time_format_rfc3339(h.last_packet_ns, t2, sizeof(t2)) : "");
	hb_add(argv, lens, &argc, "updated", time_format_rfc3339(wall_ns(), t3, sizeof(t3)));
	hb_add(argv, lens, &argc, "state", state);
	NUM("packets", h.packets);
	NUM("drops", h.drops);
	NUM("flows", h.flows);
	NUM("alerts", h.alerts);
	interval = h.interval_s ? h.interval_s : 10;
	NUM("interval_s", interval);
	/* the sink's own state, per kind so a sessions and an alerts sink
	 * can share the hash */
	snprintf(f[0], sizeof(f[0]), "%s_redis", r->kind);
	hb_add(argv, lens, &argc, f[0], r->failing ? "recovering" : "up");
	snprintf(f[1], sizeof(f[1]), "%s_delivered", r->kind);
	NUM(f[1], st.delivered);
	snprintf(f[2], sizeof(f[2]), "%s_spooled", r->kind);
	NUM(f[2], st.spooled);
	snprintf(f[3], sizeof(f[3]), "%s_spool_depth", r->kind);
	NUM(f[3], depth);
	snprintf(f[4], sizeof(f[4]), "%s_dropped", r->kind);
	NUM(f[4], st.dropped);
	snprintf(f[5], sizeof(f[5]), "%s_retried", r->kind);
	NUM(f[5], st.retried);
	snprintf(f[7], sizeof(f[7]), "%s_queue_full", r->kind);
	NUM(f[7], st.queue_full);
	snprintf(f[6], sizeof(f[6]), "%s_last_error", r->kind);
	hb_add(argv, lens, &argc, f[6], err);
#undef NUM
	if (redisAppendCommandArgv(r->ctx, argc, argv, lens) != REDIS_OK)
		return -1;
	{
		const char *ev[3] = { "EXPIRE", r->hb_key, ttl };
		size_t el[3] = { 6, strlen(r->hb_key), 0 };
		el[2] = (size_t)snprintf(ttl, sizeof(ttl), "%u", 3 * interval);
		if (redisAppendCommandArgv(r->ctx, 3, ev, el) != REDIS_OK)
			return -1;
	}
	for (int i = 0; i < 2; i++) {
		void *v = NULL;
		redisReply *rep;
		if (redisGetReply(r->ctx, &v) != REDIS_OK) {
			report(r, REP_CONNECT, "connection lost: %s; reconnecting with backoff",
			       r->ctx->errstr);
			return -1;
		}
		rep = v;
		if (rep->type == REDIS_REPLY_ERROR) {
			report_reply(r, i ? "EXPIRE" : "HSET", rep->str);
			rc = -1;
		}
		freeReplyObject(rep);
	}
	return rc;
}

/* ---- delivery thread ---------------------------------------------------- */

static int nothing_left(struct out_redis *r)
{
	int empty;
	pthread_mutex_lock(&r->lock);
	empty = !r->np && !r->qlen && !spool_depth(r);
	pthread_mutex_unlock(&r->lock);
	return empty;
}

/* Q is due to move on (to Redis or, spilling, to the spool): a batch is
 * full or its oldest record waited flush_ms.  Called with r->lock held. */
static int queue_due(const struct out_redis *r, uint64_t now)
{
	return r->qlen >= r->u.batch || (r->qlen && now >= r->first_queued_ms + r->u.flush_ms);
}

/* A write found the queue full: say so once (from here, not from the
 * capture thread). */
static void rd_report_queue_full(struct out_redis *r)
{
	int pending;
	pthread_mutex_lock(&r->lock);
	pending = r->queue_full_pending;
	r->queue_full_pending = 0;
	pthread_mutex_unlock(&r->lock);
	if (pending)
		report(r, REP_QFULL, "the in-memory queue is full (%u records or %u MiB): records are "
		       "being dropped (counted as queue_full); raise ?queue= or see why delivery "
		       "and the spool fall behind", r->u.queue, OUT_REDIS_QUEUE_BYTES >> 20);
}

/* Wait for the next reconnect attempt, moving Q to the spool meanwhile so
 * that the queue never fills while Redis is down; returns early when
 * stopping. */
static void rd_backoff(struct out_redis *r)
{
	uint64_t until, now;
	r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : OUT_REDIS_BACKOFF_MIN_MS;
	if (r->backoff_ms > r->u.backoff_max_ms)
		r->backoff_ms = r->u.backoff_max_ms;
	until = now_ms() + r->backoff_ms;
	pthread_mutex_lock(&r->lock);
	while (!r->stopping && (now = now_ms()) < until) {
		if ((r->spilling && queue_due(r, now)) || r->queue_full_pending) {
			pthread_mutex_unlock(&r->lock);
			rd_report_queue_full(r);
			rd_spill_queue(r);
			pthread_mutex_lock(&r->lock);
			continue;
		}
		cond_wait_until(&r->wake, &r->lock,
				r->qlen && r->first_queued_ms + r->u.flush_ms < until ?
				r->first_queued_ms + r->u.flush_ms : until);
	}
	pthread_mutex_unlock(&r->lock);
}

static void rd_failed(struct out_redis *r)
{
	r->failing = 1;
	rd_drop_ctx(r);
	rd_spill(r);
}

static void rd_succeeded(struct out_redis *r)
{
	r->backoff_ms = 0;
	if (r->failing) {
		uint64_t depth = spool_depth(r);
		r->failing = 0;
		log_notice("redis %s: delivering again (%llu records waiting in the spool)",
			   r->dest, (unsigned long long)depth);
	}
	pthread_mutex_lock(&r->lock);
	r->reported &= REP_STICKY;   /* later problems are reported again */
	pthread_mutex_unlock(&r->lock);
}

static void *rd_main(void *arg)
{
	struct out_redis *r = arg;

	for (;;) {
		int stopping, hb;
		uint64_t deadline, now;

		pthread_mutex_lock(&r->lock);
		for (;;) {
			now = now_ms();
			if (r->stopping || r->hb_pending || r->np || r->queue_full_pending ||
			    queue_due(r, now))
				break;
			if (r->spilling && r->spool_unread)
				break;
			cond_wait_until(&r->wake, &r->lock,
					r->qlen ? r->first_queued_ms + r->u.flush_ms : now + 1000);
		}
		stopping = r->stopping;
		deadline = r->deadline_ms;
		hb = r->hb_pending;
		pthread_mutex_unlock(&r->lock);

		rd_report_queue_full(r);
		/* spilling, Q goes behind what waits in the spool, which is
		 * delivered first */
		rd_spill_queue(r);
		/* the last heartbeat (state "stopped") goes out too */
		if (stopping && ((nothing_left(r) && !hb) || now_ms() >= deadline))
			break;
		if (!r->ctx) {
			unsigned t = r->u.timeout_ms;
			now = now_ms();
			if (stopping && deadline - now < t)
				t = deadline > now ? (unsigned)(deadline - now) : 1;
			if (rd_connect(r, t) < 0) {
				rd_failed(r);
				if (stopping)
					break;   /* Redis is down: the spool keeps the rest */
				rd_backoff(r);
				continue;
			}
		}
		if (hb && rd_heartbeat(r) < 0) {
			rd_failed(r);
			if (stopping)
				break;
			rd_backoff(r);
			continue;
		}
		if (!r->np)
			rd_fill(r);
		if (!r->np)
			continue;
		if (rd_send(r) < 0) {
			rd_spool_stats_refresh(r);
			rd_failed(r);
			if (stopping)
				break;   /* no retries at exit: the spool keeps the rest */
			rd_backoff(r);
			continue;
		}
		rd_spool_stats_refresh(r);
		rd_succeeded(r);
	}
	/* what is left waits in the spool for the next start; the spool is
	 * synced and closed here, so no other thread ever touches it */
	rd_spill(r);
	rd_drop_ctx(r);
	rd_spool_stats_refresh(r);
	if (r->sp_depth)
		log_notice("redis %s: %llu records wait in the spool %s for the next start",
			   r->dest, (unsigned long long)r->sp_depth, r->spool_dir);
	spool_free(r->spool);
	pthread_mutex_lock(&r->lock);
	r->spool = NULL;
	r->done = 1;
	pthread_cond_broadcast(&r->done_cond);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* ---- open / close -------------------------------------------------------- */

static int mkdir_p(const char *path)
{
	char buf[600];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0750) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void out_redis_free(struct out_redis *r)
{
	if (!r)
		return;
	for (size_t i = 0; r->q && i < r->qlen; i++)
		spool_rec_release(&r->q[(r->qhead + i) % r->u.queue]);
	for (size_t i = 0; r->p && i < r->np; i++)
		spool_rec_release(&r->p[i]);
	free(r->q);
	free(r->p);
	free(r->sp);
	spool_free(r->spool);
	if (r->password) {
		explicit_bzero(r->password, strlen(r->password));
		free(r->password);
	}
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->ctx_lock);
	pthread_cond_destroy(&r->wake);
	pthread_cond_destroy(&r->done_cond);
	free(r);
}

struct out_redis *out_redis_open(const char *dest, const struct out_sink_config *cfg,
				 char *err, size_t errlen)
{
	struct out_redis *r = calloc(1, sizeof(*r));
	pthread_condattr_t ca;
	const char *pw, *base;
	char uerr[300];
	int terr;

	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->ctx_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->wake, &ca);
	pthread_cond_init(&r->done_cond, &ca);
	pthread_condattr_destroy(&ca);

	out_redis_url_redact(dest, r->dest, sizeof(r->dest));
	if (out_redis_url_parse(dest, &r->u, uerr, sizeof(uerr)) < 0) {
		snprintf(err, errlen, "'%s': %s", r->dest, uerr);
		goto out_free;
	}
	snprintf(r->kind, sizeof(r->kind), "%s", cfg && cfg->kind ? cfg->kind : "sessions");
	if (r->u.key[0])
		snprintf(r->key, sizeof(r->key), "%s", r->u.key);
	else
		snprintf(r->key, sizeof(r->key), "mailtap:%s", r->kind);
	snprintf(r->maxlen_str, sizeof(r->maxlen_str), "%llu", (unsigned long long)r->u.maxlen);
	if (cfg && cfg->sensor_id && cfg->sensor_id[0])
		snprintf(r->sensor_id, sizeof(r->sensor_id), "%s", cfg->sensor_id);
	else if (gethostname(r->sensor_id, sizeof(r->sensor_id) - 1) < 0 || !r->sensor_id[0])
		snprintf(r->sensor_id, sizeof(r->sensor_id), "unknown");
	snprintf(r->hb_key, sizeof(r->hb_key), "mailtap:sensor:%s", r->sensor_id);
	pw = cfg ? cfg->redis_password : NULL;
	if (pw && *pw && !(r->password = strdup(pw))) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}

	if (strcmp(r->u.spool, "none")) {
		struct spool_config sc = { .max_bytes = r->u.spool_max, .drop = r->u.spool_drop };
		char serr[700];
		int rc;
		base = r->u.spool[0] ? r->u.spool :
		       cfg && cfg->spool_dir ? cfg->spool_dir :
		       getenv("MAILTAP_SPOOL_DIR") ? getenv("MAILTAP_SPOOL_DIR") : OUT_REDIS_SPOOL_DEFAULT;
		rc = mkdir_p(base);
		if (rc < 0) {
			snprintf(err, errlen, "'%s': cannot create the spool directory '%s': %s "
				 "(choose one with ?spool=DIR, or ?spool=none to lose records when "
				 "redis is down)", r->dest, base, strerror(-rc));
			goto out_free;
		}
		/* one spool per destination: records spooled for one server, db,
		 * key and mode are never delivered to another (a later run with
		 * another URL gets its own directory) */
		snprintf(r->spool_dir, sizeof(r->spool_dir), "%s/%s-%016llx", base, r->kind,
			 (unsigned long long)dest_identity(r));
		sc.dir = r->spool_dir;
		r->spool = spool_open(&sc, serr, sizeof(serr));
		if (!r->spool) {
			snprintf(err, errlen, "'%s': %s", r->dest, serr);
			goto out_free;
		}
		r->next_seq = spool_next_seq(r->spool);
		if (spool_depth(r)) {
			r->spilling = 1;    /* an earlier run's records go first */
			r->spool_unread = 1;
		}
	} else {
		r->next_seq = 1;
	}
	r->q = calloc(r->u.queue, sizeof(*r->q));
	r->p = calloc(r->u.batch, sizeof(*r->p));
	r->sp = calloc(r->u.batch, sizeof(*r->sp));
	if (!r->q || !r->p || !r->sp) {
		snprintf(err, errlen, "out of memory");
		goto out_free;
	}
	rd_spool_stats_refresh(r);
	terr = pthread_create(&r->thread, NULL, rd_main, r);
	if (terr != 0) {
		/* pthread_create returns the error; errno is not set */
		snprintf(err, errlen, "cannot start the redis thread: %s", strerror(terr));
		goto out_free;
	}
	r->thread_started = 1;
	return r;

out_free:
	out_redis_free(r);
	return NULL;
}

int out_redis_close(struct out_redis *r, char *err, size_t errlen)
{
	struct out_sink_stats st;
	int rc = 0;

	if (!r)
		return 0;
	pthread_mutex_lock(&r->lock);
	r->stopping = 1;
	r->deadline_ms = now_ms() + r->u.close_ms;
	pthread_cond_broadcast(&r->wake);
	/* give the thread its delivery time, then cut a blocked socket */
	while (!r->done && now_ms() < r->deadline_ms + 200)
		cond_wait_until(&r->done_cond, &r->lock, r->deadline_ms + 200);
	pthread_mutex_unlock(&r->lock);
	pthread_mutex_lock(&r->ctx_lock);
	if (!r->done && r->ctx && r->ctx->fd >= 0)
		shutdown(r->ctx->fd, SHUT_RDWR);
	pthread_mutex_unlock(&r->ctx_lock);
	if (r->thread_started)
		pthread_join(r->thread, NULL);

	/* the thread has reported what waits in the spool, and closed it */
	st = r->st;
	st.dropped += r->sp_dropped;
	if (st.dropped) {
		snprintf(err, errlen, "redis %s: %llu of %llu records were dropped%s%s", r->dest,
			 (unsigned long long)st.dropped, (unsigned long long)st.written,
			 r->errstr[0] ? "; last problem: " : "", r->errstr);
		rc = -EIO;
	}
	out_redis_free(r);
	return rc;
}

void out_redis_get_stats(struct out_redis *r, struct out_sink_stats *out)
{
	pthread_mutex_lock(&r->lock);
	/* cached by the thread: the spool's own lock may be held through an
	 * fdatasync, and this runs on the capture thread */
	*out = r->st;
	out->spool_depth = r->sp_depth;
	out->dropped += r->sp_dropped;
	pthread_mutex_unlock(&r->lock);
}

int out_redis_heartbeat(struct out_redis *r, const struct out_health *h)
{
	pthread_mutex_lock(&r->lock);
	r->hb = *h;
	snprintf(r->hb_version, sizeof(r->hb_version), "%s", h->version ? h->version : "");
	snprintf(r->hb_mode, sizeof(r->hb_mode), "%s", h->capture_mode ? h->capture_mode : "");
	r->hb.version = r->hb_version;
	r->hb.capture_mode = r->hb_mode;
	snprintf(r->hb_state, sizeof(r->hb_state), "%s", h->state ? h->state : "running");
	r->hb.state = r->hb_state;
	r->hb_pending = 1;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	return 0;
}
