# test_bench_input.sh - what herd bench sends and how it judges responses:
# --urls FILE, --data, --unix, bounded --body, and protocol errors (bytes
# after a complete response, a 204 with a body, an unsolicited second
# response) counted as errors, never as success, and never charged to the
# next request on the connection.
. tests/lib.sh
. tests/cli/bench_common.sh
start_server
J="$TMP/j"

# Protocol errors, each alone and beside a healthy URL on one keep-alive connection.
for p in 204body extra twice; do
	$HERD bench -n 6 -c 1 -k 100 --json "$J" "$URL/$p" >/dev/null; rc=$?
	expect_eq "/$p: exit 1, 6 protocol errors, 0 done" \
		"$rc:$(jget "$J" '["errors"]["protocol"]'):$(jget "$J" '["done"]')" "1:6:0"
	$HERD bench -n 10 -c 1 -k 100 --json "$J" "$URL/" "$URL/$p" >/dev/null
	expect_eq "/$p beside /: the 5 healthy requests are done, 200, no parse errors" \
		"$(jget "$J" '["done"]'):$(jget "$J" '["status"]'):$(jget "$J" '["errors"]["parse"]')" "5:{'200': 5}:0"
done

# A response that arrives on an idle keep-alive connection (open loop, 200 ms
# between requests): a protocol error of its own, the connection dropped,
# and the next request is answered by its own response.
$HERD bench --rate 5 -n 4 -c 1 -k 100 --json "$J" "$URL/late" >/dev/null; rc=$?
expect_eq "unsolicited responses: exit 1, every request done (200)" "$rc:$(jget "$J" '["status"]')" "1:{'200': 4}"
p=$(jget "$J" '["errors"]["protocol"]')
expect_eq "unsolicited responses counted ($p of the 3 between requests)" "$((p >= 2 && p <= 3))" 1
expect_eq "and no latency charged: max well under the 50 ms delay" "$(jget "$J" '["latency"]["max"] < 40000')" True

# --urls FILE: [METHOD] URL [BODY], comments and blank lines skipped.
cat >"$TMP/urls" <<END
# a comment

$URL/
GET $URL/missing
POST $URL/ some body
END
$HERD bench -n 6 -k 10 --urls "$TMP/urls" --json "$J" >/dev/null; rc=$?
expect_eq "--urls: 3 URLs round robin" "$rc:$(jget "$J" '["status"]')" "0:{'200': 4, '404': 2}"
# A HEAD among them: its response has no body although it says Content-Length.
printf 'HEAD %s/\nGET %s/\n' "$URL" "$URL" >"$TMP/head"
$HERD bench -n 6 -c 1 -k 10 --timeout 2s --urls "$TMP/head" --json "$J" >/dev/null; rc=$?
expect_eq "--urls with HEAD and GET on one connection: 6 x 200" "$rc:$(jget "$J" '["status"]'):$(jget "$J" '["connections_opened"]')" "0:{'200': 6}:1"
printf 'BAD/METHOD %s/\n' "$URL" >"$TMP/bad"
$HERD bench -n 1 --urls "$TMP/bad" >/dev/null 2>"$TMP/e"; rc=$?
expect_eq "--urls with a bad line: exit 2, the line named" "$rc:$(grep -c 'line 1' "$TMP/e")" "2:1"
# Blank and comment lines count in the line numbers of messages.
printf '# one\n\nG@T %s/\n' "$URL" >"$TMP/bad3"
$HERD bench -n 1 --urls "$TMP/bad3" >/dev/null 2>"$TMP/e"; rc=$?
expect_eq "--urls: a bad line after a blank one is named by its real number" "$rc:$(grep -c 'line 3:' "$TMP/e")" "2:1"
printf '%s/\0\n' "$URL" >"$TMP/nul"
$HERD bench -n 1 --urls "$TMP/nul" >/dev/null 2>"$TMP/e"; rc=$?
expect_match "--urls: a NUL byte is refused, exit 2" "$rc $(cat "$TMP/e")" "^2 .*NUL byte"

# --data and --body.
$HERD bench -n 4 -k 4 -m POST --data 'a=1&b=2' --json "$J" "$URL/" >/dev/null; rc=$?
expect_eq "--data over keep-alive: 4 x 200 on 1 connection" \
	"$rc:$(jget "$J" '["status"]'):$(jget "$J" '["connections_opened"]')" "0:{'200': 4}:1"
$HERD bench -n 1 --body /dev/zero "$URL/" >/dev/null 2>"$TMP/e"; rc=$?
expect_eq "--body /dev/zero: exit 2, bounded" "$rc:$(grep -c "'/dev/zero'.*64 MiB" "$TMP/e")" "2:1"
$HERD bench -n 1 --body "$TMP" "$URL/" >/dev/null 2>"$TMP/e"; rc=$?
expect_eq "--body DIRECTORY: exit 2, says so" "$rc:$(grep -ci "directory" "$TMP/e")" "2:1"
$HERD bench -n 1 --body "$TMP/none" "$URL/" >/dev/null 2>&1
expect_eq "--body missing file: exit 1" "$?" 1

# --unix: the URL gives Host and path, the socket the connection.
$PY tests/cli/bench_server.py "unix:$TMP/s.sock" 2>"$TMP/userver.err" &
track_pid $!
for _ in $(seq 100); do [ -S "$TMP/s.sock" ] && break; sleep 0.05; done
$HERD bench -n 8 -c 1 -k 4 --unix "$TMP/s.sock" --json "$J" http://a.b/ >/dev/null; rc=$?
expect_eq "--unix -c 1 -k 4: 8 x 200 on 2 connections" "$rc:$(jget "$J" '["status"]'):$(jget "$J" '["connections_opened"]')" "0:{'200': 8}:2"
$HERD bench -n 1 --unix "$TMP/s.sock" -r 127.0.0.1:1 http://a.b/ >/dev/null 2>&1
expect_eq "--unix with -r: exit 2" "$?" 2

# A refused --unix connection is not called "dial tcp" (issue 20).
$PY -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()" "$TMP/dead.sock"
out=$($HERD bench -n 1 --unix "$TMP/dead.sock" http://a.b/ 2>&1)
expect_match "--unix refused: dial unix" "$out" "refused +e.g. dial unix: connect: connection refused"
done_testing
