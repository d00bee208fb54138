#!/usr/bin/env bash
# scripts/bench-serve.sh - herd serve against nginx, side by side on loopback.
#
#   scripts/bench-serve.sh [--workers N] [--accept MODEL] [--rounds R]
#                          [--duration SECONDS] [--connections C] [--threads T]
#                          [--strict]
#
# Both servers run N worker processes (default: number of CPUs) and answer
# GET / with the seed's body "<p>hello, world</p>\n". nginx (the Debian
# package) gets a config generated in a temporary folder: daemon off, access
# log off, pid, error log and temp paths inside that folder, so no system
# nginx is touched. wrk drives each server for DURATION seconds (default 5)
# with C connections (default 64) from T threads (default: number of CPUs),
# first with keep-alive, then with 'Connection: close' (one connection per
# request). Runs alternate herd / nginx (the order flips every round) for R
# rounds (default 5); the table shows the median req/s of each.
#
# --accept MODEL is passed to herd serve (default: herd's own default);
# nginx on Linux accepts with EPOLLEXCLUSIVE, so '--accept epoll' is the
# same model on both sides. Targets: herd/nginx >= 1.2 with keep-alive,
# >= 1.0 with one connection per request. --strict makes a missed target
# exit 3; by default the table only says so.
#
# Needs nginx and wrk: the script runs 'scripts/setup.sh peer' first. Every
# process it starts is stopped and reaped on exit, also on Ctrl-C.
# shellcheck disable=SC2317,SC2016 # functions run from traps; the bash -c script is quoted on purpose
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

workers=$(nproc)
threads=$(nproc)
accept=
rounds=5
duration=5
connections=64
strict=0

while [ $# -gt 0 ]; do
	case $1 in
	--workers) posint "$1" "${2-}"; workers=$2; shift 2 ;;
	--accept) [ -n "${2-}" ] || usage_error "--accept wants a model name"; accept=$2; shift 2 ;;
	--rounds) posint "$1" "${2-}"; rounds=$2; shift 2 ;;
	--duration) posint "$1" "${2-}"; duration=$2; shift 2 ;;
	--connections) posint "$1" "${2-}"; connections=$2; shift 2 ;;
	--threads) posint "$1" "${2-}"; threads=$2; shift 2 ;;
	--strict) strict=1; shift ;;
	-h | --help) usage 24; exit 0 ;;
	*) usage_error "unknown argument '$1' (see --help)" ;;
	esac
done
# wrk refuses fewer connections than threads.
[ "$threads" -le "$connections" ] || threads=$connections

need_peer
need_herd

tmp=$(mktemp -d /tmp/herd-bench-serve.XXXXXX)
pids=()

cleanup() {
	local p
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do stop_group "$p"; done
	pids=()
	if [ -n "${wrk_pid-}" ]; then
		kill "$wrk_pid" 2>/dev/null || true
		wait "$wrk_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# start_server LOGFILE CMD...: runs CMD in its own session, so that master
# and workers can be stopped as one process group; sets server_pid. It runs
# in this shell (not in a command substitution) so the script can reap it.
start_server() {
	local log=$1
	shift
	setsid "$@" </dev/null >"$log" 2>&1 &
	server_pid=$!
	pids+=("$server_pid")
}

# get_body PORT: the body of GET / (with the status line checked), 5 s at most.
get_body() {
	local resp
	resp=$(timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$1 || exit 1
		printf "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" >&3
		cat <&3' _ "$1") || return 1
	case $resp in "HTTP/1.1 200 "*) ;; *) return 1 ;; esac
	# The body is what follows the first empty line.
	printf '%s' "${resp#*$'\r\n\r\n'}"
}

herd_port=$(free_port) || die "no free port"
nginx_port=$(free_port) || die "no free port"
[ "$herd_port" != "$nginx_port" ] || nginx_port=$(free_port)

mkdir -p "$tmp/nginx"
nginx_conf "$tmp/nginx" "$workers" "$nginx_port"

"$NGINX" -t -q -p "$tmp/nginx" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf" ||
	die "nginx rejected the generated config $tmp/nginx/nginx.conf"

herd_args=(serve --listen "127.0.0.1:$herd_port" --workers "$workers")
[ -n "$accept" ] && herd_args+=(--accept "$accept")

start_server "$tmp/herd.log" "$HERD" "${herd_args[@]}"
herd_pid=$server_pid
start_server "$tmp/nginx/stdout.log" "$NGINX" -p "$tmp/nginx" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf"
nginx_pid=$server_pid

wait_port "$herd_port" "$herd_pid" || { cat "$tmp/herd.log" >&2; die "herd serve did not listen on $herd_port"; }
wait_port "$nginx_port" "$nginx_pid" || { cat "$tmp/nginx/error.log" >&2; die "nginx did not listen on $nginx_port"; }

# Both must answer the same body, or the comparison means nothing.
herd_body=$(get_body "$herd_port") || die "herd serve did not answer GET / with 200"
nginx_body=$(get_body "$nginx_port") || die "nginx did not answer GET / with 200"
[ "$herd_body" = "$nginx_body" ] || die "bodies differ: herd '$herd_body', nginx '$nginx_body'"
[ "$herd_body" = "<p>hello, world</p>" ] || die "unexpected body '$herd_body'"

# run_wrk PORT MODE: sets rps to the req/s wrk measured. Runs in this shell
# so that the Ctrl-C trap knows wrk_pid; timeout bounds a wedged run.
run_wrk() {
	local port=$1 mode=$2 bad
	local args=(-t "$threads" -c "$connections" -d "${duration}s")
	[ "$mode" = close ] && args+=(-H 'Connection: close')
	timeout --foreground -k 5 $((duration + 30)) wrk "${args[@]}" "http://127.0.0.1:$port/" >"$tmp/wrk.out" 2>&1 &
	wrk_pid=$!
	if ! wait "$wrk_pid"; then
		wrk_pid=
		cat "$tmp/wrk.out" >&2
		die "wrk failed against port $port ($mode)"
	fi
	wrk_pid=
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$tmp/wrk.out")
	[ -n "$rps" ] || { cat "$tmp/wrk.out" >&2; die "no Requests/sec in wrk's output"; }
	bad=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$tmp/wrk.out")
	if [ -n "$bad" ] && [ "$bad" != 0 ]; then
		echo "bench-serve.sh: port $port ($mode): $bad non-2xx answers" >&2
	fi
	if grep -q 'Socket errors' "$tmp/wrk.out"; then
		echo "bench-serve.sh: port $port ($mode): $(grep 'Socket errors' "$tmp/wrk.out" | sed 's/^ *//')" >&2
	fi
}

echo "herd: $HERD ${herd_args[*]}$([ -n "$accept" ] || echo " (herd's default accept model)"); nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///')"
echo "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), kernel $(uname -r)"
echo "$workers workers each; wrk -t $threads -c $connections -d ${duration}s; $rounds rounds, median shown"

declare -A res
for mode in keepalive close; do
	for r in $(seq "$rounds"); do
		if [ $((r % 2)) -eq 1 ]; then order="herd nginx"; else order="nginx herd"; fi
		for who in $order; do
			if [ "$who" = herd ]; then port=$herd_port; else port=$nginx_port; fi
			run_wrk "$port" "$mode"
			res[$mode.$who]+="$rps "
			printf '  %-9s round %d %-5s %12.0f req/s\n' "$mode" "$r" "$who" "$rps" >&2
		done
	done
done

# The servers must have survived the whole run.
for p in "$herd_pid" "$nginx_pid"; do
	alive "$p" || die "a server (pid $p) died during the run"
done

missed=0
echo
printf '%-11s %14s %14s %11s %8s %s\n' mode "herd req/s" "nginx req/s" herd/nginx target met
for mode in keepalive close; do
	h=$(tr ' ' '\n' <<<"${res[$mode.herd]}" | grep . | median)
	n=$(tr ' ' '\n' <<<"${res[$mode.nginx]}" | grep . | median)
	if [ "$mode" = keepalive ]; then target=1.2; else target=1.0; fi
	ratio=$(awk -v h="$h" -v n="$n" 'BEGIN {if (n > 0) printf "%.2f", h / n; else print "n/a"}')
	met=$(awk -v r="$ratio" -v t="$target" 'BEGIN {print (r != "n/a" && r + 0 >= t) ? "yes" : "no"}')
	[ "$met" = yes ] || missed=1
	printf '%-11s %14.0f %14.0f %11s %8s %s\n' "$mode" "$h" "$n" "$ratio" ">= $target" "$met"
done
if [ "$strict" = 1 ] && [ "$missed" = 1 ]; then
	exit 3
fi
exit 0
