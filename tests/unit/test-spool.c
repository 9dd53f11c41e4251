/* SPDX-License-Identifier: MIT */
/* test-spool.c -- the on-disk spool: order, torn ends, CRC damage, bounds with
 * both drop policies, reopen after a crash, front insertion, locking. */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

static char tmpdir[256];

static void fresh_dir(void)
{
	char cmd[300];
	if (tmpdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmpdir);
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-spool.XXXXXX");
	if (!mkdtemp(tmpdir))
		abort();
}

static struct spool *open_sp(uint64_t max, uint64_t seg, enum spool_drop drop)
{
	char err[256] = "";
	struct spool_config c = { .dir = tmpdir, .max_bytes = max, .segment_bytes = seg, .drop = drop };
	struct spool *sp = spool_open(&c, err, sizeof(err));
	if (!sp)
		fprintf(stderr, "  spool_open: %s\n", err);
	return sp;
}

static int append_n(struct spool *sp, uint64_t first, int n)
{
	char id[32], data[64];
	int fails = 0;
	for (int i = 0; i < n; i++) {
		int idl = snprintf(id, sizeof(id), "r%llu", (unsigned long long)(first + i));
		int dl = snprintf(data, sizeof(data), "{\"record_id\":\"%s\",\"pad\":\"xxxxxxxx\"}", id);
		if (spool_append(sp, first + i, id, (size_t)idl, data, (size_t)dl) < 0)
			fails++;
	}
	return fails;
}

/* Read everything, check seqs are increasing; returns the count and the first and last seq. */
static int drain(struct spool *sp, int commit, uint64_t *first, uint64_t *last)
{
	struct spool_rec r[7];
	int total = 0, n;
	uint64_t prev = 0;
	while ((n = spool_read(sp, r, 7, 1 << 20)) > 0) {
		for (int i = 0; i < n; i++) {
			char want[32];
			CHECK(r[i].seq > prev);
			prev = r[i].seq;
			snprintf(want, sizeof(want), "r%llu", (unsigned long long)r[i].seq);
			CHECK_STREQ(r[i].id, want);
			CHECK(strstr(r[i].data, want) != NULL);
			CHECK_EQ_U(strlen(r[i].data), r[i].len);
			if (total == 0 && first)
				*first = r[i].seq;
			if (last)
				*last = r[i].seq;
			total++;
		}
		if (commit)
			CHECK_EQ_I(spool_commit(sp, r[n - 1].seq), 0);
		for (int i = 0; i < n; i++)
			spool_rec_release(&r[i]);
	}
	CHECK(n >= 0);
	return total;
}

static char *only_segment(char *buf, size_t len)
{
	char cmd[400];
	FILE *p;
	snprintf(cmd, sizeof(cmd), "ls %s/seg-*.spool | tail -1", tmpdir);
	p = popen(cmd, "r");
	if (!p || !fgets(buf, (int)len, p))
		buf[0] = 0;
	if (p)
		pclose(p);
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

static off_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

static void test_spool__order_kept_and_reopen(void)
{
	struct spool *sp;
	struct spool_stats st;
	uint64_t first = 0, last = 0;

	fresh_dir();
	sp = open_sp(0, 4096, SPOOL_DROP_OLDEST);   /* small segments: many files */
	CHECK(sp != NULL);
	if (!sp)
		return;
	CHECK_EQ_U(spool_next_seq(sp), 1);
	CHECK_EQ_I(append_n(sp, 1, 500), 0);
	spool_get_stats(sp, &st);
	CHECK_EQ_U(st.depth, 500);
	CHECK(st.segments > 2);
	spool_free(sp);

	sp = open_sp(0, 4096, SPOOL_DROP_OLDEST);
	CHECK_EQ_U(spool_next_seq(sp), 501);
	CHECK_EQ_I(drain(sp, 1, &first, &last), 500);
	CHECK_EQ_U(first, 1);
	CHECK_EQ_U(last, 500);
	spool_get_stats(sp, &st);
	CHECK_EQ_U(st.depth, 0);
	CHECK_EQ_U(st.segments, 0);             /* delivered segments deleted */
	CHECK_EQ_U(st.corrupt, 0);
	/* appends after a full drain are read too */
	CHECK_EQ_I(append_n(sp, 501, 3), 0);
	CHECK_EQ_I(drain(sp, 1, &first, &last), 3);
	CHECK_EQ_U(first, 501);
	spool_free(sp);
	/* nothing left, and the cursor keeps the sequence going */
	sp = open_sp(0, 4096, SPOOL_DROP_OLDEST);
	CHECK_EQ_U(spool_next_seq(sp), 504);
	CHECK_EQ_I(drain(sp, 0, NULL, NULL), 0);
	spool_free(sp);
}

static void test_spool__out_of_order_append_refused(void)
{
	struct spool *sp;
	fresh_dir();
	sp = open_sp(0, 0, SPOOL_DROP_OLDEST);
	CHECK_EQ_I(append_n(sp, 10, 1), 0);
	CHECK_EQ_I(spool_append(sp, 10, "x", 1, "{}", 2), -EINVAL);
	CHECK_EQ_I(spool_append(sp, 9, "x", 1, "{}", 2), -EINVAL);
	spool_free(sp);
}

static void test_spool__torn_last_record(void)
{
	struct spool *sp;
	struct spool_stats st;
	char seg[512];
	uint64_t first = 0, last = 0;
	off_t sz;

	fresh_dir();
	sp = open_sp(0, 0, SPOOL_DROP_OLDEST);
	CHECK_EQ_I(append_n(sp, 1, 3), 0);
	spool_free(sp);
	only_segment(seg, sizeof(seg));
	sz = file_size(seg);
	CHECK(sz > 20);
	CHECK_EQ_I(truncate(seg, sz - 5), 0);   /* crash in the middle of record 3 */

	sp = open_sp(0, 0, SPOOL_DROP_OLDEST);
	spool_get_stats(sp, &st);
	CHECK_EQ_U(st.depth, 2);
	CHECK_EQ_U(st.corrupt, 1);
	/* the torn bytes are cut so new records follow cleanly */
	CHECK_EQ_I(append_n(sp, 3, 2), 0);
	CHECK_EQ_I(drain(sp, 1, &first, &last), 4);
	CHECK_EQ_U(first, 1);
	CHECK_EQ_U(last, 4);
	spool_free(sp);
}

static void test_spool__torn_header_and_zero_fill(void)
{
	struct spool *sp;
	struct spool_stats st;
	char seg[512];
	int fd;
	static const char zeros[700];

	fresh_dir();
	sp = open_sp(0, 0, SPOOL_DROP_OLDEST);
	CHECK_EQ_I(append_n(sp, 1, 2), 0);
	spool_free(sp);
	only_segment(seg, sizeof(seg));
	/* a crash after the file grew but before data landed: zeros */
	fd = open(seg, O_WRONLY | O_APPEND);
	CHECK(fd >= 0);
	CHECK_EQ_I(write(fd, "\xF5\x4D\x54", 3), 3);   /* half a header... */
	CHECK_EQ_I(write(fd, zeros, sizeof(zeros)), (int)sizeof(zeros));
	close(fd);

	sp = open_sp(0, 0, SPOOL_DROP_OLDEST);
	spool_get_stats(sp, &st);
	CHECK_EQ_U(st.depth, 2);
	CHECK(st.corrupt >= 1);
	CHECK_EQ_I(drain(sp, 1, NULL, NULL), 2);
	spool_free(sp);
}

static void test_spool__crc_mismatch_skipped(void)
{
	struct spool *sp;
	struct spool_stats st;
	struct spool_rec r[8];
	char seg[512];
	int fd, n;
	off_t sz;

	fresh_dir();
	sp = open_sp(0, 0, SPOOL_DROP_OLDEST);
	CHECK_EQ_I(append_n(sp, 1, 3), 0);
	spool_free(sp);
	only_segment(seg, sizeof(seg));
	sz = file_size(seg);
	/* records are equal-sized: flip one payload byte of the middle one */
	fd = open(seg, O_RDWR);
	CHECK(fd >= 0);
	CHECK_EQ_I(pwrite(fd, "#", 1, sz / 3 + sz / 6), 1);
	close(fd);

	sp = open_sp(0, 0, SPOOL_DROP_OLDEST);
	spool_get_stats(sp, &st);
	CHECK_EQ_U(st.corrupt, 1);
	n = spool_read(sp, r, 8, 1 << 20);
	CHECK_EQ_I(n, 2);
	if (n == 2) {
		CHECK_EQ_U(r[0].seq, 1);
		CHECK_EQ_U(r[1].seq, 3);        /* never the damaged record */
		CHECK(strchr(r[0].data, '#') == NULL);
		CHECK(strchr(r[1].data, '#') == NULL);
	}
	for (int i = 0; i < n; i++)
		spool_rec_release(&r[i]);
	spool_free(sp);
}

static void test_spool__bound_drop_oldest(void)
{
	struct spool *sp;
	struct spool_stats st;
	uint64_t first = 0, last = 0;
	int got;

	fresh_dir();
	/* records are ~60 bytes framed: 16 KiB holds a few hundred */
	sp = open_sp(16 * 1024, 2048, SPOOL_DROP_OLDEST);
	CHECK_EQ_I(append_n(sp, 1, 2000), 0);
	spool_get_stats(sp, &st);
	CHECK(st.bytes <= 16 * 1024);
	CHECK(st.dropped > 0);
	CHECK_EQ_U(st.depth + st.dropped, 2000);
	got = drain(sp, 1, &first, &last);
	CHECK_EQ_U((uint64_t)got, st.depth);
	CHECK_EQ_U(last, 2000);                 /* the newest are kept */
	CHECK_EQ_U(first, st.dropped + 1);      /* whole oldest segments went */
	spool_free(sp);
}

static void test_spool__bound_drop_newest(void)
{
	struct spool *sp;
	struct spool_stats st;
	uint64_t first = 0, last = 0;
	int fails, got;

	fresh_dir();
	sp = open_sp(16 * 1024, 2048, SPOOL_DROP_NEWEST);
	fails = append_n(sp, 1, 2000);
	spool_get_stats(sp, &st);
	CHECK(fails > 0);
	CHECK_EQ_U(st.dropped, (uint64_t)fails);
	CHECK(st.bytes <= 16 * 1024);
	got = drain(sp, 1, &first, &last);
	CHECK_EQ_U((uint64_t)got + st.dropped, 2000);
	CHECK_EQ_U(first, 1);                   /* the oldest are kept */
	CHECK_EQ_U(last, (uint64_t)got);
	spool_free(sp);
}

static void test_spool__drop_oldest_while_reading(void)
{
	struct spool *sp;
	struct spool_stats st;
	struct spool_rec r[4];
	int n;

	fresh_dir();
	sp = open_sp(8 * 1024, 1024, SPOOL_DROP_OLDEST);
	CHECK_EQ_I(append_n(sp, 1, 50), 0);
	n = spool_read(sp, r, 4, 1 << 20);     /* in flight, not committed */
	CHECK_EQ_I(n, 4);
	CHECK_EQ_I(append_n(sp, 51, 1000), 0); /* pushes the read segment out */
	CHECK_EQ_I(spool_commit(sp, r[n - 1].seq), 0);
	for (int i = 0; i < n; i++)
		spool_rec_release(&r[i]);
	spool_get_stats(sp, &st);
	/* the in-flight four went with their segment: counted as dropped
	 * (they may still arrive), never counted twice */
	CHECK(st.dropped >= 4);
	CHECK_EQ_U(st.depth + st.dropped, 1050);
	CHECK_EQ_I(drain(sp, 1, NULL, NULL), (int)st.depth);
	spool_get_stats(sp, &st);
	CHECK_EQ_U(st.depth, 0);
	spool_free(sp);
}

static void test_spool__crash_before_commit_redelivers(void)
{
	struct spool *sp;
	struct spool_rec r[10];
	uint64_t first = 0, last = 0;
	int n;

	fresh_dir();
	sp = open_sp(0, 0, SPOOL_DROP_OLDEST);
	CHECK_EQ_I(append_n(sp, 1, 30), 0);
	n = spool_read(sp, r, 10, 1 << 20);
	CHECK_EQ_I(n, 10);
	CHECK_EQ_I(spool_commit(sp, r[4].seq), 0);   /* 1..5 delivered */
	for (int i = 0; i < n; i++)
		spool_rec_release(&r[i]);
	/* 6..10 were sent but the process died before their commit */
	spool_free(sp);

	sp = open_sp(0, 0, SPOOL_DROP_OLDEST);
	CHECK_EQ_I(drain(sp, 0, &first, &last), 25);
	CHECK_EQ_U(first, 6);
	CHECK_EQ_U(last, 30);
	/* a failed delivery rewinds to the first undelivered record */
	spool_rewind(sp);
	CHECK_EQ_I(drain(sp, 1, &first, &last), 25);
	CHECK_EQ_U(first, 6);
	spool_free(sp);
}

static void test_spool__insert_front_keeps_order(void)
{
	struct spool *sp;
	struct spool_rec held[3];
	char ids[3][16], data[3][64];
	uint64_t first = 0, last = 0;

	fresh_dir();
	sp = open_sp(0, 0, SPOOL_DROP_OLDEST);
	/* 11..20 spilled to disk while 1..3 were still held in memory */
	CHECK_EQ_I(append_n(sp, 11, 10), 0);
	for (int i = 0; i < 3; i++) {
		snprintf(ids[i], sizeof(ids[i]), "r%d", i + 1);
		held[i].seq = (uint64_t)i + 1;
		held[i].id = ids[i];
		held[i].len = (size_t)snprintf(data[i], sizeof(data[i]), "{\"record_id\":\"r%d\"}", i + 1);
		held[i].data = data[i];
	}
	CHECK_EQ_I(spool_insert_front(sp, held, 3), 0);
	CHECK_EQ_I(spool_insert_front(sp, held, 3), -EINVAL);   /* not in front any more */
	spool_free(sp);
	sp = open_sp(0, 0, SPOOL_DROP_OLDEST);
	CHECK_EQ_I(drain(sp, 1, &first, &last), 13);
	CHECK_EQ_U(first, 1);
	CHECK_EQ_U(last, 20);
	spool_free(sp);
}

static void test_spool__one_process_per_dir(void)
{
	struct spool *a, *b;
	char err[256] = "";
	struct spool_config c = { .dir = NULL };

	fresh_dir();
	c.dir = tmpdir;
	a = spool_open(&c, err, sizeof(err));
	CHECK(a != NULL);
	b = spool_open(&c, err, sizeof(err));
	CHECK(b == NULL);
	CHECK(strstr(err, "in use") != NULL);
	spool_free(a);
	spool_free(b);
}

static void test_spool__corrupt_cursor_redelivers(void)
{
	struct spool *sp;
	char path[300];
	int fd;

	fresh_dir();
	sp = open_sp(0, 0, SPOOL_DROP_OLDEST);
	CHECK_EQ_I(append_n(sp, 1, 10), 0);
	CHECK_EQ_I(drain(sp, 0, NULL, NULL), 10);
	CHECK_EQ_I(spool_commit(sp, 5), 0);
	spool_free(sp);
	snprintf(path, sizeof(path), "%s/cursor", tmpdir);
	fd = open(path, O_WRONLY);
	CHECK_EQ_I(pwrite(fd, "\x07", 1, 0), 1);   /* CRC no longer matches */
	close(fd);
	sp = open_sp(0, 0, SPOOL_DROP_OLDEST);
	CHECK_EQ_I(drain(sp, 0, NULL, NULL), 10);  /* at-least-once: all again */
	spool_free(sp);
}

static void test_spool__crc_is_zlib_crc32(void)
{
	/* the standard check value of CRC-32 is crc("123456789") = 0xCBF43926;
	 * spool_crc(a, b) is the CRC of a's 4 bytes followed by b */
	CHECK_EQ_U(spool_crc("1234", "56789", 5), 0xCBF43926u);
	CHECK_EQ_U(spool_crc("\0\0\0\0", "", 0), 0x2144DF1Cu);
}

int main(void)
{
	RUN(test_spool__crc_is_zlib_crc32);
	RUN(test_spool__order_kept_and_reopen);
	RUN(test_spool__out_of_order_append_refused);
	RUN(test_spool__torn_last_record);
	RUN(test_spool__torn_header_and_zero_fill);
	RUN(test_spool__crc_mismatch_skipped);
	RUN(test_spool__bound_drop_oldest);
	RUN(test_spool__bound_drop_newest);
	RUN(test_spool__drop_oldest_while_reading);
	RUN(test_spool__crash_before_commit_redelivers);
	RUN(test_spool__insert_front_keeps_order);
	RUN(test_spool__one_process_per_dir);
	RUN(test_spool__corrupt_cursor_redelivers);
	fresh_dir();
	rmdir(tmpdir);
	return CHECK_DONE();
}
