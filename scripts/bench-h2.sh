#!/usr/bin/env bash
# bench-h2.sh - herd bench against h2load (Debian's nghttp2-client) over HTTP/2 on one nginx.
#
# Starts one nginx (config generated in a temp dir: `listen ... http2`, h2c
# with prior knowledge, or h2 over TLS with TLS=1 and a self-signed
# certificate made for the run; access_log off; keepalive_requests lifted
# so that no connection is renewed mid-run) and drives it with
# `herd bench --h2c` (or `--h2 --insecure`) and h2load alternately, each
# round the same threads, connections, streams per connection and number
# of requests (a fixed count rather than a duration: both tools do the same
# work, which keeps CPU per request comparable while a shared VM's rates
# swing), keep-alive for the whole run. For each run it prints the rate,
# the tool's CPU time (user + system, /usr/bin/time) per request, and
# whether every request was counted (herd: due = sent + never_sent, sent =
# done + failed + abandoned, none failed; h2load: every request done
# succeeded, none failed; both: as many done as asked); then the median of
# each column and the ratio of CPU per request herd/h2load (target: at most
# 1). herd sets TCP_NODELAY on HTTP/2 sockets (a request must not wait
# behind another's unacknowledged segment), h2load leaves Nagle on. With 2
# or more CPUs nginx is pinned to CPU 0 and the load generator to the
# others (PIN=0 turns that off); on a shared VM look at the spread of the
# rounds, and rerun.
#
#   scripts/bench-h2.sh   (env: THREADS=2 CONNS=64 STREAMS=10 REQUESTS=300000 ROUNDS=5 NGINX_WORKERS=1 PIN=1 TLS=0)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
[ "${1-}" = -h ] || [ "${1-}" = --help ] && { usage 24; exit 0; }
scripts/setup.sh peer || die "nginx and h2load are needed (see above)"
command -v h2load >/dev/null || die "h2load not found (nghttp2-client)"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
need_herd

THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
STREAMS=${STREAMS:-10}
REQUESTS=${REQUESTS:-300000}
ROUNDS=${ROUNDS:-5}
NGINX_WORKERS=${NGINX_WORKERS:-1}
PIN=${PIN:-1}
TLS=${TLS:-0}
posint THREADS "$THREADS"
posint CONNS "$CONNS"
posint STREAMS "$STREAMS"
posint REQUESTS "$REQUESTS"
posint ROUNDS "$ROUNDS"
bench_setup bench-h2

port=$(free_port) || die "no free port"
listen="127.0.0.1:$port http2" scheme=http tls_conf="" herd_proto=(--h2c)
if [ "$TLS" = 1 ]; then
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 2 \
		-subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1" >/dev/null 2>&1
	listen="127.0.0.1:$port ssl http2" scheme=https herd_proto=(--h2 --insecure)
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
	client_body_temp_path $tmp/body;
	proxy_temp_path $tmp/proxy;
	fastcgi_temp_path $tmp/fastcgi;
	uwsgi_temp_path $tmp/uwsgi;
	scgi_temp_path $tmp/scgi;
	# nginx ends an HTTP/2 connection with GOAWAY after 1000 requests by
	# default; neither tool should spend the run reconnecting.
	keepalive_requests 100000000;
	server {
		listen $listen;
		$tls_conf
		location / { return 200 "<p>hello, world</p>\n"; }
	}
}
CONF
"${pin_server[@]}" "$NGINX" -c "$tmp/nginx.conf" -e "$tmp/error.log" &
nginx_pid=$!
wait_port "$port" "$nginx_pid" || { cat "$tmp/error.log" >&2; die "nginx did not start"; }
url=$scheme://127.0.0.1:$port/

# run_one TOOL ROUND: prints "req/s cpu_us_per_request counted(yes|NO)".
run_one() {
	local tool=$1 out=$tmp/$1-$2 n cpu rps ok
	if [ "$tool" = herd ]; then
		"${pin_load[@]}" /usr/bin/time -f '%U %S' -o "$out.time" "$HERD" bench "${herd_proto[@]}" -t "$THREADS" \
			-c "$CONNS" -m "$STREAMS" -k 1000000000 -n "$REQUESTS" --json "$out.json" "$url" >"$out.txt" 2>&1 || true
		read -r n rps ok < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
ok = d["due"] == d["sent"] + d["never_sent"] and d["sent"] == d["done"] + d["failed"] + d["abandoned"]
ok = ok and d["failed"] == 0 and d["done"] == int(sys.argv[2])
print(d["done"], d["requests_per_s"], "yes" if ok else "NO")' "$out.json" "$REQUESTS")
	else
		"${pin_load[@]}" /usr/bin/time -f '%U %S' -o "$out.time" h2load -t "$THREADS" -c "$CONNS" -m "$STREAMS" \
			-n "$REQUESTS" "$url" >"$out.txt" 2>&1 || true
		# "requests: T total, S started, D done, OK succeeded, F failed, E errored, X timeout"
		read -r n rps ok < <(python3 -c 'import re,sys; t=open(sys.argv[1]).read()
m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed", t)
r = re.search(r"finished in [0-9.]+s, ([0-9.]+) req/s", t)
ok = m.group(5) == "0" and m.group(3) == m.group(4) == sys.argv[2]
print(m.group(4), r.group(1), "yes" if ok else "NO")' "$out.txt" "$REQUESTS")
	fi
	cpu=$(awk '{ print $1 + $2 }' <(tail -1 "$out.time"))
	echo "$rps $(awk -v c="$cpu" -v n="$n" 'BEGIN { print (n > 0 ? c * 1e6 / n : 0) }') $ok"
}

echo "machine: $ncpu CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)"
echo "$("$HERD" --version 2>/dev/null || echo herd) vs $(h2load --version 2>&1 | head -1); $scheme HTTP/2 to nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///')"
echo "nginx workers $NGINX_WORKERS${pin_server:+ on CPU 0}; load: $THREADS threads${pin_load:+ on CPUs 1-$((ncpu - 1))}," \
	"$CONNS connections x $STREAMS streams, $REQUESTS requests per run, $ROUNDS rounds, alternating"
for r in $(seq "$ROUNDS"); do
	for tool in herd h2load; do
		read -r rps cpu ok < <(run_one "$tool" "$r")
		echo "$rps" >>"$tmp/$tool.rps"
		echo "$cpu" >>"$tmp/$tool.cpu"
		echo "$ok" >>"$tmp/$tool.ok"
		printf '  round %d %-7s %12.1f req/s  %6.2f CPU us/req  every request counted: %s\n' "$r" "$tool" "$rps" "$cpu" "$ok"
	done
done
echo
printf '%-8s %12s %12s %12s %12s  %s\n' tool "req/s" "us/req" "us/req min" "us/req max" "all counted"
for tool in herd h2load; do
	printf '%-8s %12.1f %12.2f %12.2f %12.2f  %s\n' "$tool" "$(median <"$tmp/$tool.rps")" "$(median <"$tmp/$tool.cpu")" \
		"$(sort -g "$tmp/$tool.cpu" | head -1)" "$(sort -g "$tmp/$tool.cpu" | tail -1)" \
		"$(grep -qx NO "$tmp/$tool.ok" && echo NO || echo yes)"
done
hc=$(median <"$tmp/herd.cpu") lc=$(median <"$tmp/h2load.cpu")
echo "CPU per request herd/h2load: $(awk -v h="$hc" -v l="$lc" 'BEGIN { printf "%.2f", (l > 0 ? h / l : 0) }') (target <= 1.00; median of $ROUNDS rounds)"
