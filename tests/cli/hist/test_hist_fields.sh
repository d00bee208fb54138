# test_hist_fields.sh - herd hist beside herd bench: -f N reads one field of
# each line (whitespace-separated, or at each -d C), so benchhttp's
# "ms status" lines and --records CSV pipe straight in; a first line
# without a number there is a header; blank lines are skipped silently
# (the mmhistogram link still reports them, as before).
. tests/lib.sh
. tests/cli/bench_common.sh
link=$(dirname "$HERD")/mmhistogram

# Blank lines: skipped, not bad lines, even with --strict.
printf '1\n\n2\n  \t\n3\n\n' | $HERD hist >"$TMP/out" 2>"$TMP/err"; rc=$?
expect_eq "blank lines: exit 0, three values, nothing on stderr" \
	"$rc:$(head -1 "$TMP/out"):$(cat "$TMP/err")" "0:Values min:1.00 avg:2.00 med=2.00 max:3.00 dev:0.82 count:3:"
printf '1\n\n2\n' | $HERD hist --strict >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "blank lines with --strict: not fatal" "$rc:$(cat "$TMP/err")" "0:"
printf '1\n\n2\n' | $link >"$TMP/out" 2>"$TMP/err"; rc=$?
expect_eq "the mmhistogram link reports a blank line, as before" "$rc:$(cat "$TMP/err" | tr '\n' '|')" \
	"0:mmhistogram: line 2: not a number: ''|mmhistogram: skipped 1 bad line|"

# -f N: whitespace-separated fields, leading and repeated whitespace ignored.
printf '  1   200\n\t2\t404 x\n3 500\n' | $HERD hist -f 2 >"$TMP/out" 2>"$TMP/err"
expect_eq "-f 2: the second fields" "$(head -1 "$TMP/out"):$(cat "$TMP/err")" \
	"Values min:200.00 avg:368.00 med=404.00 max:500.00 dev:125.09 count:3:"
printf '1 2\n3\n4 5\n' | $HERD hist -f 2 >/dev/null 2>"$TMP/err"
expect_match "-f 2 on a line of one field: reported with its number" "$(cat "$TMP/err")" "^herd hist: line 2: no such field: '3'$"
# -d C: fields end at each C (as cut), empty ones included.
printf 'a,,5\n1,,7\n' | $HERD hist -f 3 -d , 2>"$TMP/err" | head -1 >"$TMP/out"
expect_eq "-f 3 -d , (a header line, empty fields)" "$(cat "$TMP/out"):$(cat "$TMP/err")" \
	"Values min:5.00 avg:6.00 med=5.00 max:7.00 dev:1.00 count:2:"
printf '0,1\n1,,5\n' | $HERD hist -f 2 -d , >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "-f 2 -d , on an empty field: not a number" "$rc:$(head -1 "$TMP/err")" "0:herd hist: line 2: not a number: '1,,5'"
# A header only on the first line: later words are bad lines.
printf 'ms\n1\nms\n2\n' | $HERD hist -f 1 >/dev/null 2>"$TMP/err"
expect_eq "-f: only line 1 may be a header" "$(cat "$TMP/err" | tr '\n' '|')" \
	"herd hist: line 3: not a number: 'ms'|herd hist: skipped 1 bad line|"
printf 'ms\n1\n' | $HERD hist >/dev/null 2>"$TMP/err"
expect_match "without -f a first word is a bad line, as before" "$(cat "$TMP/err")" "line 1: not a number: 'ms'"
printf 'x 1000\ny 2000\n' | $HERD hist -f 2 --approx | head -1 >"$TMP/out"
expect_match "-f with --approx" "$(cat "$TMP/out")" "^Values min:1000.00 avg:1500.00 med=1000.[0-9]+ max:2000.00 dev:500.00 count:2$"

# Bad values.
for bad in "-f 0" "-f x" "-f 1 -d ab"; do
	printf '1\n' | $HERD hist $bad >/dev/null 2>"$TMP/err"; rc=$?
	last=${bad##* }
	expect_eq "$bad: exit 2, value named" "$rc:$(grep -c "bad value '$last'" "$TMP/err")" "2:1"
done
printf '1\n' | $HERD hist -d , >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "-d without -f: exit 2" "$rc:$(grep -c 'give -f N' "$TMP/err")" "2:1"
$HERD hist -f 1 --merge x.hlog >/dev/null 2>"$TMP/err"; rc=$?
expect_eq "-f with --merge: exit 2" "$rc:$(grep -c 'not with --merge' "$TMP/err")" "2:1"

# Straight from herd bench: benchhttp's lines and --records.
start_server
$HERD bench --lines -n 40 -c 2 "$URL/" >"$TMP/lines" 2>/dev/null
cut -d ' ' -f 1 "$TMP/lines" | $HERD hist -t ms >"$TMP/cut.out"
$HERD hist -t ms -f 1 <"$TMP/lines" >"$TMP/f.out" 2>"$TMP/err"
expect_files_eq "benchhttp lines: -f 1 is cut -f 1, byte for byte" "$TMP/f.out" "$TMP/cut.out"
expect_match "benchhttp lines: 40 values" "$(head -1 "$TMP/f.out")" " count:40$"
$HERD bench -n 50 -c 2 --records "$TMP/r.csv" "$URL/" >/dev/null
$HERD hist -f 4 -d , <"$TMP/r.csv" >"$TMP/r.out" 2>"$TMP/err"; rc=$?
tail -n +2 "$TMP/r.csv" | cut -d , -f 4 | $HERD hist >"$TMP/rcut.out"
expect_eq "--records CSV: -f 4 -d , reads latency_ms, the header skipped" "$rc:$(cat "$TMP/err")" "0:"
expect_files_eq "--records CSV: the same as cutting the column" "$TMP/r.out" "$TMP/rcut.out"
expect_match "--records CSV: 50 values" "$(head -1 "$TMP/r.out")" " count:50$"
done_testing
