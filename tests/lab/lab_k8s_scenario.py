#!/usr/bin/env python3
"""lab_k8s_scenario.py LAB_JSON NODE_NAME [--diff OLD_SCENARIO] - the lab's
Kubernetes objects as a scenario for kube-apiserver.py: namespaces, the node,
every pod with its UID, IP, container ID, restarts and owners (ReplicaSet ->
Deployment, or StatefulSet, as lab.json says), the services with their
ClusterIPs, Endpoints and EndpointSlices, the Events kubelet and the
controllers would have written for the lab's restarts and recreations, and
the scenario's extra objects (lab.json "objects": NetworkPolicies, a
Deployment scaled to zero), so that a recording of the lab carries the
objects a real node's API server would list. Prints the scenario JSON.

With --diff, prints instead the steps (for POST /lab/step) that turn the
objects of OLD_SCENARIO into these: deletions first, then additions and
changes, so a pod recreated with the same IP is gone before its successor
appears."""
import datetime
import hashlib
import json
import re
import sys

args = sys.argv[1:]
old = None
if "--diff" in args:
    i = args.index("--diff")
    old = json.load(open(args[i + 1]))
    del args[i:i + 2]
lab = json.load(open(args[0]))
node = args[1]
T = "2026-01-01T00:00:00Z"
objs = []


def ts(ns):
    return datetime.datetime.fromtimestamp(ns / 1e9, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(kind, ns, name, uid, owner=None, labels=None, created=T):
    m = {"name": name, "uid": uid, "creationTimestamp": created, "resourceVersion": "1"}
    if ns:
        m["namespace"] = ns
    if owner:
        m["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1],
                                 "uid": "uid-%s-%s" % (owner[0].lower(), owner[1]),
                                 "controller": True}]
    if labels:
        m["labels"] = labels
    return {"apiVersion": "apps/v1" if kind in ("Deployment", "ReplicaSet", "StatefulSet") else "v1",
            "kind": kind, "metadata": m}


def owner_of(p):
    """(workload kind, name, owner kind, owner name) from lab.json, else from the name."""
    if p.get("workload"):
        return (p["workload"]["kind"], p["workload"]["name"], p["owner"]["kind"], p["owner"]["name"])
    if "workload" in p or "lab" not in p:
        return None
    m = re.match(r"^(.*)-([a-z0-9]{6,10})-([a-z0-9]{5})$", p["name"])
    if m:
        return ("Deployment", m.group(1), "ReplicaSet", m.group(1) + "-" + m.group(2))
    if re.match(r"^(.*)-\d+$", p["name"]):
        s = p["name"].rsplit("-", 1)[0]
        return ("StatefulSet", s, "StatefulSet", s)
    return None


for ns in sorted({p["namespace"] for p in lab["pods"]} | {s["namespace"] for s in lab["services"]}):
    objs.append(dict(meta("Namespace", None, ns, "uid-ns-" + ns), status={"phase": "Active"}))
objs.append(dict(meta("Node", None, node, "uid-node-" + node),
                 status={"addresses": [{"type": "InternalIP", "address": lab["node"]["ip"]}],
                         "conditions": [{"type": "Ready", "status": "True"}]}))
created = {}     # pod uid -> when it was made (a recreation)
for e in lab.get("events", []):
    if e["type"] == "recreate":
        created[e["uid"]] = ts(e["ts_ns"])
workloads = {}   # (ns, kind, name) -> [pods, owner-kind, owner-name, app]
for p in lab["pods"]:
    o = owner_of(p)
    if o:
        w = workloads.setdefault((p["namespace"], o[0], o[1]), [0, o[2], o[3], p["labels"]["app"]])
        w[0] += 1
for (ns, kind, name), (n, okind, oname, app) in sorted(workloads.items()):
    sel = {"matchLabels": {"app": app}}
    st = {"replicas": n, "readyReplicas": n, "availableReplicas": n, "observedGeneration": 1}
    w = meta(kind, ns, name, "uid-%s-%s" % (kind.lower(), name), labels={"app": app})
    w["spec"] = {"replicas": n, "selector": sel, "template": {"metadata": {"labels": {"app": app}}}}
    w["status"] = st
    objs.append(w)
    if okind == "ReplicaSet":
        rs = meta("ReplicaSet", ns, oname, "uid-replicaset-" + oname, ("Deployment", name), {"app": app})
        rs["spec"] = {"replicas": n, "selector": sel}
        rs["status"] = {"replicas": n, "readyReplicas": n, "availableReplicas": n}
        objs.append(rs)
restarts = {}    # pod uid -> its last restart event
for e in lab.get("events", []):
    if e["type"] == "restart":
        restarts[e["uid"]] = e
for p in lab["pods"]:
    ns, name, uid = p["namespace"], p["name"], p["uid"].replace("_", "-")
    o = owner_of(p)
    pod = meta("Pod", ns, name, uid, (o[2], o[3]) if o else None, p["labels"], created.get(uid, T))
    pod["spec"] = {"nodeName": node, "containers": [{"name": p["container"], "image": "lab"}]}
    cs = {"name": p["container"], "ready": True, "restartCount": p.get("restarts", 0),
          "containerID": "containerd://" + p["container_id"], "image": "lab",
          "state": {"running": {"startedAt": created.get(uid, T)}}}
    r = restarts.get(uid)
    if r:
        cs["state"]["running"]["startedAt"] = ts(r["ts_ns"])
        cs["lastState"] = {"terminated": {
            "exitCode": 137 if r.get("reason") == "OOMKilled" else 1,
            "reason": r.get("reason", "Error"), "startedAt": created.get(uid, T),
            "finishedAt": ts(r["ts_ns"]), "containerID": "containerd://" + r["old_container_id"]}}
    pod["status"] = {"phase": "Running", "podIP": p["ip"], "podIPs": [{"ip": p["ip"]}],
                     "hostIP": lab["node"]["ip"], "qosClass": p["qos"].capitalize()
                     if p["qos"] != "besteffort" else "BestEffort",
                     "conditions": [{"type": "Ready", "status": "True"}],
                     "containerStatuses": [cs]}
    objs.append(pod)
bylab = {p["lab"]: p for p in lab["pods"]}


def port_name(x):
    return "%s-%d" % (x["proto"], x["port"])


for s in lab["services"]:
    svc = meta("Service", s["namespace"], s["name"], "uid-svc-" + s["name"])
    svc["spec"] = {"type": "ClusterIP", "clusterIP": s["cluster_ip"], "clusterIPs": [s["cluster_ip"]],
                   "selector": s["selector"],
                   "ports": [{"name": port_name(x), "protocol": x["proto"].upper(), "port": x["port"],
                              "targetPort": x.get("target_port", x["port"])} for x in s["ports"]]}
    objs.append(svc)
    ep = meta("Endpoints", s["namespace"], s["name"], "uid-ep-" + s["name"])
    back = [bylab[b] for b in s["backends"]]
    ports = [{"name": port_name(x), "port": x.get("target_port", x["port"]),
              "protocol": x["proto"].upper()} for x in s["ports"]]
    ref = [{"kind": "Pod", "namespace": b["namespace"], "name": b["name"],
            "uid": b["uid"].replace("_", "-")} for b in back]
    if back:
        ep["subsets"] = [{"addresses": [{"ip": b["ip"], "nodeName": node, "targetRef": r}
                                        for b, r in zip(back, ref)], "ports": ports}]
    objs.append(ep)
    sl = meta("EndpointSlice", s["namespace"], s["name"] + "-lab01", "uid-eps-" + s["name"],
              labels={"kubernetes.io/service-name": s["name"],
                      "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"})
    sl["apiVersion"] = "discovery.k8s.io/v1"
    sl["addressType"] = "IPv4"
    sl["endpoints"] = [{"addresses": [b["ip"]], "conditions": {"ready": True, "serving": True,
                                                              "terminating": False},
                        "nodeName": node, "targetRef": r} for b, r in zip(back, ref)]
    sl["ports"] = ports
    objs.append(sl)


def event(ns, kind, name, uid, reason, message, when, etype="Normal", component="kubelet"):
    h = hashlib.sha256(("%s/%s/%s/%d" % (name, uid, reason, when)).encode()).hexdigest()[:16]
    ev = meta("Event", ns, "%s.%s" % (name, h), "uid-ev-" + h, created=ts(when))
    ev.update({"involvedObject": {"kind": kind, "namespace": ns, "name": name, "uid": uid,
                                  "apiVersion": "apps/v1" if kind == "ReplicaSet" else "v1"},
               "reason": reason, "message": message, "type": etype, "count": 1,
               "firstTimestamp": ts(when), "lastTimestamp": ts(when),
               "source": {"component": component, "host": node} if component == "kubelet"
               else {"component": component},
               "reportingComponent": component, "reportingInstance": node})
    return ev


for e in lab.get("events", []):
    p = bylab.get(e["pod"])
    if not p:
        continue
    ns, c, t = p["namespace"], p["container"], e["ts_ns"]
    if e["type"] == "restart":
        name = p["name"]
        objs.append(event(ns, "Pod", name, e["uid"], "BackOff",
                          "Back-off restarting failed container %s in pod %s_%s(%s)"
                          % (c, name, ns, e["uid"]), t - 1000000, "Warning"))
        objs.append(event(ns, "Pod", name, e["uid"], "Started", "Started container %s" % c, t))
    elif e["type"] == "recreate":
        o = owner_of(p)
        objs.append(event(ns, "Pod", e["old_name"], e["old_uid"], "Killing",
                          "Stopping container %s" % c, t - 2000000))
        if o and o[2] == "ReplicaSet":
            objs.append(event(ns, "ReplicaSet", o[3], "uid-replicaset-" + o[3], "SuccessfulCreate",
                              "Created pod: %s" % e["name"], t - 1000000,
                              component="replicaset-controller"))
        objs.append(event(ns, "Pod", e["name"], e["uid"], "Scheduled",
                          "Successfully assigned %s/%s to %s" % (ns, e["name"], node), t - 1000000,
                          component="default-scheduler"))
        objs.append(event(ns, "Pod", e["name"], e["uid"], "Started", "Started container %s" % c, t))
objs.extend(lab.get("objects", []))

if old is None:
    json.dump({"objects": objs}, sys.stdout, indent=1)
    sys.exit(0)


def key(o):
    return (o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"])


was = {key(o): o for o in old["objects"]}
now = {key(o): o for o in objs}
steps = [{"op": "delete", "kind": k[0], "namespace": k[1], "name": k[2]}
         for k in was if k not in now]
steps += [{"op": "add", "object": o} for k, o in now.items() if was.get(k) != o]
json.dump(steps, sys.stdout, indent=1)
