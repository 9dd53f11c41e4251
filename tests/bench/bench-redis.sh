#!/bin/bash
# bench-redis.sh -- records per second the Redis sink delivers (pipelined,
# through the delivery thread) next to redis-benchmark -t xadd,rpush on the
# same throw-away server.  Not part of `make test`.  Run from the repo root:
#
#   tests/bench/bench-redis.sh [RECORDS] [BATCH...]
#
# RECORDS defaults to 200000 session-sized records (~420 bytes); BATCH
# values default to "1 16 256 1024".
set -u
cd "$(dirname "$0")/../.."
N=${1:-200000}
shift || true
BATCHES=${*:-1 16 256 1024}
T=$(mktemp -d /tmp/mailtap-bench.XXXXXX)
RPID=
cleanup() { [ -n "$RPID" ] && kill "$RPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$PORT" --bind 127.0.0.1 --dir "$T" --save '' --appendonly no \
	--logfile "$T/log" >/dev/null 2>&1 &
RPID=$!
for i in $(seq 1 50); do redis-cli -p "$PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done

SRC="userspace/output.c userspace/output-file.c userspace/output-redis.c userspace/output-redis-url.c userspace/util-units.c userspace/util-log.c userspace/spool.c userspace/util-time.c"
cc -std=gnu11 -O2 -D_GNU_SOURCE -Iuserspace $(pkg-config --cflags hiredis jansson zlib) -o "$T/driver" \
	tests/redis/redis-driver.c $SRC $(pkg-config --libs hiredis jansson zlib) -lpthread -lm || exit 1

# a session-sized record (the demo records are ~420 bytes)
pad=$(head -c 330 /dev/zero | tr '\0' x)
awk -v n="$N" -v pad="$pad" 'BEGIN { for (i = 1; i <= n; i++)
	printf "{\"event_type\":\"session\",\"record_id\":\"b%08d\",\"src_ip\":\"10.1.0.%d\",\"pad\":\"%s\"}\n", i, i % 250, pad }' >"$T/recs"
size=$(head -1 "$T/recs" | wc -c)

echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on 127.0.0.1:$PORT, $N records of $size bytes"
for mode in stream list; do
	for b in $BATCHES; do
		redis-cli -p "$PORT" FLUSHALL >/dev/null
		out=$("$T/driver" "redis://127.0.0.1:$PORT?mode=$mode&batch=$b&flush_ms=5&queue=1000000&close_ms=120000&spool=$T/spool" "$T/recs")
		secs=$(echo "$out" | sed 's/.*seconds \([0-9.]*\).*/\1/')
		key=$([ $mode = stream ] && echo XLEN || echo LLEN)
		got=$(redis-cli -p "$PORT" $key mailtap:sessions)
		printf 'mailtap %-6s batch %-5s %8.0f records/s delivered (%s stored)\n' "$mode" "$b" \
			"$(echo "$got / $secs" | bc -l)" "$got"
	done
done
# redis-benchmark 7.0 has no built-in xadd test: XADD is given as a command
val=$(head -c "$size" /dev/zero | tr '\0' v)
bench() { # LABEL ARGS...: requests per second from --csv
	local label=$1
	shift
	printf 'redis-benchmark %-28s %8.0f requests/s\n' "$label" \
		"$(redis-benchmark -p "$PORT" -n "$N" --csv "$@" 2>/dev/null | tail -1 | cut -d'"' -f4)"
}
redis-cli -p "$PORT" FLUSHALL >/dev/null
bench "RPUSH, 50 clients" -d "$size" -t rpush
bench "RPUSH, 50 clients, -P 256" -d "$size" -P 256 -t rpush
bench "XADD, 50 clients" XADD bench:x '*' data "$val"
bench "XADD, 50 clients, -P 256" -P 256 XADD bench:x '*' data "$val"
bench "XADD, 1 client" -c 1 XADD bench:x '*' data "$val"
bench "XADD, 1 client, -P 256" -c 1 -P 256 XADD bench:x '*' data "$val"
