# shellcheck shell=bash
# lib.sh - bring a lab up from a test script, and always down again.
#
#   . tests/lab/lib.sh
#   ktlab_require_root || exit 77   # prints why it skips
#   ktlab_up [--scenario S]         # KTLAB_NAME, KTLAB_* (lab.sh env) set
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
	if [ -n "${KTLAB_API:-}" ]; then
		kill "$KTLAB_API" 2>/dev/null && wait "$KTLAB_API" 2>/dev/null
		KTLAB_API=
	fi
	[ -n "${KTLAB_NAME:-}" ] || return 0
	"$KTLAB_SH" -n "$KTLAB_NAME" down
}

ktlab_up() {	# [NAME] [up options: --scenario S]
	local name n=
	trap 'ktlab_down' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	# Labs of earlier runs killed outright (ctest timeouts) go first.
	"$KTLAB_SH" gc
	case ${1:-} in -*|"") ;; *) n=$1; shift ;; esac
	name=$(KTLAB_OWNER=$$ "$KTLAB_SH" ${n:+-n "$n"} up "$@") || return 1
	KTLAB_NAME=$name
	eval "$("$KTLAB_SH" -n "$KTLAB_NAME" env)"
}

ktlab() { "$KTLAB_SH" -n "$KTLAB_NAME" "$@"; }

# ktlab_record_traffic ERRFILE CMD... - run CMD (a `ktcap record -o B ...`
# writing B.spool) on the lab node, wait until every source it started is
# recording, run the standard traffic (then the function named by
# KTLAB_MORE, if any, given the spool dir), stop CMD with SIGINT. Sets REC to
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
	# more, after the standard traffic: the caller's function, given the spool
	if [ -n "$KTLAB_TRUTH" ] && [ -n "${KTLAB_MORE:-}" ]; then
		"$KTLAB_MORE" "$spool" || KTLAB_TRUTH=
	fi
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

# ktlab_record_setup NAME KTCAP [TOOL...] - the start of a test that records
# on the lab: skips (exit 77, saying why) without root, without BPF that
# KTCAP can load, or without one of the TOOLs; makes the scratch directory T
# (/tmp/kt-NAME-lab-XXXXXX), brings the lab up (exit 1 when it does not
# come up) and traps EXIT to kill a recorder still running (REC, as
# ktlab_record_traffic sets it), take the lab down (its API server too) and
# remove T, or keep it and say so when KEEP is set.
ktlab_record_setup() {
	local name=$1 ktcap=$2 t
	shift 2
	ktlab_require_root || exit 77
	ktlab_require_bpf "$ktcap" || exit 77
	for t in "$@"; do
		command -v "$t" >/dev/null || { echo "SKIP: $t is not installed"; exit 77; }
	done
	T=$(mktemp -d "/tmp/kt-$name-lab-XXXXXX")
	REC=
	ktlab_up || { echo "FAIL: lab did not come up"; exit 1; }
	trap ktlab_record_cleanup EXIT
}

ktlab_record_cleanup() {
	[ -n "$REC" ] && kill -KILL "$REC" 2>/dev/null
	ktlab_down
	[ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
}

# ktlab_apiserver DIR - the lab's Kubernetes API server (kube-apiserver.py)
# on the node's loopback, where ktcap runs kubectl, serving the objects of
# lab.json (lab_k8s_scenario.py) for node $KTLAB_K8S_NODE. Sets KTLAB_API
# (its pid; ktlab_down stops it) and KTLAB_KUBECONFIG (DIR/kubeconfig).
KTLAB_K8S_NODE=${KTLAB_K8S_NODE:-ktlab-node}
ktlab_apiserver() {
	local d=$1 lab; lab=$(dirname "$KTLAB_SH")
	KTLAB_API_DIR=$d
	python3 "$lab/lab_k8s_scenario.py" "$KTLAB_JSON" "$KTLAB_K8S_NODE" >"$d/scenario.json" ||
		return 1
	nsenter --net="$KTLAB_NODE_NETNS" python3 "$lab/kube-apiserver.py" "$d/scenario.json" \
		--port-file "$d/port" 2>"$d/apiserver.err" &
	KTLAB_API=$!
	for _ in $(seq 100); do [ -s "$d/port" ] && break; sleep 0.1; done
	[ -s "$d/port" ] || { echo "lab API server did not start: $(cat "$d/apiserver.err")" >&2; return 1; }
	KTLAB_KUBECONFIG=$d/kubeconfig
	cat >"$KTLAB_KUBECONFIG" <<KC
apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster: {server: "http://127.0.0.1:$(cat "$d/port")"}
users:
- name: lab
  user: {}
contexts:
- name: lab
  context: {cluster: lab, user: lab}
current-context: lab
KC
}

# ktlab_k8s_sync - after a restart or recreate, the API server learns what
# the lab changed (pods deleted and added, Events), as a watch would report
# it; KTLAB_* are read again. Prints the steps it posted.
ktlab_k8s_sync() {
	local d=$KTLAB_API_DIR lab; lab=$(dirname "$KTLAB_SH")
	eval "$(ktlab env)"
	python3 "$lab/lab_k8s_scenario.py" "$KTLAB_JSON" "$KTLAB_K8S_NODE" --diff "$d/scenario.json" \
		>"$d/steps.json" &&
	python3 "$lab/lab_k8s_scenario.py" "$KTLAB_JSON" "$KTLAB_K8S_NODE" >"$d/scenario.json" &&
	nsenter --net="$KTLAB_NODE_NETNS" python3 -c '
import sys, urllib.request
data = open(sys.argv[2], "rb").read()
req = urllib.request.Request("http://127.0.0.1:%s/lab/step" % sys.argv[1], data=data,
                             headers={"Content-Type": "application/json"})
sys.stdout.write(urllib.request.urlopen(req, timeout=10).read().decode() + "\n")
' "$(cat "$d/port")" "$d/steps.json"
}

# ktlab_wait_file FILE STRING - until FILE holds STRING (a watch event
# ktcap wrote); at most 30 s.
ktlab_wait_file() {
	for _ in $(seq 300); do
		grep -qF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "'$2' never showed in '$1'" >&2
	return 1
}
