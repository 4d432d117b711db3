#!/usr/bin/env python3
"""mkbundle.py SPOOL KTANA - turn a ktgen spool into the golden tests' bundle:
Kubernetes objects (two snapshots: a Deployment scaled, a pod created, one
deleted, one restarted after an OOM kill, a Warning event) whose pods carry
the UIDs and addresses ktgen gave them, hostile names where a report shows
them, and one pcap fragment behind a refused connection listed in the
manifest as the pcap source lists them (docs/report.md, "Evidence")."""
import json, os, struct, subprocess, sys

spool, ktana = sys.argv[1], sys.argv[2]
man_path = os.path.join(spool, "manifest.json")
man = json.load(open(man_path))
start, end = man["window"]["start_ns"], man["window"]["end_ns"]

def rfc(ns):
    import datetime
    s = datetime.datetime.fromtimestamp(ns // 10**9, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return "%s.%09dZ" % (s, ns % 10**9)

def rfc_s(ns):
    return rfc(ns)[:19] + "Z"

procs = [json.loads(l) for l in subprocess.check_output(
    [ktana, "dump", "--stream", "proc", spool], text=True).splitlines()]
pods = []
for i, p in enumerate(sorted(procs, key=lambda p: p["pid"])):
    ns = "shop" if i < 6 else "ops"
    comm = p["comm"]
    if comm == "redis-cart":
        name, owner = "redis-cart-0", ("StatefulSet", "redis-cart")
    elif i == 7:
        # a name no cluster allows, as a hostile bundle may carry
        name, owner = 'shipping"><script>alert(1)</script>', None
    else:
        name, owner = "%s-5d8f7c-%05d" % (comm, i), ("ReplicaSet", comm + "-5d8f7c")
    pods.append(dict(ns=ns, name=name, uid=p["pod_uid"], ip="198.18.1.%d" % (i + 2),
                     cid=p["container_id"], comm=comm, owner=owner))

def pod_obj(p, restarts=0, oom=False, created=None):
    meta = {"name": p["name"], "namespace": p["ns"], "uid": p["uid"],
            "creationTimestamp": rfc_s(created or start - 3600 * 10**9),
            "labels": {"app": p["comm"]}}
    if p["owner"]:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": p["owner"][0],
                                    "name": p["owner"][1], "uid": "uid-" + p["owner"][1],
                                    "controller": True}]
    cs = {"name": p["comm"], "ready": True, "restartCount": restarts,
          "containerID": "containerd://" + p["cid"], "image": "example/" + p["comm"],
          "state": {"running": {"startedAt": rfc_s(start - 60 * 10**9)}}}
    if oom:
        cs["lastState"] = {"terminated": {"reason": "OOMKilled", "exitCode": 137}}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"nodeName": "synthetic-node-1", "containers": [{"name": p["comm"]}]},
            "status": {"phase": "Running", "podIP": p["ip"], "podIPs": [{"ip": p["ip"]}],
                       "hostIP": "198.18.0.1",
                       "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [cs]}}

def rs(comm, ns):
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": comm + "-5d8f7c", "namespace": ns, "uid": "uid-%s-5d8f7c" % comm,
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                              "name": comm, "uid": "uid-" + comm, "controller": True}]},
            "spec": {"replicas": 1}, "status": {"replicas": 1}}

def deploy(comm, ns, replicas):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": comm, "namespace": ns, "uid": "uid-" + comm},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": comm}}},
            "status": {"replicas": replicas, "readyReplicas": replicas}}

def write_list(snap, t, resource, kind, items, ns):
    d = os.path.join(spool, "k8s", "snapshots", "%06d" % snap, resource)
    os.makedirs(d, exist_ok=True)
    doc = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
           "items": items,
           "ktcap": {"snapshot": snap, "reason": "start" if snap == 1 else "end",
                     "resource": resource, "kind": kind, "taken": rfc(t), "taken_ns": t,
                     "done_ns": t + 1000, "namespace": None, "node": None, "items": len(items)}}
    with open(os.path.join(d, ns + ".json"), "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)

t1, t2 = start - 1000000, end - 1000
workloads = sorted({(p["ns"], p["comm"]) for p in pods if p["owner"] and p["owner"][0] == "ReplicaSet"})
for snap, t in ((1, t1), (2, t2)):
    for ns in ("shop", "ops"):
        items = []
        for i, p in enumerate(pods):
            if p["ns"] != ns or (snap == 2 and i == 5):
                continue	# pod 5 is deleted before the second snapshot
            items.append(pod_obj(p, restarts=2 if snap == 2 and i == 1 else 0,
                                 oom=snap == 2 and i == 1))
        if snap == 2 and ns == "shop":
            extra = dict(pods[0], name="frontend-5d8f7c-new00", uid="0000aaaa-1111-4222-8333-444455556666",
                         ip="198.18.1.200")
            items.append(pod_obj(extra, created=start + (end - start) // 2))
        write_list(snap, t, "pods", "Pod", items, ns)
        write_list(snap, t, "replicasets", "ReplicaSet",
                   [rs(c, n) for n, c in workloads if n == ns], ns)
        write_list(snap, t, "deployments", "Deployment",
                   [deploy(c, n, 2 if snap == 2 and c == "frontend" else 1)
                    for n, c in workloads if n == ns], ns)
        write_list(snap, t, "statefulsets", "StatefulSet",
                   [{"apiVersion": "apps/v1", "kind": "StatefulSet",
                     "metadata": {"name": "redis-cart", "namespace": "shop", "uid": "uid-redis-cart"},
                     "spec": {"replicas": 1}, "status": {"replicas": 1}}] if ns == "shop" else [], ns)
        ev = []
        if snap == 2 and ns == "shop":
            ev.append({"apiVersion": "v1", "kind": "Event",
                       "metadata": {"name": "cart.1", "namespace": "shop", "uid": "ev-1"},
                       "involvedObject": {"kind": "Pod", "namespace": "shop", "name": pods[1]["name"]},
                       "reason": "BackOff", "type": "Warning", "count": 3,
                       "message": "Back-off restarting failed container <img src=x onerror=alert(1)>",
                       "firstTimestamp": rfc_s(start), "lastTimestamp": rfc_s(start)})
        write_list(snap, t, "events", "Event", ev, ns)
    json.dump({"snapshot": snap, "reason": "start" if snap == 1 else "end", "started_ns": t,
               "finished_ns": t + 1000, "namespace": None, "node": None, "redacted": True,
               "resources": {}},
              open(os.path.join(spool, "k8s", "snapshots", "%06d" % snap, "_snapshot.json"), "w"))

# one refused connection, as two packets (SYN, RST) in a classic pcap
flows = [json.loads(l) for l in subprocess.check_output([ktana, "flows", "--json", spool],
                                                         text=True).splitlines()]
ref = [f for f in flows if f["outcome"] == "refused"][0]

def ip4(s):
    return bytes(int(x) for x in s.split("."))

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def pkt(src, dst, sport, dport, flags, seq, ack):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0)
    ph = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(ph + tcp)) + tcp[18:]
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, ip4(src), ip4(dst))
    iph = iph[:10] + struct.pack("!H", csum(iph)) + iph[12:]
    return b"\x0a\x58\xc6\x12\x01\x03\x0a\x58\xc6\x12\x01\x02\x08\x00" + iph + tcp

os.makedirs(os.path.join(spool, "pcap"), exist_ok=True)
with open(os.path.join(spool, "pcap", "frag-000001.pcap"), "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b23c4d, 2, 4, 0, 0, 262144, 1))
    t = ref["start_ns"]
    for i, p in enumerate((pkt(ref["src_ip"], ref["dst_ip"], ref["src_port"], ref["dst_port"], 0x02, 1000, 0),
                           pkt(ref["dst_ip"], ref["src_ip"], ref["dst_port"], ref["src_port"], 0x14, 0, 1001))):
        ts = t + i * 50000
        f.write(struct.pack("<IIII", ts // 10**9, ts % 10**9, len(p), len(p)) + p)
# as the pcap source writes them (docs/pcap.md): every fragment in
# pcap/fragments.jsonl, the first ones in the manifest
frag = {"file": "pcap/frag-000001.pcap", "reasons": ["refused"],
        "flow": {"proto": "tcp", "src": ref["src_ip"], "sport": ref["src_port"],
                 "dst": ref["dst_ip"], "dport": ref["dst_port"], "netns": 4026532000},
        "trouble_ns": ref["start_ns"], "start_ns": ref["start_ns"] - 1000,
        "end_ns": ref["start_ns"] + 50000, "packets": 2, "bytes": 108, "source": "bpf",
        "complete": True, "errno": 111}
# a fragment of the host pair (ports 0) whose file is not in the bundle,
# with a reason no pcap source writes
gone = dict(frag, file="pcap/frag-000002.pcapng", complete=False,
            reasons=['lost <b onmouseover="alert(1)">'], flow=dict(frag["flow"], sport=0, dport=0))
with open(os.path.join(spool, "pcap", "fragments.jsonl"), "w") as f:
    for x in (frag, gone):
        f.write(json.dumps(x, sort_keys=True) + "\n")
man["sources"]["pcap"] = {"status": "ok", "message": "fragments around failures",
                          "fragments": [frag], "fragments_written": 2, "lost": 0}
# the host facts of the machine that made it stay out of the repository
man["host"].update(hostname="golden-host", kernel="6.1.0", kernel_version="#1 SMP",
                   boot_id="00000000-0000-4000-8000-000000000000")
man["sources"]["k8s"] = {"status": "partial", "message": "events: forbidden", "denied": 1,
                         "errors": [{"resource": "events", "call": "list", "class": "denied",
                                     "message": "Error from server (Forbidden): <script>x</script>",
                                     "snapshot": 1, "ts_ns": start}]}
with open(man_path, "w") as f:
    json.dump(man, f, indent=1, sort_keys=True)
