#!/bin/bash
# run-tier.sh -- mailtap-extract (docs/tools.md): the packets of chosen
# sessions, cross-checked with tshark.  Run from the repository root;
# prints "ok NAME" / "FAIL NAME: why" per test and ends with
# "#summary PASSED FAILED".
#
# For sessions of pcaps/demo.pcap (from `mailtap -r ... --sessions`), the
# extracted file must hold that flow only (tshark conv) and every one of
# its packets: the (time, length) list tshark shows for the 5-tuple in the
# input, and the session record's packet counts.  Then --record-id,
# --alert-id (file and, when redis-server is installed, Redis), IP
# fragments, a VXLAN capture of ../shared/pcaps (inner flow), the seed,
# and the errors: unknown ids (exit 1, no file left) and bad arguments
# (usage, exit 2).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SHARED=${SHARED:-../shared}
X=$BUILD/mailtap-extract
M=$BUILD/mailtap
T=$(mktemp -d /tmp/mailtap-extract.XXXXXX)
RPID=
passed=0
failed=0
cleanup() {
	[ -n "$RPID" ] && kill "$RPID" 2>/dev/null && wait "$RPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ok() { echo "ok $1${2:+ ($2)}"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
finish() { echo "#summary $passed $failed"; [ "$failed" -eq 0 ]; exit; }

for b in "$X" "$M"; do
	[ -x "$b" ] || { fail setup "$b not built (make all)"; finish; }
done
command -v tshark >/dev/null || { fail setup "tshark not installed"; finish; }
tsh() { tshark "$@" 2>/dev/null; }

# final session records (not the interim session_update ones) as
# "CID PROTO SRC SPORT DST DPORT PKTS_TOSERVER PKTS_TOCLIENT RECORD_ID"
sessions_of() { # PCAP [mailtap options...]
	local p=$1
	shift
	"$M" -q -r "$p" --sessions - "$@" 2>/dev/null | python3 -c '
import json, sys
for l in sys.stdin:
    d = json.loads(l)
    if d["event_type"] != "session":
        continue
    print(d["community_id"], d["proto"], d["src_ip"], d["src_port"], d["dest_ip"], d["dest_port"],
          d["pkts_toserver"], d["pkts_toclient"], d["record_id"])'
}
# tshark display filter of a 5-tuple (innermost layer for tunnels is fine:
# the ports only occur there)
tuple_filter() { # PROTO SRC SPORT DST DPORT
	local p a b
	p=$(echo "$1" | tr 'A-Z' 'a-z')
	case $2 in *:*) a=ipv6.addr ;; *) a=ip.addr ;; esac
	echo "$a==$2 && $a==$4 && $p.port==$3 && $p.port==$5"
}
# the conversations of a file, without the start/duration columns
convs() { # FILE PROTO
	tsh -r "$1" -q -z "conv,$(echo "$2" | tr 'A-Z' 'a-z')" | grep '<->' | awk '{ $NF = ""; $(NF-1) = ""; print }'
}

# the line of one conversation (either way round) in convs output
conv_of() { # CONVS-FILE A B
	awk -v a="$2" -v b="$3" '($1 == a && $3 == b) || ($1 == b && $3 == a)' "$1"
}

# ---- every sampled session of demo.pcap: that flow only, all its packets ----

sessions_of pcaps/demo.pcap >"$T/demo.sessions"
"$M" -q -r pcaps/demo.pcap --sessions "$T/demo.jsonl" 2>/dev/null
n=$(wc -l <"$T/demo.sessions")
[ "$n" -gt 5 ] || fail demo-sessions "only $n sessions from pcaps/demo.pcap"
convs pcaps/demo.pcap TCP >"$T/in.conv.tcp"
convs pcaps/demo.pcap UDP >"$T/in.conv.udp"
checked=0
bad=""
# every final session (at most 40)
head -40 "$T/demo.sessions" >"$T/sample"
while read -r cid proto src sp dst dp up down rid; do
	out=$T/s$checked.pcap
	if ! "$X" -q -r pcaps/demo.pcap --community-id "$cid" -w "$out" 2>"$T/x.err"; then
		bad="$bad; $cid: exit $? $(cat "$T/x.err")"
		continue
	fi
	want=$(conv_of "$T/in.conv.$(echo "$proto" | tr 'A-Z' 'a-z')" "$src:$sp" "$dst:$dp")
	got=$(convs "$out" "$proto")
	flt=$(tuple_filter "$proto" "$src" "$sp" "$dst" "$dp")
	tsh -r pcaps/demo.pcap -Y "$flt" -T fields -e frame.time_epoch -e frame.len >"$T/want.pk"
	tsh -r "$out" -T fields -e frame.time_epoch -e frame.len >"$T/got.pk"
	if [ "$got" != "$want" ] || [ "$(echo "$got" | wc -l)" != 1 ] ||
		! cmp -s "$T/want.pk" "$T/got.pk" || [ "$(wc -l <"$T/got.pk")" != $((up + down)) ]; then
		bad="$bad; $cid ($src:$sp-$dst:$dp): conv '$got' want '$want', $(wc -l <"$T/got.pk") packets, want $((up + down))"
	fi
	checked=$((checked + 1))
done <"$T/sample"
if [ -z "$bad" ] && [ "$checked" = "$(wc -l <"$T/sample")" ] && [ "$checked" -ge 5 ]; then
	ok extract-community-id-demo "$checked of $n sessions: one conversation each, every packet (time, length) of the 5-tuple, pkts_toserver + pkts_toclient"
else
	fail extract-community-id-demo "$checked checked$bad"
fi

# ---- --record-id: the same packets as the community id, within start..end ----

read -r cid proto src sp dst dp up down rid <"$T/demo.sessions"
"$X" -q -r pcaps/demo.pcap --community-id "$cid" -w "$T/by-cid.pcap"
if "$X" -q -r pcaps/demo.pcap --record-id "$rid" --sessions "$T/demo.jsonl" -w "$T/by-rid.pcap" &&
	cmp -s "$T/by-cid.pcap" "$T/by-rid.pcap"; then
	ok extract-record-id "$rid = $cid, byte-identical output"
else
	fail extract-record-id "$(cmp "$T/by-cid.pcap" "$T/by-rid.pcap" 2>&1)"
fi

# an interim record (session_update): the packets up to its end, as many
# as it counted so far
python3 -c '
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    if d["event_type"] == "session_update":
        print(d["record_id"], d["pkts_toserver"] + d["pkts_toclient"])
        break' "$T/demo.jsonl" >"$T/upd"
read -r urid upk <"$T/upd"
if [ -n "${urid:-}" ] && "$X" -q -r pcaps/demo.pcap --record-id "$urid" --sessions "$T/demo.jsonl" -w "$T/upd.pcap" &&
	[ "$(tsh -r "$T/upd.pcap" | wc -l)" = "$upk" ]; then
	ok extract-record-id-update "$urid: $upk packets, as the update counted"
else
	fail extract-record-id-update "${urid:-no session_update in demo}: $(tsh -r "$T/upd.pcap" | wc -l) packets, want ${upk:-?}"
fi

# ---- --alert-id: the community_ids of every revision ------------------------

mapfile -t S < <(head -3 "$T/demo.sessions")
c1=${S[0]%% *}
c2=${S[1]%% *}
c3=${S[2]%% *}
sum=0
for s in "${S[@]}"; do
	set -- $s
	sum=$((sum + $7 + $8))
done
python3 - "$c1" "$c2" "$c3" >"$T/alerts.jsonl" <<'EOF'
import json, re, sys
doc = open("docs/alerts.md").read()
a = json.loads(re.search(r"```json\n(.*?)```", doc, re.S).group(1))
other = dict(a, alert_id="00000000000000aa", community_ids=[sys.argv[3]])
a["community_ids"] = [sys.argv[1], sys.argv[2]]
b = dict(a, revision=1, score=90, community_ids=[sys.argv[2], sys.argv[3]])
for r in (a, other, b):
    print(json.dumps(r, separators=(",", ":")))
EOF
"$X" -r pcaps/demo.pcap --alert-id 6f3bd7a7ef82d148 --alerts "$T/alerts.jsonl" -w "$T/alert.pcap" 2>"$T/alert.err"
rc=$?
nconv=$(convs "$T/alert.pcap" TCP | wc -l)
npk=$(tsh -r "$T/alert.pcap" | wc -l)
if [ "$rc" = 0 ] && [ "$nconv" = 3 ] && [ "$npk" = "$sum" ] && grep -q "2 revision(s)" "$T/alert.err" &&
	grep -q "$sum packets of 3 of 3 flows" "$T/alert.err"; then
	ok extract-alert-id-file "2 revisions, 3 sessions, $sum packets"
else
	fail extract-alert-id-file "exit $rc, $nconv conversations, $npk packets (want $sum): $(cat "$T/alert.err")"
fi

# the same from Redis, a stream and a list, when a server is at hand
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	redis-server --port "$port" --bind 127.0.0.1 --dir "$T" --save '' --daemonize no >/dev/null 2>&1 &
	RPID=$!
	for i in $(seq 1 50); do
		redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
		sleep 0.1
	done
	while read -r l; do
		redis-cli -p "$port" XADD mailtap:alerts '*' data "$l" >/dev/null
		redis-cli -p "$port" RPUSH t:alerts "$l" >/dev/null
	done <"$T/alerts.jsonl"
	"$X" -q -r pcaps/demo.pcap --alert-id 6f3bd7a7ef82d148 --alerts "redis://127.0.0.1:$port" -w "$T/alert-rs.pcap"
	r1=$?
	"$X" -q -r pcaps/demo.pcap --alert-id 6f3bd7a7ef82d148 --alerts "redis://127.0.0.1:$port?key=t:alerts&mode=list" -w "$T/alert-rl.pcap"
	r2=$?
	if [ "$r1" = 0 ] && [ "$r2" = 0 ] && cmp -s "$T/alert.pcap" "$T/alert-rs.pcap" && cmp -s "$T/alert.pcap" "$T/alert-rl.pcap"; then
		ok extract-alert-id-redis "stream and list give the file's packets"
	else
		fail extract-alert-id-redis "exit $r1/$r2"
	fi
	kill "$RPID" && wait "$RPID" 2>/dev/null
	RPID=
fi

# ---- IP fragments: later fragments (no ports) go with their first ----------

sessions_of pcaps/fragments.pcap --all-flows >"$T/frag.sessions"
bad=""
nf=0
while read -r cid proto src sp dst dp up down rid; do
	"$X" -q -r pcaps/fragments.pcap --community-id "$cid" -w "$T/frag.pcap" || { bad="$bad; $cid: exit $?"; continue; }
	got=$(tsh -r "$T/frag.pcap" | wc -l)
	[ "$got" = $((up + down)) ] || bad="$bad; $cid: $got packets, want $((up + down))"
	nf=$((nf + 1))
done <"$T/frag.sessions"
if [ -z "$bad" ] && [ "$nf" -gt 0 ]; then
	ok extract-fragments "$nf flows of pcaps/fragments.pcap, packet counts equal the records'"
else
	fail extract-fragments "$nf flows$bad"
fi

# ---- a tunnel: the inner flow, as the sensor keys it ------------------------

VX=$SHARED/pcaps/ndpi/vxlan.pcap
if [ -r "$VX" ]; then
	sessions_of "$VX" --all-flows >"$T/vx.sessions"
	awk '$2 == "TCP"' "$T/vx.sessions" | head -1 >"$T/vx.session"
	read -r cid proto src sp dst dp up down rid <"$T/vx.session"
	"$X" -q -r "$VX" --community-id "$cid" -w "$T/vx.pcap"
	rc=$?
	got=$(convs "$T/vx.pcap" TCP)
	convs "$VX" TCP >"$T/vx.conv"
	want=$(conv_of "$T/vx.conv" "$src:$sp" "$dst:$dp")
	tsh -r "$VX" -Y "tcp.port==$sp && tcp.port==$dp" -T fields -e frame.time_epoch -e frame.len >"$T/want.pk"
	tsh -r "$T/vx.pcap" -T fields -e frame.time_epoch -e frame.len -e vxlan.vni >"$T/got.pk3"
	cut -f1,2 "$T/got.pk3" >"$T/got.pk"
	if [ "$rc" = 0 ] && [ -n "$want" ] && [ "$got" = "$want" ] && cmp -s "$T/want.pk" "$T/got.pk" &&
		[ "$(wc -l <"$T/got.pk")" = $((up + down)) ] && [ "$(cut -f3 "$T/got.pk3" | sort -u | grep -c .)" = 1 ]; then
		ok extract-vxlan-inner "$src:$sp -> $dst:$dp inside VXLAN, $((up + down)) packets, outer headers kept"
	else
		fail extract-vxlan-inner "exit $rc, conv '$got' want '$want', $(wc -l <"$T/got.pk") packets want $((up + down))"
	fi
	"$X" -q -r "$VX" --community-id "$cid" --no-decap -w "$T/vx2.pcap" 2>/dev/null
	if [ "$?" = 1 ] && [ ! -e "$T/vx2.pcap" ]; then
		ok extract-no-decap "the inner Community ID does not match outer packets"
	else
		fail extract-no-decap "matched with --no-decap"
	fi
else
	echo "# $VX missing: tunnel case skipped"
fi

# ---- the seed must be the sensor's ------------------------------------------

sessions_of pcaps/demo.pcap --community-id-seed 7 >"$T/seed.sessions"
head -1 "$T/seed.sessions" >"$T/seed.session"
read -r scid proto src sp dst dp up down rid <"$T/seed.session"
"$X" -q -r pcaps/demo.pcap --community-id "$scid" --community-id-seed 7 -w "$T/seed.pcap"
r1=$?
"$X" -q -r pcaps/demo.pcap --community-id "$scid" -w "$T/seed0.pcap" 2>/dev/null
r2=$?
if [ "$scid" != "$cid" ] && [ "$r1" = 0 ] && [ "$(tsh -r "$T/seed.pcap" | wc -l)" = $((up + down)) ] && [ "$r2" = 1 ]; then
	ok extract-seed "seed 7: matched with --community-id-seed 7 only"
else
	fail extract-seed "exit $r1/$r2"
fi

# ---- unknown ids: exit 1, a clear message, no file left ---------------------

check_missing() { # NAME EXPECTED-MESSAGE ARGS...
	local name=$1 msg=$2 rc
	shift 2
	rm -f "$T/none.pcap"
	"$X" -r pcaps/demo.pcap "$@" -w "$T/none.pcap" >/dev/null 2>"$T/none.err"
	rc=$?
	if [ "$rc" = 1 ] && grep -qF "$msg" "$T/none.err" && [ -z "$(ls "$T" | grep '^none.pcap')" ]; then
		ok "$name" "$(head -1 "$T/none.err")"
	else
		fail "$name" "exit $rc, files: $(ls "$T" | grep '^none.pcap'); $(cat "$T/none.err")"
	fi
}
check_missing extract-unknown-community-id "no packet matched; $T/none.pcap not written" \
	--community-id '1:AAAAAAAAAAAAAAAAAAAAAAAAAAA='
check_missing extract-unknown-alert-id "no alert 0123456789abcdef in $T/alerts.jsonl" \
	--alert-id 0123456789abcdef --alerts "$T/alerts.jsonl"
check_missing extract-unknown-record-id "no session record nope-1-0 in $T/demo.jsonl" \
	--record-id nope-1-0 --sessions "$T/demo.jsonl"

# ---- bad arguments: usage, exit 2 -------------------------------------------

bad=""
while IFS='|' read -r args msg; do
	# shellcheck disable=SC2086
	"$X" $args >/dev/null 2>"$T/usage.err"
	rc=$?
	if [ "$rc" != 2 ] || ! grep -q '^usage: mailtap-extract' "$T/usage.err" || ! grep -qF -- "$msg" "$T/usage.err"; then
		bad="$bad; '$args': exit $rc, $(head -1 "$T/usage.err")"
	fi
done <<EOF
-r pcaps/demo.pcap --community-id 1:x=|no output (-w OUT.pcap)
-r pcaps/demo.pcap -w $T/u.pcap|nothing selected
--community-id 1:x= -w $T/u.pcap|no input (-r FILE)
-r pcaps/demo.pcap --alert-id 6f3bd7a7ef82d148 -w $T/u.pcap|--alert-id needs --alerts
-r pcaps/demo.pcap --record-id x -w $T/u.pcap|--record-id needs --sessions
-r pcaps/demo.pcap --community-id 1:x= -w $T/u.pcap extra|unexpected argument 'extra'
-r pcaps/demo.pcap --bogus|unrecognized option
EOF
"$X" -r pcaps/demo.pcap --community-id 1:x= --community-id-seed 70000 -w "$T/u.pcap" 2>"$T/seed.err"
[ "$?" = 2 ] && grep -q "bad --community-id-seed '70000'" "$T/seed.err" || bad="$bad; seed 70000 accepted"
if [ -z "$bad" ] && [ ! -e "$T/u.pcap" ] && "$X" --help | grep -q -- --alert-id; then
	ok extract-usage "8 bad command lines: usage, exit 2, nothing written"
else
	fail extract-usage "${bad#; }"
fi

finish
