# test_bench_errors.sh - failures are counted by kind, never crash the run,
# and set the exit status: refused, reset, closed, timeout, a server that
# dies mid-run, EADDRNOTAVAIL with its hint, --source and --rst.
. tests/lib.sh
. tests/cli/bench_common.sh
start_server

# Nothing listening: every request refused, exit 1.
port2=$(free_port)
out=$($HERD bench -n 20 -c 4 --json "$TMP/r.json" http://127.0.0.1:$port2/); rc=$?
expect_eq "refusing server: exit 1" "$rc" 1
expect_eq "refusing server: 20 refused" "$(jget "$TMP/r.json" '["errors"]["refused"]')" 20
expect_eq "refusing server: 0 done, 20 failed" "$(jget "$TMP/r.json" '["done"]'):$(jget "$TMP/r.json" '["failed"]')" "0:20"
expect_match "summary lists errors by kind" "$out" "errors +refused: 20"

# A server that resets or closes some connections mid-run.
$HERD bench -n 12 -c 3 -k 4 --json "$TMP/x.json" "$URL/" "$URL/reset" "$URL/vanish" >/dev/null; rc=$?
expect_eq "resets and closes: exit 1" "$rc" 1
expect_eq "resets and closes: 4 done" "$(jget "$TMP/x.json" '["done"]')" 4
expect_eq "resets counted as reset" "$(jget "$TMP/x.json" '["errors"]["reset"]')" 4
expect_eq "early closes counted as closed" "$(jget "$TMP/x.json" '["errors"]["closed"]')" 4

# A server that accepts but never answers: timeouts.
$HERD bench -n 3 -c 3 --timeout 300ms --json "$TMP/t.json" "$URL/silent" >/dev/null; rc=$?
expect_eq "silent server: exit 1" "$rc" 1
expect_eq "silent server: 3 timeouts" "$(jget "$TMP/t.json" '["errors"]["timeout"]')" 3

# A -d run that ends while requests wait for answers: those are abandoned,
# neither done nor failed, and the exit status says not all got a response.
$HERD bench -d 300ms -c 2 --json "$TMP/a.json" "$URL/silent" >"$TMP/a.out"; rc=$?
expect_eq "silent server, -d ends: exit 1" "$rc" 1
expect_eq "silent server, -d ends: 2 abandoned" "$(jget "$TMP/a.json" '["abandoned"]')" 2
expect_match "summary names abandoned requests" "$(cat "$TMP/a.out")" "abandoned +2 requests"

# Durations whose nanoseconds would overflow are refused, not run as zero.
$HERD bench -d 1e11s "$URL/" >/dev/null 2>"$TMP/e"; rc=$?
expect_eq "-d 1e11s: exit 2" "$rc" 2
expect_match "-d 1e11s: the value is named" "$(cat "$TMP/e")" "1e11s"

# A URL is sent as it is: spaces and control characters would change the request.
$HERD bench -n 1 "$URL/a b" >/dev/null 2>"$TMP/e"; rc=$?
expect_eq "URL with a space: exit 2" "$rc" 2
$HERD bench -n 1 "$URL/a"$'\r\n'"X-Injected: 1" >/dev/null 2>"$TMP/e"; rc=$?
expect_eq "URL with CR LF: exit 2" "$rc" 2

# The server dies mid-run: the run carries on, counts, and prints a summary.
PORT_SAVE=$PORT
start_server
victim=${_pids[-1]}
( sleep 1; kill -KILL "$victim" ) &
track_pid $!
out=$($HERD bench -d 2500ms -c 4 -k 10 --json "$TMP/v.json" "$URL/"); rc=$?
expect_eq "vanishing server: exit 1" "$rc" 1
expect_match "vanishing server: requests before the kill succeeded" "$(jget "$TMP/v.json" '["done"] > 0')" True
expect_match "vanishing server: failures counted after it" "$(jget "$TMP/v.json" '["errors"]["refused"] > 0')" True
expect_match "vanishing server: summary printed" "$out" "done, [0-9]+ failed in"
PORT=$PORT_SAVE; URL=http://127.0.0.1:$PORT

# EADDRNOTAVAIL (a source address this host does not have) is named, with the options.
$HERD bench -n 2 --source 192.0.2.77 --json "$TMP/a.json" "$URL/" >/dev/null 2>"$TMP/e"; rc=$?
expect_eq "unusable source address: exit 1" "$rc" 1
expect_eq "counted as addrnotavail" "$(jget "$TMP/a.json" '["errors"]["addrnotavail"]')" 2
expect_match "the hint names --source and --rst" "$(tr "\n" " " <"$TMP/e")" "EADDRNOTAVAIL.*--source.*--rst"

# --source spreads connections over loopback addresses; --rst closes with RST.
$HERD bench -n 30 -c 3 -k 0 --source 127.0.0.2-127.0.0.4 --rst --json "$TMP/s.json" "$URL/" >/dev/null; rc=$?
expect_eq "--source range and --rst: 30 done, exit 0" "$rc:$(jget "$TMP/s.json" '["done"]')" "0:30"
$HERD bench -n 2 --source ::1 "$URL/" >/dev/null 2>"$TMP/e"; rc=$?
expect_eq "IPv6 source for an IPv4 target: exit 2" "$rc" 2
# More connections than open files allowed: refused up front with the
# numbers (exit 2), instead of a run of "Too many open files" failures.
out=$(ulimit -n 128; $HERD bench -c 1000 -d 1s "$URL/" 2>&1); rc=$?
expect_eq "-c 1000 under ulimit -n 128: exit 2" "$rc" 2
expect_match "-c 1000 under ulimit -n 128: says why and what fits" "$out" "-c 1000 needs 1032 open files, but the limit is 128 .* lower -c to 96"
out=$(ulimit -n 128; $HERD bench -c 90 -n 90 "$URL/" 2>&1); rc=$?
expect_eq "-c 90 under ulimit -n 128 runs" "$rc" 0
done_testing
