# test_bench_deploy.sh - docs/deploy's Kubernetes manifests: valid YAML
# (python3-yaml), an Indexed Job whose parts fit together (completions =
# parallelism = HERD_SHARDS, host network, the results volume the merge pod
# reads), whose command line herd bench runs as a pod would (Kubernetes'
# $(VAR) expansion done here, JOB_COMPLETION_INDEX set, only -d, --rate, -c
# and the URL made small), and that `kubectl create --dry-run=client`
# accepts where kubectl has a cluster to ask (it fetches the API's resource
# types even for a client-side dry run); skipped lines say why otherwise.
. tests/lib.sh
. tests/cli/bench_common.sh
JOB=docs/deploy/herd-bench-job.yaml
MERGE=docs/deploy/herd-bench-merge.yaml

skip() { _n=$((_n + 1)); echo "ok $_n # skip $1"; }

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
	start_herd_serve --workers 2
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

if ! command -v kubectl >/dev/null; then
	skip "kubectl not installed"
elif [ -z "${KUBECONFIG:-}" ] && [ ! -e "$HOME/.kube/config" ]; then
	skip "kubectl has no cluster configured (no KUBECONFIG, no ~/.kube/config): kubectl create --dry-run=client still asks an API server for its resource types"
else
	for f in "$JOB" "$MERGE"; do
		if out=$(kubectl create --dry-run=client -o yaml --request-timeout=10s -f "$f" 2>&1); then
			expect_match "kubectl create --dry-run=client accepts $f" "$out" "^kind: (Job|Pod|PersistentVolumeClaim)"
		elif printf '%s' "$out" | grep -Eq 'connection refused|Unable to connect|unable to recognize|failed to download openapi|no such host|i/o timeout'; then
			skip "kubectl cannot reach its cluster: $(printf '%s' "$out" | head -1 | cut -c1-160)"
		else
			not_ok "kubectl create --dry-run=client accepts $f" "$out"
		fi
	done
fi
done_testing
