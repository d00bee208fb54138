# test_serve_logformat.sh - --log-format json: the access log as one JSON
# object a line, the combined format's fields by name, whatever bytes the
# client sent (quotes, backslashes and non-ASCII bytes are escaped;
# the parser refuses control bytes); a malformed request is logged with empty request fields. Bad
# values exit 2. (The combined format: test_serve_accesslog.sh.)
. tests/lib.sh
. tests/cli/serve_common.sh

# bail WHY: a failure that ends the test.
bail() { not_ok "$1"; done_testing; exit 1; }
command -v python3 >/dev/null || skip_all "python3 is not installed (it parses the JSON)"

LOG=$TMP/access.json
start_serve --workers 1 --access-log "$LOG" --log-format json || bail "herd serve did not start"
get / >/dev/null
raw 'GET /a?q=1 HTTP/1.1\r\nHost: t\r\nUser-Agent: ag "ent" \\ \xc3\xa9\r\nReferer: http://r/\r\nConnection: close\r\n\r\n' >/dev/null
raw 'BOGUS\r\n\r\n' >/dev/null
stop_serve
expect_eq "clean stop" "$SRC" 0
out=$(python3 - "$LOG" <<'EOF' 2>&1
import json, sys
lines = open(sys.argv[1], "rb").read().split(b"\n")
assert lines[-1] == b"", "the file ends with a newline"
recs = [json.loads(l) for l in lines[:-1]]
print(len(recs))
keys = ["remote_addr", "time", "method", "target", "protocol", "status", "bytes", "referer", "user_agent", "request_time"]
for r in recs:
    assert list(r) == keys, list(r)
a, b, c = recs
print(a["method"], a["target"], a["protocol"], a["status"], a["remote_addr"], a["referer"] == "" and a["user_agent"] == "")
print(b["target"], b["status"], repr(b["user_agent"]), b["referer"])
print(repr(c["method"]), repr(c["target"]), c["status"])
print(isinstance(a["bytes"], int) and a["bytes"] > 0, isinstance(a["request_time"], float))
EOF
)
expect_eq "three lines, each a JSON object with the fields in order" "$(printf '%s\n' "$out" | sed -n 1p)" 3
expect_eq "a plain request" "$(printf '%s\n' "$out" | sed -n 2p)" "GET / HTTP/1.1 200 127.0.0.1 True"
expect_eq "quotes, a backslash and UTF-8 come back as sent (bytes as code points)" \
	"$(printf '%s\n' "$out" | sed -n 3p)" "/a?q=1 404 'ag \"ent\" \\\\ Ã©' http://r/"
expect_eq "a malformed request: empty request fields, status 400" "$(printf '%s\n' "$out" | sed -n 4p)" "'' '' 400"
expect_eq "numbers are JSON numbers" "$(printf '%s\n' "$out" | sed -n 5p)" "True True"
expect_match "the escapes in the file" "$(sed -n 2p "$LOG")" '"user_agent":"ag \\"ent\\" \\\\ \\u00c3\\u00a9"'

for bad in JSON clf ''; do
	$HERD serve --log-format "$bad" >/dev/null 2>"$TMP/e"
	rc=$?
	expect_eq "--log-format '$bad': exit 2" "$rc" 2
	expect_match "and the message names it" "$(cat "$TMP/e")" "bad value for --log-format: '$bad' \(combined or json\)"
done
done_testing
