# test_watch_gone.sh - accepting processes that exit while herd watch runs
# keep their counts (folded into user space, their kernel entries freed),
# and no live one is counted twice when that happens. The truth is the
# server's own log of which pid accepted each connection.
. tests/lib.sh
. tests/cli/watch_common.sh

reason=$(watch_skip_reason)
if [ -n "$reason" ]; then
	ok "# SKIP herd watch cannot run here: $reason"
	done_testing
	exit 0
fi

PORT=$(free_port)
log=$TMP/accepts.log
: >"$log"
python3 tests/cli/watch/accept_children.py "$PORT" "$log" 15 >"$TMP/srv.out" 2>&1 &
spid=$!
track_pid "$spid"
wait_port "$PORT" 10 || { not_ok "test server started" "$(cat "$TMP/srv.out")"; done_testing; exit 1; }
start_watch --port "$PORT" --interval 100ms
# 60 connections in 4 bursts with pauses, so that reads happen while one
# short-lived acceptor has exited and the long-lived one is still there.
for _ in 1 2 3 4; do
	timeout 20 bash -c 'for ((i = 0; i < 15; i++)); do exec 3<>/dev/tcp/127.0.0.1/$0 && cat <&3 >/dev/null; exec 3<&-; done' "$PORT"
	sleep 0.4
done
stop_watch
kill -TERM "$spid"
truth=$(sort -n "$log" | uniq -c | awk '{ print $2, $1 }' | sort -n)
expect_eq "exited acceptors: accepted per pid equals the server's log" "$(watch_totals | awk '$2 > 0')" "$truth"
expect_match "exited acceptors: all 60 counted once" "$(grep '^total ' "$WOUT")" " accepted=60 "
# The intervals add up to the total too (the last 0.4 s had no traffic, so
# the part after the last interval line holds nothing).
sum=$(awk '/^interval / { for (i = 1; i <= NF; i++) if ($i ~ /^accepted=/) s += substr($i, 10) } END { print s + 0 }' "$WOUT")
expect_eq "exited acceptors: the intervals add up to 60" "$sum" 60
done_testing
