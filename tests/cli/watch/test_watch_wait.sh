# test_watch_wait.sh - the article's point, measured by herd watch: a worker
# held busy by /sleep makes the connections hashed to its own accept queue
# wait (reuseport), while with a shared queue (blocking) the idle worker
# takes them and nobody waits. Margins: the sleep is 1.5 s, the threshold
# 0.5 s; an unloaded run gives ~1.3 s versus a few ms.
. tests/lib.sh
. tests/cli/serve_common.sh
. tests/cli/watch_common.sh

reason=$(watch_skip_reason)
if [ -n "$reason" ]; then
	ok "# SKIP herd watch cannot run here: $reason"
	done_testing
	exit 0
fi

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
done_testing
