/* SPDX-License-Identifier: MIT */
/*
 * catalog.h -- the cloud-mail endpoint catalog: which host names and address
 * prefixes belong to which mail provider, and which service (web, imap, pop,
 * smtp, api, mx, auth) each port of them carries.  Loaded from JSON files
 * (deploy/catalog.json, then any user files; format in docs/catalog.md) and
 * from config calls; answers name and address lookups without scanning the
 * catalog (a hash table of names looked up label by label, and one binary
 * prefix trie per address family).
 *
 * A catalog is built single-threaded; once loaded, lookups through a const
 * pointer are read-only and may run from several threads at once.
 */
#ifndef MAILTAP_CATALOG_H
#define MAILTAP_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net-addr.h"

#define CATALOG_VERSION 1            /* the only "version" this build reads */
#define CATALOG_NAME_MAX 253         /* host name without trailing dot, RFC 1035 2.3.4 */
#define CATALOG_LABEL_MAX 63         /* one label, RFC 1035 2.3.4 */
#define CATALOG_PROVIDER_ID_MAX 32   /* [a-z0-9][a-z0-9_-]* */
#define CATALOG_PORTS_MAX 64         /* ports listed by one entry */
#define CATALOG_ITEMS_MAX (1u << 20) /* host patterns, and prefixes, in one catalog */
#define CATALOG_FILE_MAX (16u << 20) /* bytes of one catalog file */
#define CATALOG_ERR_LEN 256          /* a good size for the err buffers below */
#define CATALOG_PORT_ANY 0           /* catalog_lookup_name(): port not known */

/* What a lookup found.  Every string is borrowed from the catalog and stays
 * valid until catalog_free(), even across later loads. */
struct catalog_match {
	const char *provider;      /* provider id, e.g. "microsoft365" */
	const char *provider_name; /* display name, e.g. "Microsoft 365 / Exchange Online" */
	const char *service;       /* "web", "imap", "pop", "smtp", "api", "mx" or "auth";
				    * NULL only for a CATALOG_PORT_ANY name lookup that hit
				    * an entry without default_service */
	const char *pattern;       /* host pattern ("*.protection.outlook.com") or
				    * canonical prefix ("40.96.0.0/13") that matched */
	const char *source;        /* where the entry's data was published */
};

/* Sizes, for the startup log line. */
struct catalog_stats {
	size_t providers;
	size_t entries;
	size_t names;       /* distinct host patterns */
	size_t prefixes_v4; /* distinct IPv4 prefixes */
	size_t prefixes_v6; /* distinct IPv6 prefixes */
};

struct catalog;

/* Returns an empty catalog; caller frees with catalog_free().  NULL + errno
 * (ENOMEM) on failure. */
struct catalog *catalog_new(void);

/* Frees the catalog and every string a catalog_match pointed to.  NULL is a
 * no-op. */
void catalog_free(struct catalog *cat);

/*
 * Add the providers and entries of one JSON catalog file.  May be called
 * several times: a provider id already loaded gets the new entries added to
 * it, and for the same pattern and port the later file wins.  All or
 * nothing: on error the catalog is unchanged.
 *
 * Returns 0, -EINVAL (malformed file; err says where: "path:line:col: ..."
 * for JSON syntax, "path: providers[3].entries[0].hosts[1]: ..." for a bad
 * field), -EFBIG (over CATALOG_FILE_MAX), -ENOMEM, or the -errno of opening
 * the file.  err (errlen bytes, CATALOG_ERR_LEN is plenty) may be NULL.
 */
int catalog_load_file(struct catalog *cat, const char *path, char *err, size_t errlen);

/*
 * Config-added endpoints: a host pattern ("mail.example.org",
 * "*.mail.example.org") or a network ("192.0.2.0/24", "2001:db8::/48", a bare
 * address), carrying @service on each of @ports (nports >= 1).  The provider
 * is created (display name = id) if not loaded yet.  Strings are copied.
 * Same validation and error shapes as catalog_load_file(); source is "config".
 */
int catalog_add_host(struct catalog *cat, const char *provider, const char *pattern,
		     const char *service, const uint16_t *ports, size_t nports, char *err,
		     size_t errlen);
int catalog_add_network(struct catalog *cat, const char *provider, const char *cidr,
			const char *service, const uint16_t *ports, size_t nports, char *err,
			size_t errlen);

/*
 * Classify a host name (SNI, HTTP Host, DNS answer owner).  Case-insensitive,
 * one trailing dot tolerated.  Candidates go from most to least specific: the
 * exact name, then "*.<parent>" for each parent from longest to shortest
 * ("*.x" matches names below x, never x itself).  The first candidate whose
 * entry lists @port wins (or, failing that, has a default_service); with
 * port CATALOG_PORT_ANY the first candidate wins whatever its ports.
 * Returns false when nothing matched (out untouched).
 */
bool catalog_lookup_name(const struct catalog *cat, const char *host, uint16_t port,
			 struct catalog_match *out);

/*
 * Classify a server address.  Longest prefix first, falling back to shorter
 * covering prefixes; a prefix matches only when its entry lists @port (an
 * address alone, or a port alone, never makes a mail session; default_service
 * does not apply here).  Returns false when nothing matched (out untouched).
 */
bool catalog_lookup_addr(const struct catalog *cat, const struct net_addr *addr, uint16_t port,
			 struct catalog_match *out);

void catalog_get_stats(const struct catalog *cat, struct catalog_stats *out);

/* True when @name is one of the service words ("web", "imap", ...). */
bool catalog_service_valid(const char *name);

/* True for a "YYYY-MM-DD" date as the catalog's "date" fields carry. */
bool catalog_date_valid(const char *s);

/*
 * Call @fn once per distinct prefix, IPv4 first, each family in address
 * order, shorter prefix before the longer ones inside it.  @net is borrowed
 * for the call.  A non-zero return from @fn stops the walk and is returned;
 * otherwise 0.  For building the BPF LPM map and the pcap filter.
 */
typedef int catalog_prefix_cb(const struct net_addr *net, unsigned prefix_len, void *arg);
int catalog_foreach_prefix(const struct catalog *cat, catalog_prefix_cb *fn, void *arg);

/* Call @fn once per port, ascending, that some entry with prefixes lists
 * (the ports an address match can happen on).  Same return rule as above. */
typedef int catalog_port_cb(uint16_t port, void *arg);
int catalog_foreach_addr_port(const struct catalog *cat, catalog_port_cb *fn, void *arg);

#endif
