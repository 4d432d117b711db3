#!/usr/bin/env bash
# import.sh BUILD_DIR CORPUS_DIR - ktana import and ktana flows on real
# captures: the outcomes and counts people read, a cut capture that warns,
# a broken one that fails with a message.
set -u
B=${1:?usage: import.sh BUILD_DIR CORPUS_DIR}
C=${2:?usage: import.sh BUILD_DIR CORPUS_DIR}/pcap
T=$(mktemp -d /tmp/kt-import-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
expect_rc() {	# expect_rc RC CMD... : run, compare the exit status
	local want=$1; shift
	"$@" >"$T/out" 2>"$T/err"; local rc=$?
	[ "$rc" = "$want" ] && ok || bad "exit $rc, wanted $want: $* ($(head -c 300 "$T/err"))"
}

expect_rc 0 "$B/ktana" import -p "$C/tcp/deepflow__server-reset.pcap" \
	-p "$C/tcp/deepflow__syn-retrans.pcap" -p "$C/dns/deepflow__dns-tcp-nxdomain.pcap" \
	-p "$C/overlay/zeek__vxlan-encapsulated-http.pcap" -o "$T/a.tar.zst"
expect_rc 0 "$B/ktana" verify "$T/a.tar.zst"
expect_rc 0 "$B/ktana" flows --json "$T/a.tar.zst"
[ "$(wc -l <"$T/out")" = 5 ] && ok || bad "five connections ($(wc -l <"$T/out"))"
[ "$(jq -r 'select(.src_port == 1395) | .outcome' "$T/out")" = refused ] && ok || bad "refused"
[ "$(jq -r 'select(.dst_port == 12345) | "\(.outcome) \(.retrans) \(.rtt_us) \(.packets_fwd)"' "$T/out")" = \
	"established 1 225400 6" ] && ok || bad "syn-retrans: $(jq -c 'select(.dst_port == 12345)' "$T/out")"
[ "$(jq -r 'select(.dst_port == 80) | .l7' "$T/out")" = "GET /image/svg HTTP/1.1" ] && ok || bad "l7"
[ "$(jq -r 'select(.dst_port == 80) | "\(.bytes_fwd) \(.bytes_rev) \(.tunnel_vni) \(.capture)"' "$T/out")" = \
	"907 9800 1 3" ] && ok || bad "vxlan inner counts"
jq -r 'select(.dst_port == 1379) | .start' "$T/out" |
	grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z$' \
	&& ok || bad "start is RFC 3339 with nanoseconds"
expect_rc 0 "$B/ktana" flows "$T/a.tar.zst"
grep -q '192.168.0.2:1395 -> 192.168.0.3:1379 refused' "$T/out" && ok || bad "text line"
expect_rc 0 "$B/ktana" dump -s dns "$T/a.tar.zst"
[ "$(jq -r 'select(.rcode == 3) | .qname' "$T/out" | sort | head -1)" = prod-fcdt-e02.int.frontnode.net ] \
	&& ok || bad "NXDOMAIN in dns stream"
expect_rc 0 "$B/ktana" dump --file manifest.json "$T/a.tar.zst"
[ "$(jq -r '.captures | length' "$T/out")" = 4 ] && ok || bad "four captures in the manifest"

# the same traffic captured on two nodes whose clocks differ by 3.5 s, and a
# third capture sharing nothing: one record per connection, offsets recorded
editcap -t 3.5 "$C/http/zeek__http-get.pcap" "$T/shifted.pcap" >/dev/null 2>&1 \
	&& ok || bad "editcap (wireshark-common) is needed"
expect_rc 0 "$B/ktana" import -p "$C/http/zeek__http-get.pcap" -p "$T/shifted.pcap" \
	-p "$C/dns/tcpdump__dns_udp.pcap" -o "$T/m.tar"
grep -q "capture 1's clock is +3.500000 s from capture 0's (1 connections" "$T/err" \
	&& ok || bad "clock offset reported: $(cat "$T/err")"
grep -q "warning: capture '.*dns_udp.pcap' shares no connection" "$T/err" && ok || bad "unknown clock warned"
expect_rc 0 "$B/ktana" flows --json "$T/m.tar"
[ "$(jq -r .proto "$T/out" | sort | tr '\n' ' ')" = "tcp udp " ] && ok || bad "merged to one tcp, one udp"
expect_rc 0 "$B/ktana" dump --file manifest.json "$T/m.tar"
[ "$(jq -r '.captures[1].clock_offset_ns' "$T/out")" = 3500000000 ] && ok || bad "offset in manifest"
[ "$(jq -r '.sources.pcap.duplicates' "$T/out")" = 1 ] && ok || bad "duplicates in manifest"

# one file given twice: the same clock, every record once
expect_rc 0 "$B/ktana" import -p "$C/dns/tcpdump__dns_udp.pcap" -p "$C/dns/tcpdump__dns_udp.pcap" -o "$T/t.tar"
expect_rc 0 "$B/ktana" dump "$T/t.tar"
[ "$(jq -r .stream "$T/out" | sort | tr '\n' ' ')" = "conn dns " ] && ok || bad "twice is once"
expect_rc 0 "$B/ktana" dump --file manifest.json "$T/t.tar"
[ "$(jq -r '"\(.captures[1].clock_offset_ns) \(.sources.pcap.dns_duplicates)"' "$T/out")" = "0 1" ] \
	&& ok || bad "offset 0, one DNS duplicate"

# a capture cut in a record: what it holds, and a warning
head -c 1500 "$C/http/zeek__http-get.pcap" >"$T/cut.pcap"
expect_rc 0 "$B/ktana" import -p "$T/cut.pcap" -o "$T/b.tar"
grep -q "warning: capture '.*cut.pcap' stops after" "$T/err" && ok || bad "cut capture warns"
expect_rc 0 "$B/ktana" flows --json "$T/b.tar"
[ "$(wc -l <"$T/out")" = 1 ] && ok || bad "cut capture still has its connection"

# an empty capture: a bundle with nothing in it, and a warning
expect_rc 0 "$B/ktana" import -p "$C/malformed/tcpdump__empty.pcapng" -o "$T/empty.tar"
grep -q "warning: capture '.*empty.pcapng' holds no packets" "$T/err" && ok || bad "empty capture warns"

# a file libpcap refuses: exit 2, the file named
expect_rc 2 "$B/ktana" import -p "$C/malformed/libpcap__pcap-invalid-version-1.pcap" -o "$T/c.tar"
grep -q "cannot read capture '.*invalid-version-1.pcap': archaic" "$T/err" && ok || bad "bad capture message"
[ ! -e "$T/c.tar" ] && [ ! -e "$T/c.tar.spool" ] && ok || bad "nothing left behind"
expect_rc 2 "$B/ktana" import -o "$T/d.tar"
expect_rc 2 "$B/ktana" --json import -p "$C/malformed/tcpdump__empty.pcap" -p /nonexistent -o "$T/e.tar"
jq -e .error.message "$T/err" >/dev/null && ok || bad "--json error"

# flows on a ktcap recording: one line per CLOSE or FAIL event
S=$(dirname "$0")/../samples/synthetic.tar.zst
expect_rc 0 "$B/ktana" flows --json "$S"
want=$("$B/ktana" dump -s flow "$S" | jq -r 'select(.kind == "close" or .kind == "fail") | .kind' | wc -l)
[ "$(wc -l <"$T/out")" = "$want" ] && [ "$want" -gt 0 ] && ok || bad "flows on a recording: $(wc -l <"$T/out") of $want"
[ "$(jq -r .from "$T/out" | sort -u)" = ebpf ] && ok || bad "flows from ebpf"

# --k8s: Kubernetes dumps beside the capture, redacted, listed by `ktana k8s`
K=$C/../k8s
jq '.spec.containers[0].env = [{"name": "DB_PASSWORD", "value": "planted-s3cret-value"}]' \
	"$K/kubectl-neat-fixtures/pod1-raw.json" >"$T/pod.json"
expect_rc 0 "$B/ktana" import -p "$C/tcp/deepflow__server-reset.pcap" \
	-k "$K/troubleshoot-k3s-baseline" -k "$T/pod.json" -o "$T/k.tar"
expect_rc 0 "$B/ktana" verify "$T/k.tar"
expect_rc 0 "$B/ktana" --json info "$T/k.tar"
[ "$(jq -r .sources.k8s.status "$T/out")" = ok ] && ok || bad "--k8s source ok"
[ "$(jq -r .redaction.enabled "$T/out")" = true ] && ok || bad "--k8s redaction recorded"
grep -q planted-s3cret-value "$T/k.tar" && bad "an env value survived the import" || ok
expect_rc 0 "$B/ktana" k8s "$T/k.tar" get pods -A -o json
[ "$(jq -r '.items[].metadata.name' "$T/out" | grep -c coredns)" = 1 ] && ok || bad "--k8s pods readable"
expect_rc 0 "$B/ktana" import -k "$T/pod.json" -o "$T/konly.tar"
expect_rc 2 "$B/ktana" import -k /nonexistent/dump.json -p /nonexistent.pcap -o "$T/kbad.tar"

echo "import.sh: $pass passed, $fail failed"
[ "$fail" = 0 ]
