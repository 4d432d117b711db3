#!/usr/bin/env bash
# record.sh BUILD_DIR - how `ktcap record` stops: at --duration, at
# --max-size, on SIGTERM and SIGINT (a valid, complete bundle each time), on
# a second SIGINT (at once, the spool kept and packable), and when killed
# (the spool packs into a bundle with every finished block). Uses the host
# and bpf sources (the latter only where BPF loads: root); no network.
set -u
B=${1:?usage: record.sh BUILD_DIR}
T=$(mktemp -d /tmp/kt-record-XXXXXX)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/assert.sh"
SOURCES=host
[ "$(id -u)" = 0 ] && SOURCES=host,bpf

wait_running() {	# wait_running SPOOL: until every source is recording
	for _ in $(seq 300); do
		jq -e '[.sources[].status] | all(. == "running")' "$1/manifest.json" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
info() { "$B/ktana" --json info "$1" | jq -r "$2"; }

# --duration
"$B/ktcap" -q record -o "$T/d.tar.zst" --sources "$SOURCES" --duration 2s
check "--duration exit" 0 $?
check "--duration stop reason" duration "$("$B/ktana" dump --file manifest.json "$T/d.tar.zst" | jq -r .stop_reason)"
check "--duration complete" true "$(info "$T/d.tar.zst" .complete)"
"$B/ktana" verify "$T/d.tar.zst" >/dev/null || bad "--duration bundle does not verify"
[ -e "$T/d.tar.zst.spool" ] && bad "the spool is left after a clean stop" || ok

# --max-size: the host facts alone pass 64 KiB on any machine
"$B/ktcap" -q record -o "$T/m.tar.zst" --sources "$SOURCES" --max-size 64K --duration 60s
check "--max-size exit" 0 $?
check "--max-size stop reason" "size limit" "$("$B/ktana" dump --file manifest.json "$T/m.tar.zst" | jq -r .stop_reason)"
"$B/ktana" verify "$T/m.tar.zst" >/dev/null || bad "--max-size bundle does not verify"

# SIGTERM and SIGINT: a clean stop
for sig in TERM INT; do
	"$B/ktcap" -q record -o "$T/$sig.tar.zst" --sources "$SOURCES" &
	p=$!
	wait_running "$T/$sig.tar.zst.spool" || bad "SIG$sig: sources never ran"
	kill -"$sig" $p
	wait $p
	check "SIG$sig exit" 0 $?
	check "SIG$sig stop reason" signal "$("$B/ktana" dump --file manifest.json "$T/$sig.tar.zst" | jq -r .stop_reason)"
	check "SIG$sig complete" true "$(info "$T/$sig.tar.zst" .complete)"
	"$B/ktana" verify "$T/$sig.tar.zst" >/dev/null || bad "SIG$sig bundle does not verify"
done

# a second SIGINT while stopping: at once, the spool kept. A kubectl that
# answers while recording and hangs from the first SIGINT on holds the stop
# in the final Kubernetes snapshot long enough to be interrupted.
cat >"$T/kubectl" <<KUBECTL
#!/bin/sh
[ -e "$T/hang" ] && exec sleep 30
case "\$*" in
*--watch*) exec sleep 30 ;;
*version*) echo '{"clientVersion":{"gitVersion":"v1.29.0"},"serverVersion":{"gitVersion":"v1.29.0"}}' ;;
*) echo '{"apiVersion":"v1","kind":"List","items":[]}' ;;
esac
KUBECTL
chmod +x "$T/kubectl"
"$B/ktcap" record -o "$T/i2.tar.zst" --sources host,k8s --kubectl "$T/kubectl" 2>"$T/i2.err" &
p=$!
wait_running "$T/i2.tar.zst.spool" || bad "double SIGINT: sources never ran"
sleep 1
touch "$T/hang"
kill -INT $p; sleep 0.5; kill -INT $p
wait $p
check "second SIGINT exit" 130 $?
grep -q "the spool is kept in '$T/i2.tar.zst.spool'" "$T/i2.err" && ok || bad "second SIGINT names the spool: $(cat "$T/i2.err")"
[ -e "$T/i2.tar.zst" ] && bad "second SIGINT wrote a bundle anyway" || ok
"$B/ktcap" -q pack "$T/i2.tar.zst.spool" -o "$T/i2.tar.zst" >/dev/null
check "the kept spool packs" 0 $?
"$B/ktana" verify "$T/i2.tar.zst" >/dev/null || bad "the packed spool does not verify"
check "a packed spool is marked incomplete" false "$(info "$T/i2.tar.zst" .complete)"
pkill -f "$T/kubectl" 2>/dev/null

# SIGKILL: nothing to clean up, the spool packs with what was flushed
"$B/ktcap" -q record -o "$T/k.tar.zst" --sources "$SOURCES" &
p=$!
wait_running "$T/k.tar.zst.spool" || bad "SIGKILL: sources never ran"
# until a block of proc records is on disk (a flush), at most 20 s: a busy
# machine may take longer than the one-second flush period
for _ in $(seq 200); do
	[ -n "$("$B/ktana" dump --stream proc --limit 1 "$T/k.tar.zst.spool" 2>/dev/null)" ] && break
	sleep 0.1
done
kill -KILL $p
wait $p 2>/dev/null
"$B/ktana" verify "$T/k.tar.zst.spool" >/dev/null || bad "a killed recorder's spool does not read"
"$B/ktcap" -q pack "$T/k.tar.zst.spool" -o "$T/k.tar.zst" >/dev/null
check "a killed recorder's spool packs" 0 $?
n=$(info "$T/k.tar.zst" '.streams.proc.records // 0')
[ "$n" -gt 0 ] && ok || bad "the killed recording kept no records"
"$B/ktana" verify "$T/k.tar.zst" >/dev/null || bad "the killed recording's bundle does not verify"

# a spool in the way is refused, with the way out
mkdir -p "$T/x.tar.zst.spool"
"$B/ktcap" record -o "$T/x.tar.zst" --sources host --duration 1s 2>"$T/x.err"
check "a leftover spool is refused" 2 $?
grep -q "ktcap pack" "$T/x.err" && ok || bad "the refusal says how to pack it: $(cat "$T/x.err")"

echo "record: $pass passed, $fail failed"
[ "$fail" = 0 ]
