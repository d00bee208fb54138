# test_bench_h2_faults.sh - herd bench --h2c against a server that breaks
# HTTP/2 on purpose (h2_server.py, raw frames): stream resets, refused
# streams, GOAWAY mid-run (graceful and with an error), bad frames and
# header blocks, flow-control violations, a tiny window for request bodies,
# silence, and a TLS server that ignores ALPN. Each failure is counted under
# its kind, every count is checked against what the server says it did (its
# stats file), and every request is accounted for: due = sent + never_sent,
# sent = done + failed + abandoned.
# Also the usage errors of --h2 / --h2c / -m N. Runs whose connections are
# counted use -t 1: with a thread per slot, a slot whose thread starts late
# can find every request taken and open none.
. tests/lib.sh
. tests/cli/bench_common.sh
J=$TMP/h2.json
ST=$TMP/h2stats.json

# start_h2 MODE: h2_server.py on a free port; sets HURL.
start_h2() {
	local pid
	[ -n "${H2PID:-}" ] && { kill "$H2PID" 2>/dev/null; wait "$H2PID" 2>/dev/null; }
	rm -f "$ST"
	for _ in 1 2 3 4 5; do
		HPORT=$(free_port)
		$PY tests/cli/bench/h2_server.py "$HPORT" "$1" "$ST" 2>"$TMP/h2server.err" &
		pid=$!
		track_pid $pid
		if wait_port "$HPORT" 10 && kill -0 $pid 2>/dev/null; then
			H2PID=$pid
			HURL=http://127.0.0.1:$HPORT
			return 0
		fi
	done
	echo "Bail out! h2_server.py did not start: $(cat "$TMP/h2server.err")"
	exit 1
}

# s KEY: the server's count; j EXPR: herd's JSON.
s() { jget "$ST" "[\"$1\"]"; }
j() { jget "$J" "$1"; }
# accounted: "due=sent+never_sent sent=done+failed+abandoned" holds.
accounted() {
	$PY -c 'import json,sys; d=json.load(open(sys.argv[1]))
print(d["due"] == d["sent"] + d["never_sent"] and d["sent"] == d["done"] + d["failed"] + d["abandoned"])' "$J"
}
bench() { timeout 30 $HERD bench --h2c --json "$J" "$@" "$HURL/" >"$TMP/out" 2>&1; }

# The sane case first: the server itself works.
start_h2 ok
bench -n 100 -t 1 -c 2 -m 4 -k 1000; rc=$?
expect_eq "ok: exit 0, 100 done, 2 connections" "$rc:$(j '["done"]'):$(j '["connections_opened"]')" "0:100:2"
expect_eq "ok: the server answered each request once" "$(s requests):$(s answered)" "100:100"

# RST_STREAM INTERNAL_ERROR on every 10th request: rst_stream failures.
start_h2 reset:10
bench -n 100 -c 2 -m 4 -k 1000; rc=$?
expect_eq "reset: exit 1, 10 rst_stream (as the server reset), 90 done" \
	"$rc:$(j '["errors"]["rst_stream"]'):$(s reset):$(j '["done"]'):$(s answered)" "1:10:10:90:90"
expect_eq "reset: every request accounted" "$(accounted):$(j '["failed"]')" "True:10"
expect_match "reset: the reason names the code" "$(cat "$TMP/out")" "rst_stream +e\.g\. .*RST_STREAM INTERNAL_ERROR"

# REFUSED_STREAM: not processed, sent again once; refused twice fails.
start_h2 refuse:5
bench -n 100 -c 2 -m 4 -k 1000
expect_eq "refuse: retried + refused twice = the server's refusals" \
	"$(($(j '["retried"]') + $(j '["errors"]["rst_stream"]')))" "$(s refused)"
expect_eq "refuse: done = answered, done + failed = 100" \
	"$(j '["done"]'):$(($(j '["done"]') + $(j '["failed"]')))" "$(s answered):100"
expect_eq "refuse: some were retried, every request accounted" "$(($(j '["retried"]') > 0)):$(accounted)" "1:True"

# GOAWAY NO_ERROR after 10 requests per connection: what it did not process
# goes again on a new connection; nothing fails.
start_h2 goaway:10
bench -n 100 -c 2 -m 4 -k 1000; rc=$?
expect_eq "goaway: exit 0, 100 done, as many answered" "$rc:$(j '["done"]'):$(s answered):$(j '["failed"]')" "0:100:100:0"
expect_eq "goaway: every GOAWAY counted" "$(j '["goaway_received"]')" "$(s goaway)"
expect_eq "goaway: the streams it ignored were retried" "$(($(j '["retried"]') >= $(s ignored)))" 1
expect_eq "goaway: a new connection after each GOAWAY" "$(($(j '["connections_opened"]') > $(s goaway)))" 1

# GOAWAY INTERNAL_ERROR instead of the 10th answer, then the connection
# shut: that request fails as goaway.
start_h2 goaway-error:10
bench -n 100 -c 2 -m 4 -k 1000; rc=$?
expect_eq "goaway-error: exit 1, one goaway failure per GOAWAY sent" \
	"$rc:$(j '["errors"]["goaway"]'):$(j '["failed"]')" "1:$(s goaway_error):$(s goaway_error)"
expect_eq "goaway-error: done = answered, every request accounted" \
	"$(j '["done"]'):$(($(j '["done"]') + $(j '["failed"]'))):$(accounted)" "$(s answered):100:True"
expect_match "goaway-error: the reason names the code" "$(cat "$TMP/out")" "goaway +e\.g\. .*GOAWAY \(INTERNAL_ERROR\)"

# Bad frames kill the connection (herd sends GOAWAY): one request per
# connection with -m 1, so each bad frame fails exactly one.
for w in data0:PROTOCOL_ERROR settings:FRAME_SIZE_ERROR hpack:COMPRESSION_ERROR; do
	start_h2 "bad:${w%%:*}:10"
	bench -n 50 -c 1 -m 1 -k 1000; rc=$?
	expect_eq "bad ${w%%:*}: exit 1, 5 h2_protocol, 45 done" \
		"$rc:$(j '["errors"]["h2_protocol"]'):$(s bad):$(j '["done"]'):$(accounted)" "1:5:5:45:True"
	expect_match "bad ${w%%:*}: herd's GOAWAY code is the reason" "$(cat "$TMP/out")" "GOAWAY ${w#*:}"
done
# A response without :status, a body shorter than its content-length: the
# stream is reset by herd, the connection lives on (-m 3: the others finish).
for w in nostatus length; do
	start_h2 "bad:$w:10"
	bench -n 50 -t 1 -c 2 -m 3 -k 1000; rc=$?
	expect_eq "bad $w: exit 1, 5 h2_protocol, 45 done, 2 connections" \
		"$rc:$(j '["errors"]["h2_protocol"]'):$(j '["done"]'):$(j '["connections_opened"]')" "1:5:45:2"
	expect_eq "bad $w: herd reset each such stream" "$(s rst_received):$(accounted)" "5:True"
done

# Flow control: a WINDOW_UPDATE that overflows the connection's window
# (herd ends the connection) or a stream's (herd resets the stream).
start_h2 flow:conn:10
bench -n 50 -c 1 -m 1 -k 1000; rc=$?
expect_eq "flow conn: exit 1, 5 flow_control, 45 done" \
	"$rc:$(j '["errors"]["flow_control"]'):$(j '["done"]'):$(accounted)" "1:5:45:True"
expect_match "flow conn: the reason" "$(cat "$TMP/out")" "flow_control +e\.g\. .*FLOW_CONTROL_ERROR"
start_h2 flow:stream:10
bench -n 50 -t 1 -c 2 -m 3 -k 1000; rc=$?
expect_eq "flow stream: exit 1, 5 flow_control, reset by herd, 45 done on 2 connections" \
	"$rc:$(j '["errors"]["flow_control"]'):$(s rst_received):$(j '["done"]'):$(j '["connections_opened"]')" \
	"1:5:5:45:2"

# A 16-byte window for 100-byte request bodies: herd sends within it and
# waits for the server's WINDOW_UPDATEs; every body arrives whole.
start_h2 window:16:100
body=$(printf '%0100d' 7)
bench -n 20 -c 2 -m 3 -k 1000 -m POST --data "$body"; rc=$?
expect_eq "window: exit 0, 20 x 200, every body whole" "$rc:$(j '["status"]'):$(s bodies_ok)" "0:{'200': 20}:20"
expect_eq "window: no DATA beyond the window, none larger than 16 bytes" \
	"$(s overrun):$(($(s max_data) <= 16)):$(($(s windowed) > 0))" "0:1:1"

# Silence: --timeout fails each request and cancels its stream.
start_h2 silent
bench -n 6 -c 2 -m 3 -k 1000 --timeout 300ms; rc=$?
expect_eq "silent --timeout: exit 1, 6 timeouts" "$rc:$(j '["errors"]["timeout"]'):$(accounted)" "1:6:True"
rst6() { [ "$(s rst_received)" = 6 ]; }
wait_until 5 rst6
expect_eq "silent --timeout: each stream cancelled (RST_STREAM)" "$(s rst_received)" 6
# Without a timeout the run ends at -d plus the grace: the streams under
# way are abandoned, none lost from the count.
bench -d 500ms -t 1 -c 2 -m 3 -k 1000; rc=$?
expect_eq "silent -d: exit 1, 6 abandoned, nothing done" \
	"$rc:$(j '["abandoned"]'):$(j '["done"]'):$(j '["sent"]'):$(accounted)" "1:6:0:6:True"
# Open loop: what came due while the streams were stuck is never sent.
bench --rate 100 -d 1s -c 1 -m 2 -k 1000; rc=$?
expect_eq "silent --rate: 100 due, 2 sent (abandoned), 98 never sent" \
	"$rc:$(j '["due"]'):$(j '["sent"]'):$(j '["abandoned"]'):$(j '["never_sent"]'):$(accounted)" "1:100:2:2:98:True"

# A TLS server that ignores ALPN (bench_server.py speaks HTTP/1.1 only):
# the handshake completes without h2, and herd says so.
start_tls_server
timeout 30 $HERD bench --h2 --cacert "$TMP/cert.pem" -n 4 -c 2 -m 2 -k 10 --json "$J" "$TURL/" >"$TMP/out" 2>&1; rc=$?
expect_eq "--h2 to an HTTP/1.1 TLS server: exit 1, 4 h2_protocol" "$rc:$(j '["errors"]["h2_protocol"]')" "1:4"
expect_match "--h2 to an HTTP/1.1 TLS server: ALPN is the reason" "$(cat "$TMP/out")" "h2_protocol +e\.g\. .*ALPN"

# Usage errors, each naming what is wrong (exit 2).
usage() {
	local desc=$1 want=$2
	shift 2
	out=$($HERD bench "$@" 2>&1)
	rc=$?
	expect_eq "usage: $desc: exit 2" "$rc" 2
	expect_match "usage: $desc: says why" "$out" "$want"
}
usage "--h2 with http://" "--h2 is HTTP/2 over TLS: give an https:// URL" --h2 -n 1 "$HURL/"
usage "--h2c with https://" "--h2c is HTTP/2 over cleartext" --h2c -n 1 https://127.0.0.1:1/
usage "--h2 and --h2c" "not both" --h2 --h2c -n 1 "$HURL/"
usage "-m N without HTTP/2" "-m 10: concurrent streams are HTTP/2's" -m 10 -k 5 -n 1 "$HURL/"
usage "-m N with -k 0" "need keep-alive" --h2c -m 10 -k 0 -n 1 "$HURL/"
usage "--records with HTTP/2" "--records is HTTP/1.1 only" --h2c --records "$TMP/r.csv" -n 1 "$HURL/"
usage "-m 0" "bad value for -m: '0'" --h2c -m 0 -n 1 "$HURL/"
usage "--max-concurrent-streams 1001" "'1001': HTTP/2 streams per connection, 1..1000" --h2c --max-concurrent-streams 1001 -n 1 "$HURL/"
usage "two servers" "every URL must be on the first URL's server" --h2c -n 1 "$HURL/" http://127.0.0.2:$HPORT/
usage "--follow" "--follow is HTTP/1.1 only" --h2c --follow 2 -n 1 "$HURL/"
usage "--lines" "benchhttp mode \(--lines\) is HTTP/1.1 only" --h2c --lines -n 1 "$HURL/"
# -m with a method name is still the method; curl's and h2load's names work.
start_h2 ok
timeout 30 $HERD bench --http2-prior-knowledge --max-concurrent-streams 2 -k 10 -m GET -n 4 --json "$J" "$HURL/" >/dev/null; rc=$?
expect_eq "curl/h2load spellings, -m GET: exit 0, 4 done, 2 streams" "$rc:$(j '["done"]'):$(j '["config"]["streams"]')" "0:4:2"
done_testing
