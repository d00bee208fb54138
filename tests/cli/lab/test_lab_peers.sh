# test_lab_peers.sh - the lab's peers (real servers as rows): --list-peers
# with the versions found, bad --peer/--peer-path/--server-logs arguments, a
# peer that is not installed skipped with a line saying what to install, the
# per-worker connection counts of nginx and Apache (prefork) matching each
# server's own access log (one line per request with the worker's pid) within
# 1%, the accept-queue wait percentiles of their runs, and a peer whose start
# fails (a bad config, its port taken) INVALID with the server's own error
# line in every report while the lab goes on with the other rows.
# nginx-reuseport+balance (nginx with herd balance attached through the
# library) is in the log check too; its program is gone once the lab has
# stopped, and without the capabilities herd balance needs the row is
# unavailable with herd balance's message while the lab goes on. A peer
# that is not installed here is skipped with a message (scripts/setup.sh
# test installs nginx and Apache).
. tests/lib.sh
. tests/cli/watch_common.sh
PY=/usr/bin/python3

# A port below the ephemeral range with no socket on it (as test_lab.sh).
quiet_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 12000))
		if ! ss -Htan "( sport = :$p or dport = :$p )" | grep -q .; then echo "$p"; return 0; fi
	done
	free_port
}
no_listener() { ! ss -Htln "sport = :$1" | grep -q .; }

have_nginx() { [ -x /usr/sbin/nginx ] && [ -e /usr/lib/nginx/modules/ngx_http_lua_module.so ]; }
have_apache() { [ -x /usr/sbin/apache2 ] && [ -e /usr/lib/apache2/modules/mod_lua.so ] && compgen -G "/usr/lib/*/lua/5.3/posix.so" >/dev/null; }
have_haproxy() { [ -x /usr/sbin/haproxy ] && compgen -G "/usr/lib/*/lua/5.3/posix.so" >/dev/null; }

# ------------------------------------------------------------ arguments
out=$($HERD lab --list-peers); rc=$?
expect_eq "--list-peers exits 0" "$rc" 0
for row in nginx-shared nginx-reuseport nginx-reuseport+balance haproxy haproxy-shards apache-prefork apache-event lighttpd; do
	expect_match "--list-peers lists $row" "$out" "^${row//+/\\+} +[a-z]+ +(no|[a-z]+ [0-9])"
done
if have_nginx; then
	expect_match "--list-peers: the nginx version found" "$out" "^nginx-shared +nginx +nginx $(/usr/sbin/nginx -v 2>&1 | sed 's|.*nginx/||')"
else
	ok "# SKIP nginx is not installed (scripts/setup.sh test)"
fi
out=$($HERD lab --list-peers --peer-path haproxy=/nonexistent/haproxy); rc=$?
expect_match "--list-peers: a missing peer says what to install" "$out" "needs haproxy and lua-posix: scripts/setup.sh peer"

$HERD lab --peer nosuch 2>"$TMP/err"; rc=$?
expect_eq "--peer nosuch exits 2" "$rc" 2
expect_match "the bad peer is named, with the known ones" "$(cat "$TMP/err")" "unknown peer 'nosuch' \(programs: nginx haproxy apache lighttpd; rows: .*apache-event"
$HERD lab --peer-path haproxy 2>"$TMP/err"; rc=$?
expect_eq "--peer-path without =PATH exits 2" "$rc" 2
$HERD lab --peer-path squid=/usr/sbin/squid 2>"$TMP/err"; rc=$?
expect_eq "--peer-path of an unknown program exits 2" "$rc" 2
expect_match "it is named" "$(cat "$TMP/err")" "'squid=/usr/sbin/squid' is not PROGRAM=PATH"
port=$(quiet_port)
$HERD lab --models blocking --port "$port" --server-logs "$TMP/no/such/dir" 2>"$TMP/err"; rc=$?
expect_eq "--server-logs into a missing folder exits 1 before running" "$rc" 1
expect_match "the folder is named" "$(cat "$TMP/err")" "--server-logs: '.*no/such/dir'"

# ------------------------------------------- a peer that is not installed
port=$(quiet_port)
$HERD lab --models blocking --peer haproxy --peer-path haproxy=/nonexistent/haproxy --scenarios idle --repeat 1 \
	--workers 2 --idle-requests 10 --port "$port" --json "$TMP/skip.json" >"$TMP/skip.out" 2>"$TMP/skip.err"; rc=$?
expect_eq "a peer that is not installed does not fail the lab" "$rc" 0
expect_match "it is skipped with one line saying what to install" "$(cat "$TMP/skip.err")" \
	"^herd lab: skipping haproxy, haproxy-shards: haproxy and lua-posix not installed \(run scripts/setup.sh peer\)$"
expect_eq "one line for both rows" "$(grep -c skipping "$TMP/skip.err")" 1
check "its rows are not in the report, the others are" $PY -c '
import json, sys
names = [m["name"] for m in json.load(open(sys.argv[1]))["models"]]
assert names == ["blocking"], names' "$TMP/skip.json"
$HERD lab --models haproxy --peer-path haproxy=/nonexistent/haproxy --port "$port" 2>"$TMP/err"; rc=$?
expect_eq "nothing left to run exits 1" "$rc" 1
expect_match "and says so" "$(cat "$TMP/err")" "nothing to run"

# ------------------------------------ per-worker counts vs the servers' logs
rows=()
have_nginx && rows+=(nginx-shared nginx-reuseport)
# herd balance needs root (CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON, ptrace) and BTF.
have_nginx && [ "$(id -u)" = 0 ] && [ -z "$(watch_skip_reason)" ] && rows+=(nginx-reuseport+balance)
have_apache && rows+=(apache-prefork)
# A socket per thread: its connections per thread come from the collector.
have_haproxy && rows+=(haproxy-shards)
if [ ${#rows[@]} -ge 2 ]; then
	port=$(quiet_port)
	mkdir -p "$TMP/logs"
	models=$(IFS=,; echo "${rows[*]}")
	# The noise check off: on a busy machine a noisy repetition is left out
	# of the summaries (and re-run); this is about counts, not noise.
	$HERD lab --models "$models" --scenarios seed,idle --repeat 1 --workers 3 --requests 600 --concurrency 30 \
		--idle-requests 30 --noise-check off --port "$port" --server-logs "$TMP/logs" --json "$TMP/logs.json" \
		>"$TMP/logs.out" 2>"$TMP/logs.err"; rc=$?
	expect_eq "the lab with $models exits 0" "$rc" 0
	[ "$rc" -ne 0 ] && sed 's/^/# /' "$TMP/logs.err" | tail -20
	cat >"$TMP/logs.py" <<'EOF'
# Per worker: the connections the lab reports for a run against the lines of
# the server's own access log ("PID URI", HAProxy's "PID TID URI" per thread)
# for the same run. The lab sends
# 100 warm-up requests, then seed (600), then idle (30), all to /cpu; the log
# is in the order the workers finished them, so the last 30 /cpu lines are
# idle's and the 600 before seed's. nginx's before-read of /stats.txt is a
# connection of the run (at most one more on one worker).
import json, os, sys
rep = json.load(open(sys.argv[1]))
logs, seed_n, idle_n = sys.argv[2], 600, 30
for m in rep["models"]:
    name = m["name"]
    assert m["available"], (name, m["reason"])
    path = "%s/%s-1.access.log" % (logs, name)
    if not os.path.exists(path):
        path = "%s/%s-1.log" % (logs, name) # HAProxy's whole output
    lines = [l.split() for l in open(path)]
    cpu = [int(l[-2]) for l in lines
           if len(l) in (2, 3) and l[-1].startswith("/cpu") and all(x.isdigit() for x in l[:-1])]
    assert len(cpu) == 100 + seed_n + idle_n, (name, len(cpu))
    for sc, part in (("seed", cpu[-seed_n - idle_n:-idle_n]), ("idle", cpu[-idle_n:])):
        r = m["scenarios"][sc]["repetitions"][0]
        assert r["valid"], (name, sc, r["invalid_reason"])
        lab = {w["pid"]: w["connections"] for w in r["workers"]}
        log = {p: part.count(p) for p in set(part)}
        assert set(log) <= set(lab), (name, sc, "log pids not workers", log, lab)
        for pid, c in lab.items():
            want = log.get(pid, 0)
            assert abs(c - want) <= 1 + 0.01 * want, (name, sc, pid, "lab", c, "log", want, lab, log)
        print(name, sc, "lab", sorted(lab.values()), "log", sorted(log.values()))
EOF
	check "per-worker connections match each server's own access log within 1%" $PY "$TMP/logs.py" "$TMP/logs.json" "$TMP/logs"
	sed 's/^/# /' "$TMP/check.out"
	if [ -z "$(watch_skip_reason)" ]; then
		check "accept-queue wait percentiles for every peer run" $PY -c '
import json, sys
for m in json.load(open(sys.argv[1]))["models"]:
    for sc in ("seed", "idle"):
        w = m["scenarios"][sc]["repetitions"][0].get("accept_queue_wait_ms")
        assert w and 0 <= w["p50"] <= w["p99"] <= w["max"], (m["name"], sc, w)
    s = m["scenarios"]["seed"]["summary"]
    assert s["accept_queue_wait_p99_ms"]["n"] == 1, s["accept_queue_wait_p99_ms"]' "$TMP/logs.json"
	else
		ok "# SKIP accept-queue wait: herd watch cannot run here ($(watch_skip_reason))"
	fi
	check "no peer left running" no_listener "$port"
	if [[ " ${rows[*]} " == *" nginx-reuseport+balance "* ]]; then
		id=$(sed -n 's/.*nginx-reuseport+balance: herd balance attached (program id \([0-9]*\)).*/\1/p' "$TMP/logs.err" | head -1)
		expect_match "nginx-reuseport+balance: herd balance was attached (its program id)" "$id" '^[0-9]+$'
		expect_match "nginx-reuseport+balance: detached before nginx stopped, the group as it was" \
			"$(cat "$TMP/logs.err")" "nginx-reuseport\+balance: herd balance detached: the group is as it was"
		if [ -n "$id" ] && ! bpftool prog show id "$id" >/dev/null 2>&1 && ! bpftool prog show | grep -q balance_select; then
			ok "nginx-reuseport+balance: no balance program left once the lab stopped"
		else
			not_ok "nginx-reuseport+balance: no balance program left once the lab stopped" "$(bpftool prog show | grep -A2 balance_select)"
		fi
		# Without the capabilities herd balance needs (root otherwise:
		# nginx starts), the row is unavailable with its message and
		# the lab goes on with the next row.
		if command -v capsh >/dev/null; then
			port=$(quiet_port)
			capsh --drop=cap_bpf,cap_perfmon,cap_sys_admin -- -c "exec $HERD lab --models \
				nginx-reuseport+balance,nginx-reuseport --scenarios idle --repeat 1 --workers 2 \
				--idle-requests 10 --port $port --json $TMP/nocap.json" >"$TMP/nocap.out" 2>"$TMP/nocap.err"
			expect_match "without CAP_BPF/CAP_PERFMON: the balance row is unavailable with herd balance's message" \
				"$(cat "$TMP/nocap.err")" "nginx-reuseport\+balance: unavailable: herd balance needs root, or CAP_BPF.*missing here: CAP_BPF CAP_PERFMON"
			check "... and the lab went on: nginx-reuseport ran" $PY -c '
import json, sys
m = {x["name"]: x for x in json.load(open(sys.argv[1]))["models"]}
assert not m["nginx-reuseport+balance"]["available"], m["nginx-reuseport+balance"]
assert m["nginx-reuseport"]["available"] and m["nginx-reuseport"]["scenarios"]["idle"]["repetitions"][0]["valid"]' "$TMP/nocap.json"
			check "no peer left running" no_listener "$port"
		else
			for i in 1 2 3; do ok "# SKIP capsh is not installed"; done
		fi
	else
		for i in 1 2 3 4 5 6; do ok "# SKIP nginx-reuseport+balance: needs root, BTF and nginx"; done
	fi
else
	ok "# SKIP nginx or Apache with lua-posix missing (scripts/setup.sh test): no log check"
	ok "# SKIP no accept-queue wait check"
	ok "# SKIP no peer ran"
	ok "# SKIP"
	for i in 1 2 3 4 5 6; do ok "# SKIP nginx-reuseport+balance: no log check"; done
fi

# ------------------------------ a peer whose start fails: its own error line
# A fake nginx that fails as nginx does when its port is taken: the row is
# INVALID with that line (text, JSON, HTML, stderr), the lab exits 1, and the
# row after it still runs.
if have_nginx; then
	port=$(quiet_port)
	cat >"$TMP/badnginx.sh" <<EOF
#!/bin/sh
echo "nginx: [emerg] bind() to 127.0.0.1:$port failed (98: Address already in use)" >&2
exit 1
EOF
	chmod +x "$TMP/badnginx.sh"
	$HERD lab --models nginx-shared,blocking --nginx "$TMP/badnginx.sh" --scenarios idle --repeat 1 --workers 2 \
		--idle-requests 10 --port "$port" --json "$TMP/bad.json" --html "$TMP/bad.html" \
		>"$TMP/bad.out" 2>"$TMP/bad.err"; rc=$?
	line="bind\(\) to 127\.0\.0\.1:$port failed \(98: Address already in use\)"
	expect_eq "a peer that did not start makes the lab exit 1" "$rc" 1
	expect_match "stderr: INVALID with nginx's own line" "$(cat "$TMP/bad.err")" \
		"nginx-shared: INVALID: did not start: server exited with status 1: nginx: \[emerg\] $line"
	expect_match "text: its verdict is INVALID with that line" "$(cat "$TMP/bad.out")" \
		"^nginx-shared +INVALID: did not start: .*$line"
	expect_match "text: listed with the INVALID runs" "$(cat "$TMP/bad.out")" "^INVALID nginx-shared: did not start: .*$line"
	expect_match "HTML: INVALID with that line" "$(cat "$TMP/bad.html")" "INVALID</span>: did not start: .*$line"
	check "JSON: the row INVALID with that line, the report invalid, the next row ran" $PY -c '
import json, re, sys
d = json.load(open(sys.argv[1]))
m = {x["name"]: x for x in d["models"]}
n, b = m["nginx-shared"], m["blocking"]
assert n["start_failed"] and not n["available"], n
assert re.search(r"bind\(\) to 127.0.0.1:%s failed \(98: Address already in use\)" % sys.argv[2], n["reason"]), n["reason"]
assert not d["valid"] and d["failed_starts"] == 1, (d["valid"], d["failed_starts"])
assert b["available"] and not b["start_failed"], b
r = b["scenarios"]["idle"]["repetitions"][0]
assert r["valid"] and r["requests"] == 10, r' "$TMP/bad.json" "$port"
else
	for i in 1 2 3 4 5 6; do ok "# SKIP nginx or its Lua module is not installed (scripts/setup.sh test)"; done
fi

# The port is taken between two of the lab's servers (the first row is a fake
# nginx that starts a herd serve on it in a session of its own and exits):
# Apache then cannot bind, says why on stderr, and the lab reports that line
# (INVALID) and goes on with the next row.
if have_apache; then
	port=$(quiet_port)
	cat >"$TMP/squat.sh" <<EOF
#!/bin/sh
setsid sh -c 'echo \$\$ >"$TMP/squat.pid"; exec $HERD_FAST serve --listen 127.0.0.1:$port --workers 1 --accept single' \
	>"$TMP/squat.log" 2>&1 </dev/null &
sleep 1
exit 1
EOF
	chmod +x "$TMP/squat.sh"
	$HERD lab --models nginx-shared,apache-prefork,apache-event --nginx "$TMP/squat.sh" --scenarios idle --repeat 1 \
		--workers 2 --idle-requests 10 --port "$port" >"$TMP/squat.out" 2>"$TMP/squat.err"; rc=$?
	[ -s "$TMP/squat.pid" ] && track_pid "$(cat "$TMP/squat.pid")"
	expect_eq "no row could run: exit 1" "$rc" 1
	err=$(cat "$TMP/squat.err")
	expect_match "apache-prefork: INVALID with Apache's own error line" "$err" \
		"apache-prefork: INVALID: did not start: server exited with status 1: \(98\)Address already in use: AH00072: make_sock: could not bind to address 127.0.0.1:$port"
	expect_match "the lab went on: apache-event tried too" "$err" "apache-event: INVALID: did not start: .*Address already in use"
	expect_match "the report says so" "$(cat "$TMP/squat.out")" "^apache-prefork +INVALID: did not start: .*AH00072"
	[ -s "$TMP/squat.pid" ] && kill "$(cat "$TMP/squat.pid")" 2>/dev/null
else
	for i in 1 2 3 4; do ok "# SKIP Apache with mod_lua and lua-posix missing (scripts/setup.sh test)"; done
fi
done_testing
