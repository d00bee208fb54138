#!/usr/bin/env bash
# scripts/bench-hist.sh - how fast `herd hist` reads 10 million numbers.
#
#   scripts/bench-hist.sh [N]      (default N = 10000000)
#
# Writes N latency-like values ("%.3f", exponential around 10 ms) into a
# temporary file once, then runs `build/herd hist` on it three times in each
# mode (exact, -P, --approx) and prints the best wall time, lines per second,
# the least CPU time and the peak resident memory (getrusage of each child),
# with bytes per value. Goal: 10^7 lines well under 2 s, at most 8 bytes per value
# in exact mode. Then one hostile input, a 32 MB line of digits, from a file
# and through a pipe (goal: well under a second either way, in constant
# memory; issue 15). The temporary file is removed on exit.
set -eu
cd "$(dirname "$0")/.."
n=${1:-10000000}
[ -x build/herd ] || make -s build/herd
tmp=$(mktemp -d /tmp/herd-bench-hist.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

echo "generating $n values..." >&2
awk -v n="$n" 'BEGIN { srand(42); for (i = 0; i < n; i++) printf "%.3f\n", 1 - log(1 - rand()) * 10 }' \
	>"$tmp/values"

/usr/bin/python3 - "$tmp/values" "$n" <<'EOF'
import os, sys, time

path, n = sys.argv[1], int(sys.argv[2])
herd = os.path.abspath("build/herd")

def run(args):
    """Runs herd with the file on stdin; returns (wall s, CPU s, max RSS bytes)."""
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        fd = os.open(path, os.O_RDONLY)
        os.dup2(fd, 0)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.execv(herd, [herd, "hist"] + args)
    _, status, ru = os.wait4(pid, 0)
    wall = time.monotonic() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("herd hist %s failed" % " ".join(args))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024

print("herd hist on %d lines (%.1f MB of input), best of 3, %s"
      % (n, os.path.getsize(path) / 1e6, os.uname().machine))
print("%-22s %8s %8s %13s %11s %8s" % ("mode", "wall s", "CPU s", "lines/s", "peak RSS",
                                        "B/value"))
for label, args in (("exact", []), ("exact -P 50,99,99.9", ["-P", "50,99,99.9"]),
                    ("--approx", ["--approx"])):
    runs = [run(args) for _ in range(3)]
    wall = min(r[0] for r in runs)
    cpu = min(r[1] for r in runs)
    rss = max(r[2] for r in runs)
    print("%-22s %8.3f %8.3f %13s %8.1f MB %8.2f"
          % (label, wall, cpu, "{:,.0f}".format(n / wall), rss / 1e6, rss / n))
print("lines/s from the best wall time; CPU s = the least user + system time of the")
print("three runs, which a busy machine inflates less than wall time.")

# One 32 MB line: from a file, and through a pipe fed 64 KiB at a time.
longline = os.path.join(os.path.dirname(path), "longline")
with open(longline, "wb") as f:
    f.write(b"1" * (32 << 20) + b"\n5\n")

def run_pipe():
    r, w = os.pipe()
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        os.dup2(r, 0)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.execv(herd, [herd, "hist"])
    os.close(r)
    with open(longline, "rb") as f:
        while chunk := f.read(65536):
            os.write(w, chunk)
    os.close(w)
    _, status, ru = os.wait4(pid, 0)
    return time.monotonic() - t0, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024

path = longline
for label, fn in (("32 MB line, file", lambda: run([])), ("32 MB line, pipe", run_pipe)):
    runs = [fn() for _ in range(3)]
    print("%-22s %8.3f %8.3f %13s %8.1f MB" % (label, min(r[0] for r in runs), min(r[1] for r in runs),
                                             "-", max(r[2] for r in runs) / 1e6))
EOF
