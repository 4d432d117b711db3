/* diagram.c - the topology as a graph, built with cgraph and laid out and
 * rendered by gvc (never DOT written by hand): namespaces as clusters,
 * externals in their own, services and externals in their own shapes,
 * failing edges red with their count and cause, edges gone before the end
 * dashed, nodes in trouble filled red. Large graphs (the limits below) go
 * to sfdp with straight edges and labels moved into tooltips: dot's
 * crossing minimisation and spline routing grow much faster than linearly,
 * and 1,000 nodes with 5,000 edges must render in seconds. */
#include "report.h"

#include <errno.h>
#include <graphviz/gvc.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

#define DOT_NODES_MAX 300
#define DOT_EDGES_MAX 1200

/* One graphviz context for the process, made before the first graph:
 * gvContext() sets up the records and attribute defaults that graphs
 * opened afterwards get; a graph opened before it is freed twice by
 * gvFreeLayout() (graphviz 2.42, seen under ASan). */
static GVC_t *gvc_ctx;

static GVC_t *context(void)
{
	if (!gvc_ctx)
		gvc_ctx = gvContext();
	return gvc_ctx;
}

void kt_diagram_cleanup(void)
{
	if (gvc_ctx)
		gvFreeContext(gvc_ctx);
	gvc_ctx = NULL;
}

/* Object ids. cgraph's default discipline makes a name's id the address of
 * its interned string, and keeps subgraphs ordered by id: clusters came out
 * (and were laid out) in a different order from run to run. Here a name's
 * id is its order of first use, so the same topology gives the same graph. */
struct ids {
	json_t *byname;		/* name -> id */
	char **names;		/* id / 2 - 1 -> name, agstrdup'd: agwrite asks
				 * aghtmlstr() of it, which reads the refstr header */
	size_t n, cap;
	IDTYPE anon;		/* odd ids for anonymous objects (edges) */
};

static void *ids_open(Agraph_t *g, Agdisc_t *disc)
{
	struct ids *s = calloc(1, sizeof(*s));

	(void)g;
	(void)disc;
	if (!s || !(s->byname = json_object())) {
		free(s);
		return NULL;
	}
	s->anon = 1;
	return s;
}

static long ids_map(void *state, int objtype, char *str, IDTYPE *id, int create)
{
	struct ids *s = state;
	json_t *v;

	(void)objtype;
	if (!str) {
		*id = s->anon;
		s->anon += 2;
		return 1;
	}
	if ((v = json_object_get(s->byname, str))) {
		*id = (IDTYPE)json_integer_value(v);
		return 1;
	}
	if (!create)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		char **nn = realloc(s->names, cap * sizeof(*nn));

		if (!nn)
			return 0;
		s->names = nn;
		s->cap = cap;
	}
	*id = 2 * ((IDTYPE)s->n + 1);
	if (!(s->names[s->n] = agstrdup(NULL, str)))
		return 0;
	s->n++;
	if (json_object_set_new(s->byname, str, json_integer((json_int_t)*id)))
		return 0;
	return 1;
}

static long ids_alloc(void *state, int objtype, IDTYPE id)
{
	(void)state;
	(void)objtype;
	(void)id;
	return 0;	/* ids are only ever given by map */
}

static void ids_free(void *state, int objtype, IDTYPE id)
{
	(void)state;
	(void)objtype;
	(void)id;	/* names live as long as the graph */
}

static char *ids_print(void *state, int objtype, IDTYPE id)
{
	struct ids *s = state;

	(void)objtype;
	if (id & 1 || !id || id / 2 > s->n)
		return NULL;
	return s->names[id / 2 - 1];
}

static void ids_close(void *state)
{
	struct ids *s = state;

	json_decref(s->byname);
	for (size_t i = 0; i < s->n; i++)
		agstrfree(NULL, s->names[i]);
	free(s->names);
	free(s);
}

static void ids_register(void *state, int objtype, void *obj)
{
	(void)state;
	(void)objtype;
	(void)obj;
}

static Agiddisc_t ids_disc = {
	ids_open, ids_map, ids_alloc, ids_free, ids_print, ids_close, ids_register,
};
static Agdisc_t graph_disc = { &AgMemDisc, &ids_disc, &AgIoDisc };

/* Graphviz reads backslash escapes (\n, \N, \G...) in labels: names from
 * the bundle must not. */
static void lbl_append(char *buf, size_t len, size_t *n, const char *s)
{
	for (; s && *s && *n + 2 < len; s++) {
		if (*s == '\\')
			buf[(*n)++] = '\\';
		buf[(*n)++] = *s;
	}
	buf[*n] = '\0';
}

static void lbl_raw(char *buf, size_t len, size_t *n, const char *s)
{
	size_t l = strlen(s);

	if (*n + l + 1 > len)
		l = len - *n - 1;
	memcpy(buf + *n, s, l);
	*n += l;
	buf[*n] = '\0';
}

static void set(void *obj, const char *k, const char *v)
{
	agsafeset(obj, (char *)k, (char *)v, "");
}

static const char *shape_of(const char *kind, const char **fill)
{
	*fill = "white";
	if (!strcmp(kind, "service")) {
		*fill = "#e8f0fe";
		return "ellipse";
	}
	if (!strcmp(kind, "external")) {
		*fill = "#fff4e0";
		return "hexagon";
	}
	if (!strcmp(kind, "unattributed")) {
		*fill = "#f0f0f0";
		return "octagon";
	}
	if (!strcmp(kind, "host-process"))
		return "component";
	if (!strcmp(kind, "node"))
		return "box3d";
	if (!strcmp(kind, "namespace"))
		return "folder";
	return "box";
}

/* The cluster a node goes in, created on first use, named by the order of
 * first use (the nodes come sorted, so that is stable). */
static Agraph_t *cluster_for(Agraph_t *g, json_t *clusters, const char *key, const char *label)
{
	json_t *c = json_object_get(clusters, key);
	char name[40];
	Agraph_t *sub;

	if (c)
		return agsubg(g, (char *)json_string_value(c), 0);
	snprintf(name, sizeof(name), "cluster_%zu", json_object_size(clusters));
	json_object_set_new(clusters, key, json_string(name));
	if (!(sub = agsubg(g, name, 1)))
		return NULL;
	set(sub, "label", label);
	return sub;
}

/* A service and the workloads (pods) that served it: without these edges a
 * backend drawn at the workload level looks idle. One thin grey edge per
 * service and backend, with the connections it served. */
static int backend_edges(Agraph_t *g, const json_t *edges, const json_t *names, bool big)
{
	json_t *pairs = json_array(), *index = json_object();
	const json_t *e, *b, *p;
	size_t i, j;
	int err = 0;

	if (!pairs || !index) {
		err = kt_err_set(-ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(edges, i, e) {
		const char *svc = json_string_value(json_object_get(e, "via_service"));

		json_array_foreach(json_object_get(e, "backends"), j, b) {
			const char *id = json_string_value(json_object_get(b, "id"));
			json_int_t n = json_integer_value(json_object_get(b, "connections"));
			char key[1024];

			if (!svc || !id)
				continue;
			snprintf(key, sizeof(key), "%s\t%s\t%" JSON_INTEGER_FORMAT, svc, id,
				 json_integer_value(json_object_get(b, "port")));
			if ((p = json_object_get(index, key))) {
				json_t *pr = json_array_get(pairs, (size_t)json_integer_value(p));

				json_object_set_new(pr, "n", json_integer(
					json_integer_value(json_object_get(pr, "n")) + n));
				continue;
			}
			if (json_object_set_new(index, key, json_integer((json_int_t)json_array_size(pairs))) ||
			    json_array_append_new(pairs, json_pack("{s:s, s:s, s:O, s:I}", "svc", svc,
					"be", id, "port", json_object_get(b, "port"), "n", (json_int_t)n))) {
				err = kt_err_set(-ENOMEM, "out of memory");
				goto out;
			}
		}
	}
	json_array_foreach(pairs, i, p) {
		const char *sn = json_string_value(json_object_get(names,
				 json_string_value(json_object_get(p, "svc"))));
		const char *dn = json_string_value(json_object_get(names,
				 json_string_value(json_object_get(p, "be"))));
		char label[64], ename[32];
		Agnode_t *s, *d;
		Agedge_t *ed;

		if (!sn || !dn || !(s = agnode(g, (char *)sn, 0)) || !(d = agnode(g, (char *)dn, 0)))
			continue;
		if (!(ed = agedge(g, s, d, NULL, 1))) {
			err = kt_err_set(-ENOMEM, "cannot add an edge");
			goto out;
		}
		snprintf(ename, sizeof(ename), "b%zu", i);
		snprintf(label, sizeof(label), ":%" JSON_INTEGER_FORMAT " x%" JSON_INTEGER_FORMAT,
			 json_integer_value(json_object_get(p, "port")),
			 json_integer_value(json_object_get(p, "n")));
		set(ed, "id", ename);
		set(ed, big ? "tooltip" : "label", label);
		set(ed, "style", "dotted");
		set(ed, "color", "#5c7fa3");
		set(ed, "fontcolor", "#5c7fa3");
	}
out:
	json_decref(pairs);
	json_decref(index);
	return err;
}


int kt_diagram_build(const json_t *topo, const struct kt_diagram_opts *o, Agraph_t **out)
{
	const json_t *nodes = json_object_get(topo, "nodes"), *edges = json_object_get(topo, "edges");
	bool big = json_array_size(nodes) > DOT_NODES_MAX || json_array_size(edges) > DOT_EDGES_MAX;
	json_t *names = json_object(), *clusters = json_object(), *gone = json_object();
	const json_t *n, *e;
	Agraph_t *g = NULL;
	size_t i;
	int err = 0;

	*out = NULL;
	if (!context() || !names || !clusters || !gone ||
	    !(g = agopen("topology", Agdirected, &graph_disc))) {
		err = kt_err_set(-ENOMEM, "cannot create the graph");
		goto out;
	}
	for (i = 0; o->gone && i < json_array_size(o->gone); i++) {
		char k[32];

		snprintf(k, sizeof(k), "%" JSON_INTEGER_FORMAT, json_integer_value(json_array_get(o->gone, i)));
		json_object_set_new(gone, k, json_true());
	}
	/* declared once with defaults: cgraph then stores a value per object
	 * only where it differs */
	agattr(g, AGRAPH, "label", o->title ? (char *)o->title : "");
	agattr(g, AGRAPH, "labelloc", "t");
	agattr(g, AGRAPH, "fontname", "Helvetica");
	agattr(g, AGRAPH, "rankdir", "LR");
	agattr(g, AGRAPH, "style", "rounded");
	agattr(g, AGRAPH, "color", "#9aa5b1");
	agattr(g, AGRAPH, "outputorder", "edgesfirst");
	/* one ranking over all clusters: also keeps dot 2.42 from freeing its
	 * cluster edge lists twice in gvFreeLayout (seen under ASan) */
	agattr(g, AGRAPH, "newrank", "true");
	agattr(g, AGRAPH, "size", "30,30");	/* inches, only ever scaled down */
	if (big) {
		agattr(g, AGRAPH, "splines", "false");
		agattr(g, AGRAPH, "overlap", "scale");	/* prism: 3x the time at 1,000 nodes */
		agattr(g, AGRAPH, "start", "1");	/* fixed seed: the same bundle, the same drawing */
		/* PNG: cairo draws every pixel; 30 inches at 72 dpi is readable
		 * when zoomed and takes seconds, not a minute */
		agattr(g, AGRAPH, "dpi", "72");
	} else {
		agattr(g, AGRAPH, "nodesep", "0.3");
		agattr(g, AGRAPH, "ranksep", "0.8");
	}
	agattr(g, AGNODE, "shape", "box");
	agattr(g, AGNODE, "style", "filled");
	agattr(g, AGNODE, "fillcolor", "white");
	agattr(g, AGNODE, "color", "black");
	agattr(g, AGNODE, "penwidth", "1");
	agattr(g, AGNODE, "fontname", "Helvetica");
	agattr(g, AGNODE, "fontsize", "10");
	agattr(g, AGNODE, "label", "");
	agattr(g, AGNODE, "tooltip", "");
	agattr(g, AGNODE, "id", "");
	agattr(g, AGEDGE, "label", "");
	agattr(g, AGEDGE, "color", "#555555");
	agattr(g, AGEDGE, "fontcolor", "#333333");
	agattr(g, AGEDGE, "fontname", "Helvetica");
	agattr(g, AGEDGE, "fontsize", "8");
	agattr(g, AGEDGE, "style", "solid");
	agattr(g, AGEDGE, "penwidth", "1");
	agattr(g, AGEDGE, "tooltip", "");
	agattr(g, AGEDGE, "URL", "");
	agattr(g, AGEDGE, "id", "");

	json_array_foreach(nodes, i, n) {
		const char *id = json_string_value(json_object_get(n, "id"));
		const char *kind = json_string_value(json_object_get(n, "kind"));
		const char *ns = json_string_value(json_object_get(n, "namespace"));
		const char *name = json_string_value(json_object_get(n, "name"));
		const char *wk = json_string_value(json_object_get(n, "workload_kind"));
		const json_t *why = o->trouble ? json_object_get(o->trouble, id) : NULL;
		char vname[32], label[700], tip[1200];
		const char *fill, *shape;
		size_t ln = 0, tn = 0;
		Agraph_t *sub = g;
		Agnode_t *v;

		if (!id || !kind)
			continue;
		snprintf(vname, sizeof(vname), "n%zu", i);
		json_object_set_new(names, id, json_string(vname));
		{
			char key[600];

			if (ns && *ns && strcmp(kind, "namespace")) {
				snprintf(key, sizeof(key), "ns %s", ns);
				sub = cluster_for(g, clusters, key, ns);
			} else if (!strcmp(kind, "external") || !strcmp(kind, "unattributed")) {
				sub = cluster_for(g, clusters, "external", "outside the cluster");
			}
			if (!sub) {
				err = kt_err_set(-ENOMEM, "cannot add a cluster");
				goto out;
			}
		}
		if (!(v = agnode(sub, vname, 1))) {
			err = kt_err_set(-ENOMEM, "cannot add a node");
			goto out;
		}
		shape = shape_of(kind, &fill);
		if (why && json_array_size(why))
			lbl_raw(label, sizeof(label), &ln, "! ");
		lbl_append(label, sizeof(label), &ln, name ? name : id);
		lbl_raw(label, sizeof(label), &ln, "\\n");
		lbl_append(label, sizeof(label), &ln, wk ? wk : kind);
		set(v, "label", label);
		lbl_append(tip, sizeof(tip), &tn, id);
		for (size_t j = 0; why && j < json_array_size(why); j++) {
			lbl_raw(tip, sizeof(tip), &tn, "\\n");
			lbl_append(tip, sizeof(tip), &tn, json_string_value(json_array_get(why, j)));
		}
		set(v, "tooltip", tip);
		set(v, "id", vname);
		set(v, "shape", shape);
		if (!strcmp(kind, "workload"))
			set(v, "style", "rounded,filled");
		else if (!strcmp(kind, "unattributed"))
			set(v, "style", "dashed,filled");
		set(v, "fillcolor", fill);
		if (why && json_array_size(why)) {
			set(v, "color", "#c62828");
			set(v, "fillcolor", "#fde2e2");
			set(v, "penwidth", "2");
		}
	}
	json_array_foreach(edges, i, e) {
		const char *sn = json_string_value(json_object_get(names,
				 json_string_value(json_object_get(e, "src"))));
		const char *dn = json_string_value(json_object_get(names,
				 json_string_value(json_object_get(e, "dst"))));
		const json_t *failed = json_object_get(e, "failed");
		uint64_t nfail = kt_report_failed_total(failed);
		char label[600], fb[200], ename[32], url[96], k[32], ports[260];	/* edges anonymous: see ids */
		Agnode_t *s, *d;
		Agedge_t *ed;

		if (!sn || !dn || !(s = agnode(g, (char *)sn, 0)) || !(d = agnode(g, (char *)dn, 0)))
			continue;
		snprintf(ename, sizeof(ename), "e%zu", i);
		if (!(ed = agedge(g, s, d, NULL, 1))) {
			err = kt_err_set(-ENOMEM, "cannot add an edge");
			goto out;
		}
		if (json_is_string(json_object_get(e, "ports")))	/* edges folded per pair */
			snprintf(ports, sizeof(ports), "%s", json_string_value(json_object_get(e, "ports")));
		else
			snprintf(ports, sizeof(ports), "%s:%" JSON_INTEGER_FORMAT,
				 json_string_value(json_object_get(e, "protocol")),
				 json_integer_value(json_object_get(e, "port")));
		snprintf(label, sizeof(label), "%s x%" JSON_INTEGER_FORMAT "%s%s", ports,
			 json_integer_value(json_object_get(e, "connections")),
			 nfail ? "\\nfailed " : "", nfail ? kt_report_failed_str(failed, fb, sizeof(fb)) : "");
		set(ed, big ? "tooltip" : "label", label);
		if (!big)
			set(ed, "tooltip", label);
		set(ed, "id", ename);
		if (o->link_prefix) {
			snprintf(url, sizeof(url), "#%s%zu", o->link_prefix, i);
			set(ed, "URL", url);
		}
		snprintf(k, sizeof(k), "%zu", i);
		if (json_object_get(gone, k)) {
			set(ed, "style", "dashed");
			set(ed, "color", "#8a8a8a");
		}
		if (nfail) {
			set(ed, "color", "#c62828");
			set(ed, "fontcolor", "#c62828");
			set(ed, "penwidth", "2");
		}
	}
	if ((err = backend_edges(g, edges, names, big)))
		goto out;
	*out = g;
	g = NULL;
out:
	if (g)
		agclose(g);
	json_decref(names);
	json_decref(clusters);
	json_decref(gone);
	return err;
}

const char *kt_diagram_engine(Agraph_t *g)
{
	return agnnodes(g) > DOT_NODES_MAX || agnedges(g) > DOT_EDGES_MAX ? "sfdp" : "dot";
}

/* Graphviz prints its warnings on stderr by default: library code does not
 * print, and what matters (a layout or render that failed) is returned. */
static int quiet(char *msg)
{
	(void)msg;
	return 0;
}

int kt_diagram_render(Agraph_t *g, const char *engine, const char *const *formats, size_t n,
		      char **data, size_t *len)
{
	GVC_t *gvc = context();
	int err = 0;

	agseterrf(quiet);

	for (size_t i = 0; i < n; i++) {
		data[i] = NULL;
		len[i] = 0;
	}
	if (!gvc)
		return kt_err_set(-ENOMEM, "cannot start graphviz");
	if (!engine)
		engine = kt_diagram_engine(g);
	if (gvLayout(gvc, g, engine)) {
		err = kt_err_set(-EINVAL, "graphviz cannot lay the graph out with '%s'", engine);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char *buf = NULL;
		unsigned int l = 0;

		if (!formats[i])
			continue;
		if (gvRenderData(gvc, g, formats[i], &buf, &l) || !buf) {
			err = kt_err_set(-EINVAL, "graphviz cannot render '%s'", formats[i]);
			break;
		}
		data[i] = malloc((size_t)l + 1);
		if (!data[i]) {
			gvFreeRenderData(buf);
			err = kt_err_set(-ENOMEM, "out of memory");
			break;
		}
		memcpy(data[i], buf, l);
		data[i][l] = '\0';
		len[i] = l;
		gvFreeRenderData(buf);
	}
	gvFreeLayout(gvc, g);
out:
	if (err)
		for (size_t i = 0; i < n; i++) {
			free(data[i]);
			data[i] = NULL;
		}
	return err;
}

int kt_diagram_dot(Agraph_t *g, char **data, size_t *len)
{
	FILE *f = open_memstream(data, len);
	int err = 0;

	if (!f)
		return kt_err_set(-ENOMEM, "out of memory");
	if (agwrite(g, f) == EOF)
		err = kt_err_set(-EIO, "cannot write the graph");
	if (fclose(f) && !err)
		err = kt_err_set(-EIO, "cannot write the graph");
	if (err) {
		free(*data);
		*data = NULL;
	}
	return err;
}
