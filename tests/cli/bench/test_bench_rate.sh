# test_bench_rate.sh - open loop (--rate): the achieved rate follows the
# target, -n gives exact counts, and a stalled server shows up in the
# latency (measured from each request's intended send time) and in the
# count of requests sent late, instead of slowing the load down.
. tests/lib.sh
. tests/cli/bench_common.sh
start_server

# The issue's own requirement: within 5% of --rate 2000 over 3 s.
out=$($HERD bench --rate 2000 -d 3s -c 20 -k 1000000 --json "$TMP/r.json" "$URL/"); rc=$?
expect_eq "--rate 2000 -d 3s exits 0" "$rc" 0
ach=$(jget "$TMP/r.json" '["achieved_rate"]')
expect_eq "achieved rate $ach within 5% of 2000" "$($PY -c "print(1900 <= $ach <= 2100)")" True
expect_eq "target rate reported" "$($PY -c "print($(jget "$TMP/r.json" '["target_rate"]') == 2000)")" True
expect_match "summary shows target vs achieved and late sends" "$out" "open loop +target 2000.0 req/s, achieved [0-9.]+ req/s, [0-9]+ sent late"

# -n with --rate: exact count.
$HERD bench --rate 200 -n 60 -c 3 -k 100 --json "$TMP/n.json" "$URL/" >/dev/null
expect_eq "--rate 200 -n 60: exactly 60 done" "$(jget "$TMP/n.json" '["done"]')" 60

# A stalled server (300 ms per request, one connection) at 20 req/s: a
# closed loop would report 300 ms for each; the open loop knows request i
# was due at i x 50 ms, so the last of 6 waited about 6 x 300 - 250 ms.
$HERD bench --rate 20 -n 6 -c 1 -k 100 --json "$TMP/s.json" "$URL/slow" >/dev/null
mx=$(jget "$TMP/s.json" '["latency"]["max"]')
expect_eq "stalled server: max latency counts from the due time ($mx us > 1 s)" "$((mx > 1000000))" 1
# Requests 2..6 wait behind the stall; the first is late only if the
# thread started late on a busy machine.
expect_match "stalled server: at least 5 of 6 sent late" "$(jget "$TMP/s.json" '["sent_late"]')" '^[56]$'
done_testing
