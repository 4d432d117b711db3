#!/usr/bin/env bash
# format.sh [BUILD_DIR] [FLOWS] - the bundle format's write and read rates
# and its size per flow event, beside zstd as the ceiling, in one run.
#
#   write: ktgen writing FLOWS flow events (1,000 pods, 5,000 edges) into a
#          spool: generating, encoding, compressing, writing
#   size:  bytes of the flow stream and of the packed .tar.zst per event
#   read:  bench_read decoding every event as struct kt_flow from the
#          bundle (archive, sha256 and block checks included), CPU time
#   real:  when run as root, the same for a ktcap recording of loadgen
#   ceiling: the same events as fixed-width structs compressed with zstd -3:
#          its size per event, and the CPU time of `zstd -d` alone
set -euo pipefail
B=${1:-build}
N=${2:-10000000}
T=$(mktemp -d /tmp/kt-bench-XXXXXX)
trap 'rm -rf "$T"' EXIT
cpu() { /usr/bin/time -f "%U %S" "$@" 2>&1 >/dev/null | tail -1 | awk '{print $1 + $2}'; }

w=$(cpu "$B/tests/ktgen" "$T/spool" --flows "$N" --pods 1000 --edges 5000)
flow_bytes=$(du -sb "$T/spool/streams/flow" | cut -f1)
"$B/ktcap" pack "$T/spool" -o "$T/b.tar.zst" --finished >/dev/null
bundle_bytes=$(stat -c %s "$T/b.tar.zst")
read_line=$("$B/bench/bench_read" "$T/b.tar.zst")
r=$(echo "$read_line" | awk '{print $4}')	# cpu_s
"$B/bench/bench_read" "$T/b.tar.zst" --raw "$T/raw" >/dev/null
zstd -q -3 -T1 "$T/raw" -o "$T/raw.zst"
rm -f "$T/raw"
raw_bytes=$(stat -c %s "$T/raw.zst")
z=$(cpu zstd -q -d -c "$T/raw.zst")

awk -v n="$N" -v w="$w" -v fb="$flow_bytes" -v bb="$bundle_bytes" -v r="$r" -v z="$z" -v rb="$raw_bytes" '
BEGIN {
	printf "flow events:            %d\n", n
	printf "write:                  %.2f s CPU, %.2f M events/s\n", w, n / w / 1e6
	printf "flow stream:            %.2f bytes/event (goal <= 16)\n", fb / n
	printf "bundle (.tar.zst):      %.2f bytes/event\n", bb / n
	printf "read (decode+checks):   %.2f s CPU, %.2f M events/s (goal >= 10)\n", r, n / r / 1e6
	printf "raw structs, zstd -3:   %.2f bytes/event (format size / this: %.2f)\n", rb / n, fb / rb
	printf "zstd -d of those:       %.2f s CPU, %.2f M events/s\n", z, n / z / 1e6
	printf "read time / zstd -d:    %.2f\n", r / z
}'

# The same on a real recording, where root can make one: ktcap recording
# loadgen's loopback connections for 30 s.
if [ "$(id -u)" = 0 ]; then
	"$B/ktcap" -q record -o "$T/real.tar.zst" --sources bpf &
	kp=$!
	for _ in $(seq 200); do
		jq -e '.sources.bpf.status == "running"' "$T/real.tar.zst.spool/manifest.json" \
			>/dev/null 2>&1 && break
		sleep 0.1
	done
	"$B/bench/loadgen" 30 1 >/dev/null
	kill -INT "$kp"
	wait "$kp"
	n=$("$B/ktana" --json info "$T/real.tar.zst" | jq .streams.flow.records)
	fb=$("$B/ktana" --json info "$T/real.tar.zst" | jq .streams.flow.bytes)
	r=$("$B/bench/bench_read" "$T/real.tar.zst" | awk '{print $4}')
	"$B/bench/bench_read" "$T/real.tar.zst" --raw "$T/real.raw" >/dev/null
	zstd -q -3 -T1 "$T/real.raw" -o "$T/real.raw.zst"
	rb=$(stat -c %s "$T/real.raw.zst")
	z=$(cpu zstd -q -d -c "$T/real.raw.zst")
	awk -v n="$n" -v fb="$fb" -v r="$r" -v z="$z" -v rb="$rb" 'BEGIN {
		printf "real recording:         %d flow events (loadgen, 30 s)\n", n
		printf "  flow stream:          %.2f bytes/event; raw structs + zstd -3: %.2f (%.2f)\n", fb / n, rb / n, fb / rb
		printf "  read:                 %.2f M events/s; read time / zstd -d: %.2f\n", n / r / 1e6, r / z
	}'
fi
