#!/usr/bin/env bash
# bench-tls.sh - herd bench against wrk over TLS: scripts/bench-bench.sh with
# TLS=1 (nginx with a self-signed certificate, 1 worker pinned to CPU 0, the
# tools on the other CPUs, alternating rounds, median req/s and CPU us per
# request for keep-alive and connection-per-request). Targets: keep-alive
# >= 1.1x wrk, connection-per-request >= 1.0x wrk.
#
#   scripts/bench-tls.sh   (same env as bench-bench.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
TLS=1 exec scripts/bench-bench.sh "$@"
