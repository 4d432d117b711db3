#!/usr/bin/env bash
# boutique_lab.sh - records the boutique scenario afresh, as
# samples/record-boutique.sh does for the shipped sample, and holds the new
# bundle to the same expectations (tests/sample_boutique.sh): the scenario,
# the recording and the model keep showing what the sample shows.
# Needs root and BPF; skips (77) with the reason where they are missing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
B=${KT_BUILD_DIR:?set KT_BUILD_DIR to the build directory}
T=$(mktemp -d /tmp/kt-boutique-lab-XXXXXX)
trap 'rm -rf "$T"' EXIT
"$here/../../samples/record-boutique.sh" "$B" "$T/boutique.tar.zst" >"$T/out" 2>&1
rc=$?
[ $rc = 77 ] && { grep SKIP "$T/out"; exit 77; }
[ $rc = 0 ] || { echo "FAIL: record-boutique.sh ($rc)"; cat "$T/out"; exit 1; }
"$here/../sample_boutique.sh" "$B" "$T/boutique.tar.zst" && exit 0
keep=$(mktemp /tmp/kt-boutique-failed-XXXXXX.tar.zst)
cp "$T/boutique.tar.zst" "$keep" && echo "the bundle is kept in $keep"
exit 1
