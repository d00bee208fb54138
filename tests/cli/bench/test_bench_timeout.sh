# test_bench_timeout.sh - a run with --timeout against a healthy herd serve
# loses nothing: issue 9's reproducer. The engine once compared a clock
# reading from the top of its loop with the start stamp of a request begun
# later in the same pass; the unsigned difference wrapped and ~3-10% of the
# requests of such a run failed as `timeout` within a second or two.
. tests/lib.sh
. tests/cli/bench_common.sh
start_herd_serve --workers 4

# The timeouts are far longer than any answer here (16 requests of 1 ms CPU
# in flight): a timeout can only come from the engine's own arithmetic.
run() {
	local name=$1; shift
	timeout 60 $HERD bench "$@" --json "$TMP/$name.json" "$URL/cpu?us=1000" >"$TMP/$name.out"
	expect_eq "$name: exit 0" "$?" 0
	expect_eq "$name: all done, 0 failed, 0 abandoned" \
		"$(jget "$TMP/$name.json" '["done"]'):$(jget "$TMP/$name.json" '["failed"]'):$(jget "$TMP/$name.json" '["abandoned"]')" \
		"2000:0:0"
}
run close -n 2000 -c 16 -k 0 --timeout 10s
run keepalive -n 2000 -c 16 -k 100 --timeout 10s
run keepalive-2s -n 2000 -c 16 -k 100 --timeout 2s
done_testing
