# test_bench_h2.sh - herd bench over HTTP/2 against nginx (`listen ...
# http2`): h2 over TLS chosen by ALPN (a self-signed certificate made here)
# and h2c with prior knowledge. The truth is nginx's own access log, one
# line per request it processed with its protocol and port: every request
# herd counts as done is one nginx answered, none twice, also when nginx
# ends connections with GOAWAY (keepalive_requests) and herd sends the
# streams it did not process again. Also: M streams share one connection,
# request bodies larger than nginx's window, large responses, HEAD, the open
# loop's accounting, and ports that do not speak HTTP/2 (an error naming
# the reason, never a hang).
. tests/lib.sh
. tests/cli/bench_common.sh

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || skip_all "nginx not installed (scripts/setup.sh peer)"
"$NGINX" -V 2>&1 | grep -q -- --with-http_v2_module || skip_all "this nginx has no HTTP/2 module"

d=$TMP/nginx
mkdir -p "$d/www"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/key.pem" -out "$d/cert.pem" -days 2 \
	-subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" >/dev/null 2>&1 ||
	skip_all "openssl cannot make a certificate"
head -c 300000 /dev/zero | tr '\0' x >"$d/www/big"
head -c 200000 /dev/zero | tr '\0' y >"$TMP/body"

# Five ports: h2 over TLS, h2c, TLS without HTTP/2, plain HTTP/1.1, and h2c
# with nginx's keep-alive cap at 50 requests (a GOAWAY every 50).
start_nginx() {
	local i
	for i in 1 2 3 4 5; do
		P_TLS=$(free_port) P_H2C=$(free_port) P_TLS1=$(free_port) P_H1=$(free_port) P_CAP=$(free_port)
		cat >"$d/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 512; }
http {
  log_format h2 '\$server_port \$server_protocol \$request_method \$status \$request_length';
  access_log $d/access.log h2;
  client_body_temp_path $d/body;
  proxy_temp_path $d/proxy;
  fastcgi_temp_path $d/fastcgi;
  uwsgi_temp_path $d/uwsgi;
  scgi_temp_path $d/scgi;
  keepalive_requests 100000;
  ssl_certificate $d/cert.pem;
  ssl_certificate_key $d/key.pem;
  root $d/www;
  server {
    listen 127.0.0.1:$P_TLS ssl http2;
    listen 127.0.0.1:$P_H2C http2;
    listen 127.0.0.1:$P_TLS1 ssl;
    listen 127.0.0.1:$P_H1;
    listen unix:$d/h2.sock http2;
    location = / { return 200 "hello\n"; }
    location = /post { client_max_body_size 1m; proxy_pass http://127.0.0.1:$P_H1/sink; }
    location = /sink { return 200 "got it\n"; }
    location = /big { }
  }
  server {
    listen 127.0.0.1:$P_CAP http2;
    keepalive_requests 50;
    location = / { return 200 "hello\n"; }
  }
}
CONF
		"$NGINX" -e "$d/error.log" -p "$d" -c "$d/nginx.conf" 2>>"$d/start.err" &
		NPID=$!
		track_pid $NPID
		if wait_port "$P_CAP" 10 && kill -0 $NPID 2>/dev/null; then
			return 0
		fi
		kill $NPID 2>/dev/null
		wait $NPID 2>/dev/null
	done
	echo "Bail out! nginx did not start: $(cat "$d/error.log" "$d/start.err")"
	exit 1
}
start_nginx
J=$TMP/h2.json
j() { jget "$J" "$1"; }
# logged PORT [METHOD]: requests nginx logged on PORT over HTTP/2.
logged() { awk -v p="$1" -v m="${2:-GET}" '$1 == p && $2 == "HTTP/2.0" && $3 == m' "$d/access.log" | wc -l; }
accounted() {
	$PY -c 'import json,sys; d=json.load(open(sys.argv[1]))
print(d["due"] == d["sent"] + d["never_sent"] and d["sent"] == d["done"] + d["failed"] + d["abandoned"])' "$J"
}
H2C=http://127.0.0.1:$P_H2C
H2=https://127.0.0.1:$P_TLS

# h2c: 4 connections, 10 streams each, one connection per slot all run long
# (-t 1: one thread starts them all, none can find the work done already).
$HERD bench --h2c -n 400 -t 1 -c 4 -m 10 -k 1000000 --json "$J" "$H2C/" >"$TMP/out"; rc=$?
expect_eq "h2c: exit 0, 400 x 200 on 4 connections" "$rc:$(j '["status"]'):$(j '["connections_opened"]')" \
	"0:{'200': 400}:4"
expect_eq "h2c: nginx logged 400 HTTP/2 requests" "$(logged "$P_H2C")" 400
expect_eq "h2c: the config says HTTP/2 with 10 streams" "$(j '["config"]["http2"]'):$(j '["config"]["streams"]')" "True:10"
expect_match "h2c: the summary has the http/2 line" "$(cat "$TMP/out")" "^  http/2 +10 streams per connection; 0 GOAWAY"

# h2 over TLS, chosen by ALPN, the certificate checked.
$HERD bench --h2 --cacert "$d/cert.pem" -n 200 -t 1 -c 2 -m 5 -k 1000000 --json "$J" "$H2/" >/dev/null; rc=$?
expect_eq "h2: exit 0, 200 done, 2 connections, 2 handshakes" \
	"$rc:$(j '["done"]'):$(j '["connections_opened"]'):$(j '["tls_handshake"]["count"]')" "0:200:2:2"
expect_eq "h2: nginx logged 200 HTTP/2 requests on its TLS port" "$(logged "$P_TLS")" 200
# -k K renews each connection after K requests, as with HTTP/1.1.
$HERD bench --h2 --insecure -n 100 -c 1 -m 4 -k 10 --json "$J" "$H2/" >/dev/null; rc=$?
expect_eq "h2 -k 10: 100 done on 10 connections" "$rc:$(j '["done"]'):$(j '["connections_opened"]')" "0:100:10"

# h2c over a Unix socket (-r and --unix carry HTTP/2 as they carry HTTP/1.1).
$HERD bench --h2c --unix "$d/h2.sock" -n 50 -t 1 -c 2 -m 5 -k 1000 --json "$J" http://localhost/ >/dev/null; rc=$?
expect_eq "h2c --unix: exit 0, 50 done on 2 connections" "$rc:$(j '["done"]'):$(j '["connections_opened"]')" "0:50:2"

# nginx ends each connection after 50 requests with GOAWAY; the streams
# it did not process are sent again; nginx processed each request once.
before=$(logged "$P_CAP")
$HERD bench --h2c -n 1000 -c 2 -m 10 -k 1000000 --json "$J" "http://127.0.0.1:$P_CAP/" >/dev/null; rc=$?
expect_eq "GOAWAY every 50: exit 0, 1000 done, none failed" "$rc:$(j '["done"]'):$(j '["failed"]')" "0:1000:0"
expect_eq "GOAWAY every 50: nginx processed exactly 1000" "$(($(logged "$P_CAP") - before))" 1000
g=$(j '["goaway_received"]') c=$(j '["connections_opened"]')
expect_eq "GOAWAY every 50: at least 19 received, a connection for each (got $g, $c)" \
	"$((g >= 19)):$((c == g + 1 || c == g + 2 || c == g))" "1:1"
expect_eq "GOAWAY every 50: every request accounted" "$(accounted)" True

# Bodies larger than nginx's window (64 KiB): sent as nginx grants credit.
$HERD bench --h2c -n 10 -c 2 -m 3 -k 1000 -m POST --body "$TMP/body" --json "$J" "$H2C/post" >/dev/null; rc=$?
expect_eq "POST 200 KB: exit 0, 10 x 200" "$rc:$(j '["status"]')" "0:{'200': 10}"
expect_eq "POST 200 KB: nginx read each whole body" \
	"$(awk -v p="$P_H2C" '$1 == p && $3 == "POST" && $5 >= 200000' "$d/access.log" | wc -l)" 10
# Responses larger than the default 64 KiB window: herd's windows are open.
$HERD bench --h2c -n 20 -c 2 -m 4 -k 1000 --json "$J" "$H2C/big" >/dev/null; rc=$?
expect_eq "300 KB responses: exit 0, 20 done, all bytes read" \
	"$rc:$(j '["done"]'):$(($(j '["bytes_read"]') >= 20 * 300000))" "0:20:1"
$HERD bench --h2c -n 8 -c 1 -m 4 -k 1000 -m HEAD --json "$J" "$H2C/big" >/dev/null; rc=$?
expect_eq "HEAD: exit 0, 8 done, no body read" "$rc:$(j '["done"]'):$(($(j '["bytes_read"]') < 8 * 1000))" "0:8:1"

# Open loop: 400 due in 1 s over 2 connections of 5 streams, each counted.
$HERD bench --h2c --rate 400 -d 1s -c 2 -m 5 -k 1000000 --json "$J" "$H2C/" >/dev/null; rc=$?
expect_eq "--rate 400 -d 1s: exit 0, 400 due, 400 done" "$rc:$(j '["due"]'):$(j '["done"]'):$(accounted)" "0:400:400:True"

# Ports that do not speak HTTP/2: a clear h2_protocol error per request.
# nginx refuses the handshake itself when no offered protocol fits (a TLS
# alert: a tls error); a server that ignores ALPN is h2_protocol
# (test_bench_h2_faults.sh).
out=$($HERD bench --h2 --insecure -n 6 -c 2 -m 3 -k 100 --json "$J" "https://127.0.0.1:$P_TLS1/" 2>&1); rc=$?
expect_eq "--h2 to TLS without HTTP/2: exit 1, 6 tls" "$rc:$(j '["errors"]["tls"]')" "1:6"
expect_match "--h2 to TLS without HTTP/2: no protocol is the reason" "$out" "tls +e\.g\. .*no application protocol"
out=$($HERD bench --h2c -n 6 -c 2 -m 3 -k 100 --timeout 5s --json "$J" "http://127.0.0.1:$P_H1/" 2>&1); rc=$?
expect_eq "--h2c to HTTP/1.1: exit 1, 6 h2_protocol" "$rc:$(j '["errors"]["h2_protocol"]')" "1:6"
expect_match "--h2c to HTTP/1.1: says it is no HTTP/2 server" "$out" "h2_protocol +e\.g\. .*no HTTP/2 SETTINGS"
done_testing
