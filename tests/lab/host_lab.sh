#!/bin/bash
# host_lab.sh - host facts taken on a lab node name its pods correctly.
#
# Runs kthost_dump (kt_host_collect) inside the lab's node netns after some
# traffic, and checks the facts against the lab's own description
# (lab.json): every pod's processes map to its pod UID, container ID, QoS,
# cgroup v2 id and netns; every pod netns shows its eth0 address; the node
# netns (which has no process, only a bind mount) shows the bridge; the
# listening servers appear with their pids; conntrack ties the ClusterIP to
# the backend that served. Exit 77 (skip) without root.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
ktlab_require_root || exit 77
DUMP=${KTHOST_DUMP:-${KT_BUILD_DIR:-$HERE/../../build}/tests/kthost_dump}
[ -x "$DUMP" ] || { echo "FAIL - no kthost_dump at '$DUMP' (set KTHOST_DUMP)"; exit 1; }

ktlab_up || { echo "FAIL - lab up"; exit 1; }
echo "# lab $KTLAB_NAME"
KTLAB_SHORT=5 KTLAB_CLUSTER=4 KTLAB_LONG_SECS=1 ktlab traffic >/dev/null || { echo "FAIL - traffic"; exit 1; }
# A process in the client pod while the facts are taken (bounded: 60 s).
ktlab exec client sleep 60 2>/dev/null &
SLEEPER=$!
for _ in $(seq 50); do
	[ -s "$KTLAB_CLIENT_CGROUP/cgroup.procs" ] && break
	sleep 0.1
done
FACTS=$KTLAB_STATE/facts.json
nsenter --net="$KTLAB_NODE_NETNS" "$DUMP" > "$FACTS" || { echo "FAIL - kthost_dump"; exit 1; }
# The same through the recorder, read back through ktana dump.
KTCAP=${KTCAP:-$(dirname "$DUMP")/../ktcap}
KTANA=${KTANA:-$(dirname "$DUMP")/../ktana}
BUNDLE=$KTLAB_STATE/host.tar.zst
nsenter --net="$KTLAB_NODE_NETNS" "$KTCAP" record -o "$BUNDLE" --spool "$KTLAB_STATE/spool" \
	--sources host --duration 1s --node lab-node >/dev/null 2>"$KTLAB_STATE/ktcap.err" ||
	{ echo "FAIL - ktcap record --sources host"; cat "$KTLAB_STATE/ktcap.err"; exit 1; }
"$KTANA" dump --stream proc "$BUNDLE" > "$KTLAB_STATE/proc.jsonl" ||
	{ echo "FAIL - ktana dump"; exit 1; }
kill "$SLEEPER" 2>/dev/null

python3 - "$KTLAB_JSON" "$FACTS" "$KTLAB_STATE/truth.json" "$KTLAB_STATE/proc.jsonl" <<'PY'
import json, sys
lab = json.load(open(sys.argv[1]))
facts = json.load(open(sys.argv[2]))
truth = json.load(open(sys.argv[3]))
recs = [json.loads(l) for l in open(sys.argv[4]) if l.strip()]
fails = 0

def check(what, cond):
    global fails
    print(("ok - " if cond else "FAIL - ") + what)
    if not cond:
        fails += 1

procs = facts["processes"]["processes"]
nss = {n["netns"]: n for n in facts["netns"]["namespaces"]}
socks = {n["netns"]: n["sockets"] for n in facts["sockets"]["namespaces"]}
cts = {n["netns"]: n for n in facts["conntrack"]["namespaces"]}
node = lab["node"]

check("the collector ran in the node netns", facts["netns"]["own_netns"] == node["netns_inode"])
check("the node netns (no process, a bind mount) was found",
      node["netns_inode"] in nss and lab["node"]["netns"] in nss[node["netns_inode"]]["names"])
br = [l for l in nss.get(node["netns_inode"], {}).get("links", []) if l.get("name") == "br0"]
check("the node's bridge has its address",
      len(br) == 1 and br[0].get("kind") == "bridge" and
      any(a["address"] == node["ip"] and a["prefixlen"] == 24 for a in br[0]["addresses"]))
veths = [l for l in nss.get(node["netns_inode"], {}).get("links", []) if l.get("kind") == "veth"]
names = {l.get("name") for l in veths}
check("each pod's node_veth is a veth in the node netns",
      all(p["node_veth"] in names for p in lab["pods"]) and lab["external"]["node_veth"] in names)
check("the node has one veth per pod enslaved to br0, each with a peer netns",
      br and len([l for l in veths if l.get("master") == br[0]["index"]]) == len(lab["pods"]) and
      all("link_netnsid" in l for l in veths))

ext = lab["external"]
ext_procs = [p for p in procs if p.get("netns") == ext["netns_inode"]]
check("the external host's processes are found, and belong to no pod",
      len(ext_procs) >= 1 and all("pod_uid" not in p and "container_id" not in p for p in ext_procs))
ext_eth0 = [l for l in nss.get(ext["netns_inode"], {}).get("links", []) if l.get("name") == "eth0"]
check("the external host's netns shows its address",
      len(ext_eth0) == 1 and any(a["address"] == ext["ip"] for a in ext_eth0[0]["addresses"]))

for pod in lab["pods"]:
    name = pod["lab"]
    mine = [p for p in procs if p.get("pod_uid") == pod["uid"]]
    check(f"{name}: processes found by pod UID ({len(mine)})", len(mine) >= 1)
    check(f"{name}: each has the container ID, containerd, QoS {pod['qos']}",
          mine and all(p.get("container_id") == pod["container_id"] and
                       p.get("runtime") == "containerd" and p.get("qos") == pod["qos"]
                       for p in mine))
    check(f"{name}: each has the cgroup v2 id and the netns of the pod",
          mine and all(p.get("cgroup_id") == pod["cgroup_v2_id"] and p.get("netns") == pod["netns_inode"]
                       for p in mine))
    if "cpu" in pod["cgroup_v1"]:
        check(f"{name}: each lists its v1 cgroupfs path",
              mine and all(any(c["path"] == "/" + pod["cgroup_v1"]["cpu"].split("/", 5)[5]
                               for c in p["cgroups"] if "cpu" in c["controllers"].split(","))
                           for p in mine))
    ns = nss.get(pod["netns_inode"])
    eth0 = [l for l in (ns or {}).get("links", []) if l.get("name") == "eth0"]
    check(f"{name}: its netns shows eth0 with {pod['ip']}",
          len(eth0) == 1 and any(a["address"] == pod["ip"] for a in eth0[0]["addresses"]))

def listener(pod, proto, port):
    pids = {p["pid"] for p in procs if p.get("pod_uid") == pod["uid"]}
    state = "listen" if proto == "tcp" else "bound"
    return [s for s in socks.get(pod["netns_inode"], [])
            if s["proto"] == proto and s["state"] == state and s["sport"] == port and s.get("pid") in pids]

by = {p["lab"]: p for p in lab["pods"]}
for name, proto, port, comm in [("web-a", "tcp", 80, "nginx"), ("web-b", "tcp", 80, "nginx"),
                                ("redis", "tcp", 6379, "redis-server"), ("dns", "udp", 53, "dnsmasq"),
                                ("dns", "tcp", 53, "dnsmasq"), ("flaky", "tcp", 9000, "ktlab_client")]:
    found = listener(by[name], proto, port)
    pids = {p["pid"]: p.get("comm") for p in procs}
    check(f"{name}: {comm} listens on {proto}/{port} with its pid",
          len(found) >= 1 and all(pids.get(s["pid"]) == comm for s in found))

served = {c["sport"]: c["served_by"] for c in truth["connections"] if c["step"] == "cluster"}
ips = {p["ip"]: p["lab"] for p in lab["pods"]}
web_vip = [s["cluster_ip"] for s in lab["services"] if s["name"] == "web"][0]
cl = by["client"]["ip"]
ct = cts.get(node["netns_inode"], {"entries": [], "errors": ["missing"]})
check("the node's conntrack table was read", not ct["errors"])
hits = {e["orig"]["sport"]: ips.get(e["reply"]["src"]) for e in ct["entries"]
        if e["proto"] == 6 and e["orig"]["src"] == cl and e["orig"]["dst"] == web_vip and e["orig"]["dport"] == 80}
check(f"conntrack ties each ClusterIP connection to the backend that served it ({len(served)})",
      all(hits.get(sp) == b for sp, b in served.items()) and len(served) > 0)

# The recorder's proc stream: a SNAPSHOT at start and at end for every
# server process of every pod, with its pod UID, container ID, cgroup id.
snaps = [r for r in recs if r["kind"] == "snapshot"]
check("ktcap record wrote SNAPSHOT records at start and at end",
      len({r["ts_ns"] for r in snaps}) == 2)
for pod in lab["pods"]:
    if not pod["pids"]:
        continue
    mine = [r for r in snaps if r["pid"] == pod["pids"][0]]
    check(f"{pod['lab']}: its server pid has two snapshots naming its pod, container and cgroup",
          len(mine) == 2 and all(r["pod_uid"] == pod["uid"] and r["container_id"] == pod["container_id"] and
                                 r["cgroup_id"] == pod["cgroup_v2_id"] and r["netns"] == pod["netns_inode"] and
                                 r["path"] == pod["cgroup_v2"][len(lab["cgroup_v2_root"]):]
                                 for r in mine))

print(f"# {fails} failed")
sys.exit(1 if fails else 0)
PY
