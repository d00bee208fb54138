# test_bench_slurm.sh - herd bench sharded by a real Slurm: the test starts
# munged, slurmctld and slurmd on this machine (a one-node cluster, every
# file in the test's temp dir, its own ports), submits docs/deploy's batch
# script with sbatch (srun -n 4: 4 shards of one run, --start-at computed
# once, then --merge-json and hist --merge), against a herd serve on
# 127.0.0.1, and checks that
#   - each task found its shard in SLURM_PROCID/SLURM_NTASKS, and the
#     shards' -n and -c add up to the whole run's (remainders first);
#   - they started at the one moment asked for, never before it;
#   - the merged count = the server's own count = the requested total;
#   - the shards' open-loop schedules interleave into the whole run's;
#   - the merged percentiles (--merge-json and herd hist --merge of the 4
#     .hlog) equal those of one HDR histogram of every request's latency,
#     built here from the shards' --records by HdrHistogram's rules.
# Needs root and scripts/setup.sh test (slurm-wlm, munge); skips otherwise,
# except where CI is set. Every daemon is reaped by pid on exit.
. tests/lib.sh
. tests/cli/bench_common.sh

need() {
	if [ -n "${CI:-}" ]; then
		not_ok "the Slurm test can run here" "$1"
		done_testing
		exit 1
	fi
	skip_all "$1"
}
[ "$(id -u)" -eq 0 ] || need "needs root (munged, slurmctld and slurmd run as root here)"
for b in munged slurmctld slurmd srun sbatch sinfo scancel; do
	command -v $b >/dev/null || need "$b not installed (scripts/setup.sh test installs slurm-wlm and munge)"
done

# Cancel what the cluster still runs, then lib.sh's cleanup (the daemons
# are tracked pids, each TERMed, waited for, KILLed if need be).
slurm_cleanup() {
	[ -n "${SLURM_CONF:-}" ] && timeout 5 scancel --full --quiet -u root 2>/dev/null
	cleanup
}
trap slurm_cleanup EXIT

S=$TMP/slurm
mkdir -p "$S/munge" "$S/state" "$S/spool" "$S/log"
chmod 700 "$S/munge"
# A key of its own: the machine's /etc/munge/munge.key is left alone.
head -c 1024 /dev/urandom >"$S/munge/munge.key"
chmod 600 "$S/munge/munge.key"
munged -F -f --key-file="$S/munge/munge.key" --socket="$S/munge/sock" --pid-file="$S/munge/munged.pid" \
	--log-file="$S/munge/munged.log" --seed-file="$S/munge/seed" 2>"$S/munge/stderr" &
track_pid $!
wait_until 10 test -S "$S/munge/sock" || { echo "Bail out! munged did not start: $(cat "$S/munge/stderr" "$S/munge/munged.log")"; exit 1; }

host=$(hostname -s)
ctlport=$(free_port)
dport=$(free_port)
while [ "$dport" = "$ctlport" ]; do dport=$(free_port); done
export SLURM_CONF=$S/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=herdtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctlport
SlurmdPort=$dport
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$S/munge/sock
CredType=cred/munge
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/linear
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -f "$SLURM_CONF" >"$S/log/slurmctld.stderr" 2>&1 &
track_pid $!
slurmd -D -f "$SLURM_CONF" >"$S/log/slurmd.stderr" 2>&1 &
track_pid $!
node_idle() { [ "$(sinfo -h -o %T 2>/dev/null)" = idle ]; }
if ! wait_until 15 node_idle; then
	echo "Bail out! the Slurm node did not come up idle: $(sinfo 2>&1; tail -5 "$S"/log/*.log)"
	exit 1
fi
ok "munged, slurmctld and slurmd up: one idle node"

start_herd_serve --workers 2
# /stats.txt: requests answered, summed over the workers (a read counts
# itself after it is answered: the next read shows it).
served() { $PY -c 'import sys,urllib.request
t = urllib.request.urlopen(sys.argv[1] + "/stats.txt").read().decode().split("\n")
print(sum(int(l.split()[7]) for l in t if l.startswith("worker ")))' "$URL"; }
before=$(served)

# The whole run: 1999 requests on 6 connections at 1000 req/s, in 4 shards.
N=4 TOTAL=1999 C=6 R=1000
OUT=$TMP/out
case $HERD in /*) herd_abs=$HERD ;; *) herd_abs=$PWD/$HERD ;; esac
HERD_OUT=$OUT HERD_START_DELAY=3 HERD_RECORDS=1 HERD=$herd_abs \
	timeout 60 sbatch -W -n $N -O --ntasks-per-node=$N --cpus-per-task=1 -o "$TMP/job.out" \
	docs/deploy/herd-bench.sbatch "$URL/" -t 1 -n $TOTAL -c $C --rate $R >"$TMP/sbatch.out" 2>&1
rc=$?
expect_eq "sbatch docs/deploy/herd-bench.sbatch: the job succeeded" "$rc" 0
[ "$rc" -eq 0 ] || echo "# $(cat "$TMP/sbatch.out" "$TMP/job.out" | head -40)"
after=$(served)
expect_eq "the server answered the requested total" "$((after - before - 1))" $TOTAL

j() { jget "$OUT/shard-$1.json" "$2"; }
expect_eq "each task is shard SLURM_PROCID of SLURM_NTASKS" \
	"$(for i in 0 1 2 3; do echo -n "$(j $i '["shard"]["index"]')/$(j $i '["shard"]["count"]'):$(j $i '["shard"]["source"]') "; done)" \
	"0/4:SLURM_PROCID/SLURM_NTASKS 1/4:SLURM_PROCID/SLURM_NTASKS 2/4:SLURM_PROCID/SLURM_NTASKS 3/4:SLURM_PROCID/SLURM_NTASKS "
expect_eq "-n 1999 split 500 500 500 499, -c 6 split 2 2 1 1" \
	"$(for i in 0 1 2 3; do echo -n "$(j $i '["config"]["requests"]')/$(j $i '["config"]["connections"]') "; done)" \
	"500/2 500/2 500/1 499/1 "
expect_match "a task's stderr says its shard" "$(cat "$TMP/job.out")" \
	"herd bench: shard 3/4 \(from SLURM_PROCID/SLURM_NTASKS\): 499 of 1999 requests, 1 of 6 connections, 250 of 1000 req/s"
expect_eq "one start for all, none before it" "$($PY -c '
import json, sys
d = [json.load(open(f)) for f in sys.argv[1:]]
at = {x["start_at_ns"] for x in d}
print(len(at), all(x["start_epoch_ns"] >= x["start_at_ns"] for x in d))' "$OUT"/shard-?.json)" "1 True"

expect_eq "--merge-json: 1999 done, none failed, 4 of 4 shards" \
	"$(jget "$OUT/total.json" '["done"]') $(jget "$OUT/total.json" '["failed"]') $(jget "$OUT/total.json" '["merged"]["shards"]')/$(jget "$OUT/total.json" '["merged"]["shard_count"]')" \
	"$TOTAL 0 4/4"
expect_eq "--merge-json: the whole run's config back (-n, -c, --rate)" \
	"$(jget "$OUT/total.json" '["config"]["requests"]') $(jget "$OUT/total.json" '["config"]["connections"]') $(jget "$OUT/total.json" '["config"]["rate"]')" \
	"$TOTAL $C $R"

# Each request's place in the whole run's schedule: request j of shard I
# is due (j + I/N) / (R/N) after its shard's start, i.e. request
# i = j*N + I of one run at R; every i from 0 to TOTAL-1 once.
expect_eq "the shards' schedules interleave into one run's" "$($PY - "$N" "$R" "$TOTAL" "$OUT" <<'EOF'
import json, sys
n, r, total, out = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
seen, bad = [], 0
for i in range(n):
    t0 = json.load(open(f"{out}/shard-{i}.json"))["start_epoch_ns"]
    offs = sorted(int(l.split(",")[0]) - t0 for l in open(f"{out}/shard-{i}.csv").readlines()[1:])
    for j, off in enumerate(offs):
        k = j * n + i
        bad += abs(off - k * 1e9 / r) > 1000  # a microsecond: the float rounding of either side
        seen.append(k)
print(bad, sorted(seen) == list(range(total)))
EOF
)" "0 True"

# The percentiles of one HDR histogram (1 us .. 1 h, 3 digits) of every
# request's latency, by HdrHistogram's rules, from the records: no herd
# code involved.
hdr_pcts() {
	$PY - "$@" <<'EOF'
import math, sys
us = []
for f in sys.argv[1:]:
    for l in open(f).readlines()[1:]:
        x = l.split(",")
        if x[6]:
            continue
        whole, frac = x[3].split(".")
        us.append(max(1, (int(whole) * 1000000 + int(frac)) // 1000))
us.sort()
def highest_equivalent(v):
    bucket = (v | 2047).bit_length() - 11
    sub = v >> bucket
    return (sub << bucket) + (1 << bucket) - 1
out = []
for p in (50, 75, 90, 99, 99.9, 99.99):
    rank = min(len(us), max(1, math.ceil(math.nextafter(p, -math.inf) * len(us) / 100)))
    out.append(min(highest_equivalent(us[rank - 1]), us[-1]))
print(len(us), *out, us[-1])
EOF
}
expected=$(hdr_pcts "$OUT"/shard-?.csv)
expect_match "the records: every request once" "$expected" "^$TOTAL "
expect_eq "--merge-json's percentiles = one histogram of every request's latency" \
	"$($PY -c 'import json,sys; l = json.load(open(sys.argv[1]))["latency"]
print(l["count"], *(l[k] for k in ("p50", "p75", "p90", "p99", "p99.9", "p99.99", "max")))' "$OUT/total.json")" \
	"$expected"
hist=$($HERD hist --merge --divisor 1 -P 50,75,90,99,99.9,99.99 "$OUT"/shard-?.hlog 2>/dev/null |
	sed -n 's/^Values min:.* max:\([0-9]*\)\.00 .* count:\([0-9]*\)$/\2 \1/p; s/^Values p50:\([0-9]*\)\.00 p75:\([0-9]*\)\.00 p90:\([0-9]*\)\.00 p99:\([0-9]*\)\.00 p99.9:\([0-9]*\)\.00 p99.99:\([0-9]*\)\.00$/\1 \2 \3 \4 \5 \6/p' | tr '\n' ' ')
expect_eq "herd hist --merge of the 4 .hlog: the same percentiles" \
	"$(echo "$hist" | awk '{print $1, $3, $4, $5, $6, $7, $8, $2}')" "$expected"
expect_eq "herd hist --merge --intervals: the 4 logs on one time line, every request in a row" \
	"$(awk 'NR > 1 && $3 ~ /^[0-9]+$/ {s += $3} END {print s}' "$OUT/intervals.txt")" $TOTAL

done_testing
