#!/usr/bin/env bash
# topo_lab.sh - `ktcap record` on the lab node while the standard traffic
# runs, then `ktana topo --level pod --format json` held against the
# traffic's ground truth (truth.json) and the lab's description (lab.json):
# exact edges with exact connection counts and failure causes, ClusterIP
# connections attributed to the service and to the backend that served
# them, each connection counted once although client and server both saw it.
#
# The recording has no Kubernetes objects yet (the k8s source is not run
# against the lab's API server here) and no DNS records (no pcap source), so
# pods are known by the UID of their cgroup, ClusterIPs as services by their
# DNAT, and addresses no socket of the bundle owns stay "unattributed".
#
# Needs root and BPF; skips (77) with the reason only where BPF cannot load.
set -u
here=$(cd "$(dirname "$0")" && pwd)
B=${KT_BUILD_DIR:?set KT_BUILD_DIR to the build directory}
. "$here/lib.sh"
ktlab_require_root || exit 77
if ! "$B/ktcap" --json check | jq -e '.[] | select(.name == "ring buffer" and .status == "ok")' >/dev/null 2>&1; then
	echo "SKIP: BPF cannot load here: $("$B/ktcap" check 2>&1 | grep -i 'ring buffer')"
	exit 77
fi

T=$(mktemp -d /tmp/kt-topo-lab-XXXXXX)
REC=
cleanup() {
	[ -n "$REC" ] && kill -KILL "$REC" 2>/dev/null
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

nsenter --net="$KTLAB_NODE_NETNS" "$B/ktcap" -q record -o "$T/lab.tar.zst" \
	--sources host,bpf,conntrack --node ktlab-node 2>"$T/record.err" &
REC=$!
for _ in $(seq 300); do	# until every source runs (at most 30 s)
	[ "$(jq -r '[.sources[]?.status] | map(select(. == "running")) | length' \
		"$T/lab.tar.zst.spool/manifest.json" 2>/dev/null)" = 3 ] && break
	kill -0 "$REC" 2>/dev/null || break
	sleep 0.1
done
truth_file=$(ktlab traffic) || bad "the lab traffic failed"
sleep 0.5
kill -INT "$REC"
wait "$REC"; rc=$?
REC=
check "ktcap record exit status" 0 "$rc"
[ "$rc" = 0 ] || cat "$T/record.err"
cp "$truth_file" "$T/truth.json"
"$B/ktana" topo --level pod --format json "$T/lab.tar.zst" >"$T/topo.json" ||
	bad "ktana topo failed"
"$B/ktana" topo --level pod --format dot "$T/lab.tar.zst" >"$T/topo.dot" ||
	bad "ktana topo --format dot failed"

L=$KTLAB_JSON
uid() { echo "pod:uid/$(jq -r --arg p "$1" '.pods[] | select(.lab == $p) | .uid' "$L" | tr _ -)"; }
podip() { jq -r --arg p "$1" '.pods[] | select(.lab == $p) | .ip' "$L"; }
svc() { jq -r --arg n "$1" '.services[] | select(.name == $n) | .cluster_ip' "$L"; }
truth() { jq -r "$1" "$T/truth.json"; }
steps() { truth "[.connections[] | select(.step == \"$1\")] | length"; }
CLIENT=$(uid client)
# edge SRC DST PORT JQ -> the JQ of that one edge ("none" when absent)
edge() {
	jq -r --arg s "$1" --arg d "$2" --argjson p "$3" \
		"[.edges[] | select(.src == \$s and .dst == \$d and .port == \$p)] |
		 if length == 1 then .[0] | $4 elif length == 0 then \"none\" else \"twice\" end" \
		"$T/topo.json"
}

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
