# test_watch_exit.sh - nothing herd watch counted is dropped when the
# processes or listeners it counted go away: workers SIGKILLed (herd serve
# respawns them) while connections come, and the whole server killed. In
# every interval and in the total, the accepted count equals the sum of
# the listener rows and of the worker rows, for --pid and --port. The old
# code forgot, with --pid, every process that had exited (a killed worker's
# 151 accepts: "accepted=349" where the listener row said 500; the master
# killed: accepted=0), and, with either, a listener that had closed.
. tests/lib.sh
. tests/cli/serve_common.sh
. tests/cli/watch_common.sh

watch_require

# Reports of WOUT whose accepted count is not the sum of their listener
# rows or of their worker rows ("what accepted listeners workers" each),
# then "N reports".
disagree() {
	awk '
	function val(k,   i) { for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) return substr($i, length(k) + 2); return "" }
	function flush() { if (n && (tot != ls || tot != ws)) print what, tot, ls, ws }
	/^(interval|total) / { flush(); what = $1 " t=" val("t"); tot = val("accepted"); ls = 0; ws = 0; n++ }
	/^(interval|total)-listener / { ls += val("accepted") }
	/^(interval|total)-worker / { ws += val("accepted") }
	END { flush(); print n + 0, "reports" }' "$WOUT"
}
total_field() { sed -n "s/^total .* $1=\([^ ]*\).*/\1/p" "$WOUT"; }
workers_are() { [ "$(pgrep -P "$SPID" | wc -l)" -eq "$1" ]; }
# burst N: N connections one after another, one request each, that go on
# when a worker killed mid-request resets one (SIGPIPE ignored): each
# connection is one accept all the same.
burst() {
	timeout 60 bash -c 'trap "" PIPE
		for ((i = 0; i < $1; i++)); do
			exec 3<>/dev/tcp/127.0.0.1/$0 || exit 1
			printf "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" >&3 2>/dev/null
			cat <&3 >/dev/null 2>&1
			exec 3<&-
		done' "$PORT" "$1"
}

# A worker killed between two bursts (the issue's case), then, with
# traffic running, two more killed while it flows.
for sel in pid port; do
	for model in blocking reuseport; do
		name="--$sel, $model"
		start_serve --workers 2 --accept "$model"
		if [ $sel = pid ]; then start_watch --pid "$SPID" --interval 100ms; else start_watch --port "$PORT" --interval 100ms; fi
		conns 300 / >/dev/null
		victim=$(pgrep -P "$SPID" | head -1)
		kill -KILL "$victim"
		# The respawned worker takes its place (two children again).
		wait_until 10 workers_are 2
		burst 200 &
		cp=$!
		track_pid "$cp"
		for _ in 1 2; do
			sleep 0.3
			kill -KILL "$(pgrep -P "$SPID" | head -1)" 2>/dev/null
		done
		wait "$cp"
		wait_until 10 workers_are 2
		conns 100 / >/dev/null
		stop_watch
		stop_serve
		expect_eq "$name: watch exits 0" "$WRC" 0
		expect_eq "$name: the total counts all 600" "$(total_field accepted)" 600
		expect_eq "$name: every interval and the total equal their listener and worker rows" "$(disagree)" \
			"$(grep -c '^interval \|^total ' "$WOUT") reports"
		expect_match "$name: the first killed worker keeps its row, marked exited" \
			"$(grep "^total-worker .* pid=$victim " "$WOUT")" " accepted=[1-9][0-9]* .* exited=1$"
	done
done

# The whole server killed after 300 accepts. --pid: watch says the process
# is gone and ends by itself, with the 300; --port: it says no listener is
# left and goes on; the closed listener keeps its row.
for sel in pid port; do
	start_serve --workers 2 --accept blocking
	if [ $sel = pid ]; then start_watch --pid "$SPID" --interval 100ms; else start_watch --port "$PORT" --interval 100ms; fi
	conns 300 / >/dev/null
	kids=$(pgrep -P "$SPID")
	kill -KILL "$SPID"
	wait "$SPID" 2>/dev/null
	# herd serve's workers die with their master (PR_SET_PDEATHSIG).
	for k in $kids; do wait_gone "$k"; done
	if [ $sel = pid ]; then
		if wait_gone "$WPID" 10; then
			wait "$WPID"
			WRC=$?
			ok "--pid, master killed: watch ends by itself"
		else
			not_ok "--pid, master killed: watch ends by itself" "$(tail -3 "$WERR")"
			stop_watch
		fi
		expect_match "--pid, master killed: says why it ends" "$(cat "$WERR")" "process $SPID has exited: stopping"
	else
		wait_line "$WERR" "no listener on port $PORT any more: still watching" "$WPID"
		expect_match "--port, server killed: says no listener is left" "$(cat "$WERR")" \
			"no listener on port $PORT any more: still watching"
		check "--port, server killed: goes on" kill -0 "$WPID"
		stop_watch
	fi
	expect_eq "--$sel, server killed: watch exits 0" "$WRC" 0
	expect_eq "--$sel, server killed: the total keeps all 300" "$(total_field accepted)" 300
	expect_match "--$sel, server killed: the listener row stays, closed" "$(grep '^total-listener' "$WOUT")" \
		" accepted=300 closed=1 "
	expect_eq "--$sel, server killed: the workers' rows stay, exited" \
		"$(grep -c '^total-worker .* exited=1$' "$WOUT") $(grep -c '^total-worker' "$WOUT")" "2 2"
	expect_eq "--$sel, server killed: every report equals its rows" "$(disagree)" \
		"$(grep -c '^interval \|^total ' "$WOUT") reports"
done
done_testing
