/* SPDX-License-Identifier: MIT */
/*
 * test-catalog.c -- the endpoint catalog: loading (shipped file, user file
 * merged on top, malformed files rejected whole with a useful message), name
 * lookups (exact vs wildcard, case, trailing dot, ports) and address lookups
 * (longest prefix, /32 and /128, just outside, port required).  Data files
 * are in tests/unit/data/, paths relative to the repo root.
 */
#include "catalog.h"

#include <errno.h>
#include <stdlib.h>

#include "check.h"

#define DATA "tests/unit/data/"
#define SHIPPED "deploy/catalog.json"

static struct catalog *load(const char *path)
{
	char err[CATALOG_ERR_LEN];
	struct catalog *cat = catalog_new();
	int rc;

	if (!cat)
		return NULL;
	rc = catalog_load_file(cat, path, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "  load %s: %d: %s\n", path, rc, err);
		catalog_free(cat);
		return NULL;
	}
	return cat;
}

/* Name lookup; "-" as want_provider expects no match. */
static void expect_name(const struct catalog *cat, const char *host, uint16_t port,
			const char *want_provider, const char *want_service,
			const char *want_pattern, int line)
{
	struct catalog_match m;
	bool hit = catalog_lookup_name(cat, host, port, &m);

	if (!strcmp(want_provider, "-")) {
		if (hit) {
			fprintf(stderr, "  line %d: %s:%u unexpectedly matched %s/%s (%s)\n", line,
				host, port, m.provider, m.service ? m.service : "(null)", m.pattern);
			check_failed_now = 1;
		}
		return;
	}
	if (!hit) {
		fprintf(stderr, "  line %d: %s:%u did not match\n", line, host, port);
		check_failed_now = 1;
		return;
	}
	CHECK_STREQ(m.provider, want_provider);
	if (want_service)
		CHECK_STREQ(m.service, want_service);
	else
		CHECK(m.service == NULL);
	if (want_pattern)
		CHECK_STREQ(m.pattern, want_pattern);
}

static void expect_addr(const struct catalog *cat, const char *addr, uint16_t port,
			const char *want_provider, const char *want_service,
			const char *want_pattern, int line)
{
	struct catalog_match m;
	struct net_addr a;
	bool hit;

	if (net_addr_parse(addr, &a) < 0) {
		fprintf(stderr, "  line %d: bad test address %s\n", line, addr);
		check_failed_now = 1;
		return;
	}
	hit = catalog_lookup_addr(cat, &a, port, &m);
	if (!strcmp(want_provider, "-")) {
		if (hit) {
			fprintf(stderr, "  line %d: %s:%u unexpectedly matched %s/%s (%s)\n", line,
				addr, port, m.provider, m.service, m.pattern);
			check_failed_now = 1;
		}
		return;
	}
	if (!hit) {
		fprintf(stderr, "  line %d: %s:%u did not match\n", line, addr, port);
		check_failed_now = 1;
		return;
	}
	CHECK_STREQ(m.provider, want_provider);
	CHECK_STREQ(m.service, want_service);
	if (want_pattern)
		CHECK_STREQ(m.pattern, want_pattern);
}

#define NAME(c, h, p, prov, svc, pat) expect_name(c, h, p, prov, svc, pat, __LINE__)
#define ADDR(c, a, p, prov, svc, pat) expect_addr(c, a, p, prov, svc, pat, __LINE__)

/* ---- shipped catalog ---------------------------------------------------- */

static void test_catalog__shipped_loads_and_classifies(void)
{
	struct catalog *cat = load(SHIPPED);
	struct catalog_stats st;

	CHECK(cat != NULL);
	if (!cat)
		return;
	catalog_get_stats(cat, &st);
	CHECK(st.providers >= 10);
	CHECK(st.names >= 50);
	CHECK(st.prefixes_v4 >= 20);
	CHECK(st.prefixes_v6 >= 20);

	NAME(cat, "outlook.office365.com", 443, "microsoft365", "web", "outlook.office365.com");
	NAME(cat, "outlook.office365.com", 993, "microsoft365", "imap", "outlook.office365.com");
	NAME(cat, "outlook.office365.com", 995, "microsoft365", "pop", NULL);
	NAME(cat, "smtp.office365.com", 587, "microsoft365", "smtp", NULL);
	NAME(cat, "smtp-mail.outlook.com", 587, "microsoft365", "smtp", "smtp-mail.outlook.com");
	NAME(cat, "smtp-mail.outlook.com", 443, "microsoft365", "web", "*.outlook.com");
	NAME(cat, "graph.microsoft.com", 443, "microsoft365", "api", NULL);
	NAME(cat, "login.microsoftonline.com", 443, "microsoft365", "auth", NULL);
	NAME(cat, "contoso-com.mail.protection.outlook.com", 25, "microsoft365", "mx",
	     "*.mail.protection.outlook.com");
	/* the /25-only pattern does not list 443: the next shorter one does */
	NAME(cat, "contoso-com.mail.protection.outlook.com", 443, "microsoft365", "web",
	     "*.protection.outlook.com");
	NAME(cat, "imap.gmail.com", 993, "google", "imap", "imap.gmail.com");
	NAME(cat, "smtp.gmail.com", 465, "google", "smtp", NULL);
	NAME(cat, "gmail.googleapis.com", 443, "google", "api", NULL);
	NAME(cat, "mail.google.com", 443, "google", "web", NULL);
	NAME(cat, "api.fastmail.com", 443, "fastmail", "api", NULL);
	NAME(cat, "IMAP.Mail.Yahoo.com.", 993, "yahoo", "imap", NULL);
	NAME(cat, "imap.gmail.com", 443, "-", NULL, NULL);   /* not a port of that entry */
	NAME(cat, "outlook.office365.com", 22, "-", NULL, NULL);
	NAME(cat, "example.com", 443, "-", NULL, NULL);
	NAME(cat, "outlook.com.example.com", 443, "-", NULL, NULL);

	ADDR(cat, "40.96.1.1", 443, "microsoft365", "web", "40.96.0.0/13");
	ADDR(cat, "40.96.1.1", 993, "microsoft365", "imap", "40.96.0.0/13");
	ADDR(cat, "2603:1006::1", 443, "microsoft365", "web", "2603:1006::/40");
	ADDR(cat, "40.107.5.5", 25, "microsoft365", "mx", "40.107.0.0/16");
	ADDR(cat, "52.238.78.88", 443, "microsoft365", "web", "52.238.78.88/32");
	ADDR(cat, "52.238.78.88", 25, "-", NULL, NULL); /* ID 10 omits this /32 */
	ADDR(cat, "40.96.1.1", 22, "-", NULL, NULL);    /* address alone is not enough */
	ADDR(cat, "40.104.0.0", 443, "microsoft365", "web", "40.104.0.0/15");
	ADDR(cat, "40.105.255.255", 443, "microsoft365", "web", "40.104.0.0/15");
	ADDR(cat, "40.106.0.0", 443, "-", NULL, NULL); /* just past 40.104.0.0/15 */
	ADDR(cat, "203.0.113.9", 443, "-", NULL, NULL);
	ADDR(cat, "2001:db8::1", 443, "-", NULL, NULL);
	catalog_free(cat);
}

/* ---- prefixes ----------------------------------------------------------- */

static void test_catalog__prefix_edges(void)
{
	struct catalog *cat = load(DATA "catalog-base.json");

	CHECK(cat != NULL);
	if (!cat)
		return;
	ADDR(cat, "10.1.2.3", 443, "testnet", "api", "10.1.2.3/32");    /* /32 beats /16, /8 */
	ADDR(cat, "10.1.2.4", 443, "testnet", "web", "10.0.0.0/8");     /* /16 lacks 443 */
	ADDR(cat, "10.1.2.4", 993, "testnet", "imap", "10.1.0.0/16");
	ADDR(cat, "10.1.2.3", 993, "testnet", "imap", "10.1.0.0/16");   /* /32 lacks 993 */
	ADDR(cat, "10.255.255.255", 443, "testnet", "web", "10.0.0.0/8");
	ADDR(cat, "10.0.0.0", 443, "testnet", "web", "10.0.0.0/8");
	ADDR(cat, "11.0.0.0", 443, "-", NULL, NULL);                    /* just above */
	ADDR(cat, "9.255.255.255", 443, "-", NULL, NULL);               /* just below */
	ADDR(cat, "10.2.0.1", 993, "-", NULL, NULL);                    /* outside the /16 */
	ADDR(cat, "192.0.2.7", 443, "testnet", "api", "192.0.2.7/32");  /* bare address */
	ADDR(cat, "192.0.2.6", 443, "-", NULL, NULL);
	ADDR(cat, "192.0.2.8", 443, "-", NULL, NULL);
	ADDR(cat, "10.1.2.3", 0, "-", NULL, NULL);

	ADDR(cat, "2001:db8:1::1", 443, "testnet", "auth", "2001:db8:1::1/128");
	ADDR(cat, "2001:db8:1::2", 443, "testnet", "api", "2001:db8:1::/48");
	ADDR(cat, "2001:db8:1::", 443, "testnet", "api", "2001:db8:1::/48");
	ADDR(cat, "2001:db8:1:ffff:ffff:ffff:ffff:ffff", 443, "testnet", "api", NULL);
	ADDR(cat, "2001:db8:2::", 443, "testnet", "web", "2001:db8::/32");
	ADDR(cat, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 443, "testnet", "web", NULL);
	ADDR(cat, "2001:db9::", 443, "-", NULL, NULL);
	ADDR(cat, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", 443, "-", NULL, NULL);
	ADDR(cat, "::ffff:10.1.2.3", 443, "-", NULL, NULL); /* v4-mapped is IPv6 */
	ADDR(cat, "2001:db8:1::1", 993, "-", NULL, NULL);
	catalog_free(cat);
}

static void test_catalog__zero_prefix_and_host_bits_refused(void)
{
	struct catalog *cat = load(DATA "catalog-base.json");
	char err[CATALOG_ERR_LEN];
	uint16_t p443 = 443;

	CHECK(cat != NULL);
	if (!cat)
		return;
	CHECK_EQ_I(catalog_add_network(cat, "x", "0.0.0.0/0", "web", &p443, 1, err, sizeof(err)),
		   -EINVAL);
	CHECK(strstr(err, "/0 prefix") != NULL);
	CHECK_EQ_I(catalog_add_network(cat, "x", "::/0", "web", &p443, 1, err, sizeof(err)),
		   -EINVAL);
	CHECK_EQ_I(catalog_add_network(cat, "x", "10.0.0.1/8", "web", &p443, 1, err, sizeof(err)),
		   -EINVAL);
	CHECK(strstr(err, "host bits") != NULL);
	CHECK_EQ_I(catalog_add_network(cat, "x", "10.0.0.0/33", "web", &p443, 1, err, sizeof(err)),
		   -EINVAL);
	CHECK_EQ_I(catalog_add_network(cat, "x", "10.0.0.0/8", "webmail", &p443, 1, err,
				       sizeof(err)),
		   -EINVAL);
	CHECK(strstr(err, "unknown service \"webmail\"") != NULL);
	CHECK_EQ_I(catalog_add_network(cat, "x", "10.0.0.0/8", "web", &p443, 0, err, sizeof(err)),
		   -EINVAL);
	ADDR(cat, "1.1.1.1", 443, "-", NULL, NULL);
	catalog_free(cat);

	cat = catalog_new();
	CHECK(cat != NULL);
	CHECK_EQ_I(catalog_load_file(cat, DATA "catalog-bad-zero.json", err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "providers[0].entries[0].cidrs[0]") != NULL);
	catalog_free(cat);
}

struct prefix_list {
	char text[16][NET_ADDR_STRLEN + 8];
	int n;
	int stop_after;
};

static int collect_prefix(const struct net_addr *net, unsigned plen, void *arg)
{
	struct prefix_list *l = arg;
	char buf[NET_ADDR_STRLEN];

	if (l->n < 16)
		snprintf(l->text[l->n], sizeof(l->text[0]), "%s/%u",
			 net_addr_format(net, buf, sizeof(buf)), plen);
	l->n++;
	return l->stop_after && l->n == l->stop_after ? 42 : 0;
}

static int collect_port(uint16_t port, void *arg)
{
	int *sum = arg;
	*sum = *sum * 1000 + port;
	return 0;
}

static void test_catalog__foreach_prefix(void)
{
	static const char *const want[] = {
		"10.0.0.0/8",	 "10.1.0.0/16",	    "10.1.2.3/32",	 "192.0.2.7/32",
		"2001:db8::/32", "2001:db8:1::/48", "2001:db8:1::1/128",
	};
	struct catalog *cat = load(DATA "catalog-base.json");
	struct prefix_list l = { .n = 0 };
	struct catalog_stats st;
	int ports = 0;

	CHECK(cat != NULL);
	if (!cat)
		return;
	CHECK_EQ_I(catalog_foreach_prefix(cat, collect_prefix, &l), 0);
	CHECK_EQ_I(l.n, 7);
	for (int i = 0; i < 7 && i < l.n; i++)
		CHECK_STREQ(l.text[i], want[i]);
	catalog_get_stats(cat, &st);
	CHECK_EQ_U(st.prefixes_v4, 4);
	CHECK_EQ_U(st.prefixes_v6, 3);
	CHECK_EQ_U(st.providers, 2);
	CHECK_EQ_U(st.entries, 11);
	CHECK_EQ_U(st.names, 5);

	memset(&l, 0, sizeof(l));
	l.stop_after = 2;
	CHECK_EQ_I(catalog_foreach_prefix(cat, collect_prefix, &l), 42);
	CHECK_EQ_I(l.n, 2);

	CHECK_EQ_I(catalog_foreach_addr_port(cat, collect_port, &ports), 0);
	CHECK_EQ_I(ports, 443993); /* 443 then 993 */
	catalog_free(cat);
}

/* ---- names -------------------------------------------------------------- */

static void test_catalog__names(void)
{
	struct catalog *cat = load(DATA "catalog-base.json");

	CHECK(cat != NULL);
	if (!cat)
		return;
	/* exact beats wildcard */
	NAME(cat, "mail.example.net", 443, "testmail", "web", "mail.example.net");
	NAME(cat, "mail.example.net", 993, "testmail", "imap", "mail.example.net");
	NAME(cat, "other.example.net", 443, "testmail", "api", "*.example.net");
	/* "*.x" covers every depth below x, never x itself */
	NAME(cat, "a.b.c.example.net", 443, "testmail", "api", "*.example.net");
	NAME(cat, "example.net", 443, "-", NULL, NULL);
	NAME(cat, "notexample.net", 443, "-", NULL, NULL);
	/* longest wildcard suffix wins */
	NAME(cat, "x.deep.example.net", 443, "testmail", "auth", "*.deep.example.net");
	NAME(cat, "y.x.deep.example.net", 443, "testmail", "auth", "*.deep.example.net");
	NAME(cat, "deep.example.net", 443, "testmail", "api", "*.example.net");
	/* ... unless it lacks the port: then the next shorter one */
	NAME(cat, "in1.mx.example.net", 25, "testmail", "mx", "*.mx.example.net");
	NAME(cat, "in1.mx.example.net", 443, "testmail", "api", "*.example.net");
	/* a port no candidate lists */
	NAME(cat, "mail.example.net", 22, "-", NULL, NULL);
	NAME(cat, "mail.example.net", 25, "-", NULL, NULL);
	/* case and one trailing dot */
	NAME(cat, "MAIL.Example.NET", 993, "testmail", "imap", "mail.example.net");
	NAME(cat, "mail.example.net.", 993, "testmail", "imap", NULL);
	NAME(cat, "X.DEEP.example.net.", 443, "testmail", "auth", NULL);
	NAME(cat, "mail.example.net..", 993, "-", NULL, NULL);
	NAME(cat, "", 443, "-", NULL, NULL);
	NAME(cat, ".", 443, "-", NULL, NULL);
	NAME(cat, "net", 443, "-", NULL, NULL);
	/* default_service covers ports the entry does not list */
	NAME(cat, "dflt.example.org", 993, "testmail", "imap", NULL);
	NAME(cat, "dflt.example.org", 8443, "testmail", "web", NULL);
	/* port unknown: the name alone decides, service from default_service */
	NAME(cat, "other.example.net", CATALOG_PORT_ANY, "testmail", NULL, "*.example.net");
	NAME(cat, "dflt.example.org", CATALOG_PORT_ANY, "testmail", "web", NULL);
	NAME(cat, "example.org", CATALOG_PORT_ANY, "-", NULL, NULL);
	catalog_free(cat);
}

static void test_catalog__long_name(void)
{
	struct catalog *cat = load(DATA "catalog-base.json");
	char name[600];

	CHECK(cat != NULL);
	if (!cat)
		return;
	/* 245 chars of labels + ".example.net" = 257 > 253: refused, not truncated */
	memset(name, 'a', sizeof(name));
	for (int i = 60; i < 245; i += 61)
		name[i] = '.';
	strcpy(name + 245, ".example.net");
	NAME(cat, name, 443, "-", NULL, NULL);
	/* 229 + 12 = 241: fine */
	strcpy(name + 229, ".example.net");
	NAME(cat, name, 443, "testmail", "api", "*.example.net");
	catalog_free(cat);
}

/* ---- several files, config additions ------------------------------------ */

static void test_catalog__user_file_merges(void)
{
	struct catalog *cat = load(DATA "catalog-base.json");
	struct catalog_stats before, after;
	struct catalog_match kept;
	char err[CATALOG_ERR_LEN];

	CHECK(cat != NULL);
	if (!cat)
		return;
	catalog_get_stats(cat, &before);
	CHECK(catalog_lookup_name(cat, "mail.example.net", 443, &kept));
	CHECK_EQ_I(catalog_load_file(cat, DATA "catalog-user.json", err, sizeof(err)), 0);
	catalog_get_stats(cat, &after);
	CHECK_EQ_U(after.providers, before.providers + 1); /* testmail merged, corpmail new */
	CHECK_EQ_U(after.entries, before.entries + 3);
	CHECK_EQ_U(after.prefixes_v4, before.prefixes_v4 + 1);
	CHECK_EQ_U(after.names, before.names + 1); /* mail.example.net already known */

	NAME(cat, "mail.corp.example", 993, "corpmail", "imap", NULL);
	ADDR(cat, "198.51.100.200", 443, "corpmail", "web", "198.51.100.0/24");
	NAME(cat, "mail.example.net", 587, "testmail", "smtp", "mail.example.net");
	NAME(cat, "mail.example.net", 443, "testmail", "web", NULL);
	/* the base file's provider name stays; old match strings still valid */
	{
		struct catalog_match m;
		CHECK(catalog_lookup_name(cat, "mail.example.net", 587, &m));
		CHECK_STREQ(m.provider_name, "Test mail");
		CHECK_STREQ(m.source, "local admin");
	}
	CHECK_STREQ(kept.provider, "testmail");
	CHECK_STREQ(kept.pattern, "mail.example.net");
	CHECK_STREQ(kept.provider_name, "Test mail");
	catalog_free(cat);
}

static void test_catalog__config_additions(void)
{
	struct catalog *cat = catalog_new();
	char err[CATALOG_ERR_LEN];
	uint16_t imap[] = { 993, 143 }, web[] = { 443 };

	CHECK(cat != NULL);
	if (!cat)
		return;
	/* an empty catalog answers no */
	NAME(cat, "mail.example.net", 443, "-", NULL, NULL);
	ADDR(cat, "10.0.0.1", 443, "-", NULL, NULL);
	CHECK_EQ_I(catalog_add_host(cat, "onprem", "Mail.Corp.Example", "imap", imap, 2, err,
				    sizeof(err)),
		   0);
	CHECK_EQ_I(catalog_add_network(cat, "onprem", "172.16.5.0/24", "web", web, 1, err,
				       sizeof(err)),
		   0);
	NAME(cat, "mail.corp.example", 143, "onprem", "imap", "mail.corp.example");
	NAME(cat, "mail.corp.example", 443, "-", NULL, NULL);
	ADDR(cat, "172.16.5.9", 443, "onprem", "web", "172.16.5.0/24");
	ADDR(cat, "172.16.5.9", 993, "-", NULL, NULL);
	CHECK_EQ_I(catalog_add_host(cat, "onprem", "mail.*.example", "imap", imap, 2, err,
				    sizeof(err)),
		   -EINVAL);
	CHECK(strstr(err, "wildcard") != NULL);
	CHECK_EQ_I(catalog_add_host(cat, "Bad Id", "x.example", "imap", imap, 2, err,
				    sizeof(err)),
		   -EINVAL);
	{
		uint16_t dup[] = { 993, 993 };
		CHECK_EQ_I(catalog_add_host(cat, "onprem", "x.example", "imap", dup, 2, err,
					    sizeof(err)),
			   -EINVAL);
	}
	catalog_free(cat);
	catalog_free(NULL);
}

/* ---- malformed files ---------------------------------------------------- */

struct bad_case {
	const char *file;
	int rc;
	const char *want[3]; /* substrings the message must hold */
};

static void test_catalog__malformed_files(void)
{
	static const struct bad_case cases[] = {
		{ DATA "catalog-bad-syntax.json", -EINVAL,
		  { DATA "catalog-bad-syntax.json:5:", "expected", NULL } },
		{ DATA "catalog-bad-type.json", -EINVAL,
		  { "providers[1].entries[0].hosts[0]: expected a string", NULL } },
		{ DATA "catalog-bad-cidr.json", -EINVAL,
		  { "providers[0].entries[0].cidrs[1]", "10.0.0.300/8", "not an IPv4" } },
		{ DATA "catalog-bad-service.json", -EINVAL,
		  { "providers[0].entries[0].ports.\"993\"", "unknown service \"imaps\"", NULL } },
		{ DATA "catalog-bad-dupkey.json", -EINVAL,
		  { DATA "catalog-bad-dupkey.json:5:", "duplicate object key", NULL } },
		{ DATA "catalog-bad-key.json", -EINVAL,
		  { "providers[0].entries[0]: unknown key \"port\"", NULL } },
		{ DATA "catalog-bad-version.json", -EINVAL, { "version", NULL } },
		{ DATA "catalog-no-such-file.json", -ENOENT, { "cannot open", NULL } },
	};
	struct catalog *cat = load(DATA "catalog-base.json");
	struct catalog_stats before, after;
	char err[CATALOG_ERR_LEN];

	CHECK(cat != NULL);
	if (!cat)
		return;
	catalog_get_stats(cat, &before);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *c = &cases[i];
		int rc = catalog_load_file(cat, c->file, err, sizeof(err));

		CHECK_EQ_I(rc, c->rc);
		for (int k = 0; k < 3 && c->want[k]; k++) {
			if (!strstr(err, c->want[k])) {
				fprintf(stderr, "  %s: message \"%s\" lacks \"%s\"\n", c->file, err,
					c->want[k]);
				check_failed_now = 1;
			}
		}
	}
	/* nothing half-loaded: bad-type.json had a valid provider "x" first */
	catalog_get_stats(cat, &after);
	CHECK_EQ_U(after.providers, before.providers);
	CHECK_EQ_U(after.entries, before.entries);
	CHECK_EQ_U(after.names, before.names);
	CHECK_EQ_U(after.prefixes_v4, before.prefixes_v4);
	NAME(cat, "ok.example", 443, "-", NULL, NULL);
	NAME(cat, "mail.example.net", 443, "testmail", "web", NULL);
	ADDR(cat, "10.1.2.3", 443, "testnet", "api", NULL);
	/* err may be NULL */
	CHECK_EQ_I(catalog_load_file(cat, DATA "catalog-bad-type.json", NULL, 0), -EINVAL);
	catalog_free(cat);
}

int main(void)
{
	RUN(test_catalog__shipped_loads_and_classifies);
	RUN(test_catalog__prefix_edges);
	RUN(test_catalog__zero_prefix_and_host_bits_refused);
	RUN(test_catalog__foreach_prefix);
	RUN(test_catalog__names);
	RUN(test_catalog__long_name);
	RUN(test_catalog__user_file_merges);
	RUN(test_catalog__config_additions);
	RUN(test_catalog__malformed_files);
	return CHECK_DONE();
}
