/* SPDX-License-Identifier: MIT */
/*
 * capture-pcap.c -- replay classic pcap and pcapng files through libpcap,
 * with nanosecond timestamps, as one timeline.  See capture.h.
 */
#include "capture-pcap.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "decode.h"
#include "util-log.h"

static pcap_t *open_one(const char *path)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct stat sb;
	pcap_t *p;
	FILE *fp;

	/* libpcap's messages for these two are obscure; say it plainly */
	fp = fopen(path, "rb");
	if (!fp) {
		log_err("cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(fp), &sb) == 0 && S_ISDIR(sb.st_mode)) {
		log_err("cannot read '%s': is a directory", path);
		fclose(fp);
		return NULL;
	}
	if (fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 0) {
		log_err("cannot read '%s': empty file", path);
		fclose(fp);
		return NULL;
	}
	/* pcap_fopen_offline takes ownership of fp (closed by pcap_close) */
	p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!p) {
		fclose(fp);
		if (strstr(errbuf, "unknown file format"))
			log_err("cannot read '%s': not a pcap or pcapng file", path);
		else
			log_err("cannot read '%s': %s", path, errbuf);
		return NULL;
	}
	if (!decode_linktype_supported(pcap_datalink(p)))
		log_warn("warning: '%s': link type %s (%d) is not decoded; its packets are only counted",
			path, pcap_datalink_val_to_name(pcap_datalink(p)) ?
			pcap_datalink_val_to_name(pcap_datalink(p)) : "?", pcap_datalink(p));
	return p;
}

/* How far into the current file libpcap has read. */
static void file_pos(pcap_t *p, struct capture_file_stats *st)
{
	long pos = st->cur_size ? ftell(pcap_file(p)) : -1;
	if (pos > 0)
		st->cur_pos = (uint64_t)pos;
}

struct capture_files {
	char *const *paths;     /* borrowed from the caller */
	int n;
	pcap_t **handles;       /* owned */
};

struct capture_files *capture_files_open(char *const *paths, int npaths, int *err)
{
	struct capture_files *cf = calloc(1, sizeof(*cf));
	int rc = 0;

	if (!cf || !(cf->handles = calloc((size_t)npaths, sizeof(*cf->handles)))) {
		free(cf);
		*err = -ENOMEM;
		return NULL;
	}
	cf->paths = paths;
	cf->n = npaths;
	for (int i = 0; i < npaths; i++) {
		cf->handles[i] = open_one(paths[i]);
		if (!cf->handles[i])
			rc = -EINVAL;
	}
	if (rc) {
		capture_files_close(cf);
		*err = rc;
		return NULL;
	}
	*err = 0;
	return cf;
}

void capture_files_close(struct capture_files *cf)
{
	if (!cf)
		return;
	for (int i = 0; i < cf->n; i++)
		if (cf->handles[i])
			pcap_close(cf->handles[i]);
	free(cf->handles);
	free(cf);
}

/* "3 h 12 min", "5 min 3 s", "29 s", "2 d 4 h": the two largest units. */
static void format_gap(uint64_t ns, char *buf, size_t len)
{
	static const struct { uint64_t s; const char *name; } u[] = {
		{ 86400, "d" }, { 3600, "h" }, { 60, "min" }, { 1, "s" },
	};
	uint64_t s = ns / 1000000000ull;
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		if (s < u[i].s && u[i].s > 1)
			continue;
		if (i + 1 < sizeof(u) / sizeof(u[0]) && s % u[i].s / u[i + 1].s)
			snprintf(buf, len, "%llu %s %llu %s", (unsigned long long)(s / u[i].s), u[i].name,
				 (unsigned long long)(s % u[i].s / u[i + 1].s), u[i + 1].name);
		else
			snprintf(buf, len, "%llu %s", (unsigned long long)(s / u[i].s), u[i].name);
		return;
	}
}

/* A file that starts before the one before it ended: its packets are
 * late on the one packet clock, so its flows may merge with that file's
 * (same 5-tuple) or be timed out by them.  Say so once per file. */
#define BACKWARDS_WARN_NS 1000000000ull

int capture_files_replay(struct capture_files *cf, capture_frame_fn *fn, capture_stop_fn *stop,
			 void *arg, struct capture_file_stats *st)
{
	char *const *paths = cf->paths;
	int npaths = cf->n;
	uint64_t prev_last = 0; /* newest packet time of the previous file */
	int rc = 0;

	for (int i = 0; i < npaths; i++) {
		pcap_t *p = cf->handles[i];
		int linktype = pcap_datalink(p);
		struct pcap_pkthdr *h;
		const u_char *data;
		uint64_t n = 0, last = 0;
		int r;

		st->files++;
		st->cur_path = paths[i];
		st->cur_index = i;
		st->nfiles = npaths;
		st->cur_pos = 0;
		{
			struct stat sb;
			FILE *fp = pcap_file(p);
			st->cur_size = fp && fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode) ?
				       (uint64_t)sb.st_size : 0;
		}
		if (!decode_linktype_supported(linktype))
			st->unsupported_linktype_files++;
		while ((r = pcap_next_ex(p, &h, &data)) == 1) {
			uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
			if (n == 0 && i > 0 && prev_last && ts + BACKWARDS_WARN_NS <= prev_last) {
				char gap[48];
				format_gap(prev_last - ts, gap, sizeof(gap));
				log_warn("%s starts %s before %s ended: one timeline, its flows may merge",
					 paths[i], gap, paths[i - 1]);
			}
			if (ts > last)
				last = ts;
			n++;
			st->frames++;
			if ((n & 1023) == 0)
				file_pos(p, st);
			st->bytes += h->len;
			fn(arg, linktype, data, h->caplen, h->len, ts);
			if (stop && stop(arg)) {
				file_pos(p, st); /* where it stopped, for the progress line */
				return rc;
			}
		}
		if (r == PCAP_ERROR && stop && stop(arg)) {
			file_pos(p, st);
			break; /* a stop request interrupted the read: not an error */
		}
		if (r != PCAP_ERROR)
			st->cur_pos = st->cur_size;
		if (n)
			prev_last = last;
		if (r == PCAP_ERROR) {
			log_err("'%s' breaks off after %llu packets: %s", paths[i],
				(unsigned long long)n, pcap_geterr(p));
			rc = -EIO;
		}
	}
	return rc;
}

int capture_replay_files(char *const *paths, int npaths, capture_frame_fn *fn,
			 capture_stop_fn *stop, void *arg,
			 struct capture_file_stats *st)
{
	int rc;
	struct capture_files *cf = capture_files_open(paths, npaths, &rc);
	if (!cf)
		return rc;
	rc = capture_files_replay(cf, fn, stop, arg, st);
	capture_files_close(cf);
	return rc;
}
