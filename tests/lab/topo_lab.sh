#!/usr/bin/env bash
# topo_lab.sh - `ktcap record` on the lab node while the standard traffic
# runs, then `ktana topo --level pod --format json` held against the
# traffic's ground truth (truth.json) and the lab's description (lab.json):
# exact edges with exact connection counts and failure causes, ClusterIP
# connections attributed to the service and to the backend that served
# them, each connection counted once although client and server both saw it.
#
# The Kubernetes objects come from the lab's API server (kube-apiserver.py,
# run in the node's netns, serving the lab's pods, owners and services as
# lab_k8s_scenario.py describes them) through the real kubectl: pods by name,
# services by name, workloads folding. The same bundle without its k8s/ tree
# shows what the node alone tells: pods by the UID of their cgroup, ClusterIPs
# as services by their DNAT, other addresses "unattributed". There are no DNS
# records (no pcap source), so the external host is known by its address.
#
# Needs root and BPF; skips (77) with the reason only where BPF cannot load.
set -u
here=$(cd "$(dirname "$0")" && pwd)
B=${KT_BUILD_DIR:?set KT_BUILD_DIR to the build directory}
. "$here/lib.sh"
ktlab_require_root || exit 77
ktlab_require_bpf "$B/ktcap" || exit 77

T=$(mktemp -d /tmp/kt-topo-lab-XXXXXX)
REC= SRV=
cleanup() {
	[ -n "$REC" ] && kill -KILL "$REC" 2>/dev/null
	[ -n "$SRV" ] && kill "$SRV" 2>/dev/null && wait "$SRV" 2>/dev/null
	ktlab_down
	[ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}
ktlab_up || { echo "FAIL: lab did not come up"; exit 1; }
trap cleanup EXIT

pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() {	# check DESCRIPTION WANT GOT
	if [ "$2" = "$3" ]; then ok; else bad "$1: wanted '$2', got '$3'"; fi
}

# the lab's API server, on the node's loopback where ktcap runs kubectl
python3 "$here/lab_k8s_scenario.py" "$KTLAB_JSON" ktlab-node >"$T/scenario.json" ||
	{ echo "FAIL: no scenario"; exit 1; }
nsenter --net="$KTLAB_NODE_NETNS" python3 "$here/kube-apiserver.py" "$T/scenario.json" \
	--port-file "$T/port" 2>"$T/apiserver.err" &
SRV=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || { echo "FAIL: lab API server did not start: $(cat "$T/apiserver.err")"; exit 1; }
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

ktlab_record_traffic "$T/record.err" env HOME="$T" "$B/ktcap" -q record -o "$T/lab.tar.zst" \
	--sources host,bpf,conntrack,k8s --kubeconfig "$T/kubeconfig" --k8s-interval 2s \
	--node ktlab-node
rc=$?
check "ktcap record and the traffic" 0 "$rc"
[ "$rc" = 0 ] || cat "$T/record.err"
cp "$KTLAB_TRUTH" "$T/truth.json"
# the same bundle without its Kubernetes objects
mkdir "$T/nok8s" && tar -xf "$T/lab.tar.zst" -C "$T/nok8s" && rm -r "$T/nok8s/k8s" ||
	bad "cannot unpack the bundle"
"$B/ktana" topo --level pod --format json "$T/nok8s" >"$T/topo.json" ||
	bad "ktana topo (no k8s) failed"
"$B/ktana" topo --level pod --format json "$T/lab.tar.zst" >"$T/k8s.json" ||
	bad "ktana topo failed"
"$B/ktana" topo --level workload --format json "$T/lab.tar.zst" >"$T/wl.json" ||
	bad "ktana topo --level workload failed"
"$B/ktana" topo --level pod --format dot "$T/lab.tar.zst" >"$T/topo.dot" ||
	bad "ktana topo --format dot failed"

L=$KTLAB_JSON
uid() { echo "pod:uid/$(jq -r --arg p "$1" '.pods[] | select(.lab == $p) | .uid' "$L" | tr _ -)"; }
podip() { jq -r --arg p "$1" '.pods[] | select(.lab == $p) | .ip' "$L"; }
svc() { jq -r --arg n "$1" '.services[] | select(.name == $n) | .cluster_ip' "$L"; }
truth() { jq -r "$1" "$T/truth.json"; }
steps() { truth "[.connections[] | select(.step == \"$1\")] | length"; }
CLIENT=$(uid client)
# edge SRC DST PORT JQ [FILE] -> the JQ of that one edge ("none" when absent)
edge() {
	jq -r --arg s "$1" --arg d "$2" --argjson p "$3" \
		"[.edges[] | select(.src == \$s and .dst == \$d and .port == \$p)] |
		 if length == 1 then .[0] | $4 elif length == 0 then \"none\" else \"twice\" end" \
		"${5:-$T/topo.json}"
}

# ==== with the Kubernetes objects: everything by name ====
pn() { jq -r --arg p "$1" '.pods[] | select(.lab == $p) | "pod:\(.namespace)/\(.name)"' "$L"; }
K=$T/k8s.json
PC=$(pn client)
check "k8s: client -> web-a by name" "$(steps short)" "$(edge "$PC" "$(pn web-a)" 80 .connections "$K")"
check "k8s: web Service, served by web-a and web-b" \
	"$(steps cluster) $(pn web-a)=$(truth '[.connections[] | select(.step == "cluster" and .served_by == "web-a")] | length') $(pn web-b)=$(truth '[.connections[] | select(.step == "cluster" and .served_by == "web-b")] | length')" \
	"$(edge "$PC" service:shop/web 80 '"\(.connections) \(.backends | sort_by(.id) | map("\(.id)=\(.connections)") | join(" "))"' "$K")"
check "k8s: redis Service served by redis-0" "1 $(pn redis)" \
	"$(edge "$PC" service:shop/redis 6379 '"\(.connections) \(.backends[0].id)"' "$K")"
check "k8s: DNS through kube-dns to coredns" "$(steps dns) $(pn dns)" \
	"$(edge "$PC" service:kube-system/kube-dns 53 '"\(.connections) \(.backends[0].id)"' "$K")"
for c in "9002 refused" "9001 timeout" "9000 reset"; do
	check "k8s: flaky:${c% *} ${c#* }" "1 {\"${c#* }\":1}" \
		"$(edge "$PC" "$(pn flaky)" "${c% *}" '"\(.connections) \(.failed | tojson)"' "$K")"
done
check "k8s: the Service without endpoints, refused" '1 {"refused":1} 1' \
	"$(edge "$PC" service:shop/noep 80 '"\(.connections) \(.failed | tojson) \(.unknown_backend)"' "$K")"
check "k8s: the external host" "$(steps external) external" \
	"$(edge "$PC" "external:$KTLAB_EXT_IP" 80 '"\(.connections) \(.dst | split(":")[0])"' "$K")"
check "k8s: web-a's workload" "workload:shop/Deployment/web" \
	"$(jq -r --arg p "$(pn web-a)" '.nodes[] | select(.id == $p) | .workload' "$K")"
check "k8s: the client's container" "$(jq -r '.pods[] | select(.lab == "client") | "\(.container) \(.container_id)"' "$L")" \
	"$(jq -r --arg p "$PC" '.nodes[] | select(.id == $p) | .containers[] | "\(.name) \(.container_id)"' "$K")"
check "k8s: connections from the client" "$(truth '.connections | length')" \
	"$(jq --arg s "$PC" '[.edges[] | select(.src == $s) | .connections] | add' "$K")"
# --level workload: web-a and web-b are one node
check "workload: client -> Deployment web" "$(steps short)" \
	"$(edge "$PC" workload:shop/Deployment/web 80 .connections "$T/wl.json")"
check "workload: web Service backends folded" "workload:shop/Deployment/web=$(steps cluster)" \
	"$(edge "$PC" service:shop/web 80 '.backends | map("\(.id)=\(.connections)") | join(" ")' "$T/wl.json")"
check "workload: no web pod left" 0 \
	"$(jq '[.nodes[] | select(.id | startswith("pod:shop/web"))] | length' "$T/wl.json")"

# ==== without them: what the node alone tells ====

# -- direct to web-a's pod IP: both halves seen, each counted once
check "client -> web-a:80" "$(steps short) 0 {}" \
	"$(edge "$CLIENT" "$(uid web-a)" 80 '"\(.connections) \(.connections - .established) \(.failed)"')"

# -- through the web ClusterIP: the service, and the backend that served each
WEB="service:$(svc web):80"
check "client -> web ClusterIP" "$(steps cluster)" "$(edge "$CLIENT" "$WEB" 80 .connections)"
for p in web-a web-b; do
	check "web ClusterIP served by $p" \
		"$(truth "[.connections[] | select(.step == \"cluster\" and .served_by == \"$p\")] | length")" \
		"$(edge "$CLIENT" "$WEB" 80 "[.backends[] | select(.id == \"$(uid $p)\") | .connections] | add // 0")"
done
check "web ClusterIP: every backend known" 0 "$(edge "$CLIENT" "$WEB" 80 .unknown_backend)"
check "redis ClusterIP served by redis" "1 $(uid redis)" \
	"$(edge "$CLIENT" "service:$(svc redis):6379" 6379 '"\(.connections) \(.backends[0].id)"')"
check "DNS queries to kube-dns, served by the dns pod" "$(steps dns) udp $(uid dns)" \
	"$(edge "$CLIENT" "service:$(svc kube-dns):53" 53 '"\(.connections) \(.protocol) \(.backends[0].id)"')"

# -- failures, each with its cause
FLAKY=$(podip flaky)
check "refused by flaky:9002" '1 {"refused":1}' \
	"$(edge "$CLIENT" "unattributed:$FLAKY" 9002 '"\(.connections) \(.failed | tojson)"')"
check "timed out on flaky:9001" '1 {"timeout":1}' \
	"$(edge "$CLIENT" "unattributed:$FLAKY" 9001 '"\(.connections) \(.failed | tojson)"')"
check "reset by flaky:9000 (its server half names the pod)" '1 {"reset":1}' \
	"$(edge "$CLIENT" "$(uid flaky)" 9000 '"\(.connections) \(.failed | tojson)"')"
check "refused by a Service without endpoints" '1 {"refused":1}' \
	"$(edge "$CLIENT" "unattributed:$(svc noep)" 80 '"\(.connections) \(.failed | tojson)"')"

# -- the external host (no DNS records in this bundle: by address)
check "client -> external" "$(steps external)" \
	"$(edge "$CLIENT" "unattributed:$KTLAB_EXT_IP" 80 .connections)"

# -- nothing else leaves the client, and nothing counted twice
check "connections from the client" \
	"$(truth '.connections | length')" \
	"$(jq --arg s "$CLIENT" '[.edges[] | select(.src == $s) | .connections] | add' "$T/topo.json")"
check "edges from the client" 9 \
	"$(jq --arg s "$CLIENT" '[.edges[] | select(.src == $s)] | length' "$T/topo.json")"
check "DOT output is a digraph" 1 "$(grep -c '^digraph topology' "$T/topo.dot")"

echo "topo_lab: $pass passed, $fail failed"
[ "$fail" = 0 ]
