#!/usr/bin/env bash
# bench-idle.sh - what silent connections cost each accept model: wrk's
# connection-per-request throughput (-t1 -c8, Connection: close) against
# `herd serve --workers 2` without and with 2 silent connections per worker
# (connected, never a byte: what a preconnect or a health check that waits
# leaves open), in alternating rounds on one server per model. Prints per
# round req/s and the server's CPU time per request, then the ratio of the
# medians (with / without) and the rounds' spread. The goal (issue 19): at
# least 0.9 for fifo and uring-fifo.
#
#   scripts/bench-idle.sh [ROUNDS] [SECONDS] [MODEL...]
#
# Defaults: 5 rounds of 2 s each way, models fifo and uring-fifo (give
# others by name, e.g. epoll reuseport steer). The server runs on CPU 0 and
# wrk on CPU 1 where there are two or more. Needs wrk (scripts/setup.sh
# peer); starts and reaps its own servers on 127.0.0.1.
set -eu
cd "$(dirname "$0")/.."
. scripts/lib.sh
[ "${1:-}" = --help ] && { usage 17; exit 0; }
rounds=${1:-5}
secs=${2:-2}
posint ROUNDS "$rounds"
posint SECONDS "$secs"
shift $(($# < 2 ? $# : 2))
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(fifo uring-fifo)
scripts/setup.sh peer >/dev/null
command -v wrk >/dev/null || die "wrk is missing (scripts/setup.sh peer)"
need_herd
srv_cpu=() wrk_cpu=()
if [ "$(nproc)" -ge 2 ]; then srv_cpu=(taskset -c 0) wrk_cpu=(taskset -c 1); fi

tmp=$(mktemp -d /tmp/herd-bench.XXXXXX)
spid= hpid=
cleanup() {
	[ -n "$hpid" ] && kill "$hpid" 2>/dev/null && wait "$hpid" 2>/dev/null
	[ -n "$spid" ] && stop_group "$spid"
	rm -rf "$tmp"
}
trap cleanup EXIT

# sum KEY: the sum of "KEY value" over the worker lines of /stats.txt
sum() { awk -v k="$1" '/^worker / { for (i = 1; i < NF; i++) if ($i == k) s += $(i + 1) } END { print s + 0 }'; }

# round PORT: one wrk run; prints "req/s server-us-per-request".
round() {
	local s0 s1 r
	s0=$(stats_txt "$1")
	r=$("${wrk_cpu[@]}" wrk -t1 -c8 -d"${secs}s" -H 'Connection: close' "http://127.0.0.1:$1/" |
		awk '/^Requests\/sec/ {print $2}')
	s1=$(stats_txt "$1")
	echo "$r $(echo "($(sum cpu_us <<<"$s1") - $(sum cpu_us <<<"$s0")) / ($(sum requests <<<"$s1") - $(sum requests <<<"$s0"))" | bc -l)"
}

echo "machine: $(nproc) CPUs, $(uname -r); herd serve --workers 2 on ${srv_cpu[*]:-any CPU}, wrk -t1 -c8 -d${secs}s on ${wrk_cpu[*]:-any CPU}, $rounds rounds each way"
printf '%-11s %-7s %5s %10s %14s\n' model silent round "req/s" "server us/req"
for model in "${models[@]}"; do
	io=()
	case $model in uring | uring-fifo) io=(--io uring) ;; esac
	p=$(free_port)
	setsid "${srv_cpu[@]}" "$HERD" serve --listen "127.0.0.1:$p" --workers 2 --accept "$model" "${io[@]}" 2>"$tmp/err" &
	spid=$!
	wait_port "$p" "$spid" || die "herd serve --accept $model did not start: $(cat "$tmp/err")"
	: >"$tmp/without"
	: >"$tmp/with"
	for i in $(seq "$rounds"); do
		read -r r cpu < <(round "$p")
		printf '%-11s %-7s %5d %10.0f %14.1f\n' "$model" 0 "$i" "$r" "$cpu"
		echo "$r" >>"$tmp/without"
		python3 -c 'import socket,sys,time; s=[socket.create_connection(("127.0.0.1",int(sys.argv[1]))) for _ in range(4)]; print("held", flush=True); time.sleep(3600)' "$p" >"$tmp/held" &
		hpid=$!
		for _ in $(seq 100); do grep -q held "$tmp/held" && break; sleep 0.05; done
		read -r r cpu < <(round "$p")
		printf '%-11s %-7s %5d %10.0f %14.1f\n' "$model" 4 "$i" "$r" "$cpu"
		echo "$r" >>"$tmp/with"
		kill "$hpid"; wait "$hpid" 2>/dev/null || true; hpid=
	done
	a=$(median <"$tmp/without") b=$(median <"$tmp/with")
	printf '%-11s median req/s without %.0f (%s), with 4 silent %.0f (%s): ratio %.2f\n' "$model" "$a" \
		"$(sort -n "$tmp/without" | sed -n '1p;$p' | paste -sd-)" "$b" "$(sort -n "$tmp/with" | sed -n '1p;$p' | paste -sd-)" \
		"$(echo "$b / $a" | bc -l)"
	stop_group "$spid"; spid=
done
