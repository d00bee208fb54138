# test_serve_lifecycles.sh - every connection lifecycle of real traffic
# (tests/cli/serve/lifecycles.py: empty, reset at each point, half-close,
# idle keep-alive, slow head, slow body, pipelined, aborted, a SYN that never
# completes) leaves each accept model's idea of busy, idle and load where it
# found it: afterwards, with silent and idle keep-alive connections still
# held open, sequential connections spread over every worker of a spreading
# model, and no worker reports a request in flight. docs/serve.md, "What
# each connection does to a model", has the table this checks.
. tests/lib.sh
. tests/cli/serve_common.sh

LC=tests/cli/serve/lifecycles.py
WORKERS=3
SEQ=60
# Each lifecycle once; the cheap ones that once starved steer (empty,
# reset, a bare SYN) once per worker, so every worker meets them.
KINDS=(empty rst synonly empty rst synonly empty rst synonly
	rst_head rst_run halfclose keepalive slowhead slowbody pipelined aborted)
[ "$(id -u)" = 0 ] || KINDS=("${KINDS[@]/synonly/empty}") # a raw socket needs root

# col NAME STATS_TXT: NAME's value on every worker line, one per line.
col() { printf '%s\n' "$2" | sed -n "s/^worker [0-9]* .* $1 \([0-9]*\).*/\1/p"; }

# A fair share is SEQ/WORKERS; a worker must get at least a third of it.
# (reuseport hashes: P(a worker gets under 7 of 60) is about 2 in 10,000.)
MIN_SHARE=$((SEQ / WORKERS / 3))

# lifecycle_run MODEL SPREADS: the mix, then SEQ sequential connections.
lifecycle_run() {
	local model=$1 spreads=$2 out before after holder="" i
	if ! start_serve --accept "$model" --workers $WORKERS; then
		not_ok "$model: server started" "$(cat "$SERR")"
		return
	fi
	out=$(timeout 60 python3 $LC "$PORT" run "${KINDS[@]}" 2>&1)
	expect_eq "$model: every lifecycle ran as expected (answers where one was asked)" \
		"$(printf '%s\n' "$out" | grep -v ' ok$')" ""
	# The requests the reset and aborted clients left running finish.
	wait_until 5 sh -c "[ \"\$(curl -s -m 2 http://127.0.0.1:$PORT/stats.txt | sed -n 's/^worker .* inflight \([0-9]*\).*/\1/p' | paste -sd+ | bc)\" = 1 ]"
	if [ "$model" != blocking ]; then
		# blocking serves one connection at a time to the end: a held
		# connection holds its worker, by definition (docs/serve.md).
		python3 $LC "$PORT" hold $WORKERS 60 >"$TMP/hold" 2>&1 &
		holder=$!
		track_pid "$holder"
		wait_line "$TMP/hold" held "$holder" 10 || not_ok "$model: held connections opened" "$(cat "$TMP/hold")"
	fi
	before=$(stats_txt)
	$HERD_FAST bench -n $SEQ -c 1 -k 0 --timeout 5s "http://127.0.0.1:$PORT/" >"$TMP/bench" 2>&1
	after=$(stats_txt)
	expect_match "$model: $SEQ sequential requests answered" "$(cat "$TMP/bench")" "$SEQ done, 0 failed"
	# Only the worker answering /stats.txt has a request in flight.
	expect_eq "$model: no request in flight but the /stats.txt one" \
		"$(col inflight "$after" | paste -sd+ | bc)" 1
	if [ "$spreads" = yes ]; then
		local low
		low=$(paste <(col accepted "$before") <(col accepted "$after") |
			awk -v m=$MIN_SHARE '$2 - $1 < m { n++ } END { print n + 0 }')
		expect_eq "$model: every worker took at least $MIN_SHARE of $SEQ sequential connections" "$low" 0
		[ "$low" = 0 ] || echo "# accepted before: $(col accepted "$before" | paste -sd' ') after: $(col accepted "$after" | paste -sd' ')"
	fi
	[ -z "$holder" ] || { kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null; }
	stop_serve
	expect_eq "$model: clean stop" "$SRC" 0
}

for m in blocking reorder fifo reuseport steer; do
	if [ "$m" = steer ] && [ "$(id -u)" != 0 ]; then
		ok "# SKIP steer needs CAP_BPF and CAP_NET_ADMIN"
		continue
	fi
	lifecycle_run $m yes
done
lifecycle_run uring-fifo yes
# The models that do not spread sequential connections by design still
# must not leave a request counted in flight.
lifecycle_run epoll no
done_testing
