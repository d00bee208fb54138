#!/usr/bin/env bash
# bench-bench.sh - herd bench against wrk and h2load --h1 on one nginx target.
#
# Starts one nginx (Debian's; config generated in a temp dir: access_log off,
# `return 200 "<p>hello, world</p>\n"`, daemon off) on loopback and drives it
# with `herd bench`, wrk and (keep-alive only) `h2load --h1` alternately,
# with the same threads, connections and duration, in two modes: keep-alive (both tools' default: herd bench
# runs without -k), and a new connection per request (herd bench -k 0; wrk
# with -H 'Connection: close'). Prints the median req/s
# of each tool per mode, the ratio herd/wrk (target: >= 1.1) and both tools'
# peak RSS (target: herd smaller), and the CPU time (user + system) each
# tool spent per request: when nginx is the bottleneck both tools reach the
# same rate, and the CPU column still shows which one is cheaper. herd bench
# records every latency in its HDR histograms while doing so. With 2 or more
# CPUs nginx is pinned to CPU 0 and the load generator to the others
# (PIN=0 turns that off). TLS=1 serves HTTPS with a self-signed certificate
# made for the run (herd bench --insecure; wrk does not verify). wrk keeps
# each connection's SSL object across reconnects (SSL_clear), so it offers
# the last session again and nginx resumes it; herd bench gets --tls-resume
# to do the same: a connection-per-request is then an abbreviated handshake
# for both tools (without resumption both would be bound by nginx's RSA
# signatures, about 3x fewer requests on the 2-CPU VM).
#
#   scripts/bench-bench.sh            (env: THREADS=1 CONNS=50 DURATION=5s ROUNDS=3 NGINX_WORKERS=1 PIN=1 TLS=0 H2LOAD=1)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
[ "${1-}" = -h ] || [ "${1-}" = --help ] && { usage 24; exit 0; }
scripts/setup.sh peer
[ -x build/herd ] || make -s build/herd

THREADS=${THREADS:-1}
CONNS=${CONNS:-50}
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-3}
NGINX_WORKERS=${NGINX_WORKERS:-1}
HERD=${HERD_FAST:-build/herd}
PIN=${PIN:-1}
TLS=${TLS:-0}
bench_setup bench-bench

# The port is drawn below the ephemeral range, which connection-per-request
# runs fill with TIME_WAIT sockets.
port=
read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
[ "$lo" -gt 12000 ] || lo=32768
for _ in $(seq 100); do
	p=$((10000 + RANDOM % (lo - 11000)))
	if ! ss -Htln "sport = :$p" | grep -q .; then port=$p; break; fi
done
[ -n "$port" ] || { echo "bench-bench: no free port" >&2; exit 1; }

mkdir -p "$tmp/nginx"
listen="127.0.0.1:$port backlog=4096" scheme=http tls_conf="" herd_tls=()
if [ "$TLS" = 1 ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 2 \
		-subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1" >/dev/null 2>&1
	listen="$listen ssl" scheme=https herd_tls=(--insecure --tls-resume)
	tls_conf="ssl_certificate $tmp/cert.pem; ssl_certificate_key $tmp/key.pem;"
fi
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
		listen $listen;
		$tls_conf
		location / { return 200 "<p>hello, world</p>\n"; }
	}
}
CONF
"${pin_server[@]}" nginx -c "$tmp/nginx.conf" -e "$tmp/error.log" &
nginx_pid=$!
for _ in $(seq 100); do ss -Htln "sport = :$port" | grep -q . && break; sleep 0.05; done
ss -Htln "sport = :$port" | grep -q . || { echo "bench-bench: nginx did not start:" >&2; cat "$tmp/error.log" >&2; exit 1; }

url=$scheme://127.0.0.1:$port/
# run_one TOOL MODE ROUND: prints "rps rss_kb cpu_s".
run_one() {
	local tool=$1 mode=$2 out=$tmp/$1-$2-$3
	if [ "$tool" = herd ]; then
		# Keep-alive is herd bench's default, as wrk's: the keep-alive
		# mode runs it as a wrk user would, without -k.
		local k=()
		[ "$mode" = close ] && k=(-k 0)
		"${pin_load[@]}" /usr/bin/time -f '%M %U %S' -o "$out.time" "$HERD" bench -t "$THREADS" -c "$CONNS" -d "$DURATION" "${k[@]}" \
			"${herd_tls[@]}" --json "$out.json" "$url" >"$out.txt" 2>&1 || true
		rps=$(sed -n 's/.*"requests_per_s": \([0-9.]*\).*/\1/p' "$out.json")
	elif [ "$tool" = h2load ]; then
		# h2load --h1: HTTP/1.1 keep-alive (its only HTTP/1.1 mode), for
		# the duration in whole seconds.
		"${pin_load[@]}" /usr/bin/time -f '%M %U %S' -o "$out.time" h2load --h1 -t "$THREADS" -c "$CONNS" -D "$dur_s" "$url" \
			>"$out.txt" 2>&1 || true
		rps=$(sed -n 's/^finished in [0-9.]*m*s, \([0-9.]*\) req\/s.*/\1/p' "$out.txt")
	else
		local hdr=()
		[ "$mode" = close ] && hdr=(-H 'Connection: close')
		"${pin_load[@]}" /usr/bin/time -f '%M %U %S' -o "$out.time" wrk -t "$THREADS" -c "$CONNS" -d "$DURATION" "${hdr[@]}" "$url" \
			>"$out.txt" 2>&1 || true
		rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$out.txt")
	fi
	read -r rss usr sys < <(tail -1 "$out.time")
	echo "${rps:-0} $rss $(awk -v u="$usr" -v s="$sys" 'BEGIN {print u + s}')"
}


echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
echo "$scheme; nginx workers $NGINX_WORKERS${pin_server:+ on CPU 0}; load: $THREADS thread(s)${pin_load:+ on CPUs 1-$((ncpu - 1))}, $CONNS connections, $DURATION per run, $ROUNDS rounds, alternating"
# h2load --h1 joins the keep-alive rounds where it is installed (H2LOAD=0: not).
dur_s=$(awk -v d="$DURATION" 'BEGIN {v = d + 0; if (d ~ /ms$/) v /= 1000; else if (d ~ /m$/) v *= 60; v = int(v + 0.5); print v < 1 ? 1 : v}')
keepalive_tools="herd wrk"
[ "${H2LOAD:-1}" = 1 ] && [ "$TLS" = 0 ] && command -v h2load >/dev/null && keepalive_tools="herd wrk h2load"
for mode in keepalive close; do
	tools="herd wrk"
	[ "$mode" = keepalive ] && tools=$keepalive_tools
	for r in $(seq "$ROUNDS"); do
		for tool in $tools; do
			read -r rps rss cpu < <(run_one "$tool" "$mode" "$r")
			echo "$rps" >>"$tmp/$tool-$mode.rps"
			echo "$rss" >>"$tmp/$tool-$mode.rss"
			# CPU microseconds per request: cpu seconds / (rate x duration).
			d=$(awk -v d="$DURATION" 'BEGIN {v = d + 0; if (d ~ /ms$/) v /= 1000; else if (d ~ /m$/) v *= 60; print v}')
			awk -v c="$cpu" -v r="$rps" -v d="$d" 'BEGIN {print (r > 0 ? c * 1e6 / (r * d) : 0)}' >>"$tmp/$tool-$mode.cpu"
			printf '  round %d %-9s %-4s %12.1f req/s  %7d KB  %6.2f CPU us/req\n' "$r" "$mode" "$tool" "$rps" "$rss" "$(tail -1 "$tmp/$tool-$mode.cpu")"
		done
	done
done

echo
printf '%-22s %12s %12s %7s %11s %11s %10s %10s\n' mode "herd req/s" "wrk req/s" ratio "herd RSS KB" "wrk RSS KB" "herd us/req" "wrk us/req"
for mode in keepalive close; do
	h=$(median <"$tmp/herd-$mode.rps")
	w=$(median <"$tmp/wrk-$mode.rps")
	hr=$(sort -n "$tmp/herd-$mode.rss" | tail -1)
	wr=$(sort -n "$tmp/wrk-$mode.rss" | tail -1)
	label=$mode
	[ "$mode" = close ] && label="connection-per-request"
	hc=$(median <"$tmp/herd-$mode.cpu")
	wc=$(median <"$tmp/wrk-$mode.cpu")
	printf '%-22s %12.1f %12.1f %7.2f %11d %11d %11.2f %10.2f\n' "$label" "$h" "$w" "$(awk -v h="$h" -v w="$w" 'BEGIN {print (w > 0 ? h / w : 0)}')" "$hr" "$wr" "$hc" "$wc"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
hc=$(median <"$tmp/herd-keepalive.cpu")
echo "keep-alive CPU per request: herd/wrk $(ratio "$hc" "$(median <"$tmp/wrk-keepalive.cpu")") (target <= 0.85)"
if [ -s "$tmp/h2load-keepalive.cpu" ]; then
	h2c=$(median <"$tmp/h2load-keepalive.cpu")
	printf 'keep-alive h2load --h1: %.1f req/s, %.2f CPU us/req; herd/h2load CPU per request %s (target <= 1.00)\n' \
		"$(median <"$tmp/h2load-keepalive.rps")" "$h2c" "$(ratio "$hc" "$h2c")"
fi
echo "(median of $ROUNDS rounds; ratio = herd/wrk req/s, target >= 1.10; RSS = peak resident set;"
echo " us/req = the tool's user + system CPU time per request, lower is cheaper)"
