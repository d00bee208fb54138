# test_serve_stop.sh - a graceful stop resets no connection whose handshake
# completed.
#
# For `fifo` (one shared listener), `reuseport` (a listener per worker,
# net.ipv4.tcp_migrate_req as the system has it) and `steer` (the same
# with its eBPF program; needs CAP_BPF and CAP_NET_ADMIN, skipped without),
# STOPS times: `herd serve` with 4 workers under open-loop
# connection-per-request load (`herd bench --rate`), stopped with SIGTERM
# in the middle of it. Clients that connect after the stop began may be
# refused (and are: the load goes on, which shows the stop happened under
# load), but bench must count no `reset`: before the fix, the last close of
# a listener reset whatever was still in its accept queue, in most stops
# (drain.c, docs/serve.md "Stopping"). Each stop also exits 0 and prints
# its exit table. Then: a handshake under way when the stop begins is
# completed and answered, and a listener passed in by socket activation
# takes connections again once the server has exited.
#
# Nothing here is timed: the load only makes connections be queued or
# half-open at the moment of the stop, and a fixed server counts 0 resets at
# any rate; the handshake check relies only on the kernel's 1 s SYN-ACK
# retransmission coming within the stop's 2 s drain.
. tests/lib.sh
. tests/cli/serve_common.sh

STOPS=${STOP_N:-6}
RATE=${STOP_RATE:-2000}

# field NAME JSON: bench's top-level number NAME, 0 when absent.
field() { sed -n "s/^ *\"$1\": \([0-9]*\),*$/\1/p" "$2" | head -1 | grep . || echo 0; }

# errors JSON: the lines of bench's "errors" object (one kind a line).
errors() { sed -n '/^ *"errors": {/,/}/p' "$1"; }

# error_count KIND JSON: how many requests failed with KIND (0 when none).
error_count() { errors "$2" | sed -n "s/^ *\"$1\": \([0-9]*\),*$/\1/p" | grep . || echo 0; }

# stop_under_load MODEL: one stop; adds to RESETS (x: a run without a
# result), REFUSED, DONE and BAD_EXIT.
stop_under_load() {
	local json=$TMP/bench.$1.json
	rm -f "$json"
	start_serve --accept "$1" --workers 4 || {
		BAD_EXIT=$((BAD_EXIT + 1))
		return
	}
	$HERD_FAST bench --rate "$RATE" -c 64 -d 1500ms --timeout 5s --json "$json" "http://127.0.0.1:$PORT/" \
		>/dev/null 2>"$TMP/bench.err" &
	local bpid=$!
	track_pid "$bpid"
	sleep 0.6
	stop_serve
	wait "$bpid"
	if [ "$SRC" != 0 ] || ! grep -q "^herd serve: worker 0 pid" "$SERR"; then
		BAD_EXIT=$((BAD_EXIT + 1))
		echo "# $1: stop exited $SRC: $(tail -3 "$SERR")"
	fi
	if ! [ -s "$json" ]; then
		echo "# $1: no bench result: $(tail -3 "$TMP/bench.err")"
		RESETS=x
		return
	fi
	local r
	r=$(error_count reset "$json")
	[ "$RESETS" = x ] || RESETS=$((RESETS + r))
	REFUSED=$((REFUSED + $(error_count refused "$json")))
	DONE=$((DONE + $(field done "$json")))
	[ "$r" = 0 ] || echo "# $1: a stop reset $r connections ($(errors "$json" |
		sed -n 's/^ *"\([a-z]*\)": \([1-9][0-9]*\),*$/\1 \2/p' | paste -sd, - | sed 's/,/, /g'))"
}

# Whether steer can run here (privileges, an eBPF-capable build and kernel).
MODELS="fifo reuseport"
if start_serve --accept steer --workers 1; then
	stop_serve
	MODELS="$MODELS steer"
else
	echo "# steer did not start (not privileged?): $(cat "$SERR")"
fi

for model in $MODELS; do
	RESETS=0 REFUSED=0 DONE=0 BAD_EXIT=0
	for i in $(seq "$STOPS"); do stop_under_load "$model"; done
	expect_eq "$model: $STOPS stops under load exit 0 with their exit table" "$BAD_EXIT" 0
	if [ "$DONE" -gt 0 ] && [ "$REFUSED" -gt 0 ]; then
		ok "$model: the stops came under load ($DONE requests answered, $REFUSED refused after the stops)"
	else
		not_ok "$model: the stops should come under load" "answered $DONE refused $REFUSED"
	fi
	expect_eq "$model: $STOPS stops under load reset no accepted connection" "$RESETS" 0
done
[ "$MODELS" = "fifo reuseport" ] && ok "# SKIP steer: not privileged here"

# A handshake under way when the stop begins (SYN-ACK sent, the client's
# ACK still to come, as over a real network's round trip) must complete and
# be answered: the stop waits for it (drain_handshakes). On loopback the ACK
# follows within microseconds, so the client here drops the server's first
# SYN-ACK with a socket filter of its own, removed right after the TERM; the
# kernel sends the SYN-ACK again after 1 s (TCP_TIMEOUT_INIT), within the
# stop's 2 s drain. Without the wait, the listener would be gone by then
# (the client refused after its handshake had begun).
if command -v python3 >/dev/null && start_serve --workers 2; then
	out=$(timeout 20 python3 - "$PORT" "$SPID" <<'PY' 2>&1
import ctypes, os, signal, socket, sys, time
SO_ATTACH_FILTER, SO_DETACH_FILTER = 26, 27
class Insn(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint32)]
class Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Insn))]
drop_all = (Insn * 1)(Insn(0x06, 0, 0, 0)) # BPF_RET | BPF_K, 0
prog = Prog(1, drop_all)
c = socket.socket()
c.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, ctypes.string_at(ctypes.addressof(prog), ctypes.sizeof(prog)))
c.setblocking(False)
try:
    c.connect(("127.0.0.1", int(sys.argv[1])))
except BlockingIOError:
    pass
time.sleep(0.2) # the server holds the handshake now
os.kill(int(sys.argv[2]), signal.SIGTERM)
time.sleep(0.1)
c.setsockopt(socket.SOL_SOCKET, SO_DETACH_FILTER, bytes(4))
c.setblocking(True)
c.settimeout(5)
try:
    c.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    print(c.recv(64).split(b"\r\n")[0].decode())
except OSError as e:
    print(e)
PY
)
	wait_gone "$SPID" 10 # stopped by the client's TERM
	wait "$SPID"
	SRC=$?
	expect_match "a handshake under way when the stop begins is completed and answered" "$out" '^HTTP/1.1 200 OK$'
	expect_eq "and the server then exits 0" "$SRC" 0
else
	ok "# SKIP handshake under way: python3 is not installed or the server did not start"
fi

# A stop makes the listener drop new SYNs while it drains. A listener that
# was passed in (socket activation) outlives this server: once the server
# has exited, it must take connections again (into its queue, for the next
# start), or systemd would be left with a socket that ignores every client.
if command -v python3 >/dev/null; then
	io_args --workers 2
	out=$(timeout 20 python3 - "$HERD" "${IO_ARGS[@]}" <<'PY' 2>&1
import os, signal, socket, subprocess, sys
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen(16)
def as_systemd():
    os.dup2(l.fileno(), 3)
    os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS="1")
p = subprocess.Popen([sys.argv[1], "serve"] + sys.argv[2:], preexec_fn=as_systemd, pass_fds=(l.fileno(),),
                     stderr=subprocess.PIPE, text=True)
for line in p.stderr: # the lifecycle lines (starting, worker started) come first
    if "listening on" in line:
        break
else:
    sys.exit("server did not start")
p.send_signal(signal.SIGTERM)
p.communicate()
c = socket.socket()
c.settimeout(2) # a dropped SYN is retried only after 1 s
try:
    c.connect(l.getsockname())
    print("server exited %d; the passed listener takes connections again" % p.returncode)
except OSError as e:
    print("server exited %d; connecting to the passed listener afterwards: %s" % (p.returncode, e))
PY
)
	expect_match "socket activation: the passed listener takes connections again after the stop" "$out" \
		'^server exited 0; the passed listener takes connections again$'
else
	ok "# SKIP socket activation: python3 is not installed"
fi
done_testing
