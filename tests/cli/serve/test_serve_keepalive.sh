# test_serve_keepalive.sh - --keepalive-requests (nginx's keepalive_requests:
# the Nth answer on a connection says Connection: close and the connection
# ends) and --keepalive-timeout (the idle time allowed between two requests,
# apart from --header-timeout, which still bounds a request head), and
# their bad values.
. tests/lib.sh
. tests/cli/serve_common.sh

# bail WHY: a failure that ends the test.
bail() { not_ok "$1"; done_testing; exit 1; }

req='GET / HTTP/1.1\r\nHost: t\r\n\r\n'
last='GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n'
# pipelined N: N keep-alive requests on one connection, then one that
# closes (so that the connection ends even when no limit applies).
pipelined() { raw "$(for ((i = 0; i < $1; i++)); do printf '%s' "$req"; done)$last"; }
answers() { printf '%s\n' "$1" | grep -c '^HTTP/1.1 200 '; }

start_serve --workers 1 --keepalive-requests 3 || bail "herd serve did not start"
out=$(pipelined 5)
expect_eq "--keepalive-requests 3: 6 pipelined requests get 3 answers" "$(answers "$out")" 3
expect_eq "and only the third says Connection: close" \
	"$(printf '%s\n' "$out" | grep -E '^(HTTP/1.1|Connection:)' | tr -d '\r' | tr '\n' '|')" \
	"HTTP/1.1 200 OK|HTTP/1.1 200 OK|HTTP/1.1 200 OK|Connection: close|"
out=$(pipelined 1)
expect_eq "the count is per connection: a new one gets its 2 answers" "$(answers "$out")" 2
stop_serve

start_serve --workers 1 || bail "herd serve did not start"
out=$(pipelined 1004)
expect_eq "default 1000: 1005 pipelined requests get 1000 answers" "$(answers "$out")" 1000
expect_eq "the 1000th with Connection: close" "$(printf '%s\n' "$out" | grep -c '^Connection: close')" 1
stop_serve

start_serve --workers 1 --keepalive-requests 0 || bail "herd serve did not start"
expect_eq "--keepalive-requests 0: no limit (1005 answered)" "$(answers "$(pipelined 1004)")" 1005
stop_serve

# idle_closed SECONDS: one request on a new connection, its answer read,
# then SECONDS idle; prints "closed" if the server has closed by then,
# else "open".
idle_closed() {
	python3 - "$PORT" "$1" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
got = b""
while b"\r\n\r\n" not in got:
    got += s.recv(4096)
head, body = got.split(b"\r\n\r\n", 1)
n = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0].split(b":")[1])
while len(body) < n:
    body += s.recv(4096)
time.sleep(float(sys.argv[2]))
s.setblocking(False)
try:
    print("closed" if s.recv(1) == b"" else "data")
except BlockingIOError:
    print("open")
except ConnectionResetError:
    print("closed")
EOF
}
# slow_head: half a request head, then silence; prints the status line
# the server sends before it closes (empty: none within 5 s).
slow_head() {
	timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$0; printf "GET / HTTP/1.1\r\n" >&3; head -1 <&3' "$PORT" | tr -d '\r'
}

if command -v python3 >/dev/null; then
	start_serve --workers 1 --header-timeout 10s --keepalive-timeout 300ms || bail "herd serve did not start"
	expect_eq "--keepalive-timeout 300ms: an idle connection is closed after it" "$(idle_closed 1.5)" closed
	stop_serve
	# The old code had one timeout for both: an idle connection went at
	# the header timeout.
	start_serve --workers 1 --header-timeout 300ms --keepalive-timeout 20s || bail "herd serve did not start"
	expect_eq "--keepalive-timeout 20s, --header-timeout 300ms: idle 1.5 s, still open" "$(idle_closed 1.5)" open
	expect_eq "while a slow request head still gets its 408" "$(slow_head)" "HTTP/1.1 408 Request Timeout"
	stop_serve
else
	ok "# SKIP --keepalive-timeout: python3 is not installed"
fi

# Bad values: exit 2, naming the value.
for bad in -1 abc 1000000001 ''; do
	$HERD serve --keepalive-requests "$bad" >/dev/null 2>"$TMP/e"
	rc=$?
	expect_eq "--keepalive-requests '$bad': exit 2" "$rc" 2
	expect_match "and the message names it" "$(cat "$TMP/e")" "bad value for --keepalive-requests: '$bad'"
done
for bad in 0 abc 25h -1s; do
	$HERD serve --keepalive-timeout "$bad" >/dev/null 2>"$TMP/e"
	rc=$?
	expect_eq "--keepalive-timeout '$bad': exit 2" "$rc" 2
	expect_match "and the message names it" "$(cat "$TMP/e")" "bad value for --keepalive-timeout: '$bad'"
done
done_testing
