#!/bin/bash
# seed-corpus.sh OUTDIR [--small] -- seed corpora for the fuzz harnesses from
# the captures in pcaps/ and $SHARED/pcaps/ (default ../shared), plus the
# hostile capture files of tests/hostile/ as pcap seeds.
#
#   tests/fuzz/seed-corpus.sh build-fuzz/corpus            everything (not committed)
#   tests/fuzz/seed-corpus.sh tests/fuzz/corpus --small    the committed seeds
set -eu
cd "$(dirname "$0")/../.."
out=${1:?usage: seed-corpus.sh OUTDIR [--small]}
shift
SHARED=${SHARED:-../shared}
mkdir -p "$out"
shopt -s nullglob
pcaps=(pcaps/*.pcap pcaps/*.pcapng "$SHARED"/pcaps/*/*.pcap "$SHARED"/pcaps/*/*.pcapng)
/usr/bin/python3 tests/fuzz/seed_corpus.py "$@" "$out" "${pcaps[@]}"
if [ -d tests/hostile/files ]; then
	mkdir -p "$out/pcap"
	for f in tests/hostile/files/*; do
		cp "$f" "$out/pcap/hostile-$(basename "$f")"
	done
fi
