# serve_common.sh - helpers for the test_serve*.sh files (sourced after tests/lib.sh).
#
# start_serve ARGS...   starts `herd serve` on a free 127.0.0.1 port, waits
#                       for its "listening on" line; sets PORT, SPID, SERR
# raw DATA              sends DATA (printf %b escapes) on a new connection to
#                       PORT and prints everything until the server closes
# conns N PATH [PAUSE]  makes N connections one after another (one bash
#                       process, so each has a new source port), one request
#                       each, sleeping PAUSE seconds between them (default 0)
# stop_serve            SIGTERM, waits up to 10 s; sets SRC (exit status)
# exit_counts           "accepted" of each worker line of the exit table
# stats_txt             GET /stats.txt
# io_args ARGS...       sets IO_ARGS: ARGS for `herd serve` under HERD_IO,
#                       with --test-routes on
#
# HERD_IO=uring runs the same tests against the io_uring worker loop
# (--io uring, docs/uring.md). Models that need a worker asleep in
# epoll_wait() or accept() have no --io uring form: their shared-queue twin
# uring-fifo runs in their place (the tests that call them pick them for
# a shared queue, not for their wake-up order).

io_args() {
	# The test routes (/cpu, /sleep) are off by default; the tests use them.
	IO_ARGS=(--test-routes on "$@")
	[ "${HERD_IO:-epoll}" = uring ] || return 0
	local i
	for ((i = 0; i + 1 < ${#IO_ARGS[@]}; i++)); do
		[ "${IO_ARGS[i]}" = --accept ] || continue
		case ${IO_ARGS[i + 1]} in
		epoll | reorder | fifo | blocking | steer) IO_ARGS[i + 1]=uring-fifo ;;
		esac
	done
	IO_ARGS+=(--io uring)
}

start_serve() {
	local i try
	io_args "$@"
	# Other test runs pick ports too: a port taken between free_port and
	# bind gets a second and third try.
	for try in 1 2 3; do
		PORT=$(free_port) || return 1
		SERR=$TMP/serve.$PORT.err
		$HERD serve --listen "127.0.0.1:$PORT" "${IO_ARGS[@]}" 2>"$SERR" &
		SPID=$!
		track_pid "$SPID"
		for i in $(seq 200); do
			grep -q "listening on" "$SERR" && return 0
			kill -0 "$SPID" 2>/dev/null || break
			sleep 0.05
		done
		grep -q "Address already in use" "$SERR" || break
	done
	echo "# server did not start: $(cat "$SERR")"
	return 1
}

raw() {
	timeout 10 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$0 || exit 1; printf "%b" "$1" >&3; cat <&3' "$PORT" "$1"
}

get() { raw "GET $1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"; }

stats_txt() { get /stats.txt | sed -n '/^worker /,$p'; }

conns() {
	timeout 60 bash -c '
		for ((i = 0; i < $1; i++)); do
			exec 3<>/dev/tcp/127.0.0.1/$0 || exit 1
			printf "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" "$2" >&3
			while read -r -u 3 line; do :; done
			exec 3<&-
			[ "$3" = 0 ] || sleep "$3"
		done' "$PORT" "$1" "$2" "${3:-0}"
}

stop_serve() {
	kill -TERM "$SPID"
	local i
	for i in $(seq 100); do
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$SPID"
	SRC=$?
}

# Accepted counts from the exit table, one per line, in slot order.
exit_counts() { sed -n 's/^herd serve: worker [0-9]* pid [0-9]* accepted \([0-9]*\) .*/\1/p' "$SERR"; }

# wait_workers_in WCHAN N TRIES: until N of the server's workers sleep in a
# kernel function matching WCHAN (/proc/PID/wchan), TRIES x 50 ms at most;
# otherwise says how many did.
wait_workers_in() {
	local i p n
	for i in $(seq "$3"); do
		n=0
		for p in $(pgrep -P "$SPID"); do
			grep -q "$1" "/proc/$p/wchan" 2>/dev/null && n=$((n + 1))
		done
		[ "$n" -ge "$2" ] && return 0
		sleep 0.05
	done
	echo "# only $n of $2 workers in $1"
}

# wait_sleepers N: until N of the server's workers sleep in /sleep, at most 3 s.
wait_sleepers() { wait_workers_in nanosleep "$1" 60; }

# stall_three ORDER [MID_MS LONG_MS]: the eviction sequence (test_steer.sh,
# test_balance.sh) on a server of 3 workers: two requests block their
# workers in /sleep?ms=MID_MS (default 1000), then one in LONG_MS (default
# 1500), each step waiting until its request sleeps in its worker (on a
# busy machine a slow start would change which worker is least stalled);
# the last one is thus the least stalled when 9 plain requests follow at
# once, and they queue on its listener. ORDER gets a line per answer as it
# comes: "mid" (a MID_MS sleep ended), "long" (the LONG_MS one), "short
# CODE" (each of the 9). Returns when all 12 are done.
stall_three() {
	local order=$1 mid=${2:-1000} long=${3:-1500} i p clients=()
	: >"$order"
	for i in 1 2; do
		(get "/sleep?ms=$mid" >/dev/null; echo mid >>"$order") &
		clients+=($!)
		wait_sleepers "$i"
		sleep 0.2
	done
	sleep 0.2
	(get "/sleep?ms=$long" >/dev/null; echo long >>"$order") &
	clients+=($!)
	wait_sleepers 3
	for i in $(seq 9); do
		(echo "short $(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$PORT/")" >>"$order") &
		clients+=($!)
	done
	for p in "${clients[@]}"; do track_pid "$p"; done
	wait "${clients[@]}"
}

# stall_summary ORDER: "lines/shorts after the long one/shorts answered 200".
stall_summary() {
	echo "$(grep -c . "$1")/$(sed -n '/^long$/,$p' "$1" | grep -c '^short')/$(grep -c '^short 200$' "$1")"
}

# shorts_before_second_mid ORDER: how many of the 9 were answered before
# the second MID_MS sleep ended (as soon as the first worker was free).
shorts_before_second_mid() {
	awk '/^mid$/ { if (++m == 2) exit } /^short/ { n++ } END { print n + 0 }' "$1"
}

# wait_master_wakes: returns just after the master (SPID) has woken and
# gone back to sleep, which its voluntary context switches show; at most
# 3 s. A test can then act at a known point of the master's sleep.
wait_master_wakes() {
	local i v0 v
	v0=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$SPID/status")
	for i in $(seq 300); do
		sleep 0.01
		v=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$SPID/status")
		[ "$v" != "$v0" ] && return 0
	done
	echo "# the master did not wake in 3 s"
}
