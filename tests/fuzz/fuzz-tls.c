/* SPDX-License-Identifier: MIT */
/*
 * fuzz-tls.c -- tls_client_hello_parse() and tls_starttls_offset().
 *
 * Input: one selector byte, then a client byte stream.  The selector picks
 * the STARTTLS port hint (0, 25, 587, 2525, 143, 110, 443, or 993).  The
 * stream is parsed as a ClientHello from byte 0, then searched for a
 * STARTTLS upgrade; when one is found the hello after it is parsed too, as
 * app-layer.c does.  Growing prefixes are also tried for short inputs,
 * since the app layer re-parses a growing prefix as segments arrive.
 *
 * Checked besides memory safety: stream_len within what app-tls.h
 * promises, every string NUL-terminated and bounded, SNI only made of the
 * documented characters, list counts within TLS_LIST_MAX, the STARTTLS
 * offset inside the stream and followed by a 0x16 0x03 record header.
 */
#include "fuzz-common.h"

#include <ctype.h>

#include "app-tls.h"

static const uint16_t ports[8] = { 0, 25, 587, 2525, 143, 110, 443, 993 };

static void check_hello(size_t len, enum tls_result r, const struct tls_hello *h)
{
	char ja4[TLS_JA4_LEN + 1];

	FUZZ_CHECK(r == TLS_OK || r == TLS_NEED_MORE || r == TLS_NOT_TLS || r == TLS_INVALID);
	if (r == TLS_OK) {
		FUZZ_CHECK(h->stream_len > 0 && h->stream_len <= len);
		FUZZ_CHECK(memchr(h->sni, 0, sizeof(h->sni)) != NULL);
		FUZZ_CHECK(memchr(h->alpn, 0, sizeof(h->alpn)) != NULL);
		FUZZ_CHECK(memchr(h->ja3, 0, sizeof(h->ja3)) != NULL);
		FUZZ_CHECK(memchr(h->ja4, 0, sizeof(h->ja4)) != NULL);
		FUZZ_CHECK(strlen(h->ja3) == 0 || strlen(h->ja3) == TLS_JA3_HEX_LEN);
		if (h->has_sni) {
			FUZZ_CHECK(h->sni[0] != '\0');
			for (const char *s = h->sni; *s; s++)
				FUZZ_CHECK(isalnum((unsigned char)*s) || *s == '.' || *s == '-' ||
					   *s == '_');
		}
		for (const char *s = h->alpn; *s; s++)
			FUZZ_CHECK(*s >= 0x21 && *s <= 0x7e);
		FUZZ_CHECK(h->ciphers.n <= TLS_LIST_MAX && h->extensions.n <= TLS_LIST_MAX &&
			   h->groups.n <= TLS_LIST_MAX && h->point_formats.n <= TLS_LIST_MAX &&
			   h->sig_algs.n <= TLS_LIST_MAX);
		if (tls_ja4_format(h, 'q', ja4))
			FUZZ_CHECK(strlen(ja4) <= TLS_JA4_LEN);
		if (tls_ja4_format(h, 'd', ja4))
			FUZZ_CHECK(strlen(ja4) <= TLS_JA4_LEN);
	} else if (r == TLS_NEED_MORE) {
		FUZZ_CHECK(h->stream_len > len);
	}
}

/* Parse from an exact-size heap copy so a one-byte overread is caught. */
static enum tls_result parse_copy(const uint8_t *data, size_t len, struct tls_hello *h)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum tls_result r;
	if (!copy)
		abort();
	memcpy(copy, data, len);
	r = tls_client_hello_parse(copy, len, h);
	check_hello(len, r, h);
	free(copy);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tls_hello h; /* large: keep it off the stack */
	uint16_t port;
	size_t off = (size_t)-1;
	const uint8_t *s;
	uint8_t *copy;
	size_t n;

	if (size < 1)
		return 0;
	port = ports[data[0] & 7];
	s = data + 1;
	n = size - 1;

	parse_copy(s, n, &h);
	if (n <= 600) /* growing prefixes, as segments arrive */
		for (size_t k = 0; k < n; k += 1 + k / 16)
			parse_copy(s, k, &h);

	copy = malloc(n ? n : 1);
	if (!copy)
		abort();
	memcpy(copy, s, n);
	if (tls_starttls_offset(copy, n, port, &off)) {
		FUZZ_CHECK(off <= n);
		FUZZ_CHECK(n - off >= 2 && copy[off] == 0x16 && copy[off + 1] == 3);
		parse_copy(s + off, n - off, &h);
	}
	free(copy);
	return 0;
}
