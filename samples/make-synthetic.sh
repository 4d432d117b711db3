#!/usr/bin/env bash
# Re-makes samples/synthetic.tar.zst: a synthetic bundle written by ktgen
# (tests/tools/ktgen.c), shaped like a small shop application: 40 pods, 120
# edges, 5,000 flow events with refused and timed-out connects, DNS answers
# and an NXDOMAIN, one ClusterIP conntrack entry. Deterministic but for the
# host facts in its manifest (docs/synthetic.md). The main sample is the
# recorded samples/boutique.tar.zst; this one stays for tests that want a
# bundle with every record type and no lab.
#   samples/make-synthetic.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
KT_NODE_NAME=synthetic-node-1 "$B/tests/ktgen" "$tmp/spool" --flows 5000 --pods 40 --edges 120 --seed 7
"$B/ktcap" pack "$tmp/spool" -o samples/synthetic.tar.zst --finished --level 19
"$B/ktana" verify samples/synthetic.tar.zst
