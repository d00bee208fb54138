# test_bench_schedule.sh - rate schedules: a linear ramp (--rate A:B over
# -d) and steps (--rate A,B@STEP). The requests sent follow the schedule
# (counts within 5% of its integral), each step's achieved rate is in the
# summary and the JSON, and bad schedules are usage errors.
. tests/lib.sh
. tests/cli/bench_common.sh
start_server
J="$TMP/j"
within() { $PY -c "import sys; a, w = float(sys.argv[1]), float(sys.argv[2]); print(abs(a - w) <= 0.05 * w)" "$1" "$2"; }

# Steps: 100 then 300 requests/s, 1 s each: 400 requests in all.
out=$($HERD bench --rate 100,300@1s -c 8 -k 100000 --json "$J" "$URL/"); rc=$?
expect_eq "steps: exit 0, -d is the steps' sum (2 s)" "$rc:$(jget "$J" '["config"]["duration_s"]')" "0:2"
n=$(($(jget "$J" '["done"]') + $(jget "$J" '["failed"]')))
expect_eq "steps: $n requests, within 5% of 400" "$(within $n 400)" True
s1=$(jget "$J" '["steps"][0]["achieved_rate"]'); s2=$(jget "$J" '["steps"][1]["achieved_rate"]')
expect_eq "step 1 achieved $s1 req/s, within 5% of 100" "$(within "$s1" 100)" True
expect_eq "step 2 achieved $s2 req/s, within 5% of 300" "$(within "$s2" 300)" True
expect_match "the summary lists each step" "$out" "1\.0s-2\.0s +300\.0 -> [0-9.]+"

# A ramp from 0 to 400 requests/s over 2 s: 400 requests (the integral).
$HERD bench --rate 0:400 -d 2s -c 8 -k 100000 --json "$J" "$URL/" >/dev/null; rc=$?
n=$(($(jget "$J" '["done"]') + $(jget "$J" '["failed"]')))
expect_eq "ramp 0:400 over 2 s: exit 0, $n requests within 5% of 400" "$rc:$(within $n 400)" 0:True
expect_eq "ramp: one step, from 0 to 400" "$(jget "$J" '["steps"][0]["from_rate"]'):$(jget "$J" '["steps"][0]["to_rate"]')" "0:400"

for bad in "--rate 1:2" "--rate 5@0s" "--rate 1,,2@1s" "--rate a:b -d 1s" "--rate 1,2@1s -n 5"; do
	$HERD bench $bad "$URL/" >/dev/null 2>"$TMP/e"; rc=$?
	expect_eq "'$bad' is a usage error naming --rate" "$rc:$(grep -c 'bad value for --rate' "$TMP/e")" "2:1"
done
done_testing
