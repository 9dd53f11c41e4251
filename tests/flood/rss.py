#!/usr/bin/python3
"""rss.py OUTFILE CMD [ARG...] -- run CMD, write its peak resident set size
in KiB (getrusage RUSAGE_CHILDREN ru_maxrss: the same number as
/usr/bin/time -v "Maximum resident set size") and wall seconds to OUTFILE
as "KB SECONDS", and exit with CMD's status."""
import resource
import subprocess
import sys
import time

t = time.monotonic()
rc = subprocess.call(sys.argv[2:])
dt = time.monotonic() - t
with open(sys.argv[1], "w") as f:
    f.write("%d %.3f\n" % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, dt))
sys.exit(rc if rc >= 0 else 128 - rc)
