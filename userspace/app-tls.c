/* SPDX-License-Identifier: MIT */
/*
 * app-tls.c -- TLS ClientHello parser, JA3/JA4 fingerprints and STARTTLS
 * detection.  Specs: RFC 8446 4.1.2 and 5.1, RFC 6066 3, RFC 7301, RFC 8701;
 * JA3 (salesforce/ja3 README); JA4 (FoxIO-LLC/ja4 technical_details/JA4.md).
 * The hello may be fragmented over several handshake records; a small
 * reader (struct hs_reader) walks the record payloads as one byte string,
 * always through util-cursor.h.  Nothing is allocated.
 *
 *   TLSPlaintext:  type(1)=22 | version(2)=0x03xx | length(2) | fragment
 *   Handshake:     msg_type(1)=1 | length(3) | ClientHello
 *   ClientHello:   legacy_version(2) | random(32) | session_id<0..32>
 *                  | cipher_suites<2..2^16-2> | compression<1..2^8-1>
 *                  | extensions<8..2^16-1>  (absent in old hellos)
 *   Extension:     type(2) | extension_data<0..2^16-1>
 */
#include "app-tls.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "util-cursor.h"

#define TLS_RECORD_HDR_LEN 5

/*
 * Reads the handshake byte string carried by consecutive handshake records.
 * Copies are independent readers over the same borrowed bytes, which is how
 * length-prefixed children work (hs_sub).  `left` bounds a child to what its
 * length prefix declared.
 */
struct hs_reader {
	struct cursor stream; /* borrowed: whole client stream, for offsets */
	struct cursor recs;   /* borrowed: records not yet opened */
	struct cursor frag;   /* borrowed: unread bytes of the open record */
	size_t left;          /* bytes this reader may still consume */
	enum tls_result why;  /* reason for the last failed read */
	size_t need;          /* on TLS_NEED_MORE: stream length lower bound */
};

static bool hs_fail(struct hs_reader *rd, enum tls_result why)
{
	rd->why = why;
	return false;
}

/* Open records until at least one handshake byte is available.  @want is
 * how many bytes the caller still needs (for the NEED_MORE estimate). */
static bool hs_refill(struct hs_reader *rd, size_t want)
{
	while (cur_len(&rd->frag) == 0) {
		size_t at = cur_len(&rd->stream) - cur_len(&rd->recs);
		enum tls_result bad = at ? TLS_INVALID : TLS_NOT_TLS;
		struct cursor hdr = rd->recs;
		uint8_t type, major;
		uint16_t rlen;

		rd->need = at + TLS_RECORD_HDR_LEN + want;
		if (!cur_u8(&hdr, &type))
			return hs_fail(rd, TLS_NEED_MORE);
		if (type != TLS_CONTENT_HANDSHAKE)
			return hs_fail(rd, bad);
		if (!cur_u8(&hdr, &major))
			return hs_fail(rd, TLS_NEED_MORE);
		if (major != 3)
			return hs_fail(rd, bad);
		if (!cur_skip(&hdr, 1) || !cur_be16(&hdr, &rlen))
			return hs_fail(rd, TLS_NEED_MORE);
		if (rlen == 0 || rlen > TLS_RECORD_MAX)
			return hs_fail(rd, TLS_INVALID);
		if (!cur_sub(&hdr, rlen, &rd->frag)) {
			rd->need = at + TLS_RECORD_HDR_LEN + rlen;
			if (want > rlen)
				rd->need += TLS_RECORD_HDR_LEN + want - rlen;
			return hs_fail(rd, TLS_NEED_MORE);
		}
		rd->recs = hdr;
	}
	return true;
}

/* Consume n bytes, copying them to dst (caller-owned, n bytes) unless NULL. */
static bool hs_take(struct hs_reader *rd, size_t n, uint8_t *dst)
{
	if (rd->left < n)
		return hs_fail(rd, TLS_INVALID);
	while (n) {
		size_t k;

		if (!hs_refill(rd, n))
			return false;
		k = cur_len(&rd->frag) < n ? cur_len(&rd->frag) : n;
		if (dst ? !cur_copy(&rd->frag, dst, k) : !cur_skip(&rd->frag, k))
			return hs_fail(rd, TLS_INVALID);
		if (dst)
			dst += k;
		n -= k;
		rd->left -= k;
	}
	return true;
}

static bool hs_u8(struct hs_reader *rd, uint8_t *v)
{
	return hs_take(rd, 1, v);
}

static bool hs_be16(struct hs_reader *rd, uint16_t *v)
{
	uint8_t b[2];

	if (!hs_take(rd, 2, b))
		return false;
	*v = (uint16_t)(b[0] << 8 | b[1]);
	return true;
}

static bool hs_be24(struct hs_reader *rd, uint32_t *v)
{
	uint8_t b[3];

	if (!hs_take(rd, 3, b))
		return false;
	*v = (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
	return true;
}

/* The next n bytes as a child reader; the parent moves past them. */
static bool hs_sub(struct hs_reader *rd, size_t n, struct hs_reader *child)
{
	*child = *rd;
	child->left = n;
	return hs_take(rd, n, NULL);
}

static bool hs_u8_prefixed(struct hs_reader *rd, struct hs_reader *child)
{
	uint8_t n;

	return hs_u8(rd, &n) && hs_sub(rd, n, child);
}

static bool hs_be16_prefixed(struct hs_reader *rd, struct hs_reader *child)
{
	uint16_t n;

	return hs_be16(rd, &n) && hs_sub(rd, n, child);
}

bool tls_is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

static void u16_add(struct tls_u16_list *l, uint16_t v)
{
	if (l->n < TLS_LIST_MAX)
		l->v[l->n++] = v;
	else
		l->truncated = true;
}

/* A vector of 16-bit values filling @rd exactly. */
static bool u16_vector(struct hs_reader *rd, struct tls_u16_list *l)
{
	uint16_t v;

	if (rd->left % 2)
		return false;
	while (rd->left) {
		if (!hs_be16(rd, &v))
			return false;
		u16_add(l, v);
	}
	return true;
}

static bool is_alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_host_char(uint8_t c)
{
	return is_alnum(c) || c == '-' || c == '.' || c == '_';
}

/* Validate a name without consuming it: every byte passes @ok. */
static bool name_valid(const struct hs_reader *name, bool (*ok)(uint8_t))
{
	struct hs_reader peek = *name;
	uint8_t c;

	while (peek.left) {
		if (!hs_u8(&peek, &c) || !ok(c))
			return false;
	}
	return true;
}

/* RFC 6066 3: ServerNameList<1..2^16-1> of { NameType(1), HostName<1..2^16-1> }.
 * Framing errors are fatal; a bad first host_name is only flagged. */
static bool sni_parse(struct hs_reader *ext, struct tls_hello *out)
{
	struct hs_reader list, name;
	uint8_t type;

	out->sni_ext = true;
	if (!hs_be16_prefixed(ext, &list))
		return false;
	if (list.left == 0)
		out->sni_bad = true;
	while (list.left) {
		if (!hs_u8(&list, &type) || !hs_be16_prefixed(&list, &name))
			return false;
		if (type != 0 || out->has_sni || out->sni_bad)
			continue; /* only the first host_name counts */
		if (name.left == 0 || name.left > TLS_SNI_MAX ||
		    !name_valid(&name, is_host_char)) {
			out->sni_bad = true;
			continue;
		}
		if (!hs_take(&name, name.left, (uint8_t *)out->sni))
			return false;
		out->has_sni = true;
	}
	return true;
}

static bool is_printable(uint8_t c)
{
	return c > 0x20 && c < 0x7f;
}

/* Keep the first ALPN protocol's end bytes (JA4) and, if printable, its text. */
static bool alpn_first(struct hs_reader *proto, struct tls_hello *out)
{
	struct hs_reader peek = *proto;

	out->has_alpn = true;
	if (!hs_u8(&peek, &out->alpn_ends[0]) || !hs_take(&peek, peek.left ? peek.left - 1 : 0, NULL))
		return false;
	out->alpn_ends[1] = out->alpn_ends[0];
	if (peek.left && !hs_u8(&peek, &out->alpn_ends[1]))
		return false;
	return !name_valid(proto, is_printable) ||
	       hs_take(proto, proto->left, (uint8_t *)out->alpn);
}

/* RFC 7301 3.1: ProtocolNameList<2..2^16-1> of ProtocolName<1..2^8-1>.  An
 * empty first name is tolerated and means "no ALPN" for JA4. */
static bool alpn_parse(struct hs_reader *ext, struct tls_hello *out)
{
	struct hs_reader list, proto;
	bool first = true;

	if (!hs_be16_prefixed(ext, &list))
		return false;
	while (list.left) {
		if (!hs_u8_prefixed(&list, &proto))
			return false;
		if (first && proto.left && !alpn_first(&proto, out))
			return false;
		first = false;
	}
	return true;
}

static bool point_formats_parse(struct hs_reader *ext, struct tls_u8_list *l)
{
	struct hs_reader list;
	uint8_t v;

	if (!hs_u8_prefixed(ext, &list))
		return false;
	while (list.left) {
		if (!hs_u8(&list, &v))
			return false;
		if (l->n < TLS_LIST_MAX)
			l->v[l->n++] = v;
		else
			l->truncated = true;
	}
	return true;
}

/* RFC 8446 4.2.1: ProtocolVersion versions<2..254>. */
static bool versions_parse(struct hs_reader *ext, struct tls_hello *out)
{
	struct hs_reader list;
	uint16_t v;

	if (!hs_u8_prefixed(ext, &list) || list.left % 2)
		return false;
	out->has_supported_versions = true;
	while (list.left) {
		if (!hs_be16(&list, &v))
			return false;
		if (!tls_is_grease(v) && v > out->version)
			out->version = v;
	}
	return true;
}

/* Parse one extension body; it must be consumed exactly. */
static bool extension_parse(uint16_t type, struct hs_reader *ext, struct tls_hello *out)
{
	struct hs_reader list;
	bool ok = true;

	for (uint16_t i = 0; i < out->extensions.n; i++)
		if (out->extensions.v[i] == type)
			return false; /* RFC 8446 4.2: no duplicates */
	u16_add(&out->extensions, type);

	switch (type) {
	case TLS_EXT_SERVER_NAME:
		ok = sni_parse(ext, out);
		break;
	case TLS_EXT_ALPN:
		ok = alpn_parse(ext, out);
		break;
	case TLS_EXT_SUPPORTED_GROUPS:
		ok = hs_be16_prefixed(ext, &list) && u16_vector(&list, &out->groups);
		break;
	case TLS_EXT_EC_POINT_FORMATS:
		ok = point_formats_parse(ext, &out->point_formats);
		break;
	case TLS_EXT_SIGNATURE_ALGORITHMS:
		ok = hs_be16_prefixed(ext, &list) && u16_vector(&list, &out->sig_algs);
		break;
	case TLS_EXT_SUPPORTED_VERSIONS:
		ok = versions_parse(ext, out);
		break;
	case TLS_EXT_ECH:
	case TLS_EXT_ESNI:
		out->ech = true;
		/* fall through */
	default:
		ok = hs_take(ext, ext->left, NULL);
		break;
	}
	return ok && ext->left == 0;
}

static bool hello_body_parse(struct hs_reader *b, struct tls_hello *out)
{
	struct hs_reader sid, suites, comp, exts, ext;
	uint16_t type;

	if (!hs_be16(b, &out->legacy_version) || !hs_take(b, 32, NULL))
		return false;
	if (!hs_u8_prefixed(b, &sid) || sid.left > 32)
		return false;
	if (!hs_be16_prefixed(b, &suites) || !u16_vector(&suites, &out->ciphers))
		return false;
	if (!hs_u8_prefixed(b, &comp) || comp.left == 0)
		return false;
	if (b->left == 0)
		return true; /* SSL 3.0 / early TLS hello without extensions */
	if (!hs_be16_prefixed(b, &exts) || b->left != 0)
		return false;
	while (exts.left) {
		if (!hs_be16(&exts, &type) || !hs_be16_prefixed(&exts, &ext))
			return false;
		if (!extension_parse(type, &ext, out))
			return false;
	}
	return true;
}

/* A bounded string builder for the fingerprint inputs. */
struct fp_buf {
	char s[4096]; /* JA3 worst case: 5 lists x TLS_LIST_MAX x 6 chars */
	size_t len;
	bool overflow;
};

static void fp_add(struct fp_buf *b, const char *fmt, unsigned v)
{
	int n = snprintf(b->s + b->len, sizeof(b->s) - b->len, fmt, v);

	if (n < 0 || (size_t)n >= sizeof(b->s) - b->len)
		b->overflow = true;
	else
		b->len += (size_t)n;
}

static void fp_puts(struct fp_buf *b, const char *s)
{
	size_t n = strlen(s);

	if (n >= sizeof(b->s) - b->len) {
		b->overflow = true;
		return;
	}
	memcpy(b->s + b->len, s, n + 1);
	b->len += n;
}

static void fp_u16_dec(struct fp_buf *b, const struct tls_u16_list *l)
{
	bool first = true;

	for (uint16_t i = 0; i < l->n; i++) {
		if (tls_is_grease(l->v[i]))
			continue;
		fp_add(b, first ? "%u" : "-%u", l->v[i]);
		first = false;
	}
}

static bool digest_hex(const EVP_MD *md, const struct fp_buf *b, char *hex, size_t nhex)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;

	if (b->overflow || !EVP_Digest(b->s, b->len, d, &dlen, md, NULL) ||
	    nhex > 2 * (size_t)dlen)
		return false;
	for (size_t i = 0; i < nhex; i++)
		hex[i] = digits[i % 2 ? d[i / 2] & 0xf : d[i / 2] >> 4];
	hex[nhex] = '\0';
	return true;
}

static bool ja3_format(const struct tls_hello *h, char *out, char *str)
{
	struct fp_buf b = { .len = 0 };

	fp_add(&b, "%u,", h->legacy_version);
	fp_u16_dec(&b, &h->ciphers);
	fp_puts(&b, ",");
	fp_u16_dec(&b, &h->extensions);
	fp_puts(&b, ",");
	fp_u16_dec(&b, &h->groups);
	fp_puts(&b, ",");
	for (uint16_t i = 0; i < h->point_formats.n; i++)
		fp_add(&b, i ? "-%u" : "%u", h->point_formats.v[i]);
	if (!b.overflow && b.len <= TLS_JA3_STR_MAX) {
		memcpy(str, b.s, b.len);
		str[b.len] = '\0';
	} else {
		str[0] = '\0';
	}
	if (!digest_hex(EVP_md5(), &b, out, TLS_JA3_HEX_LEN)) {
		out[0] = '\0';
		return false;
	}
	return true;
}

/* Non-GREASE entries of @l, minus the @skip values, optionally sorted. */
static uint16_t ja4_list(const struct tls_u16_list *l, bool sort, bool skip_sni_alpn,
			 uint16_t *dst)
{
	uint16_t n = 0;

	for (uint16_t i = 0; i < l->n; i++) {
		uint16_t v = l->v[i], j = n;

		if (tls_is_grease(v) ||
		    (skip_sni_alpn && (v == TLS_EXT_SERVER_NAME || v == TLS_EXT_ALPN)))
			continue;
		while (sort && j > 0 && dst[j - 1] > v) {
			dst[j] = dst[j - 1];
			j--;
		}
		dst[j] = v;
		n++;
	}
	return n;
}

static void fp_hex_list(struct fp_buf *b, const uint16_t *v, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++)
		fp_add(b, i ? ",%04x" : "%04x", v[i]);
}

static const char *ja4_version(uint16_t v)
{
	switch (v) {
	case 0x0304: return "13";
	case 0x0303: return "12";
	case 0x0302: return "11";
	case 0x0301: return "10";
	case 0x0300: return "s3";
	case 0x0002: return "s2";
	case 0xfeff: return "d1";
	case 0xfefd: return "d2";
	case 0xfefc: return "d3";
	default: return "00";
	}
}

static void ja4_alpn(const struct tls_hello *h, char out[3])
{
	static const char digits[] = "0123456789abcdef";
	uint8_t a = h->alpn_ends[0], z = h->alpn_ends[1];

	if (!h->has_alpn) {
		out[0] = out[1] = '0';
	} else if (is_alnum(a) && is_alnum(z)) {
		out[0] = (char)a;
		out[1] = (char)z;
	} else { /* first and last char of the hex form of the value */
		out[0] = digits[a >> 4];
		out[1] = digits[z & 0xf];
	}
	out[2] = '\0';
}

bool tls_ja4_format(const struct tls_hello *h, char transport, char *out)
{
	uint16_t v[TLS_LIST_MAX], sig[TLS_LIST_MAX];
	uint16_t nciph, next, n, nsig;
	char alpn[3], b_hash[13] = "000000000000", c_hash[13] = "000000000000";
	struct fp_buf b = { .len = 0 };

	nciph = ja4_list(&h->ciphers, true, false, v);
	if (nciph) {
		fp_hex_list(&b, v, nciph);
		if (!digest_hex(EVP_sha256(), &b, b_hash, 12))
			goto fail;
	}
	next = ja4_list(&h->extensions, false, false, v);
	n = ja4_list(&h->extensions, true, true, v);
	if (n) {
		b.len = 0;
		fp_hex_list(&b, v, n);
		nsig = ja4_list(&h->sig_algs, false, false, sig);
		if (nsig) {
			fp_puts(&b, "_");
			fp_hex_list(&b, sig, nsig);
		}
		if (!digest_hex(EVP_sha256(), &b, c_hash, 12))
			goto fail;
	}
	ja4_alpn(h, alpn);
	snprintf(out, TLS_JA4_LEN + 1, "%c%s%c%02u%02u%s_%s_%s", transport,
		 ja4_version(h->version), h->sni_ext ? 'd' : 'i',
		 nciph > 99 ? 99u : nciph, next > 99 ? 99u : next, alpn, b_hash, c_hash);
	return true;
fail:
	out[0] = '\0';
	return false;
}

static enum tls_result hello_fail(const struct hs_reader *rd, struct tls_hello *out)
{
	memset(out, 0, sizeof(*out));
	if (rd->why == TLS_NEED_MORE)
		out->stream_len = rd->need;
	return rd->why;
}

/* @framed: @data starts at a record header; else it is the bare handshake
 * message, read as one fragment with no records after it. */
static enum tls_result hello_parse(const uint8_t *data, size_t len, bool framed,
				   struct tls_hello *out)
{
	struct hs_reader rd = { .left = SIZE_MAX, .why = TLS_INVALID }, probe;
	uint8_t type;
	uint32_t mlen;

	memset(out, 0, sizeof(*out));
	cur_init(&rd.stream, data, len);
	if (framed) {
		rd.recs = rd.stream;
		cur_init(&rd.frag, NULL, 0);
	} else {
		rd.frag = rd.stream;
		cur_init(&rd.recs, NULL, 0);
	}

	if (!hs_u8(&rd, &type) || !hs_be24(&rd, &mlen))
		return hello_fail(&rd, out);
	if (type != TLS_HS_CLIENT_HELLO || mlen > TLS_HELLO_MAX)
		return TLS_INVALID;

	/* Wait for every record the hello needs before parsing, so a short
	 * read below always means a malformed hello. */
	probe = rd;
	if (!hs_take(&probe, mlen, NULL))
		return hello_fail(&probe, out);

	rd.left = mlen;
	if (!hello_body_parse(&rd, out)) {
		memset(out, 0, sizeof(*out));
		return TLS_INVALID;
	}
	out->stream_len = cur_len(&rd.stream) - cur_len(&probe.recs);
	if (out->version == 0) /* no supported_versions, or only GREASE in it */
		out->version = out->legacy_version;
	ja3_format(out, out->ja3, out->ja3_str);
	tls_ja4_format(out, 't', out->ja4);
	return TLS_OK;
}

enum tls_result tls_client_hello_parse(const uint8_t *data, size_t len,
				       struct tls_hello *out)
{
	return hello_parse(data, len, true, out);
}

enum tls_result tls_client_hello_parse_hs(const uint8_t *data, size_t len,
					  struct tls_hello *out)
{
	return hello_parse(data, len, false, out);
}

/* STARTTLS ---------------------------------------------------------------- */

enum {
	STARTTLS_SMTP = 1,
	STARTTLS_IMAP = 2,
	STARTTLS_POP3 = 4,
};

static unsigned starttls_protocols(uint16_t port)
{
	switch (port) {
	case 25:
	case 587:
	case 2525:
		return STARTTLS_SMTP;
	case 143:
		return STARTTLS_IMAP;
	case 110:
		return STARTTLS_POP3;
	default:
		return STARTTLS_SMTP | STARTTLS_IMAP | STARTTLS_POP3;
	}
}

/* @line is lowercased, without the line end and trailing blanks. */
static bool starttls_command(const char *line, size_t n, unsigned protos)
{
	const char *sp;

	if ((protos & STARTTLS_SMTP) && n == 8 && !memcmp(line, "starttls", 8))
		return true;
	if ((protos & STARTTLS_POP3) && n == 4 && !memcmp(line, "stls", 4))
		return true;
	if (!(protos & STARTTLS_IMAP))
		return false;
	sp = memchr(line, ' ', n);
	return sp && sp > line && (size_t)(line + n - sp) == 9 && !memcmp(sp + 1, "starttls", 8);
}

bool tls_starttls_offset(const uint8_t *client, size_t len,
			 uint16_t server_port_hint, size_t *tls_off)
{
	unsigned protos = starttls_protocols(server_port_hint);
	struct cursor base, c, peek;

	cur_init(&base, client, len);
	c = base;
	while (cur_len(&c)) {
		char line[TLS_STARTTLS_LINE_MAX];
		size_t n = 0;
		bool too_long = false, ended = false;
		uint8_t ch, rec_type, rec_major;

		while (cur_u8(&c, &ch)) {
			if (ch == '\n') {
				ended = true;
				break;
			}
			if (n == sizeof(line)) {
				too_long = true;
				continue;
			}
			line[n++] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
		}
		if (!ended)
			return false; /* last line still incomplete */
		while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
			n--;
		if (too_long || !starttls_command(line, n, protos))
			continue;
		peek = c;
		if (cur_u8(&peek, &rec_type) && cur_u8(&peek, &rec_major) &&
		    rec_type == TLS_CONTENT_HANDSHAKE && rec_major == 3) {
			*tls_off = cur_len(&base) - cur_len(&c);
			return true;
		}
	}
	return false;
}
