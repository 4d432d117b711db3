#!/usr/bin/env bash
# Golden tests of `ktana report` (TESTLIST: name, bundle, flags). For each:
#   1. the report, twice, into two directories: every file byte for byte
#      the same (the report is a function of the bundle and the options);
#   2. topology.json byte for byte what `ktana topo --json` prints for the
#      same level, namespace and window;
#   3. index.html, report.md, topology.json, topology.svg and topology.dot,
#      normalized (normalize.py), against expected/NAME/.
#   run.sh BUILD_DIR            compare
#   run.sh BUILD_DIR --update   rewrite expected/ from this build
# To point it at another bundle, add a line to TESTLIST and run --update
# (tests/report_browser.sh takes it from KT_REPORT_BUNDLE).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
B=$(cd "${1:?usage: run.sh BUILD_DIR [--update]}" && pwd)
update=${2:-}
T=$(mktemp -d /tmp/kt-golden-XXXXXX)
trap 'rm -rf "$T"' EXIT
files="index.html report.md topology.json topology.svg topology.dot"
pass=0 fail=0

while read -r name bundle flags; do
	case $name in ''|'#'*) continue ;; esac
	# shellcheck disable=SC2086
	if ! "$B/ktana" -q report -o "$T/$name.1" $flags "$root/$bundle" >"$T/$name.out" 2>&1 ||
	   ! "$B/ktana" -q report -o "$T/$name.2" $flags "$root/$bundle" >>"$T/$name.out" 2>&1; then
		echo "FAIL $name: ktana report failed:"; cat "$T/$name.out"; fail=$((fail + 1)); continue
	fi
	if ! diff -r "$T/$name.1" "$T/$name.2" >"$T/$name.det"; then
		echo "FAIL $name: two runs differ:"; head -20 "$T/$name.det"; fail=$((fail + 1)); continue
	fi
	grep -q "index.html" "$T/$name.out" || { echo "FAIL $name: no 'index.html' printed"; fail=$((fail + 1)); }
	# topology.json is what `ktana topo --json` prints for the same view
	topo=() prev=
	for a in $flags; do
		case $prev in -n|--namespace) topo+=("$prev" "$a") ;; esac
		prev=$a
	done
	read -r w level < <(python3 -c 'import json,sys; t = json.load(open(sys.argv[1]))
print(t["window_ns"], t["level"])' "$T/$name.1/topology.json")
	topo+=(--level "$level")
	if "$B/ktana" topo --json "${topo[@]}" --window "${w}ns" "$root/$bundle" | cmp -s - "$T/$name.1/topology.json"; then
		pass=$((pass + 1))
	else
		echo "FAIL $name: topology.json is not 'ktana topo --json ${topo[*]} --window ${w}ns'"; fail=$((fail + 1))
	fi
	mkdir -p "$here/expected/$name"
	for f in $files; do
		python3 "$here/normalize.py" "$T/$name.1/$f" >"$T/$name.$f" || { fail=$((fail + 1)); continue; }
		if [ "$update" = --update ]; then
			cp "$T/$name.$f" "$here/expected/$name/$f"
		elif diff -u "$here/expected/$name/$f" "$T/$name.$f" >"$T/$name.$f.diff"; then
			pass=$((pass + 1))
		else
			echo "FAIL $name/$f differs from expected (run.sh BUILD_DIR --update to accept):"
			head -40 "$T/$name.$f.diff"
			fail=$((fail + 1))
		fi
	done
done <"$here/TESTLIST"
[ "$update" = --update ] && echo "golden: expected/ rewritten" && exit 0
echo "golden: $pass passed, $fail failed"
[ "$fail" = 0 ]
