# test_watch_wait.sh - the article's point, measured by herd watch: a worker
# held busy by /sleep makes the connections hashed to its own accept queue
# wait (reuseport), while with a shared queue (blocking) the idle worker
# takes them and nobody waits. Margins: the sleep is 1.5 s, the threshold
# 0.5 s; an unloaded run gives ~1.3 s versus a few ms.
#
# Then the io_uring models: their accepts are completions of a ring, no
# accept() syscall, which the sys_exit probe alone never saw (0 accepts,
# no wait); herd watch must count each worker's connections as the worker
# does and time them.
. tests/lib.sh
. tests/cli/serve_common.sh
. tests/cli/watch_common.sh

watch_require

# Largest wait_max_us of the total-worker lines, in ms, one per line, sorted.
worker_max_ms() {
	sed -n 's/^total-worker .* wait_max_us=\([0-9.]*\) .*/\1/p' "$WOUT" | awk '{ printf "%d\n", $1 / 1000 }' | sort -n
}

for model in reuseport blocking; do
	start_serve --workers 2 --accept "$model"
	start_watch --port "$PORT" --interval 500ms
	get "/sleep?ms=1500" >/dev/null &
	sp=$!
	track_pid "$sp"
	sleep 0.2
	# 24 connections at once: under reuseport about half hash to the
	# sleeping worker's queue (all 24 missing it: 1 in 16 million).
	pids=()
	for _ in $(seq 24); do
		get / >/dev/null &
		pids+=($!)
		track_pid "$!"
	done
	wait "${pids[@]}" "$sp"
	stop_watch
	stop_serve
	maxes=$(worker_max_ms | paste -sd' ')
	expect_match "$model: two workers reported" "$maxes" "^[0-9]+ [0-9]+$"
	lo=${maxes% *} hi=${maxes#* }
	if [ "$model" = reuseport ]; then
		# The sleeping worker's own queue filled: about half of the 24
		# connections were in it when it woke (at least 3: 1 run in 50 000
		# has fewer by the binomial odds).
		peak=$(sed -n 's/^total-listener .* peak=\([0-9]*\) .*/\1/p' "$WOUT" | sort -n | tail -1)
		if [ "${peak:-0}" -ge 3 ]; then ok "reuseport: the busy worker's queue peaked at $peak"
		else not_ok "reuseport: the busy worker's queue peaked at 3 or more" "peaks: $(grep '^total-listener' "$WOUT")"; fi
		if [ "$hi" -ge 500 ] && [ "$lo" -lt 500 ]; then ok "reuseport: the busy worker's queue wait rises (max ${hi} ms), the other's does not (${lo} ms)"
		else not_ok "reuseport: the busy worker's queue wait rises" "max waits ms: $maxes" "$(cat "$WOUT")"; fi
	else
		if [ "$hi" -lt 500 ]; then ok "blocking: no queue wait while one worker sleeps (max ${hi} ms)"
		else not_ok "blocking: no queue wait while one worker sleeps" "max waits ms: $maxes" "$(cat "$WOUT")"; fi
	fi
done

for model in uring uring-fifo; do
	start_serve --workers 2 --accept "$model"
	# Attached after the server armed its accepts, as on a running server.
	start_watch --port "$PORT" --interval 500ms
	conns 12 /
	stop_watch
	stop_serve
	served=$(sed -n 's/^herd serve: worker [0-9]* pid \([0-9]*\) accepted \([0-9]*\) .*/\1 \2/p' "$SERR" | sort -n | paste -sd' ')
	seen=$(watch_totals | paste -sd' ')
	expect_eq "$model: herd watch counts each worker's accepts as the worker does" "$seen" "$served"
	expect_eq "$model: the workers served the 12 connections" "$(exit_counts | awk '{ s += $1 } END { print s + 0 }')" 12
	timed=$(sed -n 's/^total-worker .* timed=\([0-9]*\) .*/\1/p' "$WOUT" | awk '{ s += $1 } END { print s + 0 }')
	expect_eq "$model: every accept has its queue wait" "$timed" 12
	# A wait is never 0 ns (the child is queued after it is ready), so
	# 0.0 is "no wait seen".
	p99=$(sed -n 's/^total .* wait_p99_us=\([0-9.]*\) .*/\1/p' "$WOUT")
	if awk -v v="${p99:-0}" 'BEGIN { exit !(v > 0) }'; then ok "$model: accept-queue wait p99 ${p99} us"
	else not_ok "$model: accept-queue wait percentiles" "$(grep '^total ' "$WOUT")"; fi
done
done_testing
