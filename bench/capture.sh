#!/usr/bin/env bash
# capture.sh [BUILD_DIR] [SECONDS] [LONG_SECONDS] [LONG_RATE] - what recording costs, in
# one run, on loopback (root):
#
#   1. loadgen (short connections, C client and server) and wrk against
#      nginx, each for SECONDS (default 10): with no capture, with
#      `ktcap record --sources bpf`, and with `tcpdump -w` of headers
#      (snap length 96) on lo; the three interleaved ROUNDS times (env,
#      default 3) and the median of each printed, since a shared machine
#      drifts more between runs than a capture costs;
#   2. events lost at the highest rate this machine makes (loadgen, 2 clients);
#   3. when LONG_SECONDS > 0 (600 for the 10-minute figure): ktcap CPU
#      seconds and RSS sampled every 5 s while loadgen runs the whole time,
#      paced at LONG_RATE connections/s (default 2000; 0 = flat out).
#
# Ratios are against the no-capture run of the same load in the same run.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
B=$(cd "${1:-build}" && pwd)
S=${2:-10}
LONG=${3:-0}
LONG_RATE=${4:-2000}
T=$(mktemp -d /tmp/kt-bench-capture-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$T"; }
trap cleanup EXIT
[ "$(id -u)" = 0 ] || { echo "capture.sh: needs root (eBPF, tcpdump)" >&2; exit 2; }
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
command -v tcpdump >/dev/null || apt-get install -y -qq tcpdump >/dev/null

# nginx on loopback with a config of its own
NGX=$(bench_nginx "$T" 18089)
PIDS+=("$NGX")

start_ktcap() {	# start_ktcap NAME: record until stopped, wait until running
	"$B/ktcap" -q record -o "$T/$1.tar.zst" --sources bpf 2>"$T/$1.err" &
	KPID=$!
	bench_wait_running "$T/$1.tar.zst.spool" bpf && return
	echo "ktcap did not start: $(cat "$T/$1.err")" >&2
	exit 1
}
stop_ktcap() {
	kill -INT "$KPID"
	wait "$KPID"
}
start_tcpdump() {
	tcpdump -q -i lo -s 96 -w "$T/dump.pcap" 2>/dev/null &
	KPID=$!
	sleep 1
}
stop_tcpdump() { kill -INT "$KPID"; wait "$KPID" || true; }

loadgen() { "$B/bench/loadgen" "$S" "${1:-1}" | awk '{print $6}'; }
wrk_rate() { wrk -t1 -c16 -d"${S}s" http://127.0.0.1:18089/ | awk '/Requests\/sec/ {print $2}'; }

ROUNDS=${ROUNDS:-3}
declare -A R
median() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
if [ "${SKIP_SHORT:-}" ]; then lost1=- events1=- lost2=- events2=-; else
lost1=0 events1=0
for _ in $(seq "$ROUNDS"); do
	R[load_none]+=" $(loadgen)"
	R[wrk_none]+=" $(wrk_rate)"
	start_ktcap run1
	R[load_ktcap]+=" $(loadgen)"
	R[wrk_ktcap]+=" $(wrk_rate)"
	stop_ktcap
	lost1=$((lost1 + $("$B/ktana" --json info "$T/run1.tar.zst" | jq '.sources.bpf.lost')))
	events1=$((events1 + $("$B/ktana" --json info "$T/run1.tar.zst" | jq '.streams.flow.records')))
	rm -rf "$T/run1.tar.zst"
	start_tcpdump
	R[load_tcpdump]+=" $(loadgen)"
	R[wrk_tcpdump]+=" $(wrk_rate)"
	stop_tcpdump
done
for k in "${!R[@]}"; do R[$k]=$(echo "${R[$k]}" | median); done

start_ktcap run2
R[load2_ktcap]=$(loadgen 2)
stop_ktcap
lost2=$("$B/ktana" --json info "$T/run2.tar.zst" | jq '.sources.bpf.lost')
events2=$("$B/ktana" --json info "$T/run2.tar.zst" | jq '.streams.flow.records')

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
echo "loopback load, $S s each, median of $ROUNDS interleaved rounds (rate per second; ratio to no capture)"
printf "  %-26s %10s %10s %10s\n" "" none ktcap "tcpdump -w"
printf "  %-26s %10.0f %10.0f %10.0f\n" "loadgen connections/s" "${R[load_none]}" "${R[load_ktcap]}" "${R[load_tcpdump]}"
printf "  %-26s %10s %10s %10s\n" "  ratio" 1 "$(ratio "${R[load_ktcap]}" "${R[load_none]}")" "$(ratio "${R[load_tcpdump]}" "${R[load_none]}")"
printf "  %-26s %10.0f %10.0f %10.0f\n" "wrk -> nginx requests/s" "${R[wrk_none]}" "${R[wrk_ktcap]}" "${R[wrk_tcpdump]}"
printf "  %-26s %10s %10s %10s\n" "  ratio" 1 "$(ratio "${R[wrk_ktcap]}" "${R[wrk_none]}")" "$(ratio "${R[wrk_tcpdump]}" "${R[wrk_none]}")"
echo "events lost: $lost1 of $events1 (1 client, all rounds), $lost2 of $events2 at ${R[load2_ktcap]} connections/s (2 clients, the most here)"
fi

if [ "$LONG" -gt 0 ]; then
	start_ktcap long
	"$B/bench/loadgen" "$LONG" 1 "$LONG_RATE" >"$T/long.load" &
	LPID=$!
	PIDS+=("$LPID")
	: >"$T/rss"
	while kill -0 "$LPID" 2>/dev/null; do
		awk '/VmRSS/ {print $2}' "/proc/$KPID/status" >>"$T/rss"
		sleep 5
	done
	read -r ut st < <(awk '{print $14, $15}' "/proc/$KPID/stat")
	hz=$(getconf CLK_TCK)
	stop_ktcap
	echo "long run, ${LONG} s under loadgen ($(awk '{print $6}' "$T/long.load") connections/s):"
	awk -v ut="$ut" -v st="$st" -v hz="$hz" -v secs="$LONG" '
		{ rss[NR] = $1; if ($1 > peak) peak = $1 }
		END {
			printf "  ktcap CPU: %.1f s (%.1f%% of one core)\n", (ut + st) / hz, 100 * (ut + st) / hz / secs
			printf "  ktcap RSS: peak %.1f MiB; at 1 min %.1f MiB, at the end %.1f MiB\n",
			       peak / 1024, rss[13] / 1024, rss[NR] / 1024
		}' "$T/rss"
	"$B/ktana" --json info "$T/long.tar.zst" | jq -r '"  events \(.streams.flow.records), lost \(.sources.bpf.lost), bundle \(.bytes) bytes"'
fi
