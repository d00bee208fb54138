#!/usr/bin/env bash
# bench-steer-block.sh - how many new connections herd serve's `steer` sends
# to a worker that is blocked: 4 workers, one of them blocked in
# /sleep?ms=2500, and 0.2 s later an open loop of 1000 requests/s (a new
# connection each, 1500 requests, /cpu?us=CPU_US) with a 1 s limit per
# request. Prints, per run, the connections the blocked worker accepted
# during the load (each waited for its sleep to end) and the requests that
# failed. With HERD_BEFORE=BINARY the runs alternate between that binary
# and HERD (default build/herd), so that drifting machine load hits both.
#
#   scripts/bench-steer-block.sh [ROUNDS] [CPU_US]
#
# Defaults: 3 rounds, 1000 us (which keeps two CPUs busy). Needs CAP_BPF and
# CAP_NET_ADMIN (root), and CAP_PERFMON for the queue-aware program.
set -eu
cd "$(dirname "$0")/.."
. scripts/lib.sh
rounds=${1:-3}
us=${2:-1000}
posint ROUNDS "$rounds"
posint CPU_US "$us"
need_herd
command -v curl >/dev/null || die "curl is needed"

tmp=$(mktemp -d /tmp/herd-bench-steer-block.XXXXXX)
spid=
cleanup() {
	[ -n "$spid" ] && kill -TERM "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# one BINARY LABEL: one run.
one() {
	local bin=$1 label=$2 port s w a0 a1 c
	port=$(free_port)
	"$bin" serve --listen "127.0.0.1:$port" --accept steer --workers 4 --test-routes on 2>"$tmp/serve.err" &
	spid=$!
	for _ in $(seq 200); do
		grep -q "listening on" "$tmp/serve.err" && break
		alive "$spid" || die "herd serve did not start: $(cat "$tmp/serve.err")"
		sleep 0.05
	done
	curl -s -o /dev/null -m 5 "http://127.0.0.1:$port/sleep?ms=2500" &
	c=$!
	sleep 0.2
	# The blocked worker: one in flight, no request finished.
	s=$(curl -s -m 1 "http://127.0.0.1:$port/stats.txt")
	w=$(printf '%s\n' "$s" | awk '/^worker/ && $8 == 0 && $12 == 1 { print $2; exit }')
	a0=$(printf '%s\n' "$s" | awk -v w="$w" '/^worker/ && $2 == w { print $6 }')
	"$HERD" bench -k 0 --rate 1000 -n 1500 -c 400 --timeout 1s --json "$tmp/bench.json" \
		"http://127.0.0.1:$port/cpu?us=$us" >/dev/null 2>&1 || true
	wait "$c" || true
	kill -TERM "$spid"
	wait "$spid" || true
	spid=
	a1=$(sed -n "s/^herd serve: worker $w pid [0-9]* accepted \([0-9]*\) .*/\1/p" "$tmp/serve.err")
	printf '%-7s behind the blocked worker %s  failed %s of 1500\n' "$label" "$((a1 - a0))" \
		"$(sed -n 's/.*"failed": *\([0-9]*\).*/\1/p' "$tmp/bench.json" | head -1)"
}

for r in $(seq "$rounds"); do
	[ -n "${HERD_BEFORE-}" ] && one "$HERD_BEFORE" before
	one "$HERD" herd
done
