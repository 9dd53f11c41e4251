/* SPDX-License-Identifier: MIT */
/*
 * fuzz-pcap.c -- the whole offline path on one capture file: libpcap reads
 * the input bytes as a pcap or pcapng file (fmemopen +
 * pcap_fopen_offline_with_tstamp_precision, nanosecond precision as in
 * sensor/capture-pcap.c), and every frame goes through decode_packet() and
 * agg_packet() with a small flow table and small app-layer pools, then
 * agg_finish().  Session records are serialised to JSON as sensor/main.c
 * does (--all-flows).
 *
 * Input: the file.  The frame loop is sensor/capture-pcap.c's, without the
 * path handling (that part is exercised by tests/hostile/).
 *
 * Checked besides memory safety and leaks: every flow ends exactly once,
 * every end reaches the callback, decode and the aggregator count the same
 * packets.
 */
#include "fuzz-agg-common.h"

#include <pcap/pcap.h>

#include "decode.h"

#define FUZZ_PCAP_MAX_FRAMES 4096

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_catalog_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct fuzz_sessions fs = { .all_flows = true };
	struct decode_stats dst;
	struct agg_config cfg;
	struct agg_stats as;
	struct flow_table_stats fts;
	struct aggregator *agg;
	struct pcap_pkthdr *h;
	const u_char *frame;
	unsigned frames = 0;
	uint8_t *copy;
	pcap_t *p;
	FILE *fp;
	int linktype;

	if (size == 0)
		return 0;
	copy = malloc(size);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	fp = fmemopen(copy, size, "rb");
	if (!fp)
		abort();
	p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!p) {
		fclose(fp);
		free(copy);
		return 0;
	}
	linktype = pcap_datalink(p);

	agg_config_default(&cfg);
	cfg.flow.max_flows = 16;
	cfg.frag_slots = 8;
	cfg.interim_s = 60;
	cfg.seed = 1;
	cfg.app.ident_slots = 8;
	cfg.app.reasm_slots = 4;
	cfg.app.dns_cache_entries = 16;
	cfg.app.keep_unclassified = true;
	cfg.catalog = fuzz_catalog;
	agg = agg_new(&cfg, fuzz_on_session, &fs);
	if (!agg)
		abort();
	memset(&dst, 0, sizeof(dst));

	while (pcap_next_ex(p, &h, &frame) == 1 && frames++ < FUZZ_PCAP_MAX_FRAMES) {
		uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
		struct packet pkt;
		decode_packet(&pkt, linktype, frame, h->caplen, h->len, ts, &dst);
		agg_packet(agg, &pkt);
	}
	agg_finish(agg);
	agg_get_stats(agg, &as, &fts);
	FUZZ_CHECK(fts.active == 0);
	FUZZ_CHECK(fts.created == fts.ended);
	FUZZ_CHECK(fs.records == as.sessions);
	FUZZ_CHECK(as.packets == dst.packets);

	agg_free(agg);
	pcap_close(p); /* closes fp */
	free(copy);
	return 0;
}
