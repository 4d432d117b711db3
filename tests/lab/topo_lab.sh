#!/usr/bin/env bash
# topo_lab.sh - `ktcap record` on the lab node while the standard traffic
# runs, then `ktana topo --level pod --format json` held against the
# traffic's ground truth (truth.json) and the lab's description (lab.json):
# exact edges with exact connection counts and failure causes, ClusterIP
# connections attributed to the service and to the backend that served
# them, each connection counted once although client and server both saw it.
# After the standard traffic, web-a is recreated with the same IP (new pod
# name, UID, netns, container; the API server's pod watch reports it before
# anyone talks to the new pod): connections before and after go to the
# right pod, also with --at; a program run on the node outside any pod shows
# as a host process.
#
# The Kubernetes objects come from the lab's API server (kube-apiserver.py,
# run in the node's netns, serving the lab's pods, owners and services as
# lab_k8s_scenario.py describes them) through the real kubectl: pods by name,
# services by name, workloads folding. The same bundle without its k8s/ tree
# shows what the node alone tells: pods by the UID of their cgroup, ClusterIPs
# as services by their DNAT, other addresses "unattributed". The pcap source
# decodes the DNS answers: the external host is named by the one the client
# got for it, with or without the Kubernetes objects.
#
# Needs root and BPF; skips (77) with the reason only where BPF cannot load.
set -u
here=$(cd "$(dirname "$0")" && pwd)
B=${KT_BUILD_DIR:?set KT_BUILD_DIR to the build directory}
. "$here/lib.sh"
ktlab_record_setup topo "$B/ktcap"

. "$here/../assert.sh"

# the lab's API server, on the node's loopback where ktcap runs kubectl
ktlab_apiserver "$T" || { echo "FAIL: no lab API server"; exit 1; }

# After the standard traffic: web-a before and after its recreation, each
# time with one keep-alive connection (1 s: alive at a moment --at can
# name), then a host process.
CLI=${KTLAB_CLIENT:-$KTLAB_STATE/ktlab_client}
more_traffic() {	# SPOOL
	ktlab exec client "$CLI" run --out "$T/old.json" --keepalive 1 "$KTLAB_WEB_A_IP:80" || return 1
	ktlab recreate web-a || return 1
	ktlab_k8s_sync >/dev/null || return 1
	ktlab_wait_file "$1/k8s/watch/pods.jsonl" "$KTLAB_WEB_A_UID" || return 1
	ktlab exec client "$CLI" run --out "$T/new.json" --keepalive 1 "$KTLAB_WEB_A_IP:80" \
		--short 5 "$KTLAB_WEB_A_IP:80" || return 1
	ktlab exec node "$CLI" run --out "$T/host.json" --short 2 "$KTLAB_WEB_B_IP:80"
}
KTLAB_MORE=more_traffic ktlab_record_traffic "$T/record.err" env HOME="$T" "$B/ktcap" -q record -o "$T/lab.tar.zst" \
	--sources host,bpf,conntrack,k8s,pcap --kubeconfig "$KTLAB_KUBECONFIG" --k8s-interval 2s \
	--node "$KTLAB_K8S_NODE"
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
uid() {
	if [ "$1" = old-web-a ]; then echo "pod:uid/$OLDA_UID"; return; fi
	echo "pod:uid/$(jq -r --arg p "$1" '.pods[] | select(.lab == $p) | .uid' "$L" | tr _ -)"
}
podip() { jq -r --arg p "$1" '.pods[] | select(.lab == $p) | .ip' "$L"; }
svc() { jq -r --arg n "$1" '.services[] | select(.name == $n) | .cluster_ip' "$L"; }
truth() { jq -r "$1" "$T/truth.json"; }
# the web-a of the standard traffic, before its recreation
OLDA_UID=$(jq -r '.events[] | select(.type == "recreate" and .pod == "web-a") | .old_uid' "$L")
OLDA_NAME=$(jq -r '.events[] | select(.type == "recreate" and .pod == "web-a") | .old_name' "$L")
OLDA_CID=$(jq -r '.events[] | select(.type == "recreate" and .pod == "web-a") | .old_container_id' "$L")
# connections of the extra traffic
more() { jq -r "$2" "$T/$1.json"; }
NOLD=$(more old '.connections | length') NNEW=$(more new '.connections | length')
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
pn() {
	if [ "$1" = old-web-a ]; then echo "pod:shop/$OLDA_NAME"; return; fi
	jq -r --arg p "$1" '.pods[] | select(.lab == $p) | "pod:\(.namespace)/\(.name)"' "$L"
}
K=$T/k8s.json
PC=$(pn client)
check "k8s: client -> web-a by name" "$(($(steps short) + NOLD))" \
	"$(edge "$PC" "$(pn old-web-a)" 80 .connections "$K")"
check "k8s: client -> the recreated web-a, a new pod with the same IP" "$NNEW" \
	"$(edge "$PC" "$(pn web-a)" 80 .connections "$K")"
sorted() { printf '%s\n' "$@" | LC_ALL=C sort | paste -sd' '; }
check "k8s: the recreated web-a is another pod" "$(sorted "$(pn old-web-a)" "$(pn web-a)")" \
	"$(jq -r --arg o "$(pn old-web-a)" --arg n "$(pn web-a)" '[.nodes[] | select(.id == $o or .id == $n) | .id] | sort | join(" ")' "$K")"
check "k8s: the two web-a pods by their containers" \
	"$(sorted "$(pn old-web-a)=$OLDA_CID" "$(pn web-a)=$(jq -r '.pods[] | select(.lab == "web-a") | .container_id' "$L")")" \
	"$(jq -r --arg o "$(pn old-web-a)" --arg n "$(pn web-a)" '[.nodes[] | select(.id == $o or .id == $n) | "\(.id)=\(.containers[0].container_id)"] | sort | join(" ")' "$K")"
check "k8s: web Service, served by web-a and web-b" \
	"$(steps cluster) $(pn old-web-a)=$(truth '[.connections[] | select(.step == "cluster" and .served_by == "web-a")] | length') $(pn web-b)=$(truth '[.connections[] | select(.step == "cluster" and .served_by == "web-b")] | length')" \
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
check "k8s: the external host, named by DNS" "external $KTLAB_EXT_NAME $KTLAB_EXT_NAME" \
	"$(jq -r --arg id "external:$KTLAB_EXT_IP" '.nodes[] | select(.id == $id) | "\(.kind) \(.name) \(.dns_names | join(","))"' "$K")"
check "k8s: web-a's workload" "workload:shop/Deployment/web" \
	"$(jq -r --arg p "$(pn web-a)" '.nodes[] | select(.id == $p) | .workload' "$K")"
check "k8s: the client's container" "$(jq -r '.pods[] | select(.lab == "client") | "\(.container) \(.container_id)"' "$L")" \
	"$(jq -r --arg p "$PC" '.nodes[] | select(.id == $p) | .containers[] | "\(.name) \(.container_id)"' "$K")"
# (other labs may run on this kernel at the same time, with the same pod
# IPs: a connection of theirs whose client half eBPF did not see has its
# client named by address, as ours; its server half names their pod by the
# UID of its cgroup, which no Pod object here has)
OURS='select(.dst | startswith("pod:uid/") | not)'
check "k8s: connections from the client" "$(($(truth '.connections | length') + NOLD + NNEW))" \
	"$(jq --arg s "$PC" "[.edges[] | select(.src == \$s) | $OURS | .connections] | add" "$K")"
# --level workload: web-a and web-b are one node
check "workload: client -> Deployment web (both web-a pods and their successor)" \
	"$(($(steps short) + NOLD + NNEW))" \
	"$(edge "$PC" workload:shop/Deployment/web 80 .connections "$T/wl.json")"
check "workload: web Service backends folded" "workload:shop/Deployment/web=$(steps cluster)" \
	"$(edge "$PC" service:shop/web 80 '.backends | map("\(.id)=\(.connections)") | join(" ")' "$T/wl.json")"
check "workload: no web pod left" 0 \
	"$(jq '[.nodes[] | select(.id | startswith("pod:shop/web"))] | length' "$T/wl.json")"

# ==== without them: what the node alone tells ====

# -- direct to web-a's pod IP: both halves seen, each counted once
check "client -> web-a:80" "$(($(steps short) + NOLD)) 0 {}" \
	"$(edge "$CLIENT" "$(uid old-web-a)" 80 '"\(.connections) \(.connections - .established) \(.failed)"')"
check "client -> the recreated web-a, by the UID of its cgroup" "$NNEW" \
	"$(edge "$CLIENT" "$(uid web-a)" 80 .connections)"

# -- through the web ClusterIP: the service, and the backend that served each
WEB="service:$(svc web):80"
check "client -> web ClusterIP" "$(steps cluster)" "$(edge "$CLIENT" "$WEB" 80 .connections)"
for p in web-a web-b; do
	u=$(uid $p)
	[ $p = web-a ] && u=$(uid old-web-a)
	check "web ClusterIP served by $p" \
		"$(truth "[.connections[] | select(.step == \"cluster\" and .served_by == \"$p\")] | length")" \
		"$(edge "$CLIENT" "$WEB" 80 "[.backends[] | select(.id == \"$u\") | .connections] | add // 0")"
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

# -- the external host: named by the DNS answer the client got
check "client -> external, named by DNS" "$(steps external) $KTLAB_EXT_NAME" \
	"$(edge "$CLIENT" "external:$KTLAB_EXT_IP" 80 .connections) $(jq -r --arg id "external:$KTLAB_EXT_IP" '.nodes[] | select(.id == $id) | .name' "$T/topo.json")"

# -- nothing else leaves the client, and nothing counted twice
check "connections from the client" \
	"$(($(truth '.connections | length') + NOLD + NNEW))" \
	"$(jq --arg s "$CLIENT" '[.edges[] | select(.src == $s) | .connections] | add' "$T/topo.json")"
check "edges from the client" 10 \
	"$(jq --arg s "$CLIENT" '[.edges[] | select(.src == $s)] | length' "$T/topo.json")"
# ==== one moment: --at in the middle of a keep-alive connection ====
rfc3339() { printf '%s.%09dZ' "$(date -u -d "@$(($1 / 1000000000))" +%Y-%m-%dT%H:%M:%S)" $(($1 % 1000000000)); }
mid() { more "$1" '.connections[] | select(.step == "keepalive") | (.start_ns + .end_ns) / 2 | floor'; }
for when in old new; do
	"$B/ktana" topo --level pod --format json --at "$(rfc3339 "$(mid $when)")" "$T/lab.tar.zst" \
		>"$T/at-$when.json" || bad "ktana topo --at ($when) failed"
	want=$(pn web-a)
	[ $when = old ] && want=$(pn old-web-a)
	# (the web pods only: a connection whose close the capture lost, under
	# load, stays alive at any later time)
	check "--at during the $when web-a's connection: that pod alone" "$want 1" \
		"$(jq -r --arg s "$PC" "[.edges[] | select(.src == \$s and (.dst | startswith(\"pod:shop/web-\"))) | \"\\(.dst) \\(.connections)\"] | join(\",\")" "$T/at-$when.json")"
done

# ==== a host process: a program on the node, in no pod ====
HP=$(jq -r --arg d "$(pn web-b)" '[.edges[] | select(.dst == $d and .port == 80) | .src as $s | $s] | unique | map(select(startswith("process:"))) | join(",")' "$K")
check "host process: named by its command" "host-process ktlab_client" \
	"$(jq -r --arg id "$HP" '.nodes[] | select(.id == $id) | "\(.kind) \(.name)"' "$K")"
check "host process -> web-b, to the pod IP" "$(more host '.connections | length')" \
	"$(edge "$HP" "$(pn web-b)" 80 .connections "$K")"

check "DOT output is a digraph" 1 "$(grep -c '^digraph topology' "$T/topo.dot")"

# exact counts need every event: say what the capture lost, for a failure
[ "$fail" = 0 ] || "$B/ktana" info "$T/lab.tar.zst" | grep -E '^  (bpf|pcap|conntrack) '
echo "topo_lab: $pass passed, $fail failed"
[ "$fail" = 0 ]
