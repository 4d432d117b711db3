#!/usr/bin/env bash
# ingest.sh [BUILD_DIR] [FLOWS] [REPEAT] - how fast flow records go into the
# topology model, and its memory per edge (issue 6, goal >= 10 M records/s
# per core), on a synthetic bundle of FLOWS flow events (default 10 M)
# across 1,000 pods and 5,000 edges.
#
#   decode all fields: every column of every flow record (bench_read's work)
#   decode only:       the columns the model reads, 256 records at a time
#   decode + model:    kt_model_feed_bundle(), what `ktana topo` does
#   model alone:       the difference of the last two
#   RSS per edge:      growth of the peak RSS over the model pass, per edge
#                      (edges, entities, connections in flight, k8s index)
#
# Each pass runs REPEAT times (default 3), interleaved, and the fastest
# counts: on a shared machine the slower runs measure the neighbours.
set -euo pipefail
B=${1:-build}
N=${2:-10000000}
R=${3:-3}
T=$(mktemp -d /tmp/kt-bench-XXXXXX)
trap 'rm -rf "$T"' EXIT

"$B/tests/ktgen" "$T/spool" --flows "$N" --pods 1000 --edges 5000
"$B/ktcap" -q pack "$T/spool" -o "$T/b.tar.zst" --finished >/dev/null
rm -rf "$T/spool"
"$B/bench/bench_model" "$T/b.tar.zst" --repeat "$R"
