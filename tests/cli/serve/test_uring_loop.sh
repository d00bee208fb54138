# test_uring_loop.sh - the serve tests of routes, keep-alive, pipelining,
# bad input, hostile clients, timeouts, signals, operations (access log,
# socket activation), reload and zero-drop again, against the
# io_uring worker loop (--io uring). Each file prints its own TAP lines;
# tests/run.sh counts them all.
cd "$(dirname "$0")/../../.." || exit 1
export HERD_IO=uring
# Not `uring`: it gives every connection to one worker, and under the
# test's /sleep load its queue outgrows the client's timeout (its imbalance,
# docs/uring.md, not a drop).
export ZD_MODELS=${ZD_MODELS:-uring-fifo}
rc=0
for t in test_serve_http test_serve_edge test_serve_proc test_serve_ops test_serve_hostile test_zero_drop; do
	echo "# HERD_IO=uring $t"
	bash "tests/cli/serve/$t.sh" || rc=1
done
exit $rc
