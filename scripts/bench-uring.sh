#!/usr/bin/env bash
# scripts/bench-uring.sh - herd's io_uring loop against its epoll loop and
# nginx, side by side on loopback, with CPU and system calls per request.
#
#   scripts/bench-uring.sh [--workers N] [--rounds R] [--duration SECONDS]
#                          [--connections C] [--threads T] [--no-strace]
#
# Three servers with N worker processes each (default 2): `herd serve --io
# uring` (its default accept model, uring-fifo), `herd serve` (epoll loop,
# its default model, fifo) and nginx (Debian package, config generated in a
# temporary folder as scripts/bench-serve.sh does), all answering GET / with
# "<p>hello, world</p>\n". wrk drives each for DURATION seconds (default 5)
# with C connections (default 64) from T threads (default: CPUs), with
# keep-alive, then with 'Connection: close'. The servers take turns in an
# order that rotates every round, R rounds (default 5); the table shows the
# median req/s, and the CPU time of the server's processes (user + system,
# from /proc, master and workers) per request, median over the rounds.
#
# Then, unless --no-strace, one more run per server and mode under
# `strace -c -f` attached to the server's processes (slower, so only the
# counts matter): system calls per request. io_uring moves the receives and
# sends into the ring, so what remains is io_uring_enter.
#
# Targets (issue 13): herd --io uring >= 1.25 x nginx with keep-alive, >=
# 1.15 x with Connection: close. The table says whether they were met.
#
# Needs nginx, wrk and strace (scripts/setup.sh peer; strace: apt-get install
# strace). Every process it starts is stopped and reaped on exit.
# shellcheck disable=SC2317,SC2016
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

workers=2 rounds=5 duration=5 connections=64 threads=$(nproc) do_strace=1
while [ $# -gt 0 ]; do
	case $1 in
	--workers) posint "$1" "${2-}"; workers=$2; shift 2 ;;
	--rounds) posint "$1" "${2-}"; rounds=$2; shift 2 ;;
	--duration) posint "$1" "${2-}"; duration=$2; shift 2 ;;
	--connections) posint "$1" "${2-}"; connections=$2; shift 2 ;;
	--threads) posint "$1" "${2-}"; threads=$2; shift 2 ;;
	--no-strace) do_strace=0; shift ;;
	-h | --help) usage 28; exit 0 ;;
	*) usage_error "unknown argument '$1' (see --help)" ;;
	esac
done
[ "$threads" -le "$connections" ] || threads=$connections

need_peer
if [ "$do_strace" = 1 ] && ! command -v strace >/dev/null; then
	die "strace not found (apt-get install strace, or --no-strace)"
fi
need_herd

tmp=$(mktemp -d /tmp/herd-bench-uring.XXXXXX)
pids=()
cleanup() {
	trap - EXIT INT TERM
	local p
	for p in "${pids[@]}"; do stop_group "$p"; done
	[ -n "${bg_pid-}" ] && { kill "$bg_pid" 2>/dev/null; wait "$bg_pid" 2>/dev/null; }
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

start_server() { # NAME PORT CMD...
	local name=$1 port=$2
	shift 2
	setsid "$@" </dev/null >"$tmp/$name.log" 2>&1 &
	pids+=($!)
	spid[$name]=$!
	sport[$name]=$port
	wait_port "$port" $! || { cat "$tmp/$name.log" >&2; die "$name did not listen on $port"; }
}
# group_pids NAME: the server's processes (its session: master and workers).
group_pids() { pgrep -s "${spid[$1]}" | tr '\n' ' '; }
# cpu_ticks NAME: user + system clock ticks of the server's processes.
cpu_ticks() {
	local p s=0
	for p in $(group_pids "$1"); do
		s=$((s + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$s"
}

declare -A spid sport res cpu sys
mkdir -p "$tmp/nginx"
nport=$(free_port) || die "no free port"
nginx_conf "$tmp/nginx" "$workers" "$nport"
start_server nginx "$nport" "$NGINX" -p "$tmp/nginx" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf"
p=$(free_port); start_server uring "$p" "$HERD" serve --listen "127.0.0.1:$p" --workers "$workers" --io uring
p=$(free_port); start_server epoll "$p" "$HERD" serve --listen "127.0.0.1:$p" --workers "$workers"

tck=$(getconf CLK_TCK)
# run_wrk NAME MODE: sets rps and reqs (requests wrk completed).
run_wrk() {
	local args=(-t "$threads" -c "$connections" -d "${duration}s")
	[ "$2" = close ] && args+=(-H 'Connection: close')
	timeout -k 5 $((duration + 30)) wrk "${args[@]}" "http://127.0.0.1:${sport[$1]}/" >"$tmp/wrk.out" 2>&1 ||
		{ cat "$tmp/wrk.out" >&2; die "wrk failed against $1 ($2)"; }
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$tmp/wrk.out")
	reqs=$(awk '/requests in/ {print $1}' "$tmp/wrk.out")
	if [ -z "$rps" ] || [ -z "$reqs" ]; then
		cat "$tmp/wrk.out" >&2
		die "no result in wrk's output"
	fi
	if grep -q 'Non-2xx\|Socket errors' "$tmp/wrk.out"; then
		echo "bench-uring.sh: $1 ($2): $(grep 'Non-2xx\|Socket errors' "$tmp/wrk.out" | sed 's/^ *//' | paste -sd' ')" >&2
	fi
}

names=(uring epoll nginx)
echo "$(nproc) CPUs, kernel $(uname -r), nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///')"
echo "$workers workers each; wrk -t $threads -c $connections -d ${duration}s; $rounds rounds, median shown"
echo "uring: herd serve --io uring (uring-fifo); epoll: herd serve (fifo); nginx: EPOLLEXCLUSIVE"
for mode in keepalive close; do
	for r in $(seq "$rounds"); do
		for k in 0 1 2; do
			who=${names[$(((k + r) % 3))]}
			c0=$(cpu_ticks "$who")
			run_wrk "$who" "$mode"
			c1=$(cpu_ticks "$who")
			res[$mode.$who]+="$rps "
			cpu[$mode.$who]+="$(awk -v c=$((c1 - c0)) -v n="$reqs" -v t="$tck" 'BEGIN {printf "%.2f", c / t * 1e6 / n}') "
			printf '  %-9s round %d %-5s %10.0f req/s\n' "$mode" "$r" "$who" "$rps" >&2
		done
	done
done

if [ "$do_strace" = 1 ]; then
	for mode in keepalive close; do
		for who in "${names[@]}"; do
			# shellcheck disable=SC2046
			strace -c -f -o "$tmp/strace.$who.$mode" $(for p in $(group_pids "$who"); do echo -p "$p"; done) &
			bg_pid=$!
			sleep 1
			run_wrk "$who" "$mode"
			kill -INT "$bg_pid"; wait "$bg_pid" 2>/dev/null || true; bg_pid=
			# strace -c columns: % time, seconds, usecs/call, calls,
			# [errors], syscall: calls is always the 4th.
			calls=$(awk '$NF == "total" {print $4}' "$tmp/strace.$who.$mode")
			sys[$mode.$who]=$(awk -v c="${calls:-0}" -v n="$reqs" 'BEGIN {printf "%.2f", c / n}')
			top=$(awk 'NR > 2 && $1 ~ /^[0-9.]+$/ && $NF != "total" {print $NF ":" $4}' "$tmp/strace.$who.$mode" |
				sort -t: -k2 -gr | head -4 | awk -F: -v n="$reqs" '{printf "%s %.2f ", $1, $2 / n}')
			sys[$mode.$who.top]=$top
		done
	done
fi

echo
printf '%-10s %-6s %10s %9s %11s %s\n' mode server "req/s" "vs nginx" "CPU us/req" "syscalls/req (top)"
for mode in keepalive close; do
	n=$(tr ' ' '\n' <<<"${res[$mode.nginx]}" | grep . | median)
	for who in "${names[@]}"; do
		h=$(tr ' ' '\n' <<<"${res[$mode.$who]}" | grep . | median)
		c=$(tr ' ' '\n' <<<"${cpu[$mode.$who]}" | grep . | median)
		printf '%-10s %-6s %10.0f %9s %11s %s\n' "$mode" "$who" "$h" \
			"$(awk -v h="$h" -v n="$n" 'BEGIN {printf "%.2f", h / n}')" "$c" \
			"${sys[$mode.$who]:--} ${sys[$mode.$who.top]:+(${sys[$mode.$who.top]% })}"
	done
done
for mode in keepalive close; do
	if [ "$mode" = keepalive ]; then t=1.25; else t=1.15; fi
	h=$(tr ' ' '\n' <<<"${res[$mode.uring]}" | grep . | median)
	n=$(tr ' ' '\n' <<<"${res[$mode.nginx]}" | grep . | median)
	echo "target $mode: uring/nginx >= $t: $(awk -v h="$h" -v n="$n" -v t="$t" 'BEGIN {print (h / n >= t) ? "met" : "missed"}')"
done
