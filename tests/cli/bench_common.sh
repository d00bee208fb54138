# bench_common.sh - shared set-up for the herd bench tests (sourced after lib.sh).
#
# start_server [HOST]: starts tests/cli/bench_server.py on a free port with
# Debian's /usr/bin/python3 (the python3 first on PATH is another
# interpreter), sets PORT and URL, and registers the pid for cleanup.
PY=/usr/bin/python3
start_server() {
	local pid
	# A free port can still be taken between the check and the bind (other
	# tests' client connections use the same range): try a few.
	for _ in 1 2 3 4 5; do
		PORT=$(free_port)
		$PY tests/cli/bench_server.py "$PORT" "${1:-127.0.0.1}" 2>"$TMP/server.err" &
		pid=$!
		track_pid $pid
		local waited=0
		while kill -0 $pid 2>/dev/null && [ $waited -lt 200 ]; do
			waited=$((waited + 1))
			if ss -Htln "sport = :$PORT" | grep -q .; then
				URL=http://127.0.0.1:$PORT
				return 0
			fi
			sleep 0.05
		done
	done
	echo "Bail out! test server did not start: $(cat "$TMP/server.err")"
	exit 1
}

# start_herd_serve ARGS...: starts `herd serve` (the optimised build) on a
# free 127.0.0.1 port with ARGS, tries a few ports as start_server does;
# sets PORT and URL, logs to $TMP/serve.log.
start_herd_serve() {
	local pid
	for _ in 1 2 3 4 5; do
		PORT=$(free_port)
		${HERD_FAST:-build/herd} serve --listen 127.0.0.1:$PORT --test-routes on "$@" >"$TMP/serve.log" 2>&1 &
		pid=$!
		track_pid $pid
		wait_port "$PORT" 10 && kill -0 $pid 2>/dev/null && break
	done
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

# start_tls_server: a self-signed certificate for localhost and 127.0.0.1
# ($TMP/cert.pem, $TMP/key.pem) and bench_server.py serving TLS with it;
# sets TPORT and TURL (https://127.0.0.1:TPORT).
start_tls_server() {
	local pid
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 2 \
		-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1 ||
		{ echo "Bail out! openssl cannot make a certificate"; exit 1; }
	for _ in 1 2 3 4 5; do
		TPORT=$(free_port)
		$PY tests/cli/bench_server.py "$TPORT" 127.0.0.1 "$TMP/cert.pem" "$TMP/key.pem" 2>"$TMP/tserver.err" &
		pid=$!
		track_pid $pid
		if wait_port "$TPORT" 10 && kill -0 $pid 2>/dev/null; then
			TURL=https://127.0.0.1:$TPORT
			return 0
		fi
	done
	echo "Bail out! TLS test server did not start: $(cat "$TMP/tserver.err")"
	exit 1
}
