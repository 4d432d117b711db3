#!/usr/bin/env bash
# boutique_lab.sh - records the boutique scenario afresh, as
# samples/record-boutique.sh does for the shipped sample, and holds the new
# bundle to the same expectations (tests/sample_boutique.sh): the scenario,
# the recording and the model keep showing what the sample shows.
# On a failure both bundles are kept in /tmp: the one checked, and the
# recording as made, before the other namespaces' records were dropped.
# Needs root and BPF; skips (77) with the reason where they are missing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
B=${KT_BUILD_DIR:?set KT_BUILD_DIR to the build directory}
T=$(mktemp -d /tmp/kt-boutique-lab-XXXXXX)
kept=
trap 'rm -rf "$T" ${kept:+"$kept"}' EXIT
KEEP=1 "$here/../../samples/record-boutique.sh" "$B" "$T/boutique.tar.zst" >"$T/out" 2>&1
rc=$?
kept=$(sed -n 's/^kept //p' "$T/out" | tail -n1)
[ $rc = 77 ] && { grep SKIP "$T/out"; exit 77; }
[ $rc = 0 ] || { echo "FAIL: record-boutique.sh ($rc)"; cat "$T/out"; exit 1; }
"$here/../sample_boutique.sh" "$B" "$T/boutique.tar.zst" && exit 0
keep=$(mktemp /tmp/kt-boutique-failed-XXXXXX)
cp "$T/boutique.tar.zst" "$keep.tar.zst" && echo "the bundle is kept in $keep.tar.zst"
[ -f "$kept/unfiltered.tar.zst" ] && cp "$kept/unfiltered.tar.zst" "$keep.unfiltered.tar.zst" &&
	echo "the recording before filtering in $keep.unfiltered.tar.zst"
rm -f "$keep"
exit 1
