#!/usr/bin/env bash
# bench-fifo-cost.sh - what the `fifo` accept model costs: epoll_ctl calls on
# the listener per accepted connection, and worker CPU per request, next to
# `epoll` (never re-added) and `reorder` (re-added every 16 accepts), and
# the io_uring models `uring` (one multishot accept per worker) and
# `uring-fifo` (a one-shot accept armed while idle: their "epoll_ctl" counts
# every submission on the listener), under connection-per-request load from
# wrk at light (c=1) and heavy (c=50) load.
#
#   scripts/bench-fifo-cost.sh [WORKERS] [SECONDS]
#
# The counts come from herd's own /stats.txt (epoll_ctl, accepted, cpu_us),
# so nothing but wrk is needed (scripts/setup.sh peer). Starts and reaps its
# own servers on 127.0.0.1.
set -eu
cd "$(dirname "$0")/.."
. scripts/lib.sh
workers=${1:-$(nproc)}
secs=${2:-5}
scripts/setup.sh peer >/dev/null
[ -x build/herd ] || make -s build/herd

tmp=$(mktemp -d /tmp/herd-bench.XXXXXX)
spid=
cleanup() { [ -n "$spid" ] && kill -TERM "$spid" 2>/dev/null && wait "$spid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# sum KEY: the sum of "KEY value" over the worker lines of /stats.txt
sum() { awk -v k="$1" '/^worker / { for (i = 1; i < NF; i++) if ($i == k) s += $(i + 1) } END { print s + 0 }'; }

echo "machine: $(nproc) CPUs, $(uname -r); $workers workers; wrk -t1 -d${secs}s -H 'Connection: close'"
printf '%-10s %4s %10s %14s %16s\n' model c "req/s" "epoll_ctl/conn" "worker us/conn"
for model in epoll reorder fifo uring uring-fifo; do
	for c in 1 50; do
		p=$(free_port)
		build/herd serve --listen "127.0.0.1:$p" --workers "$workers" --accept "$model" 2>"$tmp/err" &
		spid=$!
		for _ in $(seq 100); do grep -q listening "$tmp/err" && break; sleep 0.05; done
		if ! grep -q listening "$tmp/err"; then
			echo "herd serve --accept $model did not start: $(cat "$tmp/err")" >&2
			exit 1
		fi
		s0=$(stats_txt "$p")
		r=$(wrk -t1 -c"$c" -d"${secs}s" -H 'Connection: close' "http://127.0.0.1:$p/" | awk '/^Requests\/sec/ {print $2}')
		s1=$(stats_txt "$p")
		acc=$(($(sum accepted <<<"$s1") - $(sum accepted <<<"$s0")))
		ctl=$(($(sum epoll_ctl <<<"$s1") - $(sum epoll_ctl <<<"$s0")))
		cpu=$(($(sum cpu_us <<<"$s1") - $(sum cpu_us <<<"$s0")))
		printf '%-10s %4d %10.0f %14.2f %16.1f\n' "$model" "$c" "$r" "$(echo "$ctl / $acc" | bc -l)" "$(echo "$cpu / $acc" | bc -l)"
		kill -TERM "$spid"; wait "$spid" || true; spid=
	done
done
