/* SPDX-License-Identifier: MIT */
/*
 * spool.h -- a bounded, crash-safe, append-only on-disk queue of records.
 *
 * A spool is a directory of segment files "seg-<first seq>.spool" plus a
 * "cursor" file.  Every record carries a sequence number (u64, increasing
 * in the order the records were handed to the sink), an id (the record's
 * stable record_id, may be empty) and a payload (the JSON line), framed as
 *
 *   u32 magic  0x01544DF5 (bytes F5 4D 54 01; 0xF5 never occurs in UTF-8,
 *              so the magic cannot appear inside a JSON payload)
 *   u32 length of the body
 *   u32 CRC-32 (zlib's crc32) of the length field followed by the body
 *   body: u64 seq, u16 id length, id bytes, payload bytes
 *
 * all little-endian.  A record whose header or body is cut short (a torn
 * write at a crash) or whose CRC does not match is never returned: reading
 * resynchronises on the next magic with a valid CRC, and a torn end of the
 * last segment is truncated away at open.  Such records are counted as
 * corrupt.
 *
 * Delivery is at-least-once: spool_read() copies records out without
 * consuming them; spool_commit(seq) marks every record up to @seq delivered
 * (persisted in the cursor file, fully delivered segments are deleted).
 * A crash between delivery and commit delivers those records again.
 *
 * Size is bounded by spool_config.max_bytes (the segment files' total).
 * When an append would exceed it, SPOOL_DROP_OLDEST deletes the oldest
 * segment(s) and counts their undelivered records as dropped, and
 * SPOOL_DROP_NEWEST refuses the new record (-ENOSPC, counted).
 *
 * Thread safety: every call locks the spool's mutex, so one thread may
 * append while another reads and commits.  One process per directory
 * (flock on "lock"; a second spool_open of the same directory fails).
 * Data is fsync'ed when a segment is finished and at spool_free(); a
 * process crash loses nothing written, a power cut may lose the unsynced
 * end of the newest segment (detected as torn, never returned).
 */
#ifndef MAILTAP_SPOOL_H
#define MAILTAP_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define SPOOL_MAGIC        0x01544DF5u
#define SPOOL_HDR_BYTES    12u                 /* magic, length, crc */
#define SPOOL_BODY_MIN     10u                 /* seq + id length */
#define SPOOL_RECORD_MAX   (16u * 1024 * 1024) /* body bytes; larger is refused */
#define SPOOL_ID_MAX       255u

enum spool_drop {
	SPOOL_DROP_OLDEST,   /* delete the oldest segment to make room (default) */
	SPOOL_DROP_NEWEST,   /* refuse the record being appended */
};

struct spool_config {
	const char *dir;           /* created (one level) if missing */
	uint64_t max_bytes;        /* bound on the segment files; 0 = 256 MiB */
	uint64_t segment_bytes;    /* start a new segment past this; 0 = max_bytes / 8,
	                            * clamped to [64 KiB, 64 MiB] */
	enum spool_drop drop;
};

struct spool_stats {
	uint64_t depth;            /* records not delivered yet */
	uint64_t bytes;            /* size of the segment files */
	uint64_t appended;         /* records written by this process */
	uint64_t committed;        /* records marked delivered by this process */
	uint64_t dropped;          /* records lost to the size bound */
	uint64_t corrupt;          /* torn or CRC-mismatched records skipped */
	uint64_t segments;
};

/* One record copied out of the spool.  Owned by the caller: release
 * with spool_rec_release(). */
struct spool_rec {
	uint64_t seq;
	char *id;                  /* NUL-terminated, "" when none */
	char *data;                /* @len bytes, NUL-terminated for convenience */
	size_t len;
};

struct spool;

/* Open (or create) the spool in cfg->dir, scanning every segment: torn
 * ends are truncated, corrupt records counted.  Returns a new handle (free
 * with spool_free) or NULL with a message in err. */
struct spool *spool_open(const struct spool_config *cfg, char *err, size_t errlen);

/* Sync and close; NULL is a no-op.  Undelivered records stay on disk. */
void spool_free(struct spool *sp);

/* The sequence number following every record ever spooled here (at open:
 * one past the highest seq seen in the segments or the cursor). */
uint64_t spool_next_seq(const struct spool *sp);

/* Append one record at the end.  @seq must be higher than every seq in
 * the spool.  0, -ENOSPC (dropped by SPOOL_DROP_NEWEST or too large),
 * -EINVAL (seq out of order) or -errno of the write; every refused record
 * is counted as dropped. */
int spool_append(struct spool *sp, uint64_t seq, const char *id, size_t idlen,
		 const char *data, size_t len);

/* Insert records in front of everything in the spool, as a new segment:
 * for records older than the spool's content that were held in memory
 * (their seqs must be increasing and lower than every seq in the spool;
 * the bound applies as for appends).  0 or -errno; refused records are
 * counted as dropped. */
int spool_insert_front(struct spool *sp, const struct spool_rec *recs, size_t n);

/* Copy up to @max records (and about @max_bytes of payload, at least one
 * record) following the last record read into @out, without consuming
 * them.  Returns the number copied (0 = nothing more) or -errno. */
int spool_read(struct spool *sp, struct spool_rec *out, size_t max, size_t max_bytes);

/* Mark every record with seq <= @seq delivered: persist the cursor, delete
 * segments that hold nothing else.  0 or -errno. */
int spool_commit(struct spool *sp, uint64_t seq);

/* Make the next spool_read start again at the first undelivered record
 * (after a failed delivery). */
void spool_rewind(struct spool *sp);

void spool_get_stats(struct spool *sp, struct spool_stats *out);

void spool_rec_release(struct spool_rec *r);

/* crc32 of the framing, exposed for tests that forge records. */
uint32_t spool_crc(const void *len_le, const void *body, size_t body_len);

#endif
