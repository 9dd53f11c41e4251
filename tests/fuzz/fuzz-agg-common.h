/* SPDX-License-Identifier: MIT */
/*
 * fuzz-agg-common.h -- what the pcap and agg harnesses share: a catalog
 * loaded once (deploy/catalog.json plus a small test catalog whose ranges
 * and names the synthetic packets use), and a session callback that turns
 * every record into its JSON line the way sensor/main.c does.
 */
#ifndef MAILTAP_FUZZ_AGG_COMMON_H
#define MAILTAP_FUZZ_AGG_COMMON_H

#include "fuzz-common.h"

#include <jansson.h>

#include "aggregator.h"
#include "catalog.h"
#include "output-json.h"

#ifndef FUZZ_SRCDIR
#define FUZZ_SRCDIR "."
#endif

/* Test networks and names the agg harness's synthetic packets hit. */
static const char fuzz_test_catalog[] =
	"{ \"version\": 1, \"providers\": [ { \"id\": \"fuzzmail\", \"name\": \"Fuzz mail\","
	"  \"entries\": ["
	"   { \"cidrs\": [\"10.0.0.0/8\", \"2001:db8::/32\"], \"ports\": { \"443\": \"web\","
	"     \"993\": \"imap\", \"25\": \"smtp\", \"587\": \"smtp\", \"143\": \"imap\","
	"     \"110\": \"pop\" }, \"source\": \"fuzz\", \"date\": \"2026-01-01\" },"
	"   { \"hosts\": [\"mail.example.net\", \"*.example.net\"], \"ports\": { \"443\": \"web\","
	"     \"993\": \"imap\" }, \"default_service\": \"api\", \"source\": \"fuzz\" } ] } ] }";

static struct catalog *fuzz_catalog;

/* Load the catalogs once per process; a missing deploy/catalog.json is not
 * an error (the test catalog is enough to reach the classification code). */
static void fuzz_catalog_init(void)
{
	char path[64], err[CATALOG_ERR_LEN] = "";
	int fd;

	if (fuzz_catalog)
		return;
	fuzz_catalog = catalog_new();
	if (!fuzz_catalog)
		abort();
	(void)catalog_load_file(fuzz_catalog, FUZZ_SRCDIR "/deploy/catalog.json", err, sizeof(err));
	fd = fz_memfile(fuzz_test_catalog, sizeof(fuzz_test_catalog) - 1, path, sizeof(path));
	if (fd < 0 || catalog_load_file(fuzz_catalog, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz: test catalog: %s\n", err);
		abort();
	}
	close(fd);
}

struct fuzz_sessions {
	uint64_t records, updates;
	bool all_flows;
};

/* As sensor/main.c on_session(): JSON object, one line, freed. */
static void fuzz_on_session(const struct session *s, void *arg)
{
	struct fuzz_sessions *fs = arg;
	json_t *o;
	char *line;
	size_t len;

	FUZZ_CHECK(s->flow != NULL);
	if (s->is_update)
		fs->updates++;
	else
		fs->records++;
	if (!fs->all_flows && !(s->ident && s->ident->has_match))
		return;
	if (s->ident) {
		FUZZ_CHECK(memchr(s->ident->sni, 0, sizeof(s->ident->sni)) != NULL);
		FUZZ_CHECK(memchr(s->ident->dns_name, 0, sizeof(s->ident->dns_name)) != NULL);
		FUZZ_CHECK(memchr(s->ident->alpn, 0, sizeof(s->ident->alpn)) != NULL);
		FUZZ_CHECK(memchr(s->ident->ja3, 0, sizeof(s->ident->ja3)) != NULL);
		FUZZ_CHECK(memchr(s->ident->ja4, 0, sizeof(s->ident->ja4)) != NULL);
	}
	o = session_to_json(s, NULL);
	FUZZ_CHECK(o != NULL);
	line = out_json_line(o, &len);
	FUZZ_CHECK(line != NULL && len > 0 && line[len - 1] == '\n');
	FUZZ_CHECK(json_string_value(json_object_get(o, "record_id")) != NULL);
	free(line);
	json_decref(o);
}

#endif
