#!/bin/bash
# dns-check.sh -- DNS answers, mailtap's parser (tests/tools/dns-dump.c over
# libmailtap.a) vs tshark, on every capture in pcaps/ and ../shared/pcaps.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
SHARED=${SHARED:-../shared}
shopt -s nullglob
files=(pcaps/*.pcap pcaps/*.pcapng "$SHARED"/pcaps/*/*.pcap "$SHARED"/pcaps/*/*.pcapng)
if [ ${#files[@]} -eq 0 ]; then
	echo "no captures found"
	echo "#summary 0 1"
	exit 1
fi
mkdir -p "$BUILD/tests"
# shellcheck disable=SC2046
# SANFLAGS: the sanitizer flags of a `make SAN=1` build ($BUILD was built with them)
if ! ${CC:-cc} ${SANFLAGS:-} -std=gnu11 -O2 -Iuserspace tests/tools/dns-dump.c "$BUILD/libmailtap.a" \
	$(pkg-config --libs libpcap jansson libcrypto hiredis libbpf zlib yaml-0.1 libmicrohttpd libsystemd) \
	-lm -pthread -o "$BUILD/tests/dns-dump"; then
	echo "FAIL building $BUILD/tests/dns-dump"
	echo "#summary 0 1"
	exit 1
fi
exec /usr/bin/python3 tests/golden/dns_check.py "$BUILD/tests/dns-dump" "${files[@]}"
