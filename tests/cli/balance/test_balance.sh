# test_balance.sh - `herd balance` on a running `herd serve --accept
# reuseport --workers 4` (a reuseport group the test starts, 127.0.0.1):
# with a worker blocked in /sleep, sequential connections avoid it with
# balance attached and do not without (the control); going by the queues
# alone (--no-busy) at most one connection waits behind it; ties at idle go
# round robin; SIGTERM detaches and leaves no program (bpftool and the
# group's own state); a second balance is refused; --pin leaves it attached
# and --detach takes it off, as after a SIGKILL; the target exiting ends balance with exit 1 and
# nothing attached; and every refusal: usage errors, nothing listening, no
# SO_REUSEPORT (a shared queue), another tool's program, not root, no
# ptrace rights, a kernel without the program type.
. tests/lib.sh
. tests/cli/serve_common.sh

[ "$(id -u)" = 0 ] || skip_all "needs root (CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON, ptrace)"
[ -r /sys/kernel/btf/vmlinux ] || skip_all "no /sys/kernel/btf/vmlinux"
command -v curl >/dev/null || skip_all "curl is not installed"
HAVE_BPFTOOL=0
command -v bpftool >/dev/null && HAVE_BPFTOOL=1

# start_balance ARGS...: herd balance in the background; waits for its
# "attached" line. Sets BPID, BOUT, BERR, BPROG (the program's id).
start_balance() {
	BOUT=$TMP/balance.$RANDOM.out
	BERR=$BOUT.err
	$HERD balance "$@" >"$BOUT" 2>"$BERR" &
	BPID=$!
	track_pid "$BPID"
	BPROG=
	if wait_line "$BERR" "attached to" "$BPID" 15; then
		BPROG=$(sed -n 's/.*(program id \([0-9]*\)).*/\1/p' "$BERR" | head -1)
		return 0
	fi
	echo "# herd balance did not attach: $(cat "$BERR")"
	return 1
}

# stop_balance [SIG]: sends SIG (default TERM), waits; sets BRC.
stop_balance() {
	kill "-${1:-TERM}" "$BPID" 2>/dev/null
	wait_gone "$BPID" 10
	wait "$BPID"
	BRC=$?
}

# prog_loaded ID: the kernel still has program ID (bpftool).
prog_loaded() { bpftool prog show id "$1" >/dev/null 2>&1; }

# status_prog PORT: the program line of `herd balance --status`.
status_prog() { $HERD balance --status --port "$1" 2>&1 | sed -n 's/^port .* program: //p' | head -1; }

# blocked_fails TIMEOUT: blocks a worker in /sleep?ms=4000, then makes 30
# sequential requests, each with TIMEOUT; prints how many got no answer.
blocked_fails() {
	local f=0 i
	get "/sleep?ms=4000" >/dev/null &
	local sleeper=$!
	track_pid "$sleeper"
	# Let the sleep reach its worker (it has left epoll_wait for longer
	# than --stall's 5 ms well before the first request).
	sleep 0.3
	for i in $(seq 30); do
		curl -s -o /dev/null -m "$1" "http://127.0.0.1:$PORT/" || f=$((f + 1))
	done
	wait "$sleeper"
	echo "$f"
}

# ---------------------------------------------------------------- usage
$HERD balance >/dev/null 2>"$TMP/e"
expect_eq "no target: exit 2" "$?" 2
expect_match "no target: says what to give" "$(cat "$TMP/e")" "say which server: --pid PID or --port PORT"
$HERD balance --port 70000 >/dev/null 2>"$TMP/e"
expect_eq "bad --port: exit 2" "$?" 2
expect_match "bad --port: names the value" "$(cat "$TMP/e")" "bad --port '70000'"
$HERD balance --port 1 --pid 1 >/dev/null 2>"$TMP/e"
expect_eq "--port and --pid together: exit 2" "$?" 2
$HERD balance --port 1 --pin "$TMP" >/dev/null 2>"$TMP/e"
expect_eq "--pin on a directory that is not bpffs: exit 2" "$?" 2
expect_match "--pin: says it is not a bpf filesystem" "$(cat "$TMP/e")" "--pin '$TMP': not a bpf filesystem"

# ------------------------------------------------------- nothing to do
port=$(free_port)
$HERD balance --port "$port" >/dev/null 2>"$TMP/e"
expect_eq "nothing listening: exit 1" "$?" 1
expect_match "nothing listening: said" "$(cat "$TMP/e")" "^herd balance: nothing listens on port $port"

start_serve --accept fifo --workers 2
$HERD balance --port "$PORT" >/dev/null 2>"$TMP/e"
expect_eq "no SO_REUSEPORT (fifo): exit 1" "$?" 1
expect_match "no SO_REUSEPORT: says the queue is shared already" "$(cat "$TMP/e")" \
	"without SO_REUSEPORT: its workers share one accept queue already"
stop_serve

# A group with a classic BPF program of its own (herd serve's cpu model).
start_serve --accept cpu --workers 2
$HERD balance --port "$PORT" >/dev/null 2>"$TMP/e"
expect_eq "another program attached (cpu's classic BPF): exit 1" "$?" 1
expect_match "another program attached: said, not replaced" "$(cat "$TMP/e")" \
	"already has a classic BPF program .*attached; herd balance does not replace"
expect_match "--status names the classic BPF program" "$(status_prog "$PORT")" "a classic BPF program"
$HERD balance --detach --port "$PORT" >/dev/null 2>"$TMP/e"
expect_eq "--detach of another tool's program: exit 1" "$?" 1
expect_match "--detach of another tool's program: refused" "$(cat "$TMP/e")" "not herd balance's: not detaching it"
expect_match "--detach of another tool's program: still there" "$(status_prog "$PORT")" "a classic BPF program"
stop_serve

# ------------------------------------------------------- the blocked worker
start_serve --accept reuseport --workers 4
fails=$(blocked_fails 0.5)
if [ "$fails" -gt 0 ]; then
	ok "control, no balance: $fails of 30 requests waited behind the blocked worker"
else
	not_ok "control, no balance: some of 30 requests should wait behind the blocked worker ((3/4)^30 to miss)"
fi

if start_balance --port "$PORT" --interval 0.2; then
	ok "balance attaches to the 4 listeners"
	expect_match "balance names the 4 workers" "$(cat "$BERR")" "attached to 4 listeners .*workers by listener: [1-9][0-9]* [1-9][0-9]* [1-9][0-9]* [1-9][0-9]*;"
	expect_match "--status shows herd balance's program" "$(status_prog "$PORT")" "id $BPROG 'balance_select' \(herd balance's\)"
	fails=$(blocked_fails 2)
	expect_eq "balance: every request answered while a worker is blocked" "$fails" 0
	if grep -q ' S' "$BOUT"; then ok "live line showed the blocked worker stalled (S)"; else not_ok "live line showed the blocked worker stalled (S)" "$(tail -3 "$BOUT")"; fi

	# A second balance on the same group is refused; the first stays.
	$HERD balance --port "$PORT" --duration 1 >/dev/null 2>"$TMP/e2"
	expect_eq "second balance: exit 1" "$?" 1
	expect_match "second balance: names the attached program" "$(cat "$TMP/e2")" \
		"already has eBPF program id $BPROG 'balance_select' \(herd balance's\) attached: another herd balance runs"
	expect_match "second balance: the first is still attached" "$(status_prog "$PORT")" "id $BPROG "

	stop_balance TERM
	expect_eq "SIGTERM: exit 0" "$BRC" 0
	expect_match "SIGTERM: says detached" "$(cat "$BERR")" "detached: the group is as it was"
	expect_eq "after SIGTERM: --status shows no program" "$(status_prog "$PORT")" "none"
	if [ "$HAVE_BPFTOOL" = 1 ]; then
		if prog_loaded "$BPROG"; then not_ok "after SIGTERM: bpftool has no program $BPROG" "$(bpftool prog show id "$BPROG")"; else ok "after SIGTERM: bpftool has no program $BPROG"; fi
	else
		ok "# SKIP bpftool is not installed"
	fi
	steered=$(tail -1 "$BOUT" | sed -n 's/.* total \([0-9]*\) .*/\1/p')
	if [ "${steered:-0}" -ge 30 ]; then ok "the program placed the requests ($steered)"; else not_ok "the program placed the requests" "$(tail -2 "$BOUT")"; fi
else
	not_ok "balance attaches to the 4 listeners" "$(cat "$BERR")"
fi

# Queue alone: the first connection sent to the blocked worker's empty queue
# waits there, after which its queue is the longest and it gets no more.
if start_balance --port "$PORT" --no-busy --interval 0.2; then
	fails=$(blocked_fails 0.5)
	if [ "$fails" -le 1 ]; then ok "--no-busy: $fails of 30 requests waited behind the blocked worker (at most 1)"; else not_ok "--no-busy: at most 1 request waits behind the blocked worker" "$fails failed"; fi
	stop_balance INT
	expect_eq "SIGINT: exit 0" "$BRC" 0
	expect_eq "after SIGINT: no program" "$(status_prog "$PORT")" "none"
else
	not_ok "--no-busy attaches" "$(cat "$BERR")"
fi

# Ties at idle go round robin: 40 sequential connections, 10 each.
if start_balance --port "$PORT" --no-busy --interval 0.2; then
	conns 40 / >/dev/null
	sleep 0.3
	stop_balance
	line=$(tail -1 "$BOUT")
	expect_match "idle, queue only: 40 sequential connections go 10/10/10/10" "$line" "steered 10 10 10 10 "
else
	not_ok "round robin run attaches" "$(cat "$BERR")"
fi

# ------------------------------------------------------- refusals
# Not root: no capabilities at all.
setpriv --reuid=nobody --regid=nogroup --clear-groups $HERD balance --port "$PORT" >/dev/null 2>"$TMP/e"
expect_eq "not root: exit 1" "$?" 1
expect_match "not root: names what is missing" "$(cat "$TMP/e")" \
	"needs root, or CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON .*missing here: CAP_BPF CAP_NET_ADMIN CAP_PERFMON"
# Root without CAP_SYS_PTRACE: the server's descriptors are out of reach.
capsh --drop=cap_sys_ptrace -- -c "exec $HERD balance --port $PORT" >/dev/null 2>"$TMP/e"
expect_eq "no ptrace rights: exit 1" "$?" 1
expect_match "no ptrace rights: said" "$(cat "$TMP/e")" "no ptrace rights: .*needs CAP_SYS_PTRACE"
# A kernel without the program type: every BPF_PROG_LOAD answered EINVAL.
python3 tests/cli/seccomp_deny.py bpf-prog $HERD balance --port "$PORT" >/dev/null 2>"$TMP/e"
rc=$?
if [ "$rc" = 77 ]; then
	ok "# SKIP no sk_reuseport type: the seccomp helper is x86_64 only"
else
	expect_eq "no sk_reuseport program type: exit 1" "$rc" 1
	expect_match "no sk_reuseport program type: said" "$(cat "$TMP/e")" \
		"this kernel does not offer the sk_reuseport eBPF program type"
fi
expect_eq "after the refusals: no program" "$(status_prog "$PORT")" "none"

# --detach with nothing attached.
$HERD balance --detach --port "$PORT" >/dev/null 2>"$TMP/e"
expect_eq "--detach, nothing attached: exit 0" "$?" 0
expect_match "--detach, nothing attached: said" "$(cat "$TMP/e")" "no herd balance program attached"

# ------------------------------------------------------- --pin, --detach
BPFFS=$TMP/bpffs
mkdir -p "$BPFFS"
if mount -t bpf bpf "$BPFFS" 2>/dev/null; then
	trap 'cleanup; umount "$BPFFS" 2>/dev/null' EXIT
	if start_balance --port "$PORT" --pin "$BPFFS"; then
		stop_balance
		expect_eq "--pin: exit 0" "$BRC" 0
		expect_match "--pin: still attached after exit" "$(status_prog "$PORT")" "id $BPROG 'balance_select'"
		if [ -e "$BPFFS/balance_select" ]; then ok "--pin: program pinned"; else not_ok "--pin: program pinned" "$(ls "$BPFFS")"; fi
		fails=$(blocked_fails 0.5)
		if [ "$fails" -le 1 ]; then ok "--pin: the program still steers after exit (queue only: $fails waited)"; else not_ok "--pin: the program still steers after exit" "$fails failed"; fi
		$HERD balance --port "$PORT" --duration 1 >/dev/null 2>"$TMP/e"
		expect_eq "--pin: a new balance on the pinned group is refused" "$?" 1
		$HERD balance --detach --port "$PORT" --pin "$BPFFS" >/dev/null 2>"$TMP/e"
		expect_eq "--detach --pin: exit 0" "$?" 0
		expect_match "--detach --pin: said" "$(cat "$TMP/e")" "detached program id $BPROG .* and removed its pins"
		expect_eq "--detach: no program" "$(status_prog "$PORT")" "none"
		expect_eq "--detach --pin: the pins are gone" "$(ls "$BPFFS" | grep balance_)" ""
		if [ "$HAVE_BPFTOOL" = 1 ] && prog_loaded "$BPROG"; then not_ok "--detach: bpftool has no program $BPROG"; else ok "--detach: bpftool has no program $BPROG"; fi
	else
		not_ok "--pin attaches" "$(cat "$BERR")"
	fi
	umount "$BPFFS"
else
	ok "# SKIP --pin: cannot mount a bpf filesystem"
fi

# SIGKILL: no chance to detach; the group keeps the program, and --detach
# (without --pin) takes it off.
if start_balance --port "$PORT"; then
	stop_balance KILL
	expect_match "SIGKILL: the program stays attached" "$(status_prog "$PORT")" "id $BPROG 'balance_select'"
	$HERD balance --detach --port "$PORT" >/dev/null 2>"$TMP/e"
	expect_eq "--detach after SIGKILL: exit 0" "$?" 0
	expect_match "--detach after SIGKILL: said" "$(cat "$TMP/e")" "detached program id $BPROG from port $PORT"
	expect_eq "--detach after SIGKILL: no program" "$(status_prog "$PORT")" "none"
	if [ "$HAVE_BPFTOOL" = 1 ] && prog_loaded "$BPROG"; then not_ok "--detach after SIGKILL: bpftool has no program $BPROG"; else ok "--detach after SIGKILL: bpftool has no program $BPROG"; fi
else
	not_ok "balance attaches (SIGKILL case)" "$(cat "$BERR")"
fi

# ------------------------------------------------------- the target exits
if start_balance --pid "$SPID"; then
	stop_serve
	wait_gone "$BPID" 5
	wait "$BPID"
	expect_eq "target exits (--pid): exit 1" "$?" 1
	expect_match "target exits: said" "$(cat "$BERR")" "the target, process $SPID, exited"
	if [ "$HAVE_BPFTOOL" = 1 ] && prog_loaded "$BPROG"; then not_ok "target exits: no program left"; else ok "target exits: no program left"; fi
else
	not_ok "balance --pid attaches" "$(cat "$BERR")"
	stop_serve
fi
# Eviction: connections already queued on a worker's listener when it
# stalls are moved to the others (balance's shutdown() + listen() of that
# listener, src/balance/session.c). Workers B and C run /sleep?ms=1000,
# then, 0.4 s after C's, A /sleep?ms=1500 (balance sends each to an idle
# worker). 9 requests sent 50 ms later find every worker stalled, and the
# program then prefers the least stalled one (bpf/reuseport_load.h rl_key):
# A, so they queue on A's listener. B and C are free again about 1 s in;
# A's queue would wait for its 1500 ms unless moved. Asserted: with
# eviction all 9 are answered (200, none reset) before A's /sleep is, and
# before C's (B, free first, takes them all), and
# the final line counts the eviction; with --no-evict none is answered
# before the other two workers are free.
# evict_order ARGS...: that run with balance ARGS; sets GOT to
# "lines/shorts after the long one/shorts answered 200".
evict_order() {
	local order=$TMP/evict.$RANDOM.order
	GOT=no-balance
	start_balance --port "$PORT" --interval 0.2 "$@" || return
	stall_three "$order"
	stop_balance TERM
	GOT=$(stall_summary "$order")
	EARLY=$(awk '/^mid$/ { m++ } /^short/ { if (m < 2) n++ } END { print n + 0 }' "$order")
}
# ------------------------------------------------------- eviction
start_serve --accept reuseport --workers 3
evict_order
expect_eq "eviction: a stalled worker's queued connections are moved: all 9 answered before its /sleep" "$GOT" "12/0/9"
expect_eq "eviction: ... and as soon as another worker is free, before the third is" "$EARLY" 9
expect_match "eviction: the summary counts it" "$(cat "$BERR")" "evicted [1-9][0-9]* stalled worker"
expect_eq "eviction: detached, no program" "$(status_prog "$PORT")" "none"
# Without eviction they wait for A, which answers them at its /sleep's end,
# so the order against that end is a race; the order against C's end, which
# comes 0.7 s or more before A's, is not.
evict_order --no-evict
if [ "$EARLY" = 0 ] && [[ "$GOT" =~ ^12/[0-9]/9$ ]]; then
	ok "--no-evict (control): the queued connections wait for the stalled worker, none answered before the others are free ($GOT)"
else
	not_ok "--no-evict (control): the queued connections wait for the stalled worker" "$GOT, $EARLY answered before the others were free"
fi
expect_match "--no-evict: no eviction counted" "$(tail -1 "$BOUT")" "migrated 0\$"

if start_balance --port "$PORT"; then
	kill -KILL "$SPID"
	# The workers notice their master's death and leave.
	wait_gone "$BPID" 10
	wait "$BPID"
	expect_eq "server killed (--port): exit 1" "$?" 1
	expect_match "server killed: said" "$(cat "$BERR")" "the listeners on port $PORT are gone"
	if [ "$HAVE_BPFTOOL" = 1 ] && prog_loaded "$BPROG"; then not_ok "server killed: no program left"; else ok "server killed: no program left"; fi
else
	not_ok "balance --port attaches (3 workers)" "$(cat "$BERR")"
fi
done_testing
