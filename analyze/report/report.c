/* report.c - `ktana report`: one pass of the model over the bundle for the
 * whole capture (with windows), one per --at moment, one to copy the pcap
 * fragments behind edges; then the diagrams and the documents, all from one
 * report context (docs/report.md lists its members). */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle.h"
#include "error.h"
#include "manifest.h"

struct run {
	const struct kt_report_opts *o;
	const char *dir;
	json_t *ctx;
};

static void progress(const struct run *r, const char *what)
{
	if (r->o->progress)
		r->o->progress(r->o->progress_arg, what);
}

static int write_file(const struct run *r, const char *name, const void *data, size_t len)
{
	char path[4096];
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "%s/%s", r->dir, name);
	if (!(f = fopen(path, "wb")))
		return kt_err_set(-errno, "cannot write '%s': %s", path, strerror(errno));
	if (len && fwrite(data, 1, len, f) != len)
		err = kt_err_set(-EIO, "cannot write '%s': %s", path, strerror(errno));
	if (fclose(f) && !err)
		err = kt_err_set(-EIO, "cannot write '%s': %s", path, strerror(errno));
	return err;
}

static int append_nl(const struct run *r, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", r->dir, name);
	if (!(f = fopen(path, "ab")) || fputc('\n', f) == EOF || fclose(f))
		return kt_err_set(-EIO, "cannot write '%s'", path);
	return 0;
}

/* A window about span/KT_REPORT_AUTO_WINDOWS long, rounded up to a duration
 * people read at a glance. */
static uint64_t auto_window(uint64_t span)
{
	static const uint64_t nice[] = {
		1000000ull, 2000000ull, 5000000ull, 10000000ull, 20000000ull, 50000000ull,
		100000000ull, 200000000ull, 500000000ull, 1000000000ull, 2000000000ull,
		5000000000ull, 10000000000ull, 15000000000ull, 30000000000ull,
		60000000000ull, 120000000000ull, 300000000000ull, 600000000000ull,
		900000000000ull, 1800000000000ull, 3600000000000ull,
	};
	uint64_t want = span / KT_REPORT_AUTO_WINDOWS;

	for (size_t i = 0; i < sizeof(nice) / sizeof(nice[0]); i++)
		if (nice[i] >= want)
			return nice[i];
	return (want / 3600000000000ull + 1) * 3600000000000ull;
}

/* The topology of one window of a windowed topology: the edges with a
 * connection starting in it, their figures those of the window. */
static json_t *window_topo(const json_t *topo, uint64_t start_ns)
{
	json_t *t = json_deep_copy(topo), *edges = json_array(), *used = json_object(), *nodes = json_array();
	const json_t *e, *w, *n;
	size_t i, j;

	if (!t || !edges || !used || !nodes)
		goto fail;
	json_array_foreach(json_object_get(topo, "edges"), i, e) {
		json_array_foreach(json_object_get(e, "windows"), j, w) {
			json_t *ne;
			const char *k;
			json_t *v;

			if ((uint64_t)json_integer_value(json_object_get(w, "start_ns")) != start_ns)
				continue;
			if (!(ne = json_deep_copy(e)))
				goto fail;
			json_object_foreach((json_t *)w, k, v)
				if (strcmp(k, "start") && strcmp(k, "start_ns"))
					json_object_set(ne, k, v);
			json_object_del(ne, "windows");
			json_object_set_new(ne, "orig_index", json_integer((json_int_t)i));
			json_array_append_new(edges, ne);
			json_object_set_new(used, json_string_value(json_object_get(e, "src")), json_true());
			json_object_set_new(used, json_string_value(json_object_get(e, "dst")), json_true());
		}
	}
	json_array_foreach(json_object_get(topo, "nodes"), i, n)
		if (json_object_get(used, json_string_value(json_object_get(n, "id"))))
			json_array_append(nodes, (json_t *)n);
	json_object_set_new(t, "nodes", nodes);
	json_object_set_new(t, "edges", edges);
	json_decref(used);
	return t;
fail:
	json_decref(t);
	json_decref(edges);
	json_decref(used);
	json_decref(nodes);
	return NULL;
}

/* The edges of topo folded per (src, dst): one arrow per pair of nodes, for
 * the overview, where each pair has many ports. "ports" says which (the
 * diagram shows it instead of protocol:port); the figures add up. */
static json_t *merge_pairs(const json_t *topo)
{
	json_t *t = json_deep_copy(topo), *edges = json_array(), *byk = json_object();
	const json_t *e;
	size_t i;

	if (!t || !edges || !byk)
		goto fail;
	json_array_foreach(json_object_get(topo, "edges"), i, e) {
		const char *src = json_string_value(json_object_get(e, "src"));
		const char *dst = json_string_value(json_object_get(e, "dst"));
		char key[1200], port[40];
		json_t *m = NULL, *pos;

		snprintf(key, sizeof(key), "%s %s", src ? src : "", dst ? dst : "");
		snprintf(port, sizeof(port), "%s:%" JSON_INTEGER_FORMAT,
			 json_string_value(json_object_get(e, "protocol")),
			 json_integer_value(json_object_get(e, "port")));
		if ((pos = json_object_get(byk, key))) {
			const char *k;
			json_t *v, *failed;
			size_t np;

			m = json_array_get(edges, (size_t)json_integer_value(pos));
			np = (size_t)json_integer_value(json_object_get(m, "nports")) + 1;
			json_object_set_new(m, "nports", json_integer((json_int_t)np));
			json_object_set_new(m, "connections", json_integer(
				json_integer_value(json_object_get(m, "connections")) +
				json_integer_value(json_object_get(e, "connections"))));
			failed = json_object_get(m, "failed");
			json_object_foreach((json_t *)json_object_get(e, "failed"), k, v)
				json_object_set_new(failed, k, json_integer(
					json_integer_value(json_object_get(failed, k)) + json_integer_value(v)));
			if (np <= 3) {
				char ports[200];

				snprintf(ports, sizeof(ports), "%s, %s",
					 json_string_value(json_object_get(m, "ports")), port);
				json_object_set_new(m, "ports", json_string(ports));
			}
			continue;
		}
		m = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:s, s:i}", "src", json_object_get(e, "src"),
			      "dst", json_object_get(e, "dst"), "protocol", json_object_get(e, "protocol"),
			      "port", json_object_get(e, "port"), "connections",
			      json_object_get(e, "connections"), "failed", json_object_get(e, "failed"),
			      "ports", port, "nports", 1);
		if (!m)
			goto fail;
		/* a copy of its own: the sums must not write into topo */
		json_object_set_new(m, "failed", json_deep_copy(json_object_get(e, "failed")));
		json_object_set_new(byk, key, json_integer((json_int_t)json_array_size(edges)));
		json_array_append_new(edges, m);
	}
	json_array_foreach(edges, i, e) {
		json_int_t np = json_integer_value(json_object_get(e, "nports"));

		if (np > 3) {
			char ports[240];

			snprintf(ports, sizeof(ports), "%s +%" JSON_INTEGER_FORMAT,
				 json_string_value(json_object_get(e, "ports")), np - 3);
			json_object_set_new((json_t *)e, "ports", json_string(ports));
		}
	}
	json_object_set_new(t, "edges", edges);
	json_decref(byk);
	return t;
fail:
	json_decref(t);
	json_decref(edges);
	json_decref(byk);
	return NULL;
}

/* Draw topo into base.svg (+ .dot, + .png when asked); the SVG also goes
 * into the context's diagram object for inlining. */
static int draw(struct run *r, const json_t *topo, const char *base, const char *title,
		const json_t *trouble, const json_t *gone, bool png, const char *link, json_t **out)
{
	struct kt_diagram_opts d = { .title = title, .trouble = trouble, .gone = gone,
				     .engine = r->o->engine, .link_prefix = link };
	const char *formats[2] = { "svg", png ? "png" : NULL };
	char *data[2] = { NULL, NULL }, *dot = NULL, name[300], line[400];
	size_t len[2] = { 0, 0 }, dotlen = 0;
	const char *engine;
	Agraph_t *g = NULL;
	json_t *files = json_array();
	int err;

	*out = NULL;
	if ((err = kt_diagram_build(topo, &d, &g)))
		goto out;
	engine = r->o->engine ? r->o->engine : kt_diagram_engine(g);
	snprintf(line, sizeof(line), "drawing %s (%s, %d nodes, %d edges)", base, engine,
		 agnnodes(g), agnedges(g));
	progress(r, line);
	if ((err = kt_diagram_dot(g, &dot, &dotlen)))
		goto out;
	snprintf(name, sizeof(name), "%s.dot", base);
	if ((err = write_file(r, name, dot, dotlen)))
		goto out;
	json_array_append_new(files, json_string(name));
	if ((err = kt_diagram_render(g, engine, formats, 2, data, len)))
		goto out;
	snprintf(name, sizeof(name), "%s.svg", base);
	if ((err = write_file(r, name, data[0], len[0])))
		goto out;
	json_array_append_new(files, json_string(name));
	if (png) {
		snprintf(name, sizeof(name), "%s.png", base);
		if ((err = write_file(r, name, data[1], len[1])))
			goto out;
		json_array_append_new(files, json_string(name));
	}
	*out = json_pack("{s:s, s:s, s:s, s:o, s:i, s:i}", "name", base, "title", title,
			 "svg", data[0], "files", files, "nodes", agnnodes(g), "edges", agnedges(g));
	files = NULL;
	if (!*out)
		err = kt_err_set(-ENOMEM, "out of memory");
	else
		json_object_set_new(*out, "engine", json_string(engine));
out:
	if (g)
		agclose(g);
	free(data[0]);
	free(data[1]);
	free(dot);
	json_decref(files);
	return err;
}

static int open_model(struct kt_bundle *b, const struct kt_model_opts *mo, bool rewind,
		      struct kt_model **m)
{
	int err;

	*m = NULL;
	if (rewind && (err = kt_bundle_rewind(b)))
		return err;
	if ((err = kt_model_new(m, mo)) || (err = kt_model_feed_bundle(*m, b))) {
		kt_model_free(*m);
		*m = NULL;
	}
	return err;
}

/* Copy the pcap fragments that evidence names into DIR/pcap/. */
static int copy_fragments(struct run *r, struct kt_bundle *b, const json_t *evidence)
{
	json_t *want = json_object();
	const char *k;
	json_t *a, *f;
	const struct kt_entry *e;
	uint64_t total = 0;
	size_t i;
	char path[4096];
	int n, err = 0;

	if (!want)
		return kt_err_set(-ENOMEM, "out of memory");
	json_object_foreach((json_t *)evidence, k, a)
		json_array_foreach(a, i, f) {
			const char *file = json_string_value(json_object_get(f, "file"));
			const char *copy = json_string_value(json_object_get(f, "copy"));
			json_t *l = json_object_get(want, file);

			if (!l) {
				l = json_array();
				json_object_set_new(want, file, l);
			}
			json_array_append_new(l, json_string(copy));
		}
	if (!json_object_size(want))
		goto out;
	snprintf(path, sizeof(path), "%s/pcap", r->dir);
	if (mkdir(path, 0755) && errno != EEXIST) {
		err = kt_err_set(-errno, "cannot create '%s': %s", path, strerror(errno));
		goto out;
	}
	progress(r, "copying the pcap fragments behind the edges");
	if ((err = kt_bundle_rewind(b)))
		goto out;
	while ((n = kt_bundle_next(b, &e)) == 1) {
		json_t *copies = json_object_get(want, e->path), *c;
		char *data = NULL;
		size_t len = 0;

		if (!copies)
			continue;
		if (total + e->size > KT_REPORT_PCAP_MAX)
			continue;	/* the report says which copies are missing */
		if ((err = kt_bundle_read_all(b, KT_REPORT_PCAP_MAX, &data, &len)))
			goto out;
		total += len;
		json_array_foreach(copies, i, c) {
			char name[300];

			snprintf(name, sizeof(name), "pcap/%s", json_string_value(c));
			if ((err = write_file(r, name, data, len)))
				break;
		}
		free(data);
		json_object_set_new(want, e->path, json_null());
		if (err)
			goto out;
	}
	if (n < 0)
		err = n;
	/* fragments whose files were not copied (absent, or over the limit) */
	json_object_foreach((json_t *)evidence, k, a)
		json_array_foreach(a, i, f) {
			const char *file = json_string_value(json_object_get(f, "file"));

			if (!json_is_null(json_object_get(want, file)))
				json_object_set_new(f, "missing", json_true());
		}
out:
	json_decref(want);
	return err;
}

/* Namespaces of the view's nodes, sorted (the nodes are sorted by id). */
static json_t *namespaces(const json_t *topo)
{
	json_t *seen = json_object(), *list = json_array();
	const json_t *n;
	size_t i;

	json_array_foreach(json_object_get(topo, "nodes"), i, n) {
		const char *ns = json_string_value(json_object_get(n, "namespace"));

		if (ns && *ns && !json_object_get(seen, ns)) {
			json_object_set_new(seen, ns, json_true());
			json_array_append_new(list, json_string(ns));
		}
	}
	json_decref(seen);
	{
		size_t cnt = json_array_size(list);

		/* insertion sort of a short list: deterministic, no comparator juggling */
		for (size_t a = 1; a < cnt; a++)
			for (size_t b2 = a; b2 > 0 &&
			     strcmp(json_string_value(json_array_get(list, b2 - 1)),
				    json_string_value(json_array_get(list, b2))) > 0; b2--) {
				json_t *x = json_incref(json_array_get(list, b2 - 1));

				json_array_set(list, b2 - 1, json_array_get(list, b2));
				json_array_set_new(list, b2, x);
			}
	}
	return list;
}

static int build(struct run *r, const char *path, struct kt_bundle *b)
{
	const struct kt_report_opts *o = r->o;
	const json_t *man = kt_bundle_manifest(b);
	const json_t *win = json_object_get(man, "window");
	uint64_t start = (uint64_t)json_integer_value(json_object_get(win, "start_ns"));
	uint64_t end = (uint64_t)json_integer_value(json_object_get(win, "end_ns"));
	struct kt_model_opts mo = { 0 };
	struct kt_view_opts vo = { .level = o->level, .ns = o->ns };
	struct kt_model *m = NULL;
	json_t *topo = NULL, *changes = NULL, *timeline = NULL, *trouble = NULL, *evidence = NULL;
	json_t *diagrams = NULL, *d = NULL, *ats = NULL, *wins = NULL, *gone, *frags = NULL;
	struct kt_model_stats st;
	const char *slash = strrchr(path, '/');
	char *json = NULL, title[300], ts[40];
	int err;

	mo.window_ns = o->window_ns ? o->window_ns : auto_window(end > start ? end - start : 0);
	progress(r, "reading the bundle");
	if ((err = open_model(b, &mo, false, &m)))
		goto out;
	if ((err = kt_model_view(m, &vo, &topo)))
		goto out;
	kt_model_stats(m, &st);
	progress(r, "comparing windows");
	if ((err = kt_report_changes(topo, start, end, &changes)))
		goto out;
	if (!(timeline = json_array())) {
		err = kt_err_set(-ENOMEM, "out of memory");
		goto out;
	}
	if ((err = kt_report_k8s_timeline(kt_model_k8s(m), start, end, timeline)) ||
	    (err = kt_report_trouble(topo, kt_model_k8s(m), &trouble)) ||
	    (err = kt_report_fragments(b, &frags)) ||
	    (err = kt_report_evidence(frags, topo, m, &evidence)))
		goto out;
	/* the windows' changes and first failures, as timeline entries */
	{
		const json_t *w, *x;
		size_t i, j;

		json_array_foreach(json_object_get(changes, "windows"), i, w) {
			static const char *const lists[] = { "new", "gone" };

			for (int l = 0; l < 2; l++)
				json_array_foreach(json_object_get(w, lists[l]), j, x) {
					const json_t *e = json_array_get(json_object_get(topo, "edges"),
									 (size_t)json_integer_value(x));
					char subj[1200], text[200];

					snprintf(subj, sizeof(subj), "%s \u2192 %s",
						 json_string_value(json_object_get(e, "src")),
						 json_string_value(json_object_get(e, "dst")));
					snprintf(text, sizeof(text), "%s %s:%" JSON_INTEGER_FORMAT,
						 l ? "no more connections on" : "first connection on",
						 json_string_value(json_object_get(e, "protocol")),
						 json_integer_value(json_object_get(e, "port")));
					json_array_append_new(timeline, json_pack("{s:O, s:O, s:s, s:s, s:s, s:O}",
						"t_ns", json_object_get(w, "start_ns"), "time",
						json_object_get(w, "start"), "kind", l ? "edge-gone" : "edge-new",
						"subject", subj, "text", text, "edge", x));
				}
		}
		json_array_foreach(json_object_get(topo, "edges"), i, x) {
			const json_t *ww;

			json_array_foreach(json_object_get(x, "windows"), j, ww) {
				char subj[1200], text[300], fb[200];

				if (!kt_report_failed_total(json_object_get(ww, "failed")))
					continue;
				snprintf(subj, sizeof(subj), "%s \u2192 %s",
					 json_string_value(json_object_get(x, "src")),
					 json_string_value(json_object_get(x, "dst")));
				snprintf(text, sizeof(text), "failing on %s:%" JSON_INTEGER_FORMAT ": %s",
					 json_string_value(json_object_get(x, "protocol")),
					 json_integer_value(json_object_get(x, "port")),
					 kt_report_failed_str(json_object_get(ww, "failed"), fb, sizeof(fb)));
				json_array_append_new(timeline, json_pack("{s:O, s:O, s:s, s:s, s:s, s:I}",
					"t_ns", json_object_get(ww, "start_ns"), "time", json_object_get(ww, "start"),
					"kind", "failure", "subject", subj, "text", text, "edge", (json_int_t)i));
			}
		}
	}
	/* failed lookups, at their first */
	{
		const json_t *x;
		size_t i;

		json_array_foreach(json_object_get(topo, "dns_failures"), i, x) {
			char text[400];
			json_int_t n = json_integer_value(json_object_get(x, "count"));

			if (!kt_report_dns_failing(x))
				continue;
			int w = snprintf(text, sizeof(text), "%s for %s (%s)",
					 json_string_value(json_object_get(x, "rcode")),
					 json_string_value(json_object_get(x, "qname")),
					 json_string_value(json_object_get(x, "qtype")));

			if (n > 1 && w > 0 && (size_t)w < sizeof(text))
				snprintf(text + w, sizeof(text) - (size_t)w, ": %" JSON_INTEGER_FORMAT
					 " lookups, the last at %s", n,
					 json_string_value(json_object_get(x, "last_seen")));
			json_array_append_new(timeline, json_pack("{s:O, s:O, s:s, s:O, s:s}",
				"t_ns", json_object_get(x, "first_seen_ns"), "time",
				json_object_get(x, "first_seen"), "kind", "dns-failure",
				"subject", json_object_get(x, "client"), "text", text));
		}
	}
	kt_report_timeline_sort(timeline, KT_REPORT_TIMELINE_MAX);
	gone = json_object_get(changes, "gone");

	/* diagrams: the whole capture; an overview and one per namespace when
	 * there are too many nodes for one drawing to be read */
	if (!(diagrams = json_array())) {
		err = kt_err_set(-ENOMEM, "out of memory");
		goto out;
	}
	if (json_array_size(json_object_get(topo, "nodes")) > KT_REPORT_SPLIT_NODES &&
	    o->level != KT_LEVEL_NAMESPACE && !o->ns && !o->no_split) {
		struct kt_view_opts nvo = { .level = KT_LEVEL_NAMESPACE };
		json_t *ov = NULL, *nss = namespaces(topo), *nt = NULL, *ntr = NULL;
		const json_t *ns;
		size_t i;

		if ((err = kt_model_view(m, &nvo, &nt)) ||
		    (err = kt_report_trouble(nt, kt_model_k8s(m), &ntr)) ||
		    (!(ov = merge_pairs(nt)) && (err = kt_err_set(-ENOMEM, "out of memory"))) ||
		    (err = draw(r, ov, "topology", "all namespaces", ntr, NULL, o->png, NULL, &d))) {
			json_decref(ov);
			json_decref(nt);
			json_decref(ntr);
			json_decref(nss);
			goto out;
		}
		json_decref(ov);
		json_decref(nt);
		nt = NULL;
		json_decref(ntr);
		json_array_append_new(diagrams, d);
		d = NULL;
		json_array_foreach(nss, i, ns) {
			char base[200], safe[120];
			json_t *nc = NULL;

			vo.ns = json_string_value(ns);
			kt_safe_filename(vo.ns, safe, sizeof(safe));
			snprintf(base, sizeof(base), "ns-%03zu-%s", i + 1, safe);
			snprintf(title, sizeof(title), "namespace %s", vo.ns);
			if ((err = kt_model_view(m, &vo, &nt)) ||
			    (err = kt_report_changes(nt, start, end, &nc)) ||
			    (err = draw(r, nt, base, title, trouble, json_object_get(nc, "gone"),
					false, NULL, &d))) {
				json_decref(nt);
				json_decref(nc);
				json_decref(nss);
				goto out;
			}
			json_decref(nt);
			json_decref(nc);
			nt = NULL;
			json_object_set(d, "namespace", (json_t *)ns);
			json_array_append_new(diagrams, d);
			d = NULL;
		}
		vo.ns = o->ns;
		json_decref(nss);
	} else {
		if ((err = draw(r, topo, "topology", "the whole capture", trouble, gone, o->png,
				"edge-", &d)))
			goto out;
		json_array_append_new(diagrams, d);
		d = NULL;
	}

	/* --at moments */
	ats = json_array();
	for (uint32_t i = 0; i < o->nat; i++) {
		struct kt_model_opts amo = { .at = o->at[i] };
		struct kt_model *am = NULL;
		json_t *at = NULL, *atr = NULL;
		char base[40];

		snprintf(title, sizeof(title), "at %s",
			 kt_time_str(o->at[i], ts, sizeof(ts)));
		progress(r, title);
		snprintf(base, sizeof(base), "at-%02u", i + 1);
		if ((err = open_model(b, &amo, true, &am)) || (err = kt_model_view(am, &vo, &at)) ||
		    (err = kt_report_trouble(at, kt_model_k8s(am), &atr)) ||
		    (err = draw(r, at, base, title, atr, NULL, false, NULL, &d))) {
			kt_model_free(am);
			json_decref(at);
			json_decref(atr);
			goto out;
		}
		json_object_set_new(d, "at", json_string(ts));
		json_object_set_new(d, "topology", at);
		json_array_append_new(ats, d);
		d = NULL;
		json_decref(atr);
		kt_model_free(am);
	}

	/* one diagram per window, when asked */
	wins = json_array();
	if (o->per_window) {
		const json_t *w;
		size_t i;

		json_array_foreach(json_object_get(changes, "windows"), i, w) {
			json_t *wt;
			char base[40];

			if (i >= KT_REPORT_WINDOWS_MAX)
				break;
			if (!(wt = window_topo(topo, (uint64_t)json_integer_value(json_object_get(w, "start_ns"))))) {
				err = kt_err_set(-ENOMEM, "out of memory");
				goto out;
			}
			snprintf(base, sizeof(base), "window-%03zu", i + 1);
			snprintf(title, sizeof(title), "window from %s", json_string_value(json_object_get(w, "start")));
			err = draw(r, wt, base, title, NULL, NULL, false, NULL, &d);
			json_decref(wt);
			if (err)
				goto out;
			json_object_set(d, "window", (json_t *)w);
			json_array_append_new(wins, d);
			d = NULL;
		}
	}

	if (json_object_size(evidence) && (err = copy_fragments(r, b, evidence)))
		goto out;

	progress(r, "writing the documents");
	/* byte for byte what `ktana topo --json --window W` prints */
	if (!(json = json_dumps(topo, JSON_INDENT(2) | JSON_PRESERVE_ORDER))) {
		err = kt_err_set(-ENOMEM, "out of memory");
		goto out;
	}
	if ((err = write_file(r, "topology.json", json, strlen(json))) ||
	    (err = append_nl(r, "topology.json")))
		goto out;
	r->ctx = json_pack("{s:s, s:s, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:b, s:I}",
			   "tool", "ktana " KT_VERSION, "bundle", slash ? slash + 1 : path,
			   "manifest", (json_t *)man, "topology", topo, "changes", changes,
			   "timeline", timeline, "trouble", trouble, "evidence", evidence,
			   "diagrams", diagrams, "at", ats, "windows", wins,
			   "spool", kt_bundle_is_spool(b), "window_ns", (json_int_t)mo.window_ns);
	if (r->ctx)
		json_object_set_new(r->ctx, "fragments", json_integer((json_int_t)json_array_size(frags)));
	if (!r->ctx) {
		err = kt_err_set(-ENOMEM, "out of memory");
		goto out;
	}
	json_object_set_new(r->ctx, "stats", json_pack("{s:I, s:I, s:I, s:I}",
		"flow_records", (json_int_t)st.flow_records, "conn_records", (json_int_t)st.conn_records,
		"connections", (json_int_t)st.connections, "k8s_objects", (json_int_t)st.k8s_objects));
	if (kt_bundle_warnings(b))
		json_object_set(r->ctx, "bundle_warnings", (json_t *)kt_bundle_warnings(b));
	if (o->ns)
		json_object_set_new(r->ctx, "namespace", json_string(o->ns));
out:
	free(json);
	json_decref(d);
	json_decref(wins);
	json_decref(ats);
	json_decref(diagrams);
	json_decref(evidence);
	json_decref(frags);
	json_decref(trouble);
	json_decref(timeline);
	json_decref(changes);
	json_decref(topo);
	kt_model_free(m);
	return err;
}

static int write_doc(struct run *r, const char *name, int (*fn)(FILE *, const json_t *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int err;

	if (!f)
		return kt_err_set(-ENOMEM, "out of memory");
	err = fn(f, r->ctx);
	if (fclose(f) && !err)
		err = kt_err_set(-ENOMEM, "out of memory");
	if (!err)
		err = write_file(r, name, buf, len);
	free(buf);
	return err;
}

int kt_report_write(const char *path, const char *dir, const struct kt_report_opts *o)
{
	struct run r = { .o = o, .dir = dir };
	struct kt_bundle *b = NULL;
	int err;

	/* a bundle that cannot be opened leaves no directory behind */
	if ((err = kt_bundle_open(&b, path)))
		goto out;
	if (mkdir(dir, 0755) && errno != EEXIST) {
		err = kt_err_set(-errno, "cannot create '%s': %s", dir, strerror(errno));
		goto out;
	}
	if ((err = build(&r, path, b)))
		goto out;
	if ((err = write_doc(&r, "index.html", kt_report_html)) ||
	    (err = write_doc(&r, "report.md", kt_report_markdown)))
		goto out;
out:
	kt_diagram_cleanup();
	json_decref(r.ctx);
	kt_bundle_close(b);
	return err;
}
