# test_bench_records.sh - herd bench --records: one line per request sent,
# CSV (with a header) or JSON lines, with its intended and actual start
# (epoch ns), connection, latency, status, bytes, error kind and URL; none
# lost across the threads' buffers, none broken when the file is a pipe,
# failures and abandoned requests recorded by kind, a failed write an error.
. tests/lib.sh
. tests/cli/bench_common.sh
start_server
HDR=intended_ns,start_ns,conn,latency_ms,status,bytes,error,url

# check_csv FILE: every data line has the eight fields, in their formats.
check_csv() {
	awk -F, 'NR > 1 && !(NF == 8 && $1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ &&
		$4 ~ /^[0-9]+\.[0-9][0-9][0-9][0-9][0-9][0-9]$/ && $5 ~ /^[0-9]+$/ && $6 ~ /^[0-9]+$/ &&
		$7 ~ /^[a-z]*$/ && $8 ~ /^[0-9]+$/) {bad++; if (bad < 4) print "bad line " NR ": " $0}
		END {print bad + 0}' "$1"
}

# Keep-alive (the default), two URLs round robin, two threads.
t0=$(date +%s%N)
out=$($HERD bench -n 200 -c 4 -t 2 --records "$TMP/r.csv" --json "$TMP/r.json" "$URL/" "$URL/nope"); rc=$?
t1=$(date +%s%N)
expect_eq "records: exit 0" "$rc" 0
expect_eq "records: the CSV header" "$(head -1 "$TMP/r.csv")" "$HDR"
expect_eq "records: one line per request" "$(($(wc -l <"$TMP/r.csv") - 1))" 200
expect_eq "records: every line well formed" "$(check_csv "$TMP/r.csv")" 0
expect_match "records: the summary says how many" "$out" "^  records +200 lines to $TMP/r.csv"
expect_eq "records: --json counts them" "$(jget "$TMP/r.json" '["records"]'):$(jget "$TMP/r.json" '["records_lost"]')" "200:0"
expect_eq "records: 100 x 200 for URL 0, 100 x 404 for URL 1" \
	"$(tail -n +2 "$TMP/r.csv" | cut -d, -f5,8 | sort | uniq -c | awk '{print $1 "x" $2}' | tr '\n' ' ')" \
	"100x200,0 100x404,1 "
expect_eq "records: keep-alive, connections 0..3" "$(tail -n +2 "$TMP/r.csv" | cut -d, -f3 | sort -u | tr '\n' ' ')" "0 1 2 3 "
expect_eq "records: the bytes add up to the bytes read" \
	"$(tail -n +2 "$TMP/r.csv" | awk -F, '{s += $6} END {print s}')" "$(jget "$TMP/r.json" '["bytes_read"]')"
expect_eq "records: closed loop, each request starts when intended" \
	"$(tail -n +2 "$TMP/r.csv" | awk -F, '$1 != $2' | wc -l)" 0
expect_eq "records: times are epoch ns within the run" "$($PY -c '
import sys
a, b = int(sys.argv[2]), int(sys.argv[3])
print(sum(1 for l in open(sys.argv[1]).readlines()[1:] if not a <= int(l.split(",")[0]) <= int(l.split(",")[1]) <= b))' \
	"$TMP/r.csv" "$t0" "$t1")" 0
expect_eq "records: no error on any line" "$(tail -n +2 "$TMP/r.csv" | cut -d, -f7 | sort -u)" ""

# -k 0: a new connection, so a new id, per request.
$HERD bench -n 60 -c 3 -k 0 --records "$TMP/k0.csv" "$URL/" >/dev/null
expect_eq "-k 0: 60 lines, 60 connection ids" \
	"$(tail -n +2 "$TMP/k0.csv" | wc -l):$(tail -n +2 "$TMP/k0.csv" | cut -d, -f3 | sort -u | wc -l)" "60:60"
# -k 5: a connection's id changes every five requests.
$HERD bench -n 60 -c 1 -k 5 --records "$TMP/k5.csv" "$URL/" >/dev/null
expect_eq "-k 5: 12 connection ids of 5 requests each" \
	"$(tail -n +2 "$TMP/k5.csv" | cut -d, -f3 | sort | uniq -c | awk '{print $1}' | sort -u):$(tail -n +2 "$TMP/k5.csv" | cut -d, -f3 | sort -u | wc -l)" "5:12"

# Open loop: intended starts follow the schedule exactly (5 ms apart at
# 200 req/s), actual starts are never before them.
$HERD bench --rate 200 -n 40 -c 2 --records "$TMP/o.csv" "$URL/" >/dev/null
expect_eq "open loop: 40 lines" "$(tail -n +2 "$TMP/o.csv" | wc -l)" 40
# (Python, not awk: epoch nanoseconds need more than a double's 53 bits.)
expect_eq "open loop: intended starts 5 ms apart" "$($PY -c '
import sys
t = sorted(int(l.split(",")[0]) for l in open(sys.argv[1]).readlines()[1:])
print(sorted(set(b - a for a, b in zip(t, t[1:]))))' "$TMP/o.csv")" "[5000000]"
expect_eq "open loop: no request starts before it is due" "$(tail -n +2 "$TMP/o.csv" | awk -F, '$2 < $1' | wc -l)" 0

# JSON lines: the same fields, one object per line, no header.
$HERD bench -n 50 -c 2 --records "$TMP/r.jsonl" --records-format json "$URL/" >/dev/null; rc=$?
check "--records-format json: every line is an object with the fields" $PY -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    d = json.loads(line)
    assert sorted(d) == sorted(sys.argv[2].split(",")), d
    assert d["status"] == 200 and d["error"] is None and d["bytes"] > 0 and d["latency_ms"] > 0, d
    n += 1
assert n == 50, n' "$TMP/r.jsonl" "$HDR"

# Failures are recorded with their kind; requests the end of a run cut off as abandoned.
port2=$(free_port)
$HERD bench -n 6 -c 2 --records "$TMP/f.csv" "http://127.0.0.1:$port2/" >/dev/null; rc=$?
expect_eq "refused: exit 1, 6 lines of status 0, error refused" \
	"$rc:$(tail -n +2 "$TMP/f.csv" | cut -d, -f5,7 | sort | uniq -c | awk '{print $1 "x" $2}')" "1:6x0,refused"
$HERD bench -n 3 -c 3 --timeout 300ms --records "$TMP/t.csv" "$URL/silent" >/dev/null
expect_eq "timeouts: 3 lines, error timeout, latency at least 300 ms" \
	"$(tail -n +2 "$TMP/t.csv" | awk -F, '$7 == "timeout" && $4 >= 300' | wc -l)" 3
$HERD bench -d 300ms -c 2 --records "$TMP/a.csv" "$URL/silent" >/dev/null
expect_eq "abandoned: 2 lines, error abandoned" "$(tail -n +2 "$TMP/a.csv" | cut -d, -f7 | sort | uniq -c | awk '{print $1 "x" $2}')" "2xabandoned"

# Many requests over two threads: every buffer written, none lost, and
# whole lines even through a pipe (writes over 4 KiB to a pipe are not
# atomic: two threads writing at once would interleave them).
start_herd_serve --workers 2
$HERD_FAST bench -n 30000 -c 8 -t 2 --records "$TMP/big.csv" --json "$TMP/big.json" "$URL/" >/dev/null; rc=$?
expect_eq "30000 requests: exit 0, 30000 lines" "$rc:$(($(wc -l <"$TMP/big.csv") - 1))" "0:30000"
expect_eq "30000 requests: every line well formed" "$(check_csv "$TMP/big.csv")" 0
mkfifo "$TMP/fifo"
cat "$TMP/fifo" >"$TMP/piped.csv" &
cpid=$!
track_pid $cpid
$HERD_FAST bench -n 30000 -c 8 -t 2 --records "$TMP/fifo" "$URL/" >/dev/null; rc=$?
wait $cpid
expect_eq "through a pipe: exit 0, 30000 whole lines" "$rc:$(($(wc -l <"$TMP/piped.csv") - 1)):$(check_csv "$TMP/piped.csv")" "0:30000:0"

# Bad values and failed writes.
$HERD bench -n 1 --records-format xml --records "$TMP/x" "$URL/" >/dev/null 2>"$TMP/e"; rc=$?
expect_eq "--records-format xml: exit 2" "$rc" 2
expect_match "--records-format xml: named" "$(cat "$TMP/e")" "bad value for --records-format: 'xml'"
$HERD bench -n 1 --records "$TMP/no/such/dir/r.csv" "$URL/" >/dev/null 2>"$TMP/e"; rc=$?
expect_eq "--records in a missing folder: exit 1" "$rc" 1
expect_match "--records in a missing folder: says why" "$(cat "$TMP/e")" "cannot write --records '$TMP/no/such/dir/r.csv': No such file"
if [ -w /dev/full ]; then
	$HERD bench -n 20 --records /dev/full --records-format json "$URL/" >/dev/null 2>"$TMP/e"; rc=$?
	expect_eq "--records on a full disk: exit 1" "$rc" 1
	expect_match "--records on a full disk: says so and counts the loss" "$(cat "$TMP/e")" \
		"cannot write --records '/dev/full': No space left on device: 0 lines written, 20 lost"
fi
done_testing
