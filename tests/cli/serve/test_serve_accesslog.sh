# test_serve_accesslog.sh - herd serve's access log on a full disk, and the
# gauges of a worker slot after its worker is killed (issue 19, findings 6
# and 7).
#
# Killed worker: under reuseport a worker holding connections and running a
# request is SIGKILLed; once the slot's new worker is up (and before it
# accepts anything) the slot's conns and inflight read 0, while its
# accepted counter keeps counting from where it was.
#
# Full disk (root: it mounts a tmpfs): a 64 KiB tmpfs holds a few hundred
# of the 3000 lines herd bench makes. The lines that do not fit are counted
# (/metrics, /stats.txt, /stats, the exit table) and said on stderr; every
# line in the file is whole (the one a short write cut is finished once
# there is room, never glued to the next); after a remount with room the new
# lines are whole too, and the lines in the file plus the dropped ones are
# exactly the requests answered. Then a restart on a file an earlier run
# left ending inside a line: the new lines are not glued to it.
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


# --- The access log on a full disk.

[ "$(id -u)" = 0 ] || skip_all "needs root to mount a tmpfs"
MNT=$TMP/mnt
mkdir -p "$MNT"
mount -t tmpfs -o size=64k tmpfs "$MNT" 2>"$TMP/mount.err" || skip_all "cannot mount a tmpfs: $(cat "$TMP/mount.err")"
# The server holds the file: a lazy unmount does not wait for it.
trap 'umount -l "$MNT" 2>/dev/null; cleanup' EXIT
LOG=$MNT/access.log

# 127.0.0.1 - - [06/Dec/2026:20:44:02 +0000] "GET / HTTP/1.1" 200 135 "-" "herd-bench/0.1.0" 0.000
LINE_RE='^127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} \+0000\] "GET /[a-z.]* HTTP/1\.1" 200 [0-9]+ "-" "[^"]*" [0-9]+\.[0-9]{3}$'

# The lines of the log that do not match LINE_RE (a cut or glued line),
# the last one left out when it has no newline yet (cut, owed).
bad_lines() {
	local whole=$LOG
	if [ -s "$LOG" ] && [ "$(tail -c 1 "$LOG" | od -An -c | tr -d ' ')" != '\n' ]; then
		head -n -1 "$LOG" >"$TMP/whole.log"
		whole=$TMP/whole.log
	fi
	grep -cvE "$LINE_RE" "$whole"
}
ends_whole() { [ "$(tail -c 1 "$LOG" | od -An -c | tr -d ' ')" = '\n' ]; }
metric_sum() { get /metrics | sed -n "s/^$1{[^}]*} \([0-9]*\).*/\1/p" | awk '{s += $1} END {print s + 0}'; }
said_drop() { grep -Eq "worker [0-9]+: access log: [0-9]+ lines dropped \(write: No space left on device\)" "$SERR"; }

start_serve --workers 2 --access-log "$LOG"
$HERD_FAST bench -n 3000 -c 4 -k 100 "http://127.0.0.1:$PORT/" >"$TMP/bench1.out" 2>&1
expect_eq "3000 requests answered on a full disk" "$?" 0
if wait_until 10 said_drop; then ok "the master says lines are dropped, and why"; else not_ok "the master says lines are dropped, and why" "$(cat "$SERR")"; fi
dropped=$(metric_sum herd_access_log_dropped_lines_total)
if [ "$dropped" -gt 0 ]; then ok "/metrics counts the dropped lines ($dropped)"; else not_ok "/metrics counts the dropped lines" "$(get /metrics | grep access_log)"; fi
txt=$(stats_txt | sed -n 's/^worker .* log_dropped \([0-9]*\) .*/\1/p' | awk '{s += $1} END {print s + 0}')
if [ "$txt" -gt 0 ]; then ok "/stats.txt counts them too ($txt)"; else not_ok "/stats.txt counts them too" "$(stats_txt)"; fi
expect_match "/stats has log_dropped" "$(get /stats)" '"log_dropped":[1-9]'
expect_eq "full disk: no line in the file is cut or glued" "$(bad_lines)" 0
before=$(grep -c . "$LOG")
said=$(grep -c "access log: .* lines dropped" "$SERR")
if [ "$said" -le 4 ]; then ok "said at most once per worker so far ($said lines)"; else not_ok "said at most once per worker so far" "$(cat "$SERR")"; fi

# Room again: the cut line is finished first, the new lines are whole.
mount -o remount,size=1m "$MNT"
$HERD_FAST bench -n 200 -c 2 -k 100 "http://127.0.0.1:$PORT/" >"$TMP/bench2.out" 2>&1
expect_eq "200 more requests answered" "$?" 0
if wait_until 10 ends_whole; then ok "room again: the cut line is finished"; else not_ok "room again: the cut line is finished" "$(tail -c 300 "$LOG")"; fi
stop_serve
expect_eq "stops with status 0" "$SRC" 0
expect_eq "room again: every line in the file is whole" "$(grep -cvE "$LINE_RE" "$LOG")" 0
expect_eq "and the file ends at a line end" "$(ends_whole && echo yes)" yes
after=$(grep -c . "$LOG")
if [ $((after - before)) -ge 200 ]; then ok "the lines after the remount are written ($((after - before)))"; else not_ok "the lines after the remount are written" "before $before after $after"; fi
reqs=$(sed -n 's/^herd serve: worker [0-9]* pid [0-9]* accepted [0-9]* requests \([0-9]*\) .*/\1/p' "$SERR" | awk '{s += $1} END {print s + 0}')
lost=$(sed -n 's/^herd serve: worker [0-9]* pid [0-9]* .* log_dropped \([0-9]*\)$/\1/p' "$SERR" | awk '{s += $1} END {print s + 0}')
if [ "$lost" -gt 0 ]; then ok "the exit table has the dropped lines ($lost)"; else not_ok "the exit table has the dropped lines" "$(cat "$SERR")"; fi
expect_eq "lines in the file + dropped = requests answered ($reqs)" "$((after + lost))" "$reqs"

# A restart after that: the file an earlier run left ends inside a line.
# The first line written ends it, so the new lines are not glued to it.
OLD=$TMP/old.log
printf '127.0.0.1 - - [06/Dec/2026:20:44:02 +0000] "GET / HTTP/1.1" 200 135 "-" "herd-bench/0.1.0" 0.000\n127.0.0.1 - - [06/Dec/20' >"$OLD"
start_serve --workers 2 --access-log "$OLD"
$HERD_FAST bench -n 20 -k 5 "http://127.0.0.1:$PORT/" >"$TMP/bench3.out" 2>&1
stop_serve
expect_eq "restart on a file left cut: all 21 whole lines are there" "$(grep -cE "$LINE_RE" "$OLD")" 21
expect_eq "and the cut line is the only other one" "$(grep -cvE "$LINE_RE" "$OLD")" 1

done_testing
