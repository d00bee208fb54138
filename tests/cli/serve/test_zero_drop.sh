# test_zero_drop.sh - no connection is lost while workers come and go.
#
# In a network namespace made for the test (so net.ipv4.tcp_migrate_req is
# set there only, and the namespace is deleted on exit), `herd serve` runs 8
# workers under a steady open-loop load of one connection per request
# (`herd bench --rate`), while the test scales it 8 -> 2 -> 8 workers with
# SIGTTOU/SIGTTIN and then reloads it with SIGHUP 10 times. Every request
# must succeed with `steer` (its eBPF program migrates a closing listener's
# queue), `fifo` and `epoll` (one shared listener: a leaving worker only
# stops accepting) and `uring-fifo` (a leaving worker cancels its armed
# io_uring accept and serves what the ring had accepted meanwhile). Not
# `uring`: its first-armed worker takes every connection (docs/uring.md),
# so this load of 20 ms blocking sleeps times out with no worker change at
# all, which would say nothing about workers coming and going. The
# control, plain `reuseport` with migration switched off, must lose some
# connections (the seed article's footnote 3): the listeners it closes
# still hold queued connections, which the kernel resets.
#
# Each request sleeps 20 ms in its worker, so workers are busy part of the
# time and their queues really hold connections when a listener closes: with
# an instant handler the queues are nearly always empty and even the control
# would lose nothing, proving nothing. The TcpMigrateReq counters of the
# namespace are printed as diagnostics.
. tests/lib.sh
. tests/cli/serve_common.sh

RATE=${ZD_RATE:-200}
SLEEP_MS=${ZD_SLEEP_MS:-20}
NS=herd-zd-$$
PORT=8181

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
	echo "1..0 # SKIP needs root and ip(8) for a network namespace"
	exit 0
fi
# A run killed with SIGKILL cannot delete its namespace: remove those whose
# test process is gone.
for old in $(ip netns list 2>/dev/null | awk '/^herd-zd-[0-9]+/ {print $1}'); do
	kill -0 "${old#herd-zd-}" 2>/dev/null || ip netns del "$old" 2>/dev/null
done
if ! ip netns add "$NS" 2>"$TMP/netns.err"; then
	echo "1..0 # SKIP cannot create a network namespace: $(cat "$TMP/netns.err")"
	exit 0
fi
trap 'cleanup; ip netns del "$NS" 2>/dev/null' EXIT
ip -n "$NS" link set lo up

in_ns() { ip netns exec "$NS" "$@"; }

# The master's worker processes, sorted (leaving ones included until they exit).
workers_of() { pgrep -P "$1" | sort -n | tr '\n' ' '; }

# wait_workers MASTER N: until the master has exactly N worker processes
# (workers told to leave have exited). Up to 10 s. Counting processes rather
# than asking /stats: in the 2-worker phase the shared queue is long.
wait_workers() {
	local i
	for i in $(seq 200); do
		[ "$(pgrep -P "$1" | wc -l)" = "$2" ] && return 0
		sleep 0.05
	done
	echo "# wanted $2 workers, have: $(workers_of "$1")"
	return 1
}

migrate_counters() {
	in_ns nstat -asz TcpExtTcpMigrateReqSuccess TcpExtTcpMigrateReqFailure 2>/dev/null |
		awk '/MigrateReqSuccess/ {s = $2} /MigrateReqFailure/ {f = $2} END {print s + 0, f + 0}'
}

# run MODEL MIGRATE: one full run; sets FAILED, DONE, ERRORS, MIG_OK, MIG_FAIL
# and prints TAP lines for the worker changes.
run() {
	local model=$1 mig=$2 label="$1 (tcp_migrate_req=$2)" i pids
	FAILED=x DONE=x ERRORS="" MIG_OK=x MIG_FAIL=x
	in_ns sysctl -qw "net.ipv4.tcp_migrate_req=$mig"
	read -r m0 f0 <<<"$(migrate_counters)"
	local err=$TMP/serve.$model.$mig.err json=$TMP/bench.$model.$mig.json
	io_args --accept "$model" --workers 8
	ip netns exec "$NS" $HERD serve "${IO_ARGS[@]}" --listen "127.0.0.1:$PORT" 2>"$err" &
	local spid=$!
	track_pid "$spid"
	if ! wait_line "$err" "listening on" "$spid" 5; then
		not_ok "$label: server starts" "$(cat "$err")"
		return 1
	fi
	ip netns exec "$NS" $HERD_FAST bench --rate "$RATE" -c 512 -k 0 -d 30s --timeout 10s --json "$json" \
		"http://127.0.0.1:$PORT/sleep?ms=$SLEEP_MS" >/dev/null 2>"$TMP/bench.err" &
	local bpid=$!
	track_pid "$bpid"
	sleep 0.5
	for i in 1 2 3 4 5 6; do kill -TTOU "$spid"; sleep 0.1; done
	if wait_workers "$spid" 2; then ok "$label: scaled 8 -> 2 workers"; else not_ok "$label: scaled 8 -> 2 workers"; fi
	sleep 0.3
	for i in 1 2 3 4 5 6; do kill -TTIN "$spid"; sleep 0.1; done
	if wait_workers "$spid" 8; then ok "$label: scaled 2 -> 8 workers"; else not_ok "$label: scaled 2 -> 8 workers"; fi
	pids=$(workers_of "$spid")
	for i in $(seq 10); do
		kill -HUP "$spid"
		sleep 0.1
		wait_workers "$spid" 8 >/dev/null
	done
	local after
	after=$(workers_of "$spid")
	if wait_workers "$spid" 8 && [ -z "$(comm -12 <(tr ' ' '\n' <<<"$pids" | grep .) <(tr ' ' '\n' <<<"$after" | grep .))" ]; then
		ok "$label: 10 reloads, 8 new workers"
	else
		not_ok "$label: 10 reloads, 8 new workers" "before: $pids" "after: $after"
	fi
	sleep 0.3
	kill -INT "$bpid" # stop the load now: bench reports what it has
	wait "$bpid"
	kill -TERM "$spid"
	wait "$spid"
	read -r m1 f1 <<<"$(migrate_counters)"
	MIG_OK=$((m1 - m0)) MIG_FAIL=$((f1 - f0))
	if [ -s "$json" ]; then
		FAILED=$(sed -n 's/^ *"failed": \([0-9]*\),.*/\1/p' "$json")
		DONE=$(sed -n 's/^ *"done": \([0-9]*\),.*/\1/p' "$json")
		# The non-zero lines of the "errors" object (one key a line).
		ERRORS=$(sed -n '/^ *"errors": {/,/}/p' "$json" | sed -n 's/^ *"\([a-z]*\)": \([1-9][0-9]*\),*$/\1 \2/p' |
			paste -sd, - | sed 's/,/, /g')
	fi
	echo "# $label: $DONE done, $FAILED failed ${ERRORS:+($ERRORS) }TcpMigrateReqSuccess +$MIG_OK TcpMigrateReqFailure +$MIG_FAIL"
}

for model in ${ZD_MODELS:-steer fifo epoll uring-fifo}; do
	run "$model" 0
	if [ "$FAILED" = 0 ] && [ "$DONE" != x ] && [ "$DONE" -gt 0 ]; then
		ok "$model: 0 of $DONE requests failed across 8 -> 2 -> 8 workers and 10 reloads"
	else
		not_ok "$model: no request fails across worker changes" "done $DONE failed $FAILED ($ERRORS)" "$(tail -5 "$TMP/bench.err")"
	fi
done
run reuseport 0
if [ "$FAILED" != x ] && [ "$FAILED" -gt 0 ]; then
	ok "control: reuseport with migration off loses $FAILED of $((DONE + FAILED)) requests ($ERRORS)"
else
	not_ok "control: reuseport with migration off should lose queued connections" "done $DONE failed $FAILED"
fi
done_testing
