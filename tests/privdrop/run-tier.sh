#!/bin/bash
# tests/privdrop/run-tier.sh -- the privilege-drop tier (root, ~20 s):
# privdrop_apply() through tests/privdrop/driver.c (uid, gid, groups and
# the capability sets read back from /proc/self/status), the eBPF loader
# after the drop through tests/privdrop/driver-bpf.c (maps, ring, flow
# map and detach work with what PRIVDROP_NEED_BPF keeps; detach fails
# without CAP_NET_ADMIN), and build/mailtap --user in replay and live
# ebpf-tc mode once main.c/sensor.c call privdrop_apply() (skipped before).
# Prints "ok NAME" / "FAIL NAME: why" / "skip NAME: why" and ends with
# "#summary PASSED FAILED".
#
# Network: one namespace pair this script creates and removes (EXIT trap):
# client C 198.18.0.1 --veth-- server S 198.18.0.2 (python3 http.server on
# port 443, plain HTTP); a few bounded curl downloads of 20,000 bytes.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
pass=0
fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
skip() { echo "skip $1: $2"; }
finish() { echo "#summary $pass $fail"; exit 0; }

if [ "$(id -u)" != 0 ]; then
	echo "# privdrop tier needs root: skipped"
	finish
fi
for tool in setpriv ip tc curl python3 pkg-config; do
	command -v "$tool" >/dev/null 2>&1 || { bad tools "$tool not installed"; finish; }
done
if ! pkg-config --exists libcap; then
	bad libcap "libcap-dev not installed (apt-get install libcap-dev)"
	finish
fi
if ! out=$(make --no-print-directory -s BUILD="$BUILD" "$BUILD/mailtap" 2>&1); then
	bad build "$(printf '%s' "$out" | tail -5 | tr '\n' ' ')"
	finish
fi

TMP=$(mktemp -d /tmp/mailtap-privdrop.XXXXXX)
chmod 0755 "$TMP" # the dropped processes write below it
TAG=mtp$$
NSC=${TAG}c
NSS=${TAG}s
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$NSC" 2>/dev/null
	ip netns del "$NSS" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- build the drivers (libcap on the link line, as the Makefile will) ---
pk=$(sed -n 's/^PKGS *:= *//p' Makefile)
CF="-std=gnu11 -O2 -g -Wall -Wextra -D_GNU_SOURCE -DMAILTAP_LIBCAP -Iuserspace -Isensor -Ibpf -I$BUILD/bpf"
# shellcheck disable=SC2086
if ! out=$(cc $CF -o "$TMP/driver" tests/privdrop/driver.c sensor/privdrop.c \
	$(pkg-config --cflags --libs libcap) -pthread 2>&1); then
	bad build-driver "$(printf '%s' "$out" | tail -3 | tr '\n' ' ')"
	finish
fi
# shellcheck disable=SC2086,SC2046
if ! out=$(${CC:-cc} ${SANFLAGS:-} $CF $(pkg-config --cflags $pk) -o "$TMP/driver-bpf" tests/privdrop/driver-bpf.c \
	sensor/privdrop.c "$BUILD/sensor/capture-bpf.o" "$BUILD/libmailtap.a" \
	$(pkg-config --libs $pk libcap) -lm -pthread 2>&1); then
	bad build-driver-bpf "$(printf '%s' "$out" | tail -3 | tr '\n' ' ')"
	finish
fi
ok build-drivers

NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)
NOBODY_GROUPS=$(id -G nobody | tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ $//')
CAP_NET_ADMIN=12
CAP_BPF=39

# Does a bpf() command on an fd need CAP_BPF here?  Asked independently of
# privdrop.c: as nobody without capabilities, BPF_OBJ_GET_INFO_BY_FD (15)
# on fd -1 gives EPERM (kernel < 6.5 with unprivileged_bpf_disabled) or
# EBADF (the fd is all that is checked).
probe=$(setpriv --reuid="$NOBODY_UID" --regid="$NOBODY_GID" --clear-groups --inh-caps=-all \
	--bounding-set=-all python3 -c '
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
attr = (ctypes.c_uint32 * 32)(0xffffffff)
r = libc.syscall(321, 15, attr, 128)
print("EPERM" if r < 0 and ctypes.get_errno() in (1, 13) else "ok")' 2>&1)
BPF_EXPECT=$((1 << CAP_NET_ADMIN))
if [ "$probe" = EPERM ]; then
	BPF_EXPECT=$((BPF_EXPECT | (1 << CAP_BPF)))
	echo "# this kernel ($(uname -r)): bpf() on an fd needs CAP_BPF: bpf mode keeps CAP_NET_ADMIN + CAP_BPF"
else
	echo "# this kernel ($(uname -r)): bpf() on an fd needs no capability: bpf mode keeps CAP_NET_ADMIN"
fi

# field FILE KEY [N]: the Nth value (default 1) of "KEY:" in a status dump
field() { awk -v k="$2:" -v n="${3:-1}" '$1 == k { print $(n + 1); exit }' "$1"; }
hex() { printf '%d' "$((16#$1))"; }
# check_status NAME FILE UID GID EXPECTED_MASK: the dumped status is what a
# complete drop to UID/GID keeping EXPECTED_MASK looks like
check_status() {
	local name=$1 f=$2 uid=$3 gid=$4 want=$5 k i why=""
	for i in 1 2 3 4; do
		[ "$(field "$f" Uid $i)" = "$uid" ] || why="$why Uid=$(field "$f" Uid) "
		[ "$(field "$f" Gid $i)" = "$gid" ] || why="$why Gid=$(field "$f" Gid) "
	done
	for k in CapEff CapPrm CapBnd; do
		v=$(field "$f" $k)
		[ -n "$v" ] && [ "$(hex "$v")" = "$want" ] ||
			why="$why $k=$v (want $(printf '%016x' "$want"))"
	done
	for k in CapInh CapAmb; do
		v=$(field "$f" $k)
		[ -n "$v" ] && [ "$(hex "$v")" = 0 ] || why="$why $k=$v"
	done
	[ "$(field "$f" NoNewPrivs)" = 1 ] || why="$why NoNewPrivs=$(field "$f" NoNewPrivs)"
	if [ -z "$why" ]; then ok "$name"; else bad "$name" "$why"; fi
}

# --- privdrop_apply() as root ---
for need in none bpf; do
	f=$TMP/drv-$need
	"$TMP/driver" nobody $need >"$f" 2>&1
	rc=$?
	want=0
	[ $need = bpf ] && want=$BPF_EXPECT
	if [ $rc != 0 ] || ! grep -q '^rc 0$' "$f"; then
		bad "root-$need" "exit $rc: $(grep '^msg' "$f")"
		continue
	fi
	check_status "root-$need:status" "$f" "$NOBODY_UID" "$NOBODY_GID" "$want"
	groups=$(awk '$1 == "Groups:" { $1 = ""; print }' "$f" | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ' | sed 's/ $//')
	[ "$groups" = "$NOBODY_GROUPS" ] && ok "root-$need:groups" ||
		bad "root-$need:groups" "Groups '$groups', want '$NOBODY_GROUPS'"
	# a thread started before the drop: setuid() cleared its capabilities
	tp=$(field "$f" thread-CapPrm)
	te=$(field "$f" thread-CapEff)
	[ -n "$tp" ] && [ "$(hex "$tp")" = 0 ] && [ "$(hex "$te")" = 0 ] && ok "root-$need:threads" ||
		bad "root-$need:threads" "other thread CapPrm=$tp CapEff=$te"
	grep -q "^msg running as nobody (uid $NOBODY_UID, gid $NOBODY_GID), capabilities: " "$f" &&
		ok "root-$need:message" || bad "root-$need:message" "$(grep '^msg' "$f")"
done

# --- refusals: nothing changed, exit 2 ---
f=$TMP/drv-nosuch
"$TMP/driver" mtp-nosuch-user none >"$f" 2>&1
rc=$?
if [ $rc = 2 ] && grep -q "^msg user 'mtp-nosuch-user' does not exist$" "$f" &&
	[ "$(field "$f" Uid)" = 0 ] && [ "$(field "$f" NoNewPrivs)" = 0 ]; then
	ok nosuch-user
else
	bad nosuch-user "exit $rc, $(grep '^msg' "$f"), Uid $(field "$f" Uid)"
fi
f=$TMP/drv-root
"$TMP/driver" root none >"$f" 2>&1
rc=$?
[ $rc = 2 ] && grep -q "^msg user 'root' is root" "$f" && [ "$(field "$f" CapEff)" != 0000000000000000 ] &&
	ok root-user-refused || bad root-user-refused "exit $rc, $(grep '^msg' "$f")"
f=$TMP/drv-stay
"$TMP/driver" "" none >"$f" 2>&1
rc=$?
[ $rc = 0 ] && [ "$(field "$f" Uid)" = 0 ] && grep -q '^msg $' "$f" &&
	ok root-no-user-unchanged || bad root-no-user-unchanged "exit $rc, Uid $(field "$f" Uid), $(grep '^msg' "$f")"

# --- not root, with ambient capabilities (the systemd unit's case) ---
AMB=+net_admin,+bpf,+net_raw,+perfmon
for need in none bpf; do
	f=$TMP/amb-$need
	setpriv --reuid="$NOBODY_UID" --regid="$NOBODY_GID" --init-groups --inh-caps=$AMB \
		--ambient-caps=$AMB "$TMP/driver" "" $need >"$f" 2>&1
	rc=$?
	want=0
	[ $need = bpf ] && want=$BPF_EXPECT
	# the bounding set stays (no CAP_SETPCAP): check the rest
	why=""
	[ $rc = 0 ] || why="exit $rc $(grep '^msg' "$f")"
	for k in CapEff CapPrm; do
		v=$(field "$f" $k)
		[ -n "$v" ] && [ "$(hex "$v")" = "$want" ] || why="$why $k=$v"
	done
	[ "$(hex "$(field "$f" CapAmb)")" = 0 ] || why="$why CapAmb=$(field "$f" CapAmb)"
	[ "$(field "$f" NoNewPrivs)" = 1 ] || why="$why NoNewPrivs=$(field "$f" NoNewPrivs)"
	[ "$(field "$f" Uid)" = "$NOBODY_UID" ] || why="$why Uid=$(field "$f" Uid)"
	if [ -z "$why" ]; then ok "ambient-$need"; else bad "ambient-$need" "$why"; fi
done
f=$TMP/amb-other
setpriv --reuid="$NOBODY_UID" --regid="$NOBODY_GID" --clear-groups "$TMP/driver" daemon none >"$f" 2>&1
rc=$?
[ $rc = 2 ] && grep -q "^msg cannot switch to user 'daemon': not running as root" "$f" &&
	ok nonroot-other-user || bad nonroot-other-user "exit $rc, $(grep '^msg' "$f")"

# --- the network: client C -- server S ---
setup_net() {
	ip netns add "$NSC" && ip netns add "$NSS" &&
	ip link add c0 netns "$NSC" type veth peer name s0 netns "$NSS" &&
	ip -n "$NSC" addr add 198.18.0.1/30 dev c0 && ip -n "$NSS" addr add 198.18.0.2/30 dev s0 &&
	ip -n "$NSC" link set c0 up && ip -n "$NSS" link set s0 up &&
	ip -n "$NSC" link set lo up && ip -n "$NSS" link set lo up
}
attached() { # anything of ours left on s0
	ip netns exec "$NSS" tc filter show dev s0 ingress 2>/dev/null | grep -q bpf && return 0
	ip netns exec "$NSS" tc filter show dev s0 egress 2>/dev/null | grep -q bpf && return 0
	ip netns exec "$NSS" tc qdisc show dev s0 | grep -q clsact
}
exchange() { # three bounded downloads from S
	local i
	for i in 1 2 3; do
		ip netns exec "$NSC" timeout 5 curl -s --max-time 4 -o "$TMP/got" \
			http://198.18.0.2:443/data.bin || return 1
		cmp -s "$TMP/got" "$TMP/www/data.bin" || return 1
	done
}
if ! setup_net; then
	bad netns-setup "could not create the test namespaces"
	finish
fi
mkdir -p "$TMP/www"
head -c 20000 /dev/urandom >"$TMP/www/data.bin"
ip netns exec "$NSS" timeout 120 python3 -m http.server --bind 198.18.0.2 --directory "$TMP/www" 443 \
	>/dev/null 2>&1 &
PIDS+=($!)
for i in $(seq 50); do
	ip netns exec "$NSC" timeout 1 bash -c 'exec 3<>/dev/tcp/198.18.0.2/443' 2>/dev/null && break
	sleep 0.1
done
ok netns-setup

# --- the eBPF loader after the drop ---
for need in bpf none; do
	f=$TMP/bpf-$need
	ip netns exec "$NSS" "$TMP/driver-bpf" s0 nobody $need 4 >"$f" 2>"$f.err" &
	dpid=$!
	PIDS+=("$dpid")
	for i in $(seq 50); do grep -q '^ready' "$f" && break; kill -0 $dpid 2>/dev/null || break; sleep 0.1; done
	if ! grep -q '^ready' "$f"; then
		bad "bpf-$need:start" "$(head -3 "$f" "$f.err" | tr '\n' ' ')"
		continue
	fi
	want=0
	[ $need = bpf ] && want=$BPF_EXPECT
	v=$(field "$f" CapEff)
	[ "$(field "$f" Uid)" = "$NOBODY_UID" ] && [ "$(hex "$v")" = "$want" ] && ok "bpf-$need:dropped" ||
		bad "bpf-$need:dropped" "Uid $(field "$f" Uid) CapEff $v"
	exchange || bad "bpf-$need:exchange" "download failed"
	wait $dpid
	bad_ops=$(awk '$1 == "op" && $2 != "detach" && $3 != 0 { printf "%s=%s ", $2, $3 }' "$f")
	[ -z "$bad_ops" ] && ok "bpf-$need:maps-ring-flows" || bad "bpf-$need:maps-ring-flows" "$bad_ops"
	rec=$(awk '$1 == "records" { print $2 }' "$f")
	flows=$(awk '$1 == "flows" { print $2 }' "$f")
	[ "${rec:-0}" -gt 0 ] && [ "${flows:-0}" -gt 0 ] && ok "bpf-$need:captured" ||
		bad "bpf-$need:captured" "records ${rec:-?} flows ${flows:-?}"
	det=$(awk '$1 == "op" && $2 == "detach" { print $3 }' "$f")
	if [ $need = bpf ]; then
		if [ "$det" = 0 ] && ! attached; then ok bpf-bpf:detach; else bad bpf-bpf:detach "detach $det, attached: $(attached && echo yes || echo no)"; fi
	else
		# without CAP_NET_ADMIN the TC filters cannot be removed: that is
		# why PRIVDROP_NEED_BPF keeps it
		if [ "$det" != 0 ] && attached; then ok bpf-none:detach-needs-net-admin
		else bad bpf-none:detach-needs-net-admin "detach $det without CAP_NET_ADMIN"; fi
		ip netns exec "$NSS" tc qdisc del dev s0 clsact 2>/dev/null
	fi
done

# --- build/mailtap --user (once main.c/sensor.c call privdrop_apply) ---
MT=$BUILD/mailtap
if ! grep -qs privdrop_apply sensor/main.c sensor/sensor.c sensor/capture-live.c; then
	skip mailtap-replay "build/mailtap does not call privdrop_apply() yet (sensor/main.c, sensor/sensor.c)"
	skip mailtap-nosuch-user "same"
	skip mailtap-ebpf-tc "same"
	finish
fi
if ! "$MT" --help-all 2>&1 | grep -q -- --user; then
	bad mailtap-help "--help-all does not list --user"
fi

# replay: runs as nobody, no capabilities, writes its state into a
# directory nobody owns
mkdir -p "$TMP/state"
chown nobody: "$TMP/state"
"$MT" -r pcaps/nosni.pcap --replay-speed 20 --user nobody --sessions "$TMP/replay.jsonl" \
	--state "$TMP/state/state.json" >"$TMP/replay.out" 2>"$TMP/replay.err" &
mpid=$!
PIDS+=("$mpid")
sleep 1.2
if cat "/proc/$mpid/status" >"$TMP/replay.status" 2>/dev/null; then
	check_status mailtap-replay:status "$TMP/replay.status" "$NOBODY_UID" "$NOBODY_GID" 0
else
	bad mailtap-replay:status "exited early: $(head -2 "$TMP/replay.err" | tr '\n' ' ')"
fi
wait "$mpid"
rc=$?
[ $rc = 0 ] && [ -s "$TMP/replay.jsonl" ] && ok mailtap-replay:exit || bad mailtap-replay:exit "exit $rc: $(grep -v '^  ' "$TMP/replay.err" | head -2 | tr '\n' ' ')"
[ "$(stat -c %U "$TMP/state/state.json" 2>/dev/null)" = nobody ] && ok mailtap-replay:state ||
	bad mailtap-replay:state "state.json not written by nobody: $(ls -l "$TMP/state" | tr '\n' ' ')"

out=$("$MT" -r pcaps/nosni.pcap --user mtp-nosuch-user --sessions /dev/null 2>&1)
rc=$?
[ $rc = 2 ] && grep -q "user 'mtp-nosuch-user' does not exist" <<<"$out" && ok mailtap-nosuch-user ||
	bad mailtap-nosuch-user "exit $rc: $(printf '%s' "$out" | head -2 | tr '\n' ' ')"

# live ebpf-tc on S's port: nobody with the expected capabilities, still
# capturing, clean detach on SIGTERM
ip netns exec "$NSS" "$MT" -i s0 --capture ebpf-tc --user nobody --sessions "$TMP/live.jsonl" \
	--catalog tests/live/data/catalog.json >"$TMP/live.out" 2>"$TMP/live.err" &
mpid=$!
PIDS+=("$mpid")
for i in $(seq 100); do
	grep -q 'capturing on' "$TMP/live.err" 2>/dev/null && break
	kill -0 "$mpid" 2>/dev/null || break
	sleep 0.1
done
sleep 0.5
if cat "/proc/$mpid/status" >"$TMP/live.status" 2>/dev/null; then
	check_status mailtap-ebpf-tc:status "$TMP/live.status" "$NOBODY_UID" "$NOBODY_GID" "$BPF_EXPECT"
else
	bad mailtap-ebpf-tc:status "not running: $(head -2 "$TMP/live.err" | tr '\n' ' ')"
fi
exchange && ok mailtap-ebpf-tc:exchange || bad mailtap-ebpf-tc:exchange "download failed"
sleep 2.5 # a flow-map pass or two
kill -TERM "$mpid" 2>/dev/null
for i in $(seq 100); do kill -0 "$mpid" 2>/dev/null || break; sleep 0.1; done
wait "$mpid"
rc=$?
[ $rc = 0 ] && ok mailtap-ebpf-tc:sigterm || bad mailtap-ebpf-tc:sigterm "exit $rc: $(grep -v '^  ' "$TMP/live.err" | head -3 | tr '\n' ' ')"
n=$(grep -c '198\.18\.0\.2' "$TMP/live.jsonl" 2>/dev/null)
[ "${n:-0}" -ge 3 ] && ok mailtap-ebpf-tc:captured || bad mailtap-ebpf-tc:captured "${n:-0} records with 198.18.0.2 (want 3)"
if attached; then bad mailtap-ebpf-tc:detached "TC filter or clsact left on s0"; else ok mailtap-ebpf-tc:detached; fi
finish
