# test_serve_lifelog.sh - the master's stderr line for each lifecycle event
# (docs/serve.md, "Lifecycle log"): start, ready, a worker started, a
# reload begun and finished, SIGTTIN, SIGTTOU, a worker killed from outside
# and respawned, one killed by --worker-timeout, stop begun and finished.
# Each line names the worker's slot and pid; the pids are checked against
# the processes the master really has.
. tests/lib.sh
. tests/cli/serve_common.sh

# bail WHY: a failure that ends the test.
bail() { not_ok "$1"; done_testing; exit 1; }

# lines REGEX: the stderr lines (without the prefix) matching REGEX.
lines() { sed -n 's/^herd serve: //p' "$SERR" | grep -E -- "$1"; }
# wait_for REGEX: until a stderr line matches it (10 s at most).
wait_for() { wait_until 10 _line_or_gone "$SERR" "$1" "$SPID"; }

start_serve --workers 2 --worker-timeout 300ms || bail "herd serve did not start"
expect_match "start: the first line names the version and the master's pid" "$(head -1 "$SERR")" \
	"^herd serve: starting: herd [^ ]+, master pid $SPID$"
kids=$(pgrep -P "$SPID" | sort -n | tr '\n' ' ')
said=$(lines '^worker [0-9]+ pid [0-9]+ started$' | sed 's/.* pid \([0-9]*\) .*/\1/' | sort -n | tr '\n' ' ')
expect_eq "worker started: one line per worker, with the pids the master forked" "$said" "$kids"
expect_eq "and the slots 0 and 1" "$(lines ' started$' | cut -d' ' -f2 | tr '\n' ' ')" "0 1 "
expect_match "ready: the listening line follows the workers' lines" "$(sed -n 4p "$SERR")" \
	"^herd serve: listening on 127\.0\.0\.1:$PORT "

kill -HUP "$SPID"
wait_for "reload finished"
wait_until 10 _line_or_gone "$SERR" "worker 1 pid [0-9]* retired (reload)" "$SPID"
expect_match "HUP: reload begun" "$(lines 'reload begun')" '^SIGHUP: reload begun: 2 new workers start beside the old ones$'
expect_eq "HUP: the new workers started in slots 2 and 3" \
	"$(lines 'started \(SIGHUP\)$' | cut -d' ' -f2 | tr '\n' ' ')" "2 3 "
expect_match "HUP: reload finished" "$(lines 'reload finished')" \
	'^SIGHUP: reload finished: the new workers accept; 2 old ones leave$'
old0=$(lines '^worker 0 pid [0-9]+ started$' | cut -d' ' -f4)
expect_match "HUP: the old workers retired, with pid and exit status" "$(lines 'retired \(reload\)')" \
	"^worker 0 pid $old0 retired \(reload\): exited with status 0$"
expect_eq "HUP: both old workers" "$(lines 'retired \(reload\)' | wc -l)" 2

kill -TTIN "$SPID"
wait_for "started (SIGTTIN)"
new=$(lines 'started \(SIGTTIN\)$' | cut -d' ' -f4)
expect_match "TTIN: worker started in the lowest free slot" "$(lines 'started \(SIGTTIN\)$')" \
	"^worker 0 pid [0-9]+ started \(SIGTTIN\)$"
expect_eq "TTIN: its pid is the master's child" "$(ps -o ppid= -p "$new" | tr -d ' ')" "$SPID"

kill -TTOU "$SPID"
wait_for "retired (SIGTTOU)"
w3=$(lines '^worker 3 pid [0-9]+ started' | cut -d' ' -f4)
expect_match "TTOU: the highest slot retires" "$(lines 'retired \(SIGTTOU\)')" \
	"^worker 3 pid $w3 retired \(SIGTTOU\): exited with status 0$"

w2=$(lines '^worker 2 pid [0-9]+ started' | cut -d' ' -f4)
kill -KILL "$w2"
wait_for "worker 2 pid [0-9]* respawned"
expect_match "SIGKILL of a worker: exited, with the signal, respawning" "$(lines "pid $w2 killed")" \
	"^worker 2 pid $w2 killed by signal 9 \(Killed\); respawning"
expect_match "and respawned in its slot with a new pid" "$(lines 'respawned$')" '^worker 2 pid [0-9]+ respawned$'

# /sleep on a fresh connection: the fifo model gives it to an idle worker.
timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$0; printf "GET /sleep?ms=3000 HTTP/1.1\r\nHost: t\r\n\r\n" >&3; cat <&3' \
	"$PORT" >/dev/null 2>&1 &
track_pid $!
wait_for "killing it"
wait_until 10 _line_or_gone "$SERR" "respawned" "$SPID"
victim=$(lines 'killing it' | cut -d' ' -f4)
expect_match "--worker-timeout: the kill is logged" "$(lines 'killing it')" \
	"^worker [0-9]+ pid $victim has run one request for 0\.[3-9] s \(--worker-timeout 0\.3 s\): killing it$"
expect_match "and its death" "$(lines "pid $victim killed by signal")" "^worker [0-9]+ pid $victim killed by signal 9"
_respawns() { [ "$(lines 'respawned$' | wc -l)" -ge 2 ]; }
wait_until 10 _respawns
expect_eq "and its respawn" "$(lines 'respawned$' | wc -l)" 2

running=$(pgrep -P "$SPID" | wc -l)
stop_serve
expect_eq "TERM: clean stop" "$SRC" 0
expect_match "TERM: stop begun, with the signal" "$(lines 'stop begun')" \
	"^stop begun \(SIGTERM\): $running workers finish what they have and leave$"
expect_eq "TERM: each worker's retired line" "$(lines 'retired \(stop\): exited with status 0$' | wc -l)" "$running"
expect_match "TERM: stop finished is the last line" "$(tail -1 "$SERR")" \
	"^herd serve: stop finished: master pid $SPID exits$"
done_testing
