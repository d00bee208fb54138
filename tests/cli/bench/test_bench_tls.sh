# test_bench_tls.sh - herd bench over TLS against a local server with a
# self-signed certificate (bench_server.py with Python's ssl module):
# verification on by default, --cacert, --insecure, SNI / host-name check,
# keep-alive and connection-per-request, session resumption, the handshake
# row, and the bad cases (bad certificate, wrong name, TLS to a plaintext
# port), each a clear error kind and never a crash.
. tests/lib.sh
. tests/cli/bench_common.sh
start_server
start_tls_server
J="$TMP/t.json"

# Connection per request over TLS (the article's load shape on a real site).
$HERD bench -n 20 -c 4 -k 0 --cacert "$TMP/cert.pem" --json "$J" "$TURL/" >/dev/null; rc=$?
expect_eq "https -k 0 with --cacert: exit 0, 20 done" "$rc:$(jget "$J" '["done"]')" "0:20"
expect_eq "https -k 0: a connection and a handshake per request" \
	"$(jget "$J" '["connections_opened"]'):$(jget "$J" '["tls_handshake"]["count"]')" "20:20"
expect_eq "the handshake row has values" "$(jget "$J" '["tls_handshake"]["p50"] > 0')" True
out=$($HERD bench -n 4 --cacert "$TMP/cert.pem" "$TURL/")
expect_match "the summary has a tls row" "$out" "^  tls +[0-9]"

# Keep-alive over TLS: by default each connection for the whole run.
$HERD bench -n 20 -c 2 --cacert "$TMP/cert.pem" --json "$J" "$TURL/" >/dev/null; rc=$?
expect_eq "https, default keep-alive: 20 done on 2 connections, 2 handshakes" \
	"$rc:$(jget "$J" '["done"]'):$(jget "$J" '["connections_opened"]'):$(jget "$J" '["tls_handshake"]["count"]')" "0:20:2:2"
$HERD bench -n 20 -c 1 -k 10 --cacert "$TMP/cert.pem" --json "$J" "$TURL/chunked" >/dev/null; rc=$?
expect_eq "https -c 1 -k 10: 20 done on 2 connections" "$rc:$(jget "$J" '["done"]'):$(jget "$J" '["connections_opened"]')" "0:20:2"
$HERD bench -n 6 -c 2 -k 10 --cacert "$TMP/cert.pem" --json "$J" "$TURL/close" >/dev/null; rc=$?
expect_eq "https close-delimited bodies: 6 done, none failed" "$rc:$(jget "$J" '["done"]'):$(jget "$J" '["failed"]')" "0:6:0"

# Verification is on by default: a self-signed certificate fails, by kind.
out=$($HERD bench -n 5 -c 2 --json "$J" "$TURL/" 2>&1); rc=$?
expect_eq "unverifiable certificate: exit 1, 5 tls errors" "$rc:$(jget "$J" '["errors"]["tls"]')" "1:5"
expect_match "the summary says why" "$out" "tls +e\.g\. .*self.signed"
$HERD bench -n 5 --insecure --json "$J" "$TURL/" >/dev/null; rc=$?
expect_eq "--insecure: exit 0, 5 done" "$rc:$(jget "$J" '["done"]')" "0:5"
# The name checked (and sent as SNI) is the URL's host, also with -r.
out=$($HERD bench -n 3 --cacert "$TMP/cert.pem" -r 127.0.0.1:$TPORT --json "$J" https://wrong.example/ 2>&1); rc=$?
expect_eq "a certificate for another name: exit 1, tls errors" "$rc:$(jget "$J" '["errors"]["tls"]')" "1:3"
expect_match "the wrong name is the reason" "$out" "e\.g\. .*(hostname|mismatch)"
$HERD bench -n 3 --cacert "$TMP/cert.pem" -r 127.0.0.1:$TPORT --json "$J" https://localhost/ >/dev/null; rc=$?
expect_eq "-r with the certificate's name: exit 0" "$rc:$(jget "$J" '["done"]')" "0:3"

# TLS to a plaintext port: a clear tls error, not a hang or a crash.
out=$($HERD bench -n 4 -c 2 --insecure --timeout 5s --json "$J" "https://127.0.0.1:$PORT/" 2>&1); rc=$?
expect_eq "TLS to a plaintext port: exit 1, 4 tls errors" "$rc:$(jget "$J" '["errors"]["tls"]')" "1:4"
expect_match "TLS to a plaintext port says so" "$out" "e\.g\. .*(wrong version|packet length|record)"
# Plaintext to the TLS port: the server drops it; a failure, not a crash.
$HERD bench -n 2 --timeout 2s --json "$J" "http://127.0.0.1:$TPORT/" >/dev/null 2>&1; rc=$?
expect_eq "plaintext to a TLS port: exit 1, nothing done" "$rc:$(jget "$J" '["done"]')" "1:0"

# Session resumption on reconnect, only when asked.
$HERD bench -n 10 -k 0 --cacert "$TMP/cert.pem" --tls-resume --json "$J" "$TURL/" >/dev/null
r=$(jget "$J" '["tls_resumed"]')
expect_eq "--tls-resume: later handshakes resume (got $r of 10)" "$((r >= 8))" 1
$HERD bench -n 10 -k 0 --cacert "$TMP/cert.pem" --json "$J" "$TURL/" >/dev/null
expect_eq "without --tls-resume nothing resumes (of 10 handshakes)" \
	"$(jget "$J" '["tls_resumed"]'):$(jget "$J" '["tls_handshake"]["count"]')" 0:10

# A redirect from http:// to https:// (the usual one on a real site), with
# the certificate checked against --cacert.
$HERD bench -n 3 -k 0 --follow 2 --cacert "$TMP/cert.pem" --json "$J" "$URL/redirto?u=$TURL/" >/dev/null; rc=$?
expect_eq "http -> https redirect followed: 3 x 200 over TLS" \
	"$rc:$(jget "$J" '["status"]'):$(jget "$J" '["tls_handshake"]["count"]')" "0:{'200': 3}:3"

# benchhttp mode: TLS without verification, as the original.
BH=$(dirname "$HERD")/benchhttp
$BH -n 6 -c 2 "$TURL/" >"$TMP/o" 2>/dev/null; rc=$?
expect_eq "benchhttp https: 6 lines of 200, exit 0" "$rc:$(grep -cE '^[0-9]+\.[0-9]{9} 200$' "$TMP/o")" "0:6"

# --cacert names the file and what is wrong with it (issue 20), as curl
# does, instead of "cannot start: Invalid argument".
out=$($HERD bench -n 1 --cacert "$TMP/missing.pem" "$TURL/" 2>&1); rc=$?
expect_eq "--cacert missing file: exit 2" "$rc" 2
expect_match "--cacert missing file: names it and why" "$out" "--cacert: '$TMP/missing.pem': No such file or directory"
echo "not a certificate" >"$TMP/text.pem"
out=$($HERD bench -n 1 --cacert "$TMP/text.pem" "$TURL/" 2>&1); rc=$?
expect_eq "--cacert non-PEM file: exit 2" "$rc" 2
expect_match "--cacert non-PEM file: names it and why" "$out" "--cacert: '$TMP/text.pem': no PEM certificate"
done_testing
