# test_serve_models.sh - the seed article's demo as tests: 3 workers,
# connections made one after another, counts read from the exit table.
# blocking: FIFO round robin (2/2/2); epoll: one worker takes (nearly) all;
# reuseport: every worker over 200 connections from varying source ports;
# fifo and reorder: the epoll result inverted, every worker takes a share.
. tests/lib.sh
. tests/cli/serve_common.sh

# run_model MODEL N [PAUSE]: N sequential connections; sets COUNTS ("a b c").
# The pause lets the worker that closed a connection get back into accept()
# or epoll_wait() before the next one arrives (the seed's demo ran one `nc`
# process per connection, which left it that time); without it a slow
# (sanitized, loaded) worker can miss its turn.
run_model() {
	COUNTS=""
	start_serve --workers 3 --accept "$1" || return 1
	[ "$1" = blocking ] && wait_blocked_in_accept 3
	conns "$2" / "${3:-0}" || return 1
	stop_serve
	COUNTS=$(exit_counts | tr '\n' ' ')
	COUNTS=${COUNTS% }
}
# wait_blocked_in_accept N: "listening" is printed when the workers are
# started, not when each has reached accept(); the round robin is only
# 2/2/2 when all N are in the listener's wait queue before the first
# connection. The kernel names where each sleeps (/proc/PID/wchan).
wait_blocked_in_accept() { wait_workers_in accept "$1" 100; }
# max and min of the counts
max_of() { printf '%s\n' $1 | sort -n | tail -1; }
min_of() { printf '%s\n' $1 | sort -n | head -1; }
# expect_spread DESC MIN [MAX]: all 3 workers are in COUNTS and each took
# at least MIN connections (and at most MAX).
expect_spread() {
	local m x
	m=$(min_of "$COUNTS")
	x=$(max_of "$COUNTS")
	if [ "$(printf '%s\n' $COUNTS | wc -l)" -eq 3 ] && [ "${m:-0}" -ge "$2" ] && [ "${x:-0}" -le "${3:-$x}" ]; then
		ok "$1 ($COUNTS)"
	else
		not_ok "$1" "counts: $COUNTS"
	fi
}

run_model blocking 6 0.05
expect_eq "blocking: 6 sequential connections go 2/2/2" "$COUNTS" "2 2 2"

run_model epoll 6 0.05
expect_eq "epoll: the exit table has 3 workers" "$(printf '%s\n' $COUNTS | wc -l)" 3
m=$(max_of "$COUNTS")
if [ "${m:-0}" -ge 5 ]; then ok "epoll: one worker takes (nearly) all 6 ($COUNTS)"; else not_ok "epoll: one worker takes (nearly) all 6" "counts: $COUNTS"; fi

run_model reuseport 200
expect_spread "reuseport: every worker takes a share of 200" 20

run_model fifo 9 0.05
expect_spread "fifo: 9 sequential connections spread over all workers" 2 4

# reorder moves a worker to the back after every 16 accepts.
run_model reorder 48
expect_spread "reorder: 48 sequential connections spread over all workers" 8

# cpu: the kernel picks the socket of the CPU that took the SYN; only check
# that every worker has its own listener and that it serves.
start_serve --workers 3 --accept cpu
out=$(stats_txt)
expect_eq "cpu: one listener per worker" "$(printf '%s\n' "$out" | grep -c '^listen queue')" 3
conns 10 /
stop_serve
total=$(exit_counts | awk '{s += $1} END {print s + 0}')
expect_eq "cpu: serves every connection" "$total" 11

run_model single 4
expect_eq "single: one worker whatever --workers says" "$COUNTS" "4"
expect_match "single: says it ignores --workers" "$(cat "$SERR")" "runs one worker; ignoring --workers 3"

# fifo's cost: epoll_ctl calls on the listener, two per busy period.
start_serve --workers 2 --accept fifo
conns 20 /
out=$(stats_txt)
ctl=$(printf '%s\n' "$out" | sed -n 's/.* epoll_ctl \([0-9]*\) .*/\1/p' | awk '{s += $1} END {print s + 0}')
stop_serve
if [ "$ctl" -ge 40 ] && [ "$ctl" -le 48 ]; then
	ok "fifo: about 2 epoll_ctl calls per connection ($ctl for 21)"
else
	not_ok "fifo: about 2 epoll_ctl calls per connection" "epoll_ctl total $ctl for 21 connections"
fi
done_testing
