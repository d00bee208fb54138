# test_bench.sh - herd bench's default mode against a test server: exact
# request counts, keep-alive reuse, status counts, chunked and
# close-delimited bodies, methods, bodies, headers, --json, --hlog, usage errors.
. tests/lib.sh
. tests/cli/bench_common.sh
start_server

# Usage errors name the bad value and exit 2.
out=$($HERD bench --help); expect_eq "--help exits 0" "$?" 0
expect_match "--help documents the exit status" "$out" "Exit status: 0 .*1 any request"
for bad in "-c 0" "-n x" "-d forever" "--rate -5" "-k -2" "-k 4294967295" "-t 0" "--timeout soon" "-m G/T" "--source 1.2.3" "-H NoColon"; do
	$HERD bench $bad "$URL/" >/dev/null 2>"$TMP/err"; rc=$?
	expect_eq "bad value '$bad' exits 2" "$rc" 2
	expect_match "bad value '$bad' is named" "$(cat "$TMP/err")" "bad value for ${bad%% *}: '${bad#* }'"
done
for bad in "http://[::1/" "http://h:0/" "http://h:99999/" "http://:80/" "http://u@/" "ftp://h/"; do
	$HERD bench -n 1 "$bad" >/dev/null 2>"$TMP/err"; rc=$?
	expect_eq "bad URL '$bad' exits 2 and is named" "$rc:$(grep -cF "'$bad'" "$TMP/err")" "2:1"
done
$HERD bench -n 5 -d 1s "$URL/" >/dev/null 2>&1; expect_eq "-n with -d exits 2" "$?" 2
$HERD bench >/dev/null 2>&1; expect_eq "no URL exits 2" "$?" 2
$HERD bench --nosuch "$URL/" >/dev/null 2>"$TMP/err"; expect_eq "unknown flag exits 2" "$?" 2

# Exact counts, one connection per request (-k 0).
s0=$(stats)
out=$($HERD bench -n 37 -c 5 -k 0 --json "$TMP/a.json" "$URL/"); rc=$?
expect_eq "37 requests exit 0" "$rc" 0
expect_match "summary counts 37 done" "$out" "37 done, 0 failed"
expect_match "summary has the percentile columns" "$out" "p50 +p75 +p90 +p99 +p99.9 +p99.99 +max +mean +stdev"
expect_match "summary has latency, connect and first byte rows" "$(echo "$out" | grep -cE '^  (latency|connect|first byte) +[0-9]')" '^3$'
expect_match "summary counts statuses" "$out" "status +200: 37$"
expect_eq "server saw 37 more requests on 37 more connections" "$(stats)" "$(after "$s0" 37 37)"
check "--json parses as JSON" $PY -m json.tool "$TMP/a.json"
expect_eq "json done" "$(jget "$TMP/a.json" '["done"]')" 37
expect_eq "json connections_opened" "$(jget "$TMP/a.json" '["connections_opened"]')" 37
expect_eq "json latency count" "$(jget "$TMP/a.json" '["latency"]["count"]')" 37
expect_eq "json connect count" "$(jget "$TMP/a.json" '["connect"]["count"]')" 37

# The summary's first lines say what ran: URLs, loop, keep-alive, threads,
# connections and how long.
expect_match "summary line 1 names the URL" "$(echo "$out" | sed -n 1p)" "^  url +$URL/\$"
expect_match "summary line 2 states the mode" "$(echo "$out" | sed -n 2p)" \
	"^  mode       closed loop, no keep-alive \(a new connection per request\), [1-5] threads?, 5 connections, 37 requests\$"

# By default each connection carries every request of the run (wrk's habit);
# -k -1 says the same.
for k in "" "-k -1"; do
	s0=$(stats)
	out=$($HERD bench -n 40 -c 2 -t 1 $k --json "$TMP/ka.json" "$URL/" "http://u:secret@127.0.0.1:$PORT/"); rc=$?
	expect_eq "keep-alive${k:+ $k}: 40 done on 2 connections" \
		"$rc:$(jget "$TMP/ka.json" '["done"]'):$(jget "$TMP/ka.json" '["connections_opened"]')" "0:40:2"
	expect_eq "keep-alive${k:+ $k}: the server saw 2 connections for 40 requests" "$(stats)" "$(after "$s0" 2 40)"
	expect_eq "keep-alive${k:+ $k}: the summary says so" "$(echo "$out" | sed -n 2p)" \
		"  mode       closed loop, keep-alive (each connection for the whole run), 1 thread, 2 connections, 40 requests"
	expect_eq "keep-alive${k:+ $k}: --json says so" "$(jget "$TMP/ka.json" '["config"]["keepalive_whole_run"]')" True
done
expect_eq "the summary hides a URL's password" "$(echo "$out" | sed -n 1p)" \
	"  url        $URL/, http://u:***@127.0.0.1:$PORT/"
out=$($HERD bench -d 1s -c 3 -k 7 --rate 50 "$URL/")
expect_match "open loop, -k 7, -d: the summary says so" "$(echo "$out" | sed -n 2p)" \
	"^  mode       open loop at 50.0 req/s, keep-alive \(a new connection every 7 requests\), [1-3] threads?, 3 connections, 1 s\$"

# --latency: the distribution as wrk --latency prints it, after the rows.
out=$($HERD bench -n 20 -c 2 --latency "$URL/")
expect_match "--latency prints the distribution" "$out" "^  latency distribution \(ms\)\$"
expect_eq "--latency: 50% .. 100%, eight lines" \
	"$(echo "$out" | grep -A8 'latency distribution' | tail -n 8 | awk '{print $1}' | tr '\n' ' ')" \
	"50% 75% 90% 99% 99.9% 99.99% 99.999% 100% "
p100=$(echo "$out" | awk '$1 == "100%" {print $2}')
max=$(echo "$out" | awk '$1 == "latency" {print $8}')
expect_eq "--latency: 100% is the max of the latency row" "$p100" "$max"
out=$($HERD bench -n 20 "$URL/")
expect_eq "without --latency no distribution" "$(echo "$out" | grep -c 'latency distribution')" 0
$HERD bench --lines --latency -n 2 "$URL/" >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "--latency with --lines: exit 2" "$rc" 2
expect_match "--latency with --lines: says why" "$(cat "$TMP/err")" "--latency .*not with --lines"

# Keep-alive: one connection carries exactly K requests.
s0=$(stats)
$HERD bench -n 40 -c 1 -k 10 --json "$TMP/k.json" "$URL/" >/dev/null; rc=$?
expect_eq "keep-alive run exits 0" "$rc" 0
expect_eq "keep-alive: 40 done" "$(jget "$TMP/k.json" '["done"]')" 40
expect_eq "keep-alive: -c 1 -k 10 opens 4 connections" "$(jget "$TMP/k.json" '["connections_opened"]')" 4
expect_eq "server saw 4 connections for 40 requests" "$(stats)" "$(after "$s0" 4 40)"
# With several connections the requests are shared unevenly (closed loop),
# but each connection still carries up to K: between n/K and n/K + c - 1 opened.
s0=$(stats)
$HERD bench -n 40 -c 4 -k 10 --json "$TMP/k4.json" "$URL/" >/dev/null
o=$(jget "$TMP/k4.json" '["connections_opened"]')
expect_match "keep-alive: -c 4 -k 10 opens 4..7 connections (got $o)" "$o" '^[4-7]$'
expect_eq "server saw the same connections and 40 requests" "$(stats)" "$(after "$s0" "$o" 40)"

# Round robin over URLs; 404 is a complete response, not a failure.
$HERD bench -n 10 -c 2 --json "$TMP/s.json" "$URL/" "$URL/nope" >/dev/null; rc=$?
expect_eq "404s do not fail the run" "$rc" 0
expect_eq "round robin: five 200" "$(jget "$TMP/s.json" '["status"]["200"]')" 5
expect_eq "round robin: five 404" "$(jget "$TMP/s.json" '["status"]["404"]')" 5

# Chunked bodies keep the connection; close-delimited ones end it.
$HERD bench -n 12 -c 1 -k 6 --json "$TMP/c.json" "$URL/chunked" >/dev/null
expect_eq "chunked: 12 done" "$(jget "$TMP/c.json" '["done"]')" 12
expect_eq "chunked: connections reused (2 opened)" "$(jget "$TMP/c.json" '["connections_opened"]')" 2
$HERD bench -n 7 -c 2 -k 100 --json "$TMP/d.json" "$URL/close" >/dev/null
expect_eq "close-delimited: 7 done" "$(jget "$TMP/d.json" '["done"]')" 7
expect_eq "close-delimited: 0 failed" "$(jget "$TMP/d.json" '["failed"]')" 0
expect_eq "close-delimited: a connection per response" "$(jget "$TMP/d.json" '["connections_opened"]')" 7

# Methods, bodies and headers: a wrong Content-Length would desync keep-alive.
printf 'some body\n%.0s' $(seq 50) >"$TMP/body"
$HERD bench -n 10 -c 1 -k 10 -m POST --body "$TMP/body" --json "$TMP/p.json" "$URL/" >/dev/null; rc=$?
expect_eq "POST with --body over keep-alive: 10 x 200" "$rc:$(jget "$TMP/p.json" '["status"]["200"]')" "0:10"
expect_eq "POST bytes written include the body" "$(( $(jget "$TMP/p.json" '["bytes_written"]') > 10 * 500 ))" 1
$HERD bench -n 4 -H 'X-Test: yes' --json "$TMP/h.json" "$URL/hdr" >/dev/null
expect_eq "-H header reaches the server" "$(jget "$TMP/h.json" '["status"]')" "{'200': 4}"
$HERD bench -n 4 --json "$TMP/h2.json" "$URL/hdr" >/dev/null
expect_eq "without -H the server says 400" "$(jget "$TMP/h2.json" '["status"]')" "{'400': 4}"
$HERD bench -n 3 -k 3 -m HEAD --json "$TMP/head.json" "$URL/" >/dev/null
expect_eq "HEAD: no body expected, keep-alive holds" "$(jget "$TMP/head.json" '["done"]'):$(jget "$TMP/head.json" '["connections_opened"]')" "3:1"
$HERD bench -n 5 --json - "$URL/" >"$TMP/stdout.json"
check "--json - writes only JSON to stdout" $PY -m json.tool "$TMP/stdout.json"

# Duration mode.
$HERD bench -d 1s -c 2 -k 50 --json "$TMP/dur.json" "$URL/" >/dev/null; rc=$?
expect_eq "-d 1s exits 0" "$rc" 0
expect_eq "-d 1s: requests done, none failed" "$(jget "$TMP/dur.json" '["done"] > 0')":"$(jget "$TMP/dur.json" '["failed"]')" "True:0"
expect_match "-d 1s: duration about a second" "$(jget "$TMP/dur.json" '["duration_s"]')" '^(0\.9|1\.|2\.)'

# --hlog: an interval log whose counts add up to the requests done.
$HERD bench -d 2s -c 2 -k 100 --hlog "$TMP/x.hlog" --json "$TMP/x.json" "$URL/" >/dev/null
expect_eq "hlog starts with the v1.3 header" "$(head -1 "$TMP/x.hlog")" "#[Histogram log format version 1.3]"
read -r nint total < <($PY tests/cli/hlog_count.py "$TMP/x.hlog")
expect_eq "hlog counts add up to the requests done" "$total" "$(jget "$TMP/x.json" '["done"]')"
expect_match "hlog has about one interval a second" "$nint" '^[234]$'
out=$($HERD hist --merge "$TMP/x.hlog" "$TMP/x.hlog" 2>&1)
expect_match "herd hist --merge of the log twice counts twice the requests" "$out" " count:$((2 * total))\$"
# IPv6: a bracketed host in the URL, and in -r.
if ip -6 addr show dev lo 2>/dev/null | grep -q '::1/128'; then
	URL4=$URL
	start_server ::1
	$HERD bench -n 6 -c 2 -k 3 --json "$TMP/v6.json" "http://[::1]:$PORT/" >/dev/null
	expect_eq "IPv6 URL host: 6 done" "$(jget "$TMP/v6.json" '["done"]')" 6
	$HERD bench -n 4 -r "[::1]:$PORT" --json "$TMP/v6r.json" "http://a.a/" >/dev/null
	expect_eq "IPv6 -r address: 4 done" "$(jget "$TMP/v6r.json" '["done"]')" 4
	URL=$URL4
fi
done_testing
