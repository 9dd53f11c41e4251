/* SPDX-License-Identifier: MIT */
/*
 * fuzz-catalog.c -- catalog_load_file() on arbitrary bytes, then lookups.
 *
 * Input: the bytes of a catalog file.  It is written to an in-memory file
 * (memfd, opened through /proc/self/fd/N) and loaded into an empty catalog,
 * then loaded a second time on top (same ids and patterns: the "later file
 * wins" merge path), with a tiny error buffer to exercise truncation.  The
 * first 64 input lines are also offered to catalog_add_host() and
 * catalog_add_network() and looked up as a name and as an address; a fixed
 * set of names and addresses is looked up too, and both prefix and port
 * walks run.
 *
 * Checked besides memory safety and leaks: the error text is NUL-terminated
 * within errlen, all-or-nothing loading (a failed load or add leaves the
 * stats as they were), every string a match returns is non-NULL where
 * promised, and the prefix walk visits every prefix the stats count.
 */
#include "fuzz-common.h"

#include <errno.h>

#include "catalog.h"
#include "net-addr.h"

static const char *const names[] = {
	"outlook.office365.com", "smtp.office365.com", "imap.gmail.com",
	"mail.example.net", "a.b.example.net", "x.deep.example.net", "example.net",
	"MAIL.EXAMPLE.NET.", "", ".", "..", "*", "*.example.net", "a..b",
	"xn--bcher-kva.example", "a.mx.example.net",
};
static const char *const addrs[] = {
	"40.96.1.2", "10.1.2.3", "192.0.2.7", "0.0.0.0", "255.255.255.255",
	"2001:db8:1::1", "2603:1006::1", "::", "::1",
	"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
};
static const uint16_t lookup_ports[] = { 0, 25, 443, 587, 993, 995, 65535 };

static void check_match(const struct catalog_match *m, uint16_t port)
{
	FUZZ_CHECK(m->provider && m->provider_name && m->pattern && m->source);
	FUZZ_CHECK(port == CATALOG_PORT_ANY || m->service != NULL);
	(void)strlen(m->provider);
	(void)strlen(m->provider_name);
	(void)strlen(m->pattern);
	(void)strlen(m->source);
	if (m->service)
		FUZZ_CHECK(catalog_service_valid(m->service));
}

static void lookup_name(const struct catalog *cat, const char *name)
{
	struct catalog_match m;
	for (size_t p = 0; p < sizeof(lookup_ports) / sizeof(lookup_ports[0]); p++)
		if (catalog_lookup_name(cat, name, lookup_ports[p], &m))
			check_match(&m, lookup_ports[p]);
}

static void lookup_addr(const struct catalog *cat, const struct net_addr *a)
{
	struct catalog_match m;
	for (size_t p = 0; p < sizeof(lookup_ports) / sizeof(lookup_ports[0]); p++)
		if (catalog_lookup_addr(cat, a, lookup_ports[p], &m)) {
			check_match(&m, 1);
			FUZZ_CHECK(m.service != NULL);
		}
}

static int count_prefix(const struct net_addr *net, unsigned plen, void *arg)
{
	size_t *n = arg;
	FUZZ_CHECK(net->family == NET_ADDR_V4 || net->family == NET_ADDR_V6);
	FUZZ_CHECK(plen <= (net->family == NET_ADDR_V4 ? 32u : 128u));
	(*n)++;
	return 0;
}

static int count_port(uint16_t port, void *arg)
{
	size_t *n = arg;
	(void)port;
	(*n)++;
	return 0;
}

static void check_err(const char *err, size_t errlen)
{
	FUZZ_CHECK(memchr(err, 0, errlen) != NULL);
}

static void exercise(struct catalog *cat)
{
	struct catalog_stats st;
	size_t np = 0, nports = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		lookup_name(cat, names[i]);
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		struct net_addr a;
		FUZZ_CHECK(net_addr_parse(addrs[i], &a) == 0);
		lookup_addr(cat, &a);
	}
	catalog_get_stats(cat, &st);
	(void)catalog_foreach_prefix(cat, count_prefix, &np);
	(void)catalog_foreach_addr_port(cat, count_port, &nports);
	FUZZ_CHECK(np == st.prefixes_v4 + st.prefixes_v6);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct catalog *cat;
	struct catalog_stats before, after;
	char path[64], err[CATALOG_ERR_LEN], small[8];
	char *text, *line, *save = NULL;
	unsigned nlines = 0;
	int fd, rc;
	static const uint16_t ports[] = { 443, 993 };

	cat = catalog_new();
	if (!cat)
		abort();
	fd = fz_memfile(data, size, path, sizeof(path));
	if (fd < 0)
		abort();

	memset(err, 'x', sizeof(err));
	rc = catalog_load_file(cat, path, err, sizeof(err));
	FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -EFBIG || rc == -ENOMEM);
	if (rc)
		check_err(err, sizeof(err));

	catalog_get_stats(cat, &before);
	memset(small, 'x', sizeof(small));
	rc = catalog_load_file(cat, path, small, sizeof(small)); /* merge onto itself */
	if (rc) {
		check_err(small, sizeof(small));
		catalog_get_stats(cat, &after);
		FUZZ_CHECK(!memcmp(&before, &after, sizeof(before)));
	}
	close(fd);
	exercise(cat);

	/* every line as a config pattern, a network, a name and an address */
	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct net_addr a;
		unsigned plen;
		if (strlen(line) > 300)
			continue;
		if (++nlines > 64) /* each add rebuilds the index: keep it linear */
			break;
		catalog_get_stats(cat, &before);
		rc = catalog_add_host(cat, "fuzz", line, "imap", ports, 2, err, sizeof(err));
		if (rc) {
			check_err(err, sizeof(err));
			catalog_get_stats(cat, &after);
			FUZZ_CHECK(!memcmp(&before, &after, sizeof(before)));
		}
		rc = catalog_add_network(cat, "fuzz-net", line, "web", ports, 1, small, sizeof(small));
		if (rc)
			check_err(small, sizeof(small));
		lookup_name(cat, line);
		if (net_addr_parse(line, &a) == 0)
			lookup_addr(cat, &a);
		if (net_prefix_parse(line, &a, &plen) == 0) {
			FUZZ_CHECK(plen <= (a.family == NET_ADDR_V4 ? 32u : 128u));
			lookup_addr(cat, &a);
		}
	}
	free(text);
	exercise(cat);
	catalog_free(cat);
	return 0;
}
