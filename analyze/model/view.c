/* view.c - the topology at an aggregation level, as the JSON of
 * docs/topology-schema.md. Pods fold into workloads, services (that they
 * served), namespaces or nodes; edges that fold onto the same key add up,
 * and so do failed DNS lookups. */
#include "model_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "manifest.h"

int kt_level_parse(const char *s, enum kt_level *out)
{
	static const char *const names[] = { "pod", "workload", "service", "namespace", "node" };

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*out = (enum kt_level)i;
			return 0;
		}
	}
	return kt_err_set(-EINVAL, "unknown level '%s': pod, workload, service, namespace or node", s);
}

static const char *level_name(enum kt_level l)
{
	static const char *const names[] = { "pod", "workload", "service", "namespace", "node" };

	return (unsigned)l < 5 ? names[l] : "pod";
}

struct vedge {
	const char *src, *dst;	/* view ids, borrowed from 'nodes' keys */
	uint8_t proto;
	uint16_t port;
	struct kt_edge_stats st;
	struct kt_edge_window *w;	/* sorted by index */
	uint32_t nw, capw;
	json_t *backends;	/* id -> {id, port, connections} keyed "id:port" */
	json_t *why;		/* what the objects say of it (explain.c), or NULL */
	uint64_t unknown_backend;
	bool via;
	const char *via_id;
};

#define VIEW_WHY_MAX 4	/* explanations an edge lists */

struct vdns {			/* failed lookups folded at the view's level */
	const char *client;	/* view id, borrowed from 'nodes' keys */
	const struct kt_dnsfail *x;	/* the first folded: name, type, answer */
	uint64_t count, first, last;
	const uint8_t *server;	/* asked at first */
	bool expansion;		/* all folded ones were search expansions */
};

struct view {
	const struct kt_model *m;
	const struct kt_view_opts *o;
	uint32_t *served;	/* pod entity -> the service it served, or NONE */
	json_t *nodes;		/* id -> node object */
	json_t *index;		/* edge key -> position in edges */
	struct vedge *edges;
	uint32_t n, cap;
	json_t *dindex;		/* failed lookup key -> position in dns */
	struct vdns *dns;
	uint32_t ndns, capdns;
};

static json_t *entity_json(const struct kt_model *m, const struct kt_entity *e)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "id", e->id, "kind",
			      kt_ent_kind_name(e->kind), "name", e->name, "namespace", e->ns);

	if (!o)
		return NULL;
	if (e->detail && *e->detail)
		json_object_set_new(o, e->kind == KT_ENT_WORKLOAD ? "workload_kind" : "address",
				    json_string(e->detail));
	if (e->workload != KT_ENT_NONE)
		json_object_set_new(o, "workload", json_string(m->ents[e->workload].id));
	if (e->node != KT_ENT_NONE)
		json_object_set_new(o, "node", json_string(m->ents[e->node].id));
	if (e->names) {
		json_t *a = json_array();
		const char *s = e->names;

		while (a && *s) {
			size_t l = strcspn(s, "\n");

			json_array_append_new(a, json_stringn(s, l));
			s += l;
			if (*s)
				s++;
		}
		json_object_set_new(o, "dns_names", a);
	}
	if (e->reason)
		json_object_set_new(o, "reason", json_string(e->reason));
	if (e->kind == KT_ENT_POD) {
		uint32_t self = (uint32_t)(e - m->ents);
		json_t *cs = NULL;

		for (uint32_t i = 0; i < m->nents; i++) {
			if (m->ents[i].kind != KT_ENT_CONTAINER || m->ents[i].pod != self)
				continue;
			const char *id = m->ents[i].detail ? m->ents[i].detail : "";

			if (!cs)
				cs = json_array();
			/* one entry per container ID: a restart is a new one */
			do {
				size_t l = strcspn(id, "\n");

				json_array_append_new(cs, json_pack("{s:s, s:s%}", "name", m->ents[i].name,
								    "container_id", id, l));
				id += l;
			} while (*id && *++id);
		}
		if (cs)
			json_object_set_new(o, "containers", cs);
	}
	return o;
}

/* The view entity of base entity i: its id, the node object registered. */
static const char *map_ent(struct view *v, uint32_t i, bool backend)
{
	const struct kt_model *m = v->m;
	const struct kt_entity *e = &m->ents[i];
	enum kt_level l = v->o->level;
	json_t *o;
	char id[600];

	if (l == KT_LEVEL_SERVICE && !backend && e->kind == KT_ENT_POD && v->served[i] != KT_ENT_NONE)
		e = &m->ents[v->served[i]];
	else if ((l == KT_LEVEL_WORKLOAD || l == KT_LEVEL_SERVICE) && e->kind == KT_ENT_POD &&
		 e->workload != KT_ENT_NONE)
		e = &m->ents[e->workload];
	else if (l == KT_LEVEL_NODE && (e->kind == KT_ENT_POD || e->kind == KT_ENT_PROCESS) &&
		 e->node != KT_ENT_NONE)
		e = &m->ents[e->node];
	else if (l == KT_LEVEL_NAMESPACE && e->ns[0] &&
		 (e->kind == KT_ENT_POD || e->kind == KT_ENT_WORKLOAD || e->kind == KT_ENT_SERVICE)) {
		snprintf(id, sizeof(id), "namespace:%s", e->ns);
		if (!(o = json_object_get(v->nodes, id))) {
			o = json_pack("{s:s, s:s, s:s, s:s}", "id", id, "kind", "namespace",
				      "name", e->ns, "namespace", e->ns);
			if (!o || json_object_set_new(v->nodes, id, o))
				return NULL;
		}
		return json_string_value(json_object_get(o, "id"));
	}
	if (!(o = json_object_get(v->nodes, e->id))) {
		if (!(o = entity_json(m, e)) || json_object_set_new(v->nodes, e->id, o))
			return NULL;
	}
	return json_string_value(json_object_get(o, "id"));
}

static void stats_json(json_t *o, const struct kt_edge_stats *st)
{
	json_t *failed = json_object();
	char ts[40];

	for (int i = 0; i < KT_FAIL__MAX; i++)
		if (st->failed[i])
			json_object_set_new(failed, kt_fail_name((enum kt_fail)i),
					    json_integer((json_int_t)st->failed[i]));
	json_object_set_new(o, "connections", json_integer((json_int_t)st->connections));
	json_object_set_new(o, "established", json_integer((json_int_t)st->established));
	json_object_set_new(o, "failed", failed);
	json_object_set_new(o, "bytes_sent", json_integer((json_int_t)st->bytes_sent));
	json_object_set_new(o, "bytes_received", json_integer((json_int_t)st->bytes_received));
	json_object_set_new(o, "retransmits", json_integer((json_int_t)st->retransmits));
	json_object_set_new(o, "first_seen", json_string(kt_time_str(st->first_seen, ts, sizeof(ts))));
	json_object_set_new(o, "last_seen", json_string(kt_time_str(st->last_seen, ts, sizeof(ts))));
	json_object_set_new(o, "first_seen_ns", json_integer((json_int_t)st->first_seen));
	json_object_set_new(o, "last_seen_ns", json_integer((json_int_t)st->last_seen));
	{
		json_t *h = json_array();

		for (int i = 0; i < KT_LAT_BUCKETS; i++)
			if (st->latency[i])
				json_array_append_new(h, json_pack("{s:I, s:I}", "le_us",
						      (json_int_t)(2ull << i),
						      "count", (json_int_t)st->latency[i]));
		json_object_set_new(o, "connect_latency", h);
	}
}

static int add_edge(struct view *v, const struct kt_edge *e)
{
	const struct kt_model *m = v->m;
	const char *src = map_ent(v, e->src, false), *dst = map_ent(v, e->dst, false);
	char key[1400];
	json_t *pos;
	struct vedge *ve;
	int err;

	if (!src || !dst)
		return kt_err_set(-ENOMEM, "out of memory");
	if (v->o->ns) {
		const char *sns = json_string_value(json_object_get(json_object_get(v->nodes, src), "namespace"));
		const char *dns = json_string_value(json_object_get(json_object_get(v->nodes, dst), "namespace"));

		if (strcmp(sns ? sns : "", v->o->ns) && strcmp(dns ? dns : "", v->o->ns))
			return 0;
	}
	snprintf(key, sizeof(key), "%s|%s|%u|%u", src, dst, e->proto, e->port);
	if ((pos = json_object_get(v->index, key))) {
		ve = &v->edges[json_integer_value(pos)];
	} else {
		if ((err = kt_grow((void **)&v->edges, &v->cap, v->n + 1, sizeof(*v->edges))))
			return err;
		ve = &v->edges[v->n];
		memset(ve, 0, sizeof(*ve));
		ve->src = src;
		ve->dst = dst;
		ve->proto = e->proto;
		ve->port = e->port;
		ve->backends = json_object();
		json_object_set_new(v->index, key, json_integer(v->n));
		v->n++;
	}
	kt_edge_stats_add(&ve->st, &e->total);
	if ((e->first_failed || (m->k8s_has_netpol && e->total.established)) &&
	    json_array_size(ve->why) < VIEW_WHY_MAX) {
		if (!ve->why && !(ve->why = json_array()))
			return kt_err_set(-ENOMEM, "out of memory");
		if ((err = kt_model_explain(m, e, ve->why)))
			return err;
	}
	if (m->ents[e->dst].kind == KT_ENT_SERVICE && (e->nbackends || e->unknown_backend)) {
		ve->via = true;
		ve->via_id = m->ents[e->dst].id;
	}
	ve->unknown_backend += e->unknown_backend;
	for (uint32_t i = 0; i < e->nbackends; i++) {
		const char *b = map_ent(v, e->backends[i].ent, true);
		json_t *bo;

		if (!b)
			return kt_err_set(-ENOMEM, "out of memory");
		snprintf(key, sizeof(key), "%s:%u", b, e->backends[i].port);
		if ((bo = json_object_get(ve->backends, key))) {
			json_object_set_new(bo, "connections", json_integer(
				json_integer_value(json_object_get(bo, "connections")) +
				(json_int_t)e->backends[i].connections));
		} else {
			json_object_set_new(ve->backends, key, json_pack("{s:s, s:i, s:I}", "id", b,
					    "port", e->backends[i].port, "connections",
					    (json_int_t)e->backends[i].connections));
		}
	}
	for (uint32_t i = 0; i < e->nwindows; i++) {
		uint64_t idx = e->windows[i].index;
		uint32_t j = 0;

		while (j < ve->nw && ve->w[j].index < idx)
			j++;
		if (j == ve->nw || ve->w[j].index != idx) {
			if ((err = kt_grow((void **)&ve->w, &ve->capw, ve->nw + 1, sizeof(*ve->w))))
				return err;
			memmove(ve->w + j + 1, ve->w + j, (ve->nw - j) * sizeof(*ve->w));
			memset(&ve->w[j], 0, sizeof(ve->w[j]));
			ve->w[j].index = idx;
			ve->nw++;
		}
		kt_edge_stats_add(&ve->w[j].st, &e->windows[i].st);
	}
	return 0;
}

/* A failed lookup, at the view's level: its client's node, and the
 * namespace filter as for edges. */
static int add_dns(struct view *v, const struct kt_dnsfail *x)
{
	const char *client = map_ent(v, x->ent, false);
	char key[1400];
	json_t *pos;
	struct vdns *d;
	int err;

	if (!client)
		return kt_err_set(-ENOMEM, "out of memory");
	if (v->o->ns) {
		const char *ns = json_string_value(json_object_get(json_object_get(v->nodes, client),
								   "namespace"));

		if (strcmp(ns ? ns : "", v->o->ns))
			return 0;
	}
	snprintf(key, sizeof(key), "%s|%s|%u|%u", client, x->qname, x->qtype, x->rcode);
	if ((pos = json_object_get(v->dindex, key))) {
		d = &v->dns[json_integer_value(pos)];
		d->count += x->count;
		if (x->first < d->first) {
			d->first = x->first;
			d->server = x->server;
		}
		if (x->last > d->last)
			d->last = x->last;
		d->expansion = d->expansion && x->expansion;
		return 0;
	}
	if ((err = kt_grow((void **)&v->dns, &v->capdns, v->ndns + 1, sizeof(*v->dns))))
		return err;
	v->dns[v->ndns] = (struct vdns){ .client = client, .x = x, .count = x->count,
					 .first = x->first, .last = x->last,
					 .server = x->server, .expansion = x->expansion };
	if (json_object_set_new(v->dindex, key, json_integer(v->ndns)))
		return kt_err_set(-ENOMEM, "out of memory");
	v->ndns++;
	return 0;
}

static int cmp_dns(const void *a, const void *b)
{
	const struct vdns *x = a, *y = b;
	int c = strcmp(x->client, y->client);

	if (!c)
		c = strcmp(x->x->qname, y->x->qname);
	if (!c)
		c = (int)x->x->qtype - (int)y->x->qtype;
	if (!c)
		c = (int)x->x->rcode - (int)y->x->rcode;
	return c;
}

static json_t *dns_json(const struct vdns *d)
{
	char ts[40], tb[16], rb[16], ip[64];
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "client", d->client,
			      "qname", d->x->qname,
			      "qtype", kt_dns_qtype_name(d->x->qtype, tb, sizeof(tb)),
			      "rcode", kt_dns_rcode_name(d->x->rcode, rb, sizeof(rb)),
			      "server", kt_ip_str(d->server, ip, sizeof(ip)),
			      "count", (json_int_t)d->count);

	if (!o)
		return NULL;
	json_object_set_new(o, "first_seen", json_string(kt_time_str(d->first, ts, sizeof(ts))));
	json_object_set_new(o, "last_seen", json_string(kt_time_str(d->last, ts, sizeof(ts))));
	json_object_set_new(o, "first_seen_ns", json_integer((json_int_t)d->first));
	json_object_set_new(o, "last_seen_ns", json_integer((json_int_t)d->last));
	json_object_set_new(o, "search_expansion", json_boolean(d->expansion));
	return o;
}

static int cmp_edge(const void *a, const void *b)
{
	const struct vedge *x = a, *y = b;
	int c = strcmp(x->src, y->src);

	if (!c)
		c = strcmp(x->dst, y->dst);
	if (!c)
		c = (int)x->port - (int)y->port;
	if (!c)
		c = (int)x->proto - (int)y->proto;
	return c;
}

static int cmp_node(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;

	return strcmp(json_string_value(json_object_get(x, "id")),
		      json_string_value(json_object_get(y, "id")));
}

static json_t *edge_json(const struct kt_model *m, const struct vedge *ve)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:i}", "src", ve->src, "dst", ve->dst, "protocol",
			      ve->proto == IPPROTO_TCP ? "tcp" : ve->proto == IPPROTO_UDP ? "udp" : "other",
			      "port", ve->port);
	json_t *wins;
	char ts[40];

	if (!o)
		return NULL;
	stats_json(o, &ve->st);
	if (ve->via) {
		json_t *b = json_array(), *bo;
		const char *bk;

		json_object_set_new(o, "via_service", json_string(ve->via_id));
		json_object_foreach(ve->backends, bk, bo)
			json_array_append(b, bo);
		json_object_set_new(o, "backends", b);
		json_object_set_new(o, "unknown_backend", json_integer((json_int_t)ve->unknown_backend));
	}
	if (json_array_size(ve->why))
		json_object_set(o, "explanations", ve->why);
	if (m->o.window_ns) {
		wins = json_array();
		for (uint32_t j = 0; j < ve->nw; j++) {
			uint64_t start = ve->w[j].index * m->o.window_ns;
			json_t *wo = json_pack("{s:s, s:I}", "start", kt_time_str(start, ts, sizeof(ts)),
					       "start_ns", (json_int_t)start);

			if (!wo)
				continue;
			stats_json(wo, &ve->w[j].st);
			json_array_append_new(wins, wo);
		}
		json_object_set_new(o, "windows", wins);
	}
	return o;
}

int kt_model_view(const struct kt_model *m, const struct kt_view_opts *o, json_t **out)
{
	struct view v = { .m = m, .o = o };
	json_t *root = NULL, *nodes = NULL, *edges = NULL, *dns = NULL, *node;
	json_t **sorted = NULL;
	const char *key;
	size_t nn = 0;
	char ts[40];
	int err = 0;

	*out = NULL;
	v.nodes = json_object();
	v.index = json_object();
	v.dindex = json_object();
	v.served = malloc((m->nents ? m->nents : 1) * sizeof(*v.served));
	if (!v.nodes || !v.index || !v.dindex || !v.served) {
		err = kt_err_set(-ENOMEM, "out of memory");
		goto out;
	}
	/* which service each pod served, for --level service */
	for (uint32_t i = 0; i < m->nents; i++)
		v.served[i] = KT_ENT_NONE;
	for (uint32_t i = 0; i < m->nedges; i++)
		for (uint32_t j = 0; j < m->edges[i].nbackends; j++)
			if (v.served[m->edges[i].backends[j].ent] == KT_ENT_NONE)
				v.served[m->edges[i].backends[j].ent] = m->edges[i].dst;
	for (uint32_t i = 0; i < m->nedges; i++)
		if ((err = add_edge(&v, &m->edges[i])))
			goto out;
	if (v.n)
		qsort(v.edges, v.n, sizeof(*v.edges), cmp_edge);
	for (uint32_t i = 0; i < m->ndnsfails; i++)
		if ((err = add_dns(&v, &m->dnsfails[i])))
			goto out;
	if (v.ndns)
		qsort(v.dns, v.ndns, sizeof(*v.dns), cmp_dns);

	/* only the nodes the kept edges and failed lookups name */
	edges = json_array();
	nodes = json_array();
	dns = json_array();
	{
		json_t *used = json_object();

		for (uint32_t i = 0; i < v.ndns && used && dns; i++) {
			json_t *d = dns_json(&v.dns[i]);

			if (!d || json_array_append_new(dns, d)) {
				err = kt_err_set(-ENOMEM, "out of memory");
				json_decref(used);
				goto out;
			}
			json_object_set_new(used, v.dns[i].client, json_true());
		}

		for (uint32_t i = 0; i < v.n && used; i++) {
			json_t *e = edge_json(m, &v.edges[i]), *b;
			size_t j;

			if (!e) {
				err = kt_err_set(-ENOMEM, "out of memory");
				json_decref(used);
				goto out;
			}
			json_object_set_new(used, v.edges[i].src, json_true());
			json_object_set_new(used, v.edges[i].dst, json_true());
			json_array_foreach(json_object_get(e, "backends"), j, b)
				json_object_set_new(used, json_string_value(json_object_get(b, "id")),
						    json_true());
			json_array_append_new(edges, e);
		}
		sorted = calloc(json_object_size(v.nodes) + 1, sizeof(*sorted));
		if (!sorted || !used) {
			json_decref(used);
			err = kt_err_set(-ENOMEM, "out of memory");
			goto out;
		}
		json_object_foreach(v.nodes, key, node)
			if (json_object_get(used, key))
				sorted[nn++] = node;
		json_decref(used);
	}
	if (nn)
		qsort(sorted, nn, sizeof(*sorted), cmp_node);
	for (size_t i = 0; i < nn; i++)
		json_array_append(nodes, sorted[i]);
	root = json_pack("{s:s, s:s, s:s, s:I}", "schema", "ktana-topology",
			 "version", KT_TOPO_SCHEMA_VERSION, "level", level_name(o->level),
			 "window_ns", (json_int_t)m->o.window_ns);
	if (!root) {
		err = kt_err_set(-ENOMEM, "out of memory");
		goto out;
	}
	if (m->o.since)
		json_object_set_new(root, "since", json_string(kt_time_str(m->o.since, ts, sizeof(ts))));
	if (m->o.until)
		json_object_set_new(root, "until", json_string(kt_time_str(m->o.until, ts, sizeof(ts))));
	if (m->o.at)
		json_object_set_new(root, "at", json_string(kt_time_str(m->o.at, ts, sizeof(ts))));
	if (o->ns)
		json_object_set_new(root, "namespace", json_string(o->ns));
	json_object_set_new(root, "stats", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"flow_records", (json_int_t)m->st.flow_records,
		"conn_records", (json_int_t)m->st.conn_records,
		"connections", (json_int_t)m->st.connections,
		"stitched", (json_int_t)m->st.stitched,
		"filtered", (json_int_t)m->st.filtered,
		"k8s_objects", (json_int_t)m->st.k8s_objects,
		"nat_entries", (json_int_t)m->st.nat_entries,
		"dns_addresses", (json_int_t)m->st.dns_ips,
		"dns_failures", (json_int_t)m->st.dns_failures,
		"dns_failures_dropped", (json_int_t)m->st.dns_failures_dropped));
	json_object_set(root, "nodes", nodes);
	json_object_set(root, "edges", edges);
	json_object_set(root, "dns_failures", dns);
	*out = root;
	root = NULL;
out:
	for (uint32_t i = 0; i < v.n; i++) {
		free(v.edges[i].w);
		json_decref(v.edges[i].backends);
		json_decref(v.edges[i].why);
	}
	free(v.edges);
	free(v.dns);
	json_decref(v.dindex);
	json_decref(dns);
	free(sorted);
	free(v.served);
	json_decref(v.nodes);
	json_decref(v.index);
	json_decref(nodes);
	json_decref(edges);
	json_decref(root);
	return err;
}
