#!/usr/bin/env bash
# record-boutique.sh - re-records samples/boutique.tar.zst: `ktcap record`
# on the lab node of `lab.sh up --scenario boutique` (the front of Online
# Boutique: tests/lab/scenario-boutique.sh) while its traffic runs twice,
# with its Kubernetes objects served by the lab's API server:
#
#   round 1   loadgenerator -> frontend -> productcatalog (2 pods) -> postgres,
#             currency, cart -> redis, an external API by DNS; an NXDOMAIN;
#             refused by recommendationservice (no endpoints); a timeout on
#             paymentservice (NetworkPolicy DROP)
#   then      cartservice's container restarts (OOMKilled); the currency pod
#             is recreated with the same IP (new name, UID, netns); the API
#             server reports both (pod watch, Events) before round 2
#   round 2   the same traffic again
#
#   samples/record-boutique.sh [BUILD_DIR] [OUT]    (root; BPF; ~30 s)
#   KEEP=1 keeps the work directory (named on stderr): the recording as
#   made (unfiltered.tar.zst), the lab's ground truth, the filtered files.
#
# eBPF sees the whole machine, and a build machine runs other labs and
# benchmarks beside this one (a node would run only its own pods). So the
# records of network namespaces the lab did not make are dropped before
# packing (tests/tools/ktnsfilter, and jq for the host facts): what stays is
# the lab node, its pods and their cgroups; the external host is seen from
# the node only, as it would be. The manifest says so ("sample_filter").
# The result is then checked against what the lab made (every pod known by
# name, no unknown address) and refused (exit 1, nothing written) when
# anything else is left. Exit 77 where the lab or BPF cannot run.
set -uo pipefail
S=$(cd "$(dirname "$0")/.." && pwd)
B=$(cd "${1:-$S/build}" && pwd) || exit 2
OUT=${2:-$S/samples/boutique.tar.zst}
SOURCES=${KT_SAMPLE_SOURCES:-bpf,host,conntrack,k8s,pcap}
export KTLAB_CLIENT=$B/tests/ktlab_client
. "$S/tests/lab/lib.sh"
ktlab_require_root || exit 77
ktlab_require_bpf "$B/ktcap" || exit 77

T=$(mktemp -d /tmp/kt-boutique-XXXXXX)
REC=
cleanup() {
	[ -n "$REC" ] && kill -KILL "$REC" 2>/dev/null
	ktlab_down
	[ -n "${KEEP:-}" ] && echo "kept $T" >&2 || rm -rf "$T"
}
ktlab_up --scenario boutique || { echo "lab did not come up" >&2; exit 1; }
trap cleanup EXIT
ktlab_apiserver "$T" || exit 1

second_round() {	# SPOOL
	ktlab restart cart OOMKilled || return 1
	ktlab recreate currency || return 1
	ktlab_k8s_sync >/dev/null || return 1
	# the new pod is in the recording before anyone talks to it
	ktlab_wait_file "$1/k8s/watch/pods.jsonl" "$KTLAB_CURRENCY_UID" || return 1
	ktlab traffic "$T/truth2.json" >/dev/null || return 1
	# stop right after a full Kubernetes snapshot, not in the middle of one
	local n; n=$(done_snapshots "$1")
	for _ in $(seq 300); do
		[ "$(done_snapshots "$1")" -gt "$n" ] && return 0
		sleep 0.1
	done
}
done_snapshots() { cat "$1"/k8s/snapshots/*/_snapshot.json 2>/dev/null | grep -c '"finished_ns"'; }
KTLAB_MORE=second_round ktlab_record_traffic "$T/record.err" env HOME="$T" "$B/ktcap" -q record \
	-o "$T/boutique.tar.zst" --sources "$SOURCES" --kubeconfig "$KTLAB_KUBECONFIG" \
	--k8s-interval 5s --node "$KTLAB_K8S_NODE" ||
	{ echo "recording failed:" >&2; cat "$T/record.err" >&2; exit 1; }
cp "$KTLAB_TRUTH" "$T/truth1.json"

# The lab's namespaces, with their lives (inode numbers are reused: a pod
# recreated while recording may get one another lab's netns had before),
# and the cgroups of its pods.
NSL=$(jq -c '[{n: .node.netns_inode, f: 0, u: 18446744073709551615}]
	+ [.pods[] | {n: .netns_inode, f: .netns_since_ns, u: 18446744073709551615}]
	+ [.events[] | select(.type == "recreate") | {n: .old_netns_inode, f: 0, u: .old_netns_until_ns}]' "$KTLAB_JSON")
mapfile -t UIDS < <(jq -r '.pods[].uid, (.events[] | .old_uid // empty)' "$KTLAB_JSON" | sort -u)
mkdir "$T/x" && tar -xf "$T/boutique.tar.zst" -C "$T/x" || exit 1
[ -n "${KEEP:-}" ] && cp "$T/boutique.tar.zst" "$T/unfiltered.tar.zst"
args=()
while read -r n; do args+=(--netns "$n"); done < <(jq -r '.[] | "\(.n):\(.f):\(.u)"' <<<"$NSL")
for u in "${UIDS[@]}"; do args+=(--path-has "$u" --path-has "${u//-/_}"); done
for f in "$T"/x/streams/*/*.ktr; do
	"$B/tests/ktnsfilter" "$f" "$f.new" "${args[@]}" >/dev/null && mv "$f.new" "$f" || exit 1
done
for f in "$T"/x/host/*/*.json; do
	case ${f##*/} in
	processes.json) q='.processes |= map(select(.netns as $n | $k | any(.n == $n and .f <= $t and $t <= .u)))' ;;
	netns.json | sockets.json | conntrack.json)
		q='.namespaces |= map(select(.netns as $n | $k | any(.n == $n and .f <= $t and $t <= .u)))' ;;
	*) continue ;;
	esac
	jq -c --argjson k "$NSL" --argjson t "$(jq '.ts' "${f%/*}/node.json")" "$q" "$f" >"$f.new" &&
		mv "$f.new" "$f" || exit 1
done
jq --arg why "records of network namespaces the lab did not make dropped (samples/record-boutique.sh)" \
	'.sample_filter = $why' "$T/x/manifest.json" >"$T/x/manifest.new" && mv "$T/x/manifest.new" "$T/x/manifest.json"
"$B/ktcap" pack "$T/x" -o "$T/boutique.tar.zst" --finished --level 19 >/dev/null || exit 1

# Nothing but the lab: every pod by name, every address explained.
"$B/ktana" topo --level pod --format json "$T/boutique.tar.zst" >"$T/topo.json" || exit 1
stray=$(jq -r '.nodes[] | select((.id | startswith("pod:uid/")) or .kind == "unattributed"
	or (.kind == "external" and .id != "external:'"$KTLAB_EXT_IP"'")) | .id' "$T/topo.json")
if [ -n "$stray" ]; then
	echo "the recording has traffic the lab did not make (another lab or tool was running):" >&2
	echo "$stray" | head -20 >&2
	exit 1
fi
"$B/ktana" verify "$T/boutique.tar.zst" >/dev/null || exit 1
cp "$T/boutique.tar.zst" "$OUT"
echo "$OUT: $(stat -c %s "$OUT") bytes; $(jq '.nodes | length' "$T/topo.json") entities, $(jq '.edges | length' "$T/topo.json") edges"
