#!/usr/bin/env python3
"""lab_k8s_scenario.py LAB_JSON NODE_NAME - the lab's Kubernetes objects as a
scenario for kube-apiserver.py: namespaces, the node, every pod with its UID,
IP, container ID and owners (ReplicaSet -> Deployment for "<name>-<hash>-<id>"
pods, StatefulSet for "<name>-0"), and the services with their ClusterIPs and
endpoints, so that a recording of the lab carries the objects a real node's
API server would list. Prints the scenario JSON."""
import json
import re
import sys

lab = json.load(open(sys.argv[1]))
node = sys.argv[2]
T = "2026-01-01T00:00:00Z"
objs = []


def meta(kind, ns, name, uid, owner=None, labels=None):
    m = {"name": name, "uid": uid, "creationTimestamp": T, "resourceVersion": "1"}
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


for ns in sorted({p["namespace"] for p in lab["pods"]} | {s["namespace"] for s in lab["services"]}):
    objs.append(dict(meta("Namespace", None, ns, "uid-ns-" + ns), status={"phase": "Active"}))
objs.append(dict(meta("Node", None, node, "uid-node-" + node),
                 status={"addresses": [{"type": "InternalIP", "address": lab["node"]["ip"]}],
                         "conditions": [{"type": "Ready", "status": "True"}]}))
made = set()
for p in lab["pods"]:
    ns, name, app = p["namespace"], p["name"], p["lab"]
    owner = None
    m = re.match(r"^(.*)-([a-z0-9]{6,10})-([a-z0-9]{5})$", name)
    if m:
        dep, rs = m.group(1), m.group(1) + "-" + m.group(2)
        owner = ("ReplicaSet", rs)
        app = dep
        if (ns, rs) not in made:
            made.add((ns, rs))
            objs.append(meta("Deployment", ns, dep, "uid-deployment-" + dep))
            objs.append(meta("ReplicaSet", ns, rs, "uid-replicaset-" + rs, ("Deployment", dep)))
    elif re.match(r"^(.*)-\d+$", name):
        sts = name.rsplit("-", 1)[0]
        owner = ("StatefulSet", sts)
        app = sts
        if (ns, sts) not in made:
            made.add((ns, sts))
            objs.append(meta("StatefulSet", ns, sts, "uid-statefulset-" + sts))
    pod = meta("Pod", ns, name, p["uid"].replace("_", "-"), owner, {"app": app})
    pod["spec"] = {"nodeName": node, "containers": [{"name": p["container"], "image": "lab"}]}
    pod["status"] = {"phase": "Running", "podIP": p["ip"], "podIPs": [{"ip": p["ip"]}],
                     "hostIP": lab["node"]["ip"],
                     "containerStatuses": [{"name": p["container"], "ready": True,
                                            "containerID": "containerd://" + p["container_id"]}]}
    objs.append(pod)
bylab = {p["lab"]: p for p in lab["pods"]}
for s in lab["services"]:
    svc = meta("Service", s["namespace"], s["name"], "uid-svc-" + s["name"])
    svc["spec"] = {"type": "ClusterIP", "clusterIP": s["cluster_ip"], "clusterIPs": [s["cluster_ip"]],
                   "ports": [{"name": "%s-%d" % (x["proto"], x["port"]), "protocol": x["proto"].upper(),
                              "port": x["port"], "targetPort": x["port"]} for x in s["ports"]]}
    objs.append(svc)
    ep = meta("Endpoints", s["namespace"], s["name"], "uid-ep-" + s["name"])
    if s["backends"]:
        ep["subsets"] = [{"addresses": [{"ip": bylab[b]["ip"], "nodeName": node,
                                         "targetRef": {"kind": "Pod", "namespace": bylab[b]["namespace"],
                                                       "name": bylab[b]["name"]}}
                                        for b in s["backends"]],
                          "ports": [{"name": "%s-%d" % (x["proto"], x["port"]), "port": x["port"],
                                     "protocol": x["proto"].upper()} for x in s["ports"]]}]
    objs.append(ep)
json.dump({"objects": objs}, sys.stdout, indent=1)
