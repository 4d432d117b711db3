#!/usr/bin/env bash
# sample_boutique.sh BUILD_DIR [BUNDLE] - samples/boutique.tar.zst (recorded
# from the lab by samples/record-boutique.sh), or a fresh recording of it
# (tests/lab/boutique_lab.sh), is a valid bundle and shows what it was
# recorded to show: the application's edges with their exact counts,
# the refused and timed-out dependencies, the pod recreated with the same
# IP, the restarted container, the external host named by DNS, the
# NXDOMAIN, the packets around trouble, the Kubernetes objects.
set -u
B=${1:?usage: sample_boutique.sh BUILD_DIR}
S=${2:-$(cd "$(dirname "$0")/.." && pwd)/samples/boutique.tar.zst}
T=$(mktemp -d /tmp/kt-sample-XXXXXX)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/assert.sh"

"$B/ktana" verify "$S" >/dev/null || { echo "FAIL: ktana verify"; exit 1; }
"$B/ktana" topo --level pod --format json "$S" >"$T/pod.json" || { echo "FAIL: ktana topo"; exit 1; }
"$B/ktana" topo --level workload --format json "$S" >"$T/wl.json" || { echo "FAIL: ktana topo --level workload"; exit 1; }
tar -xf "$S" -C "$T" || { echo "FAIL: tar"; exit 1; }
N=boutique
FE=pod:$N/frontend-7d8f9c6b5-x2k4p
edge() {	# SRC DST PORT JQ [FILE]
	jq -r --arg s "$1" --arg d "$2" --argjson p "$3" \
		"[.edges[] | select(.src == \$s and .dst == \$d and .port == \$p)] |
		 if length == 1 then .[0] | $4 else \"\\(length) edges\" end" "${5:-$T/pod.json}"
}

check "two rounds of 20 requests from the load generator" "40 {}" \
	"$(edge pod:$N/loadgenerator-5c6d7f8b9-n6j3k service:$N/frontend 80 '"\(.connections) \(.failed | tojson)"')"
check "frontend's Service port 80 served on the pod's 8080" "$FE 8080" \
	"$(edge pod:$N/loadgenerator-5c6d7f8b9-n6j3k service:$N/frontend 80 '.backends[0] | "\(.id) \(.port)"')"
check "productcatalog: both replicas" "20 2" \
	"$(edge "$FE" service:$N/productcatalogservice 3550 '"\(.connections) \(.backends | length)"')"
check "recommendationservice: refused (no endpoints)" '2 {"refused":2}' \
	"$(edge "$FE" service:$N/recommendationservice 8080 '"\(.connections) \(.failed | tojson)"')"
check "paymentservice: timed out (NetworkPolicy)" '2 {"timeout":2}' \
	"$(edge "$FE" service:$N/paymentservice 50051 '"\(.connections) \(.failed | tojson)"')"
check "currency: the old pod, then the one recreated with its IP" "2 2" \
	"$(edge "$FE" service:$N/currencyservice 7000 '"\(.connections) \(.backends | map(.id) | unique | length)"')"
check "the two currency pods share an IP, with their own containers" "2 198.18.0.15 2" \
	"$(jq -r '[.nodes[] | select(.id | startswith("pod:'$N'/currencyservice-"))] |
		"\(length) \(map(.address) | unique | join(",")) \(map(.containers[0].container_id) | unique | length)"' "$T/pod.json")"
check "cartservice served before and after its container restarted" "server server 2" \
	"$(jq -r '.nodes[] | select(.id | startswith("pod:'$N'/cartservice-")) | .containers |
		"\(map(.name) | join(" ")) \(map(.container_id) | unique | length)"' "$T/pod.json")"
check "cart -> redis-cart, through its Service" "2" \
	"$(edge pod:$N/cartservice-7f9c8d6b4-m5q2z service:$N/redis-cart 6379 .connections)"
check "productcatalog -> postgres" "2 2" \
	"$(jq -r '[.edges[] | select(.dst == "service:'$N'/catalog-db")] | "\(length) \(map(.connections) | add / length)"' "$T/pod.json")"
check "the external host, named by the DNS answer for it" "4 api.currencyfeed.example" \
	"$(edge "$FE" external:198.19.200.10 80 .connections) $(jq -r '.nodes[] | select(.id == "external:198.19.200.10") | .name' "$T/pod.json")"
check "NXDOMAIN for adservice, once a round" "2" \
	"$("$B/ktana" dump --stream dns "$S" | jq -s '[.[] | select(.qname == "adservice.'$N'.svc.cluster.local" and .rcode == 3)] | length')"
check "the topology names frontend's NXDOMAIN for adservice, and no other failed lookup" \
	"workload:$N/Deployment/frontend adservice.$N.svc.cluster.local A NXDOMAIN 2 false" \
	"$(jq -r '.dns_failures | map("\(.client) \(.qname) \(.qtype) \(.rcode) \(.count) \(.search_expansion)") | join(",")' "$T/wl.json")"
check "the timeout is the NetworkPolicy's: payment admits only checkout" \
	"NetworkPolicy $N/paymentservice isolates $N/paymentservice-8c7d9b5f6-r2w8y for ingress and no rule admits connections from $N/frontend-7d8f9c6b5-x2k4p to it on TCP 50051" \
	"$(edge workload:$N/Deployment/frontend service:$N/paymentservice 50051 '.explanations | join(";")' "$T/wl.json")"
check "the refusal is the Service's: no pod behind recommendationservice" \
	"Service $N/recommendationservice had no endpoint: its selector matched no pod" \
	"$(edge workload:$N/Deployment/frontend service:$N/recommendationservice 8080 '.explanations | join(";")' "$T/wl.json")"
check "no other edge explained" 2 "$(jq '[.edges[] | select(.explanations)] | length' "$T/wl.json")"
check "packets around each trouble" "dns_error refused timeout" \
	"$(jq -r '.reasons[]' "$T/pcap/fragments.jsonl" | grep -E '^(dns_error|refused|timeout)$' | sort -u | paste -sd' ')"
check "DNS through kube-dns, every query once" "10" "$(edge "$FE" service:kube-system/kube-dns 53 .connections)"
check "no edge from the DNS server back to its clients" 0 \
	"$(jq '[.edges[] | select(.src | startswith("pod:kube-system/"))] | length' "$T/pod.json")"
check "workload: currencyservice is one node" "workload:$N/Deployment/currencyservice" \
	"$(jq -r '[.edges[] | select(.dst == "service:'$N'/currencyservice") | .backends[].id] | unique | join(",")' "$T/wl.json")"
# the Kubernetes side
last=$(ls -d "$T"/k8s/snapshots/* | tail -n1)
check "cartservice restarted (OOMKilled)" "1 OOMKilled" \
	"$(jq -r '.items[] | select(.metadata.name | startswith("cartservice-")) | .status.containerStatuses[0] | "\(.restartCount) \(.lastState.terminated.reason)"' "$last/pods/$N.json")"
check "events of the restart and the recreation" "BackOff Killing Scheduled SuccessfulCreate" \
	"$(cat "$T"/k8s/watch/events.jsonl "$T"/k8s/snapshots/*/events/*.json 2>/dev/null | jq -r '.object.reason // (.items[]?.reason) // empty' | grep -E '^(BackOff|Killing|Scheduled|SuccessfulCreate)$' | sort -u | paste -sd' ')"
check "the NetworkPolicy" "paymentservice" \
	"$(jq -r '.items[].metadata.name' "$last/networkpolicies/$N.json")"
check "recommendationservice scaled to zero" "0" \
	"$(jq -r '.items[] | select(.metadata.name == "recommendationservice") | .spec.replicas' "$last/deployments/$N.json")"
echo "sample_boutique: $pass passed, $fail failed"
[ "$fail" = 0 ]
