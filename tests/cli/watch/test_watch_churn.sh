# test_watch_churn.sh - herd watch's memory stays bounded under thread
# churn, and the counts stay exact. A server that accepts each connection in
# a new thread (accept_threads.py: 4500 of them, one after the other) used to
# grow herd watch by ~7.5 KiB per exited thread, with no limit (34.9 MB
# peak after 4000); exited threads are now folded into their process's sum
# (--threads: the first 256 keep a row, the rest one "exited" row).
# The peak RSS is measured on the optimised build ($HERD_FAST): ASan's
# quarantine keeps every freed block, so its RSS says nothing about leaks.
# The last run uses the sanitized build for the fold's code paths.
. tests/lib.sh
. tests/cli/watch_common.sh

watch_require

N=4500
# Growth allowed from attach to the end, in kB. Measured on the 2-vCPU VM:
# the old code grew 30 MB for 4000 threads; now +0.1 MB per process row,
# +2.6 MB with --threads (256 kept rows, in up to 3 snapshots and a report).
BOUND_KB=8192

# churn NAME BIN ARGS...: N one-accept threads while BIN watches them at a
# 100 ms interval. Sets GROW_KB (peak RSS since attached minus RSS at
# attach) and leaves the output in WOUT; false if something did not start.
churn() {
	local name=$1 bin=$2 p rss0 hwm
	shift 2
	p=$(free_port)
	mkfifo "$TMP/go.$name"
	/usr/bin/python3 tests/cli/watch/accept_threads.py "$p" "$N" <"$TMP/go.$name" >"$TMP/thr.$name" 2>&1 &
	track_pid "$!"
	exec 7>"$TMP/go.$name"
	if ! wait_port "$p" 10 || ! HERD=$bin start_watch --port "$p" --interval 100ms "$@"; then
		exec 7>&-
		not_ok "$name: listener and herd watch started" "$(cat "$TMP/thr.$name")"
		return 1
	fi
	# Peak RSS from here on: writing 5 to clear_refs resets VmHWM.
	echo 5 >"/proc/$WPID/clear_refs"
	rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/$WPID/status")
	echo go >&7
	for _ in $(seq 600); do grep -q done "$TMP/thr.$name" && break; sleep 0.1; done
	hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$WPID/status")
	stop_watch
	exec 7>&-
	GROW_KB=$((hwm - rss0))
	echo "# $name: RSS at attach ${rss0} kB, peak growth ${GROW_KB} kB"
	expect_match "$name: all $N accepted" "$(cat "$TMP/thr.$name")" "done"
	expect_eq "$name: herd watch exits 0" "$WRC" 0
}

# Per-row accepts, the total's and the lost ones of WOUT.
row_sum() { awk '/^total-worker/ { for (i = 1; i <= NF; i++) if ($i ~ /^accepted=/) s += substr($i, 10) } END { print s + 0 }' "$WOUT"; }
total_of() { sed -n "s/^total .* $1=\([0-9]*\).*/\1/p" "$WOUT"; }

if churn proc "$HERD_FAST" --json "$TMP/proc.json"; then
	check "per process: peak RSS growth ${GROW_KB} kB < $BOUND_KB kB" test "$GROW_KB" -lt "$BOUND_KB"
	acc=$(total_of accepted)
	lost=$(total_of lost)
	expect_eq "per process: accepted + lost = $N" "$((acc + lost))" "$N"
	# One process accepted everything: one row, holding every counted accept.
	expect_eq "per process: one worker row" "$(grep -c '^total-worker' "$WOUT")" 1
	expect_eq "per process: its row has every counted accept" "$(row_sum)" "$acc"
	check "per process: the JSON total adds up too" /usr/bin/python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["total"]
assert t["accepted"] + t["lost"] == int(sys.argv[2]) and sum(w["accepted"] for w in t["workers"]) == t["accepted"], t' \
		"$TMP/proc.json" "$N"
fi

# --threads: at most 256 exited threads keep a row; the others are summed
# into their process's "exited" row, which says how many it holds.
for run in fast san; do
	bin=$HERD_FAST
	[ $run = san ] && bin=$HERD
	churn "threads-$run" "$bin" --threads || continue
	[ $run = fast ] && check "--threads: peak RSS growth ${GROW_KB} kB < $BOUND_KB kB" test "$GROW_KB" -lt "$BOUND_KB"
	acc=$(total_of accepted)
	lost=$(total_of lost)
	expect_eq "--threads ($run): accepted + lost = $N" "$((acc + lost))" "$N"
	expect_eq "--threads ($run): the rows add up to the total" "$(row_sum)" "$acc"
	rows=$(grep -c '^total-worker .* tid=[0-9]' "$WOUT")
	check "--threads ($run): thread rows bounded ($rows <= 256 exited + 2 live)" test "$rows" -le 258
	exited=$(sed -n 's/^total-worker .* tid=exited threads=\([0-9]*\) .*/\1/p' "$WOUT")
	expect_match "--threads ($run): one row of exited threads" "$exited" "^[0-9]+$"
	# Each thread accepted once; those the kernel table had room for
	# (all but the lost ones) are each in a row or in the sum.
	expect_eq "--threads ($run): thread rows + exited threads = $N - lost" "$((rows + exited))" "$((N - lost))"
done
done_testing
