# test_serve_upgrade.sh - SIGUSR2's binary upgrade does what it says.
#
# (a) The new master runs the file now at the path the binary was started
# from (it used to exec /proc/self/exe: the old, replaced file ran on while
# the log said "binary upgrade"). The file is replaced the way an install
# does (a new inode at the same path) by a build that differs: the test
# starts a copy of the plain build (HERD_FAST) and installs the sanitizer
# build (HERD) over it, so the two have different build ids; the new
# master's running image (/proc/PID/exe) must be byte for byte the new file.
# Started by a bare name through PATH and by a relative path from another
# directory. A second USR2 without replacing the file is flagged.
# (b) A new master that cannot write its pid file fails before its workers
# accept: under an open-loop load (herd bench --rate) no request fails and
# the old master serves on and logs why (the new master used to SIGKILL
# workers that had accepted connections). The pid file is made unwritable
# for root by a directory where its temporary file goes.
# (c) What can still fail once the new workers accept, the pid file's
# rename over the old one (the path is a mount point: EBUSY; set up in the
# server's own mount namespace, after the old master wrote it): the new
# master stops its workers gracefully, so again no request fails.
# (d) A new binary that cannot be executed: the old master logs the exec
# error (it used to log only "exited with status 127") and serves on.
. tests/lib.sh
. tests/cli/serve_common.sh

# build_id FILE: the ELF build id (readelf), empty when there is none.
build_id() { readelf -n "$1" 2>/dev/null | sed -n 's/^ *Build ID: *//p' | head -1; }

# start_bin DIR ARGS...: starts `BIN serve ARGS` with the working directory
# DIR (BIN is the first of ARGS) on a free port; sets SPID, SERR, PORT.
start_bin() {
	local dir=$1 bin=$2
	shift 2
	PORT=$(free_port)
	SERR=$TMP/serve.$PORT.err
	# exec: the subshell becomes the server, so $! is the master.
	(cd "$dir" && exec "$bin" serve --listen "127.0.0.1:$PORT" "$@") 2>"$SERR" &
	SPID=$!
	track_pid "$SPID"
	wait_line "$SERR" "listening on" "$SPID"
}

# stop_master: SIGTERM to SPID, a master that may not be this shell's
# child (an upgrade's new master is the old one's); waits up to 10 s and
# checks that it logged its exit table.
stop_master() {
	kill -TERM "$SPID"
	if wait_gone "$SPID" 10; then ok "$1: stops on SIGTERM"; else not_ok "$1: stops on SIGTERM" "$(tail -5 "$SERR")"; fi
	expect_match "$1: and logs its exit table" "$(tail -3 "$SERR")" "^herd serve: worker [0-9]+ pid [0-9]+ accepted"
}

# upgrade PIDFILE: SIGUSR2 to SPID, waits until the pid file names another
# process and SPID has exited; sets NEW (empty when that did not happen).
upgrade() {
	local old=$SPID i pid
	NEW=
	kill -USR2 "$old"
	for i in $(seq 200); do
		pid=$(cat "$1" 2>/dev/null)
		if [ -n "$pid" ] && [ "$pid" != "$old" ] && ! kill -0 "$old" 2>/dev/null; then
			NEW=$pid
			track_pid "$NEW"
			return 0
		fi
		sleep 0.05
	done
	return 1
}

old_id=$(build_id "$HERD_FAST") new_id=$(build_id "$HERD")
if [ -z "$old_id" ] || [ -z "$new_id" ] || [ "$old_id" = "$new_id" ]; then
	skip_all "the two builds need different ELF build ids (readelf -n): '$old_id' '$new_id'"
fi

# (a) Started as a bare name found through PATH, then as a relative path
# from another directory; each time the file at that path is replaced.
mkdir -p "$TMP/bin" "$TMP/elsewhere"
for how in path relative; do
	cp "$HERD_FAST" "$TMP/bin/herd"
	if [ $how = path ]; then
		PATH=$TMP/bin:$PATH start_bin "$TMP/elsewhere" herd --workers 2 --pid-file "$TMP/a.pid"
	else
		start_bin "$TMP" bin/herd --workers 2 --pid-file "$TMP/a.pid"
	fi
	install -m 755 "$HERD" "$TMP/bin/herd" # a new file at the path, as a package upgrade does
	old=$SPID
	if upgrade "$TMP/a.pid"; then ok "$how: SIGUSR2 hands over to a new master"; else not_ok "$how: SIGUSR2 hands over to a new master" "$(cat "$SERR")"; fi
	exe=$(readlink "/proc/$NEW/exe" 2>&1)
	expect_eq "$how: the new master runs the file at the path, not a deleted one" "$exe" "$TMP/bin/herd"
	if cmp -s "/proc/$NEW/exe" "$TMP/bin/herd"; then ok "$how: the new master's image is the new file"; else not_ok "$how: the new master's image is the new file" "readlink: $exe"; fi
	expect_match "$how: the old master logs what it started" "$(cat "$SERR")" \
		"SIGUSR2: started $TMP/bin/herd as the new master pid $NEW; "
	expect_match "$how: the new master logs its build and path" "$(cat "$SERR")" \
		"took over from the old master pid $old \(binary upgrade\): herd [^ ]+ build $new_id from $TMP/bin/herd \(the old master ran build $old_id\)$"
	expect_match "$how: the new master serves" "$(get / | head -1)" "^HTTP/1.1 200 "
	SPID=$NEW
	if [ $how = path ]; then
		# The same file again: the new master says nothing changed.
		upgrade "$TMP/a.pid"
		expect_match "USR2 without a new file: the new master says it is the same build" "$(cat "$SERR")" \
			"took over from the old master pid $SPID \(binary upgrade\): herd [^ ]+ build $new_id from $TMP/bin/herd, the same build as the old master: the file there was not replaced"
		SPID=$NEW
	fi
	stop_master "$how: the new master"
done

# (b) The new master cannot write its pid file, under load: it must give up
# before its workers accept, so no request fails.
# Each request sleeps 10 ms in its worker (4 workers: 400/s at most), so a
# new worker that accepted holds its connections for a while.
start_serve --workers 4 --pid-file "$TMP/b.pid"
old=$SPID
$HERD_FAST bench --rate 200 -c 256 -k 0 -d 30s --timeout 10s --json "$TMP/b.json" \
	"http://127.0.0.1:$PORT/sleep?ms=10" >/dev/null 2>"$TMP/bench.err" &
bpid=$!
track_pid $bpid
sleep 0.5
mkdir "$TMP/b.pid.tmp" # open(O_WRONLY) of a directory fails, even for root
for i in 1 2 3 4 5; do
	kill -USR2 "$old"
	wait_until 10 bash -c '[ "$(grep -c "before it was ready" "$1")" -ge "$2" ]' _ "$SERR" "$i"
	sleep 0.3
done
kill -INT $bpid # bench reports what it has
wait $bpid
failed=$(sed -n 's/^ *"failed": \([0-9]*\),.*/\1/p' "$TMP/b.json")
done_=$(sed -n 's/^ *"done": \([0-9]*\),.*/\1/p' "$TMP/b.json")
expect_eq "5 failed upgrades under load: $done_ requests done, none failed" "$failed" 0
if [ -n "$done_" ] && [ "$done_" -gt 0 ]; then ok "and the load ran ($done_ requests)"; else not_ok "and the load ran" "$(tail -5 "$TMP/bench.err")"; fi
expect_eq "each of the 5 new masters gave up before it was ready" "$(grep -c "before it was ready (.*); this master keeps serving" "$SERR")" 5
expect_match "the old master logs why" "$(cat "$SERR")" \
	"SIGUSR2: the new master pid [0-9]+ exited with status 1 before it was ready \(cannot write the pid file $TMP/b.pid \(through $TMP/b.pid.tmp\): Is a directory\); this master keeps serving"
if kill -0 "$old" 2>/dev/null; then ok "the old master runs on"; else not_ok "the old master runs on" "$(cat "$SERR")"; fi
expect_eq "the pid file still names it" "$(cat "$TMP/b.pid")" "$old"
expect_match "and it serves" "$(get / | head -1)" "^HTTP/1.1 200 "
stop_serve
rmdir "$TMP/b.pid.tmp"

# (c) The rename fails after the new workers accept.
if unshare -m --propagation private true 2>/dev/null && command -v nsenter >/dev/null; then
	PORT=$(free_port)
	SERR=$TMP/serve.d.err
	unshare -m --propagation private $HERD serve --listen "127.0.0.1:$PORT" --test-routes on --workers 4 --pid-file "$TMP/d.pid" 2>"$SERR" &
	SPID=$!
	track_pid "$SPID"
	wait_line "$SERR" "listening on" "$SPID"
	old=$SPID
	: >"$TMP/d.other"
	check "the pid file is made a mount point in the server's mount namespace" \
		nsenter -t "$old" -m mount --bind "$TMP/d.other" "$TMP/d.pid"
	$HERD_FAST bench --rate 200 -c 256 -k 0 -d 30s --timeout 10s --json "$TMP/d.json" \
		"http://127.0.0.1:$PORT/sleep?ms=10" >/dev/null 2>"$TMP/bench.err" &
	bpid=$!
	track_pid $bpid
	sleep 0.5
	for i in 1 2 3 4 5; do
		kill -USR2 "$old"
		wait_until 10 bash -c '[ "$(grep -c "before it was ready" "$1")" -ge "$2" ]' _ "$SERR" "$i"
		sleep 0.3
	done
	kill -INT $bpid
	wait $bpid
	failed=$(sed -n 's/^ *"failed": \([0-9]*\),.*/\1/p' "$TMP/d.json")
	done_=$(sed -n 's/^ *"done": \([0-9]*\),.*/\1/p' "$TMP/d.json")
	expect_eq "5 upgrades failing after the new workers accept: $done_ requests done, none failed" "$failed" 0
	if [ -n "$done_" ] && [ "$done_" -gt 0 ]; then ok "and the load ran ($done_ requests)"; else not_ok "and the load ran" "$(tail -5 "$TMP/bench.err")"; fi
	expect_eq "each of the 5 new masters gave up and said why" \
		"$(grep -c "before it was ready (cannot write the pid file $TMP/d.pid: Device or resource busy); this master keeps serving" "$SERR")" 5
	if kill -0 "$old" 2>/dev/null; then ok "the old master runs on"; else not_ok "the old master runs on" "$(cat "$SERR")"; fi
	expect_match "and it serves" "$(get / | head -1)" "^HTTP/1.1 200 "
	stop_serve
else
	ok "# SKIP (c): needs unshare -m and nsenter (util-linux) for a pid file that cannot be renamed over"
fi

# (d) The file at the path cannot be executed.
mkdir -p "$TMP/c"
cp "$HERD_FAST" "$TMP/c/herd"
start_bin "$TMP" c/herd --workers 2
chmod 644 "$TMP/c/herd" # no execute bit: even root gets EACCES
kill -USR2 "$SPID"
wait_line "$SERR" "SIGUSR2: cannot" "$SPID" 5
expect_match "an unexecutable new binary: the exec error is logged" "$(cat "$SERR")" \
	"SIGUSR2: cannot execute $TMP/c/herd: Permission denied; this master keeps serving$"
if kill -0 "$SPID" 2>/dev/null; then ok "and the master runs on"; else not_ok "and the master runs on" "$(cat "$SERR")"; fi
expect_match "and serves" "$(get / | head -1)" "^HTTP/1.1 200 "
chmod 755 "$TMP/c/herd"
stop_serve
expect_eq "and stops cleanly" "$SRC" 0
done_testing
