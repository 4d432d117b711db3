#!/usr/bin/env bash
# capture_parts.sh [BUILD_DIR] [SECONDS] [ROUNDS] [CONFIG...] - what each part of
# the capture costs a loopback load (root). Each configuration holds some of
# the ktflow programs attached (bench_attach) while loadgen (short
# connections) and wrk against nginx run SECONDS each; configurations are
# interleaved ROUNDS times and the median of each is printed with its ratio
# to "none". The machine is shared: read ratios, not absolute rates.
#
# Configurations (default: all of them):
#   none      nothing attached
#   syscalls  the syscalls/* programs (connect, accept, sendto/sendmsg)
#   state     sock/inet_sock_set_state
#   send      sock/sock_send_length
#   tcp       resets, retransmits, kfree_skb, icmp_send
#   proc      sched and cgroup programs
#   bpf       every program, ring buffer read and discarded
#   ktcap     ktcap record --sources bpf
#   ktcap@DIR the same with DIR/ktcap (another build, to compare)
#   tcpdump   tcpdump -w of headers on lo
set -euo pipefail
. "$(dirname "$0")/lib.sh"
B=$(cd "${1:-build}" && pwd)
S=${2:-5}
ROUNDS=${3:-3}
shift $(( $# < 3 ? $# : 3 ))
CONFIGS=("$@")
[ ${#CONFIGS[@]} -gt 0 ] || CONFIGS=(none syscalls state send tcp proc bpf ktcap tcpdump)
T=$(mktemp -d /tmp/kt-bench-parts-XXXXXX)
NGX=
cleanup() { [ -z "$NGX" ] || kill "$NGX" 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
[ "$(id -u)" = 0 ] || { echo "capture_parts.sh: needs root" >&2; exit 2; }

NGX=$(bench_nginx "$T" 18090)

progs() {
	case $1 in
	syscalls) echo kt_enter_connect kt_exit_connect kt_exit_accept4 kt_exit_accept kt_enter_sendto kt_enter_sendmsg ;;
	state) echo kt_set_state ;;
	send) echo kt_sock_send ;;
	tcp) echo kt_retransmit kt_send_reset kt_receive_reset kt_icmp_send kt_kfree_skb ;;
	proc) echo kt_exec kt_exit kt_fork kt_cgroup_mkdir kt_cgroup_rmdir ;;
	bpf) echo -r all ;;
	esac
}

start() {	# start CONFIG: sets HPID (0: nothing to stop)
	HPID=0
	case $1 in
	none) ;;
	ktcap|ktcap@*)
		kb=$B; [ "$1" = ktcap ] || kb=${1#ktcap@}
		"$kb/ktcap" -q record -o "$T/k.tar.zst" --sources bpf 2>"$T/k.err" &
		HPID=$!
		bench_wait_running "$T/k.tar.zst.spool" bpf || true ;;
	tcpdump)
		tcpdump -q -i lo -s 96 -w "$T/dump.pcap" 2>/dev/null &
		HPID=$!
		sleep 1 ;;
	*)
		# shellcheck disable=SC2046
		"$B/bench/bench_attach" $(progs "$1") >"$T/attach.out" &
		HPID=$!
		for _ in $(seq 200); do grep -q ready "$T/attach.out" 2>/dev/null && break; sleep 0.1; done ;;
	esac
}
stop() {
	[ "$HPID" = 0 ] && return
	kill -INT "$HPID"
	wait "$HPID" || true
	rm -rf "$T/k.tar.zst" "$T/k.tar.zst.spool" "$T/dump.pcap"
}

hz=$(getconf CLK_TCK)
cpu_of() { awk -v hz="$hz" '{ printf "%.0f", ($14 + $15) * 1e6 / hz }' "/proc/$1/stat" 2>/dev/null || echo 0; }	# us
task_clock() { awk -F, '/task-clock/ { printf "%.0f", $1 * 1000 }' "$1"; }	# us
WORKER=$(pgrep -P "$NGX" | head -1)
# Other users' eBPF programs on these hooks are everyone's cost: wait (up to
# a minute) until no other ktflow is attached, and say when one was.
ours() { case $1 in none|tcpdump) echo 0 ;; *) echo 1 ;; esac; }
foreign() { echo $(( $(bpftool prog show 2>/dev/null | grep -c 'name kt_set_state') - $(ours "$1") )); }
for r in $(seq "$ROUNDS"); do
	for c in "${CONFIGS[@]}"; do
		for _ in $(seq "${WAIT_FOREIGN:-60}"); do [ "$(foreign none)" -le 0 ] && break; sleep 1; done
		start "$c"
		h0=0; [ "$HPID" = 0 ] || h0=$(cpu_of "$HPID")
		l=$(perf stat -x, -o "$T/ps" -e task-clock -- "$B/bench/loadgen" "$S" 1 | awk '{print $2}')
		lcpu=$(task_clock "$T/ps")
		h1=0; [ "$HPID" = 0 ] || h1=$(cpu_of "$HPID")
		n0=$(cpu_of "$WORKER")
		w=$(perf stat -x, -o "$T/ps" -e task-clock -- wrk -t1 -c16 -d"${S}s" http://127.0.0.1:18090/ |
		    awk '/^Requests\/sec/ { r = $2 } END { print r }')
		wcpu=$(( $(task_clock "$T/ps") + $(cpu_of "$WORKER") - n0 ))
		h2=0; [ "$HPID" = 0 ] || h2=$(cpu_of "$HPID")
		[ "$(foreign "$c")" -le 0 ] || echo "round $r $c: another ktflow was attached" >&2
		stop
		# per connection / request: rate, load CPU us, capture process CPU us
		awk -v c="$c" -v l="$l" -v s="$S" -v lc="$lcpu" -v lh=$((h1 - h0)) -v w="$w" -v wc="$wcpu" -v wh=$((h2 - h1)) \
			'BEGIN { nw = w * s; printf "%s %.0f %.2f %.2f %.0f %.3f %.3f\n", c, l / s, lc / l, lh / l, w, wc / nw, wh / nw }' >>"$T/results"
		echo "round $r: $(tail -1 "$T/results")" >&2
	done
done
echo "median of $ROUNDS rounds, $S s each. CPU in us per connection (loadgen) or"
echo "request (wrk): the load's own and the capture process's; 'cost' = the CPU"
echo "the capture adds, as a fraction of the load's CPU with no capture"
printf "  %-9s %9s %7s %7s %7s | %9s %7s %7s %7s\n" config conn/s cpu capt cost req/s cpu capt cost
for c in "${CONFIGS[@]}"; do
	med() { awk -v c="$c" -v f="$1" '$1 == c { print $f }' "$T/results" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
	echo "$c $(med 2) $(med 3) $(med 4) $(med 5) $(med 6) $(med 7)"
done | awk 'NR == 1 { l0 = $3; w0 = $6 }
	{ printf "  %-9s %9.0f %7.2f %7.2f %7.3f | %9.0f %7.3f %7.3f %7.3f\n", $1, $2, $3, $4, ($3 + $4 - l0) / l0, $5, $6, $7, ($6 + $7 - w0) / w0 }'
