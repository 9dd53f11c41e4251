/* SPDX-License-Identifier: MIT */
/*
 * main.c -- the mailtap program: options, the sensor, and the capture
 * front-end they ask for (pcap files, or live capture on interfaces).
 *
 * Exit codes: 0 success; 1 an input could not be read (in full); 2 usage
 * or configuration error; 3 an output could not be written.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "capture-pcap.h"
#include "capture-live.h"
#include "options.h"
#include "sensor.h"
#include "util-log.h"

#ifndef MAILTAP_VERSION
#define MAILTAP_VERSION "0.1.0"
#endif

#define EXIT_INPUT 1
#define EXIT_USAGE 2

struct replay {
	struct sensor *s;
	double speed;            /* 0 = as fast as possible */
	uint64_t first_ts_ns;    /* packet time of the first frame */
	uint64_t start_mono_ns;  /* when it was replayed */
	const struct capture_file_stats *cs;
	bool progress;           /* stderr is a terminal: show a progress line */
	uint64_t progress_mono_ns, progress_frames, progress_bytes, frames, bytes;
	uint64_t t0_mono_ns;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --replay-speed: wait until the frame is due, ticking the sensor (stats,
 * reload, heartbeats, metrics) while waiting. */
static void pace(struct replay *r, uint64_t ts_ns)
{
	uint64_t due, now;

	if (!r->first_ts_ns) {
		r->first_ts_ns = ts_ns;
		r->start_mono_ns = mono_ns();
		return;
	}
	if (ts_ns <= r->first_ts_ns)
		return;
	due = r->start_mono_ns + (uint64_t)((double)(ts_ns - r->first_ts_ns) / r->speed);
	while ((now = mono_ns()) < due && !sensor_should_stop(r->s)) {
		uint64_t left = due - now;
		struct timespec ts = { 0, (long)(left < 100000000ull ? left : 100000000ull) };
		nanosleep(&ts, NULL);
		sensor_tick(r->s);
	}
}

/* One line, rewritten in place twice a second: file, percent, rates,
 * alerts so far. */
static void progress(struct replay *r, bool last)
{
	uint64_t now = mono_ns();
	double dt = (double)(now - r->progress_mono_ns) / 1e9;
	const struct capture_file_stats *cs = r->cs;
	const char *name, *slash;
	char pct[16] = "";

	if (!last && dt < 0.5)
		return;
	if (!cs->cur_path)
		return;
	slash = strrchr(cs->cur_path, '/');
	name = slash ? slash + 1 : cs->cur_path;
	if (cs->cur_size)
		snprintf(pct, sizeof(pct), "%3.0f%%", 100.0 * (double)cs->cur_pos / (double)cs->cur_size);
	if (last)
		dt = (double)(now - r->t0_mono_ns) / 1e9;
	fprintf(stderr, "\r\033[K[%d/%d] %s %s  %.2f Mpkt/s  %.0f MB/s  alerts %llu%s",
		cs->cur_index + 1, cs->nfiles, name, pct,
		dt > 0 ? (double)(last ? r->frames : r->frames - r->progress_frames) / dt / 1e6 : 0,
		dt > 0 ? (double)(last ? r->bytes : r->bytes - r->progress_bytes) / dt / 1e6 : 0,
		(unsigned long long)sensor_alert_count(r->s), last ? "\n" : "");
	r->progress_mono_ns = now;
	r->progress_frames = r->frames;
	r->progress_bytes = r->bytes;
}

static void on_frame(void *arg, int linktype, const uint8_t *frame, size_t caplen,
		     size_t wirelen, uint64_t ts_ns)
{
	struct replay *r = arg;
	if (r->speed > 0)
		pace(r, ts_ns);
	sensor_frame(r->s, linktype, frame, caplen, wirelen, ts_ns);
	r->frames++;
	r->bytes += wirelen;
	if (r->progress && (r->frames & 8191) == 0)
		progress(r, false);
}

static int should_stop(void *arg)
{
	struct replay *r = arg;
	return sensor_should_stop(r->s);
}

int main(int argc, char **argv)
{
	struct sensor_options o;
	struct capture_file_stats cs = { 0 };
	struct sensor *s;
	struct replay r = { 0 };
	struct capture_files *files = NULL;
	int rc, exit_code;

	options_defaults(&o);
	if (options_load(&o, argc, argv) < 0) {
		options_release(&o);
		return EXIT_USAGE;
	}
	if (o.help) {
		options_usage(stdout, o.help_all);
		options_release(&o);
		return 0;
	}
	if (o.version) {
		printf("mailtap %s\n", MAILTAP_VERSION);
		options_release(&o);
		return 0;
	}
	if (o.check_only) {
		if (sensor_check_catalogs(&o) < 0) {
			options_release(&o);
			return EXIT_USAGE;
		}
		options_print(&o, stdout);
		options_release(&o);
		return 0;
	}
	if (!o.read.n && !o.interfaces.n) {
		log_err("nothing to read: give -r FILE or -i IFACE");
		fprintf(stderr, "Try 'mailtap --help' for more information.\n");
		options_release(&o);
		return EXIT_USAGE;
	}
	if (o.read.n && o.interfaces.n) {
		log_err("-r and -i do not mix: replay files or capture live");
		options_release(&o);
		return EXIT_USAGE;
	}
	/* inputs first: a capture file that cannot be read leaves no empty
	 * output files behind */
	if (o.read.n && !(files = capture_files_open(o.read.v, o.read.n, &rc))) {
		options_release(&o);
		return EXIT_INPUT;
	}
	if (!o.sessions.n && !o.alerts.n && !o.explain[0])
		log_notice("no --sessions or --alerts: %s",
			   o.quiet ? "nothing will be written" : "only the summary will be printed");
	s = sensor_new(&o, &exit_code);
	if (!s) {
		capture_files_close(files);
		options_release(&o);
		return exit_code;
	}
	sensor_set_reload_args(s, argc, argv);
	sensor_signals();
	if (o.interfaces.n) {
		/* live: runs until SIGINT/SIGTERM or an output failure; it says
		 * ready to systemd itself once the capture is attached */
		rc = capture_live_run(s, &o);
		if (rc < 0)
			exit_code = EXIT_INPUT;
		exit_code = sensor_finish(s, exit_code, rc == 0);
		options_release(&o);
		return exit_code;
	}
	{
		struct sensor_capture_stats cst = { .mode = "pcap-file" };
		sensor_set_capture_stats(s, &cst);
	}
	sensor_ready(s);
	r.s = s;
	r.speed = o.replay_speed;
	r.cs = &cs;
	r.progress = !o.quiet && isatty(STDERR_FILENO);
	r.t0_mono_ns = r.progress_mono_ns = mono_ns();
	rc = capture_files_replay(files, on_frame, should_stop, &r, &cs);
	capture_files_close(files);
	if (r.progress && r.frames)
		progress(&r, true);
	if (rc < 0)
		exit_code = EXIT_INPUT;
	exit_code = sensor_finish(s, exit_code, true);
	options_release(&o);
	return exit_code;
}
