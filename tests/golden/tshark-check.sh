#!/bin/bash
# tshark-check.sh -- cross-check mailtap's per-flow packet and byte counts
# with tshark on every capture in pcaps/ and ../shared/pcaps.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SHARED=${SHARED:-../shared}
shopt -s nullglob
files=(pcaps/*.pcap pcaps/*.pcapng "$SHARED"/pcaps/*/*.pcap "$SHARED"/pcaps/*/*.pcapng)
if [ ${#files[@]} -eq 0 ]; then
	echo "no captures found"
	echo "#summary 0 1"
	exit 1
fi
exec /usr/bin/python3 tests/golden/tshark_check.py "$BUILD/mailtap" "${files[@]}"
