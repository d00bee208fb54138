# test_serve_accesslog.sh - the gauges of a worker slot after its worker is
# killed (issue 19, finding 7).
#
# Killed worker: under reuseport a worker holding connections and running a
# request is SIGKILLed; once the slot's new worker is up (and before it
# accepts anything) the slot's conns and inflight read 0, while its
# accepted counter keeps counting from where it was.
. tests/lib.sh
. tests/cli/serve_common.sh

# --- A killed worker's gauges (reuseport: the slot keeps its listener).

# ask PATH: GET PATH on the keep-alive connection of fd 5, prints the body.
ask() {
	local line len=0 body
	printf 'GET %s HTTP/1.1\r\nHost: t\r\n\r\n' "$1" >&5
	while IFS= read -r -t 10 -u 5 line; do
		line=${line%$'\r'}
		[ -z "$line" ] && break
		case ${line,,} in content-length:*) len=${line#*: } ;; esac
	done
	IFS= read -r -t 10 -N "$len" -u 5 body
	printf '%s' "$body"
}
# The worker pid holding the server side of each of this shell's
# connections to PORT, "FD PID" per line (from ss: the client side gives
# the fd's local port, the server side the process that has it).
conn_owners() {
	local cport fd
	ss -Htnp state established "( dport = :$PORT )" | while read -r _ _ local _ users; do
		case $users in *"pid=$$,"*) ;; *) continue ;; esac
		cport=${local##*:}
		fd=$(printf '%s\n' "$users" | sed -n "s/.*pid=$$,fd=\([0-9]*\).*/\1/p")
		printf '%s %s\n' "$fd" "$(ss -Htnp state established "( sport = :$PORT and dport = :$cport )" |
			sed -n 's/.*pid=\([0-9]*\),.*/\1/p' | head -1)"
	done
}
slot_line() { ask /stats.txt | grep "^worker $1 "; }

start_serve --workers 2 --accept reuseport --header-timeout 60s
exec 5<>"/dev/tcp/127.0.0.1/$PORT"
checker_pid=$(ask /stats.txt >/dev/null; conn_owners | sed -n 's/^5 //p')
# Idle connections until the other worker holds a few (the kernel hashes them).
fds=()
for _ in $(seq 40); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
	fds+=("$fd")
	[ "$(conn_owners | awk -v c="$checker_pid" '$1 != 5 && $2 != "" && $2 != c' | wc -l)" -ge 4 ] && break
done
victim=$(ask /stats.txt | sed -n 's/^worker [0-9]* pid \([0-9]*\) .*/\1/p' | grep -vx "$checker_pid" | head -1)
slot=$(ask /stats.txt | sed -n "s/^worker \([0-9]*\) pid $victim .*/\1/p")
# One of them runs a request when the worker dies.
busy_fd=$(conn_owners | awk -v v="$victim" '$2 == v {print $1; exit}')
printf 'GET /sleep?ms=9000 HTTP/1.1\r\nHost: t\r\n\r\n' >&"$busy_fd"
for _ in $(seq 50); do [[ "$(slot_line "$slot")" =~ " inflight 1 conns "[1-9] ]] && break; sleep 0.1; done
line=$(slot_line "$slot")
expect_match "worker $slot (pid $victim) runs a request and holds connections" "$line" " inflight 1 conns ([4-9]|[1-9][0-9])"
acc_before=$(printf '%s\n' "$line" | sed -n 's/.* accepted \([0-9]*\) .*/\1/p')
kill -KILL "$victim"
for _ in $(seq 100); do
	line=$(slot_line "$slot")
	[[ "$line" =~ " state ready" ]] && ! [[ "$line" =~ " pid $victim " ]] && break
	sleep 0.05
done
expect_match "slot $slot has a new worker" "$line" "^worker $slot pid [0-9]+ .* state ready"
expect_match "its connections and request died with the old one: conns 0, inflight 0" "$line" " inflight 0 conns 0 "
expect_eq "its accepted count goes on" "$(printf '%s\n' "$line" | sed -n 's/.* accepted \([0-9]*\) .*/\1/p')" "$acc_before"
prom=$(ask /metrics)
expect_match "/metrics: herd_connections of slot $slot is 0" "$prom" "^herd_connections\{worker=\"$slot\"\} 0$"
expect_match "/metrics: herd_inflight of slot $slot is 0" "$prom" "^herd_inflight\{worker=\"$slot\"\} 0$"
for fd in "${fds[@]}"; do exec {fd}>&-; done
exec 5>&-
stop_serve
expect_eq "stops with status 0" "$SRC" 0

done_testing
