#!/usr/bin/env python3
"""A small Kubernetes API server for the lab (Python 3 standard library only).

Serves, on 127.0.0.1 over plain HTTP, what kubectl needs to list and watch:
discovery (/api, /apis, /version, /api/v1, /apis/<group>/<version>), list and
watch of every resource it knows, with resourceVersions, in the JSON shape of
the real API (List items carry no kind/apiVersion, as the real server sends
them; watch events are {"type", "object"} lines on a chunked response).

Objects come from a scenario file (JSON):

  {"objects": [ {...full objects...} ],
   "script":  [ {"op": "delete", "kind": "Pod", "namespace": "lab", "name": "web-1"},
                {"op": "add", "object": {...}},
                {"op": "patch", "kind": "Deployment", "namespace": "lab",
                 "name": "web", "merge": {"spec": {"replicas": 3}}},
                {"op": "sleep", "seconds": 2} ],
   "deny":    ["configmaps"],          # 403 Forbidden, as RBAC answers
   "hang":    ["ingresses"],           # accept, never answer
   "smuggle": {"configmaps": [ {...object of another kind...} ]}}

The script runs step by step: on its own ("--run-script", steps after their
"sleep"s) or one step per POST /lab/step from a test. A POST /lab/step whose
body is a JSON list of steps runs those instead, in order and at once (for
changes a test only knows once they happened, such as a recreated pod). GET /lab/status tells a
test how many requests each resource got and how many watches are open.

Usage: kube-apiserver.py SCENARIO --port-file FILE [--port N] [--run-script]
The port file is written once the server listens. SIGTERM stops it.
"""

import argparse
import copy
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# (group, version, plural, kind, namespaced, short names)
RESOURCES = [
    ("", "v1", "namespaces", "Namespace", False, ["ns"]),
    ("", "v1", "nodes", "Node", False, ["no"]),
    ("", "v1", "pods", "Pod", True, ["po"]),
    ("", "v1", "services", "Service", True, ["svc"]),
    ("", "v1", "endpoints", "Endpoints", True, ["ep"]),
    ("", "v1", "events", "Event", True, ["ev"]),
    ("", "v1", "configmaps", "ConfigMap", True, ["cm"]),
    ("", "v1", "secrets", "Secret", True, []),
    ("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ["pvc"]),
    ("", "v1", "persistentvolumes", "PersistentVolume", False, ["pv"]),
    ("apps", "v1", "deployments", "Deployment", True, ["deploy"]),
    ("apps", "v1", "replicasets", "ReplicaSet", True, ["rs"]),
    ("apps", "v1", "statefulsets", "StatefulSet", True, ["sts"]),
    ("apps", "v1", "daemonsets", "DaemonSet", True, ["ds"]),
    ("batch", "v1", "jobs", "Job", True, []),
    ("batch", "v1", "cronjobs", "CronJob", True, ["cj"]),
    ("autoscaling", "v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, ["hpa"]),
    ("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, ["netpol"]),
    ("networking.k8s.io", "v1", "ingresses", "Ingress", True, ["ing"]),
    ("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True, []),
    ("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, ["sc"]),
]
BY_KIND = {r[3]: r for r in RESOURCES}
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def gv(r):
    return r[1] if not r[0] else "%s/%s" % (r[0], r[1])


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def merge(dst, src):
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            merge(dst[k], v)
        elif v is None:
            dst.pop(k, None)
        else:
            dst[k] = v


class Store:
    def __init__(self, scenario):
        self.cond = threading.Condition()
        self.rv = 100
        self.objects = {}          # (plural, ns, name) -> object
        self.history = []          # (rv, plural, type, object)
        self.requests = {}         # plural -> count
        self.watches = {}          # plural -> open watches
        self.script = list(scenario.get("script", []))
        self.steps_done = 0
        self.deny = set(scenario.get("deny", []))
        self.hang = set(scenario.get("hang", []))
        self.smuggle = scenario.get("smuggle", {})
        self.stopping = False
        for obj in scenario.get("objects", []):
            self._put(obj, None)

    def _key(self, obj):
        r = BY_KIND[obj["kind"]]
        md = obj["metadata"]
        return (r[2], md.get("namespace") if r[4] else None, md["name"])

    def _put(self, obj, etype):
        r = BY_KIND[obj["kind"]]
        obj = copy.deepcopy(obj)
        obj["apiVersion"] = gv(r)
        md = obj.setdefault("metadata", {})
        if r[4]:
            md.setdefault("namespace", "default")
        md.setdefault("uid", "lab-%s-%s-%d" % (r[2], md["name"], self.rv))
        md.setdefault("creationTimestamp", now_rfc3339())
        self.rv += 1
        md["resourceVersion"] = str(self.rv)
        self.objects[self._key(obj)] = obj
        if etype:
            self.history.append((self.rv, r[2], etype, copy.deepcopy(obj)))

    def step(self, given=None):
        """Run the next script step, or the given one; returns its op or None."""
        with self.cond:
            if given is not None:
                st = given
            elif self.steps_done >= len(self.script):
                return None
            else:
                st = self.script[self.steps_done]
                self.steps_done += 1
            op = st["op"]
            if op == "add":
                key = self._key(st["object"])
                self._put(st["object"], "MODIFIED" if key in self.objects else "ADDED")
            elif op in ("delete", "patch"):
                r = BY_KIND[st["kind"]]
                key = (r[2], st.get("namespace") if r[4] else None, st["name"])
                obj = self.objects.get(key)
                if obj is not None and op == "delete":
                    del self.objects[key]
                    self.rv += 1
                    obj = copy.deepcopy(obj)
                    obj["metadata"]["resourceVersion"] = str(self.rv)
                    obj["metadata"]["deletionTimestamp"] = now_rfc3339()
                    self.history.append((self.rv, r[2], "DELETED", obj))
                elif obj is not None:
                    obj = copy.deepcopy(obj)
                    merge(obj, st["merge"])
                    self._put(obj, "MODIFIED")
            self.cond.notify_all()
            return op

    def list(self, plural, ns, fsel):
        with self.cond:
            items = [copy.deepcopy(o) for (p, n, _), o in sorted(self.objects.items(),
                     key=lambda kv: (kv[0][0], kv[0][1] or "", kv[0][2]))
                     if p == plural and (ns is None or n == ns) and match(o, fsel)]
            return self.rv, items


def match(obj, fsel):
    for term in [t for t in (fsel or "").split(",") if t]:
        k, _, v = term.partition("=")
        cur = obj
        for part in k.split("."):
            cur = cur.get(part, {}) if isinstance(cur, dict) else {}
        if cur != v.lstrip("="):
            return False
    return True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    store = None

    def log_message(self, fmt, *args):
        if os.environ.get("KT_LAB_VERBOSE"):
            sys.stderr.write("apiserver: " + fmt % args + "\n")

    def send_json(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def status(self, code, reason, message, kind=None):
        self.send_json(code, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                              "status": "Failure", "message": message, "reason": reason,
                              "details": {"kind": kind} if kind else {}, "code": code})

    def do_POST(self):
        if self.path == "/lab/step":
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                try:
                    steps = json.loads(self.rfile.read(n))
                    ops = [self.store.step(st) for st in steps]
                except (ValueError, KeyError, TypeError, AttributeError) as e:
                    return self.status(400, "BadRequest", "bad steps: %s" % e)
                return self.send_json(200, {"steps": ops})
            self.send_json(200, {"step": self.store.step()})
        else:
            self.status(404, "NotFound", "the server could not find the requested resource")

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query)
        parts = [p for p in url.path.split("/") if p]
        st = self.store
        if url.path == "/lab/status":
            with st.cond:
                return self.send_json(200, {"requests": st.requests, "watches": st.watches,
                                            "steps_done": st.steps_done, "rv": st.rv})
        if url.path == "/version":
            return self.send_json(200, {"major": "1", "minor": "20", "gitVersion": "v1.20.2-lab",
                                        "gitCommit": "lab", "gitTreeState": "clean",
                                        "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.19",
                                        "compiler": "gc", "platform": "linux/amd64"})
        if url.path == "/api":
            return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                        "serverAddressByClientCIDRs": [
                                            {"clientCIDR": "0.0.0.0/0",
                                             "serverAddress": "127.0.0.1:%d" % self.server.server_port}]})
        if url.path == "/apis":
            groups = {}
            for r in RESOURCES:
                if r[0]:
                    groups.setdefault(r[0], r[1])
            return self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": "%s/%s" % (g, v), "version": v}],
                 "preferredVersion": {"groupVersion": "%s/%s" % (g, v), "version": v}}
                for g, v in sorted(groups.items())]})
        if parts[:1] == ["api"] and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return self.status(404, "NotFound", "the server could not find the requested resource")
        known = [r for r in RESOURCES if r[0] == group and r[1] == version]
        if not known:
            return self.status(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            return self.send_json(200, {"kind": "APIResourceList", "apiVersion": "v1",
                                        "groupVersion": gv(known[0]), "resources": [
                {"name": r[2], "singularName": r[3].lower(), "namespaced": r[4], "kind": r[3],
                 "verbs": VERBS, "shortNames": r[5]} if r[5] else
                {"name": r[2], "singularName": r[3].lower(), "namespaced": r[4], "kind": r[3],
                 "verbs": VERBS} for r in known]})
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        res = [r for r in known if r[2] == rest[0]]
        if not res or len(rest) > 2:
            return self.status(404, "NotFound", "the server could not find the requested resource")
        r = res[0]
        with st.cond:
            st.requests[r[2]] = st.requests.get(r[2], 0) + 1
        if r[2] in st.deny:
            scope = "in the namespace \"%s\"" % ns if ns else "at the cluster scope"
            return self.status(403, "Forbidden",
                               "%s is forbidden: User \"lab\" cannot list resource \"%s\" in API "
                               "group \"%s\" %s" % (r[2], r[2], r[0], scope), r[2])
        if r[2] in st.hang:
            while not st.stopping:
                time.sleep(0.2)
            return
        if len(rest) == 2:
            with st.cond:
                obj = st.objects.get((r[2], ns if r[4] else None, rest[1]))
            if obj is None:
                return self.status(404, "NotFound", "%s \"%s\" not found" % (r[2], rest[1]), r[2])
            return self.send_json(200, obj)
        fsel = q.get("fieldSelector", [""])[0]
        if q.get("watch", ["0"])[0] in ("1", "true"):
            return self.watch(r, ns, fsel, q)
        rv, items = st.list(r[2], ns, fsel)
        for it in items:
            # The real API leaves kind and apiVersion out of List items.
            it.pop("kind", None)
            it.pop("apiVersion", None)
        for extra in st.smuggle.get(r[2], []):
            items.append(copy.deepcopy(extra))
        self.send_json(200, {"kind": r[3] + "List", "apiVersion": gv(r),
                             "metadata": {"resourceVersion": str(rv)}, "items": items})

    def watch(self, r, ns, fsel, q):
        st = self.store
        since = int(q.get("resourceVersion", ["0"])[0] or 0)
        timeout = int(q.get("timeoutSeconds", ["0"])[0] or 0)
        end = time.monotonic() + timeout if timeout else None
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def send(etype, obj):
            data = json.dumps({"type": etype, "object": obj}).encode() + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        with st.cond:
            st.watches[r[2]] = st.watches.get(r[2], 0) + 1
        try:
            if since == 0:
                _, items = st.list(r[2], ns, fsel)
                for it in items:
                    send("ADDED", it)
                since = st.rv
            while not st.stopping and (end is None or time.monotonic() < end):
                with st.cond:
                    new = [(rv, t, o) for (rv, p, t, o) in st.history
                           if rv > since and p == r[2] and (ns is None or o["metadata"].get(
                               "namespace") == ns) and match(o, fsel)]
                    if not new:
                        st.cond.wait(0.2)
                        continue
                for rv, t, o in new:
                    send(t, o)
                    since = rv
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with st.cond:
                st.watches[r[2]] -= 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--run-script", action="store_true")
    a = ap.parse_args()
    with open(a.scenario) as f:
        store = Store(json.load(f))
    Handler.store = store
    # kubectl opens a connection per request, many at once: with
    # socketserver's listen backlog of 5 the SYNs beyond it are dropped, and
    # kubectl gives up on dials that then wait for a retransmit (aborted
    # connects in every recording). A real API server's backlog is large.
    ThreadingHTTPServer.request_queue_size = 128
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True

    def stop(*_):
        store.stopping = True
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if a.run_script:
        def runner():
            while not store.stopping:
                with store.cond:
                    nxt = store.script[store.steps_done] if store.steps_done < len(store.script) else None
                if nxt is None:
                    return
                if nxt["op"] == "sleep":
                    time.sleep(nxt["seconds"])
                store.step()
        threading.Thread(target=runner, daemon=True).start()
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_port)
    os.rename(tmp, a.port_file)
    srv.serve_forever(poll_interval=0.2)
    srv.server_close()


if __name__ == "__main__":
    main()
