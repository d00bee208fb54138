# test_balance_nginx.sh - herd balance on a server it knows nothing about:
# nginx with `listen ... reuseport` and 4 workers, whose reuseport sockets
# every nginx process holds (only the epoll instances tell which worker
# accepts from which). A Lua handler (/sleep?ms=N) blocks a whole worker,
# as in the lab. With balance attached: its 4 workers are found, sequential
# connections avoid the blocked worker, and reloads under open-loop load
# that change the worker count (4 -> 2 -> 4: nginx closes two listeners
# with connections in their queues, then opens two new ones) fail no
# request. Detaching leaves no program. Skipped without nginx and its Lua
# module (scripts/setup.sh peer).
. tests/lib.sh
. tests/cli/serve_common.sh

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
MODS=/usr/lib/nginx/modules
[ "$(id -u)" = 0 ] || skip_all "needs root"
[ -r /sys/kernel/btf/vmlinux ] || skip_all "no /sys/kernel/btf/vmlinux"
[ -x "$NGINX" ] && [ -r "$MODS/ngx_http_lua_module.so" ] || skip_all "nginx and its Lua module are not installed (scripts/setup.sh peer)"
command -v curl >/dev/null || skip_all "curl is not installed"

d=$TMP/nginx
mkdir -p "$d"
PORT=$(free_port)
# write_conf WORKERS
write_conf() {
	cat >"$d/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes $1;
user root root;
pid $d/nginx.pid;
error_log $d/error.log warn;
load_module $MODS/ndk_http_module.so;
load_module $MODS/ngx_http_lua_module.so;
events { worker_connections 1024; accept_mutex off; }
http {
  access_log off;
  client_body_temp_path $d/body;
  proxy_temp_path $d/proxy;
  fastcgi_temp_path $d/fastcgi;
  uwsgi_temp_path $d/uwsgi;
  scgi_temp_path $d/scgi;
  init_by_lua_block { require('ffi').cdef('int usleep(unsigned int usec);') }
  server {
    listen 127.0.0.1:$PORT backlog=511 reuseport;
    location / {
      content_by_lua_block {
        local ms = tonumber(ngx.var.arg_ms)
        if ms and ms > 0 then require('ffi').C.usleep(ms * 1000) end
        ngx.print('hello\n')
      }
    }
  }
}
CONF
}
write_conf 4
"$NGINX" -e "$d/error.log" -p "$d" -c "$d/nginx.conf" &
NPID=$!
track_pid "$NPID"
wait_port "$PORT" 10 || skip_all "nginx did not start: $(cat "$d/error.log")"
for _ in $(seq 50); do
	[ "$(pgrep -P "$NPID" | wc -l)" -ge 4 ] && break
	sleep 0.1
done

BOUT=$TMP/balance.out
$HERD balance --port "$PORT" --interval 0.2 >"$BOUT" 2>"$BOUT.err" &
BPID=$!
track_pid "$BPID"
if ! wait_line "$BOUT.err" "attached to" "$BPID" 15; then
	not_ok "balance attaches to nginx" "$(cat "$BOUT.err")"
	done_testing
	exit 0
fi
ok "balance attaches to nginx"
BPROG=$(sed -n 's/.*(program id \([0-9]*\)).*/\1/p' "$BOUT.err")
workers=$(pgrep -P "$NPID" | sort -n | tr '\n' ' ')
found=$(sed -n 's/.*workers by listener:\([0-9 ]*\);.*/\1/p' "$BOUT.err" | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')
expect_eq "balance found nginx's 4 workers, one per listener (all hold all 4 sockets)" "$found" "$workers"

# A worker blocked for 3 s; 30 sequential requests with a 2 s limit each.
curl -s -o /dev/null "http://127.0.0.1:$PORT/sleep?ms=3000" &
sleeper=$!
track_pid "$sleeper"
sleep 0.3
fails=0
for i in $(seq 30); do
	curl -s -o /dev/null -m 2 "http://127.0.0.1:$PORT/" || fails=$((fails + 1))
done
wait "$sleeper"
expect_eq "every request answered while an nginx worker is blocked" "$fails" 0

# Reloads under load: same count, 4 -> 2, 2 -> 4, same count.
json=$TMP/reload.json
$HERD_FAST bench -k 0 --rate 300 -c 512 -d 6s --timeout 10s --json "$json" "http://127.0.0.1:$PORT/sleep?ms=10" \
	>/dev/null 2>"$TMP/bench.err" &
lpid=$!
track_pid "$lpid"
sleep 1
kill -HUP "$NPID"
sleep 1.2
write_conf 2
kill -HUP "$NPID"
sleep 1.2
write_conf 4
kill -HUP "$NPID"
sleep 1.2
kill -HUP "$NPID"
wait "$lpid"
failed=$(sed -n 's/^ *"failed": \([0-9]*\),.*/\1/p' "$json")
done=$(sed -n 's/^ *"done": \([0-9]*\),.*/\1/p' "$json")
expect_eq "4 reloads (4 -> 2 -> 4 workers) under open-loop load: no request failed ($done done)" "$failed" 0
if kill -0 "$BPID" 2>/dev/null; then ok "balance follows the reloads"; else not_ok "balance follows the reloads" "$(cat "$BOUT.err")"; fi
echo "# $(tail -1 "$BOUT")"

kill -TERM "$BPID"
wait "$BPID"
expect_eq "SIGTERM: exit 0" "$?" 0
st=$($HERD balance --status --port "$PORT" 2>&1 | sed -n 's/^port .* program: //p' | head -1)
expect_eq "after SIGTERM: nginx's group has no program" "$st" "none"
if command -v bpftool >/dev/null && bpftool prog show id "$BPROG" >/dev/null 2>&1; then
	not_ok "after SIGTERM: bpftool has no program $BPROG"
else
	ok "after SIGTERM: bpftool has no program $BPROG"
fi
kill -QUIT "$NPID"
wait "$NPID"
done_testing
