# test_hist_intervals.sh - herd hist --merge --intervals: latency over time
# from .hlog files, and the --html / --svg chart.
#
# The logs are made from one real interval herd bench wrote (its encoded
# histogram H, N values), laid out at chosen times, so every row's count is
# known: log a starts at 1000.000 with intervals at 0, 1 and 3 s (the last
# one 0.5 s long), log b at 1000.500 with one at 0 s. In rows of 1 s from
# 1000.000: row 0 holds a's first and b's (2N), row 1 a's second (N), row 2
# nothing, row 3 a's last (N, over 0.5 s). Rows holding only copies of H
# have H's percentiles. A run of herd bench checks the rows against what it
# did.
. tests/lib.sh
. tests/cli/bench_common.sh
start_server

$HERD bench -n 300 -c 2 --hlog "$TMP/real.hlog" "$URL/" >/dev/null
line=$(grep -m1 '^0\.000,' "$TMP/real.hlog")
H=${line##*,}
max=$(echo "$line" | cut -d, -f3)
hdr() { # hdr START: a log header starting at START (seconds since the epoch)
	printf '#[Histogram log format version 1.3]\n#[StartTime: %s (seconds since epoch)]\n#[BaseTime: %s (seconds since epoch)]\n' "$1" "$1"
	echo '"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"'
}
{ hdr 1000.000; printf '0.000,1.000,%s,%s\n1.000,1.000,%s,%s\n3.000,0.500,%s,%s\n' "$max" "$H" "$max" "$H" "$max" "$H"; } >"$TMP/a.hlog"
{ hdr 1000.500; printf '0.000,1.000,%s,%s\n' "$max" "$H"; } >"$TMP/b.hlog"
printf '%s\n' "#[Histogram log format version 1.3]" "0.000,1.000,$max,$H" >"$TMP/one.hlog"
N=$($HERD hist --merge "$TMP/one.hlog" 2>/dev/null | sed -n '1s/.* count:\([0-9]*\)$/\1/p')
expect_match "the real interval has values ($N)" "$N" '^[1-9][0-9]*$'

out=$($HERD hist --merge "$TMP/a.hlog" "$TMP/b.hlog" --intervals 2>"$TMP/err"); rc=$?
expect_eq "--intervals: exit 0" "$rc" 0
expect_eq "--intervals: the note" "$(cat "$TMP/err")" "herd hist: merged 4 intervals from 2 logs into 4 rows of 1 s"
expect_match "--intervals: the column heads" "$(echo "$out" | sed -n 1p)" \
	'^ +start_s +length_s +count +rate/s +p50 +p90 +p99 +p99\.9 +max$'
cols() { echo "$out" | awk -v r="$1" 'NR == r + 2 {print $1, $2, $3, $4}'; }
expect_eq "row 0: both logs' first intervals" "$(cols 0)" "0.000 1.000 $((2 * N)) $((2 * N)).0"
expect_eq "row 1: a's second" "$(cols 1)" "1.000 1.000 $N $N.0"
expect_eq "row 2: empty, shown as such" "$(echo "$out" | sed -n 4p | tr -s ' ')" " 2.000 1.000 0 0.0 - - - - -"
expect_eq "row 3: the last, 0.5 s long, twice the rate" "$(cols 3)" "3.000 0.500 $N $((2 * N)).0"
expect_eq "rows of copies of one histogram have its percentiles" \
	"$(echo "$out" | awk 'NR == 2 || NR == 3 || NR == 5 {print $5, $6, $7, $8, $9}' | sort -u | wc -l)" 1
expect_eq "and its max" "$(echo "$out" | awk 'NR == 3 {printf "%.3f", $9}')" "$(printf '%.3f' "$max")"
# Rows of 2 s; -P picks the columns.
out=$($HERD hist --merge "$TMP/a.hlog" "$TMP/b.hlog" --intervals=2s -P 50,99 2>/dev/null)
expect_match "--intervals=2s -P 50,99: the columns" "$(echo "$out" | sed -n 1p)" '^ +start_s +length_s +count +rate/s +p50 +p99 +max$'
expect_eq "--intervals=2s: two rows, the last 1.5 s long" "$(cols 0) | $(cols 1)" \
	"0.000 2.000 $((3 * N)) $(awk -v n="$N" 'BEGIN {printf "%.1f", 3 * n / 2}') | 2.000 1.500 $N $(awk -v n="$N" 'BEGIN {printf "%.1f", n / 1.5}')"

# --html and --svg: the chart, with --intervals or beside the summary.
$HERD hist --merge "$TMP/a.hlog" "$TMP/b.hlog" --intervals --html "$TMP/x.html" --svg "$TMP/x.svg" >/dev/null 2>&1; rc=$?
expect_eq "--html and --svg: exit 0" "$rc" 0
check "--svg is well-formed XML" $PY -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$TMP/x.svg"
# Per series (p50 p90 p99 p99.9 max): one line through rows 0-1, a dot for row 3.
expect_eq "--svg: five lines broken at the empty row, five dots for the lone row" \
	"$(grep -o '<polyline' "$TMP/x.svg" | wc -l):$(grep -o '<circle' "$TMP/x.svg" | wc -l)" "5:5"
expect_eq "--html: the chart inline and a table row per row" \
	"$(grep -c '<svg' "$TMP/x.html"):$(grep -o '<tr><td>' "$TMP/x.html" | wc -l)" "1:4"
expect_match "--html: a page of its own" "$(head -1 "$TMP/x.html")" '^<!doctype html>$'
$HERD hist --merge "$TMP/a.hlog" "$TMP/b.hlog" >"$TMP/sum.want" 2>/dev/null
$HERD hist --merge "$TMP/a.hlog" "$TMP/b.hlog" --html "$TMP/y.html" >"$TMP/sum.out" 2>/dev/null; rc=$?
expect_eq "--html alone: exit 0, the chart written" "$rc:$(grep -c '<svg' "$TMP/y.html")" "0:1"
expect_files_eq "--html alone: stdout is --merge's summary" "$TMP/sum.out" "$TMP/sum.want"

# A real run: one row a second, counts adding up to what was done.
$HERD bench -d 2500ms -c 2 --rate 400 --hlog "$TMP/run.hlog" --json "$TMP/run.json" "$URL/" >/dev/null
out=$($HERD hist --merge "$TMP/run.hlog" --intervals 2>/dev/null)
expect_eq "a -d 2500ms run: 3 rows" "$(echo "$out" | tail -n +2 | wc -l)" 3
expect_eq "a -d 2500ms run: the counts add up to the requests done" \
	"$(echo "$out" | awk 'NR > 1 {s += $3} END {print s}')" "$(jget "$TMP/run.json" '["done"]')"

# Errors.
{ hdr 1000; printf '1.000,1.000,%s,%s\n0.000,1.000,%s,%s\n' "$max" "$H" "$max" "$H"; } >"$TMP/back.hlog"
$HERD hist --merge "$TMP/back.hlog" --intervals >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "intervals out of time order: exit 1, named" "$rc:$(cat "$TMP/err")" \
	"1:herd hist: $TMP/back.hlog: line 6: an interval that starts before the one above it (not in time order)"
{ hdr 1000; printf '0.000,1.000,%s,%s\n1e12,1.000,%s,%s\n' "$max" "$H" "$max" "$H"; } >"$TMP/far.hlog"
$HERD hist --merge "$TMP/far.hlog" --intervals >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "times that jump too far: exit 1, refused" "$rc:$(cat "$TMP/err")" \
	"1:herd hist: $TMP/far.hlog: line 6: more than 10000000 rows (the log's times jump too far ahead)"
hdr 1000 >"$TMP/empty.hlog"
$HERD hist --merge "$TMP/empty.hlog" --intervals >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "no intervals: exit 1" "$rc:$(cat "$TMP/err")" "1:herd hist: no intervals in 1 log"
$HERD hist --merge "$TMP/a.hlog" --html "$TMP/no/such/x.html" >/dev/null 2>"$TMP/err"; rc=$?
expect_match "--html into a missing folder: exit 1, named" "$rc:$(cat "$TMP/err")" "^1:herd hist: cannot write --html '$TMP/no/such/x.html': No such file"
for bad in "--intervals=0" "--intervals=soon"; do
	$HERD hist --merge "$TMP/a.hlog" $bad >/dev/null 2>"$TMP/err"; rc=$?
	expect_eq "$bad: exit 2, the value named" "$rc:$(grep -c "bad value '${bad#*=}' for --intervals" "$TMP/err")" "2:1"
done
printf '1\n' | $HERD hist --intervals >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "--intervals without --merge: exit 2" "$rc:$(grep -c 'give --merge too' "$TMP/err")" "2:1"
done_testing
