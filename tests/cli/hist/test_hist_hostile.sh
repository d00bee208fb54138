# test_hist_hostile.sh - `herd hist` on hostile input (issue 15): lines longer
# than any number, read through a pipe, and .hlog logs whose counts overflow.
# Each run is bounded by `timeout`, generously: the old reader took seconds
# per 32 MB line because it rescanned the partial line on every read.
. tests/lib.sh

hostile=tests/cli/hist/fixtures/hostile
ones() { head -c "$1" /dev/zero | tr '\0' '1'; }

# A 32 MB line through a pipe: reported by number, skipped, the rest read.
{ ones 33554432; printf '\n5\n'; } | timeout 60 $HERD hist >"$TMP/out" 2>"$TMP/err"
expect_eq "32 MB line then a number: exit 0" "$?" 0
expect_match "32 MB line: reported with its line number" "$(head -1 "$TMP/err")" \
	"^herd hist: line 1: longer than 4096 bytes: '1{80}\.\.\.'$"
expect_match "32 MB line: counted as skipped" "$(cat "$TMP/err")" "skipped 1 bad line$"
expect_match "32 MB line: the next line is line 2 and counts" "$(head -1 "$TMP/out")" "max:5.00 .*count:1$"

# Alone it leaves no input: exit 1, as an empty input does.
{ ones 33554432; printf '\n'; } | timeout 60 $HERD hist >/dev/null 2>"$TMP/err"
expect_eq "32 MB line alone: exit 1" "$?" 1
expect_match "32 MB line alone: says there is no input" "$(cat "$TMP/err")" "no input"

# --strict makes it fatal, at once.
{ printf '3\n'; ones 33554432; printf '\n'; } | timeout 60 $HERD hist --strict >/dev/null 2>"$TMP/err"
expect_eq "--strict: a long line exits 1" "$?" 1
expect_match "--strict: names line 2" "$(cat "$TMP/err")" "^herd hist: line 2: longer than 4096 bytes"

# The limit is the same whether a line comes whole or in pieces: 4096 bytes
# is still a number, 4097 is not.
{ head -c 4095 /dev/zero | tr '\0' ' '; printf '7\n'; head -c 4096 /dev/zero | tr '\0' ' '; printf '8\n'; } |
	$HERD hist >"$TMP/out" 2>"$TMP/err"
expect_match "4096-byte line is read" "$(head -1 "$TMP/out")" "min:7.00 .*count:1$"
expect_match "4097-byte line is line 2, too long" "$(cat "$TMP/err")" "^herd hist: line 2: longer than 4096 bytes"

# .hlog merging never wraps a count (two intervals of 5e18 used to print
# count:10000000000000000000 dev:-0.00).
for f in overflow_two_intervals:5 overflow_after_widening:5 overflow_in_one_interval:4 total_int64_max_plus_one:6; do
	name=${f%:*} line=${f#*:}
	$HERD hist --merge "$hostile/$name.hlog" >"$TMP/out" 2>"$TMP/err"
	expect_eq "$name: exit 1" "$?" 1
	expect_eq "$name: message" "$(cat "$TMP/err")" "herd hist: $hostile/$name.hlog: line $line: counts overflow"
	expect_eq "$name: nothing on stdout" "$(cat "$TMP/out")" ""
done

# A log whose bounds would overflow the range check (found by fuzz_hlog).
$HERD hist --merge "$hostile/lowest_near_int64_max.hlog" >/dev/null 2>"$TMP/err"
expect_eq "lowest near INT64_MAX: exit 1" "$?" 1
expect_eq "lowest near INT64_MAX: refused" "$(cat "$TMP/err")" \
	"herd hist: $hostile/lowest_near_int64_max.hlog: line 2: not an HdrHistogram interval line"

# Logs malformed in the other ways (gen.py beside them says how): refused
# with the line's number, never a crash or a sanitizer report.
for name in zero_run_past_end zero_run_int64_min count_past_end truncated_varint payload_len_negative \
	zlen_too_big zlib_bomb v1_cookie double_histogram_cookie sigfigs_0 sigfigs_6 lowest_0 \
	highest_below_2x_lowest lowest_negative bad_base64_char bad_base64_length max_column_nan \
	tag_without_comma empty_histogram_field; do
	$HERD hist --merge "$hostile/$name.hlog" >"$TMP/out" 2>"$TMP/err"
	expect_eq "$name: exit 1, refused by line" "$? $(cat "$TMP/err")" \
		"1 herd hist: $hostile/$name.hlog: line 2: not an HdrHistogram interval line"
done
# Odd but harmless: a payload length above what inflates (the shorter is
# taken, as for early HdrHistogram_c logs) and an Interval_Max column that
# matches no unit (the bucket's top is kept).
for name in payload_len_huge max_column_huge; do
	$HERD hist --merge "$hostile/$name.hlog" >"$TMP/out" 2>/dev/null
	expect_eq "$name: read" "$? $(head -1 "$TMP/out")" \
		"0 Values min:0.00 avg:0.00 med=0.00 max:0.00 dev:0.00 count:5"
done

# A total of exactly 2^63-1 is fine, and -P 100 is its maximum.
$HERD hist --merge -P 100 "$hostile/total_int64_max.hlog" >"$TMP/out" 2>/dev/null
expect_eq "total 2^63-1: exit 0" "$?" 0
expect_match "total 2^63-1: the count" "$(head -1 "$TMP/out")" "max:3000.00 .*count:9223372036854775807$"
expect_eq "total 2^63-1: -P 100 is the maximum" "$(sed -n 2p "$TMP/out")" "Values p100:3000.00"

# A log line over 16 MiB, read from a pipe, is refused with its number.
{ cat tests/cli/hist/fixtures/a.hlog; printf '0.0,1.0,1.0,'; head -c 17000000 /dev/zero | tr '\0' 'A'; printf '\n'; } |
	timeout 60 $HERD hist --merge - >/dev/null 2>"$TMP/err"
expect_eq "17 MB .hlog line: exit 1" "$?" 1
n=$(($(wc -l <tests/cli/hist/fixtures/a.hlog) + 1))
expect_eq "17 MB .hlog line: message" "$(cat "$TMP/err")" "herd hist: -: line $n: longer than 16777216 bytes"

# Bounded time and memory whatever --merge reads (issue 20): /dev/zero
# (NUL bytes, no newline ever) and an endless line from a pipe stop at
# their first line with its number; a NUL byte inside a log names its line.
timeout 10 $HERD hist --merge /dev/zero >/dev/null 2>"$TMP/err"
expect_eq "/dev/zero: exit 1, not an endless loop" "$?" 1
expect_eq "/dev/zero: message" "$(cat "$TMP/err")" "herd hist: /dev/zero: line 1: a NUL byte (not a text .hlog file)"
timeout 20 bash -c "yes | tr -d '\n' | $HERD hist --merge - >/dev/null 2>$TMP/err"
expect_eq "endless line from a pipe: exit 1 at the limit" "$?" 1
expect_eq "endless line: message" "$(cat "$TMP/err")" "herd hist: -: line 1: longer than 16777216 bytes"
{ cat tests/cli/hist/fixtures/a.hlog; printf '0.0,1.0,1.0,HIST\0\n'; } >"$TMP/nul.hlog"
$HERD hist --merge "$TMP/nul.hlog" >/dev/null 2>"$TMP/err"
expect_eq "NUL inside a log: names its line" "$(cat "$TMP/err")" \
	"herd hist: $TMP/nul.hlog: line $n: a NUL byte (not a text .hlog file)"

# Values near DBL_MAX: the mean and deviation stay finite (issue 20).
out=$(printf '1e308\n1e308\n1e308\n' | $HERD hist | head -1)
expect_match "three of 1e308: avg is 1e308, dev 0" "$out" "avg:1000000000000000010979[0-9]*\.00 .*dev:0\.00 count:3$"
out=$(printf -- '-1.7e308\n1.7e308\n' | $HERD hist | head -1)
expect_match "-1.7e308 and 1.7e308: avg 0, dev 1.7e308" "$out" "avg:0\.00 .*dev:1699999999[0-9]*\.00 count:2$"
done_testing
