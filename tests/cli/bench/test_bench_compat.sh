# test_bench_compat.sh - benchhttp mode against what the original (Go)
# benchhttp was measured to do (../shared/reference/benchhttp.md): -k K != 0
# keeps every connection, redirects followed (10 at most) with the final
# status printed, several hosts round robin, user:pw@ as Basic auth, Go's
# User-Agent, exit status 0 whatever happened, unresolvable hosts as [!]
# lines; and herd mode's own counterparts (--follow N, herd's User-Agent).
. tests/lib.sh
. tests/cli/bench_common.sh
BH=$(dirname "$HERD")/benchhttp
start_server
URL2=$URL; PORT2=$PORT; S2="$URL/stats"
start_server
conns() { local s; s=$(stats); s=${s%% *}; echo "${s#conns=}"; }

# -k: any value other than 0 keeps the -c connections for the whole run.
for k in 1 -1 7; do
	c0=$(conns)
	$BH -n 60 -c 2 -k $k "$URL/" >"$TMP/o" 2>/dev/null; rc=$?
	expect_eq "benchhttp -n 60 -c 2 -k $k: 60 lines, exit 0" "$rc:$(wc -l <"$TMP/o")" "0:60"
	# (2 as the original; 1 when one thread ran all 60 before the other started)
	expect_match "benchhttp -k $k opens the -c connections at most, not 60" "$(($(conns) - c0 - 1))" '^[12]$'
done
c0=$(conns)
$BH -n 10 -c 2 -k 0 "$URL/" >/dev/null 2>&1
expect_eq "benchhttp -k 0: a connection per request" "$(($(conns) - c0 - 1))" 10
# herd mode keeps its meaning: up to K requests per connection.
c0=$(conns)
$HERD bench -n 20 -c 2 -k 5 "$URL/" >/dev/null
# (closed loop: the two connections need not split the 20 evenly)
expect_match "herd bench -k 5: 4..5 connections for 20 requests" "$(($(conns) - c0 - 1))" '^[45]$'

# Exit status 0 and nothing run for -n 0, -n -1, -c 0, as the original.
for a in "-n 0" "-n -1" "-c 0"; do
	$BH $a "$URL/" >"$TMP/o" 2>/dev/null; rc=$?
	expect_eq "benchhttp $a: exit 0, no lines" "$rc:$(wc -l <"$TMP/o")" "0:0"
done

# Redirects: followed, final status printed; every hop reaches the server.
r0=$(stats); r0=${r0##*reqs=}
$BH -n 2 "$URL/redir?n=3" >"$TMP/o" 2>"$TMP/e"; rc=$?
expect_eq "benchhttp follows 3 redirects: 2 lines of 200" "$rc:$(grep -cE '^[0-9.]+ 200$' "$TMP/o")" "0:2"
r1=$(stats); r1=${r1##*reqs=}
expect_eq "the server saw every hop (2 x 4 requests)" "$((r1 - r0))" 8
$BH -n 2 "$URL/redir?n=11" >"$TMP/o" 2>"$TMP/e"; rc=$?
expect_eq "11 redirects: more than Go's 10, failures, exit 0" "$rc:$(wc -l <"$TMP/o"):$(grep -c '^\[!\] .*redirects' "$TMP/e")" "0:0:2"
$HERD bench -n 3 --json "$TMP/j" "$URL/redir?n=2" >/dev/null
expect_eq "herd mode reports the 302 by default" "$(jget "$TMP/j" '["status"]')" "{'302': 3}"
$HERD bench -n 3 -k 10 --follow 5 --json "$TMP/j" "$URL/redir?n=2" >/dev/null; rc=$?
expect_eq "--follow 5: 200s, 6 redirects followed" "$rc:$(jget "$TMP/j" '["status"]'):$(jget "$TMP/j" '["redirects"]')" "0:{'200': 3}:6"
$HERD bench -n 2 --follow 5 --json "$TMP/j" "$URL/redirto?u=$URL2/" >/dev/null; rc=$?
expect_eq "a redirect to a host the run did not name is resolved and followed" "$rc:$(jget "$TMP/j" '["status"]')" "0:{'200': 2}"
$HERD bench -n 2 --follow 5 --json "$TMP/j" "$URL/redirto?u=$URL2/" "$URL2/" >/dev/null; rc=$?
expect_eq "a redirect to another host of the run is followed" "$rc:$(jget "$TMP/j" '["status"]')" "0:{'200': 2}"
$BH -n 2 "$URL/redirto?u=http://nosuch.invalid/" >"$TMP/o" 2>"$TMP/e"; rc=$?
expect_eq "benchhttp: a redirect to an unresolvable host is a [!] lookup failure" \
	"$rc:$(wc -l <"$TMP/o"):$(grep -c '^\[!\] .*lookup nosuch.invalid' "$TMP/e")" "0:0:2"

# Several hosts in one run, round robin, no -r needed.
a0=$(conns); b0=$($PY -c 'import sys,urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode().split()[0][6:])' "$S2")
$BH -n 10 -c 1 "$URL/" "$URL2/" >"$TMP/o" 2>/dev/null; rc=$?
b1=$($PY -c 'import sys,urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode().split()[0][6:])' "$S2")
expect_eq "two hosts: 10 lines" "$rc:$(wc -l <"$TMP/o")" "0:10"
expect_eq "two hosts: 5 connections each" "$(($(conns) - a0 - 1)):$((b1 - b0 - 1))" "5:5"

# With keep-alive, a connection per host, kept across the round robin (as
# Go's client keeps an idle connection per host): 2 connections, not 20.
a0=$(conns); b0=$($PY -c 'import sys,urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode().split()[0][6:])' "$S2")
$BH -n 20 -c 1 -k 1 "$URL/" "$URL2/" >"$TMP/o" 2>/dev/null; rc=$?
b1=$($PY -c 'import sys,urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode().split()[0][6:])' "$S2")
expect_eq "two hosts, -k 1: 20 lines, one connection to each" "$rc:$(wc -l <"$TMP/o"):$(($(conns) - a0 - 1)):$((b1 - b0 - 1))" "0:20:1:1"

# user:pw@ becomes Basic authorization; the User-Agent is Go's or herd's.
$BH -n 2 "http://user:pw@127.0.0.1:$PORT/auth" >"$TMP/o" 2>/dev/null
expect_eq "user:pw@ sends Basic auth" "$(grep -c ' 200$' "$TMP/o")" 2
$BH -n 2 "$URL/ua?want=Go-http-client/1.1" >"$TMP/o" 2>/dev/null
expect_eq "benchhttp sends Go's User-Agent" "$(grep -c ' 200$' "$TMP/o")" 2
v=$($HERD --version); v=${v#herd }
$HERD bench -n 2 --json "$TMP/j" "$URL/ua?want=herd-bench/$v" >/dev/null
expect_eq "herd bench sends herd-bench/VERSION" "$(jget "$TMP/j" '["status"]')" "{'200': 2}"
$HERD bench -n 2 -H 'User-Agent: mine' --json "$TMP/j" "$URL/ua?want=mine" >/dev/null
expect_eq "-H User-Agent replaces it" "$(jget "$TMP/j" '["status"]')" "{'200': 2}"

# An unresolvable host: a [!] line per request, exit 0 (benchhttp); exit 1 (herd).
$BH -n 3 "http://nosuch.invalid/" "$URL/" >"$TMP/o" 2>"$TMP/e"; rc=$?
expect_eq "benchhttp: unresolvable host, exit 0" "$rc" 0
expect_eq "a [!] line per request to it" "$(grep -c '^\[!\] "http://nosuch.invalid/" dial tcp: lookup nosuch.invalid: ' "$TMP/e")" 2
expect_eq "the other host's requests still run" "$(wc -l <"$TMP/o")" 1
$HERD bench -n 1 "http://nosuch.invalid/" >/dev/null 2>"$TMP/e"; rc=$?
expect_eq "herd bench: unresolvable host exits 1 and names it" "$rc:$(grep -c "nosuch.invalid" "$TMP/e")" "1:1"
done_testing
