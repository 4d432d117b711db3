#!/bin/bash
# lab.sh - a Kubernetes node made of network namespaces, for capture tests.
#
# No cluster can run on the test machines, and the kernel under test is the
# real one, so the lab builds what a node looks like from the kernel's side:
#
#   netns NAME-node: bridge br0 198.18.0.1/24, kube-proxy's iptables (nat
#   |   KUBE-SERVICES / KUBE-SVC-* / KUBE-SEP-*, filter REJECT for a Service
#   |   without endpoints, a DROP like an enforced NetworkPolicy), no uplink
#   +-- veth -- netns NAME-dns     kube-system/coredns   dnsmasq :53
#   +-- veth -- netns NAME-web-a   shop/web-a            nginx :80
#   +-- veth -- netns NAME-web-b   shop/web-b            nginx :80
#   +-- veth -- netns NAME-redis   shop/redis-0          redis-server :6379
#   +-- veth -- netns NAME-flaky   shop/flaky            RST server :9000,
#   |                                                    :9001 behind DROP
#   +-- veth -- netns NAME-client  shop/client           the traffic driver
#   node routes to, off the bridge:
#   +-- veth -- netns NAME-ext     an external host 198.19.200.10, nginx :80,
#                                  api.partner.example in DNS (not a pod)
#
# Services: kube-dns 198.19.0.10:53 (udp, tcp), web 198.19.0.20:80 (two
# backends, statistic probability 0.5), redis 198.19.0.30:6379, noep
# 198.19.0.40:80 (no endpoints: REJECT). Every process of a pod lives in
# cgroups shaped like kubelet's: systemd-driver slices in cgroup v2
# (/sys/fs/cgroup/unified) and cgroupfs-driver paths in the v1 hierarchies.
#
# All addresses come from 198.18.0.0/15 and exist only inside the lab's
# namespaces, which have no route out. Every name is unique per lab, so labs
# run in parallel, and `down` removes everything a lab made.
#
# usage: lab.sh [-n NAME] up | down | status | env | traffic | exec POD CMD...
#   up [--scenario S]  build a lab; prints its name (NAME defaults to a
#            random one). S picks other pods, services and traffic from
#            scenario-S.sh (boutique: the front of Online Boutique); the
#            default is the lab drawn above
#   down     remove everything the lab made (safe to repeat)
#   status   what is running; exit 1 when the lab is incomplete
#   env      shell assignments describing the lab (eval "$(lab.sh env)")
#   traffic  run the standard traffic from the client pod; prints the path
#            of the ground truth JSON
#   restart POD [REASON]  the container restarts (REASON: why it ended, as
#                 kubelet reports it; Error by default): new container ID
#   recreate POD  the pod is replaced: new UID, netns and container, same IP
#   exec     run CMD in POD's netns and cgroups (POD "node" for the node)
#   gc       take down every lab whose owner (KTLAB_OWNER, a pid given at
#            `up`; lib.sh gives the test's) is gone: what a test killed
#            with SIGKILL, whose traps never ran, left behind
# The lab is chosen with -n NAME or $KTLAB_NAME. Its description is
# $KTLAB_ROOT/NAME/lab.json (KTLAB_ROOT defaults to /run/ktlab).
set -u
set -o pipefail

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KTLAB_ROOT=${KTLAB_ROOT:-/run/ktlab}
# cgroup v2 at /sys/fs/cgroup/unified on hybrid hosts (v1 controllers
# beside it), at /sys/fs/cgroup on unified ones (no v1 at all).
if [ -z "${KTLAB_CG_V2:-}" ] && [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	KTLAB_CG_V2=/sys/fs/cgroup
	KTLAB_CG_V1=${KTLAB_CG_V1:-none}
fi
CG_V2=${KTLAB_CG_V2:-/sys/fs/cgroup/unified}
CG_V1_CONTROLLERS=${KTLAB_CG_V1:-"cpu memory pids systemd"}
[ "$CG_V1_CONTROLLERS" = none ] && CG_V1_CONTROLLERS=""
PODS="dns web-a web-b redis flaky client"
PREFIX=198.18.0
GW=$PREFIX.1
CLUSTER_CIDR=198.18.0.0/16
DNS_VIP=198.19.0.10 WEB_VIP=198.19.0.20 REDIS_VIP=198.19.0.30 NOEP_VIP=198.19.0.40
EXT_GW=198.19.200.1 EXT_IP=198.19.200.10 EXT_NAME=api.partner.example
# Bounds for every wait: 0.1 s steps, generous for loaded CI machines.
WAIT_STEPS=300

die() { echo "lab: $*" >&2; exit 1; }

pod_ns() {	# kubernetes namespace of a pod
	case $1 in dns) echo kube-system ;; *) echo shop ;; esac
}
pod_kname() {	# kubernetes pod name; a recreated Deployment pod gets a new one
	local n g
	n=$(pod_kname_base "$1")
	g=$(pod_gen "$1" ugen)
	case $n in
	*-*-?????) [ "$g" != 0 ] && n=${n%?????}$(hexof "$NAME/$1/name/$g" 5) ;;
	esac
	echo "$n"
}
pod_kname_base() {
	case $1 in
	dns) echo coredns-5d78c9869d-ktlab ;;
	web-a) echo web-6b8d9f7c4-a1b2c ;;
	web-b) echo web-6b8d9f7c4-d3e4f ;;
	redis) echo redis-0 ;;
	*) echo "$1" ;;
	esac
}
pod_cname() {	# container name
	case $1 in dns) echo coredns ;; web-*) echo nginx ;; *) echo "$1" ;; esac
}
pod_workload() {	# "kind name owner-kind owner-name app" of the pod's controller
	case $1 in
	dns) echo "Deployment coredns ReplicaSet coredns-5d78c9869d kube-dns" ;;
	web-a | web-b) echo "Deployment web ReplicaSet web-6b8d9f7c4 web" ;;
	redis) echo "StatefulSet redis StatefulSet redis redis" ;;
	*) echo "- - - - $1" ;;
	esac
}
pod_qos() {	# dns is Guaranteed, client BestEffort, the rest Burstable
	case $1 in dns) echo guaranteed ;; client) echo besteffort ;; *) echo burstable ;; esac
}
pod_ip() {
	local i=11
	for p in $PODS; do
		[ "$p" = "$1" ] && { echo "$PREFIX.$i"; return; }
		i=$((i + 1))
	done
	die "unknown pod '$1'"
}

# Pod UIDs and container IDs derive from the lab name and two generation
# counters in the state dir (a restart makes a new container ID, a recreate
# a new pod UID), so nothing random needs remembering.
hexof() { printf '%s' "$1" | sha256sum | cut -c1-"$2"; }
pod_gen() { cat "$STATE/$1.$2" 2>/dev/null || echo 0; }	# POD ugen|cgen
pod_uid() {
	local h; h=$(hexof "$NAME/$1/uid/$(pod_gen "$1" ugen)" 32)
	echo "${h:0:8}-${h:8:4}-4${h:13:3}-a${h:17:3}-${h:20:12}"
}
pod_cid() { hexof "$NAME/$1/container/$(pod_gen "$1" ugen)/$(pod_gen "$1" cgen)" 64; }

# v2, systemd driver: kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid_>.slice/cri-containerd-<id>.scope
cg_v2_pod() {
	local qos uid; qos=$(pod_qos "$1"); uid=$(pod_uid "$1" | tr - _)
	if [ "$qos" = guaranteed ]; then
		echo "$CG_V2/kubepods.slice/kubepods-pod$uid.slice"
	else
		echo "$CG_V2/kubepods.slice/kubepods-$qos.slice/kubepods-$qos-pod$uid.slice"
	fi
}
cg_v2() { echo "$(cg_v2_pod "$1")/cri-containerd-$(pod_cid "$1").scope"; }
# v1, cgroupfs driver: kubepods/<qos>/pod<uid>/<id>
cg_v1_pod() {
	local qos; qos=$(pod_qos "$1")
	if [ "$qos" = guaranteed ]; then
		echo "/sys/fs/cgroup/$2/kubepods/pod$(pod_uid "$1")"
	else
		echo "/sys/fs/cgroup/$2/kubepods/$qos/pod$(pod_uid "$1")"
	fi
}
cg_v1() { echo "$(cg_v1_pod "$1" "$2")/$(pod_cid "$1")"; }

# The external host is no pod: its processes sit in a plain lab cgroup, so
# `down` can still kill them all.
cg_ext_parent() { echo "$CG_V2/ktlab.slice"; }
cg_ext() { echo "$(cg_ext_parent)/ktlab-$NAME-ext.scope"; }

ns_of() { echo "$NAME-$1"; }
nsx() { local ns=$1; shift; nsenter --net="/run/netns/$ns" -- "$@"; }

# A new lab netns, IPv4 only: no IPv6 link-local addresses, so the kernel
# sends nothing (neighbour discovery, MLD) from addresses outside the lab's
# 198.18.0.0/15.
new_netns() {
	ip netns add "$1"
	nsx "$1" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# Move the calling shell into POD's cgroups, then run the rest in its netns.
# Children inherit both, so a server's workers are in the pod too.
enter_pod() {
	local pod=$1 c; shift
	if [ "$pod" = ext ]; then
		echo "$BASHPID" > "$(cg_ext)/cgroup.procs" || return 1
	elif [ "$pod" != node ]; then
		echo "$BASHPID" > "$(cg_v2 "$pod")/cgroup.procs" || return 1
		for c in $CG_V1_CONTROLLERS; do
			[ -d "/sys/fs/cgroup/$c" ] || continue
			echo "$BASHPID" > "$(cg_v1 "$pod" "$c")/cgroup.procs" || return 1
		done
	fi
	exec nsenter --net="/run/netns/$(ns_of "$pod")" -- "$@"
}

# Start a long-running process in a pod, detached, logs in the state dir.
start_in_pod() {
	local pod=$1 log=$STATE/$1.log; shift
	setsid bash -c "$(declare -f enter_pod ns_of cg_v2 cg_v2_pod cg_v1 cg_v1_pod cg_ext cg_ext_parent pod_cid pod_uid pod_gen pod_qos hexof)
		NAME='$NAME' STATE='$STATE' CG_V2='$CG_V2' CG_V1_CONTROLLERS='$CG_V1_CONTROLLERS'
		enter_pod \"\$@\"" enter_pod "$pod" "$@" </dev/null >>"$log" 2>&1 &
	echo $! >> "$STATE/$pod.pids"
}

wait_listen() {	# pod proto port
	local i
	for ((i = 0; i < WAIT_STEPS; i++)); do
		nsx "$(ns_of "$1")" ss -Hln"${2:0:1}" "sport = :$3" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	die "$1 is not listening on $2/$3 (see $STATE/$1.log)"
}

check_setup() {
	local need=() miss
	[ "$(id -u)" = 0 ] || die "needs root"
	for miss in python3:python3 ip:iproute2 iptables:iptables dnsmasq:dnsmasq-base nginx:nginx-light \
		    redis-server:redis-server nsenter:util-linux setsid:util-linux ss:iproute2 \
		    cc:gcc pkg-config:pkg-config ${SCENARIO_NEEDS:-}; do
		command -v "${miss%%:*}" >/dev/null || need+=("${miss#*:}")
	done
	pkg-config --exists jansson 2>/dev/null || need+=(libjansson-dev)
	if [ ${#need[@]} -gt 0 ]; then
		echo "lab: installing ${need[*]}" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >&2 ||
			die "cannot install ${need[*]}"
	fi
	[ -d "$CG_V2" ] && [ -f "$CG_V2/cgroup.procs" ] || die "no cgroup v2 hierarchy at '$CG_V2'"
}

client_bin() {	# the built driver, else compile one into the state dir
	if [ -n "${KTLAB_CLIENT:-}" ] && [ -x "$KTLAB_CLIENT" ]; then
		echo "$KTLAB_CLIENT"
		return
	fi
	if [ ! -x "$STATE/ktlab_client" ]; then
		# shellcheck disable=SC2046
		cc -std=c11 -D_GNU_SOURCE -O2 -Wall -o "$STATE/ktlab_client" \
			"$LAB_DIR/ktlab_client.c" $(pkg-config --cflags --libs jansson) -lresolv >&2 ||
			die "cannot build ktlab_client"
	fi
	echo "$STATE/ktlab_client"
}

# kube-proxy's chain names: a prefix and 16 base32 characters of a sha256.
kp_chain() {
	python3 -c 'import base64,hashlib,sys; print(sys.argv[1] + base64.b32encode(hashlib.sha256(sys.argv[2].encode()).digest()).decode()[:16])' "$1" "$2"
}

# One ClusterIP service port, written the way kube-proxy (iptables mode) does.
kp_service() {	# svcport proto vip port[:targetport] backend-pod...
	local spn=$1 proto=$2 vip=$3 port=${4%%:*} tport=${4##*:} svc sep n i=0 ip; shift 4
	svc=$(kp_chain KUBE-SVC- "$spn$proto")
	n=$#
	if [ "$n" -eq 0 ]; then
		nsx "$NODE" iptables -w -t filter -A KUBE-SERVICES -d "$vip/32" -p "$proto" \
			-m comment --comment "$spn has no endpoints" -m "$proto" --dport "$port" \
			-j REJECT --reject-with icmp-port-unreachable
		return
	fi
	nsx "$NODE" iptables -w -t nat -N "$svc"
	nsx "$NODE" iptables -w -t nat -A KUBE-SERVICES -d "$vip/32" -p "$proto" \
		-m comment --comment "$spn cluster IP" -m "$proto" --dport "$port" -j "$svc"
	nsx "$NODE" iptables -w -t nat -A "$svc" ! -s "$CLUSTER_CIDR" -d "$vip/32" -p "$proto" \
		-m comment --comment "$spn cluster IP" -m "$proto" --dport "$port" -j KUBE-MARK-MASQ
	for pod in "$@"; do
		ip=$(pod_ip "$pod")
		sep=$(kp_chain KUBE-SEP- "$spn$proto$ip:$tport")
		nsx "$NODE" iptables -w -t nat -N "$sep"
		nsx "$NODE" iptables -w -t nat -A "$sep" -s "$ip/32" -m comment --comment "$spn" -j KUBE-MARK-MASQ
		nsx "$NODE" iptables -w -t nat -A "$sep" -p "$proto" -m comment --comment "$spn" \
			-m "$proto" -j DNAT --to-destination "$ip:$tport"
		i=$((i + 1))
		if [ "$i" -lt "$n" ]; then
			nsx "$NODE" iptables -w -t nat -A "$svc" -m comment --comment "$spn -> $ip:$tport" \
				-m statistic --mode random --probability \
				"$(awk -v k="$((n - i + 1))" 'BEGIN { printf "%.11f", 1 / k }')" -j "$sep"
		else
			nsx "$NODE" iptables -w -t nat -A "$svc" -m comment --comment "$spn -> $ip:$tport" -j "$sep"
		fi
	done
}

kube_proxy_rules() {
	local t
	for t in nat filter; do
		nsx "$NODE" iptables -w -t "$t" -N KUBE-SERVICES
	done
	nsx "$NODE" iptables -w -t nat -N KUBE-MARK-MASQ
	nsx "$NODE" iptables -w -t nat -N KUBE-POSTROUTING
	nsx "$NODE" iptables -w -t nat -A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
	nsx "$NODE" iptables -w -t nat -A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
	nsx "$NODE" iptables -w -t nat -A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
	nsx "$NODE" iptables -w -t nat -A KUBE-POSTROUTING \
		-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
	nsx "$NODE" iptables -w -t nat -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
	nsx "$NODE" iptables -w -t nat -A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
	nsx "$NODE" iptables -w -t nat -A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
	for t in FORWARD OUTPUT INPUT; do
		nsx "$NODE" iptables -w -t filter -A "$t" -m conntrack --ctstate NEW \
			-m comment --comment "kubernetes service portals" -j KUBE-SERVICES
	done
	kp_services
}

kp_services() {	# the scenario's services, and what its policies drop
	kp_service kube-system/kube-dns:dns udp $DNS_VIP 53 dns
	kp_service kube-system/kube-dns:dns-tcp tcp $DNS_VIP 53 dns
	kp_service shop/web:http tcp $WEB_VIP 80 web-a web-b
	kp_service shop/redis:redis tcp $REDIS_VIP 6379 redis
	kp_service shop/noep:http tcp $NOEP_VIP 80
	# What an enforced NetworkPolicy does to flaky:9001: SYNs vanish.
	nsx "$NODE" iptables -w -t filter -I FORWARD -d "$(pod_ip flaky)/32" -p tcp --dport 9001 \
		-m comment --comment "ktlab: policy drops flaky:9001" -j DROP
}

write_nginx_conf() {	# pod [port]
	local d=$STATE/$1
	mkdir -p "$d/tmp"
	cat > "$d/nginx.conf" <<-EOF
	worker_processes 1;
	pid $d/nginx.pid;
	error_log $d/error.log;
	daemon off;
	events { worker_connections 512; }
	http {
	  access_log $d/access.log;
	  client_body_temp_path $d/tmp/body;
	  proxy_temp_path $d/tmp/proxy;
	  fastcgi_temp_path $d/tmp/fastcgi;
	  uwsgi_temp_path $d/tmp/uwsgi;
	  scgi_temp_path $d/tmp/scgi;
	  default_type text/plain;
	  server {
	    listen ${2:-80};
	    location / { return 200 "$1\n"; }
	  }
	}
	EOF
}

write_lab_json() {
	local p first=1 c v1 wk wn ok on app
	{
		printf '{\n "name": "%s",\n "state": "%s",\n' "$NAME" "$STATE"
		printf ' "node": {"netns": "%s", "netns_path": "/run/netns/%s", "netns_inode": %s, "bridge": "br0", "ip": "%s"},\n' \
			"$NODE" "$NODE" "$(stat -L -c %i "/run/netns/$NODE")" "$GW"
		printf ' "cluster_cidr": "%s",\n "cgroup_v2_root": "%s",\n "pods": [\n' "$CLUSTER_CIDR" "$CG_V2"
		for p in $PODS; do
			[ $first = 1 ] || printf ',\n'
			first=0
			v1=""
			for c in $CG_V1_CONTROLLERS; do
				[ -d "/sys/fs/cgroup/$c" ] || continue
				v1="$v1${v1:+, }\"$c\": \"$(cg_v1 "$p" "$c")\""
			done
			read -r wk wn ok on app <<<"$(pod_workload "$p")"
			printf '  {"lab": "%s", "namespace": "%s", "name": "%s", "uid": "%s", "qos": "%s",\n' \
				"$p" "$(pod_ns "$p")" "$(pod_kname "$p")" "$(pod_uid "$p")" "$(pod_qos "$p")"
			if [ "$wk" != - ]; then
				printf '   "workload": {"kind": "%s", "name": "%s"}, "owner": {"kind": "%s", "name": "%s"},\n' \
					"$wk" "$wn" "$ok" "$on"
			fi
			printf '   "labels": {"app": "%s"},\n' "$app"
			printf '   "container": "%s", "container_id": "%s", "ip": "%s", "node_veth": "v-%s",\n   "netns": "%s", "netns_inode": %s,\n' \
				"$(pod_cname "$p")" "$(pod_cid "$p")" "$(pod_ip "$p")" "$p" "$(ns_of "$p")" \
				"$(stat -L -c %i "/run/netns/$(ns_of "$p")")"
			printf '   "netns_since_ns": %s,\n' "$(cat "$STATE/$p.netns_since" 2>/dev/null || echo 0)"
			printf '   "cgroup_v2": "%s", "cgroup_v2_id": %s, "cgroup_v1": {%s}, "restarts": %s,\n' \
				"$(cg_v2 "$p")" "$(stat -c %i "$(cg_v2 "$p")")" "$v1" "$(pod_gen "$p" cgen)"
			printf '   "pids": [%s]}' "$(paste -sd, "$STATE/$p.pids" 2>/dev/null)"
		done
		printf '\n ],\n "services": [\n'
		lab_json_services
		printf ' "external": {"name": "%s", "ip": "%s", "port": 80, "node_veth": "v-ext", "netns": "%s", "netns_inode": %s, "cgroup_v2": "%s"},\n' \
			"$EXT_NAME" "$EXT_IP" "$(ns_of ext)" "$(stat -L -c %i "/run/netns/$(ns_of ext)")" "$(cg_ext)"
		lab_json_extra
		printf ' "events": [%s]\n}\n' "$(paste -sd, "$STATE/events.jsonl" 2>/dev/null)"
	} > "$STATE/lab.json.tmp" && mv "$STATE/lab.json.tmp" "$STATE/lab.json"
}

lab_json_services() {	# the services, the DNS names (JSON members)
	printf '  {"namespace": "kube-system", "name": "kube-dns", "selector": {"app": "kube-dns"}, "cluster_ip": "%s", "ports": [{"proto": "udp", "port": 53}, {"proto": "tcp", "port": 53}], "backends": ["dns"]},\n' $DNS_VIP
	printf '  {"namespace": "shop", "name": "web", "selector": {"app": "web"}, "cluster_ip": "%s", "ports": [{"proto": "tcp", "port": 80}], "backends": ["web-a", "web-b"]},\n' $WEB_VIP
	printf '  {"namespace": "shop", "name": "redis", "selector": {"app": "redis"}, "cluster_ip": "%s", "ports": [{"proto": "tcp", "port": 6379}], "backends": ["redis"]},\n' $REDIS_VIP
	printf '  {"namespace": "shop", "name": "noep", "selector": {"app": "noep"}, "cluster_ip": "%s", "ports": [{"proto": "tcp", "port": 80}], "backends": []}\n ],\n' $NOEP_VIP
	printf ' "dns": {"server": "%s", "names": {"web.shop.svc.cluster.local": "%s", "redis.shop.svc.cluster.local": "%s", "kube-dns.kube-system.svc.cluster.local": "%s", "%s": "%s"}},\n' \
		$DNS_VIP $WEB_VIP $REDIS_VIP $DNS_VIP $EXT_NAME $EXT_IP
}

lab_json_extra() {	# scenario-specific members of lab.json
	printf ' "flaky": {"reset_port": 9000, "dropped_port": 9001, "refused_port": 9002},\n'
}

make_pod_net() {	# POD: its netns, a veth into the bridge, its address
	local p=$1 ns veth
	ns=$(ns_of "$p")
	veth=v-$p
	now_ns > "$STATE/$p.netns_since"	# (inode numbers are reused)
	new_netns "$ns"
	ip -n "$NODE" link add "$veth" type veth peer name eth0 netns "$ns"
	ip -n "$NODE" link set "$veth" master br0 up
	ip -n "$ns" link set lo up
	# The MAC follows from the IP (0a:58 + IP, as the CNI bridge plugin
	# did), so a pod recreated with the same IP is not hidden behind the
	# old MAC in its neighbours' ARP caches.
	# shellcheck disable=SC2046,SC2183
	ip -n "$ns" link set eth0 address "$(printf '0a:58:%02x:%02x:%02x:%02x' $(pod_ip "$p" | tr . ' '))"
	ip -n "$ns" addr add "$(pod_ip "$p")/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add default via "$GW"
	nsx "$ns" sysctl -q -w net.ipv4.icmp_ratelimit=0
}

make_pod_cgroups() {	# POD: v2 slices (systemd driver), v1 cgroupfs paths
	local p=$1 c
	# (twice: a parallel lab's down may remove a shared parent between
	# our mkdirs)
	mkdir -p "$(cg_v2 "$p")" 2>/dev/null || mkdir -p "$(cg_v2 "$p")"
	for c in $CG_V1_CONTROLLERS; do
		[ -d "/sys/fs/cgroup/$c" ] || continue
		mkdir -p "$(cg_v1 "$p" "$c")" 2>/dev/null || mkdir -p "$(cg_v1 "$p" "$c")"
	done
}

start_dns() {	# NAME,IP...: cluster DNS knows these, NXDOMAIN for the rest
	local r args=()
	for r; do args+=(--host-record="$r"); done
	start_in_pod dns dnsmasq --keep-in-foreground --user=root --group=root \
		--conf-file=/dev/null --no-resolv --no-hosts --no-poll \
		--pid-file="$STATE/dnsmasq.pid" --listen-address="$(pod_ip dns)" --bind-interfaces \
		"${args[@]}" --local=/#/ --log-queries --log-facility="$STATE/dns.queries.log"
}

start_pod() {	# POD: its servers
	: > "$STATE/$1.pids"
	case $1 in
	dns)
		start_dns web.shop.svc.cluster.local,$WEB_VIP redis.shop.svc.cluster.local,$REDIS_VIP \
			kube-dns.kube-system.svc.cluster.local,$DNS_VIP $EXT_NAME,$EXT_IP ;;
	web-a | web-b) start_in_pod "$1" nginx -c "$STATE/$1/nginx.conf" ;;
	redis)
		start_in_pod redis redis-server --port 6379 --bind 0.0.0.0 --protected-mode no \
			--save "" --appendonly no --daemonize no --dir "$STATE/redis" \
			--logfile "$STATE/redis/redis.log" ;;
	flaky)
		start_in_pod flaky "$(client_bin)" serve-reset 9000
		start_in_pod flaky "$(client_bin)" serve-hold 9001 ;;
	esac
}

wait_pod() {
	case $1 in
	dns) wait_listen dns udp 53 && wait_listen dns tcp 53 ;;
	web-a | web-b) wait_listen "$1" tcp 80 ;;
	redis) wait_listen redis tcp 6379 ;;
	flaky) wait_listen flaky tcp 9000 && wait_listen flaky tcp 9001 ;;
	esac
}

# Kill every process of a pod (or only of its container): v2 first
# (cgroup.kill takes the whole subtree at once), then any stragglers in the
# v1 hierarchies; wait until they are gone.
kill_pod() {	# POD [container]
	local p=$1 c d i
	d=$(cg_v2_pod "$p")
	[ "${2:-}" = container ] && d=$(cg_v2 "$p")
	[ -d "$d" ] && echo 1 > "$d/cgroup.kill" 2>/dev/null
	for c in $CG_V1_CONTROLLERS; do
		d=$(cg_v1_pod "$p" "$c")
		[ "${2:-}" = container ] && d=$(cg_v1 "$p" "$c")
		[ -d "$d" ] || continue
		# shellcheck disable=SC2038 # (pids, not file names)
		find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null
	done
	d=$(cg_v2_pod "$p")
	[ "${2:-}" = container ] && d=$(cg_v2 "$p")
	for ((i = 0; i < WAIT_STEPS; i++)); do
		[ -d "$d" ] || return 0
		[ -z "$(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	echo "lab: processes survived in the cgroups of $p in lab $NAME" >&2
	return 1
}

rm_pod_cgroups() {	# POD [container]
	local p=$1 c d
	rmdir "$(cg_v2 "$p")" 2>/dev/null
	[ "${2:-}" = container ] || rmdir "$(cg_v2_pod "$p")" 2>/dev/null
	for c in $CG_V1_CONTROLLERS; do
		d=$(cg_v1_pod "$p" "$c")
		[ -d "$d" ] || continue
		rmdir "$(cg_v1 "$p" "$c")" 2>/dev/null
		[ "${2:-}" = container ] || rmdir "$d" 2>/dev/null
	done
	return 0
}

now_ns() { date +%s%N; }

# "pid starttime": a pid, and when it started (so a reused pid is not taken
# for the owner).
proc_start() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	# shellcheck disable=SC2086
	set -- "$1" $stat
	echo "$1 ${21}"
}

cmd_gc() {
	local d owner pid now
	for d in "$KTLAB_ROOT"/*/; do
		[ -f "$d/owner" ] || continue
		read -r owner < "$d/owner" || continue
		pid=${owner%% *}
		now=$(proc_start "$pid" 2>/dev/null)
		[ "$now" = "$owner" ] && continue
		d=${d%/}
		echo "lab: removing lab ${d##*/}: its owner $pid is gone" >&2
		( NAME=${d##*/}; STATE=$d; NODE=$(ns_of node); cmd_down )
	done
	return 0
}

# A container restart (kubelet after a crash or OOM kill): the same pod UID
# and netns, a new container ID and processes.
cmd_restart() {	# POD [REASON]: why the container ended (default Error)
	local p=${1:-} why=${2:-Error} old
	[ -f "$STATE/lab.json" ] || die "lab '$NAME' is not up"
	case " $PODS " in *" $p "*) ;; *) die "usage: lab.sh restart POD (one of: $PODS)" ;; esac
	case $why in *[!A-Za-z]* | "") die "restart reason '$why': use letters only" ;; esac
	old=$(pod_cid "$p")
	kill_pod "$p" container || die "cannot stop $p"
	rm_pod_cgroups "$p" container
	echo $(($(pod_gen "$p" cgen) + 1)) > "$STATE/$p.cgen"
	make_pod_cgroups "$p" || die "cannot make the cgroups of $p"
	start_pod "$p"
	wait_pod "$p"
	printf '{"type": "restart", "pod": "%s", "ts_ns": %s, "uid": "%s", "reason": "%s", "old_container_id": "%s", "container_id": "%s"}\n' \
		"$p" "$(now_ns)" "$(pod_uid "$p")" "$why" "$old" "$(pod_cid "$p")" >> "$STATE/events.jsonl"
	write_lab_json
}

# A pod deleted and replaced by a new one that gets the same IP (IPs are
# reused): new UID, netns and container.
cmd_recreate() {
	local p=${1:-} old_uid old_cid old_ns old_name gone
	[ -f "$STATE/lab.json" ] || die "lab '$NAME' is not up"
	case " $PODS " in *" $p "*) ;; *) die "usage: lab.sh recreate POD (one of: $PODS)" ;; esac
	old_uid=$(pod_uid "$p")
	old_name=$(pod_kname "$p")
	old_cid=$(pod_cid "$p")
	old_ns=$(stat -L -c %i "/run/netns/$(ns_of "$p")")
	kill_pod "$p" || die "cannot stop $p"
	rm_pod_cgroups "$p"
	ip netns del "$(ns_of "$p")"
	gone=$(now_ns)
	echo $(($(pod_gen "$p" ugen) + 1)) > "$STATE/$p.ugen"
	echo 0 > "$STATE/$p.cgen"
	make_pod_net "$p" || die "cannot make the netns of $p"
	make_pod_cgroups "$p" || die "cannot make the cgroups of $p"
	start_pod "$p"
	wait_pod "$p"
	printf '{"type": "recreate", "pod": "%s", "ts_ns": %s, "ip": "%s", "old_name": "%s", "name": "%s", "old_uid": "%s", "uid": "%s", "old_container_id": "%s", "container_id": "%s", "old_netns_inode": %s, "old_netns_until_ns": %s, "netns_inode": %s}\n' \
		"$p" "$(now_ns)" "$(pod_ip "$p")" "$old_name" "$(pod_kname "$p")" "$old_uid" "$(pod_uid "$p")" "$old_cid" "$(pod_cid "$p")" \
		"$old_ns" "$gone" "$(stat -L -c %i "/run/netns/$(ns_of "$p")")" >> "$STATE/events.jsonl"
	write_lab_json
}

prepare_pods() {	# what the servers need before they start
	write_nginx_conf ext
	write_nginx_conf web-a
	write_nginx_conf web-b
	mkdir -p "$STATE/redis"
}

cmd_up() {
	local p owner=""
	check_setup
	[ -e "$STATE" ] && die "lab '$NAME' already exists"
	if [ -n "${KTLAB_OWNER:-}" ]; then
		owner=$(proc_start "$KTLAB_OWNER") || die "no process $KTLAB_OWNER to own the lab"
	fi
	mkdir -p "$STATE"
	[ -n "$owner" ] && echo "$owner" > "$STATE/owner"
	echo "$SCENARIO" > "$STATE/scenario"
	# Whatever fails from here (or a signal), take down what was made.
	UP_OK=
	# (set +e: the rest of down must run whatever part of it fails)
	trap 'if [ -z "$UP_OK" ]; then set +e; echo "lab: setup failed, removing lab $NAME" >&2; cmd_down >/dev/null 2>&1; fi' EXIT
	trap 'exit 1' INT TERM HUP
	set -e
	new_netns "$NODE"
	ip -n "$NODE" link set lo up
	ip -n "$NODE" link add br0 type bridge
	ip -n "$NODE" addr add "$GW/24" dev br0
	ip -n "$NODE" link set br0 up
	# So processes on the node itself (hostNetwork) reach ClusterIPs: the
	# route lookup comes before the nat OUTPUT chain rewrites the address.
	ip -n "$NODE" route add 198.19.0.0/16 dev br0
	if ! nsx "$NODE" test -e /proc/sys/net/bridge/bridge-nf-call-iptables; then
		modprobe br_netfilter 2>/dev/null || true
	fi
	# The node forwards between pods; bridged packets go through iptables
	# (kube-proxy needs it for replies of DNAT between pods on one bridge);
	# ICMP is not rate limited, or REJECT answers turn into SYN retries.
	nsx "$NODE" sysctl -q -w net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 \
		net.ipv4.icmp_ratelimit=0
	for p in $PODS; do
		make_pod_net "$p"
		make_pod_cgroups "$p"
	done
	# The external host: routed by the node, not on the bridge.
	new_netns "$(ns_of ext)"
	ip -n "$NODE" link add v-ext type veth peer name eth0 netns "$(ns_of ext)"
	ip -n "$NODE" addr add "$EXT_GW/24" dev v-ext
	ip -n "$NODE" link set v-ext up
	ip -n "$(ns_of ext)" link set lo up
	ip -n "$(ns_of ext)" addr add "$EXT_IP/24" dev eth0
	ip -n "$(ns_of ext)" link set eth0 up
	ip -n "$(ns_of ext)" route add default via "$EXT_GW"
	mkdir -p "$(cg_ext)" 2>/dev/null || mkdir -p "$(cg_ext)"
	kube_proxy_rules

	prepare_pods
	client_bin >/dev/null
	start_in_pod ext nginx -c "$STATE/ext/nginx.conf"
	for p in $PODS; do
		start_pod "$p"
	done
	wait_listen ext tcp 80
	for p in $PODS; do
		wait_pod "$p"
	done
	write_lab_json
	set +e
	UP_OK=1
	echo "$NAME"
}

kill_pods() {
	local p i rc=0
	for p in $PODS; do
		kill_pod "$p" || rc=1
	done
	[ -d "$(cg_ext)" ] && echo 1 > "$(cg_ext)/cgroup.kill" 2>/dev/null
	for ((i = 0; i < WAIT_STEPS; i++)); do
		[ -z "$(cat "$(cg_ext)/cgroup.procs" 2>/dev/null)" ] && return $rc
		sleep 0.1
	done
	echo "lab: processes survived in the external host of lab $NAME" >&2
	return 1
}

rm_cgroups() {
	local p c d
	for p in $PODS; do
		rm_pod_cgroups "$p"
	done
	rmdir "$(cg_ext)" 2>/dev/null
	# The shared parents go only when no other lab (or kubelet) uses them.
	rmdir "$(cg_ext_parent)" 2>/dev/null
	for d in "$CG_V2"/kubepods.slice/kubepods-besteffort.slice \
		 "$CG_V2"/kubepods.slice/kubepods-burstable.slice "$CG_V2/kubepods.slice"; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null
	done
	for c in $CG_V1_CONTROLLERS; do
		for d in /sys/fs/cgroup/"$c"/kubepods/besteffort /sys/fs/cgroup/"$c"/kubepods/burstable \
			 /sys/fs/cgroup/"$c"/kubepods; do
			[ -d "$d" ] && rmdir "$d" 2>/dev/null
		done
	done
	return 0
}

cmd_down() {
	local p rc=0
	kill_pods || rc=1
	rm_cgroups
	for p in $PODS ext node; do
		if [ -e "/run/netns/$(ns_of "$p")" ]; then
			ip netns del "$(ns_of "$p")" || rc=1
		fi
	done
	for p in $PODS; do
		[ -d "$(cg_v2 "$p")" ] && { echo "lab: cgroup '$(cg_v2 "$p")' is left" >&2; rc=1; }
	done
	[ -d "$(cg_ext)" ] && { echo "lab: cgroup '$(cg_ext)' is left" >&2; rc=1; }
	if [ -z "${KTLAB_KEEP_STATE:-}" ]; then
		rm -rf "$STATE"
	fi
	return $rc
}

cmd_status() {
	local p ok=0 n
	[ -f "$STATE/lab.json" ] || { echo "lab $NAME: not up"; return 1; }
	echo "lab $NAME ($STATE)"
	for p in node $PODS ext; do
		if [ -e "/run/netns/$(ns_of "$p")" ]; then
			n=""
			[ "$p" = ext ] && n=$(wc -l < "$(cg_ext)/cgroup.procs" 2>/dev/null || echo 0)
			[ "$p" != node ] && [ "$p" != ext ] &&
				n=$(wc -l < "$(cg_v2 "$p")/cgroup.procs" 2>/dev/null || echo 0)
			printf '  %-7s netns ok%s\n' "$p" "${n:+, $n processes}"
		else
			printf '  %-7s netns MISSING\n' "$p"
			ok=1
		fi
	done
	return $ok
}

cmd_env() {
	local p v
	[ -f "$STATE/lab.json" ] || die "lab '$NAME' is not up"
	echo "KTLAB_NAME=$NAME"
	echo "KTLAB_STATE=$STATE"
	echo "KTLAB_JSON=$STATE/lab.json"
	echo "KTLAB_NODE_NETNS=/run/netns/$NODE"
	echo "KTLAB_SCENARIO=$SCENARIO"
	env_vips
	echo "KTLAB_EXT_IP=$EXT_IP KTLAB_EXT_NAME=$EXT_NAME KTLAB_EXT_NETNS=/run/netns/$(ns_of ext)"
	for p in $PODS; do
		v=$(echo "$p" | tr a-z- A-Z_)
		echo "KTLAB_${v}_IP=$(pod_ip "$p") KTLAB_${v}_UID=$(pod_uid "$p") KTLAB_${v}_CID=$(pod_cid "$p")"
		echo "KTLAB_${v}_NETNS=/run/netns/$(ns_of "$p") KTLAB_${v}_CGROUP=$(cg_v2 "$p")"
	done
}

env_vips() {
	echo "KTLAB_DNS_VIP=$DNS_VIP KTLAB_WEB_VIP=$WEB_VIP KTLAB_REDIS_VIP=$REDIS_VIP KTLAB_NOEP_VIP=$NOEP_VIP"
}

# The standard traffic, with known ground truth. Sizes can be changed with
# KTLAB_SHORT (default 200), KTLAB_CLUSTER (10), KTLAB_EXT (3),
# KTLAB_LONG_SECS (3).
cmd_traffic() {
	local out=${1:-$STATE/truth.json} flaky
	[ -f "$STATE/lab.json" ] || die "lab '$NAME' is not up"
	flaky=$(pod_ip flaky)
	cmd_exec client "$(client_bin)" run --out "$out" \
		--dns $DNS_VIP web.shop.svc.cluster.local \
		--dns $DNS_VIP nosuch.example.invalid \
		--dns $DNS_VIP $EXT_NAME \
		--external "${KTLAB_EXT:-3}" "$EXT_IP:80" \
		--short "${KTLAB_SHORT:-200}" "$(pod_ip web-a):80" \
		--cluster "${KTLAB_CLUSTER:-10}" "$WEB_VIP:80" \
		--long "${KTLAB_LONG_SECS:-3}" "$REDIS_VIP:6379" \
		--refused "$flaky:9002" \
		--refused "$NOEP_VIP:80" \
		--reset "$flaky:9000" \
		--timeout "$flaky:9001" || die "traffic driver failed"
	echo "$out"
}

cmd_exec() {
	local pod=${1:-}
	[ -n "$pod" ] || die "usage: lab.sh exec POD CMD..."
	shift
	[ -e "/run/netns/$(ns_of "$pod")" ] || die "no pod '$pod' in lab '$NAME'"
	( enter_pod "$pod" "$@" )
}

NAME=${KTLAB_NAME:-}
if [ "${1:-}" = -n ]; then
	NAME=${2:-}
	shift 2 || die "-n needs a name"
fi
CMD=${1:-}
[ -n "$CMD" ] || { sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }
shift
if [ -z "$NAME" ] && [ "$CMD" = gc ]; then
	NAME=none
elif [ -z "$NAME" ]; then
	[ "$CMD" = up ] || die "which lab? use -n NAME or KTLAB_NAME"
	NAME=ktl$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
fi
case $NAME in
*[!a-z0-9]* | "" | ?????????????*) die "lab name '$NAME': use 1-12 of [a-z0-9]" ;;
esac
STATE=$KTLAB_ROOT/$NAME
NODE=$(ns_of node)
SCENARIO=default
if [ "$CMD" = up ] && [ "${1:-}" = --scenario ]; then
	SCENARIO=${2:-}
	shift 2 || die "--scenario needs a name"
elif [ -f "$STATE/scenario" ]; then
	read -r SCENARIO < "$STATE/scenario"
fi
case $SCENARIO in
default) ;;
*[!a-z0-9-]* | "") die "scenario '$SCENARIO': use [a-z0-9-]" ;;
*)
	[ -f "$LAB_DIR/scenario-$SCENARIO.sh" ] || die "no scenario '$SCENARIO' ($LAB_DIR/scenario-$SCENARIO.sh)"
	# shellcheck disable=SC1090
	. "$LAB_DIR/scenario-$SCENARIO.sh" ;;
esac

case $CMD in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
traffic) cmd_traffic "$@" ;;
gc) cmd_gc ;;
restart) cmd_restart "$@" ;;
recreate) cmd_recreate "$@" ;;
exec) cmd_exec "$@" ;;
*) die "unknown command '$CMD'" ;;
esac
