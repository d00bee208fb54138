# test_serve_testroutes.sh - --test-routes: /cpu and /sleep (which let any
# client burn a worker's CPU or hold it for up to --max-work) answer 404
# unless --test-routes on; the default is off. / and the stats routes are
# not affected. herd lab starts herd serve with --test-routes on
# (src/lab/server.c).
. tests/lib.sh
. tests/cli/serve_common.sh

# bail WHY: a failure that ends the test.
bail() { not_ok "$1"; done_testing; exit 1; }

# start_plain ARGS...: herd serve with exactly ARGS (start_serve adds
# --test-routes on); sets PORT, SPID, SERR.
start_plain() {
	PORT=$(free_port)
	SERR=$TMP/plain.$PORT.err
	$HERD serve --listen "127.0.0.1:$PORT" --workers 1 "$@" 2>"$SERR" &
	SPID=$!
	track_pid "$SPID"
	wait_line "$SERR" "listening on" "$SPID"
}
status() { get "$1" | head -1 | tr -d '\r'; }

start_plain || bail "herd serve did not start: $(cat "$SERR")"
expect_eq "default: /cpu is 404" "$(status '/cpu?us=1')" "HTTP/1.1 404 Not Found"
expect_eq "default: /sleep is 404" "$(status '/sleep?ms=1')" "HTTP/1.1 404 Not Found"
expect_eq "default: / still 200" "$(status /)" "HTTP/1.1 200 OK"
expect_eq "default: /metrics still 200" "$(status /metrics)" "HTTP/1.1 200 OK"
stop_serve

start_plain --test-routes on || bail "herd serve --test-routes on did not start: $(cat "$SERR")"
expect_match "--test-routes on: /cpu burns" "$(get '/cpu?us=1')" '^burnt 1 us'
expect_match "--test-routes on: /sleep sleeps" "$(get '/sleep?ms=1')" '^slept 1 ms'
stop_serve

start_plain --test-routes off || bail "herd serve --test-routes off did not start: $(cat "$SERR")"
expect_eq "--test-routes off: /cpu is 404" "$(status '/cpu?us=1')" "HTTP/1.1 404 Not Found"
stop_serve

for bad in yes ON 1 ''; do
	$HERD serve --test-routes "$bad" >/dev/null 2>"$TMP/e"
	rc=$?
	expect_eq "--test-routes '$bad': exit 2" "$rc" 2
	expect_match "and the message names it" "$(cat "$TMP/e")" "bad value for --test-routes: '$bad' \(on or off\)"
done
expect_match "herd lab starts herd serve with --test-routes on" "$(grep -A2 'const char \*argv\[\] = {cfg->exe' src/lab/server.c)" \
	'"--test-routes", "on"'
done_testing
