#!/usr/bin/env bash
# capture_lab.sh - `ktcap record` on the lab node while the standard traffic
# runs, read back through `ktana dump` and held against the traffic's ground
# truth (truth.json) and the lab's own description (lab.json): connection
# counts per endpoint pair, endpoints, pids, comms, cgroup -> pod UID, the
# ClusterIP tied to the backend that served it, bytes, each failure cause,
# periodic stats of a long connection, nothing lost.
#
# Needs root and BPF; skips (77) with the reason only where BPF cannot load.
# Events of other network namespaces (other labs, the machine itself) are in
# the bundle too, as on a real node: every check selects the lab's netns.
set -u
here=$(cd "$(dirname "$0")" && pwd)
B=${KT_BUILD_DIR:?set KT_BUILD_DIR to the build directory}
. "$here/lib.sh"
ktlab_record_setup capture "$B/ktcap"

. "$here/../assert.sh"

# Record on the node: its netns, the host's cgroups and tracefs.
ktlab_record_traffic "$T/record.err" "$B/ktcap" -q record -o "$T/lab.tar.zst" \
	--sources host,bpf,conntrack --stats-interval 1s --node ktlab-node
rc=$?
check "ktcap record and the traffic" 0 "$rc"
[ "$rc" = 0 ] || cat "$T/record.err"
cp "$KTLAB_TRUTH" "$T/truth.json"
"$B/ktana" verify "$T/lab.tar.zst" >/dev/null || bad "the bundle does not verify"
"$B/ktana" dump -s flow "$T/lab.tar.zst" >"$T/flow.jsonl"
"$B/ktana" dump -s proc "$T/lab.tar.zst" >"$T/proc.jsonl"
"$B/ktana" dump -s conntrack "$T/lab.tar.zst" >"$T/ct.jsonl"
"$B/ktana" dump --file manifest.json "$T/lab.tar.zst" >"$T/manifest.json"
L=$KTLAB_JSON
pod() { jq -r --arg p "$1" ".pods[] | select(.lab == \$p) | .$2" "$L"; }
truth() { jq -r "$1" "$T/truth.json"; }
flows() { jq -c "$@" "$T/flow.jsonl"; }

CNS=$(pod client netns_inode) CIP=$(pod client ip) CCG=$(pod client cgroup_v2_id)
PID=$(truth .pid)
WEB_VIP=$(jq -r '.services[] | select(.name == "web") | .cluster_ip' "$L")
REDIS_VIP=$(jq -r '.services[] | select(.name == "redis") | .cluster_ip' "$L")
NOEP_VIP=$(jq -r '.services[] | select(.name == "noep") | .cluster_ip' "$L")
DNS_VIP=$(jq -r '.services[] | select(.name == "kube-dns") | .cluster_ip' "$L")
FLAKY=$(pod flaky ip)

# -- nothing lost, every source ran
check "bpf lost events" 0 "$(jq '.sources.bpf.lost' "$T/manifest.json")"
for s in host bpf conntrack; do
	check "source $s status" ok "$(jq -r ".sources.$s.status" "$T/manifest.json")"
done

# -- connections opened by the client, per endpoint pair (client side)
opens() { flows --argjson ns "$CNS" --arg d "$1" --argjson p "$2" \
	'select(.netns == $ns and .kind == "open" and .role == "client" and .daddr == $d and .dport == $p)' |
	wc -l; }
check "opens client -> web-a:80" "$(truth '[.connections[] | select(.step == "short")] | length')" "$(opens "$(pod web-a ip)" 80)"
check "opens client -> web ClusterIP:80" "$(truth '[.connections[] | select(.step == "cluster")] | length')" "$(opens "$WEB_VIP" 80)"
check "opens client -> external:80" "$(truth '[.connections[] | select(.step == "external")] | length')" "$(opens "$KTLAB_EXT_IP" 80)"
check "opens client -> redis ClusterIP:6379" 1 "$(opens "$REDIS_VIP" 6379)"

# the short connections: exactly the truth's source ports, pid, comm, cgroup
check "short connection ports" \
	"$(truth '.connections[] | select(.step == "short") | .sport' | sort -n | tr '\n' ' ')" \
	"$(flows --argjson ns "$CNS" --arg d "$(pod web-a ip)" \
		'select(.netns == $ns and .kind == "open" and .role == "client" and .daddr == $d)' |
		jq -r .sport | sort -n | tr '\n' ' ')"
check "client events: pid comm cgroup" "$PID ktlab_client $CCG" \
	"$(flows --argjson ns "$CNS" 'select(.netns == $ns and .role == "client" and (.kind == "open" or .kind == "close" or .kind == "fail")) | "\(.pid) \(.comm) \(.cgroup_id)"' | jq -r . | sort -u | tr '\n' ' ' | sed 's/ $//')"

# bytes: TCP counts SYN and FIN in sequence space, so a closed connection's
# counters exceed the application's bytes by at most 2 sent and 1 received
jq -r '.connections[] | select(.step == "short") | "\(.sport) \(.bytes_sent) \(.bytes_recv)"' \
	"$T/truth.json" | sort >"$T/t.bytes"
flows --argjson ns "$CNS" --arg d "$(pod web-a ip)" \
	'select(.netns == $ns and .kind == "close" and .role == "client" and .daddr == $d and .dport == 80)' |
	jq -r '"\(.sport) \(.bytes_sent) \(.bytes_recv)"' | sort >"$T/f.bytes"
# (a port can serve two connections in a row: pair the sorted lists, not a join)
check "closed short connections" "$(wc -l <"$T/t.bytes")" "$(wc -l <"$T/f.bytes")"
check "bytes within tolerance (sent +0..2, received +0..1)" 0 "$(paste -d' ' "$T/t.bytes" "$T/f.bytes" |
	awk '{ if ($1 != $4 || $5 < $2 || $5 > $2 + 2 || $6 < $3 || $6 > $3 + 1) n++ } END { print n + 0 }')"

# -- the server side: web-a and web-b opened what the truth says they served
for p in web-a web-b; do
	want=$(( $( [ "$p" = web-a ] && truth '[.connections[] | select(.step == "short")] | length' || echo 0) +
		$(truth "[.connections[] | select(.step == \"cluster\" and .served_by == \"$p\")] | length") ))
	check "server opens on $p:80" "$want" "$(flows --argjson ns "$(pod $p netns_inode)" \
		'select(.netns == $ns and .kind == "open" and .role == "server" and .sport == 80)' | wc -l)"
	check "server cgroup of $p" "$(pod $p cgroup_v2_id)" "$(flows --argjson ns "$(pod $p netns_inode)" \
		'select(.netns == $ns and .role == "server" and .kind == "open")' | jq -r .cgroup_id | sort -u | tr '\n' ' ' | sed 's/ $//')"
	check "accepting process on $p" nginx "$(flows --argjson ns "$(pod $p netns_inode)" \
		'select(.netns == $ns and .kind == "accept")' | jq -r .comm | sort -u)"
done

# -- cgroup -> pod UID and container ID, from the bundle alone
for p in client web-a redis; do
	check "cgroup $(pod $p cgroup_v2_id) -> pod $p" "$(pod $p uid) $(pod $p container_id)" \
		"$(jq -r --argjson c "$(pod $p cgroup_v2_id)" 'select(.cgroup_id == $c and .pod_uid != "") |
			"\(.pod_uid) \(.container_id)"' "$T/proc.jsonl" | sort -u | head -1)"
done

# -- each ClusterIP connection tied to the backend that served it
bad_ct=0 bad_srv=0
while read -r sport served; do
	bip=$(pod "$served" ip)
	got=$(jq -r --arg s "$CIP" --argjson sp "$sport" --arg v "$WEB_VIP" \
		'select(.orig_src == $s and .orig_sport == $sp and .orig_dst == $v) | .reply_src' "$T/ct.jsonl" | sort -u)
	[ "$got" = "$bip" ] || { bad_ct=$((bad_ct + 1)); echo "  conntrack for :$sport says '$got', served by $bip"; }
	n=$(flows --argjson ns "$(pod "$served" netns_inode)" --argjson sp "$sport" --arg c "$CIP" \
		'select(.netns == $ns and .kind == "open" and .role == "server" and .daddr == $c and .dport == $sp)' | wc -l)
	[ "$n" = 1 ] || bad_srv=$((bad_srv + 1))
done < <(truth '.connections[] | select(.step == "cluster") | "\(.sport) \(.served_by)"')
check "ClusterIP connections tied to their backend by conntrack" 0 "$bad_ct"
check "ClusterIP connections found on their backend" 0 "$bad_srv"

# -- each failure with its cause
# (a source port names a flow only with its destination: connect() may give
# one port to two destinations in a run)
fail_of() {	# fail_of STEP DST DPORT -> "kind cause err" of the client's socket
	local sport
	sport=$(truth ".connections[] | select(.step == \"$1\" and .dst == \"$2\") | .sport")
	flows --argjson ns "$CNS" --argjson sp "$sport" --arg d "$2" \
		'select(.netns == $ns and .sport == $sp and .daddr == $d and
			(.kind == "fail" or (.kind == "close" and .cause != "")))' |
		jq -r '"\(.kind) \(.cause) \(.err)"'
}
check "refused by RST (flaky:9002)" "fail refused 111" "$(fail_of refused "$FLAKY" 9002)"
check "refused by ICMP (a Service without endpoints)" "fail refused 111" "$(fail_of refused "$NOEP_VIP" 80)"
check "timed out against DROP (flaky:9001)" "fail timeout 110" "$(fail_of timeout "$FLAKY" 9001)"
check "reset after established (flaky:9000)" "close reset 104" "$(fail_of reset "$FLAKY" 9000)"
rsport=$(truth '.connections[] | select(.step == "reset") | .sport')
check "the reset received" 1 "$(flows --argjson ns "$CNS" --argjson sp "$rsport" --arg d "$FLAKY" \
	'select(.netns == $ns and .sport == $sp and .daddr == $d and .kind == "rst_recv")' | wc -l)"

# -- the long connection reports while it is open
lsport=$(truth '.connections[] | select(.step == "long") | .sport')
ldst=$(truth '.connections[] | select(.step == "long") | .dst')
n=$(flows --argjson ns "$CNS" --argjson sp "$lsport" --arg d "$ldst" \
	'select(.netns == $ns and .sport == $sp and .daddr == $d and .kind == "stats")' | wc -l)
[ "$n" -ge 2 ] && ok || bad "long connection: $n periodic stats, wanted at least 2"

# -- DNS queries leave as UDP sends to the cluster DNS Service
check "UDP sends to kube-dns:53" "$(truth '[.connections[] | select(.step == "dns")] | length')" \
	"$(flows --argjson ns "$CNS" --arg d "$DNS_VIP" 'select(.netns == $ns and .kind == "udp_send" and .daddr == $d and .dport == 53) | .count' |
		awk '{ n += $1 } END { print n + 0 }')"

echo "capture_lab: $pass passed, $fail failed"
[ "$fail" = 0 ]
