#!/usr/bin/env bash
# k8s_load.sh [BUILD_DIR] [PODS] [REPEAT] - how fast the Kubernetes objects
# of a bundle load, against jq reading the same files (the peer: a JSON
# parser that keeps nothing). The bundle is `ktgen --k8s` with PODS pods
# (default 1000: two snapshots, about 8 MB of JSON) and only 1,000 flows,
# so that loading the objects is all the work:
#
#   ktana topo:  load and index the objects, then the topology (`ktana
#                topo --format json`, the JSON thrown away)
#   ktcap import: `ktcap record --k8s-from` of the same files, redacted
#                into a bundle (the k8s source only; its kubectl is
#                /bin/false, so only the import does anything)
#   jq empty:    parse every file, keep nothing
#
# CPU seconds (user + system) of the fastest of REPEAT runs (default 5),
# MB/s of JSON, and each tool's time as a multiple of jq's.
set -euo pipefail
B=${1:-build}
P=${2:-1000}
R=${3:-5}
T=$(mktemp -d /tmp/kt-bench-XXXXXX)
trap 'rm -rf "$T"' EXIT

"$B/tests/ktgen" "$T/spool" --flows 1000 --pods "$P" --edges "$((P * 5))" --k8s 2>/dev/null
"$B/ktcap" -q pack "$T/spool" -o "$T/b.tar.zst" --finished >/dev/null
mkdir "$T/x"
tar -xf "$T/b.tar.zst" -C "$T/x" k8s
mapfile -t files < <(find "$T/x/k8s" -type f -name '*.json' | sort)
mb=$(du -cb "${files[@]}" | tail -1 | awk '{ printf "%.1f", $1 / 1e6 }')

# cpu CMD...: user + system seconds of the fastest of R runs
cpu() {
	local best='' t
	for _ in $(seq "$R"); do
		rm -rf "$T/out.tar.zst" "$T/out.tar.zst.spool"
		t=$( { TIMEFORMAT='%U %S'; time "$@" >/dev/null 2>&1; } 2>&1 | awk '{ print $1 + $2 }')
		best=$(awk -v a="$t" -v b="${best:-$t}" 'BEGIN { print (a < b ? a : b) }')
	done
	echo "$best"
}

jq_s=$(cpu jq empty "${files[@]}")
topo_s=$(cpu "$B/ktana" topo "$T/b.tar.zst" --format json)
imp_s=$(cpu "$B/ktcap" -q record -o "$T/out.tar.zst" --sources k8s --kubectl /bin/false \
	--k8s-from "$T/x/k8s" --duration 1s)
echo "== $P pods, ${#files[@]} files, $mb MB of JSON; CPU s of the best of $R runs"
for row in "jq empty:$jq_s" "ktana topo:$topo_s" "ktcap import:$imp_s"; do
	awk -v n="${row%%:*}" -v s="${row#*:}" -v mb="$mb" -v jq="$jq_s" 'BEGIN {
		printf "%-13s %6.2f s  %6.1f MB/s  %5.2fx jq\n", n, s, mb / s, s / jq }'
done
