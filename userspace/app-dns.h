/* SPDX-License-Identifier: MIT */
/*
 * app-dns.h -- DNS response parsing: the question name and the A/AAAA
 * addresses the answer section gives for it, following the CNAME chain.
 * Spec: RFC 1035 (format, compression), RFC 2181 (TTL), RFC 7766 (TCP
 * framing).  Only responses (QR=1) are parsed; the whole message is checked
 * structurally (every section, every name, every rdlength), but only class IN
 * A, AAAA and CNAME records in the answer section are interpreted.  The
 * parser never allocates and keeps nothing that points into the message.
 *
 *   Header (12 bytes)                      Resource record
 *   +--------+--------+                    +-------------------+
 *   |   ID   | flags  |  QR opcode AA TC   | NAME (compressed) |
 *   +--------+--------+  RD RA Z rcode     | TYPE  | CLASS     |
 *   | QDCOUNT| ANCOUNT|                    | TTL (32)          |
 *   | NSCOUNT| ARCOUNT|                    | RDLENGTH | RDATA  |
 *   +--------+--------+                    +-------------------+
 *
 * Decisions:
 *  - Names are decoded iteratively.  A compression pointer must point
 *    strictly before the start of the label run that contains it (so forward
 *    pointers, self-pointers and loops are DNS_INVALID), never into the
 *    header, and at most DNS_MAX_PTR_JUMPS times per name.  Labels of 64+
 *    bytes (the 0x40/0x80 label types) and names over DNS_NAME_MAX wire bytes
 *    are DNS_INVALID.
 *  - Names are lower-cased; the only characters allowed are a-z, 0-9, '-'
 *    and '_'.  Anything else (including NUL, space, '.' inside a label) makes
 *    the name "bad": a bad question name makes the message DNS_INVALID; a bad
 *    owner name or CNAME target in the answer section is never matched
 *    against the chain (DNS_RESP_BAD_NAME is set if it broke the chain).
 *    Nothing is escaped: names that leave this parser are always clean.
 *  - The root name is returned as ".".
 *  - A class IN A record with rdlength != 4, AAAA != 16, or a CNAME whose
 *    rdata is not exactly one well-formed name, is DNS_INVALID (any section).
 *  - Record counts larger than the records present give DNS_TRUNCATED.
 *    Bytes after the last counted record are ignored.
 *  - Answers are collected only for opcode QUERY (0); other opcodes are
 *    checked and return DNS_OK with no answers.  With QDCOUNT 0 there is no
 *    qname ("") and no answers; with QDCOUNT > 1 the first question is used.
 *  - TTLs with the top bit set are read as 0 (RFC 2181 section 8).
 *  - The contents of struct dns_response are only meaningful on DNS_OK.
 *  - Cost is bounded but not tiny for hostile input: every name is expanded
 *    once to check it, answer-section CNAME owners once more per chain walk
 *    (up to DNS_MAX_CNAMES + 1 walks when the chain is listed backwards).
 *    A 64 KB message of pointer-heavy CNAMEs takes ~10 ms, ~25 ms reversed.
 */
#ifndef MAILTAP_APP_DNS_H
#define MAILTAP_APP_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "net-addr.h"
#include "util-cursor.h"

#define DNS_HEADER_LEN 12     /* RFC 1035 4.1.1 */
#define DNS_NAME_MAX 255      /* wire bytes incl. length octets, RFC 1035 2.3.4 */
#define DNS_NAME_BUF (DNS_NAME_MAX + 1) /* text form is at most 253 chars + NUL */
#define DNS_LABEL_MAX 63      /* RFC 1035 2.3.4 */
#define DNS_MAX_LABELS 127    /* 127 one-byte labels fill 255 wire bytes */
#define DNS_MAX_PTR_JUMPS 16  /* compression pointers per name (Suricata, Knot) */
#define DNS_MAX_ANSWERS 32    /* addresses kept per response; more sets CAPPED */
#define DNS_MAX_CNAMES 8      /* CNAME chain links followed; more sets CAPPED */

#define DNS_TYPE_A 1
#define DNS_TYPE_CNAME 5
#define DNS_TYPE_AAAA 28
#define DNS_CLASS_IN 1

enum dns_result {
	DNS_OK,
	DNS_NOT_RESPONSE, /* QR=0: a query */
	DNS_TRUNCATED,    /* the message ends before what it declares */
	DNS_INVALID,      /* malformed or hostile */
};

/* struct dns_response.flags */
#define DNS_RESP_TC 0x1       /* header TC bit: the server truncated it */
#define DNS_RESP_CAPPED 0x2   /* answers or CNAME chain hit the limits above */
#define DNS_RESP_BAD_NAME 0x4 /* a bad name in the answers broke the chain */

struct dns_answer {
	struct net_addr addr;
	uint32_t ttl; /* seconds, from the wire (top bit set -> 0) */
};

struct dns_response {
	uint16_t id;
	uint8_t opcode;
	uint8_t rcode; /* header RCODE (4 bits; no EDNS extension) */
	uint16_t qtype;
	uint16_t flags; /* DNS_RESP_* */
	char qname[DNS_NAME_BUF]; /* lower-case; "." = root; "" = no question */
	unsigned n_answers;       /* <= DNS_MAX_ANSWERS */
	struct dns_answer answers[DNS_MAX_ANSWERS]; /* A/AAAA for the chain, wire order */
	unsigned n_cnames;        /* <= DNS_MAX_CNAMES */
	char cnames[DNS_MAX_CNAMES][DNS_NAME_BUF]; /* chain from qname, in order */
};

/*
 * Parse one DNS message as carried in a UDP payload (or one message taken off
 * a TCP stream with dns_tcp_next()).  @msg is borrowed for the call only;
 * @out is caller-owned and fully overwritten.
 */
enum dns_result dns_response_parse(const uint8_t *msg, size_t len, struct dns_response *out);

/*
 * DNS over TCP: each message is preceded by a 2-byte big-endian length, and a
 * segment may hold several messages.  Takes the next message off @stream into
 * @msg (a child cursor borrowing the stream's bytes) and returns DNS_OK.
 * DNS_TRUNCATED: the stream does not hold the whole message; nothing is
 * consumed, so the caller can retry with more bytes.  DNS_INVALID: the frame
 * is shorter than a DNS header; it is consumed, but the stream is probably
 * out of sync.  The caller then parses with
 * dns_response_parse(cur_ptr(msg), cur_len(msg), ...).
 */
enum dns_result dns_tcp_next(struct cursor *stream, struct cursor *msg);

#endif
