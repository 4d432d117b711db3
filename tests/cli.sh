#!/usr/bin/env bash
# cli.sh BUILD_DIR - the command-line conventions of both programs: help with
# EXAMPLES on every command, exit codes, --json results and errors, and the
# pack -> info -> verify -> dump path on a generated spool.
set -u
B=${1:?usage: cli.sh BUILD_DIR}
T=$(mktemp -d /tmp/kt-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
expect_rc() {	# expect_rc RC CMD... : run, compare the exit status
	local want=$1; shift
	"$@" >"$T/out" 2>"$T/err"; local rc=$?
	[ "$rc" = "$want" ] && ok || bad "exit $rc, wanted $want: $* ($(head -c 300 "$T/err"))"
}

for prog in ktcap ktana; do
	expect_rc 0 "$B/$prog" --help
	grep -q '^EXAMPLES' "$T/out" || bad "$prog --help has no EXAMPLES"
	expect_rc 2 "$B/$prog"
	expect_rc 2 "$B/$prog" no-such-command
	grep -q "unknown command 'no-such-command'" "$T/err" && ok || bad "$prog: unknown command message"
	for cmd in $("$B/$prog" --list-commands); do
		expect_rc 0 "$B/$prog" "$cmd" --help
		grep -q '^EXAMPLES' "$T/out" && ok || bad "$prog $cmd --help has no EXAMPLES"
		grep -q '^EXIT STATUS' "$T/out" && ok || bad "$prog $cmd --help has no EXIT STATUS"
		expect_rc 2 "$B/$prog" "$cmd" --no-such-option
	done
	expect_rc 0 "$B/$prog" --man
	grep -q '^\.TH' "$T/out" && ok || bad "$prog --man is not roff"
done

# a spool, packed three ways
"$B/tests/ktgen" "$T/spool" --flows 2000 >/dev/null || bad "ktgen failed"
expect_rc 0 "$B/ktana" verify "$T/spool"
grep -q 'valid spool' "$T/out" && ok || bad "a spool verifies as a spool"
for ext in tar.zst tar.gz tar; do
	expect_rc 0 "$B/ktcap" pack "$T/spool" -o "$T/b.$ext" --finished
	expect_rc 0 "$B/ktana" verify "$T/b.$ext"
done
expect_rc 2 "$B/ktcap" pack "$T/spool" -o "$T/b.zip"
grep -q "name it .tar.zst" "$T/err" && ok || bad "pack explains the suffixes"
expect_rc 2 "$B/ktcap" pack "$T/nope" -o "$T/c.tar"
grep -q "is not a directory" "$T/err" && ok || bad "pack names a missing spool"

# info, text and JSON
expect_rc 0 "$B/ktana" info "$T/b.tar.zst"
grep -q '^node: *synthetic-node-1' "$T/out" && ok || bad "info shows the node"
grep -q 'flow *2000 records' "$T/out" && ok || bad "info shows the flow count"
expect_rc 0 "$B/ktana" --json info "$T/b.tar.zst"
[ "$(jq -r .streams.flow.records "$T/out")" = 2000 ] && ok || bad "info --json flow count"

# dump: record count, a stream, a file copied out
expect_rc 0 "$B/ktana" dump -s flow "$T/b.tar.zst"
[ "$(wc -l <"$T/out")" = 2000 ] && ok || bad "dump -s flow prints 2000 lines"
[ "$(jq -r .stream "$T/out" | sort -u)" = flow ] && ok || bad "dump -s flow prints only flow"
expect_rc 0 "$B/ktana" dump --limit 7 "$T/b.tar.zst"
[ "$(wc -l <"$T/out")" = 7 ] && ok || bad "dump --limit 7"
expect_rc 0 "$B/ktana" dump -s dns "$T/b.tar.zst"
[ "$(jq -r 'select(.rcode == 3) | .qname' "$T/out" | sort -u)" = nosuch.default.svc.cluster.local ] &&
	ok || bad "dns NXDOMAIN record"
expect_rc 0 "$B/ktana" dump --file manifest.json "$T/b.tar.zst"
[ "$(jq -r .format "$T/out")" = ktbundle ] && ok || bad "dump --file manifest.json"
f=$(jq -r '.files[0].path' "$T/out")
expect_rc 0 "$B/ktana" dump --file "$f" "$T/b.tar"
cmp -s "$T/out" "$T/spool/$f" && ok || bad "dump --file copies $f byte for byte"
expect_rc 2 "$B/ktana" dump --file no/such "$T/b.tar"

# verify: 1 for damage, with --json on both streams; 2 for usage
head -c 5000 "$T/b.tar" >"$T/cut.tar"
expect_rc 1 "$B/ktana" verify "$T/cut.tar"
grep -q "cut.tar" "$T/err" && ok || bad "verify names the file"
expect_rc 1 "$B/ktana" --json verify "$T/cut.tar"
[ "$(jq -r .valid "$T/out")" = false ] && ok || bad "verify --json says valid false"
[ "$(jq -r .error.exit "$T/err")" = 1 ] && ok || bad "verify --json error on stderr"
echo "not a bundle" >"$T/x.tar.zst"
expect_rc 1 "$B/ktana" verify "$T/x.tar.zst"
expect_rc 2 "$B/ktana" verify
expect_rc 2 "$B/ktana" info "$T/x.tar.zst"
[ -z "$(cat "$T/out")" ] && ok || bad "errors do not go to stdout"

# ktcap check names every source's needs; as root here, the privileged ones hold
if [ "$(id -u)" = 0 ]; then
	"$B/ktcap" --json check >"$T/check.json" 2>/dev/null
	for need in "host/network namespaces" "conntrack/conntrack events" "bpf/privileges" \
		"pcap/libpcap" "pcap/packet capture" "pcap/interfaces"; do
		[ "$(jq -r --arg s "${need%%/*}" --arg n "${need#*/}" \
			'.[] | select(.source == $s and .name == $n) | .status' "$T/check.json")" = ok ] &&
			ok || bad "ktcap check: '$need' is not ok as root"
	done
	# a bad capture filter fails the pcap source, named in the manifest
	"$B/ktcap" -q record -o "$T/bf.tar" --sources pcap --pcap-filter 'tcp port ((' -d 1s 2>/dev/null
	case "$("$B/ktana" dump --file manifest.json "$T/bf.tar" | jq -r .sources.pcap.message)" in
	*"bad --pcap-filter 'tcp port (('"*) ok ;;
	*) bad "a bad --pcap-filter is not named in the manifest" ;;
	esac
fi

echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]
