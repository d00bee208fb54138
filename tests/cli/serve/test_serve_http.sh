# test_serve_http.sh - herd serve's HTTP side: every route, keep-alive and
# close, pipelining, each bad-input case (the server keeps serving after
# each), the header timeout, IPv6.
. tests/lib.sh
. tests/cli/serve_common.sh

start_serve --workers 2 --header-timeout 400ms || { not_ok "server starts"; done_testing; exit 1; }
ok "server starts and prints its listening line"

out=$(get /)
expect_match "/ answers 200" "$out" $'^HTTP/1.1 200 OK\r'
expect_match "/ has the seed's body" "$out" '^<p>hello, world</p>$'
expect_match "/ with Connection: close says so" "$out" $'^Connection: close\r'
out=$(get "/cpu?us=2000")
expect_match "/cpu?us=2000 answers 200" "$out" "^burnt 2000 us$"
out=$(get "/sleep?ms=30")
expect_match "/sleep?ms=30 answers 200" "$out" "^slept 30 ms$"
out=$(get /stats)
expect_match "/stats is JSON with workers" "$out" '^\{"worker":0,"pid":[0-9]+,"state":"ready","accepted":[0-9]+'
expect_match "/stats lists the listener" "$out" '"queue":[0-9]+,"max":[0-9]+'
out=$(stats_txt)
n=$(printf '%s\n' "$out" | grep -c '^worker [0-9]* pid [0-9]* accepted [0-9]* requests [0-9]* cpu_us [0-9]* inflight [0-9]*')
expect_eq "/stats.txt has one line per worker in the documented format" "$n" 2
expect_match "/stats.txt has the listen queue line" "$out" '^listen queue [0-9]+ max 511$'
out=$(raw "HEAD / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
expect_match "HEAD answers 200" "$out" "^HTTP/1.1 200 OK"
if printf '%s' "$out" | grep -q hello; then not_ok "HEAD has no body"; else ok "HEAD has no body"; fi

# Keep-alive: HTTP/1.1 default, then close on request; HTTP/1.0 closes by default.
out=$(raw "GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /cpu?us=1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
expect_eq "pipelined requests: two answers on one connection" "$(printf '%s\n' "$out" | grep -c '^HTTP/1.1 200')" 2
expect_eq "pipelined requests are answered in order" "$(printf '%s\n' "$out" | grep -E '^(<p>hello|burnt)' | tr '\n' ' ')" "<p>hello, world</p> burnt 1 us "
first=$(printf '%s\n' "$out" | grep -c '^Connection: close')
expect_eq "only the last answer closes the connection" "$first" 1
out=$(raw "GET / HTTP/1.0\r\n\r\n")
expect_match "HTTP/1.0 without keep-alive is closed by the server" "$out" $'^Connection: close\r'
# A kept-alive connection: the server must answer the second request sent
# after the first answer was read.
out=$(timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$0
	printf "GET / HTTP/1.1\r\nHost: t\r\n\r\n" >&3
	for i in 1 2 3 4 5 6; do read -r -u 3 line; echo "$line"; done
	printf "GET /cpu?us=3 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" >&3
	cat <&3' "$PORT")
expect_match "keep-alive: a second request on the same connection is answered" "$out" "^burnt 3 us"

# Bad input: each gets its status, and the server keeps serving.
bad() { # bad DESC STATUS REQUEST
	local out
	out=$(raw "$3" | head -1)
	expect_match "$1 -> $2" "$out" "^HTTP/1.1 $2 "
	out=$(get / | head -1)
	expect_match "still serving after: $1" "$out" "^HTTP/1.1 200 "
}
bad "malformed request line" 400 "garbage\r\n\r\n"
bad "bad header line" 400 "GET / HTTP/1.1\r\nHost: t\r\nno colon here\r\n\r\n"
bad "request line over 8 KiB" 414 "GET /$(head -c 9000 /dev/zero | tr '\0' a) HTTP/1.1\r\nHost: t\r\n\r\n"
bad "header section over 16 KiB" 431 "GET / HTTP/1.1\r\nHost: t\r\nX: $(head -c 17000 /dev/zero | tr '\0' a)\r\n\r\n"
bad "unsupported method POST" 405 "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab"
bad "unknown method" 501 "BREW / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
bad "HTTP/2.0 request line" 505 "GET / HTTP/2.0\r\n\r\n"
bad "unknown path" 404 "GET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
bad "/cpu without us" 400 "GET /cpu HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
bad "/cpu?us=abc" 400 "GET /cpu?us=abc HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
bad "/cpu?us above 10 s" 400 "GET /cpu?us=10000001 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
bad "/sleep?ms above 10 s" 400 "GET /sleep?ms=10001 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
# RFC 9112 3.2: Host is required in HTTP/1.1, and never twice.
bad "HTTP/1.1 without Host" 400 "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"
bad "two Host lines" 400 "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n"
bad "Content-Length above the body limit" 413 "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000000\r\n\r\n"
answers() { # answers DESC REQUEST REGEX: REQUEST sent raw, its answer matches REGEX
	expect_match "$1" "$(raw "$2")" "$3"
}
answers "absolute-form target is routed by its path" "GET http://t/cpu?us=5 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" "^burnt 5 us"
answers "HTTP/1.2 is answered as 1.1" "GET / HTTP/1.2\r\nHost: t\r\nConnection: close\r\n\r\n" "^HTTP/1.1 200 OK"
answers "HTTP/1.0 without Host is served" "GET / HTTP/1.0\r\n\r\n" "^HTTP/1.1 200 OK"
hundred=$(for i in $(seq 100); do printf 'X-Cookie-%d: v%d\\r\\n' "$i" "$i"; done)
answers "100 header lines within the size limit are served" "GET / HTTP/1.1\r\nHost: t\r\n${hundred}Connection: close\r\n\r\n" "^HTTP/1.1 200 OK"
out=$(get "/cpu?us=x")
expect_match "a 400 says why" "$out" "us is not a number"
answers "a request body is skipped, the next request is answered" "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhelloGET /cpu?us=4 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" "^burnt 4 us"

# Slow clients: nothing at all, or a head that never ends -> 408 and close.
answers "a silent client gets 408 after --header-timeout" "" "^HTTP/1.1 408 "
out=$(timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$0
	printf "GET / HTTP/1.1\r\nHost: t\r\n" >&3; sleep 0.2; printf "X-A: 1\r\n" >&3; sleep 0.2; printf "X-B: 2\r\n" >&3
	cat <&3' "$PORT")
expect_match "a dribbling client gets 408 (bytes do not extend the deadline)" "$out" "^HTTP/1.1 408 "
out=$(stats_txt)
expect_match "timeouts are counted" "$out" "timeouts [1-9]"
out=$(get / | head -1)
expect_match "still serving after the slow clients" "$out" "^HTTP/1.1 200 "
stop_serve
expect_eq "stops with status 0" "$SRC" 0

# Out of descriptors: accept() fails with EMFILE; the worker backs off
# (counted), keeps its open connections, and serves again once fds free up.
PORT=$(free_port); SERR=$TMP/emfile.err
io_args --workers 1 --accept epoll
(ulimit -n 12; exec $HERD serve --listen "127.0.0.1:$PORT" "${IO_ARGS[@]}" 2>"$SERR") &
SPID=$!; track_pid $SPID
for _ in $(seq 100); do grep -q listening "$SERR" && break; sleep 0.05; done
held=()
for i in $(seq 12); do exec {fd}<>/dev/tcp/127.0.0.1/$PORT; held+=($fd); done
sleep 0.2
wpid=$(pgrep -P $SPID)
cpu0=$(awk '{print $14 + $15}' /proc/$wpid/stat)
sleep 1
cpu=$(($(awk '{print $14 + $15}' /proc/$wpid/stat) - cpu0))
# A worker retrying accept() at once would burn about 100 ticks a second.
if [ "$cpu" -lt 30 ]; then ok "EMFILE: the worker does not spin ($cpu ticks in 1 s)"; else not_ok "EMFILE: the worker does not spin" "$cpu ticks"; fi
for fd in "${held[@]}"; do exec {fd}<&-; done
for _ in $(seq 50); do out=$(stats_txt); [ -n "$out" ] && break; sleep 0.1; done
expect_match "EMFILE: counted as accept_errors" "$out" "accept_errors [1-9]"
expect_eq "EMFILE: serves again once descriptors are free" "$(get / | tail -1)" "<p>hello, world</p>"
stop_serve

# IPv6, where the machine has ::1.
if ip -6 addr show dev lo 2>/dev/null | grep -q '::1'; then
	P6=$(free_port)
	io_args --workers 1
	$HERD serve --listen "[::1]:$P6" "${IO_ARGS[@]}" 2>"$TMP/v6.err" &
	V6=$!; track_pid $V6
	for _ in $(seq 100); do grep -q listening "$TMP/v6.err" && break; sleep 0.05; done
	out=$(timeout 5 bash -c 'exec 3<>/dev/tcp/::1/$0; printf "GET / HTTP/1.0\r\n\r\n" >&3; cat <&3' "$P6")
	expect_match "listens on [::1]:PORT" "$out" "hello, world"
	kill -TERM $V6; wait $V6
else
	ok "# SKIP no ::1 on this machine"
fi
done_testing
