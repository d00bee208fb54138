# test_bench_serve.sh - herd bench against herd serve: the counts herd bench
# reports must match what the server's workers counted (/stats), for
# connection-per-request and keep-alive runs (the default: each connection
# for the whole run), with 404s from a bad path.
. tests/lib.sh
. tests/cli/bench_common.sh
start_herd_serve --workers 2
# sums: "accepted requests" over the workers, from /stats (JSON).
sums() {
	$PY -c 'import json,sys,urllib.request
w=json.load(urllib.request.urlopen(sys.argv[1]))["workers"]
print(sum(x["accepted"] for x in w), sum(x["requests"] for x in w))' "$URL/stats"
}

read -r a0 r0 < <(sums)
$HERD bench -n 200 -c 8 -k 0 --json "$TMP/a.json" "$URL/" "$URL/no/such/path" >/dev/null; rc=$?
expect_eq "herd serve, -k 0: exit 0" "$rc" 0
expect_eq "100 x 200 and 100 x 404" "$(jget "$TMP/a.json" '["status"]')" "{'200': 100, '404': 100}"
read -r a1 r1 < <(sums)
# /stats itself is one more connection and request, counted before it answers.
expect_eq "server accepted one connection per request" "$((a1 - a0 - 1))" 200
expect_eq "server answered 200 requests" "$((r1 - r0 - 1))" 200

$HERD bench -n 300 -c 1 -k 100 --json "$TMP/k.json" "$URL/" >/dev/null; rc=$?
expect_eq "herd serve, -k 100: exit 0, 300 done" "$rc:$(jget "$TMP/k.json" '["done"]')" "0:300"
read -r a2 r2 < <(sums)
expect_eq "keep-alive: 3 connections for 300 requests (bench)" "$(jget "$TMP/k.json" '["connections_opened"]')" 3
expect_eq "keep-alive: 3 connections for 300 requests (server)" "$((a2 - a1 - 1)):$((r2 - r1 - 1))" "3:300"

# The default keeps each connection for the whole run, as wrk does.
$HERD bench -n 400 -c 4 -t 2 --json "$TMP/d.json" "$URL/" >/dev/null; rc=$?
read -r a3 r3 < <(sums)
expect_eq "herd serve, default: exit 0, 400 done on 4 connections (bench)" \
	"$rc:$(jget "$TMP/d.json" '["done"]'):$(jget "$TMP/d.json" '["connections_opened"]')" "0:400:4"
expect_eq "default: 4 connections for 400 requests (server)" "$((a3 - a2 - 1)):$((r3 - r2 - 1))" "4:400"
done_testing
