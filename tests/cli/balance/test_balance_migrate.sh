# test_balance_migrate.sh - worker changes of a balanced server lose no
# connection, with net.ipv4.tcp_migrate_req off.
#
# In a network namespace made for the test (so the sysctl is set there only),
# `herd serve --accept reuseport` runs 8 workers under a steady open-loop
# load of one connection per request (`herd bench --rate`), with
# `herd balance` attached, while the test scales it 8 -> 2 -> 8 workers
# (SIGTTOU/SIGTTIN: each closes or opens a listener of the group) and reloads
# it 5 times (SIGHUP: new workers on the same listeners). A listener that
# closes still holds queued connections and handshakes under way; balance's
# program is attached as BPF_SK_REUSEPORT_SELECT_OR_MIGRATE, so the kernel
# asks it where each should go instead of resetting them, and the listeners
# that join are registered by herd balance's next scan (until then the
# kernel's hash places connections: nothing is lost either way). The
# control is the same run without balance, which must lose some (the
# resets test_zero_drop.sh also shows). Requests sleep 20 ms so that the
# queues really hold connections when a listener closes.
. tests/lib.sh
. tests/cli/serve_common.sh

RATE=${BM_RATE:-200}
SLEEP_MS=${BM_SLEEP_MS:-20}
NS=herd-bm-$$
PORT=8181

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
	skip_all "needs root and ip(8) for a network namespace"
fi
[ -r /sys/kernel/btf/vmlinux ] || skip_all "no /sys/kernel/btf/vmlinux"
for old in $(ip netns list 2>/dev/null | awk '/^herd-bm-[0-9]+/ {print $1}'); do
	kill -0 "${old#herd-bm-}" 2>/dev/null || ip netns del "$old" 2>/dev/null
done
ip netns add "$NS" 2>"$TMP/netns.err" || skip_all "cannot create a network namespace: $(cat "$TMP/netns.err")"
trap 'cleanup; ip netns del "$NS" 2>/dev/null' EXIT
ip -n "$NS" link set lo up
ip netns exec "$NS" sysctl -qw net.ipv4.tcp_migrate_req=0

workers_of() { pgrep -P "$1" | sort -n | tr '\n' ' '; }

wait_workers() {
	local i
	for i in $(seq 200); do
		[ "$(pgrep -P "$1" | wc -l)" = "$2" ] && return 0
		sleep 0.05
	done
	echo "# wanted $2 workers, have: $(workers_of "$1")"
	return 1
}

# run LABEL BALANCE(0/1): one run; sets FAILED, DONE, ERRORS, BLINE (balance's
# last live line) and prints TAP lines for the worker changes.
run() {
	local label=$1 with=$2 i
	FAILED=x DONE=x ERRORS="" BLINE=""
	local err=$TMP/serve.$with.err json=$TMP/bench.$with.json bout=$TMP/balance.$with.out
	ip netns exec "$NS" $HERD_FAST serve --test-routes on --accept reuseport --workers 8 --listen "127.0.0.1:$PORT" 2>"$err" &
	local spid=$!
	track_pid "$spid"
	if ! wait_line "$err" "listening on" "$spid" 5; then
		not_ok "$label: server starts" "$(cat "$err")"
		return 1
	fi
	local bpid=
	if [ "$with" = 1 ]; then
		ip netns exec "$NS" $HERD balance --port "$PORT" --interval 0.5 >"$bout" 2>"$bout.err" &
		bpid=$!
		track_pid "$bpid"
		if wait_line "$bout.err" "attached to" "$bpid" 15; then
			ok "$label: balance attached"
		else
			not_ok "$label: balance attached" "$(cat "$bout.err")"
			kill -TERM "$spid"
			wait "$spid"
			return 1
		fi
	fi
	ip netns exec "$NS" $HERD_FAST bench -k 0 --rate "$RATE" -c 512 -d 30s --timeout 10s --json "$json" \
		"http://127.0.0.1:$PORT/sleep?ms=$SLEEP_MS" >/dev/null 2>"$TMP/bench.err" &
	local lpid=$!
	track_pid "$lpid"
	sleep 0.5
	for i in 1 2 3 4 5 6; do kill -TTOU "$spid"; sleep 0.1; done
	if wait_workers "$spid" 2; then ok "$label: scaled 8 -> 2 workers"; else not_ok "$label: scaled 8 -> 2 workers"; fi
	sleep 0.3
	for i in 1 2 3 4 5 6; do kill -TTIN "$spid"; sleep 0.1; done
	if wait_workers "$spid" 8; then ok "$label: scaled 2 -> 8 workers"; else not_ok "$label: scaled 2 -> 8 workers"; fi
	for i in $(seq 5); do
		kill -HUP "$spid"
		sleep 0.1
		wait_workers "$spid" 8 >/dev/null
	done
	sleep 0.5
	kill -INT "$lpid"
	wait "$lpid"
	if [ -n "$bpid" ]; then
		kill -TERM "$bpid"
		wait "$bpid"
		local brc=$?
		expect_eq "$label: balance detaches cleanly (exit 0)" "$brc" 0
		BLINE=$(tail -1 "$bout")
		echo "# $label: balance's last line: $BLINE"
	fi
	kill -TERM "$spid"
	wait "$spid"
	if [ -s "$json" ]; then
		FAILED=$(sed -n 's/^ *"failed": \([0-9]*\),.*/\1/p' "$json")
		DONE=$(sed -n 's/^ *"done": \([0-9]*\),.*/\1/p' "$json")
		ERRORS=$(sed -n '/^ *"errors": {/,/}/p' "$json" | sed -n 's/^ *"\([a-z]*\)": \([1-9][0-9]*\),*$/\1 \2/p' |
			paste -sd, - | sed 's/,/, /g')
	fi
	echo "# $label: $DONE done, $FAILED failed ${ERRORS:+($ERRORS)}"
}

run "reuseport + balance" 1
if [ "$FAILED" = 0 ] && [ "$DONE" != x ] && [ "$DONE" -gt 0 ]; then
	ok "balance: 0 of $DONE requests failed across 8 -> 2 -> 8 workers and 5 reloads"
else
	not_ok "balance: no request fails across worker changes" "done $DONE failed $FAILED ($ERRORS)" "$(tail -5 "$TMP/bench.err")"
fi
migrated=$(printf '%s\n' "$BLINE" | sed -n 's/.* migrated \([0-9]*\).*/\1/p')
if [ "${migrated:-0}" -gt 0 ]; then
	ok "balance: its program placed $migrated connections of closing listeners"
else
	not_ok "balance: its program should have migrated connections of closing listeners" "$BLINE"
fi

run "reuseport alone (control)" 0
if [ "$FAILED" != x ] && [ "$FAILED" -gt 0 ]; then
	ok "control: reuseport without balance loses $FAILED of $((DONE + FAILED)) requests ($ERRORS)"
else
	not_ok "control: reuseport without balance should lose queued connections" "done $DONE failed $FAILED"
fi
done_testing
