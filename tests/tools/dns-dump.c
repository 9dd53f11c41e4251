/* SPDX-License-Identifier: MIT */
/*
 * dns-dump.c -- print what mailtap's DNS parser makes of every DNS response
 * in a capture, one JSON line per message, for tests/golden/dns_check.py to
 * compare with tshark.
 *
 *   dns-dump FILE
 *
 * Every frame goes through decode_packet(); every UDP or TCP payload from
 * source port 53 goes through dns_response_parse() (for TCP, each message
 * taken off the segment with dns_tcp_next(), as userspace/app-layer.c does:
 * messages that start at a segment boundary only).  The parser sees the
 * captured bytes (payload_caplen), as the sensor does.
 *
 * IP fragments are NOT reassembled: decode_packet() does not do it (the app
 * layer has its own small DNS reassembly in app-layer.c, not exercised here).
 * A frame that is part of a fragmented datagram is printed as
 * {"frame":N,"skipped":"fragment"} and not parsed.
 *
 * Output lines:
 *   {"frame":N,"msg":I,"proto":"udp"|"tcp","result":"OK"|"TRUNCATED"|"INVALID"|
 *    "NOT_RESPONSE", ...}
 * with, when result is OK: "id", "opcode", "qname", "qtype", "rcode", "flags"
 * (DNS_RESP_* bits), "answers":[{"addr":"…","ttl":N}…], "cnames":["…"…].
 * For TCP, a framing failure of dns_tcp_next() prints "result":"FRAME_TRUNCATED"
 * (the message continues in later segments) or "FRAME_INVALID".
 * I numbers the messages of one frame from 0.
 *
 * Exit status 0, or 1 when the file cannot be read.
 */
#include <inttypes.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app-dns.h"
#include "decode.h"
#include "net-addr.h"
#include "util-cursor.h"

static const char *result_name(enum dns_result r)
{
	switch (r) {
	case DNS_OK: return "OK";
	case DNS_NOT_RESPONSE: return "NOT_RESPONSE";
	case DNS_TRUNCATED: return "TRUNCATED";
	case DNS_INVALID: return "INVALID";
	}
	return "?";
}

/* Names leaving the parser are documented to be clean; escape anyway so a
 * parser bug shows up as a difference, not as broken JSON. */
static void put_str(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static void dump_message(uint64_t frame, unsigned idx, const char *proto, const uint8_t *msg,
			 size_t len, struct dns_response *r)
{
	enum dns_result res = dns_response_parse(msg, len, r);
	char buf[NET_ADDR_STRLEN];

	printf("{\"frame\":%" PRIu64 ",\"msg\":%u,\"proto\":\"%s\",\"result\":\"%s\"", frame, idx,
	       proto, result_name(res));
	if (res == DNS_OK) {
		printf(",\"id\":%u,\"opcode\":%u,\"qname\":", r->id, r->opcode);
		put_str(r->qname);
		printf(",\"qtype\":%u,\"rcode\":%u,\"flags\":%u,\"answers\":[", r->qtype, r->rcode,
		       r->flags);
		for (unsigned i = 0; i < r->n_answers; i++) {
			printf("%s{\"addr\":", i ? "," : "");
			put_str(net_addr_format(&r->answers[i].addr, buf, sizeof(buf)));
			printf(",\"ttl\":%" PRIu32 "}", r->answers[i].ttl);
		}
		printf("],\"cnames\":[");
		for (unsigned i = 0; i < r->n_cnames; i++) {
			if (i)
				putchar(',');
			put_str(r->cnames[i]);
		}
		putchar(']');
	}
	printf("}\n");
}

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	struct decode_stats st;
	struct packet pkt;
	uint64_t frame = 0;
	int rc, linktype;
	pcap_t *pc;
	struct dns_response *r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	pc = pcap_open_offline_with_tstamp_precision(argv[1], PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!pc) {
		fprintf(stderr, "dns-dump: %s: %s\n", argv[1], errbuf);
		return 1;
	}
	r = malloc(sizeof(*r));
	if (!r) {
		pcap_close(pc);
		return 1;
	}
	memset(&st, 0, sizeof(st));
	linktype = pcap_datalink(pc);
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
		struct cursor stream, msg;
		unsigned idx = 0;

		frame++;
		memset(&pkt, 0, sizeof(pkt));
		decode_packet(&pkt, linktype, data, h->caplen, h->len, ts, &st);
		if (!pkt.l3 || (pkt.l4proto != IPPROTO_UDP && pkt.l4proto != IPPROTO_TCP))
			continue;
		if (pkt.flags & PKT_FRAG) {
			/* only the first fragment carries the ports; report it */
			if ((pkt.flags & PKT_FRAG_HEAD) && (pkt.flags & PKT_L4) && pkt.sport == 53)
				printf("{\"frame\":%" PRIu64 ",\"skipped\":\"fragment\"}\n", frame);
			continue;
		}
		if (!(pkt.flags & PKT_L4) || pkt.sport != 53 || !pkt.payload_caplen || !pkt.payload)
			continue;
		if (pkt.l4proto == IPPROTO_UDP) {
			dump_message(frame, 0, "udp", pkt.payload, pkt.payload_caplen, r);
			continue;
		}
		cur_init(&stream, pkt.payload, pkt.payload_caplen);
		while (cur_len(&stream)) {
			size_t before = cur_len(&stream);
			enum dns_result fr = dns_tcp_next(&stream, &msg);
			if (fr != DNS_OK) {
				printf("{\"frame\":%" PRIu64 ",\"msg\":%u,\"proto\":\"tcp\","
				       "\"result\":\"FRAME_%s\"}\n",
				       frame, idx, result_name(fr));
				if (fr != DNS_INVALID || cur_len(&stream) == before)
					break;
				idx++;
				continue;
			}
			dump_message(frame, idx++, "tcp", cur_ptr(&msg), cur_len(&msg), r);
		}
	}
	if (rc == PCAP_ERROR)
		fprintf(stderr, "dns-dump: %s: %s\n", argv[1], pcap_geterr(pc));
	free(r);
	pcap_close(pc);
	return 0;
}
