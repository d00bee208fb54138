# test_serve_ops.sh - herd serve the way operators run it: port 0, the pid
# file, SIGUSR1/SIGUSR2 (which used to kill the master), /metrics in the
# Prometheus text format, --max-work, systemd socket activation and
# sd_notify, curl's Expect: 100-continue on a reused connection.
. tests/lib.sh
. tests/cli/serve_common.sh

# start_any ARGS...: starts herd serve with ARGS (its own --listen), waits
# for the listening line; sets SPID, SERR, PORT (from the line).
start_any() {
	SERR=$TMP/any.$RANDOM.err
	io_args "$@"
	$HERD serve "${IO_ARGS[@]}" 2>"$SERR" &
	SPID=$!
	track_pid "$SPID"
	wait_line "$SERR" "listening on" "$SPID"
	PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$SERR" | head -1)
}

# Port 0: the real port is printed, and every worker serves on it (with
# reuseport each worker used to bind a random port of its own).
for m in fifo reuseport; do
	start_any --listen 127.0.0.1:0 --workers 3 --accept $m
	expect_match "$m, port 0: the listening line names a real port" "$PORT" '^[1-9][0-9]*$'
	if [ -n "$PORT" ]; then
		nports=$(ss -Htlnp | grep "pid=$SPID," | awk '{print $4}' | sort -u | wc -l)
		expect_eq "$m, port 0: one port for all workers" "$nports" 1
		conns 30 / >/dev/null
		stop_serve
		expect_eq "$m, port 0: all 30 connections served on it" \
			"$(exit_counts | awk '{s += $1} END {print s}')" 30
	else
		not_ok "$m, port 0: one port" "$(cat "$SERR")"; not_ok "$m, port 0: served"
		kill "$SPID"
	fi
done

# Pid file and SIGUSR1 without an access log: logged, the master lives.
start_serve --workers 2 --pid-file "$TMP/herd.pid"
expect_eq "--pid-file holds the master's pid" "$(cat "$TMP/herd.pid" 2>&1)" "$SPID"
kill -USR1 "$SPID"
sleep 0.3
if kill -0 "$SPID" 2>/dev/null; then ok "SIGUSR1 does not kill the master"; else not_ok "SIGUSR1 does not kill the master" "$(cat "$SERR")"; fi
expect_match "SIGUSR1 without --access-log is logged" "$(cat "$SERR")" "SIGUSR1: no --access-log to reopen; ignored"
expect_match "still serving after USR1" "$(get / | head -1)" "^HTTP/1.1 200 "

# /metrics: the Prometheus text format, checked by promtool when it is
# installed and by the grammar below in any case.
get / >/dev/null
metrics=$(get /metrics | sed '1,/^\r$/d')
expect_match "/metrics counts requests per worker" "$metrics" '^herd_requests_total\{worker="[01]"\} [1-9][0-9]*$'
expect_match "/metrics has the in-flight gauge" "$metrics" '^# TYPE herd_inflight gauge$'
expect_match "/metrics counts workers" "$metrics" '^herd_workers\{state="ready"\} 2$'
bad=$(printf '%s\n' "$metrics" | grep -Ev '^# (HELP|TYPE) herd_[a-z_]+ .+$|^herd_[a-z_]+(\{[a-z]+="([a-z0-9]+|[0-9]+\.[0-9]+|\+Inf)"\})? [0-9]+(\.[0-9]+)?$')
expect_eq "/metrics: every line is a HELP, a TYPE or a sample" "$bad" ""
untyped=$(printf '%s\n' "$metrics" | awk '/^# TYPE/ {t[$3] = 1; next} /^#/ {next} {n = $1; sub(/\{.*/, "", n); if (!(n in t)) {sub(/_(bucket|sum|count)$/, "", n); if (!(n in t)) print n}}' | sort -u)
expect_eq "/metrics: every sample follows its family's TYPE line" "$untyped" ""
if command -v promtool >/dev/null; then
	out=$(printf '%s\n' "$metrics" | promtool check metrics 2>&1); rc=$?
	expect_eq "promtool check metrics accepts /metrics ($out)" "$rc" 0
else
	ok "# SKIP promtool check metrics: promtool is not installed (Debian's prometheus package, 96 MB)"
fi
stop_serve
expect_eq "clean stop with a pid file" "$SRC" 0
if [ -e "$TMP/herd.pid" ]; then not_ok "the pid file is removed at exit"; else ok "the pid file is removed at exit"; fi

# SIGUSR2, nginx's binary upgrade: a new master on the same listener, the
# old one retires once it is ready; clients see no error meanwhile.
start_serve --workers 2 --pid-file "$TMP/up.pid"
old=$SPID
(for _ in $(seq 150); do get / | head -1; sleep 0.01; done) >"$TMP/up.out" 2>&1 &
loader=$!
track_pid $loader
sleep 0.3
kill -USR2 "$old"
for _ in $(seq 100); do
	new=$(cat "$TMP/up.pid" 2>/dev/null)
	[ -n "$new" ] && [ "$new" != "$old" ] && ! kill -0 "$old" 2>/dev/null && break
	sleep 0.1
done
track_pid "$new"
if [ -n "$new" ] && [ "$new" != "$old" ]; then ok "SIGUSR2: the pid file names the new master"; else not_ok "SIGUSR2: the pid file names the new master" "$(cat "$SERR")"; fi
if kill -0 "$old" 2>/dev/null; then not_ok "SIGUSR2: the old master retires" "$(cat "$SERR")"; else ok "SIGUSR2: the old master retires"; fi
wait $loader
expect_eq "SIGUSR2: 150 requests across the upgrade, all answered 200" "$(grep -c '^HTTP/1.1 200 ' "$TMP/up.out")" 150
expect_match "SIGUSR2: the new master serves" "$(get / | head -1)" "^HTTP/1.1 200 "
expect_match "SIGUSR2: the handover is logged" "$(cat "$SERR")" "SIGUSR2: new master pid $new is ready; stopping this one"
SPID=$new
stop_serve
if [ -e "$TMP/up.pid" ]; then not_ok "the new master removes the pid file"; else ok "the new master removes the pid file"; fi
start_serve --workers 2 --accept reuseport
kill -USR2 "$SPID"; sleep 0.3
expect_match "SIGUSR2 with a listener per worker: refused, logged" "$(cat "$SERR")" "SIGUSR2: this accept model has a listener per worker"
if kill -0 "$SPID" 2>/dev/null; then ok "and the master lives"; else not_ok "and the master lives"; fi
stop_serve

# --max-work caps /cpu and /sleep with a clear 400.
start_serve --workers 1 --max-work 50ms
expect_match "--max-work 50ms: /sleep?ms=50 is served" "$(get '/sleep?ms=50')" '^slept 50 ms'
expect_match "--max-work 50ms: /sleep?ms=51 is a 400 naming the limit" "$(get '/sleep?ms=51')" \
	"ms is above this server's limit of 50 \(--max-work\)"
expect_match "--max-work 50ms: /cpu?us=50001 is a 400" "$(get '/cpu?us=50001' | head -1)" '^HTTP/1.1 400 '

# curl sends Expect: 100-continue and waits for 100 before its body; then
# the reused connection must serve the next request at once (it used to
# take the next request for the body and time out).
printf 'abc' >"$TMP/body"
start=$(date +%s%N)
out=$(timeout 8 curl -s -o /dev/null -w '%{http_code} %{num_connects}\n' -X GET -H 'Expect: 100-continue' \
	--data-binary @"$TMP/body" "http://127.0.0.1:$PORT/" \
	--next -s -o /dev/null -w '%{http_code} %{num_connects}\n' "http://127.0.0.1:$PORT/cpu?us=1")
took=$((($(date +%s%N) - start) / 1000000))
expect_eq "Expect: 100-continue, then a reused connection: both answered 200, one connection" \
	"$(printf '%s' "$out" | tr '\n' ' ')" "200 1 200 0"
if [ "$took" -lt 900 ]; then ok "and at once (${took} ms: curl waits 1 s without a 100)"; else not_ok "and at once" "took ${took} ms"; fi
stop_serve

# sd_notify: READY, RELOADING + READY around a SIGHUP, STOPPING.
if command -v python3 >/dev/null; then
	python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(15)
with open(sys.argv[2], "w", buffering=1) as f:
    while True:
        try: m = s.recv(4096).decode()
        except socket.timeout: break
        f.write(m.replace("\n", " ") + "\n")
        if m.startswith("STOPPING=1"): break
' "$TMP/notify.sock" "$TMP/notify.log" &
	track_pid $!
	for _ in $(seq 50); do [ -S "$TMP/notify.sock" ] && break; sleep 0.05; done
	NOTIFY_SOCKET=$TMP/notify.sock start_serve --workers 2
	for _ in $(seq 50); do grep -q READY "$TMP/notify.log" 2>/dev/null && break; sleep 0.05; done
	kill -HUP "$SPID"
	for _ in $(seq 100); do [ "$(grep -c READY "$TMP/notify.log")" -ge 2 ] && break; sleep 0.05; done
	stop_serve
	for _ in $(seq 50); do grep -q STOPPING "$TMP/notify.log" && break; sleep 0.05; done
	got=$(sed 's/MONOTONIC_USEC=[0-9]*/MONOTONIC_USEC=N/' "$TMP/notify.log" | tr '\n' '|')
	expect_eq "sd_notify: READY, RELOADING, READY, STOPPING" "$got" \
		"READY=1|RELOADING=1 MONOTONIC_USEC=N|READY=1|STOPPING=1|"
else
	ok "# SKIP sd_notify: python3 is not installed"
fi

# Socket activation: systemd-socket-activate listens, starts herd at the
# first connection with LISTEN_FDS=1, and herd serves on that socket.
if command -v systemd-socket-activate >/dev/null; then
	port=$(free_port)
	io_args --workers 2
	systemd-socket-activate -l "127.0.0.1:$port" $HERD serve "${IO_ARGS[@]}" 2>"$TMP/sa.err" &
	sa=$!
	track_pid $sa
	wait_port "$port" 5
	PORT=$port
	out=$(get /)
	expect_match "socket activation: the first connection is served" "$out" '^HTTP/1.1 200 OK'
	expect_match "socket activation: and the next" "$(get '/cpu?us=1')" '^burnt 1 us'
	for _ in $(seq 50); do grep -q "listening on" "$TMP/sa.err" && break; sleep 0.1; done
	expect_match "socket activation: the listening line names the passed socket" "$(cat "$TMP/sa.err")" \
		"listening on 127.0.0.1:$port "
	kill -TERM $sa
	wait_gone $sa 5
	wait $sa; rc=$?
	expect_eq "socket activation: clean stop" "$rc" 0
	# A model with a listener per worker cannot use the one socket.
	LISTEN_PID=$$ LISTEN_FDS=1 bash -c 'exec 3<>/dev/null; LISTEN_PID=$$ exec "$0" serve --accept reuseport' "$HERD" 2>"$TMP/e"
	expect_eq "socket activation with reuseport exits 2" "$?" 2
	expect_match "and says why" "$(cat "$TMP/e")" "accept model 'reuseport' opens a listener per worker"
else
	ok "# SKIP socket activation: systemd-socket-activate is not installed (Debian's systemd package)"
fi
done_testing
