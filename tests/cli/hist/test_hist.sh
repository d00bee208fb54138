# test_hist.sh - `herd hist` and the mmhistogram link against fixtures.
#
# Table-driven: every tests/cli/hist/fixtures/NAME.in is one case, run as
#   herd hist $(NAME.args, one argument per line) < NAME.in
# and compared byte for byte with NAME.out (stdout), NAME.err (stderr, when
# present; NAME.mm.err for the mmhistogram link where it differs in more
# than the name) and NAME.rc (exit status, default 0). The expected outputs were
# worked out by hand from mmhistogram's definition (docs/hist.md) and confirmed with
# the original Python script. Every case runs again through the mmhistogram
# link, whose messages carry its own name.
. tests/lib.sh

dir=tests/cli/hist/fixtures
link=$(dirname "$HERD")/mmhistogram

run_case() { # run_case NAME COMMAND...: stdout, stderr, status into $TMP
	local name=$1 args=()
	shift
	[ -f "$dir/$name.args" ] && mapfile -t args <"$dir/$name.args"
	"$@" "${args[@]}" <"$dir/$name.in" >"$TMP/out" 2>"$TMP/err"
	echo $? >"$TMP/rc"
}

for input in "$dir"/*.in; do
	name=$(basename "$input" .in)
	want_rc=0
	[ -f "$dir/$name.rc" ] && want_rc=$(cat "$dir/$name.rc")

	run_case "$name" "$HERD" hist
	expect_files_eq "$name: stdout" "$TMP/out" "$dir/$name.out"
	expect_eq "$name: exit status" "$(cat "$TMP/rc")" "$want_rc"
	if [ -f "$dir/$name.err" ]; then
		expect_files_eq "$name: stderr" "$TMP/err" "$dir/$name.err"
	else
		expect_eq "$name: nothing on stderr" "$(cat "$TMP/err")" ""
	fi

	run_case "$name" "$link"
	expect_files_eq "$name: mmhistogram link stdout" "$TMP/out" "$dir/$name.out"
	expect_eq "$name: mmhistogram link exit status" "$(cat "$TMP/rc")" "$want_rc"
	# NAME.mm.err: where the link's messages differ from herd hist's in
	# more than the name (it reports blank lines; herd hist skips them).
	if [ -f "$dir/$name.mm.err" ]; then
		expect_files_eq "$name: mmhistogram link stderr" "$TMP/err" "$dir/$name.mm.err"
	elif [ -f "$dir/$name.err" ]; then
		sed 's/herd hist/mmhistogram/g' "$dir/$name.err" >"$TMP/err.want"
		expect_files_eq "$name: mmhistogram link stderr" "$TMP/err" "$TMP/err.want"
	fi
done

# The article's histogram, row for row: the same counts per bucket.
{
	echo 3.61
	yes 5 | head -n 16
	yes 10 | head -n 67
	yes 30.28 | head -n 91760
	yes 40 | head -n 8155
	echo 72.65
} >"$TMP/article.in"
$HERD hist -t "Duration in ms (single queue)" <"$TMP/article.in" >"$TMP/out" 2>&1
expect_files_eq "the article's example rows" "$TMP/out" "$dir/article.out"

# More than 2^20 values: median and percentiles by selection, not sorting.
seq 1 1100000 >"$TMP/seq.in"
$HERD hist -P 50,99.9 <"$TMP/seq.in" >"$TMP/out" 2>&1
expect_files_eq "1.1 million values (selection path)" "$TMP/out" "$dir/big_seq.out"

# --approx keeps the rows exact: the same histogram rows as the exact mode.
$HERD hist <"$TMP/article.in" | tail -n +2 >"$TMP/exact"
$HERD hist --approx <"$TMP/article.in" | tail -n +2 >"$TMP/approx"
expect_files_eq "--approx rows equal the exact rows" "$TMP/approx" "$TMP/exact"

# A bad line far into the input is reported with its number; no newline at the end.
printf '1\n2\n3\n4\n5\n6\n7\n8\n9\n1,5\n11' | $HERD hist >/dev/null 2>"$TMP/err"
expect_match "bad line 10 is reported" "$(cat "$TMP/err")" "^herd hist: line 10: not a number: '1,5'$"
out=$(printf '7' | $HERD hist | head -1)
expect_eq "last line without a newline counts" "$out" "Values min:7.00 avg:7.00 med=7.00 max:7.00 dev:0.00 count:1"

# Many bad lines: ten are shown, the rest counted.
{ seq 1 5; yes junk | head -n 50; } | $HERD hist >/dev/null 2>"$TMP/err"
expect_eq "at most ten bad lines are shown" "$(grep -c 'not a number' "$TMP/err")" 10
expect_match "all bad lines are counted" "$(cat "$TMP/err")" "skipped 50 bad lines"

# Help and usage errors.
out=$($HERD hist --help); rc=$?
expect_eq "--help exits 0" "$rc" 0
expect_match "--help documents -P's definition" "$out" "Nearest rank"
expect_match "--help documents --approx's scaling" "$out" "value \* 1000"
out=$($HERD help hist)
expect_match "herd help hist" "$out" "^usage: herd hist"
$HERD hist --merge "$TMP/nonexistent.hlog" 2>"$TMP/err"
expect_eq "--merge of a missing file exits 1" "$?" 1
expect_match "--merge names the missing file" "$(cat "$TMP/err")" "nonexistent.hlog: No such file"
$HERD hist -j --approx </dev/null 2>/dev/null
expect_eq "-j with --approx is a usage error" "$?" 2
printf '1e300\n' | $HERD hist -l 2>"$TMP/err" >/dev/null
expect_eq "too many linear rows exits 1" "$?" 1
expect_match "too many linear rows says why" "$(cat "$TMP/err")" "use a larger -b"
done_testing
