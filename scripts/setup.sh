#!/usr/bin/env bash
# scripts/setup.sh - installs the Debian packages herd needs, and only the missing ones.
#
#   scripts/setup.sh [build|test|lab|peer|fuzz]...   (default: build)
#
#   build  compiler, make, zlib, OpenSSL (bench TLS), libnghttp2 (bench HTTP/2), libbpf + bpftool + clang
#          (the eBPF `steer` model), liburing (the `uring` accept models and `herd serve --io uring`)
#   test   build + cmocka, chromium (the HTML report check), capsh (libcap2-bin),
#          clang-format (make format-check), nginx + its Lua module and Apache +
#          lua-posix (the lab's peers checked against their own logs), python3-yaml
#          (docs/deploy's manifest checked), Slurm (slurm-wlm: slurmctld, slurmd,
#          slurm-client) and munge (tests/cli/bench/test_bench_slurm.sh runs srun)
#   lab    build + the servers herd lab compares with herd's models (the peers:
#          nginx, HAProxy, Apache, lighttpd, each with the Lua its handler needs)
#   peer   lab + wrk, ab, h2load (nghttp2-client): for the comparison benchmarks
#   fuzz   build + clang's libFuzzer runtime
#
# As root it runs apt-get; otherwise it prints the exact command to run and exits 1.
set -eu
groups=("${@:-build}")
build=(gcc make clang llvm pkg-config zlib1g-dev libssl-dev libnghttp2-dev libbpf-dev libelf-dev bpftool iproute2
	liburing-dev)
# herd lab's peers (src/lab/kind.c): the servers and their Lua handlers' modules.
peers=(nginx libnginx-mod-http-lua haproxy apache2-bin lighttpd lighttpd-modules-lua lua-posix lua-socket)
want=()
for g in "${groups[@]}"; do
	case $g in
	build) want+=("${build[@]}") ;;
	lab) want+=("${build[@]}" "${peers[@]}") ;;
	test) want+=("${build[@]}" libcmocka-dev chromium libcap2-bin clang-format nginx libnginx-mod-http-lua apache2-bin lua-posix
		python3-yaml slurm-wlm munge) ;;
	peer) want+=("${build[@]}" "${peers[@]}" wrk apache2-utils nghttp2-client) ;;
	fuzz) want+=("${build[@]}" libclang-rt-14-dev) ;;
	-h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "setup.sh: unknown group '$g' (build, test, lab, peer, fuzz)" >&2; exit 2 ;;
	esac
done

missing=()
for p in $(printf '%s\n' "${want[@]}" | sort -u); do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "setup.sh: missing packages: ${missing[*]}" >&2
	echo "setup.sh: run as root:  sudo apt-get update && sudo $cmd" >&2
	exit 1
fi
echo "setup.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Installing nginx, HAProxy or lighttpd must not start a system-wide server.
if [ -d /usr/sbin ] && [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
log=$(mktemp /tmp/herd-setup.XXXXXX.log)
if ! { apt-get update -qq && $cmd -qq; } >"$log" 2>&1; then
	tail -30 "$log" >&2
	echo "setup.sh: apt-get failed (full log: $log)" >&2
	exit 1
fi
rm -f "$log"
