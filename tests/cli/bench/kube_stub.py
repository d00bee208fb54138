# kube_stub.py PORT - the least of a Kubernetes API server that lets
# `kubectl create --dry-run=client --validate=false` run: its discovery
# documents (/api, /apis and the resource lists of v1 and batch/v1, which
# kubectl reads to map a manifest's kinds to resources), nothing else.
# A client-side dry run sends no object; schema validation, which needs the
# server's OpenAPI documents, is not offered (test_bench_shard.sh says so).
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
R = {
 "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]},
 "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": [{"name": "batch", "versions": [{"groupVersion": "batch/v1", "version": "v1"}], "preferredVersion": {"groupVersion": "batch/v1", "version": "v1"}}]},
 "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
   {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod", "verbs": ["create", "get", "list"]},
   {"name": "persistentvolumeclaims", "singularName": "persistentvolumeclaim", "namespaced": True, "kind": "PersistentVolumeClaim", "verbs": ["create", "get", "list"]}]},
 "/apis/batch/v1": {"kind": "APIResourceList", "groupVersion": "batch/v1", "resources": [
   {"name": "jobs", "singularName": "job", "namespaced": True, "kind": "Job", "verbs": ["create", "get", "list"]}]},
}
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        p = self.path.split("?")[0]
        b = json.dumps(R[p]).encode() if p in R else b'{"kind":"Status","status":"Failure","code":404}'
        self.send_response(200 if p in R else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a): pass
HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
