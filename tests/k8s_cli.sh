#!/usr/bin/env bash
# k8s_cli.sh BUILD_DIR KUBECTL - `ktcap record --sources k8s` against the lab
# API server through the real kubectl, then `ktana k8s ... get`: the bundle
# holds snapshots, watches and the errors of a denied and a hanging
# resource, and none of the planted secrets. Starts and stops its server.
# Then a kubectl that fails with credentials on its stderr: the packed
# bundle (every file) and ktcap's own output hold none of them, and hold the
# scrubbed message.
set -u
B=${1:?usage: k8s_cli.sh BUILD_DIR KUBECTL}
KUBECTL=${2:?usage: k8s_cli.sh BUILD_DIR KUBECTL}
S=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/kt-k8scli-XXXXXX)
srv=
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
export HOME=$T	# kubectl's discovery cache

python3 "$S/lab/kube-apiserver.py" "$S/lab/k8s-scenario.json" --port-file "$T/port" &
srv=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || { echo "FAIL: lab API server did not start" >&2; exit 1; }
cat >"$T/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster: {server: "http://127.0.0.1:$(cat "$T/port")"}
users:
- name: lab
  user: {}
contexts:
- name: lab
  context: {cluster: lab, user: lab}
current-context: lab
KC

"$B/ktcap" record -o "$T/b.tar.zst" --sources k8s --duration 3s --k8s-interval 1s \
	--kubectl "$KUBECTL" --kubeconfig "$T/kubeconfig" >"$T/rec.out" 2>"$T/rec.err" &&
	ok || bad "ktcap record failed: $(cat "$T/rec.err")"

"$B/ktana" k8s "$T/b.tar.zst" get pods -n lab -o wide >"$T/pods" 2>"$T/err" && ok ||
	bad "ktana k8s get pods: $(cat "$T/err")"
grep -q '^lab *web-6d4f8-aaaaa .* 198\.18\.1\.5 *lab-node-1 *Deployment/web' "$T/pods" &&
	ok || bad "pod, IP, node and workload: $(cat "$T/pods")"
"$B/ktana" k8s "$T/b.tar.zst" get svc web -o json >"$T/svc.json" && ok || bad "get svc -o json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["items"][0]["spec"]["clusterIPs"] == ["198.18.100.10"]' \
	"$T/svc.json" && ok || bad "service JSON: $(head -c 300 "$T/svc.json")"
"$B/ktana" k8s --at start "$T/b.tar.zst" get deploy >"$T/deploy" && ok || bad "get --at start"
grep -q '^lab *web *2/2' "$T/deploy" && ok || bad "deployment at start: $(cat "$T/deploy")"
"$B/ktana" k8s "$T/b.tar.zst" get secrets >/dev/null 2>&1
[ $? = 2 ] && ok || bad "get secrets is a usage error"

"$B/ktana" info --json "$T/b.tar.zst" >"$T/info.json" && ok || bad "ktana info"
python3 - "$T/info.json" <<'PY' && ok || bad "manifest: $(head -c 600 "$T/info.json")"
import json, sys
m = json.load(open(sys.argv[1]))
k = m["sources"]["k8s"]
assert k["status"] == "partial", k["status"]
classes = {e["resource"]: e["class"] for e in k["errors"]}
assert classes["persistentvolumeclaims"] == "denied", classes
assert classes["ingresses"] in ("timeout", "interrupted"), classes
assert m["redaction"]["k8s"]["secrets_dropped"] >= 1
PY

mkdir "$T/x" && tar -xf "$T/b.tar.zst" -C "$T/x" && ok || bad "bundle does not unpack"
[ -s "$T/x/k8s/snapshots/000001/pods/lab.json" ] && ok || bad "no first pods snapshot"
[ -s "$T/x/k8s/watch/pods.jsonl" ] && ok || bad "no pods watch"
if grep -rqaE 'PLANTED-(SECRET|ENV|CM|TOKEN)|UExBTlRFRC1TRUNSRVQtVkFMVUUtN2YzYQ' "$T/x"; then
	bad "a planted secret is in the bundle"
else
	ok
fi

# ---- a kubectl that echoes credentials when it fails ----------------------
cat >"$T/kubectl-leaky" <<'SH'
#!/bin/sh
case "$*" in
*version*)
	echo 'Unable to connect to the server: Get "https://admin:PLANTED-URLPASS-31c4@198.18.0.1:6443/version": dial tcp 198.18.0.1:6443: connect: connection refused' >&2 ;;
*watch*)
	echo 'error: You must be logged in to the server (Unauthorized): Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJQTEFOVEVELUpXVCJ9.c2lnbmF0dXJl' >&2 ;;
*)
	printf '%s\n' 'Error from server (Invalid): {"kind":"Secret","data":{"db":"UExBTlRFRC1EQVRBLTc3"}} password=PLANTED-PASSWORD-9f0b --token=PLANTED-FLAG-TOKEN-77aa UExBTlRFRC1CQVNFNjQtREFUQS0xMjM0NTY3OA==' >&2 ;;
esac
exit 1
SH
chmod +x "$T/kubectl-leaky"
"$B/ktcap" record -o "$T/leak.tar.zst" --sources k8s --duration 2s \
	--kubectl "$T/kubectl-leaky" >"$T/leak.out" 2>"$T/leak.err"
[ -s "$T/leak.tar.zst" ] && ok || bad "no bundle with a failing kubectl: $(cat "$T/leak.err")"
tar -xOf "$T/leak.tar.zst" >"$T/leak.all" && ok || bad "leak bundle does not unpack"
tar -xOf "$T/leak.tar.zst" manifest.json >"$T/leak.manifest" && ok || bad "no manifest.json"
for s in PLANTED-URLPASS-31c4 admin: eyJhbGciOiJSUzI1NiJ9 eyJzdWIiOiJQTEFOVEVELUpXVCJ9 \
	UExBTlRFRC1EQVRBLTc3 PLANTED-PASSWORD-9f0b PLANTED-FLAG-TOKEN-77aa \
	UExBTlRFRC1CQVNFNjQtREFUQS0xMjM0NTY3OA; do
	grep -qaF -- "$s" "$T/leak.all" && bad "the bundle holds '$s'" || ok
	grep -qaF -- "$s" "$T/leak.out" "$T/leak.err" && bad "ktcap printed '$s'" || ok
done
python3 - "$T/leak.manifest" <<'PY' && ok || bad "leak manifest: $(head -c 1500 "$T/leak.manifest")"
import json, sys
m = json.load(open(sys.argv[1]))
k = m["sources"]["k8s"]
r = "[redacted by ktcap]"
msgs = {e["resource"] + "/" + e["call"]: e["message"] for e in k["errors"]}
assert msgs["version/version"] == ("exit status 1: Unable to connect to the server: Get "
    '"https://' + r + '@198.18.0.1:6443/version": dial tcp 198.18.0.1:6443: connect: '
    "connection refused"), msgs["version/version"]
assert msgs["pods/list"] == ('exit status 1: Error from server (Invalid): {"kind":"Secret",'
    '"data":{' + r + '}} password=' + r + " --token=" + r + " " + r), msgs["pods/list"]
assert k["watches"]["pods"]["last_error"] == ("exit status 1: error: You must be logged in "
    "to the server (Unauthorized): Authorization: Bearer " + r), k["watches"]["pods"]
assert {e["class"] for e in k["errors"] if e["call"] == "watch"} == {"unauthorized"}
n = m["redaction"]["k8s"]["kubectl_messages_scrubbed"]
assert n == sum(r in e["message"] for e in k["errors"]) and n >= 3, (n, k["errors"])
PY

echo "k8s_cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
