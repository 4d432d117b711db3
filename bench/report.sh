#!/usr/bin/env bash
# report.sh [BUILD_DIR] [REPEAT] - what `ktana report` costs on a large
# topology: a ktgen bundle of 1,000 pods and 5,000 edges (300,000 flow
# events), at the pod level.
#
#   1. bench_report: the diagram alone (cgraph build, gvc layout + SVG, and
#      + PNG), with the engine the report picks for that size (sfdp) and,
#      for comparison, at the size limit where it still picks dot;
#   2. `ktana topo --json` (the model alone) and `ktana report --no-split`
#      (model, diagram, documents), interleaved, REPEAT times (default 3).
# The machine is shared: read the ratios of one run, not absolute figures.
set -euo pipefail
B=$(cd "${1:-build}" && pwd)
N=${2:-3}
T=$(mktemp -d /tmp/kt-bench-report-XXXXXX)
trap 'rm -rf "$T"' EXIT

"$B/tests/ktgen" "$T/spool" --flows 300000 --pods 1000 --edges 5000 --seed 3
"$B/ktcap" pack "$T/spool" -o "$T/big.tar.zst" --finished >/dev/null
"$B/ktana" topo --level pod --json "$T/big.tar.zst" >"$T/topo.json"
"$B/tests/ktgen" "$T/spool2" --flows 60000 --pods 300 --edges 1100 --seed 3
"$B/ktcap" pack "$T/spool2" -o "$T/mid.tar.zst" --finished >/dev/null
"$B/ktana" topo --level pod --json "$T/mid.tar.zst" >"$T/mid.json"

echo "== diagram alone"
"$B/bench/bench_report" "$T/topo.json" "" "$N"
"$B/bench/bench_report" "$T/mid.json" "" 1

echo "== whole command (wall clock, s)"
for i in $(seq "$N"); do
	s=$(date +%s.%N)
	"$B/ktana" topo --level pod --json "$T/big.tar.zst" >/dev/null
	m=$(date +%s.%N)
	"$B/ktana" -q report --level pod --no-split -o "$T/r" "$T/big.tar.zst" >/dev/null
	e=$(date +%s.%N)
	echo "topo $(echo "$m - $s" | bc)  report $(echo "$e - $m" | bc)"
done
du -sh "$T/r"/* | sort -h | tail -5
