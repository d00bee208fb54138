#!/usr/bin/env bash
# bench-records.sh - what herd bench --records costs, and that it loses nothing.
#
# Starts one nginx (Debian's, config generated in a temp dir, as
# bench-bench.sh does) on loopback and runs `herd bench` against it with
# keep-alive (the default), THREADS threads, CONNS connections for DURATION,
# ROUNDS times without --records and ROUNDS times with --records (CSV into
# the temp dir), alternating (off/on, then on/off, ...) so that a drift in
# the machine's load touches both alike. Prints each round, then per mode
# the median req/s with the spread (min..max over the rounds) and the
# median CPU time (user + system) of herd bench per request, and the
# records-on/off ratios (target: req/s at least 0.95 of off). With 2 or more
# CPUs nginx is pinned to CPU 0 and herd bench to the others (PIN=0 turns
# that off).
#
# Then one run of N requests (default 1,000,000) with --records, checked
# line by line: one line per request (the header aside), every line with
# its eight fields, as many lines as herd bench says it sent.
#
#   scripts/bench-records.sh   (env: THREADS=2 CONNS=64 DURATION=5s ROUNDS=5 N=1000000 NGINX_WORKERS=1 PIN=1)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
[ "${1-}" = --help ] && { usage 20; exit 0; }
need_peer
need_herd

THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-5}
N=${N:-1000000}
NGINX_WORKERS=${NGINX_WORKERS:-1}
PIN=${PIN:-1}
posint THREADS "$THREADS"
posint CONNS "$CONNS"
posint ROUNDS "$ROUNDS"
posint N "$N"
bench_setup bench-records

port=$(free_port) || die "no free port"
nginx_conf "$tmp" "$NGINX_WORKERS" "$port"
"${pin_server[@]}" "$NGINX" -c "$tmp/nginx.conf" -e "$tmp/error.log" &
nginx_pid=$!
wait_port "$port" "$nginx_pid" || { cat "$tmp/error.log" >&2; die "nginx did not start"; }
url=http://127.0.0.1:$port/

secs=$(awk -v d="$DURATION" 'BEGIN {v = d + 0; if (d ~ /ms$/) v /= 1000; else if (d ~ /m$/) v *= 60; print v}')
# run_one MODE ROUND: prints "req/s cpu_us_per_request".
run_one() {
	local mode=$1 out=$tmp/$1-$2 rec=()
	[ "$mode" = on ] && rec=(--records "$tmp/r.csv")
	"${pin_load[@]}" /usr/bin/time -f '%U %S' -o "$out.time" "$HERD" bench -t "$THREADS" -c "$CONNS" \
		-d "$DURATION" "${rec[@]}" --json "$out.json" "$url" >"$out.txt" 2>&1 || die "herd bench failed: $(tail -3 "$out.txt")"
	local rps done_ usr sys
	rps=$(sed -n 's/.*"requests_per_s": \([0-9.]*\).*/\1/p' "$out.json")
	done_=$(sed -n 's/.*"done": \([0-9]*\).*/\1/p' "$out.json")
	read -r usr sys < <(tail -1 "$out.time")
	if [ "$mode" = on ]; then
		local lines
		lines=$(($(wc -l <"$tmp/r.csv") - 1))
		[ "$lines" -ge "$done_" ] || die "round $2: $lines records for $done_ requests done"
		rm -f "$tmp/r.csv"
	fi
	echo "$rps $(awk -v u="$usr" -v s="$sys" -v n="$done_" 'BEGIN {print (n > 0 ? (u + s) * 1e6 / n : 0)}')"
}

echo "machine: $ncpu CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "nginx workers $NGINX_WORKERS${pin_server:+ on CPU 0}; herd bench -t $THREADS -c $CONNS -d $DURATION (keep-alive)${pin_load:+ on CPUs 1-$((ncpu - 1))}; $ROUNDS rounds per mode, alternating"
for r in $(seq "$ROUNDS"); do
	order="off on"
	[ $((r % 2)) -eq 0 ] && order="on off"
	for mode in $order; do
		read -r rps cpu < <(run_one "$mode" "$r")
		echo "$rps" >>"$tmp/$mode.rps"
		echo "$cpu" >>"$tmp/$mode.cpu"
		printf '  round %d  records %-3s %12.1f req/s  %6.2f CPU us/req\n' "$r" "$mode" "$rps" "$cpu"
	done
done

echo
printf '%-12s %12s %22s %14s\n' records "median req/s" "spread (min..max)" "CPU us/req"
for mode in off on; do
	printf '%-12s %12.1f %22s %14.2f\n' "$mode" "$(median <"$tmp/$mode.rps")" \
		"$(sort -g "$tmp/$mode.rps" | sed -n '1p;$p' | awk '{v[NR] = $1} END {printf "%.0f..%.0f", v[1], v[NR]}')" \
		"$(median <"$tmp/$mode.cpu")"
done
ron=$(median <"$tmp/on.rps") roff=$(median <"$tmp/off.rps")
con=$(median <"$tmp/on.cpu") coff=$(median <"$tmp/off.cpu")
awk -v a="$ron" -v b="$roff" -v c="$con" -v d="$coff" 'BEGIN {
	printf "records on/off: req/s %.3f (target >= 0.95), CPU per request %.3f\n", a / b, c / d }'

echo
echo "$N requests with --records (-t $THREADS -c $CONNS):"
"${pin_load[@]}" /usr/bin/time -f '%e %U %S' -o "$tmp/big.time" "$HERD" bench -n "$N" -t "$THREADS" -c "$CONNS" \
	--records "$tmp/big.csv" --json "$tmp/big.json" "$url" >"$tmp/big.txt" 2>&1 || die "herd bench failed: $(tail -3 "$tmp/big.txt")"
sent=$(sed -n 's/.*"sent": \([0-9]*\).*/\1/p' "$tmp/big.json")
said=$(sed -n 's/.*"records": \([0-9]*\).*/\1/p' "$tmp/big.json")
lost=$(sed -n 's/.*"records_lost": \([0-9]*\).*/\1/p' "$tmp/big.json")
read -r lines bad conns < <(awk -F, -v c="$CONNS" 'NR > 1 {n++; if (NF != 8 || $1 !~ /^[0-9]+$/ || $5 != 200 || $3 >= c) bad++; seen[$3] = 1}
	END {k = 0; for (x in seen) k++; print n + 0, bad + 0, k}' "$tmp/big.csv")
read -r wall usr sys < <(tail -1 "$tmp/big.time")
printf '  sent %d, records %d (herd bench says %d, lost %d), malformed or failed lines %d, connection ids %d\n' \
	"$sent" "$lines" "$said" "$lost" "$bad" "$conns"
printf '  %.2f s wall, %.2f s CPU, %d bytes of records (%.1f per line)\n' "$wall" \
	"$(awk -v u="$usr" -v s="$sys" 'BEGIN {print u + s}')" "$(stat -c %s "$tmp/big.csv")" \
	"$(awk -v b="$(stat -c %s "$tmp/big.csv")" -v n="$lines" 'BEGIN {print (n ? b / n : 0)}')"
[ "$lines" -eq "$N" ] && [ "$sent" -eq "$N" ] && [ "$said" -eq "$N" ] && [ "$lost" -eq 0 ] && [ "$bad" -eq 0 ] ||
	die "records do not match the requests"
echo "  one line per request, none lost"
