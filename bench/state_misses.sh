#!/usr/bin/env bash
# state_misses.sh [BUILD_DIR] [N] [SECONDS] - how many connect failures the
# capture loses under load (root). In a network namespace of its own, N
# (default 300) connects over SECONDS (default 10) go to a veth peer that
# drops their SYNs (TCP_SYNCNT 1: the kernel gives up in its timer, ~3 s
# later, in a softirq), while loadgen runs loopback short connections on
# both cores, so that the timer often interrupts the state machine
# (kt_set_state) on its CPU. `ktcap record --sources bpf` records it all.
# Prints the connects that timed out, the FAIL events recorded for them,
# the missing ones, and what the manifest counts: runs the kernel skipped
# (lost_missed_runs), state changes kt_set_state_nested took, closes sent
# late, when the socket was destroyed (late_closes), and the runs skipped
# per program.
#
# Addresses: 198.18.77.1-2, inside the namespaces this script makes, with
# no route out; the load is loopback, bounded by time.
set -euo pipefail
B=$(cd "${1:-build}" && pwd)
N=${2:-300}
S=${3:-10}
T=$(mktemp -d /tmp/kt-bench-misses-XXXXXX)
NS=ktbench-miss.$$
LG=
cleanup() {
	[ -n "$LG" ] && kill "$LG" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	ip netns del "$NS.peer" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] || { echo "state_misses.sh: needs root (eBPF, netns)" >&2; exit 2; }

ip netns add "$NS"
ip netns add "$NS.peer"
ip -n "$NS" link set lo up
ip -n "$NS" link add v0 type veth peer name v1 netns "$NS.peer"
ip -n "$NS" addr add 198.18.77.2/24 dev v0
ip -n "$NS" link set v0 up
ip -n "$NS.peer" addr add 198.18.77.1/24 dev v1
ip -n "$NS.peer" link set v1 up
ip netns exec "$NS.peer" iptables -A INPUT -p tcp --dport 50051 -j DROP

"$B/ktcap" -q record -o "$T/b.tar.zst" --sources bpf --duration $((S + 20))s 2>"$T/rec.err" &
REC=$!
sleep 3
ip netns exec "$NS" "$B/bench/loadgen" $((S + 5)) 2 0 >/dev/null &
LG=$!
# N non-blocking connects spread over S seconds; each socket is polled
# until the kernel reports its error; prints the local port of each that
# timed out (ETIMEDOUT).
ip netns exec "$NS" python3 - "$N" "$S" >"$T/ports" <<'PY'
import select, socket, sys, time
n, spread = int(sys.argv[1]), float(sys.argv[2])
poller, socks = select.poll(), {}
for _ in range(n):
    s = socket.socket()
    s.setblocking(False)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, 1)
    try:
        s.connect(("198.18.77.1", 50051))
    except BlockingIOError:
        pass
    socks[s.fileno()] = s
    poller.register(s, select.POLLOUT)
    time.sleep(spread / n)
end = time.time() + 15
while socks and time.time() < end:
    for fd, _ in poller.poll(500):
        s = socks.pop(fd)
        poller.unregister(fd)
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 110:
            print(s.getsockname()[1])
        s.close()
PY
wait "$LG" || true
LG=
wait "$REC" || { cat "$T/rec.err" >&2; exit 1; }
"$B/ktana" dump -s flow "$T/b.tar.zst" |
	jq -r 'select(.kind == "fail" and .daddr == "198.18.77.1") | "\(.sport) \(.cause)"' |
	sort -u >"$T/fails"
sort -u "$T/ports" >"$T/timedout"
echo "connects timed out $(wc -l <"$T/timedout"), FAIL events for them" \
	"$(cut -d' ' -f1 "$T/fails" | comm -12 "$T/timedout" - | wc -l)" \
	"(cause timeout: $(sed -n 's/ timeout$//p' "$T/fails" | comm -12 "$T/timedout" - | wc -l))," \
	"missing $(cut -d' ' -f1 "$T/fails" | comm -23 "$T/timedout" - | wc -l)"
tar -xOf "$T/b.tar.zst" manifest.json |
	jq -c '.sources.bpf | {events, lost_missed_runs, nested_state_changes, late_closes, missed: [.programs[] | select(.missed_runs > 0) | {(.program): .missed_runs}] | add}'
