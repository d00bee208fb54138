# test_serve_edge.sh - edge cases of herd serve found in review: silent
# connections must not stall the fifo model, no unasked-for 408 after an
# answer (trailing CRLF, an unread body), HTTP/1.0 keep-alive is announced,
# and SIGTTOU on a slot waiting for its respawn leaves no ghost slot.
. tests/lib.sh
. tests/cli/serve_common.sh

# Two workers, two connections that never send a byte: with the fifo model
# a third client must still be served, well before the 5 s header timeout.
start_serve --workers 2 --accept fifo --header-timeout 5s
exec 5<>/dev/tcp/127.0.0.1/"$PORT" 6<>/dev/tcp/127.0.0.1/"$PORT"
sleep 0.3
out=$(timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$0; printf "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" >&3; cat <&3' "$PORT")
expect_match "fifo: silent connections do not keep the workers from new ones" "$out" "hello, world"
exec 5<&- 6<&-
stop_serve

start_serve --workers 1 --header-timeout 1s
# A CRLF after a request is an empty line, not the start of a request that
# never completes: no 408 follows the 200.
out=$(timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$0; printf "GET / HTTP/1.1\r\nHost: t\r\n\r\n\r\n" >&3; cat <&3' "$PORT")
expect_eq "trailing CRLF: one answer, no 408" "$(printf '%s\n' "$out" | grep -c '^HTTP/1.1 ')" 1
expect_match "trailing CRLF: the answer is the 200" "$out" "^HTTP/1.1 200 OK"
# The same CRLF in a segment of its own, after the answer was sent: the
# idle connection stays idle (it used to count as a request under way and
# got a 408 at the header timeout).
out=$(timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$0; printf "GET / HTTP/1.1\r\nHost: t\r\n\r\n" >&3; sleep 0.3; printf "\r\n" >&3; cat <&3' "$PORT")
expect_eq "late trailing CRLF: one answer, no 408" "$(printf '%s\n' "$out" | grep -c '^HTTP/1.1 ')" 1

# A request answered before its body arrived: when the body never comes the
# connection is closed at the timeout, without a second (408) answer.
out=$(timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$0; printf "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n" >&3; cat <&3' "$PORT")
expect_eq "unread body: one answer, no 408" "$(printf '%s\n' "$out" | grep -c '^HTTP/1.1 ')" 1
expect_match "unread body: the answer is the 405" "$out" "^HTTP/1.1 405"

# HTTP/1.0 keep-alive must be announced, or the client waits for a close.
out=$(timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$0; printf "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" >&3; cat <&3' "$PORT")
expect_match "HTTP/1.0 keep-alive answer says Connection: keep-alive" "$out" $'Connection: keep-alive\r'
out=$(get /)
if printf '%s\n' "$out" | grep -qi "keep-alive"; then not_ok "HTTP/1.1 answers carry no keep-alive header" "$out"; else ok "HTTP/1.1 answers carry no keep-alive header"; fi
stop_serve

# SIGTTOU while a killed worker's slot waits for its respawn: the slot is
# freed, not left as a worker with no process.
start_serve --workers 2
w1=$(stats_txt | awk '$1 == "worker" && $2 == 1 {print $4}')
kill -KILL "$w1"
sleep 0.05
kill -TTOU "$SPID"
n=0
for _ in $(seq 40); do
	s=$(stats_txt)
	n=$(printf '%s\n' "$s" | grep -c '^worker ')
	[ "$n" -eq 1 ] && break
	sleep 0.1
done
expect_eq "SIGTTOU on a slot awaiting respawn: one worker left" "$n" 1
if printf '%s\n' "$s" | grep -q '^worker [0-9]* pid 0 '; then not_ok "no slot without a process" "$s"; else ok "no slot without a process"; fi
stop_serve
# Two SIGHUPs in quick succession: one reload happens, and the server ends
# with the configured number of workers, not both sets.
start_serve --workers 2 --max-workers 2
kill -HUP "$SPID"
sleep 0.003
kill -HUP "$SPID"
n=0
for _ in $(seq 50); do
	n=$(stats_txt | grep -c '^worker ')
	[ "$n" -eq 2 ] && break
	sleep 0.1
done
expect_eq "two quick SIGHUPs: two workers in the end" "$n" 2
stop_serve
done_testing
