#!/usr/bin/env bash
# report_hostile.sh BUILD_DIR - `ktana report` on every bundle of the
# bundle fuzzer's seeds (tests/fuzz/corpus/bundle/: valid ones, and ones
# that lie: flipped blocks, a future version, symlinks, path traversal) and
# on the golden bundle cut short at several lengths. Each must end with 0
# (a report) or 2 (refused, with a message), never a signal or a sanitizer
# report, and write nothing outside its -o directory. Then the command
# line's errors and defaults.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
B=$(cd "${1:?usage: report_hostile.sh BUILD_DIR}" && pwd)
T=$(mktemp -d /tmp/kt-report-hostile-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0

golden=$here/golden/bundles/shop-mini.tar.zst
size=$(stat -c %s "$golden")
for n in 100 1000 4000 $((size / 2)) $((size - 7)); do
	head -c "$n" "$golden" >"$T/cut-$n.tar.zst"
done
for b in "$here"/fuzz/corpus/bundle/* "$T"/cut-*.tar.zst; do
	name=$(basename "$b")
	mkdir -p "$T/out/$name"
	(cd "$T/out/$name" && "$B/ktana" -q report --level pod --window 1ms --at +1ms \
		-o report "$b" >stdout 2>stderr)
	rc=$?
	if [ "$rc" != 0 ] && [ "$rc" != 2 ]; then
		echo "FAIL $name: exit $rc"; tail -5 "$T/out/$name/stderr"; fail=$((fail + 1)); continue
	fi
	if [ "$rc" = 2 ] && ! grep -q . "$T/out/$name/stderr"; then
		echo "FAIL $name: refused without a message"; fail=$((fail + 1)); continue
	fi
	extra=$(cd "$T/out/$name" && ls -A | grep -v -x -e report -e stdout -e stderr)
	[ -z "$extra" ] || { echo "FAIL $name: wrote $extra"; fail=$((fail + 1)); continue; }
	pass=$((pass + 1))
done
# the command line: usage errors are 2 with a message; the default
# directory is the bundle's name + -report, in the current directory;
# --json prints where the files are
expect() {	# expect DESCRIPTION WANT_RC CMD...
	local d=$1 want=$2
	shift 2
	"$@" >"$T/cli.out" 2>"$T/cli.err"
	local rc=$?
	if [ "$rc" = "$want" ]; then pass=$((pass + 1)); else
		echo "FAIL $d: exit $rc, wanted $want"; cat "$T/cli.err"; fail=$((fail + 1)); fi
}
expect "no bundle" 2 "$B/ktana" report
expect "bad --window" 2 "$B/ktana" report --window 0 "$golden"
expect "bad --level" 2 "$B/ktana" report --level galaxy "$golden"
expect "bad --at" 2 "$B/ktana" report --at yesterday "$golden"
expect "bad --engine" 2 "$B/ktana" report --engine /bin/sh "$golden"
expect "--json error" 2 "$B/ktana" --json report "$T/none.tar.zst"
grep -q '"error"' "$T/cli.err" && pass=$((pass + 1)) || { echo "FAIL --json error: $(cat "$T/cli.err")"; fail=$((fail + 1)); }
mkdir -p "$T/cwd"
(cd "$T/cwd" && "$B/ktana" -q --json report "$golden" >out.json 2>err) ||
	{ echo "FAIL default directory: $(cat "$T/cwd/err")"; fail=$((fail + 1)); }
if [ -s "$T/cwd/shop-mini-report/index.html" ] &&
   grep -q '"index":"shop-mini-report/index.html"' "$T/cwd/out.json"; then
	pass=$((pass + 1))
else
	echo "FAIL default directory: $(ls "$T/cwd") $(cat "$T/cwd/out.json")"; fail=$((fail + 1))
fi

echo "report_hostile: $pass passed, $fail failed"
[ "$fail" = 0 ]
