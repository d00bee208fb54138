# test_watch_pool.sh - herd watch on a thread-pool server (accept_pool.py:
# N threads blocked in accept() on one socket), whose own log of which
# thread accepted each connection is the truth. herd watch no longer reads
# a /proc file per thread at every read (it read /proc/TID/stat, which
# sums every thread of the process: quadratic in the pool's size); the
# kernel program keeps each thread's CPU time and name. Checked: per-thread
# rows equal the log, the per-process row has them all, and a thread
# row's CPU time is that thread's own (it was its whole process's, so the
# rows of a 4-thread pool summed to 4 times the process's CPU).
. tests/lib.sh
. tests/cli/watch_common.sh

watch_require

# start_pool N [LOG [SPIN_MS]]: sets PORT, POOL (its pid); false if it did not start.
start_pool() {
	PORT=$(free_port)
	/usr/bin/python3 tests/cli/watch/accept_pool.py "$PORT" "$@" >"$TMP/pool.out" 2>&1 &
	POOL=$!
	track_pid "$POOL"
	wait_line "$TMP/pool.out" "^ready" "$POOL" 60 || { not_ok "pool of $1 started" "$(cat "$TMP/pool.out")"; return 1; }
}
# conns N: N connections one after another, one request each.
conns() {
	timeout 120 bash -c 'for ((i = 0; i < $1; i++)); do
		exec 3<>/dev/tcp/127.0.0.1/$0 || exit 1
		printf "GET / HTTP/1.0\r\n\r\n" >&3
		cat <&3 >/dev/null
		exec 3<&-
	done' "$PORT" "$1"
}

# 300 threads, 600 connections: the kernel hands them round the waiting
# threads, so most threads accept some.
log=$TMP/pool.log
: >"$log"
if start_pool 300 "$log"; then
	start_watch --port "$PORT" --threads --interval 200ms --json "$TMP/t.json"
	conns 600
	stop_watch
	truth=$(sort -n "$log" | uniq -c | awk '{ print $2, $1 }' | sort -n)
	rows=$(sed -n 's/^total-worker .* tid=\([0-9]*\) .* accepted=\([0-9]*\) .*/\1 \2/p' "$WOUT" | awk '$2 > 0' | sort -n)
	expect_eq "300 threads, --threads: accepted per thread equals the pool's log" "$rows" "$truth"
	expect_match "300 threads, --threads: the total has all 600" "$(grep '^total ' "$WOUT")" " accepted=600 "
	check "300 threads, --threads: every thread row has the pool's name" /usr/bin/python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["total"]
assert all(w["comm"] == "python3" for w in t["workers"] if w["accepted"]), t["workers"][:3]' "$TMP/t.json"
	start_watch --port "$PORT" --interval 200ms
	conns 100
	stop_watch
	expect_eq "300 threads, per process: one row with all 100" "$(watch_totals)" "$POOL 100"
	kill "$POOL"
fi

# 4 threads each burning 20 ms of its own CPU per request: the thread rows'
# CPU times add up to no more than the process's (whose other threads use
# next to none), and to most of it.
if start_pool 4 - 20; then
	start_watch --port "$PORT" --threads --interval 300ms
	conns 100
	stop_watch
	read -r ut st < <(awk '{ print $14, $15 }' "/proc/$POOL/stat")
	proc_ms=$(((ut + st) * 1000 / $(getconf CLK_TCK)))
	rows_ms=$(awk '/^interval-worker/ { for (i = 1; i <= NF; i++) if ($i ~ /^cpu_s=/) s += substr($i, 7) } END { printf "%d\n", s * 1000 }' "$WOUT")
	echo "# pool process CPU ${proc_ms} ms, sum of its thread rows' ${rows_ms} ms"
	check "4 threads: the thread rows' CPU ($rows_ms ms) is at most the process's ($proc_ms ms)" \
		test "$rows_ms" -le $((proc_ms + proc_ms / 5 + 50))
	check "4 threads: ... and most of it (> 1/3)" test "$rows_ms" -gt $((proc_ms / 3))
	kill "$POOL"
fi
done_testing
