#!/usr/bin/env bash
# bench-balance.sh - what `herd balance` does for an unchanged nginx 1.22 with
# `listen ... reuseport` and 4 workers (the lab's Lua handler: /cpu?us=N
# burns CPU, /sleep?ms=N blocks the whole worker), in alternating rounds so
# that drifting machine load hits every side alike:
#   calm    a closed loop of new connections, /cpu?us=1000, CONCURRENCY in
#           flight (15: the lab's stall load has 16, one of them asleep)
#   stall   the same with, beside it, /sleep?ms=50 requests at 1% of the calm
#           rate (an open loop of its own): the calm loop's p99 is "the
#           others'" p99, as in herd lab's stall scenario
#   idle    60 requests at 100/s, one connection each: the busiest worker's
#           share of them (25% is even)
# each without and with balance attached (calm too: what the program costs).
# Then 10 attach/detach cycles of balance during one open-loop run: the
# bench JSON's failed count (target 0).
#
#   scripts/bench-balance.sh [ROUNDS] [CALM_REQUESTS] [CONCURRENCY]
#
# Defaults: 3 rounds, 1500 requests, 15 connections. Needs root, nginx and its Lua module
# (scripts/setup.sh peer). Starts and reaps its own nginx on 127.0.0.1.
set -eu
cd "$(dirname "$0")/.."
. scripts/lib.sh
rounds=${1:-3}
nreq=${2:-1500}
conc=${3:-15}
posint ROUNDS "$rounds"
posint CALM_REQUESTS "$nreq"
posint CONCURRENCY "$conc"
[ "$(id -u)" = 0 ] || die "needs root (herd balance)"
modules=/usr/lib/nginx/modules
if ! command -v nginx >/dev/null || [ ! -r $modules/ngx_http_lua_module.so ]; then
	scripts/setup.sh peer >/dev/null || die "nginx and its Lua module are needed (scripts/setup.sh peer)"
fi
need_herd

tmp=$(mktemp -d /tmp/herd-bench-balance.XXXXXX)
npid= bpid=
cleanup() {
	[ -n "$bpid" ] && kill -TERM "$bpid" 2>/dev/null && wait "$bpid" 2>/dev/null
	[ -n "$npid" ] && kill -TERM "$npid" 2>/dev/null && wait "$npid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
port=$(free_port)

# The lab's nginx (src/lab/nginx.c), with reuseport and without its /stats.
cat >"$tmp/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 4;
worker_rlimit_nofile 8192;
user root root;
pid $tmp/nginx.pid;
error_log $tmp/error.log warn;
load_module $modules/ndk_http_module.so;
load_module $modules/ngx_http_lua_module.so;
events { worker_connections 2048; accept_mutex off; }
http {
  access_log off;
  client_body_temp_path $tmp/body;
  proxy_temp_path $tmp/proxy;
  fastcgi_temp_path $tmp/fastcgi;
  uwsgi_temp_path $tmp/uwsgi;
  scgi_temp_path $tmp/scgi;
  init_by_lua_block { require('ffi').cdef('int usleep(unsigned int usec);') }
  server {
    listen 127.0.0.1:$port backlog=511 reuseport;
    location / {
      content_by_lua_block {
        local us = tonumber(ngx.var.arg_us)
        if us and us > 0 then
          local stop, x = os.clock() + us / 1e6, 0
          repeat for i = 1, 100 do x = x + i end until os.clock() >= stop
        end
        local ms = tonumber(ngx.var.arg_ms)
        if ms and ms > 0 then require('ffi').C.usleep(ms * 1000) end
        ngx.header.content_length = 20
        ngx.print('<p>hello, world</p>\n')
      }
    }
  }
}
EOF
nginx -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/error.log" >"$tmp/nginx.out" 2>&1 &
npid=$!
wait_port "$port" "$npid" || die "nginx did not start: $(cat "$tmp/error.log" "$tmp/nginx.out")"
url=http://127.0.0.1:$port

json_num() { sed -n "s/^ *\"$2\": \([0-9.]*\),*$/\1/p" "$1" | head -1; }
p99() { sed -n '/"latency"/,/}/p' "$1" | sed -n 's/^ *"p99": \([0-9]*\),*$/\1/p'; }

attach() {
	$HERD balance --port "$port" >"$tmp/balance.out" 2>"$tmp/balance.err" &
	bpid=$!
	for _ in $(seq 200); do
		grep -qs "attached to" "$tmp/balance.err" && return 0
		alive "$bpid" || break
		sleep 0.05
	done
	die "herd balance did not attach: $(cat "$tmp/balance.err")"
}
detach() {
	kill -TERM "$bpid"
	wait "$bpid" || die "herd balance exited $?: $(cat "$tmp/balance.err")"
	bpid=
}

# calm OUT: the calm loop alone.
calm() { $HERD bench -k 0 -c "$conc" -n "$nreq" --json "$1" "$url/cpu?us=1000" >/dev/null 2>&1 || true; }
# stall OUT RATE: the calm loop with 50 ms sleeps at RATE/s beside it.
stall() {
	local secs
	secs=$(awk -v n="$nreq" -v r="$2" 'BEGIN { printf "%.1f", n / (r * 100) + 1 }')
	$HERD bench -k 0 -c 4 --rate "$2" -d "${secs}s" "$url/sleep?ms=50" >/dev/null 2>&1 &
	local spid=$!
	$HERD bench -k 0 -c "$conc" -n "$nreq" --json "$1" "$url/cpu?us=1000" >/dev/null 2>&1 || true
	kill -INT "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
}
# idle OUT: 60 requests at 100/s, the busiest worker's share of the
# accepts, in percent (herd watch counts them in the kernel).
idle() {
	$HERD watch --port "$port" --plain --interval 10s --duration 1.5 >"$tmp/watch.out" 2>"$tmp/watch.err" &
	local wpid=$!
	for _ in $(seq 200); do
		grep -qs "watching port" "$tmp/watch.err" && break
		sleep 0.05
	done
	$HERD bench -k 0 --rate 100 -n 60 "$url/" >/dev/null 2>&1 || true
	wait "$wpid" || true
	sed -n 's/^total .*busiest_share=\([0-9.]*\).*/\1/p' "$tmp/watch.out" | awk '{ printf "%.1f\n", $1 * 100 }' >"$1"
}

calm "$tmp/warm.json"
rate=$(awk -v r="$(json_num "$tmp/warm.json" requests_per_s)" 'BEGIN { printf "%.1f", r / 99 }')
echo "calm rate $(json_num "$tmp/warm.json" requests_per_s)/s: stall sleeps at $rate/s (1%)"
for r in $(seq "$rounds"); do
	for side in off on; do
		[ "$side" = on ] && attach
		calm "$tmp/calm.$side.$r.json"
		stall "$tmp/stall.$side.$r.json" "$rate"
		idle "$tmp/idle.$side.$r"
		[ "$side" = on ] && detach
		printf 'round %d balance %-3s calm p99 %6s us  stall p99 %6s us  idle busiest %s%%\n' "$r" "$side" \
			"$(p99 "$tmp/calm.$side.$r.json")" "$(p99 "$tmp/stall.$side.$r.json")" "$(cat "$tmp/idle.$side.$r")"
	done
done
for side in off on; do
	c=$(for r in $(seq "$rounds"); do p99 "$tmp/calm.$side.$r.json"; done | median)
	s=$(for r in $(seq "$rounds"); do p99 "$tmp/stall.$side.$r.json"; done | median)
	i=$(for r in $(seq "$rounds"); do cat "$tmp/idle.$side.$r"; done | median)
	printf 'median balance %-3s calm p99 %s us  stall p99 %s us  stall/calm %s  idle busiest %s%%\n' "$side" "$c" "$s" \
		"$(awk -v s="$s" -v c="$c" 'BEGIN { printf "%.2f", c ? s / c : 0 }')" "$i"
done

# Attach and detach 10 times during one open-loop run.
$HERD bench -k 0 --rate 200 -d 20s --timeout 5s --json "$tmp/churn.json" "$url/cpu?us=1000" >/dev/null 2>&1 &
lpid=$!
sleep 0.5
for _ in $(seq 10); do
	attach
	sleep 0.4
	detach
	sleep 0.3
done
kill -INT "$lpid" 2>/dev/null || true
wait "$lpid" || true
echo "10 attach/detach cycles under --rate 200: $(json_num "$tmp/churn.json" done) done, $(json_num "$tmp/churn.json" failed) failed"
