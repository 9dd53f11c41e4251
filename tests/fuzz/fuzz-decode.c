/* SPDX-License-Identifier: MIT */
/*
 * fuzz-decode.c -- decode_packet() on one frame.
 *
 * Input: one selector byte, then the frame.  Selector low 4 bits pick the
 * link type (the DLTs decode.h knows, LINKTYPE_RAW, and two unknown ones);
 * high 4 bits pick the wire length relative to the captured length (equal,
 * longer as from a snapped capture, or shorter as a hostile pcap record may
 * claim).  The frame is copied to a buffer of exactly its size so ASan
 * catches a read one byte past it.
 *
 * Checked besides memory safety: the payload pointer and captured payload
 * length stay inside the frame, vlan/mpls counts stay within their limits,
 * l3 and the address families agree, and the stats count exactly one
 * packet.  The packet struct is pre-filled with garbage, so a field decode
 * forgets to set shows up.
 */
#include "fuzz-common.h"

#include "decode.h"

static const int linktypes[16] = {
	DECODE_DLT_EN10MB, DECODE_DLT_EN10MB, DECODE_DLT_EN10MB, DECODE_DLT_LINUX_SLL,
	DECODE_DLT_LINUX_SLL2, DECODE_DLT_RAW, DECODE_LINKTYPE_RAW, DECODE_DLT_IPV4,
	DECODE_DLT_IPV6, DECODE_DLT_NULL, DECODE_DLT_LOOP, DECODE_DLT_PPP,
	DECODE_DLT_PPP_SERIAL, DECODE_DLT_LINUX_SLL, 147 /* USER0: unsupported */, -1,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct decode_stats st;
	struct packet pkt;
	enum decode_result r;
	uint8_t sel;
	size_t caplen, wirelen;
	uint8_t *frame;

	if (size < 1)
		return 0;
	sel = data[0];
	caplen = size - 1;
	switch (sel >> 4) {
	case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7:
		wirelen = caplen;
		break;
	case 8: wirelen = caplen + 1; break;
	case 9: wirelen = caplen + 1500; break;
	case 10: wirelen = caplen + 65536; break;
	case 11: wirelen = 0xffffffffu; break;
	case 12: wirelen = caplen ? caplen - 1 : 0; break;
	case 13: wirelen = caplen / 2; break;
	case 14: wirelen = 0; break;
	default: wirelen = 0x80000000u; break;
	}
	/* exact-size copy; malloc(0) may return NULL, keep a valid pointer */
	frame = malloc(caplen ? caplen : 1);
	if (!frame)
		return 0;
	memcpy(frame, data + 1, caplen);

	memset(&st, 0, sizeof(st));
	memset(&pkt, 0xa5, sizeof(pkt)); /* decode must fill what it reports */
	r = decode_packet(&pkt, linktypes[sel & 15], frame, caplen, wirelen,
			  1700000000ull * 1000000000ull, &st);
	FUZZ_CHECK(r == DECODE_OK || r == DECODE_TRUNCATED || r == DECODE_INVALID ||
		   r == DECODE_UNSUPPORTED);
	FUZZ_CHECK(st.packets == 1);
	FUZZ_CHECK(pkt.vlan_count <= DECODE_MAX_VLAN);
	FUZZ_CHECK(pkt.mpls_count <= DECODE_MAX_MPLS);
	if (pkt.l3) {
		FUZZ_CHECK(pkt.l3 == NET_ADDR_V4 || pkt.l3 == NET_ADDR_V6);
		FUZZ_CHECK(pkt.src.family == pkt.l3 && pkt.dst.family == pkt.l3);
		if (pkt.payload_caplen) {
			FUZZ_CHECK(pkt.payload != NULL);
			FUZZ_CHECK(pkt.payload >= frame);
			FUZZ_CHECK(pkt.payload_caplen <= caplen);
			FUZZ_CHECK((size_t)(pkt.payload - frame) <= caplen - pkt.payload_caplen);
			(void)fz_touch(pkt.payload, pkt.payload_caplen);
		}
	}
	free(frame);
	return 0;
}
