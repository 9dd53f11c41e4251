#!/bin/sh
# install-deps.sh -- install the Debian 12 packages mailtap builds and tests
# with, if any is missing.  Quiet and quick when everything is present;
# idempotent.  Needs root (or sudo) only when something must be installed.
set -eu

PKGS="build-essential pkg-config clang llvm libclang-rt-14-dev
libpcap-dev libbpf-dev bpftool libhiredis-dev libxxhash-dev libjansson-dev libssl-dev zlib1g-dev libyaml-dev libmicrohttpd-dev libsystemd-dev libcap-dev
redis-server tshark tcpdump python3 python3-scapy python3-cryptography python3-jsonschema iproute2 openssl curl chromium fonts-dejavu-core
systemd groff-base"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "mailtap: installing missing packages:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
		echo "mailtap: need root to install:$missing" >&2; exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer once, quietly.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "mailtap: packages installed"
