#!/usr/bin/env bash
# Re-makes tests/golden/bundles/shop-mini.tar.zst, the small bundle the
# golden tests run on: a ktgen spool (8 pods, 14 edges, 600 flow events,
# refused and timed-out connects) plus what mkbundle.py adds (Kubernetes
# objects over two snapshots, hostile names, a pcap fragment). The manifest
# keeps this machine's host facts and packing time: after re-making it, run
# tests/golden/run.sh BUILD_DIR --update and review the diff.
#   tests/golden/make-bundle.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$B/tests/ktgen" "$tmp/spool" --flows 600 --pods 8 --edges 14 --seed 11 >/dev/null
python3 tests/golden/mkbundle.py "$tmp/spool" "$B/ktana"
"$B/ktcap" pack "$tmp/spool" -o tests/golden/bundles/shop-mini.tar.zst --finished --level 19 >/dev/null
"$B/ktana" verify tests/golden/bundles/shop-mini.tar.zst
