# test_multihost.sh - herd beyond one machine: a server host and two load
# hosts, each a network namespace this test creates, joined by veth pairs.
# Each load host runs `herd bench --hlog`; `herd hist --merge` of the two logs
# must account for exactly the requests both made, and the server's own
# counters must agree. The 10.199.x addresses exist only inside these
# namespaces: no packet leaves them.
. tests/lib.sh

id=$$
srv=herd-mh-s-$id la=herd-mh-a-$id lb=herd-mh-b-$id
if [ "$(id -u)" -ne 0 ] || ! ip netns add "$srv" 2>/dev/null; then
	skip_all "network namespaces need root and iproute2"
fi
netns_cleanup() {
	cleanup
	ip netns del "$srv" 2>/dev/null
	ip netns del "$la" 2>/dev/null
	ip netns del "$lb" 2>/dev/null
}
trap netns_cleanup EXIT

ip netns add "$la" && ip netns add "$lb"
# One /30 per load host: server side .1, load host side .2.
link() { # link NS IFACE_HOST IFACE_SRV SUBNET
	ip link add "$2" netns "$1" type veth peer name "$3" netns "$srv" &&
		ip -n "$1" addr add "$4.2/30" dev "$2" && ip -n "$1" link set "$2" up &&
		ip -n "$1" link set lo up &&
		ip -n "$srv" addr add "$4.1/30" dev "$3" && ip -n "$srv" link set "$3" up
}
check "namespaces joined by veth pairs" bash -c "
	$(declare -f link); srv=$srv
	link $la hma$id hsa$id 10.199.1 && link $lb hmb$id hsb$id 10.199.2 && ip -n $srv link set lo up"

port=8181
ip netns exec "$srv" "$HERD" serve --listen 0.0.0.0:$port --workers 2 --accept fifo 2>"$TMP/serve.err" &
track_pid $!
for _ in $(seq 100); do
	ip netns exec "$srv" ss -Htln "sport = :$port" | grep -q . && break
	sleep 0.05
done

n=300
ip netns exec "$la" "$HERD" bench -n $n -c 4 --hlog "$TMP/a.hlog" "http://10.199.1.1:$port/" >"$TMP/a.out" 2>&1 &
pa=$!
track_pid $pa
ip netns exec "$lb" "$HERD" bench -n $n -c 4 --hlog "$TMP/b.hlog" "http://10.199.2.1:$port/" >"$TMP/b.out" 2>&1 &
pb=$!
track_pid $pb
wait $pa; ra=$?
wait $pb; rb=$?
expect_eq "load host A: every request succeeded" "$ra" 0
expect_eq "load host B: every request succeeded" "$rb" 0

merged=$($HERD hist --merge "$TMP/a.hlog" "$TMP/b.hlog" 2>&1)
expect_match "the merged logs hold exactly both hosts' requests" "$merged" "count:$((2 * n))( |$)"
single=$($HERD hist --merge "$TMP/a.hlog" 2>&1)
expect_match "one host's log holds its own requests" "$single" "count:$n( |$)"

# The server saw both hosts: its per-worker request counters add up to the
# requests made (plus this /stats.txt request itself, when counted first).
stats=$(ip netns exec "$la" bash -c "exec 3<>/dev/tcp/10.199.1.1/$port; printf 'GET /stats.txt HTTP/1.0\r\n\r\n' >&3; cat <&3")
served=$(printf '%s\n' "$stats" | awk '$1 == "worker" { for (i = 1; i < NF; i++) if ($i == "requests") s += $(i + 1) } END { print s + 0 }')
if [ "$served" -ge $((2 * n)) ] && [ "$served" -le $((2 * n + 1)) ]; then
	ok "the server counted both hosts' requests ($served)"
else
	not_ok "the server counted both hosts' requests" "served: $served, expected $((2 * n))" "$stats"
fi
done_testing
