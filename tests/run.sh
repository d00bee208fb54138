#!/usr/bin/env bash
# tests/run.sh - runs every unit-test binary given as an argument and every
# tests/cli/*/test_*.sh, each under a time limit, reading the TAP lines they
# print ("ok N - what" / "not ok N - what"). A program that exits non-zero
# without a "not ok" line (a crash, a sanitizer report) counts as one failure.
# Ends with the line "N passed, N failed" and exits 1 when anything failed.
set -u
cd "$(dirname "$0")/.."
export HERD=${HERD:-build/san/herd}
export HERD_FAST=${HERD_FAST:-build/herd}
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
limit=${TEST_TIMEOUT:-240}
only=${TESTS:-}   # TESTS=pattern runs only the matching files

passed=0 failed=0
failures=()
logdir=build/test-logs
mkdir -p "$logdir"

run_one() {
	local name=$1; shift
	[ -n "$only" ] && [[ $name != *$only* ]] && return
	local log=$logdir/$(basename "$name").log
	local start=$SECONDS
	timeout -k 5 "$limit" "$@" >"$log" 2>&1
	local rc=$?
	local ok nok
	ok=$(grep -c '^ok ' "$log")
	nok=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
		nok=1
		echo "not ok - $name exited with status $rc$([ $rc -eq 124 ] && echo ' (time limit)')" >>"$log"
	fi
	passed=$((passed + ok))
	failed=$((failed + nok))
	printf '%-40s %4d passed %3d failed %4ds\n' "$name" "$ok" "$nok" $((SECONDS - start))
	if [ "$nok" -gt 0 ]; then
		failures+=("$name")
		grep -A12 '^not ok' "$log" | sed 's/^/    /' | head -60
	fi
}

for bin in "$@"; do
	run_one "$bin" "$bin"
done
for script in tests/cli/*/test_*.sh; do
	[ -e "$script" ] || continue
	run_one "$script" bash "$script"
done

[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]} (logs in $logdir/)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
