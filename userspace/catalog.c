/* SPDX-License-Identifier: MIT */
/*
 * catalog.c -- load cloud-mail endpoint catalogs (JSON via jansson) into
 * providers and entries, and index them for lookups: a chained hash table of
 * host patterns (util-hash.h's hash64 under the process seed, since lookups
 * take names from the wire) probed once for the exact name and once per
 * parent suffix, and a binary trie per address family for longest-prefix
 * match.  Entries
 * are never freed before catalog_free(), so the strings a lookup returns stay
 * valid; the index is rebuilt from all entries after every successful load,
 * which keeps loads all-or-nothing.
 */
#include "catalog.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "util-hash.h"

/* Read-only table: the service vocabulary; matches point at these strings. */
static const char *const catalog_services[] = {
	"web", "imap", "pop", "smtp", "api", "mx", "auth",
};

struct cat_provider {
	char *id;   /* owned */
	char *name; /* owned; the first definition's name is kept */
	size_t nentries;
};

struct cat_port {
	uint16_t port;
	const char *service; /* points into catalog_services[] */
};

struct cat_entry;

struct cat_host {
	struct cat_entry *entry; /* back pointer, not owned */
	char *pattern;           /* owned; lower case, "*.x" or "x", no trailing dot */
};

struct cat_prefix {
	struct cat_entry *entry; /* back pointer, not owned */
	struct net_addr net;     /* host bits clear */
	unsigned plen;
	char *text; /* owned; canonical "addr/len" */
};

struct cat_entry {
	struct cat_provider *provider; /* not owned: lives in catalog->providers */
	struct cat_host *hosts;        /* owned array */
	size_t nhosts;
	struct cat_prefix *prefixes; /* owned array */
	size_t nprefixes;
	struct cat_port *ports; /* owned array, sorted by port, no duplicates */
	size_t nports;
	const char *default_service; /* catalog_services[] or NULL */
	char *source;                /* owned */
	char *date;                  /* owned, may be NULL */
};

/* Index arrays are 1-based: element 0 is unused so 0 can mean "none". */
struct cat_name_node {
	const char *key; /* borrowed from a cat_host pattern, past any "*." */
	uint32_t hash;
	uint8_t wildcard;
	uint32_t next; /* bucket chain */
	uint32_t rule; /* first rule, newest entry first */
};

struct cat_host_rule {
	const struct cat_host *host;
	uint32_t next;
};

struct cat_trie_node {
	uint32_t child[2];
	uint32_t rule; /* first rule ending here, newest entry first */
};

struct cat_prefix_rule {
	const struct cat_prefix *prefix;
	uint32_t next;
};

#define CAT_TRIE_ROOT_V4 1
#define CAT_TRIE_ROOT_V6 2

struct cat_index {
	uint32_t *buckets; /* nbuckets heads into names[] */
	uint32_t nbuckets; /* power of two */
	uint64_t seed;     /* hash seed: the process seed (lookups take SNI) */
	struct cat_name_node *names;
	uint32_t nnames;
	struct cat_host_rule *host_rules;
	uint32_t nhost_rules;
	struct cat_trie_node *nodes;
	uint32_t nnodes;
	struct cat_prefix_rule *prefix_rules;
	uint32_t nprefix_rules;
	size_t prefixes_v4, prefixes_v6;
	uint8_t addr_ports[65536 / 8]; /* bitmap: ports some entry with prefixes lists */
};

struct catalog {
	struct cat_provider **providers; /* owned, creation order */
	size_t nproviders, providers_cap;
	struct cat_entry **entries; /* owned, load order */
	size_t nentries, entries_cap;
	size_t nhosts, nprefixes; /* totals over entries */
	struct cat_index *idx;    /* owned; NULL while empty */
};

/* Work in progress of one load: freed on error, spliced in on success. */
struct cat_stage {
	struct cat_provider **providers; /* new providers */
	size_t nproviders, providers_cap;
	struct cat_entry **entries;
	size_t nentries, entries_cap;
	size_t nhosts, nprefixes;
};

struct cat_load {
	struct catalog *cat;
	const char *file; /* prefix for messages */
	char *err;
	size_t errlen;
	struct cat_stage st;
};

/* ---- small helpers ---------------------------------------------------- */

static const char *service_intern(const char *name)
{
	for (size_t i = 0; i < sizeof(catalog_services) / sizeof(catalog_services[0]); i++)
		if (!strcmp(name, catalog_services[i]))
			return catalog_services[i];
	return NULL;
}

bool catalog_service_valid(const char *name)
{
	return name && service_intern(name) != NULL;
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Error text "file: path: message" (either prefix may be absent). */
__attribute__((format(printf, 3, 4))) static int load_fail(struct cat_load *ld, const char *path,
							   const char *fmt, ...)
{
	char msg[CATALOG_ERR_LEN];
	va_list ap;

	if (!ld->err || !ld->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(ld->err, ld->errlen, "%s%s%s%s%s", ld->file ? ld->file : "",
		 ld->file ? ": " : "", path ? path : "", path && *path ? ": " : "", msg);
	return -EINVAL;
}

/* snprintf for JSON paths: truncation of a pathological path is fine. */
__attribute__((format(printf, 3, 4))) static void path_printf(char *buf, size_t len,
							      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *p;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 8;
	while (ncap < need)
		ncap *= 2;
	p = reallocarray(*arr, ncap, elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static void entry_free(struct cat_entry *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->nhosts; i++)
		free(e->hosts[i].pattern);
	for (size_t i = 0; i < e->nprefixes; i++)
		free(e->prefixes[i].text);
	free(e->hosts);
	free(e->prefixes);
	free(e->ports);
	free(e->source);
	free(e->date);
	free(e);
}

static void provider_free(struct cat_provider *p)
{
	if (!p)
		return;
	free(p->id);
	free(p->name);
	free(p);
}

static void stage_release(struct cat_stage *st)
{
	for (size_t i = 0; i < st->nentries; i++)
		entry_free(st->entries[i]);
	for (size_t i = 0; i < st->nproviders; i++)
		provider_free(st->providers[i]);
	free(st->entries);
	free(st->providers);
	memset(st, 0, sizeof(*st));
}

static void index_free(struct cat_index *idx)
{
	if (!idx)
		return;
	free(idx->buckets);
	free(idx->names);
	free(idx->host_rules);
	free(idx->nodes);
	free(idx->prefix_rules);
	free(idx);
}

/* ---- validation of names, prefixes, ports ------------------------------ */

/* Lower-case and check a host pattern into out (CATALOG_NAME_MAX + 3 bytes).
 * Returns NULL on success or the reason it is not a pattern. */
static const char *pattern_normalize(const char *in, char *out)
{
	size_t len = strnlen(in, CATALOG_NAME_MAX + 4), start = 0, label = 0;

	if (len > 0 && in[len - 1] == '.')
		len--; /* one trailing dot tolerated */
	if (len == 0)
		return "empty host pattern";
	if (in[0] == '*') {
		if (len < 3 || in[1] != '.')
			return "a wildcard must be a leading \"*.\" followed by a domain";
		start = 2;
	}
	if (len - start > CATALOG_NAME_MAX)
		return "host name longer than 253 characters";
	for (size_t i = 0; i < len; i++) {
		char c = ascii_lower(in[i]);
		out[i] = c;
		if (i < start)
			continue;
		if (c == '.') {
			if (label == 0)
				return "empty label in host pattern";
			label = 0;
			continue;
		}
		if (c == '*')
			return "a wildcard must be a leading \"*.\" followed by a domain";
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return "host pattern has a character outside [A-Za-z0-9._-]";
		if (++label > CATALOG_LABEL_MAX)
			return "label longer than 63 characters";
	}
	if (label == 0)
		return "empty label in host pattern";
	out[len] = '\0';
	return NULL;
}

/* Parse a catalog prefix; returns NULL or the reason it is refused.  text
 * receives the canonical form (NET_ADDR_STRLEN + 4 bytes). */
static const char *prefix_parse(const char *s, struct net_addr *net, unsigned *plen, char *text)
{
	char addr[NET_ADDR_STRLEN + 1], buf[NET_ADDR_STRLEN];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	struct net_addr raw;

	if (net_prefix_parse(s, net, plen) < 0 || alen >= sizeof(addr))
		return "not an IPv4 or IPv6 address or prefix";
	if (*plen == 0)
		return "a /0 prefix would match every address";
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (net_addr_parse(addr, &raw) < 0)
		return "not an IPv4 or IPv6 address or prefix";
	if (memcmp(raw.b, net->b, sizeof(raw.b)) != 0)
		return "host bits set past the prefix length";
	snprintf(text, NET_ADDR_STRLEN + 4, "%s/%u", net_addr_format(net, buf, sizeof(buf)),
		 *plen);
	return NULL;
}

bool catalog_date_valid(const char *s)
{
	/* YYYY-MM-DD */
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	int mon = (s[5] - '0') * 10 + (s[6] - '0'), day = (s[8] - '0') * 10 + (s[9] - '0');
	return mon >= 1 && mon <= 12 && day >= 1 && day <= 31;
}

static bool provider_id_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > CATALOG_PROVIDER_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			  (i > 0 && (c == '-' || c == '_'));
		if (!ok)
			return false;
	}
	return true;
}

static int port_cmp(const void *a, const void *b)
{
	const struct cat_port *x = a, *y = b;
	return (int)x->port - (int)y->port;
}

/* Service of @port in @e: binary search over the sorted ports. */
static const char *entry_port_service(const struct cat_entry *e, uint16_t port)
{
	size_t lo = 0, hi = e->nports;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (e->ports[mid].port == port)
			return e->ports[mid].service;
		if (e->ports[mid].port < port)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- staging: providers and entries ------------------------------------ */

static struct cat_provider *provider_find(struct cat_provider **v, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i]->id, id))
			return v[i];
	return NULL;
}

/* Existing provider, or a new staged one.  NULL only on ENOMEM. */
static struct cat_provider *stage_provider(struct cat_load *ld, const char *id, const char *name)
{
	struct cat_stage *st = &ld->st;
	struct cat_provider *p = provider_find(ld->cat->providers, ld->cat->nproviders, id);

	if (!p)
		p = provider_find(st->providers, st->nproviders, id);
	if (p)
		return p;
	if (grow((void **)&st->providers, &st->providers_cap, st->nproviders + 1,
		 sizeof(*st->providers)) < 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->id = strdup(id);
	p->name = strdup(name ? name : id);
	if (!p->id || !p->name) {
		provider_free(p);
		return NULL;
	}
	st->providers[st->nproviders++] = p;
	return p;
}

/* Takes ownership of @e (freed on error). */
static int stage_entry(struct cat_load *ld, struct cat_entry *e)
{
	struct cat_stage *st = &ld->st;
	struct catalog *cat = ld->cat;

	if (cat->nhosts + st->nhosts + e->nhosts > CATALOG_ITEMS_MAX ||
	    cat->nprefixes + st->nprefixes + e->nprefixes > CATALOG_ITEMS_MAX) {
		entry_free(e);
		return load_fail(ld, NULL, "more than %u host patterns or prefixes",
				 CATALOG_ITEMS_MAX);
	}
	if (grow((void **)&st->entries, &st->entries_cap, st->nentries + 1,
		 sizeof(*st->entries)) < 0) {
		entry_free(e);
		return -ENOMEM;
	}
	st->entries[st->nentries++] = e;
	st->nhosts += e->nhosts;
	st->nprefixes += e->nprefixes;
	return 0;
}

/* ---- the index ---------------------------------------------------------- */

/* util-hash.h's hash64() of the name; a wildcard's suffix hashes apart
 * from the exact name. */
static uint32_t name_hash(const struct cat_index *idx, const char *s, bool wildcard)
{
	return (uint32_t)hash64_str(s, idx->seed ^ (wildcard ? 0x5bd1e995u : 0));
}

static uint32_t name_find(const struct cat_index *idx, const char *key, bool wildcard)
{
	uint32_t h = name_hash(idx, key, wildcard);
	for (uint32_t n = idx->buckets[h & (idx->nbuckets - 1)]; n; n = idx->names[n].next) {
		const struct cat_name_node *nn = &idx->names[n];
		if (nn->hash == h && nn->wildcard == wildcard && !strcmp(nn->key, key))
			return n;
	}
	return 0;
}

static void index_add_host(struct cat_index *idx, const struct cat_host *h)
{
	bool wildcard = h->pattern[0] == '*';
	const char *key = wildcard ? h->pattern + 2 : h->pattern;
	uint32_t n = name_find(idx, key, wildcard), r;

	if (!n) {
		uint32_t hash = name_hash(idx, key, wildcard), b = hash & (idx->nbuckets - 1);
		n = ++idx->nnames;
		idx->names[n] = (struct cat_name_node){
			.key = key, .hash = hash, .wildcard = wildcard, .next = idx->buckets[b],
		};
		idx->buckets[b] = n;
	}
	r = ++idx->nhost_rules;
	idx->host_rules[r] = (struct cat_host_rule){ .host = h, .next = idx->names[n].rule };
	idx->names[n].rule = r;
}

static unsigned addr_bit(const struct net_addr *a, unsigned i)
{
	return (a->b[i / 8] >> (7 - i % 8)) & 1;
}

static void index_add_prefix(struct cat_index *idx, const struct cat_prefix *p)
{
	uint32_t n = p->net.family == NET_ADDR_V6 ? CAT_TRIE_ROOT_V6 : CAT_TRIE_ROOT_V4, r;

	for (unsigned i = 0; i < p->plen; i++) {
		unsigned bit = addr_bit(&p->net, i);
		if (!idx->nodes[n].child[bit]) {
			uint32_t c = ++idx->nnodes;
			memset(&idx->nodes[c], 0, sizeof(idx->nodes[c]));
			idx->nodes[n].child[bit] = c;
		}
		n = idx->nodes[n].child[bit];
	}
	if (!idx->nodes[n].rule) {
		if (p->net.family == NET_ADDR_V6)
			idx->prefixes_v6++;
		else
			idx->prefixes_v4++;
	}
	r = ++idx->nprefix_rules;
	idx->prefix_rules[r] = (struct cat_prefix_rule){ .prefix = p, .next = idx->nodes[n].rule };
	idx->nodes[n].rule = r;
	for (size_t i = 0; i < p->entry->nports; i++) {
		uint16_t port = p->entry->ports[i].port;
		idx->addr_ports[port / 8] |= (uint8_t)(1u << (port % 8));
	}
}

/* Build an index over @a then @b (load order, so later entries take
 * precedence).  Everything is sized up front.  NULL + errno on failure. */
static struct cat_index *index_build(struct cat_entry *const *a, size_t na,
				     struct cat_entry *const *b, size_t nb)
{
	size_t nhosts = 0, nprefixes = 0, nbits = 0;
	struct cat_index *idx;

	for (size_t k = 0; k < na + nb; k++) {
		const struct cat_entry *e = k < na ? a[k] : b[k - na];
		nhosts += e->nhosts;
		nprefixes += e->nprefixes;
		for (size_t i = 0; i < e->nprefixes; i++)
			nbits += e->prefixes[i].plen;
	}
	idx = calloc(1, sizeof(*idx));
	if (!idx)
		return NULL;
	idx->seed = hash_process_seed();
	idx->nbuckets = 16;
	while (idx->nbuckets < 2 * nhosts)
		idx->nbuckets *= 2;
	idx->buckets = calloc(idx->nbuckets, sizeof(*idx->buckets));
	idx->names = calloc(nhosts + 1, sizeof(*idx->names));
	idx->host_rules = calloc(nhosts + 1, sizeof(*idx->host_rules));
	idx->nodes = calloc(nbits + 3, sizeof(*idx->nodes)); /* 0 unused + 2 roots */
	idx->prefix_rules = calloc(nprefixes + 1, sizeof(*idx->prefix_rules));
	if (!idx->buckets || !idx->names || !idx->host_rules || !idx->nodes ||
	    !idx->prefix_rules) {
		index_free(idx);
		errno = ENOMEM;
		return NULL;
	}
	idx->nnodes = 2;
	for (size_t k = 0; k < na + nb; k++) {
		const struct cat_entry *e = k < na ? a[k] : b[k - na];
		for (size_t i = 0; i < e->nhosts; i++)
			index_add_host(idx, &e->hosts[i]);
		for (size_t i = 0; i < e->nprefixes; i++)
			index_add_prefix(idx, &e->prefixes[i]);
	}
	return idx;
}

/* Rebuild the index with the staged work and splice it in; all or nothing. */
static int stage_commit(struct cat_load *ld)
{
	struct catalog *cat = ld->cat;
	struct cat_stage *st = &ld->st;
	struct cat_index *idx;

	if (grow((void **)&cat->providers, &cat->providers_cap,
		 cat->nproviders + st->nproviders, sizeof(*cat->providers)) < 0 ||
	    grow((void **)&cat->entries, &cat->entries_cap, cat->nentries + st->nentries,
		 sizeof(*cat->entries)) < 0)
		return -ENOMEM;
	idx = index_build(cat->entries, cat->nentries, st->entries, st->nentries);
	if (!idx)
		return -ENOMEM;

	/* nothing below can fail */
	for (size_t i = 0; i < st->nproviders; i++)
		cat->providers[cat->nproviders++] = st->providers[i];
	for (size_t i = 0; i < st->nentries; i++) {
		cat->entries[cat->nentries++] = st->entries[i];
		st->entries[i]->provider->nentries++;
	}
	cat->nhosts += st->nhosts;
	cat->nprefixes += st->nprefixes;
	index_free(cat->idx);
	cat->idx = idx;
	st->nproviders = st->nentries = 0;
	stage_release(st);
	return 0;
}

/* ---- JSON file parsing --------------------------------------------------- */

static bool key_allowed(const char *key, const char *const *allowed)
{
	for (; *allowed; allowed++)
		if (!strcmp(key, *allowed))
			return true;
	return false;
}

static int check_keys(struct cat_load *ld, json_t *obj, const char *path,
		      const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		if (!key_allowed(key, allowed))
			return load_fail(ld, path, "unknown key \"%s\"", key);
		if (!strcmp(key, "comment") && !json_is_string(v))
			return load_fail(ld, path, "comment: expected a string");
	}
	return 0;
}

static int parse_ports(struct cat_load *ld, json_t *jports, const char *epath,
		       struct cat_entry *e)
{
	char path[CATALOG_ERR_LEN];
	const char *key;
	json_t *v;
	size_t n = json_object_size(jports);

	path_printf(path, sizeof(path), "%s.ports", epath);
	if (!json_is_object(jports))
		return load_fail(ld, path, "expected an object mapping port to service");
	if (n > CATALOG_PORTS_MAX)
		return load_fail(ld, path, "more than %d ports", CATALOG_PORTS_MAX);
	e->ports = calloc(n ? n : 1, sizeof(*e->ports));
	if (!e->ports)
		return -ENOMEM;
	json_object_foreach(jports, key, v) {
		char *end;
		unsigned long port;
		const char *svc;

		path_printf(path, sizeof(path), "%s.ports.\"%.16s\"", epath, key);
		errno = 0;
		port = strtoul(key, &end, 10);
		if (key[0] < '1' || key[0] > '9' || *end || errno || port > 65535)
			return load_fail(ld, path, "not a port number 1..65535");
		if (!json_is_string(v))
			return load_fail(ld, path, "expected a service string");
		svc = service_intern(json_string_value(v));
		if (!svc)
			return load_fail(ld, path,
					 "unknown service \"%s\" (expected web, imap, pop, smtp, "
					 "api, mx or auth)",
					 json_string_value(v));
		e->ports[e->nports++] = (struct cat_port){ .port = (uint16_t)port, .service = svc };
	}
	/* JSON_REJECT_DUPLICATES already refused a repeated port key */
	qsort(e->ports, e->nports, sizeof(*e->ports), port_cmp);
	return 0;
}

static int parse_hosts(struct cat_load *ld, json_t *jh, const char *epath, struct cat_entry *e)
{
	char path[CATALOG_ERR_LEN], norm[CATALOG_NAME_MAX + 4];
	size_t i;
	json_t *v;

	path_printf(path, sizeof(path), "%s.hosts", epath);
	if (!json_is_array(jh))
		return load_fail(ld, path, "expected an array of host patterns");
	e->hosts = calloc(json_array_size(jh) + 1, sizeof(*e->hosts));
	if (!e->hosts)
		return -ENOMEM;
	json_array_foreach(jh, i, v) {
		const char *why;

		path_printf(path, sizeof(path), "%s.hosts[%zu]", epath, i);
		if (!json_is_string(v))
			return load_fail(ld, path, "expected a string");
		why = pattern_normalize(json_string_value(v), norm);
		if (why)
			return load_fail(ld, path, "\"%s\": %s", json_string_value(v), why);
		e->hosts[e->nhosts].entry = e;
		e->hosts[e->nhosts].pattern = strdup(norm);
		if (!e->hosts[e->nhosts].pattern)
			return -ENOMEM;
		e->nhosts++;
	}
	return 0;
}

static int add_prefix(struct cat_load *ld, const char *path, const char *s, struct cat_entry *e)
{
	char text[NET_ADDR_STRLEN + 4];
	struct cat_prefix *p = &e->prefixes[e->nprefixes];
	const char *why = prefix_parse(s, &p->net, &p->plen, text);

	if (why)
		return load_fail(ld, path, "\"%s\": %s", s, why);
	p->entry = e;
	p->text = strdup(text);
	if (!p->text)
		return -ENOMEM;
	e->nprefixes++;
	return 0;
}

static int parse_cidrs(struct cat_load *ld, json_t *jc, const char *epath, struct cat_entry *e)
{
	char path[CATALOG_ERR_LEN];
	size_t i;
	json_t *v;
	int err;

	path_printf(path, sizeof(path), "%s.cidrs", epath);
	if (!json_is_array(jc))
		return load_fail(ld, path, "expected an array of CIDR strings");
	e->prefixes = calloc(json_array_size(jc) + 1, sizeof(*e->prefixes));
	if (!e->prefixes)
		return -ENOMEM;
	json_array_foreach(jc, i, v) {
		path_printf(path, sizeof(path), "%s.cidrs[%zu]", epath, i);
		if (!json_is_string(v))
			return load_fail(ld, path, "expected a string");
		err = add_prefix(ld, path, json_string_value(v), e);
		if (err)
			return err;
	}
	return 0;
}

static int parse_string_field(struct cat_load *ld, json_t *obj, const char *path,
			      const char *key, bool required, const char **out)
{
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v) {
		if (required)
			return load_fail(ld, path, "missing \"%s\"", key);
		return 0;
	}
	if (!json_is_string(v) || !json_string_length(v))
		return load_fail(ld, path, "%s: expected a non-empty string", key);
	*out = json_string_value(v);
	return 0;
}

static int parse_entry_fields(struct cat_load *ld, json_t *je, const char *path,
			      struct cat_entry *e)
{
	static const char *const keys[] = {
		"hosts", "cidrs", "ports", "default_service", "source", "date", "comment", NULL,
	};
	const char *source, *date, *defsvc;
	json_t *v;
	int err;

	if (!json_is_object(je))
		return load_fail(ld, path, "expected an object");
	if ((err = check_keys(ld, je, path, keys)))
		return err;
	if ((v = json_object_get(je, "hosts")) && (err = parse_hosts(ld, v, path, e)))
		return err;
	if ((v = json_object_get(je, "cidrs")) && (err = parse_cidrs(ld, v, path, e)))
		return err;
	if (!(v = json_object_get(je, "ports")))
		return load_fail(ld, path, "missing \"ports\"");
	if ((err = parse_ports(ld, v, path, e)))
		return err;
	if ((err = parse_string_field(ld, je, path, "default_service", false, &defsvc)))
		return err;
	if (defsvc && !(e->default_service = service_intern(defsvc)))
		return load_fail(ld, path,
				 "default_service: unknown service \"%s\" (expected web, imap, "
				 "pop, smtp, api, mx or auth)",
				 defsvc);
	if ((err = parse_string_field(ld, je, path, "source", true, &source)))
		return err;
	if ((err = parse_string_field(ld, je, path, "date", e->nprefixes > 0, &date)))
		return err;
	if (date && !catalog_date_valid(date))
		return load_fail(ld, path, "date: \"%s\" is not YYYY-MM-DD", date);
	if (!e->nhosts && !e->nprefixes)
		return load_fail(ld, path, "needs at least one of \"hosts\" or \"cidrs\"");
	if (!e->nports && (e->nprefixes || !e->default_service))
		return load_fail(ld, path, "ports: empty, so the entry could never match");
	e->source = strdup(source);
	e->date = date ? strdup(date) : NULL;
	if (!e->source || (date && !e->date))
		return -ENOMEM;
	return 0;
}

static int parse_provider(struct cat_load *ld, json_t *jp, size_t pi)
{
	static const char *const keys[] = { "id", "name", "entries", "comment", NULL };
	char path[CATALOG_ERR_LEN], epath[CATALOG_ERR_LEN];
	const char *id, *name;
	struct cat_provider *prov;
	json_t *jents, *je;
	size_t i;
	int err;

	snprintf(path, sizeof(path), "providers[%zu]", pi);
	if (!json_is_object(jp))
		return load_fail(ld, path, "expected an object");
	if ((err = check_keys(ld, jp, path, keys)))
		return err;
	if ((err = parse_string_field(ld, jp, path, "id", true, &id)))
		return err;
	if (!provider_id_valid(id))
		return load_fail(ld, path, "id: \"%s\" is not 1..%d of [a-z0-9_-]", id,
				 CATALOG_PROVIDER_ID_MAX);
	if ((err = parse_string_field(ld, jp, path, "name", false, &name)))
		return err;
	jents = json_object_get(jp, "entries");
	if (!jents)
		return load_fail(ld, path, "missing \"entries\"");
	if (!json_is_array(jents))
		return load_fail(ld, path, "entries: expected an array");
	prov = stage_provider(ld, id, name);
	if (!prov)
		return -ENOMEM;
	json_array_foreach(jents, i, je) {
		struct cat_entry *e = calloc(1, sizeof(*e));

		if (!e)
			return -ENOMEM;
		e->provider = prov;
		path_printf(epath, sizeof(epath), "%s.entries[%zu]", path, i);
		err = parse_entry_fields(ld, je, epath, e);
		if (err) {
			entry_free(e);
			return err;
		}
		if ((err = stage_entry(ld, e)))
			return err;
	}
	return 0;
}

static int parse_root(struct cat_load *ld, json_t *root)
{
	static const char *const keys[] = { "version", "updated", "providers", "comment", NULL };
	json_t *v, *jprovs, *jp;
	const char *updated;
	size_t i;
	int err;

	if (!json_is_object(root))
		return load_fail(ld, NULL, "expected a JSON object at the top level");
	if ((err = check_keys(ld, root, "", keys)))
		return err;
	v = json_object_get(root, "version");
	if (!v)
		return load_fail(ld, NULL, "missing \"version\"");
	if (!json_is_integer(v) || json_integer_value(v) != CATALOG_VERSION)
		return load_fail(ld, "version", "unsupported catalog version (this build reads %d)",
				 CATALOG_VERSION);
	if ((err = parse_string_field(ld, root, "", "updated", false, &updated)))
		return err;
	if (updated && !catalog_date_valid(updated))
		return load_fail(ld, "updated", "\"%s\" is not YYYY-MM-DD", updated);
	jprovs = json_object_get(root, "providers");
	if (!jprovs)
		return load_fail(ld, NULL, "missing \"providers\"");
	if (!json_is_array(jprovs))
		return load_fail(ld, "providers", "expected an array");
	json_array_foreach(jprovs, i, jp) {
		/* one provider object per id in a file: a repeat is a mistake */
		json_t *jid = json_is_object(jp) ? json_object_get(jp, "id") : NULL;
		for (size_t k = 0; jid && json_is_string(jid) && k < i; k++) {
			json_t *other = json_object_get(json_array_get(jprovs, k), "id");
			if (json_is_string(other) &&
			    !strcmp(json_string_value(other), json_string_value(jid))) {
				char path[64];
				snprintf(path, sizeof(path), "providers[%zu].id", i);
				return load_fail(ld, path, "\"%s\" already defined at providers[%zu]",
						 json_string_value(jid), k);
			}
		}
		if ((err = parse_provider(ld, jp, i)))
			return err;
	}
	return 0;
}

/* ---- public API ---------------------------------------------------------- */

struct catalog *catalog_new(void)
{
	struct catalog *cat = calloc(1, sizeof(*cat));
	if (!cat)
		errno = ENOMEM;
	return cat;
}

void catalog_free(struct catalog *cat)
{
	if (!cat)
		return;
	for (size_t i = 0; i < cat->nentries; i++)
		entry_free(cat->entries[i]);
	for (size_t i = 0; i < cat->nproviders; i++)
		provider_free(cat->providers[i]);
	free(cat->entries);
	free(cat->providers);
	index_free(cat->idx);
	free(cat);
}

int catalog_load_file(struct catalog *cat, const char *path, char *err, size_t errlen)
{
	struct cat_load ld = { .cat = cat, .file = path, .err = err, .errlen = errlen };
	json_error_t jerr;
	struct stat sb;
	json_t *root;
	FILE *fp;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!cat || !path)
		return -EINVAL;
	fp = fopen(path, "re");
	if (!fp) {
		rc = -errno;
		if (err && errlen)
			snprintf(err, errlen, "cannot open %s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fileno(fp), &sb) == 0 && sb.st_size > (off_t)CATALOG_FILE_MAX) {
		fclose(fp);
		if (err && errlen)
			snprintf(err, errlen, "%s: larger than %u bytes", path, CATALOG_FILE_MAX);
		return -EFBIG;
	}
	root = json_loadf(fp, JSON_REJECT_DUPLICATES, &jerr);
	fclose(fp);
	if (!root) {
		if (err && errlen)
			snprintf(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column,
				 jerr.text);
		return -EINVAL;
	}
	rc = parse_root(&ld, root);
	json_decref(root);
	if (!rc)
		rc = stage_commit(&ld);
	if (rc == -ENOMEM && err && errlen)
		snprintf(err, errlen, "%s: out of memory", path);
	stage_release(&ld.st);
	return rc;
}

static int add_one(struct catalog *cat, const char *provider, const char *pattern,
		   const char *cidr, const char *service, const uint16_t *ports, size_t nports,
		   char *err, size_t errlen)
{
	struct cat_load ld = { .cat = cat, .file = NULL, .err = err, .errlen = errlen };
	char norm[CATALOG_NAME_MAX + 4];
	const char *svc, *why;
	struct cat_entry *e;
	int rc = -ENOMEM;

	if (err && errlen)
		err[0] = '\0';
	if (!cat || !provider || !service || (!ports && nports))
		return -EINVAL;
	if (!provider_id_valid(provider))
		return load_fail(&ld, "provider", "\"%s\" is not 1..%d of [a-z0-9_-]", provider,
				 CATALOG_PROVIDER_ID_MAX);
	if (!(svc = service_intern(service)))
		return load_fail(&ld, "service",
				 "unknown service \"%s\" (expected web, imap, pop, smtp, api, "
				 "mx or auth)",
				 service);
	if (nports == 0 || nports > CATALOG_PORTS_MAX)
		return load_fail(&ld, "ports", "need 1..%d ports", CATALOG_PORTS_MAX);
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->ports = calloc(nports, sizeof(*e->ports));
	e->source = strdup("config");
	if (!e->ports || !e->source)
		goto out_free_entry;
	for (size_t i = 0; i < nports; i++) {
		if (ports[i] == 0 || entry_port_service(e, ports[i])) {
			rc = load_fail(&ld, "ports", "port %u is 0 or repeated", ports[i]);
			goto out_free_entry;
		}
		e->ports[e->nports++] = (struct cat_port){ .port = ports[i], .service = svc };
		qsort(e->ports, e->nports, sizeof(*e->ports), port_cmp);
	}
	if (pattern) {
		if ((why = pattern_normalize(pattern, norm))) {
			rc = load_fail(&ld, "host", "\"%s\": %s", pattern, why);
			goto out_free_entry;
		}
		e->hosts = calloc(1, sizeof(*e->hosts));
		if (!e->hosts || !(e->hosts[0].pattern = strdup(norm)))
			goto out_free_entry;
		e->hosts[0].entry = e;
		e->nhosts = 1;
	} else {
		e->prefixes = calloc(1, sizeof(*e->prefixes));
		if (!e->prefixes)
			goto out_free_entry;
		if ((rc = add_prefix(&ld, "network", cidr ? cidr : "", e)))
			goto out_free_entry;
	}
	e->provider = stage_provider(&ld, provider, NULL);
	if (!e->provider) {
		rc = -ENOMEM;
		goto out_free_entry;
	}
	rc = stage_entry(&ld, e); /* takes e */
	if (!rc)
		rc = stage_commit(&ld);
	stage_release(&ld.st);
	return rc;

out_free_entry:
	entry_free(e);
	stage_release(&ld.st);
	return rc;
}

int catalog_add_host(struct catalog *cat, const char *provider, const char *pattern,
		     const char *service, const uint16_t *ports, size_t nports, char *err,
		     size_t errlen)
{
	if (!pattern)
		return -EINVAL;
	return add_one(cat, provider, pattern, NULL, service, ports, nports, err, errlen);
}

int catalog_add_network(struct catalog *cat, const char *provider, const char *cidr,
			const char *service, const uint16_t *ports, size_t nports, char *err,
			size_t errlen)
{
	if (!cidr)
		return -EINVAL;
	return add_one(cat, provider, NULL, cidr, service, ports, nports, err, errlen);
}

static void fill_match(struct catalog_match *out, const struct cat_entry *e, const char *svc,
		       const char *pattern)
{
	out->provider = e->provider->id;
	out->provider_name = e->provider->name;
	out->service = svc;
	out->pattern = pattern;
	out->source = e->source;
}

/* Try the rules of one name node; true when one fits @port. */
static bool name_rules_match(const struct cat_index *idx, uint32_t n, uint16_t port,
			     struct catalog_match *out)
{
	const struct cat_host_rule *r;

	/* first pass: an entry that lists the port */
	for (uint32_t k = idx->names[n].rule; k; k = r->next) {
		const struct cat_entry *e;
		const char *svc;

		r = &idx->host_rules[k];
		e = r->host->entry;
		svc = port == CATALOG_PORT_ANY ? e->default_service : entry_port_service(e, port);
		if (svc || port == CATALOG_PORT_ANY) {
			fill_match(out, e, svc, r->host->pattern);
			return true;
		}
	}
	/* second pass: an entry with a default service */
	for (uint32_t k = idx->names[n].rule; k; k = r->next) {
		r = &idx->host_rules[k];
		if (r->host->entry->default_service) {
			fill_match(out, r->host->entry, r->host->entry->default_service,
				   r->host->pattern);
			return true;
		}
	}
	return false;
}

bool catalog_lookup_name(const struct catalog *cat, const char *host, uint16_t port,
			 struct catalog_match *out)
{
	char name[CATALOG_NAME_MAX + 2];
	const struct cat_index *idx;
	size_t len;
	uint32_t n;

	if (!cat || !cat->idx || !host || !out || !cat->idx->nnames)
		return false;
	idx = cat->idx;
	len = strnlen(host, CATALOG_NAME_MAX + 2);
	if (len > 0 && host[len - 1] == '.')
		len--;
	if (len == 0 || len > CATALOG_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		name[i] = ascii_lower(host[i]);
	name[len] = '\0';

	if ((n = name_find(idx, name, false)) && name_rules_match(idx, n, port, out))
		return true;
	/* "*.<parent>" for each parent suffix, longest first */
	for (const char *p = strchr(name, '.'); p && p[1]; p = strchr(p + 1, '.')) {
		if ((n = name_find(idx, p + 1, true)) && name_rules_match(idx, n, port, out))
			return true;
	}
	return false;
}

bool catalog_lookup_addr(const struct catalog *cat, const struct net_addr *addr, uint16_t port,
			 struct catalog_match *out)
{
	uint32_t path[129], npath = 0, n;
	const struct cat_index *idx;
	unsigned maxbits;

	if (!cat || !cat->idx || !addr || !out || port == 0)
		return false;
	idx = cat->idx;
	if (!(idx->addr_ports[port / 8] & (1u << (port % 8))))
		return false; /* no entry with prefixes lists this port */
	if (addr->family == NET_ADDR_V4) {
		n = CAT_TRIE_ROOT_V4;
		maxbits = 32;
	} else if (addr->family == NET_ADDR_V6) {
		n = CAT_TRIE_ROOT_V6;
		maxbits = 128;
	} else {
		return false;
	}
	for (unsigned i = 0;; i++) {
		if (idx->nodes[n].rule)
			path[npath++] = n;
		if (i == maxbits)
			break;
		n = idx->nodes[n].child[addr_bit(addr, i)];
		if (!n)
			break;
	}
	while (npath--) {
		const struct cat_prefix_rule *r;
		for (uint32_t k = idx->nodes[path[npath]].rule; k; k = r->next) {
			const char *svc;
			r = &idx->prefix_rules[k];
			svc = entry_port_service(r->prefix->entry, port);
			if (svc) {
				fill_match(out, r->prefix->entry, svc, r->prefix->text);
				return true;
			}
		}
	}
	return false;
}

void catalog_get_stats(const struct catalog *cat, struct catalog_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!cat)
		return;
	out->providers = cat->nproviders;
	out->entries = cat->nentries;
	if (cat->idx) {
		out->names = cat->idx->nnames;
		out->prefixes_v4 = cat->idx->prefixes_v4;
		out->prefixes_v6 = cat->idx->prefixes_v6;
	}
}

/* Pre-order walk; depth is bounded by 128 so recursion is fine. */
static int trie_walk(const struct cat_index *idx, uint32_t n, struct net_addr *a,
		     unsigned depth, catalog_prefix_cb *fn, void *arg)
{
	int rc;

	if (idx->nodes[n].rule && (rc = fn(a, depth, arg)))
		return rc;
	for (unsigned bit = 0; bit < 2; bit++) {
		uint32_t c = idx->nodes[n].child[bit];
		if (!c)
			continue;
		if (bit)
			a->b[depth / 8] |= (uint8_t)(0x80u >> (depth % 8));
		rc = trie_walk(idx, c, a, depth + 1, fn, arg);
		a->b[depth / 8] &= (uint8_t)~(0x80u >> (depth % 8));
		if (rc)
			return rc;
	}
	return 0;
}

int catalog_foreach_prefix(const struct catalog *cat, catalog_prefix_cb *fn, void *arg)
{
	struct net_addr a;
	int rc;

	if (!cat || !fn)
		return -EINVAL;
	if (!cat->idx)
		return 0;
	memset(&a, 0, sizeof(a));
	a.family = NET_ADDR_V4;
	if ((rc = trie_walk(cat->idx, CAT_TRIE_ROOT_V4, &a, 0, fn, arg)))
		return rc;
	memset(&a, 0, sizeof(a));
	a.family = NET_ADDR_V6;
	return trie_walk(cat->idx, CAT_TRIE_ROOT_V6, &a, 0, fn, arg);
}

int catalog_foreach_addr_port(const struct catalog *cat, catalog_port_cb *fn, void *arg)
{
	int rc;

	if (!cat || !fn)
		return -EINVAL;
	if (!cat->idx)
		return 0;
	for (unsigned port = 1; port < 65536; port++)
		if ((cat->idx->addr_ports[port / 8] & (1u << (port % 8))) &&
		    (rc = fn((uint16_t)port, arg)))
			return rc;
	return 0;
}
