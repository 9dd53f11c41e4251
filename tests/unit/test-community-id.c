/* SPDX-License-Identifier: MIT */
/*
 * test-community-id.c -- Community ID v1 against the spec's test vectors
 * (detection.md 2.2, from corelight/community-id-spec baseline/README.md) and
 * against the spec's JSON baselines for combined.pcap, read from
 * $SHARED/pcaps/community-id-spec/ (SHARED defaults to "../shared").
 */
#include "community-id.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>

#include <unistd.h>

#include "check.h"

#define V6A "fe80:0001:0203:0405:0607:0809:0A0B:0C0D"
#define V6B "fe80:1011:1213:1415:1617:1819:1A1B:1C1D"

struct cid_vector {
	uint8_t proto;
	const char *src, *dst;
	uint16_t sport, dport; /* ICMP: type, code */
	const char *seed0, *seed1; /* seed1 NULL: not quoted in the table */
};

/* detection.md 2.2; every two-way row is also checked reversed below. */
static const struct cid_vector vectors[] = {
	{ 6, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:wCb3OG7yAFWelaUydu0D+125CLM=",
	  "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=" },
	{ 6, "5.6.7.8", "1.2.3.4", 3344, 1122, "1:wCb3OG7yAFWelaUydu0D+125CLM=",
	  "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=" },
	{ 17, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=",
	  "1:OShq+iKDAMVouh/4bMxB9Sz4amw=" },
	{ 132, "1.2.3.4", "5.6.7.8", 1122, 3344, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8=",
	  "1:uitchpn5MMGAQKBJh7bIr/bAr7s=" },
	{ 1, "1.2.3.4", "5.6.7.8", 8, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=",
	  "1:9pr4ZGTICiuZoIh90RRYE2RyXpU=" },
	{ 1, "5.6.7.8", "1.2.3.4", 0, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=",
	  "1:9pr4ZGTICiuZoIh90RRYE2RyXpU=" }, /* echo reply maps onto the request */
	{ 1, "1.2.3.4", "5.6.7.8", 11, 0, "1:f/YiSyWqczrTgfUCZlBUnvHRcPk=",
	  "1:1DD7cWGC/Yg91YGsQeni8du3pIA=" }, /* time exceeded: one-way */
	{ 58, V6A, V6B, 128, 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo=",
	  "1:IO27GQzPuCtNnwFvjWALMHu5tJE=" },
	{ 58, V6A, V6B, 146, 0, "1:fYC8+pz24E+EhANP1EZhpX0Dw10=",
	  "1:Cv4IKJe56BNkF0MBW2YxQ3Nwc3s=" }, /* one-way */
	{ 46, "1.2.3.4", "5.6.7.8", 0, 0, "1:ikv3kmf89luf73WPz1jOs49S768=",
	  "1:/buhqeOmaRCopOZFy9HnoJd5XW8=" },
	{ 46, V6A, V6B, 0, 0, "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0=",
	  "1:j6EyyfBzL4vWKHFXgUqb5Az3OxM=" },
	{ 6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
	  NULL },
	{ 6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25,
	  "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", NULL },
	{ 17, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", NULL },
	{ 1, "192.168.0.89", "192.168.0.1", 8, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", NULL },
	{ 132, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", NULL },
	{ 46, "10.1.12.1", "10.1.12.2", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", NULL },
};

static int cid_str(char *out, uint16_t seed, bool b64, uint8_t proto, const char *s,
		   const char *d, uint16_t sp, uint16_t dp)
{
	struct net_addr a, b;
	if (net_addr_parse(s, &a) < 0 || net_addr_parse(d, &b) < 0)
		return -EINVAL;
	return community_id_v1(out, COMMUNITY_ID_STRLEN, seed, b64, proto, &a, &b, sp, dp);
}

static bool one_way(const struct cid_vector *v)
{
	return (v->proto == 1 && v->sport == 11) || (v->proto == 58 && v->sport == 146);
}

static void test_community_id__spec_vectors(void)
{
	char out[COMMUNITY_ID_STRLEN];

	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct cid_vector *v = &vectors[i];
		CHECK_EQ_I(cid_str(out, 0, true, v->proto, v->src, v->dst, v->sport, v->dport), 0);
		CHECK_STREQ(out, v->seed0);
		if (v->seed1) {
			CHECK_EQ_I(cid_str(out, 1, true, v->proto, v->src, v->dst, v->sport,
					   v->dport), 0);
			CHECK_STREQ(out, v->seed1);
		}
		/* TCP/UDP/SCTP and portless rows are symmetric */
		if (v->proto != 1 && v->proto != 58) {
			CHECK_EQ_I(cid_str(out, 0, true, v->proto, v->dst, v->src, v->dport,
					   v->sport), 0);
			CHECK_STREQ(out, v->seed0);
		}
	}
}

static void test_community_id__hex(void)
{
	char out[COMMUNITY_ID_STRLEN];
	CHECK_EQ_I(cid_str(out, 0, false, 6, "1.2.3.4", "5.6.7.8", 1122, 3344), 0);
	CHECK_STREQ(out, "1:c026f7386ef200559e95a53276ed03fb5db908b3");
	CHECK_EQ_U(strlen(out), COMMUNITY_ID_STRLEN - 1);
}

/* A one-way ICMP flow keeps its direction: the reverse is another ID. */
static void test_community_id__icmp_one_way_not_swapped(void)
{
	char fwd[COMMUNITY_ID_STRLEN], rev[COMMUNITY_ID_STRLEN];

	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct cid_vector *v = &vectors[i];
		if (!one_way(v))
			continue;
		CHECK_EQ_I(cid_str(fwd, 0, true, v->proto, v->src, v->dst, v->sport, v->dport), 0);
		CHECK_EQ_I(cid_str(rev, 0, true, v->proto, v->dst, v->src, v->sport, v->dport), 0);
		CHECK(strcmp(fwd, rev) != 0);
	}
	/* the echo pair is two-way in both families */
	CHECK_EQ_I(cid_str(fwd, 0, true, 58, V6A, V6B, 128, 0), 0);
	CHECK_EQ_I(cid_str(rev, 0, true, 58, V6B, V6A, 129, 0), 0);
	CHECK_STREQ(fwd, rev);
}

static void test_community_id__errors(void)
{
	char out[COMMUNITY_ID_STRLEN];
	struct net_addr a, b, unset;

	memset(&unset, 0, sizeof(unset));
	CHECK_EQ_I(net_addr_parse("1.2.3.4", &a), 0);
	CHECK_EQ_I(net_addr_parse("::1", &b), 0);
	CHECK_EQ_I(community_id_v1(out, sizeof(out), 0, true, 6, &a, &b, 1, 2), -EINVAL);
	CHECK_EQ_I(community_id_v1(out, sizeof(out), 0, true, 6, &unset, &unset, 1, 2), -EINVAL);
	CHECK_EQ_I(community_id_v1(out, sizeof(out), 0, true, 6, NULL, &a, 1, 2), -EINVAL);
	CHECK_EQ_I(community_id_v1(NULL, sizeof(out), 0, true, 6, &a, &a, 1, 2), -EINVAL);
	/* base64 needs 31 bytes, hex 43 */
	CHECK_EQ_I(community_id_v1(out, 30, 0, true, 6, &a, &a, 1, 2), -ENOSPC);
	CHECK_EQ_I(community_id_v1(out, 31, 0, true, 6, &a, &a, 1, 2), 0);
	CHECK_EQ_U(strlen(out), 30);
	CHECK_EQ_I(community_id_v1(out, COMMUNITY_ID_STRLEN - 1, 0, false, 6, &a, &a, 1, 2),
		   -ENOSPC);
}

/* Recompute every record of one spec baseline file; returns records checked
 * or -1 when the file cannot be read. */
static int check_baseline(const char *name, uint16_t seed, bool b64)
{
	const char *shared = getenv("SHARED");
	char path[4096], out[COMMUNITY_ID_STRLEN];
	json_error_t jerr;
	json_t *root, *rec;
	size_t i;
	int checked = 0;

	if (!shared || !*shared)
		shared = "../shared";
	snprintf(path, sizeof(path), "%s/pcaps/community-id-spec/%s", shared, name);
	if (access(path, F_OK) < 0) {
		/* no shared/ folder here: a skip, not a failure */
		printf("skip %s: %s not found (set SHARED to the shared/ folder)\n", name, path);
		return 0;
	}
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		fprintf(stderr, "  note: cannot read baseline: %s\n", jerr.text);
		return -1;
	}
	CHECK(json_is_array(root));
	json_array_foreach(root, i, rec) {
		json_t *jp = json_object_get(rec, "proto"), *js = json_object_get(rec, "saddr"),
		       *jd = json_object_get(rec, "daddr"), *jsp = json_object_get(rec, "sport"),
		       *jdp = json_object_get(rec, "dport"),
		       *jid = json_object_get(rec, "communityid");
		struct net_addr s, d;
		uint16_t sp = 0, dp = 0;

		/* ports are null for protocols without them (RSVP) */
		if (!json_is_integer(jp) || !json_is_string(js) || !json_is_string(jd) ||
		    !json_is_string(jid) || !(json_is_integer(jsp) || json_is_null(jsp)) ||
		    !(json_is_integer(jdp) || json_is_null(jdp)))
			continue;
		if (json_is_integer(jsp))
			sp = (uint16_t)json_integer_value(jsp);
		if (json_is_integer(jdp))
			dp = (uint16_t)json_integer_value(jdp);
		CHECK_EQ_I(net_addr_parse(json_string_value(js), &s), 0);
		CHECK_EQ_I(net_addr_parse(json_string_value(jd), &d), 0);
		/* ICMP rows hold mapped ports: sport is the type; for a two-way
		 * type dport is the counterpart (code ignored), for a one-way type
		 * it is the code, so the row passes straight through. */
		CHECK_EQ_I(community_id_v1(out, sizeof(out), seed, b64,
					   (uint8_t)json_integer_value(jp), &s, &d, sp, dp),
			   0);
		if (strcmp(out, json_string_value(jid)) != 0)
			fprintf(stderr, "  %s record %zu: %s != %s\n", name, i, out,
				json_string_value(jid));
		CHECK_STREQ(out, json_string_value(jid));
		checked++;
	}
	json_decref(root);
	return checked;
}

static void test_community_id__baseline_default(void)
{
	int n = check_baseline("combined.cid.baseline_deflt.json", 0, true);
	CHECK(n == 0 || n >= 20);   /* 0: skipped, no shared/ folder */
}

static void test_community_id__baseline_seed1(void)
{
	int n = check_baseline("combined.cid.baseline_seed1.json", 1, true);
	CHECK(n == 0 || n >= 20);   /* 0: skipped, no shared/ folder */
}

static void test_community_id__baseline_nob64(void)
{
	int n = check_baseline("combined.cid.baseline_nob64.json", 0, false);
	CHECK(n == 0 || n >= 20);   /* 0: skipped, no shared/ folder */
}

int main(void)
{
	RUN(test_community_id__spec_vectors);
	RUN(test_community_id__hex);
	RUN(test_community_id__icmp_one_way_not_swapped);
	RUN(test_community_id__errors);
	RUN(test_community_id__baseline_default);
	RUN(test_community_id__baseline_seed1);
	RUN(test_community_id__baseline_nob64);
	return CHECK_DONE();
}
