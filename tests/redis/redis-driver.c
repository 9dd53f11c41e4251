/* SPDX-License-Identifier: MIT */
/*
 * redis-driver.c -- push the lines of a JSON-lines file through the record
 * sink API (out_sink_open / write / heartbeat / close), the way
 * sensor/main.c does, for the redis test tier and the benchmark.
 *
 *   redis-driver DEST FILE [--rate N] [--kind K] [--sensor-id ID]
 *                [--heartbeat] [--linger-ms N]
 *
 * --rate N     at most N records per second (0 = as fast as possible)
 * --heartbeat  send one heartbeat after the records
 * --linger-ms  wait this long before closing (lets the thread deliver)
 * Prints "written W delivered D spooled S depth P retried R dropped X
 * seconds T" on stdout at the end.  Exit 0, or 3 when close failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "output.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The value of "record_id" in @line, copied into @id ("" if absent). */
static void record_id(const char *line, char *id, size_t len)
{
	const char *p = strstr(line, "\"record_id\":\"");
	size_t n = 0;
	id[0] = 0;
	if (!p)
		return;
	p += 13;
	while (p[n] && p[n] != '"' && n + 1 < len)
		n++;
	memcpy(id, p, n);
	id[n] = 0;
}

int main(int argc, char **argv)
{
	struct out_sink_config cfg = { .kind = "sessions" };
	struct out_sink_stats st;
	struct out_sink *s;
	const char *dest, *file;
	double rate = 0, t0;
	int heartbeat = 0, linger_ms = 0, rc = 0;
	char err[1024], id[256], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned long long n = 0;
	FILE *fp;

	if (argc < 3) {
		fprintf(stderr, "usage: redis-driver DEST FILE [--rate N] [--kind K] "
			"[--sensor-id ID] [--heartbeat] [--linger-ms N]\n");
		return 2;
	}
	dest = argv[1];
	file = argv[2];
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--rate") && i + 1 < argc)
			rate = atof(argv[++i]);
		else if (!strcmp(argv[i], "--kind") && i + 1 < argc)
			cfg.kind = argv[++i];
		else if (!strcmp(argv[i], "--sensor-id") && i + 1 < argc)
			cfg.sensor_id = argv[++i];
		else if (!strcmp(argv[i], "--heartbeat"))
			heartbeat = 1;
		else if (!strcmp(argv[i], "--linger-ms") && i + 1 < argc)
			linger_ms = atoi(argv[++i]);
		else {
			fprintf(stderr, "redis-driver: bad option '%s'\n", argv[i]);
			return 2;
		}
	}
	/* like the sensor's options layer: the documented variable, read once */
	cfg.redis_password = getenv("MAILTAP_REDIS_PASSWORD");
	fp = strcmp(file, "-") ? fopen(file, "r") : stdin;
	if (!fp) {
		fprintf(stderr, "redis-driver: cannot open '%s': %s\n", file, strerror(errno));
		return 1;
	}
	s = out_sink_open(dest, &cfg, err, sizeof(err));
	if (!s) {
		fprintf(stderr, "mailtap: --sessions: %s\n", err);
		return 3;
	}
	t0 = now_s();
	while ((len = getline(&line, &cap, fp)) > 0) {
		record_id(line, id, sizeof(id));
		if (out_sink_write(s, id, line, (size_t)len) < 0 && !rc) {
			fprintf(stderr, "redis-driver: write failed: %s\n", strerror(errno));
			rc = 3;
		}
		n++;
		if (rate > 0) {
			double due = t0 + (double)n / rate;
			double now = now_s();
			if (due > now)
				usleep((useconds_t)((due - now) * 1e6));
		}
	}
	free(line);
	if (fp != stdin)
		fclose(fp);
	if (heartbeat) {
		struct out_health h = {
			.version = "test", .capture_mode = "pcap",
			.start_time_ns = 1772442000000000000ull, .last_packet_ns = 1772442005000000000ull,
			.packets = 1234, .drops = 5, .flows = 42, .alerts = 7, .interval_s = 20,
		};
		out_sink_heartbeat(s, &h);
	}
	if (linger_ms)
		usleep((useconds_t)linger_ms * 1000);
	out_sink_get_stats(s, &st);
	if (out_sink_close(s, err, sizeof(err)) < 0) {
		fprintf(stderr, "mailtap: --sessions: %s\n", err);
		rc = 3;
	}
	printf("written %llu delivered %llu spooled %llu depth %llu retried %llu dropped %llu seconds %.3f\n",
	       (unsigned long long)st.written, (unsigned long long)st.delivered,
	       (unsigned long long)st.spooled, (unsigned long long)st.spool_depth,
	       (unsigned long long)st.retried, (unsigned long long)st.dropped, now_s() - t0);
	return rc;
}
