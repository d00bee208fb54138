# test_serve_systemd.sh - the shipped units (docs/herd.service and
# docs/herd.socket) as this machine's systemd reads them, and herd started
# the way they start it.
#
# systemd-analyze verify exits 0 on a directive it cannot parse (it says
# "Failed to parse service type, ignoring: notify-reload" on systemd 252
# and goes on), so the check is that it says nothing at all. It also checks
# that ExecStart's binary exists: the units are copied with ExecStart
# pointing at the built one.
#
# Without systemd as PID 1 (a container) systemd-run cannot start a unit;
# then systemd-socket-activate plays the socket unit: it holds the listener,
# starts the unit's ExecStart command line at the first connection with
# LISTEN_FDS=1, and a NOTIFY_SOCKET read here plays the service manager.
. tests/lib.sh
. tests/cli/serve_common.sh

command -v systemd-analyze >/dev/null || skip_all "systemd-analyze is not installed (Debian's systemd package)"
herd_abs=$(realpath "$HERD")
mkdir -p "$TMP/units" "$TMP/log"
cp docs/herd.service docs/herd.socket "$TMP/units/"
sed -i "s#^ExecStart=/usr/local/bin/herd #ExecStart=$herd_abs #" "$TMP/units/herd.service"
expect_match "the copied unit runs the built binary" "$(grep '^ExecStart=' "$TMP/units/herd.service")" \
	"^ExecStart=$herd_abs serve "
out=$(cd "$TMP/units" && systemd-analyze verify ./herd.socket ./herd.service 2>&1)
rc=$?
expect_eq "systemd-analyze verify: exit 0" "$rc" 0
expect_eq "systemd-analyze verify: no warning ($(systemctl --version | head -1))" "$out" ""
expect_match "the service is Type=notify (Type=notify-reload needs systemd >= 253)" \
	"$(grep '^Type=' docs/herd.service)" '^Type=notify$'
expect_match "reload is a SIGHUP to the master" "$(grep '^ExecReload=' docs/herd.service)" \
	'^ExecReload=/bin/kill -HUP \$MAINPID$'
# A unit the check must refuse: without this the empty output above could
# come from a verify that checks nothing.
sed 's/^Type=notify$/Type=notify-bogus/' "$TMP/units/herd.service" >"$TMP/units/bad.service"
out=$(cd "$TMP/units" && systemd-analyze verify ./herd.socket ./bad.service 2>&1)
expect_match "and verify does warn about a bad Type=" "$out" "Failed to parse service type"

# The unit's own command line, started as systemd would.
command -v python3 >/dev/null || skip_all "python3 is not installed (it reads the notify socket)"
command -v systemd-socket-activate >/dev/null || skip_all "systemd-socket-activate is not installed"
if [ "$(ps -p 1 -o comm=)" = systemd ] && systemd-run --user --version >/dev/null 2>&1; then
	ok "# note: systemd is PID 1 here; this test still uses systemd-socket-activate, which needs no privilege"
fi
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(20)
with open(sys.argv[2], "w", buffering=1) as f:
    while True:
        try: m = s.recv(4096).decode()
        except socket.timeout: break
        f.write(m.replace("\n", " ") + "\n")
        if m.startswith("STOPPING=1"): break
' "$TMP/notify.sock" "$TMP/notify.log" &
track_pid $!
wait_until 5 test -S "$TMP/notify.sock"
read -ra cmd <<<"$(sed -n 's/^ExecStart=//p' "$TMP/units/herd.service" | sed "s#/var/log/herd/#$TMP/log/#")"
expect_match "its command line names the access log (moved to a temporary dir)" "${cmd[*]}" \
	"--access-log $TMP/log/access.log"
port=$(free_port)
systemd-socket-activate -l "127.0.0.1:$port" -E NOTIFY_SOCKET="$TMP/notify.sock" "${cmd[@]}" --workers 2 \
	2>"$TMP/sa.err" &
sa=$!
track_pid $sa
wait_port "$port" 5
PORT=$port
expect_match "started at the first connection, it serves it" "$(get / | head -1)" '^HTTP/1.1 200 '
_ready_n() { [ "$(grep -c '^READY=1' "$TMP/notify.log" 2>/dev/null)" -ge "$1" ]; }
wait_until 10 _ready_n 1
expect_eq "it tells systemd READY=1" "$(head -1 "$TMP/notify.log")" "READY=1"
# ExecReload, with $MAINPID: systemd-socket-activate execs the command, so
# its pid is the master's.
reload=$(sed -n 's/^ExecReload=//p' docs/herd.service)
${reload//\$MAINPID/$sa}
wait_until 10 _ready_n 2
got=$(sed 's/MONOTONIC_USEC=[0-9]*/MONOTONIC_USEC=N/' "$TMP/notify.log" | tr '\n' '|')
expect_eq "ExecReload: RELOADING=1, then READY=1 once the new workers accept" "$got" \
	"READY=1|RELOADING=1 MONOTONIC_USEC=N|READY=1|"
expect_match "still serving after the reload" "$(get / | head -1)" '^HTTP/1.1 200 '
expect_match "the access log is written" "$(cat "$TMP/log/access.log" 2>&1)" '"GET / HTTP/1.1" 200 '
kill -TERM $sa
wait_gone $sa 10
wait $sa
expect_eq "KillSignal=SIGTERM: a clean stop" "$?" 0
wait_until 5 grep -q STOPPING "$TMP/notify.log"
expect_eq "and STOPPING=1 before it" "$(tail -1 "$TMP/notify.log")" "STOPPING=1"
done_testing
