# watch_common.sh - helpers for tests/cli/watch/*.sh (sourced after tests/lib.sh
# and tests/cli/serve_common.sh).
#
# watch_skip_reason     prints why herd watch cannot run here (empty if it can)
# start_watch ARGS...   starts `herd watch --plain ARGS` in the background, waits
#                       until it is attached; sets WPID, WOUT (stdout), WERR
# stop_watch            SIGINT (it prints the total), waits; sets WRC
# watch_totals          "pid accepted" of each total-worker line, sorted by pid

watch_skip_reason() {
	[ "$(id -u)" -eq 0 ] || { echo "not root (needs CAP_BPF + CAP_PERFMON)"; return; }
	[ -r /sys/kernel/btf/vmlinux ] || { echo "no /sys/kernel/btf/vmlinux"; return; }
	$HERD watch --help >/dev/null 2>&1 || echo "herd watch missing"
}

start_watch() {
	local i
	WOUT=$TMP/watch.$RANDOM.out
	WERR=$WOUT.err
	$HERD watch --plain "$@" >"$WOUT" 2>"$WERR" &
	WPID=$!
	track_pid "$WPID"
	for i in $(seq 200); do
		grep -q "watching port" "$WERR" && return 0
		kill -0 "$WPID" 2>/dev/null || break
		sleep 0.05
	done
	echo "# herd watch did not start: $(cat "$WERR")"
	return 1
}

stop_watch() {
	local i
	kill -INT "$WPID"
	for i in $(seq 100); do
		kill -0 "$WPID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$WPID"
	WRC=$?
}

watch_totals() {
	sed -n 's/^total-worker .* pid=\([0-9]*\) .* accepted=\([0-9]*\) .*/\1 \2/p' "$WOUT" | sort -n
}
