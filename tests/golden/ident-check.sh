#!/bin/bash
# ident-check.sh -- SNI and JA3 of every ClientHello, mailtap vs tshark, on
# every capture in pcaps/ and ../shared/pcaps.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SHARED=${SHARED:-../shared}
shopt -s nullglob
files=(pcaps/*.pcap pcaps/*.pcapng "$SHARED"/pcaps/*/*.pcap "$SHARED"/pcaps/*/*.pcapng)
exec /usr/bin/python3 tests/golden/ident_check.py "$BUILD/mailtap" "${files[@]}"
