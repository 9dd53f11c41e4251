/* SPDX-License-Identifier: MIT */
/*
 * spool.c -- bounded append-only segment files with length + CRC framing,
 * a persisted delivery cursor and a drop policy.  See spool.h for the
 * format and the guarantees.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define SPOOL_DEFAULT_MAX   (256ull * 1024 * 1024)
#define SPOOL_SEG_MIN       (64ull * 1024)
#define SPOOL_SEG_MAX       (64ull * 1024 * 1024)

struct spool_seg {
	uint64_t name;      /* seq in the file name: its first record's */
	uint64_t last;      /* highest seq in it, 0 when empty */
	uint64_t pending;   /* records with seq > cursor not committed yet */
	uint64_t bytes;     /* file size */
};

/* A record handed out by spool_read and not committed yet. */
struct spool_readlog {
	uint64_t seq;
	uint64_t seg;       /* its segment's name */
	uint64_t end;       /* offset just past it */
};

struct spool_pos {
	uint64_t seg;       /* segment name */
	uint64_t off;
};

struct spool {
	pthread_mutex_t lock;
	char dir[512];
	uint64_t max_bytes, segment_bytes;
	enum spool_drop drop;
	int lock_fd, cursor_fd;
	uint64_t cursor;            /* every seq <= cursor is delivered */
	uint64_t next_seq;

	struct spool_seg *segs;     /* sorted by name */
	size_t nsegs, capsegs;
	int tail_fd;                /* O_APPEND fd of segs[nsegs-1], or -1 */
	uint64_t tail_name;

	int rd_fd;                  /* read fd and the segment it is open on */
	uint64_t rd_name;
	struct spool_pos rd, committed_pos;
	struct spool_readlog *log;
	size_t nlog, caplog;

	struct spool_stats st;
};

/* ---- helpers ---------------------------------------------------------- */

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/*
 * Records are framed with zlib's CRC-32 (IEEE 802.3).  It detects every
 * burst error up to 32 bits and any odd number of flipped bits, which is
 * what a torn or damaged record looks like; it is not a defence against
 * deliberate tampering (the spool is a local, root-owned directory).
 */
static uint32_t crc32_update(uint32_t crc, const void *buf, size_t len)
{
	/* zlib takes uInt lengths; records are bounded by SPOOL_RECORD_MAX */
	return (uint32_t)crc32((uLong)crc, buf, (uInt)len);
}

uint32_t spool_crc(const void *len_le, const void *body, size_t body_len)
{
	return crc32_update(crc32_update(0, len_le, 4), body, body_len);
}

static void seg_path(const struct spool *sp, uint64_t name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/seg-%020" PRIu64 ".spool", sp->dir, name);
}

static ssize_t pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	return 0;
}

enum parse_result { PARSE_OK, PARSE_SHORT, PARSE_BAD };

struct parsed {
	uint64_t seq;
	uint32_t body_len;
	uint64_t next;      /* offset past the record */
	uint8_t *body;      /* malloc'ed when want_body, else NULL */
};

/* Parse the record at @off of a file of @size bytes.  PARSE_SHORT: the
 * file ends inside the record (torn); PARSE_BAD: not a valid record. */
static enum parse_result parse_at(int fd, uint64_t off, uint64_t size, int want_body,
				  struct parsed *p)
{
	uint8_t hdr[SPOOL_HDR_BYTES];
	uint8_t *body;
	uint32_t len;

	p->body = NULL;
	if (size - off < SPOOL_HDR_BYTES)
		return PARSE_SHORT;
	if (pread_full(fd, hdr, sizeof(hdr), off) != (ssize_t)sizeof(hdr))
		return PARSE_SHORT;
	if (get_le32(hdr) != SPOOL_MAGIC)
		return PARSE_BAD;
	len = get_le32(hdr + 4);
	if (len < SPOOL_BODY_MIN || len > SPOOL_RECORD_MAX)
		return PARSE_BAD;
	if (size - off - SPOOL_HDR_BYTES < len)
		return PARSE_SHORT;
	body = malloc(len + 1);
	if (!body)
		return PARSE_BAD;
	if (pread_full(fd, body, len, off + SPOOL_HDR_BYTES) != (ssize_t)len ||
	    spool_crc(hdr + 4, body, len) != get_le32(hdr + 8)) {
		free(body);
		return PARSE_BAD;
	}
	p->seq = get_le64(body);
	if ((size_t)(body[8] | body[9] << 8) > len - SPOOL_BODY_MIN) {
		free(body);
		return PARSE_BAD;
	}
	p->body_len = len;
	p->next = off + SPOOL_HDR_BYTES + len;
	if (want_body)
		p->body = body;
	else
		free(body);
	return PARSE_OK;
}

/* The offset of the next valid record after a bad one at @off, or @size. */
static uint64_t resync(int fd, uint64_t off, uint64_t size)
{
	uint8_t buf[4096];
	uint64_t pos = off + 1;

	while (pos + 4 <= size) {
		ssize_t n = pread_full(fd, buf, sizeof(buf), pos);
		if (n < 4)
			break;
		for (ssize_t i = 0; i + 4 <= n; i++) {
			struct parsed p;
			if (get_le32(buf + i) != SPOOL_MAGIC)
				continue;
			if (parse_at(fd, pos + (uint64_t)i, size, 0, &p) == PARSE_OK)
				return pos + (uint64_t)i;
		}
		pos += (uint64_t)n - 3;
	}
	return size;
}

static int cursor_store(struct spool *sp, uint64_t seq)
{
	uint8_t b[12];
	put_le64(b, seq);
	put_le32(b + 8, crc32_update(0, b, 8));
	if (pwrite(sp->cursor_fd, b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -(errno ? errno : EIO);
	return 0;
}

static uint64_t cursor_load(struct spool *sp)
{
	uint8_t b[12];
	if (pread_full(sp->cursor_fd, b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return 0;
	if (get_le32(b + 8) != crc32_update(0, b, 8))
		return 0;   /* torn: deliver again from the start (at-least-once) */
	return get_le64(b);
}

static struct spool_seg *seg_find(struct spool *sp, uint64_t name, size_t *idx)
{
	for (size_t i = 0; i < sp->nsegs; i++) {
		if (sp->segs[i].name == name) {
			if (idx)
				*idx = i;
			return &sp->segs[i];
		}
	}
	return NULL;
}

static int seg_insert(struct spool *sp, size_t at, const struct spool_seg *s)
{
	if (sp->nsegs == sp->capsegs) {
		size_t cap = sp->capsegs ? sp->capsegs * 2 : 16;
		struct spool_seg *n = realloc(sp->segs, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		sp->segs = n;
		sp->capsegs = cap;
	}
	memmove(&sp->segs[at + 1], &sp->segs[at], (sp->nsegs - at) * sizeof(*s));
	sp->segs[at] = *s;
	sp->nsegs++;
	return 0;
}

static void close_tail(struct spool *sp)
{
	if (sp->tail_fd >= 0) {
		fdatasync(sp->tail_fd);
		close(sp->tail_fd);
	}
	sp->tail_fd = -1;
}

static void close_reader(struct spool *sp)
{
	if (sp->rd_fd >= 0)
		close(sp->rd_fd);
	sp->rd_fd = -1;
}

/* Delete segs[i] and its file; its pending records are no longer counted. */
static void seg_delete(struct spool *sp, size_t i)
{
	char path[600];
	uint64_t name = sp->segs[i].name;
	size_t w = 0;

	if (sp->tail_fd >= 0 && sp->tail_name == name)
		close_tail(sp);
	if (sp->rd_fd >= 0 && sp->rd_name == name)
		close_reader(sp);
	seg_path(sp, name, path, sizeof(path));
	unlink(path);
	sp->st.depth -= sp->segs[i].pending;
	sp->st.bytes -= sp->segs[i].bytes;
	memmove(&sp->segs[i], &sp->segs[i + 1], (sp->nsegs - i - 1) * sizeof(sp->segs[0]));
	sp->nsegs--;
	for (size_t r = 0; r < sp->nlog; r++)
		if (sp->log[r].seg != name)
			sp->log[w++] = sp->log[r];
	sp->nlog = w;
}

/* A position whose segment is gone moves to the start of the next one. */
static void pos_fix(struct spool *sp, struct spool_pos *p)
{
	if (seg_find(sp, p->seg, NULL))
		return;
	for (size_t i = 0; i < sp->nsegs; i++) {
		if (sp->segs[i].name > p->seg) {
			p->seg = sp->segs[i].name;
			p->off = 0;
			return;
		}
	}
	/* past every segment: stay there, new segments have higher names */
	p->off = 0;
}

/* ---- open / scan ------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Scan one segment: count, find its last seq, truncate a torn end. */
static int seg_scan(struct spool *sp, uint64_t name, struct spool_seg *out)
{
	char path[600];
	struct stat stb;
	uint64_t off = 0, size;
	int fd;

	seg_path(sp, name, path, sizeof(path));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &stb) < 0) {
		close(fd);
		return -errno;
	}
	size = (uint64_t)stb.st_size;
	memset(out, 0, sizeof(*out));
	out->name = name;
	while (off < size) {
		struct parsed p;
		enum parse_result r = parse_at(fd, off, size, 0, &p);
		if (r == PARSE_OK) {
			if (p.seq > out->last)
				out->last = p.seq;
			if (p.seq > sp->cursor)
				out->pending++;
			off = p.next;
			continue;
		}
		sp->st.corrupt++;
		if (r == PARSE_SHORT) {
			/* torn end: cut it so appends and reads start clean */
			if (ftruncate(fd, (off_t)off) == 0)
				size = off;
			break;
		}
		{
			uint64_t nx = resync(fd, off, size);
			if (nx >= size) {
				/* nothing valid follows: a torn end written as
				 * garbage (zero-filled blocks after a crash) */
				if (ftruncate(fd, (off_t)off) == 0)
					size = off;
				break;
			}
			off = nx;
		}
	}
	out->bytes = size;
	close(fd);
	return 0;
}

struct spool *spool_open(const struct spool_config *cfg, char *err, size_t errlen)
{
	struct spool *sp = calloc(1, sizeof(*sp));
	char path[600];
	uint64_t *names = NULL;
	size_t nnames = 0, capnames = 0;
	DIR *d;
	struct dirent *de;

	if (!sp) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&sp->lock, NULL);
	sp->lock_fd = sp->cursor_fd = sp->tail_fd = sp->rd_fd = -1;
	snprintf(sp->dir, sizeof(sp->dir), "%s", cfg->dir);
	sp->max_bytes = cfg->max_bytes ? cfg->max_bytes : SPOOL_DEFAULT_MAX;
	sp->segment_bytes = cfg->segment_bytes;
	if (!sp->segment_bytes) {
		sp->segment_bytes = sp->max_bytes / 8;
		if (sp->segment_bytes < SPOOL_SEG_MIN)
			sp->segment_bytes = SPOOL_SEG_MIN;
		if (sp->segment_bytes > SPOOL_SEG_MAX)
			sp->segment_bytes = SPOOL_SEG_MAX;
	}
	sp->drop = cfg->drop;

	if (mkdir(sp->dir, 0750) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create spool directory '%s': %s", sp->dir, strerror(errno));
		goto out_free;
	}
	snprintf(path, sizeof(path), "%s/lock", sp->dir);
	sp->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (sp->lock_fd < 0) {
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		goto out_free;
	}
	if (flock(sp->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen, "spool directory '%s' is in use by another sink or process",
			 sp->dir);
		goto out_free;
	}
	snprintf(path, sizeof(path), "%s/cursor", sp->dir);
	sp->cursor_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (sp->cursor_fd < 0) {
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		goto out_free;
	}
	sp->cursor = cursor_load(sp);

	d = opendir(sp->dir);
	if (!d) {
		snprintf(err, errlen, "cannot read spool directory '%s': %s", sp->dir, strerror(errno));
		goto out_free;
	}
	while ((de = readdir(d))) {
		uint64_t name;
		char tail[16];
		if (sscanf(de->d_name, "seg-%20" SCNu64 "%15s", &name, tail) != 2 ||
		    strcmp(tail, ".spool"))
			continue;
		if (nnames == capnames) {
			size_t cap = capnames ? capnames * 2 : 16;
			uint64_t *n = realloc(names, cap * sizeof(*n));
			if (!n) {
				closedir(d);
				snprintf(err, errlen, "out of memory");
				goto out_free;
			}
			names = n;
			capnames = cap;
		}
		names[nnames++] = name;
	}
	closedir(d);
	if (nnames)
		qsort(names, nnames, sizeof(*names), cmp_u64);

	sp->next_seq = sp->cursor + 1;
	for (size_t i = 0; i < nnames; i++) {
		struct spool_seg s = { 0 };
		int rc = seg_scan(sp, names[i], &s);
		if (rc < 0) {
			seg_path(sp, names[i], path, sizeof(path));
			snprintf(err, errlen, "cannot read spool segment '%s': %s", path, strerror(-rc));
			goto out_free;
		}
		if (s.last >= sp->next_seq)
			sp->next_seq = s.last + 1;
		if (!s.pending) {
			seg_path(sp, names[i], path, sizeof(path));
			unlink(path);
			continue;
		}
		if (seg_insert(sp, sp->nsegs, &s) < 0) {
			snprintf(err, errlen, "out of memory");
			goto out_free;
		}
		sp->st.depth += s.pending;
		sp->st.bytes += s.bytes;
	}
	free(names);
	sp->committed_pos.seg = sp->nsegs ? sp->segs[0].name : sp->next_seq;
	sp->rd = sp->committed_pos;
	return sp;

out_free:
	free(names);
	spool_free(sp);
	return NULL;
}

void spool_free(struct spool *sp)
{
	if (!sp)
		return;
	close_tail(sp);
	close_reader(sp);
	if (sp->cursor_fd >= 0) {
		fdatasync(sp->cursor_fd);
		close(sp->cursor_fd);
	}
	if (sp->lock_fd >= 0)
		close(sp->lock_fd);
	free(sp->segs);
	free(sp->log);
	pthread_mutex_destroy(&sp->lock);
	free(sp);
}

uint64_t spool_next_seq(const struct spool *sp)
{
	return sp->next_seq;
}

/* ---- writing ---------------------------------------------------------- */

static uint8_t *frame(uint64_t seq, const char *id, size_t idlen, const char *data,
		      size_t len, size_t *out_len)
{
	size_t body = SPOOL_BODY_MIN + idlen + len;
	uint8_t *b = malloc(SPOOL_HDR_BYTES + body);
	if (!b)
		return NULL;
	put_le32(b, SPOOL_MAGIC);
	put_le32(b + 4, (uint32_t)body);
	put_le64(b + 12, seq);
	b[20] = (uint8_t)idlen;
	b[21] = (uint8_t)(idlen >> 8);
	if (idlen)
		memcpy(b + 22, id, idlen);
	if (len)
		memcpy(b + 22 + idlen, data, len);
	put_le32(b + 8, spool_crc(b + 4, b + 12, body));
	*out_len = SPOOL_HDR_BYTES + body;
	return b;
}

/* Make room for @need more bytes.  0 or -ENOSPC. */
static int make_room(struct spool *sp, uint64_t need)
{
	if (need > sp->max_bytes)
		return -ENOSPC;
	while (sp->st.bytes + need > sp->max_bytes) {
		if (sp->drop == SPOOL_DROP_NEWEST || !sp->nsegs)
			return -ENOSPC;
		sp->st.dropped += sp->segs[0].pending;
		seg_delete(sp, 0);
	}
	return 0;
}

static int tail_open(struct spool *sp, uint64_t name)
{
	char path[600];
	struct spool_seg s = { .name = name };
	int rc;

	seg_path(sp, name, path, sizeof(path));
	sp->tail_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (sp->tail_fd < 0)
		return -errno;
	sp->tail_name = name;
	rc = seg_insert(sp, sp->nsegs, &s);
	if (rc < 0) {
		close(sp->tail_fd);
		sp->tail_fd = -1;
		unlink(path);
	}
	return rc;
}

int spool_append(struct spool *sp, uint64_t seq, const char *id, size_t idlen,
		 const char *data, size_t len)
{
	struct spool_seg *tail;
	uint8_t *rec;
	size_t rlen;
	int rc;

	if (idlen > SPOOL_ID_MAX)
		idlen = SPOOL_ID_MAX;
	if (SPOOL_BODY_MIN + idlen + len > SPOOL_RECORD_MAX) {
		pthread_mutex_lock(&sp->lock);
		sp->st.dropped++;
		pthread_mutex_unlock(&sp->lock);
		return -ENOSPC;
	}
	rec = frame(seq, id, idlen, data, len, &rlen);
	pthread_mutex_lock(&sp->lock);
	if (!rec) {
		sp->st.dropped++;
		rc = -ENOMEM;
		goto out;
	}
	if (seq <= sp->cursor || (sp->nsegs && seq <= sp->segs[sp->nsegs - 1].last)) {
		sp->st.dropped++;
		rc = -EINVAL;
		goto out;
	}
	rc = make_room(sp, rlen);
	if (rc < 0) {
		sp->st.dropped++;
		goto out;
	}
	tail = sp->nsegs ? &sp->segs[sp->nsegs - 1] : NULL;
	/* the tail is the highest segment; after a drop of everything or a
	 * rotation, or when the last segment came from an earlier run,
	 * start a new one */
	if (tail && (sp->tail_fd < 0 || sp->tail_name != tail->name) &&
	    tail->bytes < sp->segment_bytes) {
		char path[600];
		close_tail(sp);
		seg_path(sp, tail->name, path, sizeof(path));
		sp->tail_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (sp->tail_fd >= 0)
			sp->tail_name = tail->name;
	}
	if (!tail || sp->tail_fd < 0 || tail->bytes >= sp->segment_bytes) {
		close_tail(sp);
		rc = tail_open(sp, seq);
		if (rc < 0) {
			sp->st.dropped++;
			goto out;
		}
		tail = &sp->segs[sp->nsegs - 1];
	}
	rc = write_full(sp->tail_fd, rec, rlen);
	if (rc < 0) {
		/* cut a partial write so the segment stays well-formed */
		if (ftruncate(sp->tail_fd, (off_t)tail->bytes) < 0)
			close_tail(sp);
		sp->st.dropped++;
		goto out;
	}
	tail->bytes += rlen;
	tail->last = seq;
	tail->pending++;
	sp->st.bytes += rlen;
	sp->st.depth++;
	sp->st.appended++;
	if (seq >= sp->next_seq)
		sp->next_seq = seq + 1;
out:
	pthread_mutex_unlock(&sp->lock);
	free(rec);
	return rc;
}

int spool_insert_front(struct spool *sp, const struct spool_rec *recs, size_t n)
{
	char path[600];
	struct spool_seg s = { 0 };
	uint64_t total = 0;
	int fd, rc = 0;

	if (!n)
		return 0;
	pthread_mutex_lock(&sp->lock);
	if ((sp->nsegs && recs[n - 1].seq >= sp->segs[0].name) || recs[0].seq <= sp->cursor) {
		sp->st.dropped += n;
		rc = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		total += SPOOL_HDR_BYTES + SPOOL_BODY_MIN + strlen(recs[i].id) + recs[i].len;
	/* dropping the oldest would drop these very records: the bound
	 * refuses them instead */
	if (sp->st.bytes + total > sp->max_bytes) {
		sp->st.dropped += n;
		rc = -ENOSPC;
		goto out;
	}
	s.name = recs[0].seq;
	seg_path(sp, s.name, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		rc = -errno;
		sp->st.dropped += n;
		goto out;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		size_t idlen = strlen(recs[i].id), rlen;
		uint8_t *rec;
		if (idlen > SPOOL_ID_MAX)
			idlen = SPOOL_ID_MAX;
		rec = frame(recs[i].seq, recs[i].id, idlen, recs[i].data, recs[i].len, &rlen);
		if (!rec) {
			rc = -ENOMEM;
			break;
		}
		rc = write_full(fd, rec, rlen);
		free(rec);
		if (!rc) {
			s.bytes += rlen;
			s.last = recs[i].seq;
			s.pending++;
		}
	}
	if (!rc && fdatasync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc || (rc = seg_insert(sp, 0, &s)) < 0) {
		unlink(path);
		sp->st.dropped += n;
		goto out;
	}
	sp->st.bytes += s.bytes;
	sp->st.depth += s.pending;
	sp->st.appended += s.pending;
	/* reading starts again at the new front */
	sp->committed_pos.seg = s.name;
	sp->committed_pos.off = 0;
	sp->rd = sp->committed_pos;
	sp->nlog = 0;
out:
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

/* ---- reading ---------------------------------------------------------- */

static int log_push(struct spool *sp, uint64_t seq, uint64_t seg, uint64_t end)
{
	if (sp->nlog == sp->caplog) {
		size_t cap = sp->caplog ? sp->caplog * 2 : 256;
		struct spool_readlog *n = realloc(sp->log, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		sp->log = n;
		sp->caplog = cap;
	}
	sp->log[sp->nlog++] = (struct spool_readlog){ seq, seg, end };
	return 0;
}

int spool_read(struct spool *sp, struct spool_rec *out, size_t max, size_t max_bytes)
{
	size_t n = 0, bytes = 0;
	int rc = 0;

	pthread_mutex_lock(&sp->lock);
	pos_fix(sp, &sp->rd);
	while (n < max && (n == 0 || bytes < max_bytes)) {
		size_t i;
		struct spool_seg *s = seg_find(sp, sp->rd.seg, &i);
		struct parsed p;
		enum parse_result r;
		char path[600];

		if (!s)
			break;
		if (sp->rd.off >= s->bytes) {
			if (i + 1 >= sp->nsegs)
				break;
			sp->rd.seg = sp->segs[i + 1].name;
			sp->rd.off = 0;
			continue;
		}
		if (sp->rd_fd < 0 || sp->rd_name != s->name) {
			close_reader(sp);
			seg_path(sp, s->name, path, sizeof(path));
			sp->rd_fd = open(path, O_RDONLY | O_CLOEXEC);
			if (sp->rd_fd < 0) {
				rc = -errno;
				break;
			}
			sp->rd_name = s->name;
		}
		r = parse_at(sp->rd_fd, sp->rd.off, s->bytes, 1, &p);
		if (r != PARSE_OK) {
			/* damaged after open (the scan checked everything) */
			sp->st.corrupt++;
			sp->rd.off = resync(sp->rd_fd, sp->rd.off, s->bytes);
			continue;
		}
		sp->rd.off = p.next;
		if (p.seq <= sp->cursor) {
			free(p.body);
			continue;
		}
		{
			size_t idlen = (size_t)(p.body[8] | p.body[9] << 8);
			size_t dlen = p.body_len - SPOOL_BODY_MIN - idlen;
			struct spool_rec *o = &out[n];
			o->seq = p.seq;
			o->id = malloc(idlen + 1);
			o->data = malloc(dlen + 1);
			if (!o->id || !o->data || log_push(sp, p.seq, s->name, p.next) < 0) {
				free(o->id);
				free(o->data);
				free(p.body);
				rc = -ENOMEM;
				break;
			}
			memcpy(o->id, p.body + SPOOL_BODY_MIN, idlen);
			o->id[idlen] = 0;
			memcpy(o->data, p.body + SPOOL_BODY_MIN + idlen, dlen);
			o->data[dlen] = 0;
			o->len = dlen;
			bytes += dlen;
			n++;
		}
		free(p.body);
	}
	pthread_mutex_unlock(&sp->lock);
	if (rc < 0 && n == 0)
		return rc;
	return (int)n;
}

int spool_commit(struct spool *sp, uint64_t seq)
{
	size_t k = 0;
	int rc = 0;

	pthread_mutex_lock(&sp->lock);
	if (seq <= sp->cursor)
		goto out;
	sp->cursor = seq;
	rc = cursor_store(sp, seq);
	while (k < sp->nlog && sp->log[k].seq <= seq) {
		struct spool_seg *s = seg_find(sp, sp->log[k].seg, NULL);
		if (s && s->pending) {
			s->pending--;
			sp->st.depth--;
			sp->st.committed++;
		}
		sp->committed_pos.seg = sp->log[k].seg;
		sp->committed_pos.off = sp->log[k].end;
		k++;
	}
	memmove(sp->log, sp->log + k, (sp->nlog - k) * sizeof(*sp->log));
	sp->nlog -= k;
	/* delete what is fully delivered; the tail too once nothing is left */
	for (size_t i = 0; i < sp->nsegs;) {
		int is_tail = i + 1 == sp->nsegs;
		if (!sp->segs[i].pending && (!is_tail || !sp->st.depth)) {
			seg_delete(sp, i);
			continue;
		}
		i++;
	}
	pos_fix(sp, &sp->committed_pos);
out:
	pthread_mutex_unlock(&sp->lock);
	return rc;
}

void spool_rewind(struct spool *sp)
{
	pthread_mutex_lock(&sp->lock);
	pos_fix(sp, &sp->committed_pos);
	sp->rd = sp->committed_pos;
	sp->nlog = 0;
	pthread_mutex_unlock(&sp->lock);
}

void spool_get_stats(struct spool *sp, struct spool_stats *out)
{
	pthread_mutex_lock(&sp->lock);
	*out = sp->st;
	out->segments = sp->nsegs;
	pthread_mutex_unlock(&sp->lock);
}

void spool_rec_release(struct spool_rec *r)
{
	if (!r)
		return;
	free(r->id);
	free(r->data);
	r->id = r->data = NULL;
}
