/* cmd_k8s.c - ktana k8s: what a bundle says existed at a moment, printed
 * the way kubectl would. The objects come from the bundle's k8s/ tree
 * (formats/SPEC-k8s.md) through the object index (analyze/k8s/k8s.h). */
#include "bundle.h"
#include "cli.h"
#include "commands.h"
#include "error.h"
#include "k8s.h"
#include "manifest.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"Usage: ktana k8s [--at TIME] BUNDLE get KIND [NAME] [-n NS | -A] [-o json|wide]\n"
	"\n"
	"Prints the Kubernetes objects the bundle says existed at TIME, from its\n"
	"snapshots and the watch events between them (or from imported dumps).\n"
	"Objects are the fields ktana indexes (names, owners, IPs, ports,\n"
	"containers, replicas, status), not whole objects: 'ktana dump --file'\n"
	"copies a stored dump out as it is.\n"
	"\n"
	"KIND is what kubectl takes: pods, po, svc, deploy, rs, sts, ds, jobs,\n"
	"cronjobs, hpa, netpol, ep, endpointslices, events, nodes, ns, pvc, pv,\n"
	"sc, ingresses, configmaps.\n"
	"\n"
	"OPTIONS\n"
	"      --at TIME      RFC 3339 UTC (2026-11-25T08:20:00Z), 'start', 'end'\n"
	"                     (the default: the last state seen), +DURATION after\n"
	"                     the capture start or -DURATION before its end\n"
	"  -n, --namespace NS only this namespace\n"
	"  -A, --all-namespaces  every namespace (the default)\n"
	"  -o, --output FMT   json (kubectl-style List of the indexed fields) or\n"
	"                     wide (more columns: IP, node, owner, seen from/until)\n"
	"\n"
	"EXAMPLES\n"
	"  ktana k8s case.tar.zst get pods -n shop -o wide\n"
	"  ktana k8s --at +90s case.tar.zst get endpointslices\n"
	"  ktana k8s --at 2026-11-25T08:20:00Z case.tar.zst get pod web-1 -o json\n";

#define ROWS_MAX 1000000u
#define COLS 12

struct table {
	char *(*rows)[COLS];
	size_t n, cap;
	int ncols;
	bool wide;
	uint64_t at;
	uint64_t age_at;	/* the time ages are counted to */
	const char *name;	/* only this object */
	struct kt_k8s_index *idx;
	json_t *items;		/* -o json */
};

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static const char *or_none(const char *s)
{
	return s && *s ? s : "<none>";
}

static char *age(uint64_t created, uint64_t at)
{
	uint64_t s;

	if (!created || created > at)
		return fmt("<unknown>");
	s = (at - created) / 1000000000ull;
	if (s < 120)
		return fmt("%" PRIu64 "s", s);
	if (s < 7200)
		return fmt("%" PRIu64 "m", s / 60);
	if (s < 172800)
		return fmt("%" PRIu64 "h", s / 3600);
	return fmt("%" PRIu64 "d", s / 86400);
}

static char *when(uint64_t ns)
{
	char buf[40];

	if (ns == UINT64_MAX)
		return fmt("-");
	return fmt("%s", kt_time_str(ns, buf, sizeof(buf)));
}

static int add_row(struct table *t, char *cols[COLS])
{
	if (t->n == ROWS_MAX)
		return kt_err_set(-E2BIG, "more than %u objects", ROWS_MAX);
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		char *(*r)[COLS] = realloc(t->rows, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		t->rows = r;
		t->cap = cap;
	}
	memcpy(t->rows[t->n++], cols, sizeof(char *) * COLS);
	return 0;
}

static char *ports_str(const struct kt_k8s_port *p, uint32_t n)
{
	char buf[1024] = "";
	size_t len = 0;

	for (uint32_t i = 0; i < n && len < sizeof(buf) - 64; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%d%s%.0d/%s",
					i ? "," : "", p[i].port, p[i].node_port ? ":" : "",
					p[i].node_port, p[i].protocol);
	return fmt("%s", n ? buf : "<none>");
}

static char *endpoints_str(const struct kt_k8s_endpoints *e)
{
	char buf[1024] = "";
	size_t len = 0;

	for (uint32_t i = 0; i < e->naddrs && len < sizeof(buf) - 80; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s:%d",
					i ? "," : "", e->addrs[i].ip,
					e->nports ? e->ports[0].port : 0);
	return fmt("%s", e->naddrs ? buf : "<none>");
}

static json_t *labels_json(const struct kt_k8s_label *l, uint32_t n)
{
	json_t *o = json_object();

	for (uint32_t i = 0; i < n; i++)
		json_object_set_new(o, l[i].key, l[i].value ? json_string(l[i].value) :
				    json_string("[not kept: long]"));
	return o;
}

static json_t *obj_json(const struct kt_k8s_object *o)
{
	json_t *md = json_object(), *j = json_object(), *owners = json_array();
	char buf[40];

	json_object_set_new(md, "name", json_string(o->name));
	if (o->ns)
		json_object_set_new(md, "namespace", json_string(o->ns));
	if (o->uid)
		json_object_set_new(md, "uid", json_string(o->uid));
	if (o->resource_version)
		json_object_set_new(md, "resourceVersion", json_string(o->resource_version));
	if (o->created_ns)
		json_object_set_new(md, "creationTimestamp",
				    json_string(kt_time_str(o->created_ns, buf, sizeof(buf))));
	json_object_set_new(md, "labels", labels_json(o->labels, o->nlabels));
	json_object_set_new(md, "annotations", labels_json(o->annotations, o->nannotations));
	for (uint32_t i = 0; i < o->nowners; i++)
		json_array_append_new(owners, json_pack("{s:s,s:s,s:s?,s:b}", "kind",
				      o->owners[i].kind, "name", o->owners[i].name, "uid",
				      o->owners[i].uid, "controller", o->owners[i].controller));
	json_object_set_new(md, "ownerReferences", owners);
	json_object_set_new(j, "kind", json_string(o->kind_name));
	if (o->api_version)
		json_object_set_new(j, "apiVersion", json_string(o->api_version));
	json_object_set_new(j, "metadata", md);
	json_object_set_new(j, "ktana", json_pack("{s:s,s:s?,s:b}", "from",
			    kt_time_str(o->from_ns, buf, sizeof(buf)), "until",
			    o->until_ns == UINT64_MAX ? NULL :
			    kt_time_str(o->until_ns, (char[40]){ 0 }, 40),
			    "deleted", o->deleted));
	if (o->kind == KT_K8S_POD) {
		const struct kt_k8s_pod *p = &o->u.pod;
		json_t *ips = json_array(), *cs = json_array();

		for (uint32_t i = 0; i < p->nips; i++)
			json_array_append_new(ips, json_pack("{s:s}", "ip", p->ips[i]));
		for (uint32_t i = 0; i < p->ncontainers; i++) {
			const struct kt_k8s_container *c = &p->containers[i];

			json_array_append_new(cs, json_pack("{s:s?,s:s?,s:s?,s:i,s:b,s:b,s:s?,s:s?}",
				"name", c->name, "image", c->image, "containerID", c->container_id,
				"restartCount", c->restarts, "ready", c->ready, "init", c->init,
				"state", c->state, "reason", c->reason));
		}
		json_object_set_new(j, "spec", json_pack("{s:s?,s:b}", "nodeName", p->node,
				    "hostNetwork", p->host_network));
		json_object_set_new(j, "status", json_pack("{s:s?,s:s?,s:s?,s:o,s:s?,s:o}",
				    "phase", p->phase, "hostIP", p->host_ip, "podIP",
				    p->nips ? p->ips[0] : NULL, "podIPs", ips, "qosClass",
				    p->qos_class, "containerStatuses", cs));
	} else if (o->kind == KT_K8S_SERVICE) {
		const struct kt_k8s_service *s = &o->u.svc;
		json_t *ports = json_array(), *ips = json_array();

		for (uint32_t i = 0; i < s->ncluster_ips; i++)
			json_array_append_new(ips, json_string(s->cluster_ips[i]));
		for (uint32_t i = 0; i < s->nports; i++)
			json_array_append_new(ports, json_pack("{s:s?,s:i,s:s,s:i}", "name",
					      s->ports[i].name, "port", s->ports[i].port,
					      "protocol", s->ports[i].protocol, "targetPort",
					      s->ports[i].target_port));
		json_object_set_new(j, "spec", json_pack("{s:s?,s:o,s:o,s:o}", "type", s->type,
				    "clusterIPs", ips, "ports", ports, "selector",
				    labels_json(s->selector, s->nselector)));
	} else if (o->kind >= KT_K8S_DEPLOYMENT && o->kind <= KT_K8S_REPLICATIONCONTROLLER) {
		const struct kt_k8s_workload *w = &o->u.wl;

		json_object_set_new(j, "spec", json_pack("{s:i}", "replicas", w->spec_replicas));
		json_object_set_new(j, "status", json_pack("{s:i,s:i,s:i}", "replicas",
				    w->replicas, "readyReplicas", w->ready, "availableReplicas",
				    w->available));
	}
	return j;
}

static int row_cb(void *arg, const struct kt_k8s_object *o)
{
	struct table *t = arg;
	char *c[COLS] = { 0 };
	int n = 0;
	const struct kt_k8s_object *wl;

	if (t->name && strcmp(o->name, t->name) != 0)
		return 0;
	if (t->items)
		return json_array_append_new(t->items, obj_json(o)) ? -ENOMEM : 0;
	if (!kt_k8s_kind_cluster_scoped(o->kind))
		c[n++] = fmt("%s", or_none(o->ns));
	c[n++] = fmt("%s", o->name);
	switch (o->kind) {
	case KT_K8S_POD: {
		const struct kt_k8s_pod *p = &o->u.pod;
		int ready = 0, total = 0, restarts = 0;
		const char *status = p->phase;

		for (uint32_t i = 0; i < p->ncontainers; i++) {
			if (p->containers[i].init)
				continue;
			total++;
			ready += p->containers[i].ready;
			restarts += p->containers[i].restarts;
			/* kubectl shows a waiting reason over the phase. */
			if (p->containers[i].reason)
				status = p->containers[i].reason;
		}
		c[n++] = fmt("%d/%d", ready, total);
		c[n++] = fmt("%s", or_none(o->deleted && o->until_ns <= t->at ? "Deleted" : status));
		c[n++] = fmt("%d", restarts);
		c[n++] = age(o->created_ns, t->age_at);
		if (t->wide) {
			wl = kt_k8s_workload(t->idx, o, o->from_ns, NULL);
			c[n++] = fmt("%s", p->nips ? p->ips[0] : "<none>");
			c[n++] = fmt("%s", or_none(p->node));
			c[n++] = fmt("%s/%s", wl->kind_name, wl->name);
		}
		break;
	}
	case KT_K8S_SERVICE: {
		const struct kt_k8s_service *s = &o->u.svc;

		c[n++] = fmt("%s", or_none(s->type));
		c[n++] = fmt("%s", s->headless ? "None" : s->ncluster_ips ? s->cluster_ips[0] :
			     "<none>");
		c[n++] = fmt("%s", s->nexternal_ips ? s->external_ips[0] : "<none>");
		c[n++] = ports_str(s->ports, s->nports);
		c[n++] = age(o->created_ns, t->age_at);
		break;
	}
	case KT_K8S_ENDPOINTS:
	case KT_K8S_ENDPOINTSLICE:
		c[n++] = endpoints_str(&o->u.ep);
		c[n++] = age(o->created_ns, t->age_at);
		break;
	case KT_K8S_DEPLOYMENT:
	case KT_K8S_REPLICASET:
	case KT_K8S_STATEFULSET:
	case KT_K8S_REPLICATIONCONTROLLER:
		c[n++] = fmt("%d/%d", o->u.wl.ready, o->u.wl.spec_replicas);
		c[n++] = age(o->created_ns, t->age_at);
		break;
	case KT_K8S_DAEMONSET:
		c[n++] = fmt("%d", o->u.wl.spec_replicas);
		c[n++] = fmt("%d", o->u.wl.ready);
		c[n++] = age(o->created_ns, t->age_at);
		break;
	case KT_K8S_NODE:
		c[n++] = fmt("%s", o->u.node.ready ? "Ready" : "NotReady");
		c[n++] = age(o->created_ns, t->age_at);
		c[n++] = fmt("%s", or_none(o->u.node.kubelet_version));
		if (t->wide)
			c[n++] = fmt("%s", or_none(o->u.node.internal_ip));
		break;
	case KT_K8S_HPA: {
		const struct kt_k8s_hpa *h = &o->u.hpa;

		c[n++] = fmt("%s/%s", or_none(h->target.kind), or_none(h->target.name));
		c[n++] = h->target_cpu >= 0 ? fmt("%d%%/%d%%", h->current_cpu, h->target_cpu) :
			fmt("<unknown>");
		c[n++] = fmt("%d", h->min_replicas);
		c[n++] = fmt("%d", h->max_replicas);
		c[n++] = fmt("%d", h->current_replicas);
		c[n++] = age(o->created_ns, t->age_at);
		break;
	}
	case KT_K8S_EVENT: {
		const struct kt_k8s_event *e = &o->u.ev;

		c[n++] = fmt("%s", or_none(e->type));
		c[n++] = fmt("%s", or_none(e->reason));
		c[n++] = fmt("%s/%s", or_none(e->involved.kind), or_none(e->involved.name));
		c[n++] = fmt("%s", or_none(e->message));
		break;
	}
	default:
		c[n++] = age(o->created_ns, t->age_at);
		break;
	}
	if (t->wide) {
		c[n++] = when(o->from_ns);
		c[n++] = when(o->until_ns);
	}
	t->ncols = n;
	return add_row(t, c);
}

static const char *const *header(enum kt_k8s_kind k, bool wide)
{
	static const char *pod[] = { "NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS",
				     "AGE", NULL };
	static const char *podw[] = { "NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS",
				      "AGE", "IP", "NODE", "WORKLOAD", "SEEN-FROM",
				      "SEEN-UNTIL", NULL };
	static const char *svc[] = { "NAMESPACE", "NAME", "TYPE", "CLUSTER-IP",
				     "EXTERNAL-IP", "PORT(S)", "AGE", NULL };
	static const char *ep[] = { "NAMESPACE", "NAME", "ENDPOINTS", "AGE", NULL };
	static const char *wl[] = { "NAMESPACE", "NAME", "READY", "AGE", NULL };
	static const char *ds[] = { "NAMESPACE", "NAME", "DESIRED", "READY", "AGE", NULL };
	static const char *node[] = { "NAME", "STATUS", "AGE", "VERSION", NULL };
	static const char *nodew[] = { "NAME", "STATUS", "AGE", "VERSION", "INTERNAL-IP",
				       NULL };
	static const char *hpa[] = { "NAMESPACE", "NAME", "REFERENCE", "TARGETS",
				     "MINPODS", "MAXPODS", "REPLICAS", "AGE", NULL };
	static const char *ev[] = { "NAMESPACE", "NAME", "TYPE", "REASON", "OBJECT",
				    "MESSAGE", NULL };
	static const char *ns_only[] = { "NAME", "AGE", NULL };
	static const char *other[] = { "NAMESPACE", "NAME", "AGE", NULL };

	switch (k) {
	case KT_K8S_POD: return wide ? podw : pod;
	case KT_K8S_SERVICE: return svc;
	case KT_K8S_ENDPOINTS:
	case KT_K8S_ENDPOINTSLICE: return ep;
	case KT_K8S_DEPLOYMENT:
	case KT_K8S_REPLICASET:
	case KT_K8S_STATEFULSET:
	case KT_K8S_REPLICATIONCONTROLLER: return wl;
	case KT_K8S_DAEMONSET: return ds;
	case KT_K8S_NODE: return wide ? nodew : node;
	case KT_K8S_HPA: return hpa;
	case KT_K8S_EVENT: return ev;
	default: return kt_k8s_kind_cluster_scoped(k) ? ns_only : other;
	}
}

static void print_table(struct table *t, enum kt_k8s_kind k)
{
	const char *const *h = header(k, t->wide);
	const char *hdr[COLS] = { 0 };
	size_t w[COLS] = { 0 };
	int nh = 0;

	for (; h[nh]; nh++)
		hdr[nh] = h[nh];
	/* seen-from/until close every wide table */
	if (t->wide && k != KT_K8S_POD) {
		hdr[nh++] = "SEEN-FROM";
		hdr[nh++] = "SEEN-UNTIL";
	}
	for (int i = 0; i < nh; i++)
		w[i] = strlen(hdr[i]);
	for (size_t r = 0; r < t->n; r++)
		for (int i = 0; i < nh; i++)
			if (t->rows[r][i] && strlen(t->rows[r][i]) > w[i])
				w[i] = strlen(t->rows[r][i]);
	for (int i = 0; i < nh; i++)
		printf("%-*s%s", i + 1 < nh ? (int)w[i] : 0, hdr[i], i + 1 < nh ? "   " : "\n");
	for (size_t r = 0; r < t->n; r++)
		for (int i = 0; i < nh; i++)
			printf("%-*s%s", i + 1 < nh ? (int)w[i] : 0,
			       t->rows[r][i] ? t->rows[r][i] : "", i + 1 < nh ? "   " : "\n");
}

static int load(struct kt_k8s_index *idx, struct kt_bundle *b)
{
	const struct kt_entry *e;
	int r, err = 0;

	while ((r = kt_bundle_next(b, &e)) == 1) {
		char *buf = NULL;
		size_t len = 0;

		if (strncmp(e->path, "k8s/", 4) != 0 ||
		    (e->kind != KT_ENTRY_JSON && e->kind != KT_ENTRY_JSONL))
			continue;
		if ((err = kt_bundle_read_all(b, KT_JSON_ENTRY_MAX, &buf, &len)))
			return err;
		err = kt_k8s_index_feed_entry(idx, e->path, buf, len);
		free(buf);
		if (err)
			return err;
	}
	return r < 0 ? r : kt_k8s_index_finish(idx);
}

/* "end" is the newest version of every object, even one read after the
 * capture window closed. */
static int parse_at(const char *s, const json_t *m, uint64_t *at)
{
	if (!strcmp(s, "end")) {
		*at = KT_K8S_LATEST;
		return 0;
	}
	return kt_manifest_time_arg(m, s, at);
}

static int run(int argc, char **argv)
{
	enum { O_AT = 0x100 };
	static const struct option opts[] = {
		{ "at", required_argument, NULL, O_AT },
		{ "namespace", required_argument, NULL, 'n' },
		{ "all-namespaces", no_argument, NULL, 'A' },
		{ "output", required_argument, NULL, 'o' },
		KT_CLI_COMMON_LONG, { 0 }
	};
	struct table t = { .at = KT_K8S_LATEST };
	struct kt_k8s_index *idx = NULL;
	struct kt_bundle *b = NULL;
	const char *at = NULL, *ns = NULL, *out = NULL, *path;
	enum kt_k8s_kind kind;
	int c, err = 0, rc = KT_EXIT_OK;

	while ((c = getopt_long(argc, argv, "n:Ao:h", opts, NULL)) != -1) {
		switch (c) {
		case O_AT: at = optarg; break;
		case 'n': ns = optarg; break;
		case 'A': ns = NULL; break;
		case 'o': out = optarg; break;
		default: {
			int r = kt_cli_common(&kt_cmd_k8s, c);

			if (r >= 0)
				return r;
		}
		}
	}
	if (argc - optind < 3 || argc - optind > 4 || strcmp(argv[optind + 1], "get"))
		return kt_cli_usage(&kt_cmd_k8s, "expected BUNDLE get KIND [NAME]");
	if (out && strcmp(out, "json") && strcmp(out, "wide"))
		return kt_cli_usage(&kt_cmd_k8s, "bad --output '%s': json or wide", out);
	path = argv[optind];
	kind = kt_k8s_kind_parse(argv[optind + 2]);
	if (kind == KT_K8S_SECRET)
		return kt_cli_usage(&kt_cmd_k8s, "secrets are never recorded");
	if (kind == KT_K8S_OTHER)
		return kt_cli_usage(&kt_cmd_k8s, "unknown kind '%s'", argv[optind + 2]);
	t.name = argc - optind == 4 ? argv[optind + 3] : NULL;
	t.wide = out && !strcmp(out, "wide");
	if ((err = kt_bundle_open(&b, path)))
		return kt_cli_fail_err(KT_EXIT_USAGE, err, path);
	if (at && (err = parse_at(at, kt_bundle_manifest(b), &t.at))) {
		rc = kt_cli_fail_err(KT_EXIT_USAGE, err, NULL);
		goto out;
	}
	if ((err = kt_k8s_index_new(&idx)) || (err = load(idx, b))) {
		rc = kt_cli_fail_err(KT_EXIT_USAGE, err, path);
		goto out;
	}
	t.idx = idx;
	t.age_at = t.at;
	if (t.at == KT_K8S_LATEST) {
		const json_t *win = json_object_get(kt_bundle_manifest(b), "window");
		struct kt_k8s_stats st;

		kt_k8s_index_stats(idx, &st);
		t.age_at = (uint64_t)json_integer_value(json_object_get(win, "end_ns"));
		if (!t.age_at)
			t.age_at = st.last_ns;
	}
	if ((out && !strcmp(out, "json")) || kt_cli.json)
		t.items = json_array();
	err = kt_k8s_each(idx, kind, ns, t.at, row_cb, &t);
	if (err) {
		rc = kt_cli_fail_err(KT_EXIT_USAGE, err, path);
		goto out;
	}
	if (t.items) {
		json_t *list = json_pack("{s:s,s:s,s:{s:s},s:O}", "apiVersion", "v1", "kind",
					 "List", "metadata", "at", at ? at : "end", "items",
					 t.items);

		json_dumpf(list, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(list);
	} else if (t.n) {
		print_table(&t, kind);
	} else {
		fprintf(stderr, "No resources found%s%s.\n", ns ? " in namespace " : "",
			ns ? ns : "");
	}
out:
	for (size_t r = 0; r < t.n; r++)
		for (int i = 0; i < COLS; i++)
			free(t.rows[r][i]);
	free(t.rows);
	json_decref(t.items);
	kt_k8s_index_free(idx);
	kt_bundle_close(b);
	return rc;
}

const struct kt_cmd kt_cmd_k8s = {
	"k8s", "print the Kubernetes objects a bundle says existed at a time", usage, run,
};
