#!/usr/bin/env bash
# ktgen_k8s.sh BUILD_DIR - the synthetic cluster with its Kubernetes objects
# (`ktgen --k8s`), read back by the real tools: packed by `ktcap pack`,
# verified, indexed by `ktana k8s`, and turned into a topology by `ktana
# topo` that must match, edge by edge, what ktgen says it wrote (--truth):
# every pod by name, no endpoint unattributed, half the edges through a
# Service with the backends conntrack named, exact connection counts, bytes,
# failures. 300 pods: more than the 254 addresses of one /24, so distinct
# pod addresses are checked too. The same spool without --k8s (same seed,
# same connections) is checked against its own truth.
set -u
B=${1:?usage: ktgen_k8s.sh BUILD_DIR}
S=$(cd "$(dirname "$0")" && pwd)
. "$S/assert.sh"
T=$(mktemp -d /tmp/kt-ktgenk8s-XXXXXX)
trap 'rm -rf "$T"' EXIT
PODS=300 EDGES=600 FLOWS=20000

# the edges of a topology (or of a truth file), equal keys added up, so
# that ktgen's edges (one per generated edge) and ktana's compare
cat >"$T/norm.jq" <<'JQ'
def sum(f): map(f // 0) | add;
.edges | group_by([.src, .dst, .port]) | map({
  src: .[0].src, dst: .[0].dst, protocol: .[0].protocol, port: .[0].port,
  connections: sum(.connections), established: sum(.established),
  failed: (map(.failed // {} | to_entries[]) | group_by(.key)
           | map({key: .[0].key, value: sum(.value)}) | from_entries),
  bytes_sent: sum(.bytes_sent), bytes_received: sum(.bytes_received),
  retransmits: sum(.retransmits), via_service: .[0].via_service,
  backends: (map(.backends // [] | .[]) | group_by([.id, .port])
             | map({id: .[0].id, port: .[0].port, connections: sum(.connections)})),
  unknown_backend: sum(.unknown_backend)})
JQ

run() {	# run NAME ARGS...: ktgen, pack, verify; the bundle is $T/NAME.tar.zst
	local n=$1
	shift
	"$B/tests/ktgen" "$T/$n" --flows $FLOWS --pods $PODS --edges $EDGES --seed 5 \
		--truth "$T/$n.truth.json" "$@" 2>"$T/$n.gen" || { bad "ktgen $*: $(cat "$T/$n.gen")"; return 1; }
	"$B/ktcap" -q pack "$T/$n" -o "$T/$n.tar.zst" --finished >/dev/null 2>"$T/err" ||
		{ bad "pack $n: $(cat "$T/err")"; return 1; }
	"$B/ktana" verify "$T/$n.tar.zst" >"$T/out" 2>&1 && ok || bad "verify $n: $(cat "$T/out")"
}

# ---- with the objects ---------------------------------------------------
run k8s --k8s || exit 1
K=$T/k8s.tar.zst
truth=$T/k8s.truth.json
conns=$(jq .connections "$truth")
grep -q "^ktgen: $conns connections" "$T/k8s.gen" && ok || bad "ktgen reports its count: $(cat "$T/k8s.gen")"

# the index finds what the k8s source would have listed
count() {	# count KIND: objects `ktana k8s get KIND` lists
	"$B/ktana" k8s "$K" get "$1" -o json 2>"$T/err" | jq '.items | length'
}
check "pods indexed" $PODS "$(count pods)"
check "deployments indexed" 10 "$(count deploy)"
check "replicasets indexed" 10 "$(count rs)"
check "services indexed" 10 "$(count svc)"
check "endpointslices indexed" 10 "$(count endpointslices)"
check "nodes indexed" 1 "$(count nodes)"
"$B/ktana" k8s "$K" get pods -o wide >"$T/pods" 2>"$T/err" && ok || bad "get pods: $(cat "$T/err")"
check "every pod on the node, owned by its Deployment, Running" $PODS \
	"$(grep -cE '^default +[a-z-]+-[a-z0-9]{10}-[a-z0-9]{5} +1/1 +Running .* synthetic-node-1 +Deployment/' "$T/pods")"
check "one address a pod" $PODS "$(awk 'NR > 1 { print $7 }' "$T/pods" | sort -u | wc -l)"
"$B/ktana" k8s "$K" get svc >"$T/svc" 2>"$T/err" && ok || bad "get svc: $(cat "$T/err")"
grep -qE '^default +redis-cart +ClusterIP +198\.18\.128\.14 ' "$T/svc" && ok || bad "services: $(cat "$T/svc")"
jq -e '.sources.k8s.status == "ok" and .sources.k8s.snapshots == 2 and
       .redaction.k8s.env_values_redacted > 0' "$T/k8s/manifest.json" >/dev/null &&
	ok || bad "manifest sources.k8s: $(jq -c '.sources.k8s' "$T/k8s/manifest.json")"

# pod level: exactly ktgen's edges
"$B/ktana" topo "$K" --level pod --format json >"$T/pod.json" 2>"$T/err" && ok || bad "topo: $(cat "$T/err")"
check "pod entities" "$(jq .pods_seen "$truth")" "$(jq '[.nodes[] | select(.kind == "pod")] | length' "$T/pod.json")"
check "no pod known only by its UID" 0 "$(jq '[.nodes[] | select(.id | startswith("pod:uid/"))] | length' "$T/pod.json")"
check "nothing unattributed" 0 "$(jq '[.nodes[] | select(.kind == "unattributed" or .kind == "external")] | length' "$T/pod.json")"
check "connections counted" "$conns" "$(jq .stats.connections "$T/pod.json")"
check "connections on edges" "$conns" "$(jq '[.edges[].connections] | add' "$T/pod.json")"
check "conntrack entries read" "$(($(jq .conntrack_entries "$truth") + 1))" "$(jq .stats.nat_entries "$T/pod.json")"
via=$(jq .via_service "$truth")
[ "$via" -gt $((conns / 3)) ] && ok || bad "a share of the connections goes through Services: $via of $conns"
check "connections through services" "$via" \
	"$(jq '[.edges[] | select(.via_service) | .connections] | add' "$T/pod.json")"
named=$(jq .backends_named "$truth")
[ "$named" -gt 0 ] && [ "$named" -lt "$via" ] && ok || bad "conntrack names some backends, not all: $named of $via"
check "backends named" "$named" "$(jq '[.edges[].backends // [] | .[].connections] | add' "$T/pod.json")"
check "backends are pods" 0 "$(jq '[.edges[].backends // [] | .[] | select(.id | startswith("pod:default/") | not)] | length' "$T/pod.json")"
jq -S -f "$T/norm.jq" "$truth" >"$T/want"
jq -S -f "$T/norm.jq" "$T/pod.json" >"$T/got"
if cmp -s "$T/want" "$T/got"; then ok; else bad "pod edges differ from ktgen's:"; diff "$T/want" "$T/got" | head -20; fi

# workload level: Deployments named like the workloads, services with backends
"$B/ktana" topo "$K" --level workload --format json >"$T/wl.json" 2>"$T/err" && ok || bad "topo --level workload: $(cat "$T/err")"
check "workloads are the Deployments" \
	"cartservice checkout currency email frontend payment productcatalog recommendation redis-cart shipping" \
	"$(jq -r '[.nodes[] | select(.kind == "workload" and .workload_kind == "Deployment") | .name] | sort | join(" ")' "$T/wl.json")"
check "only workloads and services" "service workload" "$(jq -r '[.nodes[].kind] | unique | join(" ")' "$T/wl.json")"
check "workload connections" "$conns" "$(jq '[.edges[].connections] | add' "$T/wl.json")"
check "edges from Deployments" 0 "$(jq '[.edges[] | select(.src | startswith("workload:default/Deployment/") | not)] | length' "$T/wl.json")"
check "service edges carry their service" 0 \
	"$(jq '[.edges[] | select((.dst | startswith("service:")) and .via_service != .dst)] | length' "$T/wl.json")"
check "backends fold to their Deployment" "$named" \
	"$(jq '[.edges[].backends // [] | .[] | select(.id | startswith("workload:default/Deployment/")) | .connections] | add' "$T/wl.json")"
check "the backend of a service is its own Deployment" 0 \
	"$(jq '[.edges[] | select(.via_service) | .via_service as $s | .backends[] | select(.id != ($s | sub("^service:default/"; "workload:default/Deployment/")))] | length' "$T/wl.json")"

# ---- without: the same connections, pods by UID, servers by address ----
run plain || exit 1
check "same connections with and without objects" "$conns" "$(jq .connections "$T/plain.truth.json")"
"$B/ktana" topo "$T/plain.tar.zst" --level pod --format json >"$T/plain.json" 2>"$T/err" && ok || bad "topo plain: $(cat "$T/err")"
check "plain: pods by UID" "$(jq .pods_seen "$T/plain.truth.json")" \
	"$(jq '[.nodes[] | select(.id | startswith("pod:uid/"))] | length' "$T/plain.json")"
check "plain: one address a pod" "$(jq '[.edges[].dst] | unique | length' "$T/plain.truth.json")" \
	"$(jq '[.nodes[] | select(.kind == "unattributed")] | length' "$T/plain.json")"
jq -S -f "$T/norm.jq" "$T/plain.truth.json" >"$T/want"
jq -S -f "$T/norm.jq" "$T/plain.json" >"$T/got"
if cmp -s "$T/want" "$T/got"; then ok; else bad "plain edges differ from ktgen's:"; diff "$T/want" "$T/got" | head -20; fi

echo "ktgen_k8s: $pass passed, $fail failed"
[ "$fail" = 0 ]
