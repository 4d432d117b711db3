#!/usr/bin/env bash
# Re-makes samples/synthetic.tar.zst: a synthetic bundle written by ktgen
# (tests/tools/ktgen.c), shaped like a small shop application: 40 pods, 120
# edges, 5,000 flow events with refused and timed-out connects, DNS answers
# and an NXDOMAIN, one ClusterIP conntrack entry. Deterministic but for the
# host facts in its manifest. A bundle recorded from the lab replaces it as
# the main sample once `ktcap record` and `ktana report` exist.
#   samples/make-synthetic.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
KT_NODE_NAME=synthetic-node-1 "$B/tests/ktgen" "$tmp/spool" --flows 5000 --pods 40 --edges 120 --seed 7
"$B/ktcap" pack "$tmp/spool" -o samples/synthetic.tar.zst --finished --level 19
"$B/ktana" verify samples/synthetic.tar.zst
