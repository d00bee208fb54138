# test_uring.sh - the io_uring accept models (docs/uring.md): which worker
# gets the connection, what they cost, and the clear refusal when io_uring
# cannot be used (seccomp filter; kernel.io_uring_disabled=2 when root).
. tests/lib.sh
. tests/cli/serve_common.sh

run_model() {
	COUNTS=""
	start_serve --workers 3 --accept "$1" || return 1
	conns "$2" / "${3:-0}" || return 1
	stop_serve
	COUNTS=$(exit_counts | tr '\n' ' ')
	COUNTS=${COUNTS% }
}
max_of() { printf '%s\n' $1 | sort -n | tail -1; }
min_of() { printf '%s\n' $1 | sort -n | head -1; }
sum_of() { printf '%s\n' $1 | awk '{s += $1} END {print s + 0}'; }

# uring at idle: every worker's multishot accept sits on the listener's
# wait queue as an exclusive entry that never moves: the first armed takes
# every connection.
run_model uring 9 0.05
expect_eq "uring: the exit table has 3 workers" "$(printf '%s\n' $COUNTS | wc -l)" 3
expect_eq "uring: one worker takes all 9 sequential connections ($COUNTS)" "$(max_of "$COUNTS")" 9

# The same with the io_uring loop accepting on its own ring (--io uring,
# DEFER_TASKRUN): the entry and its wake-up rule are the kernel's, so the
# first armed still takes all.
start_serve --workers 3 --accept uring --io uring || true
conns 9 / 0.05
stop_serve
COUNTS=$(exit_counts | tr '\n' ' ')
expect_eq "uring under --io uring: one worker takes all 9 ($COUNTS)" "$(max_of "$COUNTS")" 9

# uring-fifo: a one-shot accept re-armed (at the tail) only when idle.
run_model uring-fifo 9 0.05
m=$(min_of "$COUNTS"); x=$(max_of "$COUNTS")
if [ "$(printf '%s\n' $COUNTS | wc -l)" -eq 3 ] && [ "${m:-0}" -ge 2 ] && [ "${x:-9}" -le 4 ]; then
	ok "uring-fifo: 9 sequential connections spread over all workers ($COUNTS)"
else
	not_ok "uring-fifo: 9 sequential connections spread over all workers" "counts: $COUNTS"
fi

# A busy worker: one connection blocks its worker in /sleep, then 4 more
# arrive one after another. uring gives them to the sleeping worker (its
# wait-queue entry still comes first: io_poll_wake does not ask whether
# anyone waits); uring-fifo's sleeping worker is not armed, so the others
# take them.
stall_run() {
	start_serve --workers 3 --accept "$1" || return 1
	timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$0; printf "GET /sleep?ms=1500 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" >&3; cat <&3 >/dev/null' "$PORT" &
	local sp=$!
	sleep 0.3
	timeout 10 bash -c 'for i in 1 2 3 4; do exec 3<>/dev/tcp/127.0.0.1/$0; printf "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" >&3; cat <&3 >/dev/null; exec 3<&-; sleep 0.05; done' "$PORT" &
	local qp=$!
	wait "$sp" "$qp"
	stop_serve
	COUNTS=$(exit_counts | tr '\n' ' ')
}
stall_run uring
expect_eq "uring: the busy worker still takes the 4 connections that arrive while it sleeps ($COUNTS)" "$(max_of "$COUNTS")" 5
stall_run uring-fifo
if [ "$(sum_of "$COUNTS")" -eq 5 ] && [ "$(max_of "$COUNTS")" -le 3 ]; then
	ok "uring-fifo: the other workers take the connections while one sleeps ($COUNTS)"
else
	not_ok "uring-fifo: the other workers take the connections while one sleeps" "counts: $COUNTS"
fi

# Cost, counted in epoll_ctl (listener operations): uring arms once per
# worker (one SQE, one epoll_ctl for the ring); uring-fifo one SQE per
# connection.
cost() {
	start_serve --workers 2 --accept "$1" || return 1
	conns 20 /
	CTL=$(stats_txt | sed -n 's/.* epoll_ctl \([0-9]*\) .*/\1/p' | awk '{s += $1} END {print s + 0}')
	stop_serve
}
cost uring
if [ "$CTL" -ge 2 ] && [ "$CTL" -le 4 ]; then ok "uring: arms once per worker ($CTL operations for 21 connections)"; else not_ok "uring: arms once per worker" "$CTL operations for 21 connections"; fi
cost uring-fifo
if [ "$CTL" -ge 21 ] && [ "$CTL" -le 26 ]; then ok "uring-fifo: one submission per connection ($CTL for 21)"; else not_ok "uring-fifo: one submission per connection" "$CTL operations for 21 connections"; fi

# Without io_uring (a seccomp filter, as container runtimes install): a
# clear refusal naming the reason and the epoll twin, and the lab marks the
# model unavailable with that reason.
NO_URING="python3 tests/cli/seccomp_deny.py uring"
$NO_URING true; rc_nu=$?
if [ "$rc_nu" -eq 77 ]; then
	ok "# SKIP no seccomp helper on $(uname -m)"
else
	$NO_URING "$HERD" serve --listen 127.0.0.1:1 --accept uring-fifo >/dev/null 2>"$TMP/nu.err"; rc=$?
	expect_eq "seccomp: --accept uring-fifo exits 1" "$rc" 1
	expect_match "seccomp: names the reason and suggests fifo" "$(cat "$TMP/nu.err")" \
		"accept model 'uring-fifo' needs io_uring: io_uring_setup\(\) is not permitted .*seccomp.*; try --accept fifo"
	port=$(free_port)
	$NO_URING "$HERD" lab --models uring --scenarios idle --idle-requests 5 --workers 2 --port "$port" \
		--json "$TMP/lab.json" >/dev/null 2>&1
	reason=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["models"][0]; print(m["available"], m["reason"])' "$TMP/lab.json" 2>&1)
	expect_match "seccomp: the lab marks uring unavailable with the reason" "$reason" "^False .*needs io_uring: io_uring_setup\(\) is not permitted"
fi

# --io: the loop's flag and its refusals.
$HERD serve --io kqueue 2>"$TMP/io.err"; rc=$?
expect_eq "--io kqueue exits 2" "$rc" 2
expect_match "--io kqueue is named" "$(cat "$TMP/io.err")" "bad value for --io: 'kqueue' \(epoll or uring\)"
$HERD serve --io uring --accept fifo 2>"$TMP/io.err"; rc=$?
expect_eq "--io uring --accept fifo exits 2" "$rc" 2
expect_match "--io uring --accept fifo says why and what works" "$(cat "$TMP/io.err")" \
	"--io uring does not work with accept model 'fifo' .*use --accept uring-fifo, or --io epoll"
start_serve --workers 2 --io uring
expect_match "--io uring without --accept runs uring-fifo" "$(grep -m1 "listening on" "$SERR")" "accept uring-fifo, 2 workers"
stop_serve
if [ "$rc_nu" != 77 ]; then
	$NO_URING "$HERD" serve --listen 127.0.0.1:1 --io uring 2>"$TMP/nu.err"; rc=$?
	expect_eq "seccomp: --io uring exits 1" "$rc" 1
	expect_match "seccomp: --io uring names the reason and suggests epoll" "$(cat "$TMP/nu.err")" \
		"--io uring needs io_uring: io_uring_setup\(\) is not permitted .*; try --io epoll --accept fifo"
fi

# kernel.io_uring_disabled=2 for the length of one refused start, then
# restored (root only; the trap restores it if the test dies in between).
old=$(cat /proc/sys/kernel/io_uring_disabled 2>/dev/null)
if [ "$(id -u)" -eq 0 ] && [ -n "$old" ] && [ -w /proc/sys/kernel/io_uring_disabled ]; then
	trap 'echo "$old" >/proc/sys/kernel/io_uring_disabled; cleanup' EXIT
	echo 2 >/proc/sys/kernel/io_uring_disabled
	"$HERD" serve --listen 127.0.0.1:1 --accept uring >/dev/null 2>"$TMP/dis.err"; rc=$?
	echo "$old" >/proc/sys/kernel/io_uring_disabled
	expect_eq "io_uring_disabled=2: exit status 1" "$rc" 1
	expect_match "io_uring_disabled=2: names the sysctl and suggests epoll" "$(cat "$TMP/dis.err")" \
		"needs io_uring: io_uring is disabled on this system \(kernel.io_uring_disabled=2\); try --accept epoll"
	expect_eq "io_uring_disabled restored" "$(cat /proc/sys/kernel/io_uring_disabled)" "$old"
else
	ok "# SKIP io_uring_disabled=2 needs root"
fi
done_testing
