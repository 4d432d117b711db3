# shellcheck shell=bash
# lib.sh - bring a lab up from a test script, and always down again.
#
#   . tests/lab/lib.sh
#   ktlab_require_root || exit 77   # prints why it skips
#   ktlab_up                        # KTLAB_NAME, KTLAB_* (lab.sh env) set
#   ... test ...                    # on any exit the lab is removed
#
# ktlab_up installs an EXIT trap (and turns INT/TERM into exit), so a test
# that fails, is interrupted or is killed by ctest's timeout (SIGTERM) still
# removes every netns, cgroup and process the lab made. A caller with its
# own cleanup calls ktlab_down from its trap instead.

KTLAB_SH=${KTLAB_SH:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lab.sh}

ktlab_require_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "SKIP: the lab needs root (network namespaces, iptables, cgroups)"
		return 1
	fi
	if ! command -v nsenter >/dev/null || ! command -v ip >/dev/null; then
		echo "SKIP: the lab needs nsenter (util-linux) and ip (iproute2)"
		return 1
	fi
	if ! ip netns add "ktlprobe$$" 2>/dev/null; then
		echo "SKIP: cannot create network namespaces here (no CAP_SYS_ADMIN?)"
		return 1
	fi
	ip netns del "ktlprobe$$"
	return 0
}

ktlab_down() {
	[ -n "${KTLAB_NAME:-}" ] || return 0
	"$KTLAB_SH" -n "$KTLAB_NAME" down
}

ktlab_up() {
	local name
	trap 'ktlab_down' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	# Labs of earlier runs killed outright (ctest timeouts) go first.
	"$KTLAB_SH" gc
	name=$(KTLAB_OWNER=$$ "$KTLAB_SH" ${1:+-n "$1"} up) || return 1
	KTLAB_NAME=$name
	eval "$("$KTLAB_SH" -n "$KTLAB_NAME" env)"
}

ktlab() { "$KTLAB_SH" -n "$KTLAB_NAME" "$@"; }

# ktlab_record_traffic ERRFILE CMD... - run CMD (a `ktcap record -o B ...`
# writing B.spool) on the lab node, wait until every source it started is
# recording, run the standard traffic, stop CMD with SIGINT. Sets REC to
# CMD's pid while it runs (for the caller's trap), KTLAB_TRUTH to the
# traffic's truth.json; returns CMD's exit status (1 when the traffic
# failed).
ktlab_record_traffic() {
	local err=$1 spool= rc a prev=
	shift
	for a in "$@"; do	# the spool is the bundle's name + .spool
		[ "$prev" = -o ] && spool=$a.spool
		prev=$a
	done
	nsenter --net="$KTLAB_NODE_NETNS" "$@" 2>"$err" &
	REC=$!
	for _ in $(seq 300); do	# at most 30 s
		jq -e '.sources | length > 0 and all(.status == "running")' \
			"$spool/manifest.json" >/dev/null 2>&1 && break
		kill -0 "$REC" 2>/dev/null || break
		sleep 0.1
	done
	KTLAB_TRUTH=$(ktlab traffic) || KTLAB_TRUTH=
	sleep 0.5
	kill -INT "$REC"
	wait "$REC"
	rc=$?
	REC=
	[ -n "$KTLAB_TRUTH" ] || return 1
	return $rc
}

# ktlab_require_bpf KTCAP - can this machine load ktcap's eBPF programs?
# Prints the reason and returns 1 when it cannot (callers exit 77).
ktlab_require_bpf() {
	if ! "$1" --json check | jq -e '.[] | select(.name == "ring buffer" and .status == "ok")' \
		>/dev/null 2>&1; then
		echo "SKIP: BPF cannot load here: $("$1" check 2>&1 | grep -i 'ring buffer')"
		return 1
	fi
}
