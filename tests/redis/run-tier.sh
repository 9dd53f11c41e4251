#!/bin/bash
# run-tier.sh -- the Redis integration tier (docs/redis.md).  Run from the
# repository root; prints "ok NAME" / "FAIL NAME: why" per test and ends
# with "#summary PASSED FAILED".
#
# Starts its own redis-server instances (Debian redis-server 7) on free
# loopback ports and unix sockets in a temp dir, and always stops them.
# Builds a small driver (tests/redis/redis-driver.c) that pushes JSON lines
# through the out_sink_* API, from the sink sources directly, so the tier
# does not depend on the rest of the library building.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
T=$(mktemp -d /tmp/mailtap-redis.XXXXXX)
PIDS=()
passed=0
failed=0

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { echo "ok $1${2:+ ($2)}"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
	echo "FAIL setup: redis-server / redis-cli not installed (apt-get install redis-server)"
	echo "#summary 0 1"
	exit 1
fi

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_redis NAME PORT [redis-server options...]: a fresh server in $T/NAME
# (data kept there, so a restart with the same NAME finds its AOF).
start_redis() {
	local name=$1 port=$2 i
	shift 2
	mkdir -p "$T/$name"
	redis-server --port "$port" --bind 127.0.0.1 --dir "$T/$name" --save '' \
		--unixsocket "$T/$name/redis.sock" --unixsocketperm 700 \
		--logfile "$T/$name/log" --daemonize no "$@" >/dev/null 2>&1 &
	eval "PID_$name=$!"
	PIDS+=("$!")
	for i in $(seq 1 50); do
		redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return 0
		sleep 0.1
	done
	echo "redis $name did not start: $(tail -3 "$T/$name/log" 2>/dev/null)" >&2
	return 1
}

kill_redis() { # kill_redis NAME [SIGNAL]
	local v="PID_$1"
	kill "-${2:-TERM}" "${!v}" 2>/dev/null
	wait "${!v}" 2>/dev/null
}

rcli() { timeout 10 redis-cli "$@"; }

# The records of a stream / list as JSON lines, in order.
stream_data() { # PORT KEY
	rcli -p "$1" --raw XRANGE "$2" - + | awk 'want { print; want = 0; next } $0 == "data" { want = 1 }'
}
stream_ids() { # PORT KEY: the record ids, in order
	rcli -p "$1" --raw XRANGE "$2" - + | awk 'want { print; want = 0; next } $0 == "id" { want = 1 }'
}

# gen_records FILE N PREFIX [PADBYTES]: synthetic session-like records
gen_records() {
	local pad
	pad=$(head -c "${4:-40}" /dev/zero | tr '\0' x)
	awk -v n="$2" -v p="$3" -v pad="$pad" 'BEGIN {
		for (i = 1; i <= n; i++)
			printf "{\"event_type\":\"session\",\"record_id\":\"%s%07d\",\"src_ip\":\"10.1.0.%d\",\"pad\":\"%s\"}\n", p, i, i % 250, pad
	}' >"$1"
}

# ---- build --------------------------------------------------------------

DRIVER=$T/redis-driver
ALERTS=$T/mailtap-alerts
SINK_SRC="userspace/output.c userspace/output-file.c userspace/output-redis.c userspace/output-redis-url.c userspace/util-units.c userspace/util-log.c userspace/spool.c userspace/util-time.c"
CFLAGS_T="-std=gnu11 -O2 -g -D_GNU_SOURCE -Iuserspace $(pkg-config --cflags hiredis jansson zlib)"
LIBS_T="$(pkg-config --libs hiredis jansson zlib) -lpthread -lm"
if ! timeout 120 cc $CFLAGS_T -o "$DRIVER" tests/redis/redis-driver.c $SINK_SRC $LIBS_T 2>"$T/cc.err"; then
	fail build-driver "$(head -5 "$T/cc.err")"
	echo "#summary $passed $failed"
	exit 1
fi
if [ -x "$BUILD/mailtap-alerts" ] && [ "$BUILD/mailtap-alerts" -nt sensor/tool-alerts.c ]; then
	ALERTS=$BUILD/mailtap-alerts
elif ! timeout 120 cc $CFLAGS_T -o "$ALERTS" sensor/tool-alerts.c $SINK_SRC $LIBS_T 2>"$T/cc.err"; then
	fail build-alerts "$(head -5 "$T/cc.err")"
fi
ok build

P1=$(free_port)
start_redis main "$P1" --appendonly yes --appendfsync always || {
	fail start-redis "see above"
	echo "#summary $passed $failed"
	exit 1
}
URL="redis://127.0.0.1:$P1"
QS="batch=64&flush_ms=20&backoff_max_ms=400&timeout_ms=1000"

# ---- every mode delivers exactly what the file sink writes ---------------

if [ -x "$BUILD/mailtap" ] && "$BUILD/mailtap" -q -r pcaps/demo.pcap --sessions "$T/demo.jsonl" 2>"$T/demo.err" &&
	[ -s "$T/demo.jsonl" ]; then
	SRC_RECORDS=$T/demo.jsonl
	SRC_NAME="mailtap -r pcaps/demo.pcap"
else
	gen_records "$T/demo.jsonl" 300 demo
	SRC_RECORDS=$T/demo.jsonl
	SRC_NAME="synthetic records (build/mailtap unavailable)"
fi
nrec=$(wc -l <"$SRC_RECORDS")

# the sensor itself writing to redis (main.c hands any DEST to out_sink_open)
if [ -x "$BUILD/mailtap" ] && [ "$SRC_NAME" != "${SRC_NAME#mailtap}" ]; then
	if timeout 60 "$BUILD/mailtap" -q -r pcaps/demo.pcap \
		--sessions "$URL?key=t:sensor&spool=$T/spool-sensor" 2>"$T/sensor.err" &&
		stream_data "$P1" t:sensor >"$T/sensor.out" && cmp -s "$T/sensor.out" "$SRC_RECORDS"; then
		ok sensor-stream-equals-file "$nrec records"
	else
		fail sensor-stream-equals-file "$(head -3 "$T/sensor.err") $(cmp "$T/sensor.out" "$SRC_RECORDS" 2>&1 | head -1)"
	fi
fi

# stream (default mode)
if timeout 60 "$DRIVER" "$URL?key=t:stream&spool=$T/spool-stream" "$SRC_RECORDS" >"$T/d.out" 2>"$T/d.err" &&
	stream_data "$P1" t:stream >"$T/stream.out" && cmp -s "$T/stream.out" "$SRC_RECORDS"; then
	ok stream-equals-file "$nrec records of $SRC_NAME"
else
	fail stream-equals-file "$(head -3 "$T/d.err") $(cmp "$T/stream.out" "$SRC_RECORDS" 2>&1 | head -1)"
fi
# the id field carries record_id
if [ "$(stream_ids "$P1" t:stream | head -1)" = "$(head -1 "$SRC_RECORDS" | sed -n 's/.*"record_id":"\([^"]*\)".*/\1/p')" ]; then
	ok stream-id-field
else
	fail stream-id-field "first id $(stream_ids "$P1" t:stream | head -1)"
fi

# list
if timeout 60 "$DRIVER" "$URL?key=t:list&mode=list&spool=$T/spool-list" "$SRC_RECORDS" >"$T/d.out" 2>"$T/d.err" &&
	rcli -p "$P1" --raw LRANGE t:list 0 -1 >"$T/list.out" && cmp -s "$T/list.out" "$SRC_RECORDS"; then
	ok list-equals-file "$nrec records"
else
	fail list-equals-file "$(head -3 "$T/d.err") $(cmp "$T/list.out" "$SRC_RECORDS" 2>&1 | head -1)"
fi

# channel: a subscriber must be listening first
timeout 30 redis-cli -p "$P1" --raw SUBSCRIBE t:chan >"$T/sub.out" 2>/dev/null &
SUBPID=$!
PIDS+=("$SUBPID")
for i in $(seq 1 50); do
	[ "$(rcli -p "$P1" --raw PUBSUB NUMSUB t:chan | tail -1)" = 1 ] && break
	sleep 0.1
done
timeout 60 "$DRIVER" "$URL?key=t:chan&mode=channel&spool=$T/spool-chan" "$SRC_RECORDS" >"$T/d.out" 2>"$T/d.err"
for i in $(seq 1 50); do
	[ "$(grep -c '^{' "$T/sub.out")" -ge "$nrec" ] && break
	sleep 0.1
done
kill "$SUBPID" 2>/dev/null
wait "$SUBPID" 2>/dev/null
grep '^{' "$T/sub.out" >"$T/chan.out"
if cmp -s "$T/chan.out" "$SRC_RECORDS"; then
	ok channel-equals-file "$nrec records"
else
	fail channel-equals-file "$(cmp "$T/chan.out" "$SRC_RECORDS" 2>&1 | head -1) $(head -2 "$T/d.err")"
fi

# unix socket, database 2
if timeout 60 "$DRIVER" "unix:$T/main/redis.sock?db=2&key=t:unix&spool=$T/spool-unix" "$SRC_RECORDS" >"$T/d.out" 2>"$T/d.err" &&
	[ "$(rcli -p "$P1" -n 2 XLEN t:unix)" = "$nrec" ] && [ "$(rcli -p "$P1" -n 0 EXISTS t:unix)" = 0 ]; then
	ok unix-socket-and-db
else
	fail unix-socket-and-db "$(head -3 "$T/d.err") xlen=$(rcli -p "$P1" -n 2 XLEN t:unix)"
fi

# maxlen trims the stream
gen_records "$T/small.jsonl" 3000 trim
timeout 60 "$DRIVER" "$URL?key=t:trim&maxlen=500&spool=$T/spool-trim" "$T/small.jsonl" >/dev/null 2>"$T/d.err"
len=$(rcli -p "$P1" XLEN t:trim)
if [ "$len" -ge 500 ] && [ "$len" -lt 3000 ]; then
	ok maxlen-trims "XLEN $len for MAXLEN ~ 500"
else
	fail maxlen-trims "XLEN $len"
fi

# heartbeat hash with a TTL
timeout 30 "$DRIVER" "$URL?key=t:hb&spool=$T/spool-hb" "$T/small.jsonl" --heartbeat --sensor-id tap-1 --kind alerts >/dev/null 2>"$T/d.err"
ttl=$(rcli -p "$P1" TTL mailtap:sensor:tap-1)
if [ "$(rcli -p "$P1" HGET mailtap:sensor:tap-1 packets)" = 1234 ] &&
	[ "$(rcli -p "$P1" HGET mailtap:sensor:tap-1 capture_mode)" = pcap ] &&
	[ -n "$(rcli -p "$P1" HGET mailtap:sensor:tap-1 alerts_spool_depth)" ] &&
	[ "$ttl" -gt 0 ] && [ "$ttl" -le 60 ]; then
	ok heartbeat "TTL $ttl"
else
	fail heartbeat "ttl=$ttl $(rcli -p "$P1" HGETALL mailtap:sensor:tap-1 | tr '\n' ' ' | head -c 300)"
fi

# bad destinations are refused at open, clearly
out=$("$DRIVER" "redis://u:secret@127.0.0.1:$P1" /dev/null 2>&1)
out2=$("$DRIVER" "$URL?bogus=1" /dev/null 2>&1)
if echo "$out" | grep -q "MAILTAP_REDIS_PASSWORD" && ! echo "$out" | grep -q secret &&
	echo "$out2" | grep -q "unknown option 'bogus'"; then
	ok bad-url-refused
else
	fail bad-url-refused "$out / $out2"
fi

# ---- redis killed (SIGKILL) in the middle of a stream, then restarted -----

gen_records "$T/kill.jsonl" 20000 kill
timeout 90 "$DRIVER" "$URL?key=t:kill&$QS&close_ms=8000&spool=$T/spool-kill" "$T/kill.jsonl" \
	--rate 8000 >"$T/kill.drv" 2>"$T/kill.err" &
DRV=$!
PIDS+=("$DRV")
sleep 0.8
kill_redis main KILL
sleep 0.8
start_redis main "$P1" --appendonly yes --appendfsync always
wait "$DRV"
drc=$?
# whatever close could not deliver in time is delivered by the next start
timeout 60 "$DRIVER" "$URL?key=t:kill&$QS&spool=$T/spool-kill" /dev/null >/dev/null 2>>"$T/kill.err"
stream_ids "$P1" t:kill >"$T/kill.ids"
sort -u "$T/kill.ids" >"$T/kill.uniq"
sed -n 's/.*"record_id":"\([^"]*\)".*/\1/p' "$T/kill.jsonl" | sort >"$T/kill.want"
dups=$(($(wc -l <"$T/kill.ids") - $(wc -l <"$T/kill.uniq")))
if [ "$drc" = 0 ] && cmp -s "$T/kill.uniq" "$T/kill.want" && grep -q "mailtap: redis" "$T/kill.err"; then
	ok redis-sigkill-restart "20000 records, all arrived once after de-dup, $dups re-sent; $(cat "$T/kill.drv" | cut -d' ' -f5-6)"
else
	fail redis-sigkill-restart "exit $drc, $(wc -l <"$T/kill.uniq") unique of 20000; $(head -3 "$T/kill.err")"
fi
# the same order as written (first occurrence of each id)
awk '!seen[$0]++' "$T/kill.ids" >"$T/kill.first"
sed -n 's/.*"record_id":"\([^"]*\)".*/\1/p' "$T/kill.jsonl" >"$T/kill.order"
if cmp -s "$T/kill.first" "$T/kill.order"; then
	ok redis-sigkill-order-kept
else
	fail redis-sigkill-order-kept "$(cmp "$T/kill.first" "$T/kill.order" 2>&1)"
fi

# ---- the writer killed (SIGKILL) while spooling, then restarted -----------

P2=$(free_port)   # nothing listens there yet
gen_records "$T/wk.jsonl" 50000 wk
# no timeout wrapper: the kill must reach the writer itself
"$DRIVER" "redis://127.0.0.1:$P2?key=t:wk&$QS&spool=$T/spool-wk" "$T/wk.jsonl" \
	--rate 20000 >/dev/null 2>"$T/wk.err" &
DRV=$!
PIDS+=("$DRV")
sleep 1
{ kill -9 "$DRV" && wait "$DRV"; } 2>/dev/null
start_redis wk "$P2"
# a new start: the spool first, then the new records
gen_records "$T/wk2.jsonl" 100 new
timeout 60 "$DRIVER" "redis://127.0.0.1:$P2?key=t:wk&$QS&spool=$T/spool-wk" "$T/wk2.jsonl" >"$T/wk2.drv" 2>>"$T/wk.err"
stream_ids "$P2" t:wk >"$T/wk.ids"
n_old=$(grep -c '^wk' "$T/wk.ids")
head -n "$n_old" "$T/wk.jsonl" | sed -n 's/.*"record_id":"\([^"]*\)".*/\1/p' >"$T/wk.want"
{ cat "$T/wk.want"; sed -n 's/.*"record_id":"\([^"]*\)".*/\1/p' "$T/wk2.jsonl"; } >"$T/wk.want2"
if [ "$n_old" -gt 1000 ] && cmp -s "$T/wk.ids" "$T/wk.want2"; then
	ok writer-sigkill-spool-delivered "$n_old spooled records, in order, gap-free, before the 100 new ones"
else
	fail writer-sigkill-spool-delivered "$n_old old records; $(cmp "$T/wk.ids" "$T/wk.want2" 2>&1 | head -1); $(head -3 "$T/wk.err")"
fi
if [ "$(ls "$T"/spool-wk/sessions-* | grep -c '^seg-')" = 0 ]; then
	ok spool-emptied-after-delivery
else
	fail spool-emptied-after-delivery "$(ls "$T"/spool-wk/sessions-*)"
fi

# ---- a spool belongs to one destination ----------------------------------
# Records spooled while key t:own was down must go to t:own on the next
# start, never to another key (or server, db, mode) that later runs with
# the same spool directory use.
P6=$(free_port)
gen_records "$T/own.jsonl" 200 own
timeout 60 "$DRIVER" "redis://127.0.0.1:$P6?key=t:own&$QS&close_ms=200&spool=$T/spool-own" \
	"$T/own.jsonl" >/dev/null 2>"$T/own.err"
start_redis own "$P6"
gen_records "$T/other.jsonl" 10 other
timeout 60 "$DRIVER" "redis://127.0.0.1:$P6?key=t:other&$QS&spool=$T/spool-own" "$T/other.jsonl" \
	>/dev/null 2>>"$T/own.err"
n_other=$(stream_ids "$P6" t:other | grep -c .)
n_leak=$(stream_ids "$P6" t:other | grep -c '^own')
timeout 60 "$DRIVER" "redis://127.0.0.1:$P6?key=t:own&$QS&spool=$T/spool-own" /dev/null \
	>/dev/null 2>>"$T/own.err"
n_own=$(stream_ids "$P6" t:own | grep -c '^own')
if [ "$n_other" = 10 ] && [ "$n_leak" = 0 ] && [ "$n_own" = 200 ]; then
	ok spool-tied-to-destination "200 records spooled for t:own stayed out of t:other and reached t:own"
else
	fail spool-tied-to-destination "t:other has $n_other records ($n_leak spooled for t:own), t:own $n_own of 200; $(head -3 "$T/own.err")"
fi

# ---- close is bounded when redis is down --------------------------------

P3=$(free_port)
gen_records "$T/down.jsonl" 1000 down
start=$(date +%s%N)
timeout 30 "$DRIVER" "redis://127.0.0.1:$P3?key=t:down&close_ms=1000&timeout_ms=500&spool=$T/spool-down" "$T/down.jsonl" >/dev/null 2>"$T/down.err"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
nerr=$(grep -c "cannot connect" "$T/down.err")
if [ "$rc" = 0 ] && [ "$ms" -lt 2500 ] && [ "$nerr" = 1 ] && grep -q "1000 records wait in the spool" "$T/down.err"; then
	ok close-bounded-when-down "${ms} ms, error reported once, 1000 records left in the spool"
else
	fail close-bounded-when-down "exit $rc, ${ms} ms, $nerr connect errors: $(head -3 "$T/down.err")"
fi

# ---- the spool bound: drop the oldest (default) or the newest ------------

gen_records "$T/bound.jsonl" 5000 bound 200
for pol in oldest newest; do
	timeout 30 "$DRIVER" "redis://127.0.0.1:$P3?key=t:bound-$pol&close_ms=300&timeout_ms=300&spool_max=256k&spool_drop=$pol&spool=$T/spool-bound-$pol" \
		"$T/bound.jsonl" >/dev/null 2>"$T/bound-$pol.err"
	rc=$?
	# the spool belongs to that destination: bring it up and deliver there
	start_redis "bound_$pol" "$P3"
	timeout 30 "$DRIVER" "redis://127.0.0.1:$P3?key=t:bound-$pol&$QS&spool=$T/spool-bound-$pol" /dev/null >/dev/null 2>/dev/null
	n=$(rcli -p "$P3" XLEN "t:bound-$pol")
	ids=$(stream_ids "$P3" "t:bound-$pol")
	kill_redis "bound_$pol"
	first=$(echo "$ids" | head -1)
	last=$(echo "$ids" | tail -1)
	if [ "$pol" = oldest ]; then keep=$last want=bound0005000; else keep=$first want=bound0000001; fi
	if [ "$rc" = 3 ] && [ "$n" -gt 100 ] && [ "$n" -lt 5000 ] && [ "$keep" = "$want" ] &&
		[ "$(grep -c "^mailtap: redis .*records are being dropped" "$T/bound-$pol.err")" = 1 ] &&
		grep -q "records were dropped" "$T/bound-$pol.err"; then
		ok "spool-bound-drop-$pol" "kept $n of 5000 ($first..$last), drops counted, close fails"
	else
		fail "spool-bound-drop-$pol" "exit $rc, kept $n ($first..$last): $(head -3 "$T/bound-$pol.err")"
	fi
done

# ---- ACL user, right and wrong password ---------------------------------

rcli -p "$P1" ACL SETUSER sensor on '>s3cret-pw' '~mailtap:*' '~t:*' '+@all' >/dev/null
gen_records "$T/acl.jsonl" 200 acl
MAILTAP_REDIS_PASSWORD=wrong-pw timeout 30 "$DRIVER" "redis://sensor@127.0.0.1:$P1?key=t:acl&$QS&close_ms=500&spool=$T/spool-acl" \
	"$T/acl.jsonl" >/dev/null 2>"$T/acl.err"
n_auth=$(grep -c "^mailtap: redis .*authentication as sensor failed" "$T/acl.err")
if [ "$n_auth" = 1 ] && ! grep -q wrong-pw "$T/acl.err" && [ "$(rcli -p "$P1" EXISTS t:acl)" = 0 ] &&
	grep -q "200 records wait in the spool" "$T/acl.err"; then
	ok acl-wrong-password "reported once, password not printed, records spooled"
else
	fail acl-wrong-password "$n_auth reports: $(head -3 "$T/acl.err")"
fi
MAILTAP_REDIS_PASSWORD=s3cret-pw timeout 30 "$DRIVER" "redis://sensor@127.0.0.1:$P1?key=t:acl&$QS&spool=$T/spool-acl" \
	/dev/null >/dev/null 2>"$T/acl2.err"
if [ "$(rcli -p "$P1" XLEN t:acl)" = 200 ] && [ ! -s "$T/acl2.err" ]; then
	ok acl-right-password "the spooled 200 delivered"
else
	fail acl-right-password "XLEN $(rcli -p "$P1" XLEN t:acl): $(head -3 "$T/acl2.err")"
fi
# the sensor: the password from the environment, and from the file alone
if [ -x "$BUILD/mailtap" ]; then
	rcli -p "$P1" DEL t:acl-env t:acl-file >/dev/null
	MAILTAP_REDIS_PASSWORD=s3cret-pw timeout 60 "$BUILD/mailtap" -q -r pcaps/demo.pcap \
		--sessions "redis://sensor@127.0.0.1:$P1?key=t:acl-env&spool=$T/spool-acl-env" 2>"$T/acl-env.err"
	printf 'outputs:\n  redis_password: "s3cret-pw"\n' >"$T/pw.yaml"
	env -u MAILTAP_REDIS_PASSWORD timeout 60 "$BUILD/mailtap" -q --config "$T/pw.yaml" -r pcaps/demo.pcap \
		--sessions "redis://sensor@127.0.0.1:$P1?key=t:acl-file&spool=$T/spool-acl-file" 2>"$T/acl-file.err"
	if [ "$(rcli -p "$P1" XLEN t:acl-env)" = "$nrec" ] && [ "$(rcli -p "$P1" XLEN t:acl-file)" = "$nrec" ] &&
		! grep -q s3cret "$T/acl-env.err" "$T/acl-file.err"; then
		ok sensor-password-env-and-file "$nrec records each way"
	else
		fail sensor-password-env-and-file "XLEN $(rcli -p "$P1" XLEN t:acl-env) / $(rcli -p "$P1" XLEN t:acl-file): $(head -2 "$T/acl-env.err" "$T/acl-file.err")"
	fi
fi
# a user that may not XADD
rcli -p "$P1" ACL SETUSER reader on '>r-pw' '~*' '+@read' '+@connection' >/dev/null
MAILTAP_REDIS_PASSWORD=r-pw timeout 30 "$DRIVER" "redis://reader@127.0.0.1:$P1?key=t:noperm&$QS&close_ms=500&spool=$T/spool-noperm" \
	"$T/acl.jsonl" >/dev/null 2>"$T/noperm.err"
if [ "$(grep -c "may not run XADD" "$T/noperm.err")" = 1 ]; then
	ok acl-no-permission "reported once"
else
	fail acl-no-permission "$(head -3 "$T/noperm.err")"
fi

# ---- a key of the wrong type --------------------------------------------

rcli -p "$P1" SET t:wrong "a string" >/dev/null
timeout 30 "$DRIVER" "$URL?key=t:wrong&$QS&close_ms=500&spool=$T/spool-wrong" "$T/acl.jsonl" >/dev/null 2>"$T/wrong.err"
n=$(grep -c "key 't:wrong' is a string, not a stream" "$T/wrong.err")
rcli -p "$P1" DEL t:wrong >/dev/null
timeout 30 "$DRIVER" "$URL?key=t:wrong&$QS&spool=$T/spool-wrong" /dev/null >/dev/null 2>"$T/wrong2.err"
if [ "$n" = 1 ] && [ "$(rcli -p "$P1" XLEN t:wrong)" = 200 ]; then
	ok wrong-type-key "reported once; delivered after the key was removed"
else
	fail wrong-type-key "$n reports, XLEN $(rcli -p "$P1" XLEN t:wrong): $(head -3 "$T/wrong.err")"
fi
# list mode against a stream key
timeout 30 "$DRIVER" "$URL?key=t:acl&mode=list&$QS&close_ms=300&spool=$T/spool-wrong2" "$T/acl.jsonl" >/dev/null 2>"$T/wrong3.err"
if grep -q "key 't:acl' is a stream, not a list" "$T/wrong3.err"; then
	ok wrong-type-key-list
else
	fail wrong-type-key-list "$(head -3 "$T/wrong3.err")"
fi

# ---- redis out of memory ------------------------------------------------

P4=$(free_port)
start_redis oom "$P4" --maxmemory-policy noeviction
used=$(rcli -p "$P4" INFO memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
rcli -p "$P4" CONFIG SET maxmemory $((used + 400000)) >/dev/null
gen_records "$T/oom.jsonl" 5000 oom 200
timeout 60 "$DRIVER" "redis://127.0.0.1:$P4?key=t:oom&$QS&close_ms=500&spool=$T/spool-oom" "$T/oom.jsonl" >/dev/null 2>"$T/oom.err"
n=$(grep -c "out of memory" "$T/oom.err")
rcli -p "$P4" CONFIG SET maxmemory 0 >/dev/null
timeout 60 "$DRIVER" "redis://127.0.0.1:$P4?key=t:oom&$QS&spool=$T/spool-oom" /dev/null >/dev/null 2>"$T/oom2.err"
stream_ids "$P4" t:oom | sort -u >"$T/oom.ids"
if [ "$n" = 1 ] && [ "$(wc -l <"$T/oom.ids")" = 5000 ]; then
	ok redis-oom "reported once; all 5000 delivered once memory was raised"
else
	fail redis-oom "$n reports, $(wc -l <"$T/oom.ids") unique delivered: $(head -3 "$T/oom.err")"
fi
kill_redis oom

# ---- the consumer: mailtap-alerts ---------------------------------------

awk 'BEGIN { sev[0] = "low"; sev[1] = "medium"; sev[2] = "high"
	for (i = 1; i <= 20000; i++)
		printf "{\"event_type\":\"alert\",\"ts\":\"2026-03-02T09:00:%02d.000000Z\",\"alert_id\":\"%016x\",\"revision\":%d,\"kind\":\"bulk_download\",\"score\":%d,\"severity\":\"%s\",\"src_ip\":\"10.1.0.%d\",\"provider\":\"microsoft365\",\"service\":\"web\",\"record_id\":\"a%06d\",\"reasons\":[{\"signal\":\"bulk_download\",\"strength\":1.0,\"detail\":\"%d MB down in 30 min\"},{\"signal\":\"off_hours\",\"strength\":0.2,\"detail\":\"outside working hours\"}]}\n", i % 60, i, i % 2, 30 + (i % 3) * 25, sev[i % 3], i % 7, i, i
}' >"$T/alerts.jsonl"
timeout 90 "$DRIVER" "$URL?$QS&close_ms=60000&spool=$T/spool-alerts" "$T/alerts.jsonl" --kind alerts >/dev/null 2>"$T/al.err"
AK=mailtap:alerts
timeout 60 "$ALERTS" --redis "$URL" --group g1 --consumer c1 --json --count 50 >"$T/c1.out" 2>"$T/c1.err" &
C1=$!
timeout 60 "$ALERTS" --redis "$URL" --group g1 --consumer c2 --json --count 50 >"$T/c2.out" 2>"$T/c2.err" &
C2=$!
wait "$C1"
r1=$?
wait "$C2"
r2=$?
n1=$(wc -l <"$T/c1.out")
n2=$(wc -l <"$T/c2.out")
cat "$T/c1.out" "$T/c2.out" | sort >"$T/c12.sorted"
if [ "$r1" = 0 ] && [ "$r2" = 0 ] && [ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] &&
	[ "$(sort -u "$T/c12.sorted" | wc -l)" = 20000 ] && [ "$(wc -l <"$T/c12.sorted")" = 20000 ]; then
	ok consumer-group-shared "c1 $n1 + c2 $n2 = 20000, no duplicates"
else
	fail consumer-group-shared "exit $r1/$r2, $n1 + $n2, $(sort -u "$T/c12.sorted" | wc -l) unique; $(head -2 "$T/c1.err")"
fi
if [ "$(rcli -p "$P1" --raw XPENDING $AK g1 | head -1)" = 0 ]; then
	ok consumer-acks
else
	fail consumer-acks "$(rcli -p "$P1" --raw XPENDING $AK g1 | head -1) pending"
fi

# a consumer that crashed with entries pending: another one claims them
rcli -p "$P1" XGROUP CREATE $AK g2 0 >/dev/null
rcli -p "$P1" --raw XREADGROUP GROUP g2 crashed COUNT 5 STREAMS $AK '>' >/dev/null
sleep 0.3
timeout 60 "$ALERTS" --redis "$URL" --group g2 --consumer rescuer --json --claim-idle-ms 200 >"$T/c3.out" 2>"$T/c3.err"
first5=$(head -5 "$T/alerts.jsonl")
if [ "$(head -5 "$T/c3.out")" = "$first5" ] && [ "$(wc -l <"$T/c3.out")" = 20000 ] &&
	grep -q "5 claimed" "$T/c3.err" && [ "$(rcli -p "$P1" --raw XPENDING $AK g2 | head -1)" = 0 ]; then
	ok consumer-claims-stale-pending "5 entries of the crashed consumer claimed"
else
	fail consumer-claims-stale-pending "$(wc -l <"$T/c3.out") lines; $(cat "$T/c3.err")"
fi

# the same consumer name after a crash gets its own pending entries first
rcli -p "$P1" XGROUP CREATE $AK g3 0 >/dev/null
rcli -p "$P1" --raw XREADGROUP GROUP g3 me COUNT 3 STREAMS $AK '>' >/dev/null
timeout 60 "$ALERTS" --redis "$URL" --group g3 --consumer me --json >"$T/c4.out" 2>"$T/c4.err"
if [ "$(head -3 "$T/c4.out")" = "$(head -3 "$T/alerts.jsonl")" ] && [ "$(wc -l <"$T/c4.out")" = 20000 ]; then
	ok consumer-own-pending-first
else
	fail consumer-own-pending-first "$(wc -l <"$T/c4.out") lines; $(cat "$T/c4.err")"
fi

# filters and the readable format (docs/tools.md): a line per alert, then
# one indented line per reason with its sentence
timeout 60 "$ALERTS" --redis "$URL" --group g4 --severity high --host 10.1.0.3 >"$T/c5.out" 2>"$T/c5.err"
want=$(grep '"severity":"high"' "$T/alerts.jsonl" | grep -c '"src_ip":"10.1.0.3"')
# the first such alert, as the format shows it
first=$(grep '"severity":"high"' "$T/alerts.jsonl" | grep -m1 '"src_ip":"10.1.0.3"')
fid=$(echo "$first" | sed -n 's/.*"alert_id":"\([0-9a-f]*\)".*/\1/p')
frev=$(echo "$first" | sed -n 's/.*"revision":\([0-9]*\).*/\1/p')
fts=$(echo "$first" | sed -n 's/.*"ts":"\([^"]*\)".*/\1/p')
fmb=$(echo "$first" | sed -n 's/.*"detail":"\([0-9]*\) MB.*/\1/p')
expect="$fts high 10.1.0.3 score=80 microsoft365/web bulk_download alert=$fid rev=$frev
    bulk_download: $fmb MB down in 30 min
    off_hours: outside working hours"
if [ "$(grep -c '^2026' "$T/c5.out")" = "$want" ] && [ "$want" -gt 0 ] &&
	[ "$(wc -l <"$T/c5.out")" = $((want * 3)) ] && [ "$(head -3 "$T/c5.out")" = "$expect" ]; then
	ok consumer-filters-readable "$want alerts, 3 lines each"
else
	fail consumer-filters-readable "$(grep -c '^2026' "$T/c5.out") alerts, want $want: $(head -3 "$T/c5.out") / want $expect"
fi
timeout 60 "$ALERTS" --redis "$URL?key=t:stream" --group g5 --kind session,session_update >"$T/c6.out" 2>"$T/c6.err"
if [ "$(wc -l <"$T/c6.out")" = "$nrec" ] && head -1 "$T/c6.out" | grep -q ' -> .* up=[0-9]* down=[0-9]*'; then
	ok consumer-session-summary
else
	fail consumer-session-summary "$(head -1 "$T/c6.out") $(cat "$T/c6.err")"
fi
# a mistyped --key: no empty stream made, exit 2 naming key and server
timeout 20 "$ALERTS" --redis "$URL" --key typo --group g8 >"$T/c9.out" 2>"$T/c9.err"
r9=$?
if [ "$r9" = 2 ] && [ "$(rcli -p "$P1" EXISTS typo)" = 0 ] &&
	[ "$(cat "$T/c9.err")" = "mailtap-alerts: no stream 'typo' at $URL; is the sensor writing there?" ]; then
	ok consumer-missing-stream "exit 2, no stream created"
else
	fail consumer-missing-stream "exit $r9, EXISTS $(rcli -p "$P1" EXISTS typo): $(cat "$T/c9.err")"
fi
rcli -p "$P1" SET t:string x >/dev/null
timeout 20 "$ALERTS" --redis "$URL" --key t:string >/dev/null 2>"$T/c10.err"
r10=$?
if [ "$r10" = 2 ] && grep -q "'t:string' at $URL is a string, not a stream" "$T/c10.err"; then
	ok consumer-not-a-stream
else
	fail consumer-not-a-stream "exit $r10: $(cat "$T/c10.err")"
fi
# --follow: prints a record written after it started, stops on SIGTERM
timeout 30 "$ALERTS" --redis "$URL" --key t:follow --group g6 --follow --json >"$T/c7.out" 2>"$T/c7.err" &
C7=$!
sleep 0.5
rcli -p "$P1" XADD t:follow '*' data '{"kind":"late","severity":"high"}' >/dev/null
for i in $(seq 1 30); do
	grep -q late "$T/c7.out" && break
	sleep 0.1
done
kill -TERM "$C7"
wait "$C7"
r7=$?
if grep -q '"late"' "$T/c7.out" && [ "$r7" = 0 ]; then
	ok consumer-follow
else
	fail consumer-follow "exit $r7: $(cat "$T/c7.out" "$T/c7.err")"
fi
# README's command: the URL as the argument, --follow, a stream
timeout 30 "$ALERTS" "$URL?key=t:readme" --follow >"$T/c11.out" 2>"$T/c11.err" &
C11=$!
sleep 0.5
rcli -p "$P1" XADD t:readme '*' data "$(sed -n 3p "$T/alerts.jsonl")" >/dev/null
for i in $(seq 1 30); do
	grep -q ' alert=' "$T/c11.out" && break
	sleep 0.1
done
kill -TERM "$C11"
wait "$C11"
r11=$?
want=$(sed -n 3p "$T/alerts.jsonl" | sed -n 's/.*"alert_id":"\([0-9a-f]*\)".*/\1/p')
if [ "$r11" = 0 ] && grep -q "^2026-03-02T09:00:03.000000Z low 10.1.0.3 score=30 microsoft365/web bulk_download alert=$want rev=1$" "$T/c11.out"; then
	ok consumer-url-argument-follow "mailtap-alerts URL --follow"
else
	fail consumer-url-argument-follow "exit $r11: $(cat "$T/c11.out" "$T/c11.err" | head -4)"
fi
if "$ALERTS" "$URL" --redis "$URL" >/dev/null 2>&1; then
	fail consumer-url-twice "a URL argument and --redis accepted"
else
	ok consumer-url-twice
fi

# a list (?mode=list): the sensor's RPUSHes, read without removing them
timeout 90 "$DRIVER" "$URL?key=t:alist&mode=list&$QS&close_ms=60000&spool=$T/spool-alist" "$T/alerts.jsonl" --kind alerts >/dev/null 2>"$T/alist.err"
timeout 60 "$ALERTS" "$URL?key=t:alist&mode=list" --json --count 333 >"$T/c12.out" 2>"$T/c12.err"
r12=$?
if [ "$r12" = 0 ] && cmp -s "$T/c12.out" "$T/alerts.jsonl" && [ "$(rcli -p "$P1" LLEN t:alist)" = 20000 ]; then
	ok consumer-list "20000 records in order, list left as it was"
else
	fail consumer-list "exit $r12, $(wc -l <"$T/c12.out") lines: $(cmp "$T/c12.out" "$T/alerts.jsonl" 2>&1) $(head -2 "$T/c12.err")"
fi
timeout 60 "$ALERTS" "$URL?key=t:alist&mode=list" --severity critical >"$T/c13.out" 2>"$T/c13.err"
if [ "$(grep -c '^2026' "$T/c13.out")" = 0 ] && grep -q '20000 read, 0 printed' "$T/c13.err"; then
	ok consumer-list-filter "no critical among 20000"
else
	fail consumer-list-filter "$(head -2 "$T/c13.out") $(cat "$T/c13.err")"
fi
# --follow on a list: entries pushed later are printed
timeout 30 "$ALERTS" "$URL?key=t:alist2&mode=list" --follow --json >"$T/c14.out" 2>"$T/c14.err" &
C14=$!
sleep 0.3
rcli -p "$P1" RPUSH t:alist2 '{"event_type":"alert","kind":"beaconing","severity":"medium"}' >/dev/null
for i in $(seq 1 30); do
	grep -q beaconing "$T/c14.out" && break
	sleep 0.1
done
kill -TERM "$C14"
wait "$C14"
if [ "$(cat "$T/c14.out")" = '{"event_type":"alert","kind":"beaconing","severity":"medium"}' ] &&
	grep -q "no list 't:alist2' at $URL yet; waiting" "$T/c14.err"; then
	ok consumer-list-follow
else
	fail consumer-list-follow "$(cat "$T/c14.out" "$T/c14.err")"
fi
# a stream read as a list, and the other way round: exit 2 with a hint
timeout 20 "$ALERTS" "$URL?key=t:follow&mode=list" >/dev/null 2>"$T/c15.err"
r15=$?
timeout 20 "$ALERTS" "$URL?key=t:alist" >/dev/null 2>"$T/c16.err"
r16=$?
if [ "$r15" = 2 ] && grep -q "'t:follow' at $URL is a stream, not a list; read it without ?mode=list" "$T/c15.err" &&
	[ "$r16" = 2 ] && grep -q "'t:alist' at $URL is a list, not a stream; read it with ?mode=list" "$T/c16.err"; then
	ok consumer-mode-mismatch
else
	fail consumer-mode-mismatch "exit $r15/$r16: $(cat "$T/c15.err" "$T/c16.err")"
fi

# a JSON-lines file (no server): the example alert of docs/alerts.md
python3 -c 'import json, re, sys
doc = open("docs/alerts.md").read()
ex = re.search(r"```json\n(.*?)```", doc, re.S).group(1)
print(json.dumps(json.loads(ex), separators=(",", ":")))' >"$T/doc-alert.jsonl"
cat "$T/doc-alert.jsonl" "$T/doc-alert.jsonl" >"$T/doc-alert2.jsonl"
"$ALERTS" "$T/doc-alert.jsonl" >"$T/c17.out" 2>"$T/c17.err"
r17=$?
expect="2026-03-04T10:03:06.830992Z critical 10.1.0.66 score=85 microsoft365/web bulk_download alert=6f3bd7a7ef82d148 rev=0
    bulk_download: 61.7 MB down in 30 min, 36x this host's usual hourly peak (3.4 MB/h)
    beaconing: 12 connections in the last hour, median interval 302 s, RITA beacon score 0.935 (regular before: its usual behaviour)"
if [ "$r17" = 0 ] && [ "$(cat "$T/c17.out")" = "$expect" ]; then
	ok consumer-file-docs-example "time, severity, host, score, provider/service, kind, id/revision, reasons"
else
	fail consumer-file-docs-example "exit $r17: $(cat "$T/c17.out" "$T/c17.err")"
fi
if [ "$("$ALERTS" - --host 10.1.0.66 --json <"$T/doc-alert2.jsonl" 2>/dev/null | wc -l)" = 2 ] &&
	[ "$("$ALERTS" - --severity low <"$T/doc-alert2.jsonl" 2>/dev/null | wc -l)" = 0 ]; then
	ok consumer-stdin-filters
else
	fail consumer-stdin-filters "$("$ALERTS" - --host 10.1.0.66 --json <"$T/doc-alert2.jsonl" 2>&1 | head -2)"
fi
"$ALERTS" "$T/no-such-file" >/dev/null 2>"$T/c18.err"
r18=$?
if [ "$r18" = 2 ] && grep -q "cannot open $T/no-such-file: No such file" "$T/c18.err"; then
	ok consumer-file-missing
else
	fail consumer-file-missing "exit $r18: $(cat "$T/c18.err")"
fi
# --follow on a file: a line appended later (written in two parts) is printed once whole
: >"$T/grow.jsonl"
timeout 30 "$ALERTS" "$T/grow.jsonl" --follow >"$T/c19.out" 2>"$T/c19.err" &
C19=$!
sleep 0.3
head -c 100 "$T/doc-alert.jsonl" >>"$T/grow.jsonl"
sleep 0.5
tail -c +101 "$T/doc-alert.jsonl" >>"$T/grow.jsonl"
for i in $(seq 1 30); do
	[ -s "$T/c19.out" ] && grep -q beaconing "$T/c19.out" && break
	sleep 0.1
done
kill -TERM "$C19"
wait "$C19"
r19=$?
if [ "$r19" = 0 ] && [ "$(cat "$T/c19.out")" = "$expect" ] && [ ! -s "$T/c19.err" -o "$(grep -c 'not a JSON' "$T/c19.err")" = 0 ]; then
	ok consumer-file-follow "a line appended in two writes printed once"
else
	fail consumer-file-follow "exit $r19: $(cat "$T/c19.out" "$T/c19.err")"
fi

# the last heartbeat, at exit, says the sensor stopped (with its final
# counts) instead of staying "up" with stale ones until the TTL runs out
if timeout 60 "$BUILD/mailtap" -q -r pcaps/nosni.pcap --sensor-id hbstop \
	--sessions "$URL/0?key=t:hbstop" 2>"$T/hbstop.err"; then
	hs=$(rcli -p "$P1" HGET mailtap:sensor:hbstop state)
	hp=$(rcli -p "$P1" HGET mailtap:sensor:hbstop packets)
	httl=$(rcli -p "$P1" TTL mailtap:sensor:hbstop)
	if [ "$hs" = stopped ] && [ "$hp" = 96 ] && [ "$httl" -gt 0 ]; then
		ok heartbeat-stopped-at-exit "state stopped, packets 96, TTL $httl"
	else
		fail heartbeat-stopped-at-exit "state '$hs', packets '$hp', TTL $httl"
	fi
else
	fail heartbeat-stopped-at-exit "exit $?: $(head -3 "$T/hbstop.err")"
fi

"$ALERTS" --bogus 2>/dev/null
brc=$?
if "$ALERTS" --help | grep -q -- --claim-idle-ms && [ "$brc" = 2 ]; then
	ok consumer-help
else
	fail consumer-help "--help without --claim-idle-ms, or a bad option exits $brc, not 2"
fi

echo "#summary $passed $failed"
[ "$failed" -eq 0 ]
