#!/usr/bin/env bash
# ingest.sh [BUILD_DIR] [FLOWS] [REPEAT] - how fast flow records go into the
# topology model, and its memory per edge (issue 6, goal >= 10 M records/s
# per core), on synthetic bundles of FLOWS flow events (default 10 M)
# across 1,000 pods and 5,000 edges, made by ktgen with the same seed:
#
#   plain: no Kubernetes objects: pods by the UID of their cgroup, servers
#          by address, nothing to look up
#   k8s:   `ktgen --k8s`: the cluster's objects as the k8s source writes
#          them (two snapshots), pods found by IP, UID and container ID,
#          workloads through ownerReferences, half the edges through a
#          Service's ClusterIP, conntrack naming some backends (256 new
#          entries a second): the path a recorded bundle takes
#
# For each bundle, bench_model prints:
#   decode all fields: every column of every flow record (bench_read's work)
#   decode only:       the columns the model reads, 256 records at a time
#   decode + model:    kt_model_feed_bundle(), what `ktana topo` does
#                      (with the k8s bundle: loading its objects too)
#   model alone:       the difference of the last two
#   objects alone:     (k8s) loading the Kubernetes objects by themselves, a
#                      fixed cost inside the two lines above; "without
#                      objects" gives both rates less it
#   RSS per edge:      growth of the peak RSS over the model pass, per edge
#                      (edges, entities, connections in flight, k8s index)
#
# The two bundles are measured in turn, REPEAT times (default 3), each run
# a process of its own, and the run with the fastest model pass counts: on
# a shared machine the slower runs measure the neighbours.
set -euo pipefail
B=${1:-build}
N=${2:-10000000}
R=${3:-3}
T=$(mktemp -d /tmp/kt-bench-XXXXXX)
trap 'rm -rf "$T"' EXIT

for k in plain k8s; do
	"$B/tests/ktgen" "$T/$k" --flows "$N" --pods 1000 --edges 5000 \
		$([ $k = k8s ] && echo --k8s) 2>"$T/$k.gen"
	"$B/ktcap" -q pack "$T/$k" -o "$T/$k.tar.zst" --finished >/dev/null
	rm -rf "${T:?}/$k"
done
for r in $(seq "$R"); do
	for k in plain k8s; do
		"$B/bench/bench_model" "$T/$k.tar.zst" >"$T/$k.$r"
	done
done
for k in plain k8s; do
	best=$(for r in $(seq "$R"); do
		echo "$(awk '/^decode \+ model/ { print $4 }' "$T/$k.$r") $T/$k.$r"
	done | sort -n | head -1 | cut -d' ' -f2)
	echo "== $k bundle ($(du -k "$T/$k.tar.zst" | cut -f1) KiB; $(cat "$T/$k.gen" | sed 's/^ktgen: //'))"
	cat "$best"
done
