#!/usr/bin/env bash
# bench-bench.sh - herd bench against wrk on one nginx target.
#
# Starts one nginx (Debian's; config generated in a temp dir: access_log off,
# `return 200 "<p>hello, world</p>\n"`, daemon off) on loopback and drives it
# with `herd bench` and wrk alternately, with the same threads, connections
# and duration, in two modes: keep-alive, and a new connection per request
# (herd bench -k 0; wrk with -H 'Connection: close'). Prints the median req/s
# of each tool per mode, the ratio herd/wrk (target: >= 1.1) and both tools'
# peak RSS (target: herd smaller). herd bench records every latency in its
# HDR histograms while doing so.
#
#   scripts/bench-bench.sh            (env: THREADS=1 CONNS=50 DURATION=5s ROUNDS=3 NGINX_WORKERS=1)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh peer
[ -x build/herd ] || make -s build/herd

THREADS=${THREADS:-1}
CONNS=${CONNS:-50}
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}
NGINX_WORKERS=${NGINX_WORKERS:-1}
HERD=${HERD_FAST:-build/herd}

tmp=$(mktemp -d /tmp/herd-bench-bench.XXXXXX)
nginx_pid=
cleanup() {
	if [ -n "$nginx_pid" ]; then
		kill -TERM "$nginx_pid" 2>/dev/null || true
		wait "$nginx_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

port=
for _ in $(seq 100); do
	p=$((20000 + RANDOM % 30000))
	if ! ss -Htln "sport = :$p" | grep -q .; then port=$p; break; fi
done
[ -n "$port" ] || { echo "bench-bench: no free port" >&2; exit 1; }

mkdir -p "$tmp/nginx"
cat >"$tmp/nginx.conf" <<CONF
worker_processes $NGINX_WORKERS;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $tmp/nginx/body;
	proxy_temp_path $tmp/nginx/proxy;
	fastcgi_temp_path $tmp/nginx/fastcgi;
	uwsgi_temp_path $tmp/nginx/uwsgi;
	scgi_temp_path $tmp/nginx/scgi;
	keepalive_requests 100000000;
	server {
		listen 127.0.0.1:$port backlog=4096;
		location / { return 200 "<p>hello, world</p>\n"; }
	}
}
CONF
nginx -c "$tmp/nginx.conf" -e "$tmp/error.log" &
nginx_pid=$!
for _ in $(seq 100); do ss -Htln "sport = :$port" | grep -q . && break; sleep 0.05; done
ss -Htln "sport = :$port" | grep -q . || { echo "bench-bench: nginx did not start:" >&2; cat "$tmp/error.log" >&2; exit 1; }

url=http://127.0.0.1:$port/
# run_one TOOL MODE ROUND: prints "rps rss_kb".
run_one() {
	local tool=$1 mode=$2 out=$tmp/$1-$2-$3
	if [ "$tool" = herd ]; then
		local k=1000000000
		[ "$mode" = close ] && k=0
		/usr/bin/time -f '%M' -o "$out.time" "$HERD" bench -t "$THREADS" -c "$CONNS" -d "$DURATION" -k "$k" \
			--json "$out.json" "$url" >"$out.txt" 2>&1 || true
		rps=$(sed -n 's/.*"requests_per_s": \([0-9.]*\).*/\1/p' "$out.json")
	else
		local hdr=()
		[ "$mode" = close ] && hdr=(-H 'Connection: close')
		/usr/bin/time -f '%M' -o "$out.time" wrk -t "$THREADS" -c "$CONNS" -d "$DURATION" "${hdr[@]}" "$url" \
			>"$out.txt" 2>&1 || true
		rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$out.txt")
	fi
	echo "${rps:-0} $(tail -1 "$out.time")"
}

median() { sort -g | awk '{v[NR]=$1} END {if (NR == 0) print 0; else if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
echo "nginx workers $NGINX_WORKERS; load: $THREADS thread(s), $CONNS connections, $DURATION per run, $ROUNDS rounds, alternating"
for mode in keepalive close; do
	for r in $(seq "$ROUNDS"); do
		for tool in herd wrk; do
			read -r rps rss < <(run_one "$tool" "$mode" "$r")
			echo "$rps" >>"$tmp/$tool-$mode.rps"
			echo "$rss" >>"$tmp/$tool-$mode.rss"
			printf '  round %d %-9s %-4s %12.1f req/s  %7d KB\n' "$r" "$mode" "$tool" "$rps" "$rss"
		done
	done
done

echo
printf '%-22s %14s %14s %8s %12s %12s\n' mode "herd req/s" "wrk req/s" ratio "herd RSS KB" "wrk RSS KB"
for mode in keepalive close; do
	h=$(median <"$tmp/herd-$mode.rps")
	w=$(median <"$tmp/wrk-$mode.rps")
	hr=$(sort -n "$tmp/herd-$mode.rss" | tail -1)
	wr=$(sort -n "$tmp/wrk-$mode.rss" | tail -1)
	label=$mode
	[ "$mode" = close ] && label="connection-per-request"
	printf '%-22s %14.1f %14.1f %8.2f %12d %12d\n' "$label" "$h" "$w" "$(awk -v h="$h" -v w="$w" 'BEGIN {print (w > 0 ? h / w : 0)}')" "$hr" "$wr"
done
echo "(median of $ROUNDS rounds; ratio = herd/wrk, target >= 1.10; RSS = peak resident set)"
