/* SPDX-License-Identifier: MIT */
/* driver-live.c -- what main.c does for -i, for testing capture_live_run()
 * before (or apart from) the real main: options, sensor, live capture,
 * finish.  Built by tests/live/run-tier.sh only when build/mailtap does not
 * take -i yet. */
#include <errno.h>
#include <stdio.h>

#include "capture-live.h"
#include "options.h"
#include "sensor.h"

int main(int argc, char **argv)
{
	struct sensor_options o;
	struct sensor *s;
	int rc, exit_code = 0;

	options_defaults(&o);
	if (options_load(&o, argc, argv) < 0)
		return 2;
	s = sensor_new(&o, &exit_code);
	if (!s) {
		options_release(&o);
		return exit_code;
	}
	sensor_set_reload_args(s, argc, argv);
	sensor_signals();
	rc = capture_live_run(s, &o);
	if (rc < 0)
		exit_code = 1;
	exit_code = sensor_finish(s, exit_code, true);
	options_release(&o);
	return exit_code;
}
