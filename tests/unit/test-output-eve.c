/* SPDX-License-Identifier: MIT */
/* test-output-eve.c -- the EVE format's fixed parts: time form, stable
 * flow id, signature table, severity map, --format names. */
#include "output-eve.h"

#include <errno.h>
#include <netinet/in.h>

#include "check.h"

static void make_flow(struct flow *f)
{
	static const uint8_t cli[4] = { 10, 1, 0, 66 }, srv[4] = { 52, 97, 146, 162 };

	memset(f, 0, sizeof(*f));
	net_addr_set_v4(&f->key.a, cli);
	net_addr_set_v4(&f->key.b, srv);
	f->key.port_a = 50000;
	f->key.port_b = 443;
	f->key.proto = IPPROTO_TCP;
	f->client_is_a = 1;
	f->id = 7;
	f->first_ns = 1772618586830992000ull;
}

static void test_output_eve__time_form(void)
{
	char buf[EVE_TIME_LEN];
	CHECK_STREQ(eve_time_format(1772618586830992123ull, buf, sizeof(buf)),
		    "2026-03-04T10:03:06.830992+0000");
}

static void test_output_eve__flow_id_stable(void)
{
	struct flow f, g;
	uint64_t id;

	make_flow(&f);
	id = eve_flow_id(&f);
	CHECK(id > 0 && id < (1ull << 53));
	g = f;
	g.id = 99;                 /* the per-run flow number does not count */
	g.last_ns = f.first_ns + 5;
	CHECK_EQ_U(eve_flow_id(&g), id);
	g = f;                     /* the same flow seen from its key's other side */
	g.key.a = f.key.b;
	g.key.b = f.key.a;
	g.key.port_a = f.key.port_b;
	g.key.port_b = f.key.port_a;
	g.client_is_a = 0;
	CHECK_EQ_U(eve_flow_id(&g), id);
	g = f;
	g.first_ns++;              /* another start: another flow */
	CHECK(eve_flow_id(&g) != id);
	g = f;
	g.key.vlan[0] = 10;
	CHECK(eve_flow_id(&g) != id);
	g = f;
	g.key.port_a++;
	CHECK(eve_flow_id(&g) != id);
}

static void test_output_eve__signatures(void)
{
	for (int i = 0; i < SIG_COUNT; i++) {
		const struct eve_signature *s = eve_signature((enum score_signal)i);
		char prefix[64];
		CHECK_EQ_U(s->sid, EVE_SID_BASE + 1 + (unsigned)i);
		snprintf(prefix, sizeof(prefix), "MAILTAP %s:", score_rules[i].name);
		CHECK(!strncmp(s->signature, prefix, strlen(prefix)));
		CHECK(s->category && s->category[0]);
	}
	CHECK_EQ_U(eve_signature(SIG_BULK_DOWNLOAD)->sid, 9000001);
	CHECK_EQ_U(eve_signature(SIG_NEW_CLIENT)->sid, 9000005);
}

static void test_output_eve__severity(void)
{
	CHECK_EQ_I(eve_severity("critical"), 1);
	CHECK_EQ_I(eve_severity("high"), 1);
	CHECK_EQ_I(eve_severity("medium"), 2);
	CHECK_EQ_I(eve_severity("low"), 3);
	CHECK_EQ_I(eve_severity(NULL), 3);
}

static void test_output_eve__format_names(void)
{
	enum output_format f = OUTPUT_FORMAT_NATIVE;
	CHECK_EQ_I(output_format_parse("eve", &f), 0);
	CHECK_EQ_I(f, OUTPUT_FORMAT_EVE);
	CHECK_EQ_I(output_format_parse("ecs", &f), 0);
	CHECK_EQ_I(f, OUTPUT_FORMAT_ECS);
	CHECK_EQ_I(output_format_parse("native", &f), 0);
	CHECK_EQ_I(f, OUTPUT_FORMAT_NATIVE);
	CHECK_EQ_I(output_format_parse("EVE", &f), -EINVAL);
	CHECK_EQ_I(output_format_parse("", &f), -EINVAL);
}

int main(void)
{
	RUN(test_output_eve__time_form);
	RUN(test_output_eve__flow_id_stable);
	RUN(test_output_eve__signatures);
	RUN(test_output_eve__severity);
	RUN(test_output_eve__format_names);
	return CHECK_DONE();
}
