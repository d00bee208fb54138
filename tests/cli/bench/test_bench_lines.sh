# test_bench_lines.sh - the benchhttp-compatible mode (--lines, or the
# benchhttp link): flags, stdout "%.9f %d" per completed request, the
# stderr header, per-failure lines, Go-style flags, no URL.
. tests/lib.sh
. tests/cli/bench_common.sh
start_server
BH=$(dirname "$HERD")/benchhttp

$BH >"$TMP/o" 2>"$TMP/e"; rc=$?
expect_eq "benchhttp without URL exits 1" "$rc" 1
expect_match "benchhttp without URL says so" "$(cat "$TMP/e")" '^\[\*\] Pass a url please$'
$HERD bench --lines >/dev/null 2>"$TMP/e"; expect_eq "--lines without URL exits 1" "$?" 1

# The seed's invocation: -r gives the address, the URL only Host and path.
s0=$(stats)
$BH -n 25 -c 3 -r 127.0.0.1:$PORT http://a.a/ >"$TMP/o" 2>"$TMP/e"; rc=$?
expect_eq "benchhttp -n 25 exits 0" "$rc" 0
expect_eq "stdout has 25 lines" "$(wc -l <"$TMP/o")" 25
expect_eq "every line is '%.9f 200'" "$(grep -cE '^[0-9]+\.[0-9]{9} 200$' "$TMP/o")" 25
expect_eq "stderr is the header line only" "$(cat "$TMP/e")" "time_in_ms status_code"
expect_eq "no keep-alive by default: 25 connections" "$(stats)" "$(after "$s0" 25 25)"

# Through herd bench --lines, with keep-alive and URLs round robin.
s0=$(stats)
$HERD bench --lines -n 20 -c 2 -k 5 "$URL/" "$URL/missing" >"$TMP/o" 2>"$TMP/e"; rc=$?
expect_eq "--lines exits 0 with 404s" "$rc" 0
expect_eq "--lines: 10 lines of 200" "$(grep -cE '^[0-9]+\.[0-9]{9} 200$' "$TMP/o")" 10
expect_eq "--lines: 10 lines of 404" "$(grep -cE '^[0-9]+\.[0-9]{9} 404$' "$TMP/o")" 10
expect_eq "--lines: nothing else on stdout" "$(wc -l <"$TMP/o")" 20
c=$(stats); c=${c%% *}; c=${c#conns=}; c0=${s0%% *}; c0=${c0#conns=}
# As the original (Go's transport): any -k other than 0 keeps each of the
# -c connections for the whole run.
# (herd's own -k 5 would open 4..5; a rare reconnect after a failed first
# write on a busy machine may add one)
expect_match "-k 5 in benchhttp mode: 2 connections for 20 requests at -c 2 (got $((c - c0 - 1)))" "$((c - c0 - 1))" '^[23]$'

# Go's flag syntax: -n=5, --c 2.
$BH -n=5 --c 2 "$URL/" >"$TMP/o" 2>/dev/null; rc=$?
expect_eq "Go-style -n=5 --c 2 runs 5 requests" "$rc:$(wc -l <"$TMP/o")" "0:5"
$BH --n 3 -c=2 "$URL/" >"$TMP/o" 2>/dev/null; rc=$?
expect_eq "Go-style --n 3 then -c=2 runs 3 requests" "$rc:$(wc -l <"$TMP/o")" "0:3"
# Go's flag stops at the first URL; later words are URLs too (and bad ones fail).
$BH -n 2 "$URL/" -c 5 >/dev/null 2>"$TMP/e"; expect_eq "flags after the URL are not flags" "$?" 2
# benchhttp has only its own flags.
$BH -d 1s "$URL/" >/dev/null 2>&1; expect_eq "benchhttp rejects herd-only flags" "$?" 2

# Failures: nothing on stdout, one [!] line each on stderr, exit 0 (the
# original's status whatever happened).
$BH -n 4 -c 2 -r 127.0.0.1:$PORT http://a.a/reset >"$TMP/o" 2>"$TMP/e"; rc=$?
expect_eq "failed requests exit 0, as the original" "$rc" 0
expect_eq "failed requests print nothing on stdout" "$(wc -c <"$TMP/o")" 0
expect_eq "one [!] line per failed request" "$(grep -c '^\[!\] "http://a.a/reset" ' "$TMP/e")" 4
port2=$(free_port)
$BH -n 3 http://127.0.0.1:$port2/ >"$TMP/o" 2>"$TMP/e"
expect_eq "refused: [!] line names the URL and the error" \
	"$(grep -c "^\[!\] \"http://127.0.0.1:$port2/\" .*connection refused" "$TMP/e")" 3

# The seed's pipeline, with a stand-in for mmhistogram: the first column is numbers.
$BH -n 50 -c 5 -r 127.0.0.1:$PORT http://a.a/ 2>/dev/null | cut -d " " -f 1 >"$TMP/ms"
expect_eq "cut -d ' ' -f 1 leaves 50 numbers" "$(grep -cE '^[0-9]+\.[0-9]+$' "$TMP/ms")" 50
out=$($BH -n 50 -c 5 -r 127.0.0.1:$PORT http://a.a/ 2>/dev/null | cut -d " " -f 1 | $(dirname "$HERD")/mmhistogram -t "Request time" 2>&1)
expect_match "benchhttp | cut | mmhistogram works verbatim" "$out" "^Request time min:.* count:50\$"
done_testing
