#!/bin/bash
# tunnel/run-tier.sh -- the same mail TLS session through every tunnel type
# gives the same inner session record; shuffled and corrupt-timestamp
# captures give the sessions of their time-sorted twin.  Captures are
# generated (tests/tunnel/gen_tunnel.py, python3-scapy) into a temp dir.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! /usr/bin/python3 tests/tunnel/gen_tunnel.py "$tmp" 2>"$tmp/gen.err"; then
	echo "FAIL generating captures"; cat "$tmp/gen.err"
	echo "#summary 0 1"
	exit 1
fi
exec /usr/bin/python3 tests/tunnel/check_tunnel.py "$BUILD/mailtap" "$tmp"
