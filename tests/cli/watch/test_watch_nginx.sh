# test_watch_nginx.sh - herd watch on a server it knows nothing about: nginx
# with two workers, shared listener and reuseport. The truth is nginx's own
# access log, which records the worker's $pid for every request; each
# connection carries one request, so requests per pid = accepts per pid.
. tests/lib.sh
. tests/cli/serve_common.sh
. tests/cli/watch_common.sh

reason=$(watch_skip_reason)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -n "$reason" ] || [ -x "$NGINX" ] || reason="nginx not installed (scripts/setup.sh peer)"
if [ -n "$reason" ]; then
	ok "# SKIP $reason"
	done_testing
	exit 0
fi

# start_nginx EXTRA_LISTEN_FLAGS: nginx in the foreground on PORT; sets NPID.
start_nginx() {
	local d=$TMP/nginx.$1 i
	mkdir -p "$d"
	PORT=$(free_port)
	cat >"$d/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 2;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 256; accept_mutex off; }
http {
  log_format bypid '\$pid';
  access_log $d/access.log bypid;
  client_body_temp_path $d/body;
  proxy_temp_path $d/proxy;
  fastcgi_temp_path $d/fastcgi;
  uwsgi_temp_path $d/uwsgi;
  scgi_temp_path $d/scgi;
  server {
    listen 127.0.0.1:$PORT $2;
    location / { return 200 "hello\n"; }
  }
}
CONF
	"$NGINX" -e "$d/error.log" -p "$d" -c "$d/nginx.conf" &
	NPID=$!
	track_pid "$NPID"
	NLOG=$d/access.log
	wait_port "$PORT" 10 || { echo "# nginx did not start: $(cat "$d/error.log")"; return 1; }
	# Both workers up (each holds the listener).
	for i in $(seq 50); do
		[ "$(pgrep -P "$NPID" | wc -l)" -ge 2 ] && return 0
		sleep 0.1
	done
}

for variant in shared reuseport; do
	flags=""
	[ "$variant" = reuseport ] && flags=reuseport
	start_nginx "$variant" "$flags"
	start_watch --port "$PORT" --interval 200ms
	conns 60 / >/dev/null
	stop_watch
	kill -QUIT "$NPID" # graceful: the access log is flushed
	wait "$NPID"
	truth=$(sort "$NLOG" | uniq -c | awk '{ print $2, $1 }' | sort -n)
	expect_eq "nginx $variant: accepted per worker pid equals nginx's access log" "$(watch_totals | awk '$2 > 0')" "$truth"
	expect_match "nginx $variant: all 60 counted" "$(grep '^total ' "$WOUT")" " accepted=60 "
	expect_eq "nginx $variant: two worker rows (the master is not one)" "$(watch_totals | wc -l)" 2
done
done_testing
