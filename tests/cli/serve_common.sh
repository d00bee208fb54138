# serve_common.sh - helpers for the test_serve*.sh files (sourced after tests/lib.sh).
#
# start_serve ARGS...   starts `herd serve` on a free 127.0.0.1 port, waits
#                       for its "listening on" line; sets PORT, SPID, SERR
# raw DATA              sends DATA (printf %b escapes) on a new connection to
#                       PORT and prints everything until the server closes
# conns N PATH          makes N connections one after another (one bash
#                       process, so each has a new source port), one request each
# stop_serve            SIGTERM, waits up to 10 s; sets SRC (exit status)
# exit_counts           "accepted" of each worker line of the exit table
# stats_txt             GET /stats.txt

start_serve() {
	local i try
	# Other test runs pick ports too: a port taken between free_port and
	# bind gets a second and third try.
	for try in 1 2 3; do
		PORT=$(free_port) || return 1
		SERR=$TMP/serve.$PORT.err
		$HERD serve --listen "127.0.0.1:$PORT" "$@" 2>"$SERR" &
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
		done' "$PORT" "$1" "$2"
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
