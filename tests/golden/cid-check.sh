#!/bin/bash
# cid-check.sh -- Community ID of every TCP/UDP session mailtap writes vs the
# baselines published with the Community ID spec (seed 0, seed 1, no-base64)
# and Zeek's logs, on ../shared/pcaps/community-id-spec.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
SHARED=${SHARED:-../shared}
dir="$SHARED/pcaps/community-id-spec"
if [ ! -d "$dir" ]; then
	echo "FAIL no $dir"
	echo "#summary 0 1"
	exit 1
fi
exec /usr/bin/python3 tests/golden/cid_check.py "$BUILD/mailtap" "$dir"
