# tests/lib.sh - helpers for the command-line tests (sourced by tests/cli/*.sh).
#
# Tests print TAP lines: "ok N - what" or "not ok N - what" plus diagnostics.
# Every process a test starts is registered with track_pid and killed (then
# reaped) on exit, so a failing test leaves nothing running.
set -u
HERD=${HERD:-build/san/herd}
HERD_FAST=${HERD_FAST:-build/herd}
TMP=$(mktemp -d /tmp/herd-test.XXXXXX)
_n=0
_pids=()

ok() { _n=$((_n + 1)); echo "ok $_n - $1"; }
not_ok() { _n=$((_n + 1)); echo "not ok $_n - $1"; shift; for l in "$@"; do echo "# $l"; done; }

# check DESC CMD...: passes when CMD exits 0.
check() {
	local desc=$1; shift
	if "$@" >"$TMP/check.out" 2>&1; then ok "$desc"; else not_ok "$desc" "command: $*" "$(head -c 2000 "$TMP/check.out")"; fi
}

# expect_eq DESC ACTUAL EXPECTED
expect_eq() {
	if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1" "expected: $3" "actual:   $2"; fi
}

# expect_match DESC TEXT REGEX (extended regex, grep -E)
expect_match() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then ok "$1"; else not_ok "$1" "no match for /$3/ in:" "$(printf '%s' "$2" | head -c 2000)"; fi
}

# expect_files_eq DESC ACTUAL_FILE EXPECTED_FILE: byte-for-byte.
expect_files_eq() {
	if cmp -s "$2" "$3"; then ok "$1"; else not_ok "$1" "$(diff "$3" "$2" | head -40)"; fi
}

track_pid() { _pids+=("$1"); }

# wait_until SECONDS CMD...: runs CMD every 50 ms until it succeeds (0) or
# SECONDS have passed (1).
wait_until() {
	local i n=$(($1 * 20))
	shift
	for i in $(seq "$n"); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

_gone() { ! kill -0 "$1" 2>/dev/null; }
_line_or_gone() { grep -q -- "$2" "$1" 2>/dev/null || _gone "$3"; }
_listening() { ss -Htln "sport = :$1" | grep -q .; }

# wait_gone PID [SECONDS]: waits until PID has exited (default 10 s); 1 if
# it still runs then. A zombie counts as running: reap it with `wait`.
wait_gone() { wait_until "${2:-10}" _gone "$1"; }

# wait_line FILE REGEX PID [SECONDS]: waits until FILE has a line matching
# REGEX (grep), for as long as PID runs and at most SECONDS (default 10).
wait_line() {
	wait_until "${4:-10}" _line_or_gone "$1" "$2" "$3"
	grep -q -- "$2" "$1" 2>/dev/null
}

cleanup() {
	local p
	for p in "${_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${_pids[@]}"; do
		wait_gone "$p" 5
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

# free_port: a TCP port on 127.0.0.1 that nothing listens on now. It is
# drawn below the kernel's ephemeral range (ip_local_port_range starts at
# 32768 by default), so connection-per-request load from the tests' own
# clients cannot already hold it when the server binds.
free_port() {
	local p lo
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
	[ "$lo" -gt 12000 ] || lo=32768
	for _ in $(seq 100); do
		p=$((10000 + RANDOM % (lo - 11000)))
		if ! _listening "$p"; then echo "$p"; return 0; fi
	done
	return 1
}

# wait_port PORT [SECONDS]: waits until something listens on 127.0.0.1:PORT.
wait_port() { wait_until "${2:-10}" _listening "$1"; }

done_testing() { echo "1..$_n"; }

# skip_all REASON: the whole test cannot run here; one skipped check says
# why, and the script ends (exit 0).
skip_all() {
	ok "# SKIP $1"
	done_testing
	exit 0
}
