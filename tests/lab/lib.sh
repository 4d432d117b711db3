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
