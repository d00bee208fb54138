# test_bench_shard.sh - one run split into shards: --shard I/N and its
# refusals (each naming the value), the shard from Slurm's variables (in a
# step only) or an Indexed Job's (with HERD_SHARDS), --start-at (refused
# when late; the .hlog and JSON start at it), --merge-json (the shards'
# counts and histograms added up, equal to herd hist --merge of their
# .hlog; a shard twice, a run option or a JSON without histograms refused).
# Then docs/deploy's Kubernetes manifests: valid YAML
# (python3-yaml), an Indexed Job whose parts fit together (completions =
# parallelism = HERD_SHARDS, host network, the results volume the merge pod
# reads), whose command line herd bench runs as a pod would (Kubernetes'
# $(VAR) expansion done here, JOB_COMPLETION_INDEX set, only -d, --rate, -c
# and the URL made small), and that `kubectl create --dry-run=client -o
# yaml` accepts them: against the cluster kubectl is configured for, or
# else a stub of the API's discovery documents (kube_stub.py: even a
# client-side dry run asks the server for its resource types), then
# without schema validation; skipped lines say what could not be checked.
# (test_bench_slurm.sh runs shards under a real Slurm.)
. tests/lib.sh
. tests/cli/bench_common.sh
start_herd_serve --workers 2
# /stats.txt: requests answered, summed over the workers (a read counts
# itself after it is answered: the next read shows it).
served() { $PY -c 'import sys,urllib.request
t = urllib.request.urlopen(sys.argv[1] + "/stats.txt").read().decode().split("\n")
print(sum(int(l.split()[7]) for l in t if l.startswith("worker ")))' "$URL"; }
skip() { _n=$((_n + 1)); echo "ok $_n # skip $1"; }

# Bad shards: exit 2, the value named.
for v in 3/2 0/0 x/4 -1/4 4/4 1/ 1/4/4; do
	out=$($HERD bench --shard "$v" -n 10 "$URL/" 2>&1 >/dev/null)
	expect_match "--shard $v: exit 2, named" "$?:$out" "^2:herd bench: bad value for --shard: '$v': "
done
out=$(SLURM_PROCID=4 SLURM_NTASKS=4 SLURM_STEP_ID=0 $HERD bench -n 10 "$URL/" 2>&1 >/dev/null)
expect_match "SLURM_PROCID=4 of SLURM_NTASKS=4: exit 2, named" "$?:$out" \
	"^2:herd bench: bad value for SLURM_PROCID/SLURM_NTASKS: '4/4': the shard index I must be below N"
out=$(JOB_COMPLETION_INDEX=1 $HERD bench -n 10 "$URL/" 2>&1 >/dev/null)
expect_match "JOB_COMPLETION_INDEX without HERD_SHARDS: exit 2" "$?:$out" \
	"^2:herd bench: bad value for JOB_COMPLETION_INDEX/HERD_SHARDS: '1/': HERD_SHARDS is not set"
out=$($HERD bench --shard auto -n 10 "$URL/" 2>&1 >/dev/null)
expect_match "--shard auto with no shard around: exit 2" "$?:$out" "^2:herd bench: --shard auto: no shard in the environment"
out=$($HERD bench --shard 1/4 -c 3 -n 100 "$URL/" 2>&1 >/dev/null)
expect_match "-c 3 in 4 shards: refused, exit 2" "$?:$out" \
	"^2:herd bench: -c 3 is fewer connections than shards \(1/4 from --shard\): each shard needs at least one; give -c 4 or more"
out=$($HERD bench --shard 0/4 -c 4 -n 3 "$URL/" 2>&1 >/dev/null)
expect_match "-n 3 in 4 shards: refused, exit 2" "$?:$out" "^2:herd bench: -n 3 is fewer requests than shards"

# The environment's shard: Slurm's inside a step, not in the batch shell.
SLURM_PROCID=2 SLURM_NTASKS=4 SLURM_STEP_ID=0 $HERD bench -n 10 -c 4 --json "$TMP/s.json" "$URL/" >"$TMP/s.out" 2>"$TMP/s.err"
expect_eq "an srun task: shard 2/4 of -n 10 -c 4 = 2 requests on 1 connection" \
	"$(jget "$TMP/s.json" '["shard"]["source"]') $(jget "$TMP/s.json" '["done"]') $(jget "$TMP/s.json" '["config"]["connections"]')" \
	"SLURM_PROCID/SLURM_NTASKS 2 1"
expect_eq "... said on stderr" "$(cat "$TMP/s.err")" \
	"herd bench: shard 2/4 (from SLURM_PROCID/SLURM_NTASKS): 2 of 10 requests, 1 of 4 connections"
expect_eq "... and first in the summary" "$(head -1 "$TMP/s.out")" \
	"  shard      2/4 (from SLURM_PROCID/SLURM_NTASKS) of a run of 10 requests, 4 connections"
SLURM_PROCID=0 SLURM_NTASKS=4 $HERD bench -n 10 -c 4 --json "$TMP/s.json" "$URL/" >/dev/null 2>&1
expect_eq "the batch script's shell (no SLURM_STEP_ID): no shard, the whole run" \
	"$(jget "$TMP/s.json" '["shard"]') $(jget "$TMP/s.json" '["done"]')" "None 10"
SLURM_PROCID=1 SLURM_NTASKS=4 SLURM_STEP_ID=0 $HERD bench --shard 0/1 -n 10 --json "$TMP/s.json" "$URL/" >/dev/null 2>&1
expect_eq "--shard 0/1 overrides the environment: the whole run" "$(jget "$TMP/s.json" '["done"]')" 10

# --start-at: late is refused; a start ahead is when the run begins.
out=$($HERD bench --start-at $(($(date +%s) - 5)) -n 1 "$URL/" 2>&1 >/dev/null)
expect_match "--start-at 5 s ago: exit 2" "$?:$out" "^2:herd bench: bad value for --start-at: '[0-9]+': .* is [0-9.]+ s in the past"
for v in 1796603851000 2026-12-07T00:40:00 +2d x; do
	out=$($HERD bench --start-at "$v" -n 1 "$URL/" 2>&1 >/dev/null)
	expect_match "--start-at $v: exit 2, named" "$?:$out" "^2:herd bench: bad value for --start-at: '${v//+/\\+}': "
done

# Three shards started together, merged.
at=$($PY -c 'import time; print("%.3f" % (time.time() + 2))')
before=$(served)
for i in 0 1 2; do
	$HERD bench --shard $i/3 --start-at "$at" -t 1 -n 301 -c 5 --json "$TMP/m$i.json" --hlog "$TMP/m$i.hlog" \
		"$URL/" "$URL/nope" >"$TMP/m$i.out" 2>&1 &
	track_pid $!
done
for p in "${_pids[@]: -3}"; do wait "$p"; done
expect_eq "3 shards, a 404 URL beside: no errors in any" "$(cat "$TMP"/m?.out | grep -c 'errors     none')" 3
expect_eq "--start-at: the run began at the moment asked for, never before" "$($PY -c '
import json, sys
d = [json.load(open(f)) for f in sys.argv[2:]]
at = int(sys.argv[1].replace(".", "")) * 10**6  # 3 decimals: exact in ns
print(all(x["start_at_ns"] == at and x["start_epoch_ns"] >= at for x in d))' "$at" "$TMP"/m?.json)" True
expect_eq "--start-at: each .hlog starts at it" "$(grep -h '^#\[StartTime: ' "$TMP"/m?.hlog | cut -d' ' -f2 | sort -u)" "$at"
$HERD bench --merge-json "$TMP"/m?.json --json "$TMP/total.json" >"$TMP/merge.out"; rc=$?
expect_eq "--merge-json: exit 0, 301 done = the server's count, 151 x 200 and 150 x 404" \
	"$rc $(jget "$TMP/total.json" '["done"]') $(($(served) - before - 1)) $(jget "$TMP/total.json" '["status"]')" \
	"0 301 301 {'200': 151, '404': 150}"
expect_match "--merge-json: the summary says what it merged" "$(head -1 "$TMP/merge.out")" \
	"^  merged     3 JSON files, 3 of 3 shards, from [0-9T:.-]+Z, [0-9.]+ s from the first start to the last end$"
hist=$($HERD hist --merge --divisor 1 -P 50,90,99 "$TMP"/m?.hlog 2>/dev/null |
	sed -n 's/^Values p50:\([0-9]*\)\.00 p90:\([0-9]*\)\.00 p99:\([0-9]*\)\.00$/\1 \2 \3/p')
expect_eq "--merge-json's percentiles = herd hist --merge of the shards' .hlog" \
	"$($PY -c 'import json,sys; l = json.load(open(sys.argv[1]))["latency"]; print(l["p50"], l["p90"], l["p99"])' "$TMP/total.json")" \
	"$hist"
$HERD bench --merge-json "$TMP/total.json" --json "$TMP/again.json" >/dev/null
expect_eq "a merged JSON merges again to the same" \
	"$($PY -c 'import json,sys; a, b = (json.load(open(f)) for f in sys.argv[1:]); print(all(a[k] == b[k] for k in ("done", "status", "latency", "histograms", "errors")))' "$TMP/total.json" "$TMP/again.json")" True
out=$($HERD bench --merge-json "$TMP/m0.json" "$TMP/m1.json" "$TMP/m0.json" 2>&1 >/dev/null)
expect_eq "--merge-json: a shard twice is refused" "$?:$out" \
	"1:herd bench --merge-json: $TMP/m0.json: shard 0/3 a second time: it would count twice"
out=$($HERD bench --merge-json -c 4 "$TMP/m0.json" 2>&1 >/dev/null)
expect_match "--merge-json -c 4: a run option, exit 2" "$?:$out" "^2:herd bench: --merge-json reads JSON files: -c belongs to a run"
$PY -c 'import json,sys; d = json.load(open(sys.argv[1])); del d["histograms"]; json.dump(d, open(sys.argv[2], "w"))' "$TMP/m0.json" "$TMP/old.json"
out=$($HERD bench --merge-json "$TMP/old.json" 2>&1 >/dev/null)
expect_match "--merge-json of a JSON without histograms: exit 1, says what to do" "$?:$out" \
	"^1:herd bench --merge-json: $TMP/old.json: no \"histograms\" .* herd hist --merge instead"

JOB=docs/deploy/herd-bench-job.yaml
MERGE=docs/deploy/herd-bench-merge.yaml


if ! $PY -c 'import yaml' 2>/dev/null; then
	skip "python3-yaml not installed (scripts/setup.sh test)"
else
	# The start filled in as the manifest's own comment says.
	sed "s/@START_AT@/$(($(date +%s) + 60))/" "$JOB" >"$TMP/job.yaml"
	expect_eq "the manifests are YAML: a PVC and an Indexed Job, and a Pod" "$($PY - "$TMP/job.yaml" "$MERGE" <<'EOF'
import sys, yaml
docs = [d for f in sys.argv[1:] for d in yaml.safe_load_all(open(f))]
print(" ".join(d["kind"] for d in docs))
EOF
)" "PersistentVolumeClaim Job Pod"
	expect_eq "the Job's parts fit together" "$($PY - "$TMP/job.yaml" "$MERGE" <<'EOF'
import re, sys, yaml
pvc, job = yaml.safe_load_all(open(sys.argv[1]))
pod = yaml.safe_load(open(sys.argv[2]))
s, t = job["spec"], job["spec"]["template"]["spec"]
c = t["containers"][0]
env = {e["name"]: e["value"] for e in c["env"]}
mount = c["volumeMounts"][0]["mountPath"]
args = c["args"]
problems = []
if s["completionMode"] != "Indexed": problems.append("not Indexed")
if not (s["completions"] == s["parallelism"] == int(env["HERD_SHARDS"])): problems.append("completions, parallelism, HERD_SHARDS differ")
if t.get("hostNetwork") is not True: problems.append("no hostNetwork")
if t["restartPolicy"] != "Never" or s.get("backoffLimit") != 0: problems.append("a shard could be retried, late")
if not re.fullmatch(r"[0-9]+", env["HERD_START_AT"]): problems.append("HERD_START_AT not filled in")
if args[args.index("--start-at") + 1] != "$(HERD_START_AT)": problems.append("--start-at is not HERD_START_AT")
for flag in ("--json", "--hlog"):
    v = args[args.index(flag) + 1]
    if not (v.startswith(mount + "/") and "$(JOB_COMPLETION_INDEX)" in v): problems.append(flag + " not per shard on the volume")
claim = t["volumes"][0]["persistentVolumeClaim"]["claimName"]
if claim != pvc["metadata"]["name"] or pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] != claim: problems.append("not one volume")
if "ReadWriteMany" not in pvc["spec"]["accessModes"]: problems.append("the volume is not shared")
print(", ".join(problems) or "ok")
EOF
)" ok

	# The pod's command line, as Kubernetes expands it, run here as shard 1.
	mkdir -p "$TMP/results"
	$PY - "$TMP/job.yaml" "$TMP/results" "$URL/" >"$TMP/args" <<'EOF'
import re, sys, yaml
job = list(yaml.safe_load_all(open(sys.argv[1])))[1]
c = job["spec"]["template"]["spec"]["containers"][0]
mount = c["volumeMounts"][0]["mountPath"]
env = {e["name"]: e["value"] for e in c["env"]}
env["JOB_COMPLETION_INDEX"] = "1"
args, small = c["command"][1:] + c["args"], {"-d": "1s", "--rate": "200", "-c": "8"}
for i, a in enumerate(args):
    a = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env[m.group(1)], a)
    if i > 0 and args[i - 1] in small:
        a = small[args[i - 1]]
    if a.startswith("http://"):
        a = sys.argv[3]
    print(a.replace(mount + "/", sys.argv[2] + "/"))
EOF
	mapfile -t args <"$TMP/args"
	shards=$(grep -A1 'name: HERD_SHARDS' "$JOB" | sed -n 's/.*value: "\([0-9]*\)".*/\1/p')
	JOB_COMPLETION_INDEX=1 HERD_SHARDS=$shards timeout 30 $HERD "${args[@]}" --start-at +0.2 >"$TMP/pod.out" 2>"$TMP/pod.err"
	expect_eq "the pod's command line runs: exit 0" "$?" 0
	expect_eq "shard 1 of HERD_SHARDS from JOB_COMPLETION_INDEX, its files named by it" \
		"$(jget "$TMP/results/shard-1.json" '["shard"]["index"]')/$(jget "$TMP/results/shard-1.json" '["shard"]["count"]') $(jget "$TMP/results/shard-1.json" '["shard"]["source"]') $(test -s "$TMP/results/shard-1.hlog" && echo hlog)" \
		"1/$shards JOB_COMPLETION_INDEX/HERD_SHARDS hlog"
	expect_eq "its part: 8/$shards connections, 200/$shards req/s" \
		"$(jget "$TMP/results/shard-1.json" '["config"]["connections"]') $(jget "$TMP/results/shard-1.json" '["config"]["rate"]')" \
		"$((8 / shards)) $((200 / shards))"
	# The merge pod's command, on the one shard there is: the missing ones named.
	$HERD bench --merge-json "$TMP"/results/shard-*.json --json "$TMP/results/total.json" >/dev/null 2>"$TMP/merge.err"
	expect_eq "--merge-json of shard 1 alone: exit 1, the others named missing" \
		"$?:$(cat "$TMP/merge.err")" \
		"1:herd bench: --merge-json: 1 of $shards shards merged; missing: 0 2 3 (the totals cover the others only)"
fi

# kubectl_accepts FILE KINDS [KUBECTL OPTIONS]: kubectl create (its cache in $TMP)
# --dry-run=client -o yaml turns FILE into objects of KINDS, still Indexed
# where it was. Against a configured cluster that cannot be reached, a
# skip; against the stub (kube_stub=1) every failure is one.
kube_stub=0
kubectl_accepts() {
	local f=$1 kinds=$2 out
	shift 2
	if ! out=$(timeout 30 kubectl create --dry-run=client -o yaml --request-timeout=10s --cache-dir="$TMP/kube-cache" "$@" -f "$f" 2>&1); then
		if [ $kube_stub = 0 ] && printf '%s' "$out" | grep -Eq 'connection refused|Unable to connect|failed to download openapi|no such host|i/o timeout'; then
			skip "kubectl cannot reach its cluster: $(printf '%s' "$out" | head -1 | cut -c1-160)"
		else
			not_ok "kubectl create --dry-run=client accepts $f" "$out"
		fi
		return
	fi
	expect_eq "kubectl create --dry-run=client -o yaml accepts $f${*:+ ($*)}" "$(printf '%s\n' "$out" | $PY -c '
import sys, yaml
docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
docs = [x for d in docs for x in (d["items"] if d["kind"] == "List" else [d])]
print(" ".join(d["kind"] for d in docs), all(d["spec"].get("completionMode", "Indexed") == "Indexed" for d in docs))')" "$kinds True"
}
if ! command -v kubectl >/dev/null; then
	skip "kubectl not installed"
elif ! $PY -c 'import yaml' 2>/dev/null; then
	skip "python3-yaml not installed: kubectl's output cannot be read"
elif [ -n "${KUBECONFIG:-}" ] || [ -e "$HOME/.kube/config" ]; then
	kubectl_accepts "$TMP/job.yaml" "PersistentVolumeClaim Job"
	kubectl_accepts "$MERGE" Pod
else
	# No cluster: a stub answers kubectl's discovery requests, so that the
	# dry run itself runs (without schema validation, which needs a real
	# API server's OpenAPI documents).
	kport=$(free_port)
	$PY tests/cli/bench/kube_stub.py "$kport" 2>"$TMP/kube_stub.err" &
	track_pid $!
	wait_port "$kport" 10 || { echo "Bail out! kube_stub.py did not start: $(cat "$TMP/kube_stub.err")"; exit 1; }
	cat >"$TMP/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: stub, cluster: {server: "http://127.0.0.1:$kport"}}]
contexts: [{name: stub, context: {cluster: stub, namespace: default}}]
current-context: stub
users: []
EOF
	export KUBECONFIG=$TMP/kubeconfig
	kube_stub=1
	kubectl_accepts "$TMP/job.yaml" "PersistentVolumeClaim Job" --validate=false
	kubectl_accepts "$MERGE" Pod --validate=false
	skip "kubectl's schema validation: no cluster here (a stub answered discovery only)"
fi
done_testing
