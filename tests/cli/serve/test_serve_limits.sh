# test_serve_limits.sh - the limits and separations operators set on herd
# serve (issue 26): --max-requests (workers recycled under open-loop load,
# nothing failed, in every accept model that matters), --shutdown-timeout
# (a request longer than it is cut, one shorter finishes), --user (workers
# run unprivileged, the master stays root and still reopens the log and
# adds workers) and --admin (the stats routes on their own listener,
# answered by the master even while every worker is blocked, 404 on the
# public one), and the usage errors of each.
#
# The recycling runs in a network namespace made for the test, with
# net.ipv4.tcp_migrate_req=1 there: without it a reuseport listener closed
# by a leaving worker resets its queue (docs/serve.md, Signals), with
# --max-requests as with SIGTTOU or SIGHUP.
. tests/lib.sh
. tests/cli/serve_common.sh

# --- usage errors: exit 2, the value named ---------------------------------
while read -r opt val what; do
	out=$($HERD serve "$opt" "$val" 2>&1)
	rc=$?
	expect_eq "$opt '$val': exit 2 ($what)" "$rc" 2
	expect_match "$opt '$val': the message names the value" "$out" "$opt.*'$val'"
done <<'EOF'
--max-requests abc not a number
--max-requests 100:x a bad jitter
--max-requests 0:50 a jitter without a limit
--max-requests 100: an empty jitter
--shutdown-timeout 0 below 1ms
--shutdown-timeout 5parsecs not a duration
--user herd-no-such-user no such user
--admin localhost:9 not numeric
--admin 127.0.0.1 no port
EOF
help=$($HERD serve --help)
for opt in --max-requests --shutdown-timeout --user --admin; do
	expect_match "--help lists $opt" "$help" "^  $opt "
done

if [ "$(id -u)" != 0 ]; then
	skip_all "the rest needs root (--user, a network namespace)"
fi

out=$($HERD serve --user root 2>&1)
expect_eq "--user root: exit 2" "$?" 2
expect_match "--user root: refused, saying why" "$out" "--user root: refusing to run the workers as root"
# Not root: --user someone else cannot work; said before anything starts.
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups $HERD_FAST serve --user daemon --listen 127.0.0.1:1 2>&1)
rc=$?
expect_eq "not root, --user daemon: exit 1" "$rc" 1
expect_match "not root, --user daemon: says root is needed" "$out" "--user daemon \(uid [0-9]+\) needs root: herd serve runs as uid 65534"

# --- --user: the workers run as nobody, the master stays root --------------
chmod 755 "$TMP" # the workers reopen the log by name at SIGUSR1
start_serve --workers 2 --user nobody --access-log "$TMP/u.log"
uids() {
	local p
	for p in $(pgrep -P "$1"); do sed -n 's/^Uid:\t*//p' "/proc/$p/status" | tr -s '\t ' ' '; done | sort -u
}
expect_eq "--user nobody: every worker's real, effective, saved and fs uid is 65534" "$(uids "$SPID")" "65534 65534 65534 65534"
expect_eq "--user nobody: the master keeps uid 0" "$(sed -n 's/^Uid:\t*//p' "/proc/$SPID/status" | tr -s '\t ' ' ')" "0 0 0 0"
expect_match "--user nobody: requests are served" "$(get / | head -1)" "^HTTP/1.1 200 "
mv "$TMP/u.log" "$TMP/u.log.1"
kill -USR1 "$SPID"
wait_line "$SERR" "SIGUSR1: access log" "$SPID" 5
get /after-reopen >/dev/null
kill -TTIN "$SPID"
wait_until 5 grep -q "started (SIGTTIN)" "$SERR"
wait_until 5 bash -c "[ \$(pgrep -P $SPID | wc -l) = 3 ]"
expect_eq "--user nobody: a worker added by SIGTTIN is nobody too" "$(uids "$SPID")" "65534 65534 65534 65534"
stop_serve
expect_match "--user nobody: after SIGUSR1 the workers write the new log (given to nobody)" \
	"$(cat "$TMP/u.log" 2>&1)" '"GET /after-reopen HTTP/1.1" 404'
expect_eq "--user nobody: clean stop" "$SRC" 0

# --- --shutdown-timeout ------------------------------------------------------
# sleeper PATH [STATS_PORT]: a curl in the background, its status code into
# $TMP/code; returns once /stats.txt (on STATS_PORT, default PORT) shows it
# in flight.
sleeper() {
	curl -s -m 20 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT$1" >"$TMP/code" &
	CPID=$!
	track_pid "$CPID"
	wait_until 5 bash -c "curl -s -m 1 http://127.0.0.1:${2:-$PORT}/stats.txt | grep -q 'inflight 1 '"
}
start_serve --workers 2 --shutdown-timeout 1s
sleeper "/sleep?ms=8000"
kill -TERM "$SPID"
if wait_gone "$SPID" 6; then ok "--shutdown-timeout 1s: the stop ends long before the 8 s request"; else not_ok "--shutdown-timeout 1s: the stop ends" "$(cat "$SERR")"; fi
wait "$SPID"
wait "$CPID"
expect_match "--shutdown-timeout 1s: the lifecycle line says 1 connection was closed" "$(cat "$SERR")" \
	"stop: --shutdown-timeout 1.000 s passed: 1 connections closed \(1 with a request running\) by killing 1 workers"
expect_eq "--shutdown-timeout 1s: the cut request got no answer" "$(cat "$TMP/code")" "000"

start_serve --workers 2 --shutdown-timeout 20s
sleeper "/sleep?ms=1000"
stop_serve
wait "$CPID"
expect_eq "--shutdown-timeout 20s: a 1 s request running at the stop finishes with 200" "$(cat "$TMP/code")" 200
if grep -q "connections closed" "$SERR"; then not_ok "--shutdown-timeout 20s: nothing cut" "$(cat "$SERR")"; else ok "--shutdown-timeout 20s: nothing cut"; fi

# --- --admin -----------------------------------------------------------------
APORT=$(free_port)
start_serve --workers 1 --admin "127.0.0.1:$APORT" --pid-file "$TMP/a.pid"
aget() { curl -s -m 5 -o "$TMP/abody" -w '%{http_code}' "http://127.0.0.1:$APORT$1"; }
get / >/dev/null
expect_eq "--admin: /metrics there answers 200" "$(aget /metrics)" 200
expect_match "--admin: with the request counts" "$(cat "$TMP/abody")" '^herd_requests_total\{worker="0"\} 1$'
expect_eq "--admin: /stats there answers 200" "$(aget /stats)" 200
expect_match "--admin: /stats is JSON" "$(head -c 1 "$TMP/abody")" '^[{[]'
expect_eq "--admin: /stats.txt there answers 200" "$(aget /stats.txt)" 200
expect_eq "--admin: / there is 404 (only the stats routes)" "$(aget /)" 404
for r in /metrics /stats /stats.txt; do
	expect_match "--admin: $r on the public listener is 404" "$(get $r | head -1)" "^HTTP/1.1 404 "
done
expect_match "--admin: / on the public listener still 200" "$(get / | head -1)" "^HTTP/1.1 200 "
# The master answers: with the only worker blocked, the admin port still does.
sleeper "/sleep?ms=1500" "$APORT"
expect_eq "--admin: answers while the only worker is blocked in /sleep" "$(aget /stats.txt)" 200
expect_match "--admin: and shows it in flight" "$(cat "$TMP/abody")" "^worker 0 .* inflight 1 "
wait "$CPID"
out=$($HERD serve --listen "127.0.0.1:$(free_port)" --workers 1 --admin "127.0.0.1:$APORT" 2>&1)
expect_eq "--admin on a port in use: exit 1" "$?" 1
expect_match "--admin on a port in use: names the address" "$out" "cannot listen on 127.0.0.1:$APORT \(--admin\): Address already in use"
# A binary upgrade hands the admin listener over with the public one.
old=$SPID
kill -USR2 "$old"
wait_gone "$old" 10
new=$(cat "$TMP/a.pid" 2>/dev/null)
expect_eq "--admin after SIGUSR2: the new master serves it" "$(aget /stats.txt)" 200
if [ -n "$new" ] && [ "$new" != "$old" ]; then
	track_pid "$new"
	kill -TERM "$new"
	wait_gone "$new" 10
fi
wait "$old"

# --- --max-requests under open-loop load ------------------------------------
if ! command -v ip >/dev/null; then
	skip_all "ip(8) is needed for a network namespace"
fi
NS=herd-lim-$$
for old in $(ip netns list 2>/dev/null | awk '/^herd-lim-[0-9]+/ {print $1}'); do
	kill -0 "${old#herd-lim-}" 2>/dev/null || ip netns del "$old" 2>/dev/null
done
if ! ip netns add "$NS" 2>"$TMP/netns.err"; then
	skip_all "cannot create a network namespace: $(cat "$TMP/netns.err")"
fi
trap 'cleanup; ip netns del "$NS" 2>/dev/null' EXIT
ip -n "$NS" link set lo up
ip netns exec "$NS" sysctl -qw net.ipv4.tcp_migrate_req=1

workers_of() { pgrep -P "$1" | sort -n | tr '\n' ' '; }

# recycle MODEL KEEPALIVE CONNS [ARGS...]: 2 workers with --max-requests
# 100:50 under 600 requests/s for 1.5 s over CONNS connections
# (KEEPALIVE: bench's -k).
recycle() {
	local model=$1 k=$2 c=$3 label="$1, -k $2"
	shift 3
	local err=$TMP/rec.$model.$k.err json=$TMP/rec.$model.$k.json before after
	io_args --accept "$model" --workers 2 --max-requests 100:50 "$@"
	ip netns exec "$NS" $HERD serve "${IO_ARGS[@]}" --listen 127.0.0.1:8181 2>"$err" &
	local spid=$!
	track_pid "$spid"
	if ! wait_line "$err" "listening on" "$spid" 5; then
		not_ok "$label: server starts" "$(cat "$err")"
		return 1
	fi
	before=$(workers_of "$spid")
	ip netns exec "$NS" $HERD_FAST bench --rate 600 -c "$c" -k "$k" -d 1.5s --timeout 5s --json "$json" \
		http://127.0.0.1:8181/ >/dev/null 2>"$TMP/bench.err"
	after=$(workers_of "$spid")
	[ "$model" = steer ] && STEER_UIDS=$(uids "$spid")
	kill -TERM "$spid"
	wait "$spid"
	local failed done retired
	failed=$(sed -n 's/^ *"failed": \([0-9]*\),.*/\1/p' "$json" 2>/dev/null)
	done=$(sed -n 's/^ *"done": \([0-9]*\),.*/\1/p' "$json" 2>/dev/null)
	retired=$(grep -c "retired (max-requests)" "$err")
	expect_eq "$label: 0 of ${done:-?} requests failed while workers were recycled" "${failed:-x}" 0
	if [ "${retired:-0}" -ge 3 ]; then ok "$label: $retired workers retired (max-requests)"; else not_ok "$label: at least 3 workers retired (max-requests)" "$(cat "$err")"; fi
	if [ -n "$before" ] && [ -n "$after" ] && [ -z "$(comm -12 <(tr ' ' '\n' <<<"$before" | grep .) <(tr ' ' '\n' <<<"$after" | grep .))" ]; then
		ok "$label: none of the first workers is left"
	else
		not_ok "$label: the workers were replaced" "before: $before" "after: $after"
	fi
}

# A blocking worker serves one connection to its end: keep-alive connections
# beyond the workers' number would wait in the queue all run long.
recycle blocking -1 2
for m in epoll fifo reuseport; do
	recycle $m -1 8
done
recycle fifo 0 8
recycle reuseport 0 8
ip netns exec "$NS" $HERD_FAST serve --accept steer --workers 1 --listen 127.0.0.1:8182 2>"$TMP/steer.err" &
sp=$!
track_pid $sp
if wait_line "$TMP/steer.err" "listening on" $sp 5; then
	kill -TERM $sp
	wait $sp
	# steer's workers publish their load into the eBPF map after dropping
	# to nobody (the map is mmapped before the fork).
	STEER_UIDS=x
	recycle steer -1 8 --user nobody
	expect_eq "steer --user nobody: the workers ran as nobody" "$STEER_UIDS" "65534 65534 65534 65534"
else
	ok "# SKIP steer: it cannot start here: $(cat "$TMP/steer.err")"
fi

done_testing
