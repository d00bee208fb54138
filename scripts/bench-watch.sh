#!/usr/bin/env bash
# bench-watch.sh - what `herd watch` costs the server it watches, and whether
# its counts hold under load: connection-per-request throughput (wrk, one
# request per connection) with watch attached versus without, in alternating
# rounds (off, on, off, on, ...) so that drifting machine load hits both
# sides alike; the medians and their ratio (target >= 0.97). Also watch's
# own memory (VmRSS at the end, peak VmHWM: libbpf parses the kernel's BTF
# while loading) and CPU, the kernel memory of its maps, and its
# accepted count against herd serve's (target: within 1%).
#
#   scripts/bench-watch.sh [ROUNDS] [SECONDS] [MODEL] [WORKERS]
#
# Defaults: 5 rounds of 5 s each side, --accept reuseport, one worker per
# CPU. Needs root (eBPF) and wrk (scripts/setup.sh peer). Starts and reaps
# its own server on 127.0.0.1.
#
#   scripts/bench-watch.sh pool [THREADS] [SECONDS] [RATE]
#
# What herd watch itself costs against a thread-pool server
# (tests/cli/watch/accept_pool.py: THREADS threads blocked in accept(),
# default 10000) under herd bench --rate RATE (default 2000 connections/s,
# one request each), with --duration SECONDS (default 10), per process and
# with --threads: its wall time (target: within one --interval of the
# duration), its CPU time after attaching as a share of one CPU (target:
# at most 5%), and the startup (loading the program). HERD=BINARY measures
# another build (an older one, say).
set -eu
cd "$(dirname "$0")/.."
. scripts/lib.sh

# pool_run PORT ARGS...: one herd watch run; prints wall, startup, CPU
# after attach and its share of one CPU.
pool_run() {
	local p=$1 t0 t1 t2 c1 c2 c wp
	shift
	t0=$(date +%s%N)
	$HERD watch --plain --port "$p" --duration "${secs}s" "$@" >"$tmp/pool.out" 2>"$tmp/pool.err" &
	wp=$!
	for _ in $(seq 600); do grep -q "watching port" "$tmp/pool.err" && break; alive "$wp" || break; sleep 0.02; done
	grep -q "watching port" "$tmp/pool.err" || die "herd watch did not start: $(cat "$tmp/pool.err")"
	t1=$(date +%s%N)
	c1=$(awk '{ print $14 + $15 }' "/proc/$wp/stat")
	c2=$c1
	# Its CPU until the end: the last sample before it exits (every 20 ms).
	while c=$(awk '{ print $14 + $15 }' "/proc/$wp/stat" 2>/dev/null) && [ -n "$c" ]; do
		c2=$c
		sleep 0.02
	done
	wait "$wp" || die "herd watch failed: $(cat "$tmp/pool.err")"
	t2=$(date +%s%N)
	awk -v w=$(((t2 - t0) / 1000000)) -v s=$(((t1 - t0) / 1000000)) -v r=$(((t2 - t1) / 1000000)) \
		-v c=$((c2 - c1)) -v hz="$(getconf CLK_TCK)" -v rows="$(grep -c '^total-worker' "$tmp/pool.out")" \
		-v a="$(sed -n 's/^total .* accepted=\([0-9]*\).*/\1/p' "$tmp/pool.out")" -v what="$*" 'BEGIN {
		printf "%-10s wall %6.2f s  startup %5.2f s  cpu after attach %6.2f s = %5.1f%% of one CPU  accepted %d  rows %d\n",
			what == "" ? "per-proc" : what, w / 1000, s / 1000, c / hz, 100 * c / hz / (r / 1000), a, rows }'
}

if [ "${1:-}" = pool ]; then
	threads=${2:-10000}
	secs=${3:-10}
	rate=${4:-2000}
	posint THREADS "$threads"
	posint SECONDS "$secs"
	posint RATE "$rate"
	HERD=${HERD:-build/herd}
	[ -x "$HERD" ] || make -s build/herd
	tmp=$(mktemp -d /tmp/herd-bench.XXXXXX)
	ppid= bpid=
	trap '[ -n "$bpid" ] && kill "$bpid" 2>/dev/null; [ -n "$ppid" ] && kill "$ppid" 2>/dev/null; wait; rm -rf "$tmp"' EXIT
	p=$(free_port)
	python3 tests/cli/watch/accept_pool.py "$p" "$threads" >"$tmp/pool.srv" 2>&1 &
	ppid=$!
	for _ in $(seq 1200); do grep -q ready "$tmp/pool.srv" && break; alive "$ppid" || break; sleep 0.05; done
	grep -q ready "$tmp/pool.srv" || die "the pool did not start: $(cat "$tmp/pool.srv")"
	build/herd bench -d $((3 * secs + 30))s -c 16 --rate "$rate" "http://127.0.0.1:$p/" >"$tmp/bench.out" 2>&1 &
	bpid=$!
	sleep 2
	echo "machine: $(nproc) CPUs, $(uname -r); $HERD watch --duration ${secs}s (interval 1s) on a pool of" \
		"$threads accepting threads, herd bench --rate $rate -c 16"
	pool_run "$p"
	pool_run "$p" --threads
	exit 0
fi

rounds=${1:-5}
secs=${2:-5}
model=${3:-reuseport}
workers=${4:-$(nproc)}
scripts/setup.sh peer >/dev/null
[ -x build/herd ] || make -s build/herd

tmp=$(mktemp -d /tmp/herd-bench.XXXXXX)
spid= wpid=
cleanup() {
	[ -n "$wpid" ] && kill -TERM "$wpid" 2>/dev/null && wait "$wpid" 2>/dev/null
	[ -n "$spid" ] && kill -TERM "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

accepted() { stats_txt "$1" | awk '/^worker / { for (i = 1; i < NF; i++) if ($i == "accepted") s += $(i + 1) } END { print s + 0 }'; }
wrk_rps() { wrk -t1 -c32 -d"${secs}s" -H 'Connection: close' "http://127.0.0.1:$1/" | awk '/^Requests\/sec/ { print $2 }'; }
# Kernel memory of the maps herd watch (pid $1) holds, in KiB (their
# memlock in its fdinfo: bpftool's list would count every watch_ map on
# the machine, another session's too).
map_kib() { cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '/^memlock:/ { s += $2 } END { printf "%.0f\n", s / 1024 }'; }
# Runs the kernel skipped because the program was already running on that
# CPU (bpftool's recursion_misses): accepts watch could not count.
misses() { bpftool -j prog show 2>/dev/null | python3 -c 'import json, sys; print(sum(p.get("recursion_misses", 0) for p in json.load(sys.stdin) if p.get("name", "").startswith("watch_")))'; }

p=$(free_port)
build/herd serve --listen "127.0.0.1:$p" --workers "$workers" --accept "$model" 2>"$tmp/serve.err" &
spid=$!
for _ in $(seq 100); do grep -q listening "$tmp/serve.err" && break; sleep 0.05; done
grep -q listening "$tmp/serve.err" || { echo "herd serve did not start: $(cat "$tmp/serve.err")" >&2; exit 1; }

echo "machine: $(nproc) CPUs, $(uname -r); herd serve --accept $model --workers $workers;" \
	"wrk -t1 -c32 -d${secs}s -H 'Connection: close'; $rounds rounds off/on"
printf '%5s %10s %10s %9s %9s %9s %9s %9s %9s %7s\n' round "off req/s" "on req/s" "rss KiB" "peak KiB" "maps KiB" "watch cpu" "served" "watched" "misses"
off=() on=()
for r in $(seq "$rounds"); do
	off+=("$(wrk_rps "$p")")
	build/herd watch --port "$p" --plain --interval 1s >"$tmp/watch.out" 2>"$tmp/watch.err" &
	wpid=$!
	for _ in $(seq 600); do
		grep -q "watching port" "$tmp/watch.err" && break
		kill -0 "$wpid" 2>/dev/null || break
		sleep 0.05
	done
	if ! grep -q "watching port" "$tmp/watch.err"; then
		echo "herd watch did not start: $(cat "$tmp/watch.err") ($(ps -o stat=,wchan= -p "$wpid" || echo exited))" >&2
		exit 1
	fi
	a0=$(accepted "$p")
	on+=("$(wrk_rps "$p")")
	a1=$(accepted "$p")
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$wpid/status")
	kib=$(awk '/^VmHWM/ { print $2 }' "/proc/$wpid/status")
	mkib=$(map_kib "$wpid")
	miss=$(misses)
	cpu=$(awk '{ printf "%.2fs", ($14 + $15) / 100 }' "/proc/$wpid/stat")
	# TERM, not INT: a background job of a script starts with SIGINT ignored.
	kill -TERM "$wpid"; wait "$wpid" || true; wpid=
	# watch counted the two /stats.txt requests' accepts too (a0's after
	# attaching, a1's before its own count): served + 1 of them.
	seen=$(sed -n 's/^total .* accepted=\([0-9]*\) .*/\1/p' "$tmp/watch.out")
	printf '%5d %10.0f %10.0f %9s %9s %9s %9s %9d %9d %7s\n' "$r" "${off[-1]}" "${on[-1]}" "$rss" "$kib" "$mkib" "$cpu" $((a1 - a0)) "$seen" "$miss"
done
mo=$(printf '%s\n' "${off[@]}" | median)
mn=$(printf '%s\n' "${on[@]}" | median)
printf 'median req/s: off %.0f, on %.0f, on/off %.3f (target >= 0.97)\n' "$mo" "$mn" "$(echo "$mn / $mo" | bc -l)"
