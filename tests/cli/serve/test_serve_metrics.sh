# test_serve_metrics.sh - /metrics' responses by status class
# (herd_responses_total{class=...}) and request-duration histogram
# (herd_request_duration_seconds_bucket/_sum/_count), summed over the
# workers, and kept across a reload (the retired workers' counts stay in
# the totals). The format is checked by promtool when it is installed
# (test_serve_ops.sh checks the grammar of every line in any case).
. tests/lib.sh
. tests/cli/serve_common.sh

# bail WHY: a failure that ends the test.
bail() { not_ok "$1"; done_testing; exit 1; }
metrics() { get /metrics | sed '1,/^\r$/d'; }
# sample TEXT NAME: the value of the sample line NAME (with its labels).
sample() { printf '%s\n' "$1" | awk -v n="$2" '$1 == n {print $2}'; }

start_serve --workers 2 || bail "herd serve did not start"
for _ in 1 2 3 4 5; do get / >/dev/null; done
get /nope >/dev/null
get /nope >/dev/null
get '/cpu?us=3000' >/dev/null
raw 'BOGUS\r\n\r\n' >/dev/null # a malformed request line: 400, not routed
m=$(metrics)
expect_eq "2xx: the 5 / and the /cpu" "$(sample "$m" 'herd_responses_total{class="2xx"}')" 6
expect_eq "4xx: two 404 and one 400" "$(sample "$m" 'herd_responses_total{class="4xx"}')" 3
expect_eq "5xx: none" "$(sample "$m" 'herd_responses_total{class="5xx"}')" 0
expect_eq "histogram count: the 8 routed requests" "$(sample "$m" herd_request_duration_seconds_count)" 8
expect_eq "+Inf bucket = count" "$(sample "$m" 'herd_request_duration_seconds_bucket{le="+Inf"}')" 8
# /cpu?us=3000 burns 3 ms of thread CPU, so its request took longer than
# 2.5 ms whatever the machine: it is above that bucket.
below=$(sample "$m" 'herd_request_duration_seconds_bucket{le="0.002500"}')
if [ -n "$below" ] && [ "$below" -le 7 ]; then ok "the 3 ms /cpu is above the 2.5 ms bucket ($below <= 7)"; else not_ok "the 3 ms /cpu is above the 2.5 ms bucket" "got '$below'"; fi
sum=$(sample "$m" herd_request_duration_seconds_sum)
expect_match "the sum is at least the 3 ms of /cpu" "$sum" '^(0\.00[3-9]|0\.0[1-9]|0\.[1-9]|[1-9])'
cum=$(printf '%s\n' "$m" | awk '/^herd_request_duration_seconds_bucket/ {if ($2 < last) bad = 1; last = $2} END {print bad ? "no" : "yes"}')
expect_eq "the buckets are cumulative (never decrease)" "$cum" yes
expect_eq "one _bucket line per bound, +Inf last" \
	"$(printf '%s\n' "$m" | grep -c '^herd_request_duration_seconds_bucket')|$(printf '%s\n' "$m" | grep '_bucket' | tail -1 | cut -d' ' -f1)" \
	'15|herd_request_duration_seconds_bucket{le="+Inf"}'

# A reload replaces both workers: their counts stay in the totals.
kill -HUP "$SPID"
_reloaded() { grep -q "retired (reload)" "$SERR" && [ "$(grep -c 'retired (reload)' "$SERR")" -ge 2 ]; }
wait_until 10 _reloaded
m2=$(metrics)
# The first /metrics read was a 2xx too.
expect_eq "after a reload 2xx keeps the old workers' 6 (+1: the /metrics read)" \
	"$(sample "$m2" 'herd_responses_total{class="2xx"}')" 7
expect_eq "and the histogram its 9" "$(sample "$m2" herd_request_duration_seconds_count)" 9
if command -v promtool >/dev/null; then
	out=$(printf '%s\n' "$m2" | promtool check metrics 2>&1); rc=$?
	expect_eq "promtool check metrics accepts it ($out)" "$rc" 0
else
	ok "# SKIP promtool check metrics: promtool is not installed (Debian's prometheus package, 96 MB)"
fi
stop_serve
expect_eq "clean stop" "$SRC" 0
done_testing
