# test_watch_groups.sh - fairness and the busiest share per listening group
# (the sockets of one address and port: a shared listener or a reuseport
# group), never across unrelated servers. Three servers: A on 127.0.0.1:P
# (two workers), B on 127.0.0.2:P (same port, another address: another
# server, one worker, idle) and C on 127.0.0.1:Q (one worker), watched
# together (--port P --port Q). The old code put all four workers in one
# Jain index, so B's idle worker made A look unbalanced.
. tests/lib.sh
. tests/cli/serve_common.sh
. tests/cli/watch_common.sh

watch_require

# serve_at ADDR:PORT WORKERS: another herd serve; sets its pid in SP.
serve_at() {
	local err=$TMP/serve.${1//[:.]/_}.err
	$HERD serve --listen "$1" --workers "$2" --accept blocking 2>"$err" &
	SP=$!
	track_pid "$SP"
	wait_line "$err" "listening on" "$SP" || echo "# server $1 did not start: $(cat "$err")"
}
# field KEY LINE: KEY's value in a key=value line.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

start_serve --workers 2 --accept blocking
P=$PORT A=$SPID
serve_at "127.0.0.2:$P" 1
B=$SP
start_serve --workers 1 --accept blocking
Q=$PORT C=$SPID
start_watch --port "$P" --port "$Q" --interval 200ms --json "$TMP/w.json"
PORT=$P conns 40 / >/dev/null
PORT=$Q conns 10 / >/dev/null
stop_watch

total=$(grep '^total ' "$WOUT")
ga=$(grep "^total-group .* port=$P .* addr=127.0.0.1 " "$WOUT")
gb=$(grep "^total-group .* port=$P .* addr=127.0.0.2 " "$WOUT")
gc=$(grep "^total-group .* port=$Q " "$WOUT")
expect_eq "three groups" "$(field groups "$total") $(grep -c '^total-group' "$WOUT")" "3 3"
expect_eq "A: its two workers, its 40 accepts" "$(field workers "$ga") $(field accepted "$ga")" "2 40"
expect_eq "B, idle: one worker, fairness and busiest share n/a" \
	"$(field workers "$gb") $(field accepted "$gb") $(field fairness "$gb") $(field busiest_share "$gb")" "1 0 n/a n/a"
expect_eq "C: one worker took all 10" "$(field workers "$gc") $(field fairness "$gc") $(field busiest_share "$gc")" \
	"1 1.0000 1.0000"
# A's fairness is Jain's index over A's two workers alone.
apids=$(pgrep -P "$A" | paste -sd'|')
jain=$(grep '^total-worker' "$WOUT" | grep -E " pid=($apids) " | awk '
	{ for (i = 1; i <= NF; i++) if ($i ~ /^accepted=/) { x = substr($i, 10); s += x; s2 += x * x; n++ } }
	END { printf "%.4f\n", s * s / (n * s2) }')
expect_eq "A: fairness over A's workers only" "$(field fairness "$ga")" "$jain"
# The header: the least even group (A: C's single worker is even), and
# the busiest share of any (C's worker, all of C's).
expect_eq "header: the least even group's fairness, A's alone" "$(field fairness "$total")" "$jain"
expect_eq "header: the busiest share in any group" "$(field busiest_share "$total")" "1.0000"
check "the JSON has the same groups" /usr/bin/python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["total"]
g = {(x["addr"], x["port"]): x for x in t["groups"]}
p, q = int(sys.argv[2]), int(sys.argv[3])
assert g[("127.0.0.2", p)]["fairness"] is None and g[("127.0.0.2", p)]["busiest_pid"] is None, g
assert g[("127.0.0.1", q)]["fairness"] == 1 and g[("127.0.0.1", q)]["accepted"] == 10, g
assert t["fairness"] == g[("127.0.0.1", p)]["fairness"], t' "$TMP/w.json" "$P" "$Q"
kill -TERM "$A" "$B"
stop_serve

# A --pid that resolves to several listeners of one group: herd serve's
# reuseport sockets, one per worker, are one group.
start_serve --workers 2 --accept reuseport
start_watch --pid "$SPID" --interval 200ms
conns 20 / >/dev/null
stop_watch
stop_serve
g=$(grep '^total-group' "$WOUT")
expect_eq "--pid, reuseport: one group of two sockets, both workers" \
	"$(grep -c '^total-group' "$WOUT") $(field sockets "$g") $(field workers "$g") $(field accepted "$g")" "1 2 2 20"
done_testing
