#!/usr/bin/env bash
# report_browser.sh BUILD_DIR - index.html of the golden bundle loaded in
# headless Chromium (Debian's `chromium`, installed when missing and root;
# skipped, 77, with the reason, when it cannot be):
#   - the DOM has the topology drawn (an <svg> with nodes and edges inside
#     the diagram block) and one row per failing edge of topology.json;
#   - the hostile names of the bundle stayed text (no <script>, <img> or
#     event handler attribute came from them);
#   - no console message (errors, CSP violations) on Chromium's log;
#   - no network request from the page: the net log has no request a page
#     started (initiator other than "not an origin") for a URL but file: or
#     data:. A probe page that does fetch is checked the same way first, so
#     the check is known to see requests.
# Chromium runs in a network namespace of its own with no interface up
# (unshare -n): its own background services (component updater, network
# time) cannot reach anything either.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
B=$(cd "${1:?usage: report_browser.sh BUILD_DIR}" && pwd)
# KT_REPORT_BUNDLE: another bundle (the recorded sample); the check that the
# golden bundle's hostile names stayed text is then left out
bundle=${KT_REPORT_BUNDLE:-$here/golden/bundles/shop-mini.tar.zst}
export KT_HOSTILE_NAMES=$([ -z "${KT_REPORT_BUNDLE:-}" ] && echo 1)

if ! command -v chromium >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "report_browser: installing chromium" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 &&
			  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
				chromium >/dev/null 2>&1; }
	fi
	command -v chromium >/dev/null ||
		{ echo "SKIP: chromium is not installed and could not be (apt-get install chromium as root)"; exit 77; }
fi

T=$(mktemp -d /tmp/kt-report-browser-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

"$B/ktana" -q report --no-png -o "$T/r" "$bundle" >"$T/out" 2>&1 || { cat "$T/out"; bad "ktana report failed"; exit 1; }
netns=(unshare -n)
unshare -n true 2>/dev/null || netns=(unshare -rn)
"${netns[@]}" true 2>/dev/null ||
	{ echo "SKIP: cannot make a network namespace for chromium (unshare -n)"; exit 77; }
# load URL into DOM_FILE, net log NETLOG, log on stderr into ERR_FILE
load() {
	rm -rf "$T/profile"
	# a profile of its own, nothing from the machine's
	timeout 120 "${netns[@]}" chromium --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$T/profile" --disable-background-networking \
		--disable-component-update --disable-sync --disable-default-apps \
		--enable-logging=stderr --v=0 --log-net-log="$3" --virtual-time-budget=3000 \
		--dump-dom "$1" >"$2" 2>"$4"
}
mkdir -p "$T/probe"
echo '<html><body><img src="http://198.18.0.1/probe.png"></body></html>' >"$T/probe/p.html"
load "file://$T/probe/p.html" "$T/probe.dom" "$T/probe.netlog" "$T/probe.err"
load "file://$T/r/index.html" "$T/dom.html" "$T/netlog.json" "$T/chromium.err"
rc=$?
[ "$rc" = 0 ] || { bad "chromium exited $rc"; tail -20 "$T/chromium.err"; }

python3 - "$T/dom.html" "$T/r/topology.json" "$T/chromium.err" "$T/netlog.json" "$T/probe.netlog" <<'PY'
import json, os, re, sys
from html.parser import HTMLParser

dom_path, topo_path, err_path, netlog_path, probe_path = sys.argv[1:6]

def page_requests(path):
    """URLs of requests a page started, from a Chromium net log."""
    text = open(path, encoding="utf-8", errors="replace").read()
    try:
        log = json.loads(text)
    except ValueError:
        # a log cut short by the exit is an array left open
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    urls = []
    for ev in log.get("events", []):
        p = ev.get("params") or {}
        if names.get(ev.get("type")) == "URL_REQUEST_START_JOB" and \
           "url" in p and p.get("initiator") != "not an origin" and \
           not p.get("url", "").startswith(("file:", "data:")):
            urls.append(p.get("url"))
    return urls
dom = open(dom_path, encoding="utf-8").read()
topo = json.load(open(topo_path))
fails = []

class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.svgs, self.gnodes, self.gedges, self.gbackends = [], 0, 0, 0, 0
        self.failing_rows, self.bad_tags, self.handlers = 0, [], []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "img", "iframe", "object", "embed"):
            self.bad_tags.append(tag)
        self.handlers += [k for k in a if k.startswith("on")]
        if tag == "svg" and any(c == "diagram" for c in self.stack):
            self.svgs += 1
        if tag == "g" and a.get("class") == "node":
            self.gnodes += 1
        if tag == "g" and a.get("class") == "edge":
            # "b<i>": a service to a backend that served it, drawn besides
            if a.get("id", "").startswith("b"):
                self.gbackends += 1
            else:
                self.gedges += 1
        if tag == "tr" and a.get("class") == "failing-edge":
            self.failing_rows += 1
        self.stack.append(a.get("class", ""))
    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()

p = P()
p.feed(dom)
nfail = sum(1 for e in topo["edges"] if sum(e["failed"].values()))
if p.svgs < 1:
    fails.append("no <svg> inside the diagram block")
if p.gnodes != len(topo["nodes"]):
    fails.append("svg nodes %d, topology nodes %d" % (p.gnodes, len(topo["nodes"])))
if p.gedges != len(topo["edges"]):
    fails.append("svg edges %d, topology edges %d" % (p.gedges, len(topo["edges"])))
backends = {(e["via_service"], b["id"], b["port"]) for e in topo["edges"]
            if e.get("via_service") for b in e.get("backends", [])}
if p.gbackends != len(backends):
    fails.append("svg backend edges %d, service backends %d" % (p.gbackends, len(backends)))
if p.failing_rows != nfail or (nfail == 0 and os.environ.get("KT_HOSTILE_NAMES")):
    fails.append("failing-edge rows %d, failing edges %d" % (p.failing_rows, nfail))
if p.bad_tags:
    fails.append("elements made from bundle text: %s" % sorted(set(p.bad_tags)))
if p.handlers:
    fails.append("event handler attributes: %s" % sorted(set(p.handlers)))
if os.environ.get("KT_HOSTILE_NAMES") and 'shipping"&gt;&lt;script&gt;' not in dom:
    fails.append("the hostile pod name is not shown as text")
for line in open(err_path, encoding="utf-8", errors="replace"):
    if re.search(r"CONSOLE|Uncaught|Content Security Policy|Refused to", line):
        fails.append("console: " + line.strip()[:200])
if not page_requests(probe_path):
    fails.append("the probe page's request is not in its net log: the check is blind")
net = page_requests(netlog_path)
if net:
    fails.append("network requests from the page: %s" % net[:5])
for f in fails:
    print("FAIL: " + f)
print("checked: %d nodes, %d edges, %d failing rows, %d page requests"
      % (p.gnodes, p.gedges, p.failing_rows, len(net)))
sys.exit(1 if fails else 0)
PY
[ $? = 0 ] && ok || bad "the page as Chromium rendered it"
echo "report_browser: $pass passed, $fail failed"
[ "$fail" = 0 ]
