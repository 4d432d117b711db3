#!/usr/bin/env bash
# pcap_lab.sh - the pcap source of `ktcap record` on the lab node.
#
# 1. host, bpf, pcap and k8s (the lab's API server through the real kubectl)
#    while the standard traffic runs: the refused connect (flaky:9002) and the
#    reset one (flaky:9000) each left a fragment that holds the SYN and the
#    RST of that flow (tcpdump -r); the NXDOMAIN answer left one too; the dns
#    stream holds the answered query and the NXDOMAIN with their rcode and
#    answers, as the traffic's truth says; every fragment reads in tshark,
#    whose interface descriptions name the node and the client's pod; the
#    manifest has libpcap's drop counters per interface. After the traffic,
#    the node answers two SYNs with ICMP host unreachable (iptables REJECT
#    --reject-with icmp-host-unreachable, in the lab node's FORWARD chain,
#    removed after): one to flaky:9003, one through the web ClusterIP (the
#    REJECT sees the backend after DNAT; the client gets the quote with the
#    ClusterIP back). Each connect fails with EHOSTUNREACH and leaves a
#    fragment (reason "unreachable", also through the ClusterIP) that holds
#    the SYN (tcpdump) and the ICMP error quoting it as the client sent it
#    (tshark reads the quote).
# 2. the limit: --pcap-all with --pcap-max-size 1M under a flood of short
#    connections (2000, lab addresses only): the pcapng written stays under
#    the limit, the bundle under the limit plus 1 MiB (the host facts and
#    manifest), and the manifest says the capture was truncated.
# 3. a pod recreated while recording: its new veth is captured, named by its
#    new netns and pod UID; a DNS query over TCP makes one dns record.
#
# Needs root, BPF, tcpdump, tshark; skips (77) with the reason otherwise.
set -u
here=$(cd "$(dirname "$0")" && pwd)
B=${KT_BUILD_DIR:?set KT_BUILD_DIR to the build directory}
. "$here/lib.sh"
ktlab_record_setup pcap "$B/ktcap" tcpdump tshark jq

. "$here/../assert.sh"

# the lab's API server, on the node's loopback where ktcap runs kubectl
ktlab_apiserver "$T" || { echo "FAIL: no lab API server"; exit 1; }

# ---- 1. fragments, DNS, identity --------------------------------------------
# unreachable: run after the standard traffic (KTLAB_MORE); the client's
# "host port source-port errno" of each connect go to $T/unreach.txt
UNREACH_SPORT=45123	# the ClusterIP connect's, for the rule to pick it out
unreachable() {
	local ipt=(nsenter --net="$KTLAB_NODE_NETNS" iptables -w) flaky client vip rc=0
	local why=(-m comment --comment "ktlab: host unreachable" -j REJECT
		   --reject-with icmp-host-unreachable)

	flaky=$(jq -r '.pods[] | select(.lab == "flaky") | .ip' "$KTLAB_JSON")
	client=$(jq -r '.pods[] | select(.lab == "client") | .ip' "$KTLAB_JSON")
	vip=$(jq -r '.services[] | select(.name == "web") | .cluster_ip' "$KTLAB_JSON")
	"${ipt[@]}" -I FORWARD -d "$flaky/32" -p tcp --dport 9003 "${why[@]}" || return 1
	"${ipt[@]}" -I FORWARD -s "$client/32" -p tcp --sport $UNREACH_SPORT "${why[@]}" || rc=1
	ktlab exec client python3 -c '
import socket, sys
for arg in sys.argv[1:]:
    host, port, *bind = arg.split(":")
    s = socket.socket()
    s.settimeout(3)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(bind[0]) if bind else 0))
    try:
        s.connect((host, int(port)))
        err = 0
    except OSError as e:
        err = e.errno or -1
    print(host, port, s.getsockname()[1], err)
    s.close()' "$flaky:9003" "$vip:80:$UNREACH_SPORT" >"$T/unreach.txt" 2>&1 || rc=1
	"${ipt[@]}" -D FORWARD -d "$flaky/32" -p tcp --dport 9003 "${why[@]}" || rc=1
	"${ipt[@]}" -D FORWARD -s "$client/32" -p tcp --sport $UNREACH_SPORT "${why[@]}" || rc=1
	return $rc
}
KTLAB_MORE=unreachable ktlab_record_traffic "$T/record.err" env HOME="$T" "$B/ktcap" -q record -o "$T/lab.tar.zst" \
	--sources host,bpf,pcap,k8s --kubeconfig "$KTLAB_KUBECONFIG" --k8s-interval 2s \
	--node ktlab-node --pcap-around 1s
rc=$?
check "ktcap record and the traffic" 0 "$rc"
[ "$rc" = 0 ] || { cat "$T/record.err"; cat "$T/unreach.txt" 2>/dev/null; }
cp "$KTLAB_TRUTH" "$T/truth.json"
"$B/ktana" verify "$T/lab.tar.zst" >/dev/null || bad "the bundle does not verify"
"$B/ktana" dump --file manifest.json "$T/lab.tar.zst" >"$T/manifest.json"
"$B/ktana" dump -s dns "$T/lab.tar.zst" >"$T/dns.jsonl"
mkdir "$T/b" && tar -xf "$T/lab.tar.zst" -C "$T/b" || bad "cannot unpack the bundle"
M=$T/manifest.json
truth() { jq -r "$1" "$T/truth.json"; }
pod() { jq -r --arg p "$1" ".pods[] | select(.lab == \$p) | .$2" "$KTLAB_JSON"; }

check "pcap source status" ok "$(jq -r .sources.pcap.status "$M")"
check "pcap: not truncated" false "$(jq -r .sources.pcap.truncated "$M")"
check "libpcap's drop counters for every interface" 0 \
	"$(jq '[.sources.pcap.interfaces[] | select(.kernel.dropped == null or .kernel.if_dropped == null)] | length' "$M")"
check "the client's veth is captured" 1 \
	"$(jq --arg v "$(pod client node_veth)" '[.sources.pcap.interfaces[] | select(.name == $v)] | length' "$M")"

# frag_index SPORT FAR -> the index lines of the client's flow from SPORT to
# FAR (an address, the Service's or the backend's), whichever end reported it.
# The port alone is not the flow: another flow of the run (the refused one
# through a ClusterIP, say) may have had the same ephemeral port.
frag_index() {
	jq -c --argjson p "$1" --arg far "$2" --arg c "$(pod client ip)" \
		'select((.flow.src == $c and .flow.sport == $p and
			 (.flow.dst == $far or .flow.orig_dst == $far)) or
			(.flow.dst == $c and .flow.dport == $p and .flow.src == $far))' \
		"$T/b/pcap/fragments.jsonl"
}
# frag_of SPORT FAR -> the fragment files of that flow (more than one: the
# checks below print their index lines, what a look at it needs)
frag_of() { frag_index "$1" "$2" | jq -r .file | sort -u; }
# tcpdump_flags FILE SPORT -> the distinct TCP flags of that flow, sorted
tcpdump_flags() {
	tcpdump -nn -r "$1" "tcp port $2" 2>/dev/null | sed -n 's/.*Flags \[\([^]]*\)\].*/\1/p' | sort -u | tr '\n' ' '
}
for step in refused reset; do
	dport=$([ $step = refused ] && echo 9002 || echo 9000)
	sp=$(truth ".connections[] | select(.step == \"$step\" and .dport == $dport) | .sport")
	far=$(truth ".connections[] | select(.step == \"$step\" and .dport == $dport) | .dst")
	f=$(frag_of "$sp" "$far")
	# the flow's trouble as the eBPF source recorded it
	evs=$("$B/ktana" dump -s flow "$T/lab.tar.zst" 2>/dev/null | jq -c --argjson p "$sp" --arg far "$far" \
		'select((.sport == $p and (.daddr == $far or .orig_daddr == $far)) or
			(.dport == $p and .saddr == $far)) | [.kind, .cause, .netns, .ts]' | paste -sd' ')
	lost=$(jq '.sources.bpf.lost_flow + .sources.bpf.lost_missed_runs' "$M")
	if [ -z "$f" ] && ! echo "$evs" | grep -qE '"(fail|rst_sent|rst_recv)"' && [ "$lost" -gt 0 ]; then
		# every event undelivered is counted: a busy host (another
		# recorder's flood fills our ring too) may take this one
		echo "not asserted: no $step fragment: none of the flow's trouble reached the" \
			"recording, and the eBPF source counted $lost events lost"
		continue
	fi
	check "one fragment for the $step flow :$sp" 1 "$(echo "$f" | grep -c .)"
	[ "$(echo "$f" | grep -c .)" -le 1 ] || frag_index "$sp" "$far" | sed 's/^/  /'
	if [ -z "$f" ]; then	# what the next look at a flake needs
		echo "  the flow's events: $evs"
		echo "  pcap: $(jq -c '.sources.pcap | {troubles_by_kind, troubles_elsewhere,
			fragments_written, fragments_empty, fragments_dropped_busy, lost}' "$M")"
		echo "  bpf: $(jq -c '.sources.bpf | {lost, lost_flow, lost_missed_runs}' "$M")"
		continue
	fi
	flags=$(tcpdump_flags "$T/b/$f" "$sp")
	case " $flags" in *" S "*) ok ;; *) bad "$step fragment $f: no SYN in '$flags'" ;; esac
	case " $flags" in *" R"*) ok ;; *) bad "$step fragment $f: no RST in '$flags'" ;; esac
	check "$step fragment: why" "$step" \
		"$(frag_index "$sp" "$far" | jq -r '.reasons[]' | grep -x "$step" | sort -u)"
	# the pod is named in the interface blocks: node and pod of the client
	desc=$(tshark -r "$T/b/$f" -T fields -e frame.interface_description 2>/dev/null | sort -u)
	case "$desc" in *"node=ktlab-node"*"pod=shop/client"*) ok ;;
		*) bad "$step fragment: interface descriptions '$desc' do not name shop/client" ;; esac
done

# the connects the node answered with ICMP host unreachable
while read -r host port sp err; do
	check "connect to $host:$port fails with EHOSTUNREACH" 113 "$err"
	f=$(frag_of "$sp" "$host")
	lost=$(jq '.sources.bpf.lost_flow + .sources.bpf.lost_missed_runs' "$M")
	if [ -z "$f" ] && [ "$lost" -gt 0 ]; then	# as above
		echo "not asserted: no unreachable fragment for :$sp, and the eBPF source" \
			"counted $lost events lost"
		continue
	fi
	check "one fragment for the unreachable flow :$sp" 1 "$(echo "$f" | grep -c .)"
	[ "$(echo "$f" | grep -c .)" -le 1 ] || frag_index "$sp" "$host" | sed 's/^/  /'
	[ -n "$f" ] || continue
	# The eBPF source knows the error from icmp_send on this node, which
	# sees the offending packet after DNAT (the backend): it files it under
	# the client's end too, which the ClusterIP connect's socket finds.
	why=$(frag_index "$sp" "$host" | jq -r '.reasons[]' | grep -xE 'unreachable|connect_error' | sort -u)
	check "unreachable fragment through $host:$port: why" unreachable "$why"
	check "unreachable fragment: the ICMP error counted" 1 \
		"$(frag_index "$sp" "$host" | jq -r .icmp_errors | sort -u)"
	[ "$(tcpdump -nn -r "$T/b/$f" "tcp src port $sp and tcp[tcpflags] & tcp-syn != 0" 2>/dev/null |
		wc -l)" -ge 1 ] && ok || bad "unreachable fragment $f: no SYN from :$sp"
	# the error's quote: the SYN as the client sent it (the ClusterIP's
	# address and port, not the backend's)
	check "unreachable fragment: ICMP host unreachable quoting the SYN to $host:$port" \
		"$host $port" \
		"$(tshark -r "$T/b/$f" -Y "icmp.type == 3 && icmp.code == 1 && tcp.srcport == $sp" \
			-T fields -E occurrence=l -e ip.dst -e tcp.dstport 2>/dev/null | tr '\t' ' ' | sort -u)"
done <"$T/unreach.txt"
[ "$(grep -c . "$T/unreach.txt")" = 2 ] && ok || bad "unreach.txt: $(cat "$T/unreach.txt")"

# the NXDOMAIN answer seen by the pcap source is trouble too
check "a fragment for the NXDOMAIN answer" 1 \
	"$(jq -r 'select(.reasons | index("dns_error")) | .file' "$T/b/pcap/fragments.jsonl" | sort -u | wc -l)"

# every fragment reads in tshark and tcpdump, and is listed in the manifest
n=0
for f in "$T"/b/pcap/*.pcapng; do
	[ -e "$f" ] || continue
	n=$((n + 1))
	tshark -r "$f" >/dev/null 2>"$T/tshark.err" || bad "tshark cannot read $(basename "$f"): $(cat "$T/tshark.err")"
	tcpdump -r "$f" >/dev/null 2>&1 || bad "tcpdump cannot read $(basename "$f")"
done
[ "$n" -ge 3 ] && ok || bad "only $n fragments"
check "fragments in the manifest" "$n" "$(jq '.sources.pcap.fragments_written' "$M")"

# DNS: the answered query and the NXDOMAIN, as the truth has them
dns_rec() {	# dns_rec NAME -> "rcode answers" of the client's query
	jq -r --arg n "$1" --arg c "$(pod client ip)" 'select(.qname == $n and .client == $c) |
		"\(.rcode) \([.answers[] | split(" ") | .[0:2] | join(" ")] | join(","))"' "$T/dns.jsonl"
}
while read -r name rcode answers; do
	want="$rcode $(echo "$answers" | tr ',' '\n' | sed '/^$/d; s/^/A /' | paste -sd, -)"
	check "dns record of $name" "$want" "$(dns_rec "$name")"
done < <(truth '.connections[] | select(.step == "dns") | "\(.name) \(.rcode) \(.answers | join(","))"')
check "dns: the client's port and a latency" 0 \
	"$(jq -r --arg c "$(pod client ip)" 'select(.client == $c and (.client_port == 0 or .latency_ns == 0))' "$T/dns.jsonl" | wc -l)"

# ---- 2. the size limit --------------------------------------------------------
LIMIT=$((1 << 20)) MARGIN=$((1 << 20))
KTLAB_SHORT=2000 ktlab_record_traffic "$T/flood.err" "$B/ktcap" -q record -o "$T/flood.tar.zst" \
	--sources host,pcap --node ktlab-node --pcap-all --pcap-max-size "$LIMIT" \
	--snaplen 256
rc=$?
check "ktcap record under a flood" 0 "$rc"
[ "$rc" = 0 ] || cat "$T/flood.err"
"$B/ktana" dump --file manifest.json "$T/flood.tar.zst" >"$T/flood.json"
F=$T/flood.json
written=$(jq '[.files[] | select(.path | startswith("pcap/")) | .size] | add // 0' "$F")
[ "$written" -le "$LIMIT" ] && ok || bad "pcap files hold $written bytes, over the $LIMIT limit"
[ "$written" -ge $((LIMIT / 2)) ] && ok || bad "pcap files hold only $written bytes: no flood?"
size=$(stat -c %s "$T/flood.tar.zst")
[ "$size" -le $((LIMIT + MARGIN)) ] && ok || bad "bundle of $size bytes, over $LIMIT + $MARGIN"
check "truncation in the manifest" "true partial" "$(jq -r '"\(.sources.pcap.truncated) \(.sources.pcap.status)"' "$F")"
check "truncation in the warnings" 1 "$(jq '[.warnings[]? | select(contains("pcap-max-size"))] | length' "$F")"
[ "$(jq .sources.pcap.all.dropped_size "$F")" -gt 0 ] && ok || bad "no packet counted as dropped for the limit"
mkdir "$T/f" && tar -xf "$T/flood.tar.zst" -C "$T/f" pcap/all.pcapng 2>/dev/null &&
	tcpdump -r "$T/f/pcap/all.pcapng" >/dev/null 2>&1 && ok || bad "the continuous capture does not read"

# ---- 3. a pod made while recording: its new veth is captured ------------------
nsenter --net="$KTLAB_NODE_NETNS" "$B/ktcap" -q record -o "$T/churn.tar.zst" \
	--sources host,pcap --node ktlab-node 2>"$T/churn.err" &
REC=$!
for _ in $(seq 100); do
	jq -e '.sources.pcap.status == "running"' "$T/churn.tar.zst.spool/manifest.json" >/dev/null 2>&1 && break
	sleep 0.1
done
ktlab recreate web-b >/dev/null || bad "cannot recreate web-b"
sleep 7		# past the pcap source's rescan (5 s)
ktlab exec client "$KTLAB_CLIENT" run --out "$T/churn-truth.json" --short 3 "$(pod web-b ip):80" ||
	bad "no traffic to the new web-b"
# and one DNS query over TCP to the kube-dns Service (2 s at most)
DNS_VIP=$(jq -r '.services[] | select(.name == "kube-dns") | .cluster_ip' "$KTLAB_JSON")
ktlab exec client python3 -c '
import socket, struct, sys
q = struct.pack(">HHHHHH", 0x4b54, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in "web.shop.svc.cluster.local".split(".")) + b"\0"
q += struct.pack(">HH", 1, 1)
s = socket.create_connection((sys.argv[1], 53), timeout=2)
s.sendall(struct.pack(">H", len(q)) + q)
n = struct.unpack(">H", s.recv(2))[0]
r = b""
while len(r) < n:
    r += s.recv(n - len(r))
print(r[3] & 15)' "$DNS_VIP" >"$T/tcp-dns.rcode" 2>&1 || bad "DNS over TCP failed: $(cat "$T/tcp-dns.rcode")"
sleep 0.5
kill -INT "$REC"
wait "$REC" || { bad "ktcap record (churn) failed"; cat "$T/churn.err"; }
REC=
"$B/ktana" dump --file manifest.json "$T/churn.tar.zst" >"$T/churn.json"
[ "$(jq .sources.pcap.interfaces_added "$T/churn.json")" -ge 1 ] && ok ||
	bad "the new pod's veth was not picked up"
"$B/ktana" dump -s dns "$T/churn.tar.zst" >"$T/churn-dns.jsonl"
check "a DNS query over TCP: one record, its rcode and answer" "6 0 A 198.19.0.20" \
	"$(jq -r --arg c "$(pod client ip)" 'select(.client == $c and .id == 19284) |
		"\(.proto) \(.rcode) \(.answers[0] | split(" ") | .[0:2] | join(" "))"' "$T/churn-dns.jsonl")"
check "the new web-b's veth: its netns and pod UID, packets seen" \
	"$(pod web-b netns_inode) $(pod web-b uid) true" \
	"$(jq -r --arg v "$(pod web-b node_veth)" '[.sources.pcap.interfaces[] | select(.name == $v)] | last |
		"\(.peer_netns) \(.pod_uid) \(.packets > 0)"' "$T/churn.json")"

echo "pcap_lab: $pass passed, $fail failed"
[ "$fail" = 0 ]
