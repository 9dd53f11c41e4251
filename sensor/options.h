/* SPDX-License-Identifier: MIT */
/*
 * options.h -- everything mailtap can be told, from the command line and
 * from the configuration file (YAML), in one struct.  Both read through
 * one table of option descriptors (options.c), so a key and its flag take
 * the same values and fail with the same words; flags override the file.
 */
#ifndef MAILTAP_OPTIONS_H
#define MAILTAP_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "aggregator.h"
#include "score.h"

#define OPT_LIST_MAX 64

/* A list of strings (owned: options_release frees them). */
struct opt_list {
	char *v[OPT_LIST_MAX];
	int n;
};

struct sensor_options {
	const char *config_path;       /* --config / --check-config, or NULL */
	bool check_only;               /* --check-config: validate, print, exit */
	bool help, help_all, version, quiet;
	char log_level[16];            /* error, warning, notice, info, debug */
	char explain[64];              /* --explain HOST, or "" */
	/* capture */
	struct opt_list read;          /* -r files */
	struct opt_list interfaces;    /* -i interfaces (live) */
	char capture_mode[16];         /* "ebpf-tc", "ebpf-xdp", "pcap" */
	uint32_t pcap_buffer_mb;       /* live libpcap kernel buffer */
	uint32_t snaplen;              /* live libpcap snapshot length */
	double replay_speed;           /* pace -r replays at N x capture speed; 0 = flat out */
	/* identification */
	struct opt_list catalogs;
	bool all_flows;
	uint32_t community_id_seed;
	/* outputs */
	struct opt_list sessions, alerts;
	char output_format[16];        /* "native", "eve", "ecs" (docs/formats.md) */
	char spool_dir[256];
	char redis_password[512];      /* secret: never printed; wiped by options_release */
	char sensor_id[64];
	char user[64];                 /* drop to this user after start-up ("" = stay) */
	uint32_t heartbeat_s;
	/* scoring */
	char state_path[256];
	uint32_t state_save_s;         /* packet time between state saves */
	/* metrics */
	char metrics_listen[64];       /* "127.0.0.1:9187", "" = off */
	/* module configurations */
	struct agg_config agg;
	struct decode_config decap;    /* decap.*: which tunnels are opened */
	struct opt_list decap_vxlan_ports, decap_geneve_ports; /* as given */
	struct score_config score;
	uint32_t seed;
	/* internal networks / allowlist as written (applied to .score) */
	struct opt_list internal, allow;
};

/* Defaults everywhere (no allocation). */
void options_defaults(struct sensor_options *o);

/* Free the lists' strings. */
void options_release(struct sensor_options *o);

/*
 * Build the effective options: defaults, then the configuration file named
 * by --config/--check-config if any, then every command-line flag on top.
 * Returns 0, or -EINVAL after printing one clear message per problem
 * (file:line: key: what is allowed, or --flag: what is allowed).
 */
int options_load(struct sensor_options *o, int argc, char **argv);

/*
 * SIGHUP: the keys whose value differs between @old and @new and that a
 * reload cannot apply (capture.*, outputs.* but all_flows, flows.*,
 * identify.*, metrics.*, table sizes, ...), comma-separated into @buf.
 * Returns how many.
 */
int options_restart_keys(const struct sensor_options *old, const struct sensor_options *new,
			 char *buf, size_t len);

/* Print the effective configuration as YAML, secrets masked. */
void options_print(const struct sensor_options *o, FILE *fp);

/*
 * The catalog used when none is given: $MAILTAP_CATALOG, deploy/catalog.json
 * of the checkout the binary was built in, or the installed one
 * (PREFIX/share/mailtap/catalog.json).  Returns @buf or the environment's
 * string (borrowed).
 */
const char *options_default_catalog(char *buf, size_t len);

/* --help text: the common options, or every one (--help-all). */
void options_usage(FILE *fp, bool all);

#endif
