# test_serve_proc.sh - herd serve's process side: flags and their errors,
# port in use, worker respawn after SIGKILL, SIGTTIN/SIGTTOU, SIGHUP
# reload, and a graceful stop per model (in-flight request completes).
. tests/lib.sh
. tests/cli/serve_common.sh

out=$($HERD serve --help); rc=$?
expect_eq "--help exits 0" "$rc" 0
expect_match "--help names the flags" "$out" "--accept MODEL"
out=$($HERD serve --list-models)
expect_eq "--list-models: one line per model" "$(printf '%s\n' "$out" | grep -cP '^[a-z][a-z-]*\t\S')" "$(printf '%s\n' "$out" | wc -l)"
for m in single blocking epoll reorder fifo reuseport cpu uring uring-fifo; do
	expect_match "--list-models has $m" "$out" "^$m	"
done
$HERD serve --accept nosuch 2>"$TMP/e"; rc=$?
expect_eq "unknown model exits 2" "$rc" 2
expect_match "unknown model is named" "$(cat "$TMP/e")" "'nosuch'"
$HERD serve --workers 0 2>"$TMP/e"; expect_eq "--workers 0 exits 2" "$?" 2
$HERD serve --header-timeout soon 2>"$TMP/e"; expect_eq "bad --header-timeout exits 2" "$?" 2
expect_match "bad --header-timeout is named" "$(cat "$TMP/e")" "'soon'"
$HERD serve --listen localhost 2>"$TMP/e"; expect_eq "--listen without port exits 2" "$?" 2
expect_match "bad --listen is named" "$(cat "$TMP/e")" "'localhost'"
timeout 10 $HERD serve --listen 192.0.2.1:8181 --workers 1 2>"$TMP/e"; rc=$?
expect_eq "an address not on this machine exits 1" "$rc" 1
expect_match "and the message names it" "$(cat "$TMP/e")" "cannot listen on 192.0.2.1:8181: "

# Port in use: a plain (non-reuseport) listener holds it.
start_serve --workers 2 --accept epoll
for m in epoll reuseport; do
	io_args --workers 2 --accept $m
	timeout 10 $HERD serve --listen "127.0.0.1:$PORT" "${IO_ARGS[@]}" 2>"$TMP/e" &
	p=$!; track_pid $p; wait $p; rc=$?
	expect_eq "$m: port in use exits 1" "$rc" 1
	expect_match "$m: port in use is named" "$(cat "$TMP/e")" "cannot listen on 127.0.0.1:$PORT: Address already in use"
done
expect_eq "the first server still serves" "$(get / | head -1 | tr -d '\r')" "HTTP/1.1 200 OK"

# Respawn after SIGKILL.
victim=$(stats_txt | sed -n 's/^worker 1 pid \([0-9]*\) .*/\1/p')
kill -KILL "$victim"
for _ in $(seq 100); do grep -q "worker 1 pid $victim killed by signal 9" "$SERR" && break; sleep 0.05; done
expect_match "a killed worker is logged with its reason" "$(cat "$SERR")" "worker 1 pid $victim killed by signal 9 .*respawning"
for _ in $(seq 100); do
	now=$(stats_txt | sed -n 's/^worker 1 pid \([0-9]*\) .* state ready.*/\1/p')
	[ -n "$now" ] && [ "$now" != "$victim" ] && break; sleep 0.05
done
if [ -n "$now" ] && [ "$now" != "$victim" ]; then ok "slot 1 has a new worker ($now)"; else not_ok "slot 1 has a new worker" "$(stats_txt)"; fi
conns 6 /
expect_eq "the server serves after the respawn" "$(get / | tail -1)" "<p>hello, world</p>"

# SIGTTIN / SIGTTOU.
ready() { stats_txt | grep -c 'state ready'; }
wait_ready() { for _ in $(seq 100); do [ "$(ready)" = "$1" ] && [ "$(stats_txt | grep -c '^worker')" = "$1" ] && return 0; sleep 0.05; done; return 1; }
kill -TTIN "$SPID"
wait_ready 3; expect_eq "SIGTTIN adds a worker" "$(ready)" 3
kill -TTOU "$SPID"; wait_ready 2
kill -TTOU "$SPID"; wait_ready 1; expect_eq "SIGTTOU removes workers" "$(ready)" 1
kill -TTOU "$SPID"; sleep 0.3
expect_eq "SIGTTOU never removes the last worker" "$(ready)" 1
expect_match "and says so" "$(cat "$SERR")" "keeping the last worker"
kill -TTIN "$SPID"; wait_ready 2
# SIGHUP: new workers, then the old ones leave.
old=$(stats_txt | sed -n 's/^worker [0-9]* pid \([0-9]*\) .*/\1/p' | sort | tr '\n' ' ')
kill -HUP "$SPID"
for _ in $(seq 100); do
	new=$(stats_txt | sed -n 's/^worker [0-9]* pid \([0-9]*\) .*/\1/p' | sort | tr '\n' ' ')
	[ "$(printf '%s\n' $new | wc -l)" = 2 ] && [ -z "$(comm -12 <(printf '%s\n' $old) <(printf '%s\n' $new))" ] && break
	sleep 0.05
done
expect_eq "SIGHUP: two workers afterwards" "$(printf '%s\n' $new | wc -l)" 2
expect_eq "SIGHUP: none of the old workers is left" "$(comm -12 <(printf '%s\n' $old) <(printf '%s\n' $new))" ""
stop_serve
expect_eq "stops with status 0" "$SRC" 0
lines=$(grep -c '^herd serve: worker [0-9]* pid [0-9]* accepted [0-9]* requests [0-9]* cpu [0-9.]*s$' "$SERR")
if [ "$lines" -ge 6 ]; then ok "the exit table lists every slot ever used ($lines lines)"; else not_ok "the exit table lists every slot ever used" "$(cat "$SERR")"; fi

# Graceful stop, per model: a request in flight completes, the server
# exits soon after (bounded generously: the goal is 1 s when idle).
for m in single blocking epoll reorder fifo reuseport cpu; do
	start_serve --workers 2 --accept $m || { not_ok "$m: starts"; continue; }
	get "/sleep?ms=600" >"$TMP/inflight" &
	c=$!
	sleep 0.25
	wpids=$(stats_txt | sed -n 's/^worker [0-9]* pid \([0-9]*\) .*/\1/p')
	t0=$(date +%s%N)
	stop_serve
	t1=$(date +%s%N)
	wait $c
	expect_match "$m: the in-flight request completes on SIGTERM" "$(cat "$TMP/inflight")" "^slept 600 ms"
	expect_eq "$m: exits with status 0" "$SRC" 0
	if [ $(((t1 - t0) / 1000000)) -lt 5000 ]; then ok "$m: stops within 5 s"; else not_ok "$m: stops within 5 s" "took $(((t1 - t0) / 1000000)) ms"; fi
	left=""; for w in $wpids; do kill -0 "$w" 2>/dev/null && left="$left $w"; done
	expect_eq "$m: no worker left ($(echo $wpids))" "$left" ""
done
# A connection that never sent a byte does not hold the stop for the whole
# header timeout (10 s here).
start_serve --workers 1 --header-timeout 10s
exec 7<>"/dev/tcp/127.0.0.1/$PORT"
sleep 0.2
t0=$(date +%s%N)
stop_serve
t1=$(date +%s%N)
exec 7<&-
if [ $(((t1 - t0) / 1000000)) -lt 5000 ]; then ok "a silent connection does not delay the stop"; else not_ok "a silent connection does not delay the stop" "took $(((t1 - t0) / 1000000)) ms"; fi
# Reload and removal with requests in flight: a shared-queue model gives the
# two concurrent requests one worker each; SIGHUP retires both workers and
# SIGTTOU one more, yet both requests are answered in full. (Not reuseport:
# both may hash to one worker, and the second then waits in the queue of a
# listener that closes: reset unless net.ipv4.tcp_migrate_req is on.)
for m in fifo epoll; do
	start_serve --workers 2 --accept $m
	get "/sleep?ms=700" >"$TMP/r1" &
	c1=$!
	get "/sleep?ms=700" >"$TMP/r2" &
	c2=$!
	sleep 0.3
	kill -HUP "$SPID"
	sleep 0.1
	kill -TTOU "$SPID"
	wait $c1 $c2
	expect_match "$m: SIGHUP + SIGTTOU: first in-flight request answered" "$(cat "$TMP/r1")" "^slept 700 ms"
	expect_match "$m: SIGHUP + SIGTTOU: second in-flight request answered" "$(cat "$TMP/r2")" "^slept 700 ms"
	expect_eq "$m: still serving afterwards" "$(get / | tail -1)" "<p>hello, world</p>"
	stop_serve
done
done_testing
