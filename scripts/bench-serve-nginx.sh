#!/usr/bin/env bash
# bench-serve-nginx.sh - herd serve against nginx on loopback, same body,
# same number of workers, driven by wrk with keep-alive and with
# `Connection: close`. Prints req/s for both and the ratio herd/nginx
# (issue 3's target: >= 1.2x with keep-alive, >= 1.0x connection per request).
#
#   scripts/bench-serve-nginx.sh [WORKERS] [SECONDS] [CONNECTIONS]
#   HERD_ACCEPT=epoll scripts/bench-serve-nginx.sh     (herd's accept model; default fifo)
#
# Installs nginx and wrk if missing (scripts/setup.sh peer); starts and reaps
# its own servers on 127.0.0.1; needs nothing else running on the ports it
# picks. Run on a quiet machine: both servers and wrk share its CPUs.
set -eu
cd "$(dirname "$0")/.."
workers=${1:-$(nproc)}
secs=${2:-10}
conns=${3:-100}
model=${HERD_ACCEPT:-fifo}
scripts/setup.sh peer >/dev/null
[ -x build/herd ] || make -s build/herd

tmp=$(mktemp -d /tmp/herd-bench.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

port() { # a free port on 127.0.0.1
	local p
	while :; do
		p=$((20000 + RANDOM % 30000))
		ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}
wait_listen() { for _ in $(seq 100); do ss -Htln "sport = :$1" | grep -q . && return 0; sleep 0.05; done; echo "nothing listens on $1" >&2; exit 1; }

np=$(port)
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx/nginx.conf" <<CONF
worker_processes $workers;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
daemon off;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_requests 1000000;
	client_body_temp_path $tmp/nginx;
	proxy_temp_path $tmp/nginx;
	fastcgi_temp_path $tmp/nginx;
	uwsgi_temp_path $tmp/nginx;
	scgi_temp_path $tmp/nginx;
	server {
		listen 127.0.0.1:$np;
		location / { default_type text/html; return 200 "<p>hello, world</p>\n"; }
	}
}
CONF
nginx -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/error.log" &
pids+=($!)
wait_listen "$np"

hp=$(port)
build/herd serve --listen "127.0.0.1:$hp" --workers "$workers" --accept "$model" 2>"$tmp/herd.err" &
pids+=($!)
wait_listen "$hp"

rps() { # rps PORT [wrk header args]: requests per second
	local p=$1; shift
	wrk -t2 -c"$conns" -d"${secs}s" "$@" "http://127.0.0.1:$p/" | awk '/^Requests\/sec/ {print $2}'
}

echo "machine: $(nproc) CPUs, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "workers $workers, wrk -t2 -c$conns -d${secs}s, herd accept model $model, $(nginx -v 2>&1)"
printf '%-24s %12s %12s %8s\n' mode "nginx req/s" "herd req/s" herd/nginx
for mode in keep-alive close; do
	args=()
	[ "$mode" = close ] && args=(-H "Connection: close")
	n=$(rps "$np" "${args[@]}")
	h=$(rps "$hp" "${args[@]}")
	printf '%-24s %12.0f %12.0f %8.2f\n' "$mode" "$n" "$h" "$(echo "$h / $n" | bc -l)"
done
