# bench_common.sh - shared set-up for the herd bench tests (sourced after lib.sh).
#
# start_server [HOST]: starts tests/cli/bench_server.py on a free port with
# Debian's /usr/bin/python3 (the python3 first on PATH is another
# interpreter), sets PORT and URL, and registers the pid for cleanup.
PY=/usr/bin/python3
start_server() {
	PORT=$(free_port)
	$PY tests/cli/bench_server.py "$PORT" "${1:-127.0.0.1}" 2>"$TMP/server.err" &
	track_pid $!
	if ! wait_port "$PORT" 10; then
		echo "Bail out! test server did not start: $(cat "$TMP/server.err")"
		exit 1
	fi
	URL=http://127.0.0.1:$PORT
}

# stats: what the server counted so far ("conns=N reqs=M").
stats() { $PY -c 'import sys,urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode().strip())' "$URL/stats"; }

# jget FILE EXPR: a value from a JSON file, e.g. jget out.json '["errors"]["refused"]'.
jget() { $PY -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; }

# after "conns=C reqs=R" DCONNS DREQS: the stats line expected after a run
# that opened DCONNS connections for DREQS requests (the earlier /stats
# request itself adds one connection).
after() {
	local c=${1%% *} r=${1##*reqs=}
	c=${c#conns=}
	echo "conns=$((c + 1 + $2)) reqs=$((r + $3))"
}
