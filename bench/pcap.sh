#!/usr/bin/env bash
# pcap.sh [BUILD_DIR] [SECONDS] [ROUNDS] - what the pcap source costs, on
# loopback (root), at the load of the eBPF bench (capture.sh): loadgen's
# short connections, one client, flat out, for SECONDS (default 10) each:
#
#   none         no capture
#   ktcap        ktcap record --sources pcap --iface lo --snaplen 96: the
#                ring and the DNS decoder, fragments only on trouble (none)
#   ktcap-all    the same with --pcap-all: every packet to pcapng on disk
#   tcpdump -w   tcpdump -i lo -s 96 -w FILE
#
# Runs are interleaved ROUNDS times (default 2) so a busy machine weighs on
# each alike. Printed per run: connections/s and the ratio to no capture in
# the same round, the capturer's CPU seconds, packets it saw, and the
# kernel's drops (libpcap's ps_drop for ktcap, tcpdump's own count).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
B=$(cd "${1:-build}" && pwd)
S=${2:-10}
ROUNDS=${3:-2}
SNAP=96
T=$(mktemp -d /tmp/kt-bench-pcap-XXXXXX)
KPID=
cleanup() { [ -n "$KPID" ] && kill "$KPID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
[ "$(id -u)" = 0 ] || { echo "pcap.sh: needs root (packet capture)" >&2; exit 2; }
command -v tcpdump >/dev/null || { echo "pcap.sh: needs tcpdump" >&2; exit 2; }

cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
loadgen() { "$B/bench/loadgen" "$S" 1 | awk '{print $6}'; }

run_ktcap() {	# run_ktcap NAME [OPTIONS] -> "rate cpu packets drops"
	local name=$1 rate cpu
	shift
	"$B/ktcap" -q record -o "$T/$name.tar" --sources pcap --iface lo --snaplen $SNAP \
		--pcap-max-size 4G "$@" 2>"$T/$name.err" &
	KPID=$!
	bench_wait_running "$T/$name.tar.spool" pcap 100 || true
	rate=$(loadgen)
	cpu=$(cpu_of "$KPID")
	kill -INT "$KPID"
	wait "$KPID" || { cat "$T/$name.err" >&2; exit 1; }
	KPID=
	"$B/ktana" dump --file manifest.json "$T/$name.tar" |
		jq -r --arg r "$rate" --arg c "$cpu" \
		'.sources.pcap.interfaces[0] | "\($r) \($c) \(.packets) \(.kernel.dropped)"'
	rm -rf "$T/$name.tar"
}

run_tcpdump() {
	local rate cpu
	tcpdump -i lo -s $SNAP -w "$T/dump.pcap" 2>"$T/tcpdump.err" &
	KPID=$!
	sleep 1
	rate=$(loadgen)
	cpu=$(cpu_of "$KPID")
	kill -INT "$KPID"
	wait "$KPID" || true
	KPID=
	echo "$rate $cpu $(awk '/packets captured/ {c=$1} /dropped by kernel/ {d=$1} END {print c, d}' "$T/tcpdump.err")"
	rm -f "$T/dump.pcap"
}

printf "%-6s %-12s %12s %7s %9s %11s %8s\n" round run "conn/s" ratio "cpu s" packets dropped
for r in $(seq "$ROUNDS"); do
	none=$(loadgen)
	printf "%-6s %-12s %12.0f %7s %9s %11s %8s\n" "$r" none "$none" 1 - - -
	for run in ktcap ktcap-all tcpdump; do
		case $run in
		ktcap) line=$(run_ktcap k) ;;
		ktcap-all) line=$(run_ktcap a --pcap-all) ;;
		tcpdump) line=$(run_tcpdump) ;;
		esac
		read -r rate cpu pk dr <<<"$line"
		printf "%-6s %-12s %12.0f %7.3f %9s %11s %8s\n" "$r" "$run" "$rate" \
			"$(awk -v a="$rate" -v b="$none" 'BEGIN { print a / b }')" "$cpu" "$pk" "$dr"
	done
done
