/* html.c - DIR/index.html: one self-contained page that works offline (the
 * SVG inline, CSS inline, no script, nothing fetched). Every string that
 * comes from the bundle goes through kt_esc_html(); the inline SVG is
 * graphviz's, which escapes the labels and tooltips it writes. */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "manifest.h"

#define S(o, k) json_string_value(json_object_get((o), (k)))
#define I(o, k) json_integer_value(json_object_get((o), (k)))

static void h(FILE *f, const char *s)
{
	kt_esc_html(f, s);
}

static const struct kt_report_syntax html = {
	.text = kt_esc_html,
	.para_open = "<p>", .para_close = "</p>\n",
	.item_open = "<li>", .item_close = "</li>\n",
	.more_open = "<p>", .more_close = "</p>\n",
	.rows_max = 0,	/* a page holds them all */
};

static const char css[] =
	"body{font-family:sans-serif;margin:1.5em;color:#1d2327;max-width:1400px}"
	"h1{font-size:1.5em}h2{border-bottom:1px solid #ccd;padding-bottom:.2em;margin-top:2em}"
	"table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #d5d9de;padding:.25em .5em;"
	"text-align:left;vertical-align:top;font-size:.9em}th{background:#f3f5f7}"
	".bad{color:#c62828;font-weight:bold}.warn{color:#a15c00}.muted{color:#6b7280}"
	".diagram{overflow:auto;border:1px solid #d5d9de;padding:.5em;max-height:90vh}"
	".diagram svg{max-width:none;height:auto}"
	"code{font-size:.9em}tr:target{background:#fff7d6}"
	".legend span{margin-right:1.2em}";

/* Graphviz's SVG without the XML prolog, doctype and comments (which name
 * graphviz's version and the graph's title). */
static void svg_inline(FILE *f, const char *svg)
{
	const char *p = svg ? strstr(svg, "<svg") : NULL;

	while (p && *p) {
		const char *c = strstr(p, "<!--");

		if (!c) {
			fputs(p, f);
			break;
		}
		fwrite(p, 1, (size_t)(c - p), f);
		p = strstr(c + 4, "-->");
		p = p ? p + 3 : NULL;
	}
}

static void duration(FILE *f, uint64_t ns)
{
	if (ns >= 60000000000ull)
		fprintf(f, "%" PRIu64 " min %" PRIu64 " s", ns / UINT64_C(60000000000), ns / UINT64_C(1000000000) % 60);
	else
		fprintf(f, "%.3f s", (double)ns / 1e9);
}

static void summary(FILE *f, const json_t *ctx)
{
	const json_t *man = json_object_get(ctx, "manifest");
	const json_t *host = json_object_get(man, "host"), *win = json_object_get(man, "window");
	const json_t *tool = json_object_get(man, "tool"), *src, *v, *w;
	const char *k, *kk;
	size_t i;

	fputs("<h2 id=\"summary\">Capture</h2>\n<table>\n", f);
	fputs("<tr><th>bundle</th><td>", f);
	h(f, S(ctx, "bundle"));
	fputs("</td></tr>\n<tr><th>node</th><td>", f);
	h(f, S(host, "node_name"));
	fputs(" <span class=\"muted\">(host ", f);
	h(f, S(host, "hostname"));
	fputs(", kernel ", f);
	h(f, S(host, "kernel"));
	fputs(")</span></td></tr>\n<tr><th>window</th><td>", f);
	h(f, S(win, "start"));
	fputs(" .. ", f);
	h(f, S(win, "end"));
	if (I(win, "end_ns") > I(win, "start_ns")) {
		fputs(" (", f);
		duration(f, (uint64_t)(I(win, "end_ns") - I(win, "start_ns")));
		fputs(")", f);
	}
	fputs("</td></tr>\n<tr><th>recorded by</th><td>", f);
	h(f, S(tool, "name"));
	fputc(' ', f);
	h(f, S(tool, "version"));
	if (S(man, "origin")) {
		fputs(" (", f);
		h(f, S(man, "origin"));
		fputs(")", f);
	}
	fputs("</td></tr>\n<tr><th>complete</th><td>", f);
	if (json_is_true(json_object_get(man, "complete")))
		fputs("yes", f);
	else
		fputs("<span class=\"warn\">no: the recording did not end cleanly</span>", f);
	if (S(man, "stop_reason")) {
		fputs(" (stopped by ", f);
		h(f, S(man, "stop_reason"));
		fputs(")", f);
	}
	fputs("</td></tr>\n</table>\n<h3>Sources</h3>\n<table>\n"
	      "<tr><th>source</th><th>status</th><th>message</th><th>lost, denied, details</th></tr>\n", f);
	json_object_foreach((json_t *)json_object_get(man, "sources"), k, src) {
		const char *status = S(src, "status");
		bool bad = status && strcmp(status, "ok");

		fputs("<tr><td>", f);
		h(f, k);
		fprintf(f, "</td><td%s>", bad ? " class=\"warn\"" : "");
		h(f, status);
		fputs("</td><td>", f);
		h(f, S(src, "message"));
		fputs("</td><td>", f);
		/* what a source says it lost or was refused, first */
		json_object_foreach((json_t *)src, kk, v) {
			bool lossy = strstr(kk, "lost") || strstr(kk, "drop") || strstr(kk, "denied") ||
				     strstr(kk, "fail") || strstr(kk, "error");

			if (!strcmp(kk, "status") || !strcmp(kk, "message") || !strcmp(kk, "fragments") ||
			    !(json_is_integer(v) || json_is_string(v) || json_is_boolean(v)))
				continue;
			fprintf(f, "<span%s>", lossy && (json_is_string(v) || json_integer_value(v)) ?
				" class=\"bad\"" : "");
			h(f, kk);
			fputs(": ", f);
			if (json_is_integer(v))
				fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
			else if (json_is_string(v))
				h(f, json_string_value(v));
			else
				fputs(json_is_true(v) ? "yes" : "no", f);
			fputs("</span><br>", f);
		}
		/* lists (errors of calls denied or failed, interfaces...): the first
		 * few, each as its scalar fields */
		json_object_foreach((json_t *)src, kk, v) {
			const json_t *item;
			size_t j;

			if (!json_is_array(v))
				continue;
			fprintf(f, "<span%s>", strstr(kk, "error") || strstr(kk, "denied") ?
				" class=\"bad\"" : "");
			h(f, kk);
			fprintf(f, ": %zu</span><br>", json_array_size(v));
			if (!strcmp(kk, "fragments"))
				continue;
			json_array_foreach(v, j, item) {
				const char *ik;
				const json_t *iv;
				bool first = true;

				if (j == 10) {
					fprintf(f, "&hellip; %zu more<br>", json_array_size(v) - 10);
					break;
				}
				fputs("<span class=\"muted\">&middot; ", f);
				if (json_is_string(item))
					h(f, json_string_value(item));
				json_object_foreach((json_t *)item, ik, iv) {
					if (!strcmp(ik, "ts_ns") || !(json_is_string(iv) || json_is_integer(iv)))
						continue;
					fputs(first ? "" : ", ", f);
					first = false;
					h(f, ik);
					fputc('=', f);
					if (json_is_string(iv))
						h(f, json_string_value(iv));
					else
						fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(iv));
				}
				fputs("</span><br>", f);
			}
		}
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
	w = json_object_get(man, "warnings");
	if (json_array_size(w) || json_array_size(json_object_get(ctx, "bundle_warnings"))) {
		fputs("<h3>Warnings</h3>\n<ul>\n", f);
		json_array_foreach(w, i, v) {
			fputs("<li>", f);
			h(f, json_string_value(v));
			fputs("</li>\n", f);
		}
		json_array_foreach(json_object_get(ctx, "bundle_warnings"), i, v) {
			fputs("<li>", f);
			h(f, json_is_string(v) ? json_string_value(v) : S(v, "message"));
			fputs("</li>\n", f);
		}
		fputs("</ul>\n", f);
	}
}

static void edge_cell(FILE *f, const json_t *e)
{
	h(f, S(e, "src"));
	fputs(" &rarr; ", f);
	h(f, S(e, "dst"));
}

static void diagram(FILE *f, const json_t *d)
{
	const json_t *x;
	size_t i;

	fputs("<h3>", f);
	h(f, S(d, "title"));
	fputs("</h3>\n<p class=\"muted\">", f);
	fprintf(f, "%" JSON_INTEGER_FORMAT " nodes, %" JSON_INTEGER_FORMAT " edges, laid out by ",
		I(d, "nodes"), I(d, "edges"));
	h(f, S(d, "engine"));
	fputs("; files:", f);
	json_array_foreach(json_object_get(d, "files"), i, x) {
		fputs(" <a href=\"", f);
		h(f, json_string_value(x));
		fputs("\">", f);
		h(f, json_string_value(x));
		fputs("</a>", f);
	}
	fputs("</p>\n<div class=\"diagram\">\n", f);
	svg_inline(f, S(d, "svg"));
	fputs("</div>\n", f);
}

static void failing_row(FILE *f, size_t i, const json_t *e)
{
	char fb[200];

	fprintf(f, "<tr class=\"failing-edge\"><td><a href=\"#edge-%zu\">", i);
	edge_cell(f, e);
	fputs("</a></td><td>", f);
	h(f, S(e, "protocol"));
	fprintf(f, ":%" JSON_INTEGER_FORMAT "</td><td>%" JSON_INTEGER_FORMAT
		"</td><td class=\"bad\">", I(e, "port"), I(e, "connections"));
	h(f, kt_report_failed_str(json_object_get(e, "failed"), fb, sizeof(fb)));
	fputs("</td><td>", f);
	h(f, S(e, "first_seen"));
	fputs("</td><td>", f);
	h(f, S(e, "last_seen"));
	fputs("</td><td>", f);
	kt_report_why(f, e, kt_esc_html);
	fputs("</td></tr>\n", f);
}

static const struct kt_report_table failing = {
	.head = "<table class=\"failing\">\n<tr><th>edge</th><th>port</th><th>connections</th>"
		"<th>failed</th><th>first seen</th><th>last seen</th><th>what the objects say"
		"</th></tr>\n",
	.foot = "</table>\n", .row = failing_row,
};

static void dns_row(FILE *f, size_t i, const json_t *d)
{
	(void)i;
	fputs("<tr><td>", f);
	h(f, S(d, "client"));
	fputs("</td><td>", f);
	h(f, S(d, "qname"));
	fputs("</td><td>", f);
	h(f, S(d, "qtype"));
	fputs("</td><td class=\"bad\">", f);
	h(f, S(d, "rcode"));
	fputs("</td><td>", f);
	h(f, S(d, "server"));
	fprintf(f, "</td><td>%" JSON_INTEGER_FORMAT "</td><td>", I(d, "count"));
	h(f, S(d, "first_seen"));
	fputs("</td><td>", f);
	h(f, S(d, "last_seen"));
	fputs("</td></tr>\n", f);
}

static const struct kt_report_table dns_table = {
	.head = "<table class=\"dns\">\n<tr><th>client</th><th>name</th><th>type</th>"
		"<th>answer</th><th>server</th><th>lookups</th><th>first seen</th>"
		"<th>last seen</th></tr>\n",
	.foot = "</table>\n", .row = dns_row,
};

static void timeline_row(FILE *f, size_t i, const json_t *t)
{
	const char *kind = S(t, "kind");
	bool bad = kind && (!strcmp(kind, "failure") || !strcmp(kind, "dns-failure") ||
			    !strcmp(kind, "warning") ||
			    !strcmp(kind, "restart") || !strcmp(kind, "not-ready"));

	(void)i;
	fputs("<tr><td>", f);
	h(f, S(t, "time"));
	fprintf(f, "</td><td%s>", bad ? " class=\"bad\"" : "");
	h(f, kind);
	fputs("</td><td>", f);
	if (json_is_integer(json_object_get(t, "edge")))
		fprintf(f, "<a href=\"#edge-%" JSON_INTEGER_FORMAT "\">", I(t, "edge"));
	h(f, S(t, "subject"));
	if (json_is_integer(json_object_get(t, "edge")))
		fputs("</a>", f);
	fputs("</td><td>", f);
	h(f, S(t, "text"));
	fputs("</td></tr>\n", f);
}

static const struct kt_report_table timeline_table = {
	.head = "<table class=\"timeline\">\n<tr><th>time</th><th>what</th><th>subject</th>"
		"<th>detail</th></tr>\n",
	.foot = "</table>\n", .row = timeline_row,
};

static void timeline(FILE *f, const json_t *ctx)
{
	const json_t *w, *chg = json_object_get(ctx, "changes");
	size_t i;

	fputs("<h2 id=\"timeline\">Timeline</h2>\n", f);
	fputs("<table>\n<tr><th>window from</th><th>connections</th><th>failed</th><th>edges</th>"
	      "<th>new edges</th><th>edges gone</th></tr>\n", f);
	json_array_foreach(json_object_get(chg, "windows"), i, w) {
		fputs("<tr><td>", f);
		h(f, S(w, "start"));
		fprintf(f, "</td><td>%" JSON_INTEGER_FORMAT "</td><td%s>%" JSON_INTEGER_FORMAT
			"</td><td>%" JSON_INTEGER_FORMAT "</td><td>%zu</td><td>%zu</td></tr>\n",
			I(w, "connections"), I(w, "failed") ? " class=\"bad\"" : "", I(w, "failed"),
			I(w, "edges"), json_array_size(json_object_get(w, "new")),
			json_array_size(json_object_get(w, "gone")));
	}
	fputs("</table>\n", f);
	kt_report_timeline_table(f, &html, &timeline_table, ctx);
}

/* "tcp 198.18.0.16:44413 -> 198.18.0.15:9002 refused, reset (4 packets)" */
static void fragment_detail(FILE *f, const json_t *x)
{
	const json_t *t = json_is_object(json_object_get(x, "flow")) ? json_object_get(x, "flow") : x;
	const json_t *r = json_object_get(x, "reasons"), *v;
	size_t i;

	h(f, S(t, "src"));
	fprintf(f, ":%" JSON_INTEGER_FORMAT " &rarr; ", I(t, "sport"));
	h(f, S(t, "dst"));
	fprintf(f, ":%" JSON_INTEGER_FORMAT " ", I(t, "dport"));
	h(f, S(x, "reason"));
	json_array_foreach(r, i, v) {
		if (i)
			fputs(", ", f);
		h(f, json_string_value(v));
	}
	if (I(x, "packets"))
		fprintf(f, " (%" JSON_INTEGER_FORMAT " packets)", I(x, "packets"));
	if (json_is_false(json_object_get(x, "complete")))
		fputs(" (incomplete: the ring no longer reached back to its start)", f);
}

static void evidence(FILE *f, const json_t *ctx)
{
	const json_t *topo = json_object_get(ctx, "topology"), *e, *x;
	const json_t *ev = json_object_get(ctx, "evidence");
	bool have_pcap = I(ctx, "fragments") > 0;
	size_t i, j;
	char fb[200], key[32];

	fputs("<h2 id=\"edges\">Edges and their evidence</h2>\n", f);
	if (!have_pcap)
		fputs("<p class=\"muted\">This bundle has no packet capture fragments: the evidence is the "
		      "flow events' counts and times.</p>\n", f);
	fputs("<table>\n<tr><th>#</th><th>edge</th><th>port</th><th>connections</th><th>established</th>"
	      "<th>failed</th><th>bytes sent / received</th><th>retransmits</th><th>first seen</th>"
	      "<th>last seen</th><th>served by</th><th>packets</th><th>what the objects say</th>"
	      "</tr>\n", f);
	json_array_foreach(json_object_get(topo, "edges"), i, e) {
		const json_t *frags;

		snprintf(key, sizeof(key), "%zu", i);
		frags = json_object_get(ev, key);
		fprintf(f, "<tr id=\"edge-%zu\"><td>%zu</td><td>", i, i);
		edge_cell(f, e);
		fputs("</td><td>", f);
		h(f, S(e, "protocol"));
		fprintf(f, ":%" JSON_INTEGER_FORMAT "</td><td>%" JSON_INTEGER_FORMAT "</td><td>%"
			JSON_INTEGER_FORMAT "</td><td%s>", I(e, "port"), I(e, "connections"),
			I(e, "established"),
			kt_report_edge_failing(e) ? " class=\"bad\"" : "");
		h(f, kt_report_failed_str(json_object_get(e, "failed"), fb, sizeof(fb)));
		fprintf(f, "</td><td>%" JSON_INTEGER_FORMAT " / %" JSON_INTEGER_FORMAT "</td><td>%"
			JSON_INTEGER_FORMAT "</td><td>", I(e, "bytes_sent"), I(e, "bytes_received"),
			I(e, "retransmits"));
		h(f, S(e, "first_seen"));
		fputs("</td><td>", f);
		h(f, S(e, "last_seen"));
		fputs("</td><td>", f);
		json_array_foreach(json_object_get(e, "backends"), j, x) {
			h(f, S(x, "id"));
			fprintf(f, ":%" JSON_INTEGER_FORMAT " (%" JSON_INTEGER_FORMAT ")<br>",
				I(x, "port"), I(x, "connections"));
		}
		if (I(e, "unknown_backend"))
			fprintf(f, "unknown (%" JSON_INTEGER_FORMAT ")", I(e, "unknown_backend"));
		fputs("</td><td>", f);
		json_array_foreach(frags, j, x) {
			if (json_is_true(json_object_get(x, "missing"))) {
				h(f, S(x, "file"));
				fputs(" (not in the bundle)", f);
			} else {
				fputs("<a href=\"pcap/", f);
				h(f, S(x, "copy"));
				fputs("\">", f);
				h(f, S(x, "copy"));
				fputs("</a>", f);
			}
			fputs(" <span class=\"muted\">", f);
			fragment_detail(f, x);
			fputs("</span><br>", f);
		}
		if (!json_array_size(frags))
			fputs(have_pcap ? "none for this edge" : "none", f);
		fputs("</td><td>", f);
		kt_report_why(f, e, kt_esc_html);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

int kt_report_html(FILE *f, const json_t *ctx)
{
	const json_t *topo = json_object_get(ctx, "topology"), *d;
	size_t i, nfail = kt_report_failing_count(topo), ndns = 0;

	json_array_foreach(json_object_get(topo, "dns_failures"), i, d)
		if (kt_report_dns_failing(d))
			ndns += (size_t)I(d, "count");

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'; img-src data:\">\n<title>ktana report: ", f);
	h(f, S(ctx, "bundle"));
	fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>ktana report: ", css);
	h(f, S(ctx, "bundle"));
	fputs("</h1>\n<p>", f);
	fprintf(f, "%zu nodes and %zu edges at the <b>", json_array_size(json_object_get(topo, "nodes")),
		json_array_size(json_object_get(topo, "edges")));
	h(f, S(topo, "level"));
	fputs("</b> level", f);
	if (S(ctx, "namespace")) {
		fputs(" touching namespace ", f);
		h(f, S(ctx, "namespace"));
	}
	fprintf(f, "; <a href=\"#failing\"%s>%zu failing</a>", nfail ? " class=\"bad\"" : "", nfail);
	if (ndns)
		fprintf(f, "; <a href=\"#dns\" class=\"bad\">%zu failed DNS lookup%s</a>", ndns,
			ndns == 1 ? "" : "s");
	fprintf(f, "; %zu gone before the end. ",
		json_array_size(json_object_get(json_object_get(ctx, "changes"), "gone")));
	fputs("<a href=\"#summary\">capture</a> &middot; <a href=\"#topology\">topology</a> &middot; "
	      "<a href=\"#failing\">failing edges</a> &middot; <a href=\"#dns\">DNS</a> &middot; "
	      "<a href=\"#timeline\">timeline</a> &middot; "
	      "<a href=\"#edges\">evidence</a> &middot; <a href=\"report.md\">report.md</a> &middot; "
	      "<a href=\"topology.json\">topology.json</a></p>\n", f);
	summary(f, ctx);
	fputs("<h2 id=\"topology\">Topology</h2>\n<p class=\"legend\"><span>&#9645; workload or pod"
	      "</span><span>&#11053; service</span><span>&#11041; outside the cluster</span>"
	      "<span class=\"bad\">red: failing edge, or a node in trouble (!)</span>"
	      "<span class=\"muted\">dashed: no connection in the last windows</span></p>\n", f);
	json_array_foreach(json_object_get(ctx, "diagrams"), i, d)
		diagram(f, d);
	fputs("<h2 id=\"failing\">Failing edges</h2>\n", f);
	kt_report_failing_table(f, &html, &failing, ctx);
	kt_report_trouble_list(f, &html, "<h3>Nodes in trouble</h3>\n<ul>\n", "</ul>\n", ctx);
	fputs("<h2 id=\"dns\">DNS failures</h2>\n", f);
	kt_report_dns_table(f, &html, &dns_table, ctx);
	timeline(f, ctx);
	if (json_array_size(json_object_get(ctx, "at"))) {
		fputs("<h2 id=\"at\">At chosen moments</h2>\n", f);
		json_array_foreach(json_object_get(ctx, "at"), i, d)
			diagram(f, d);
	}
	if (json_array_size(json_object_get(ctx, "windows"))) {
		fputs("<h2 id=\"windows\">Window by window</h2>\n", f);
		json_array_foreach(json_object_get(ctx, "windows"), i, d) {
			const json_t *w = json_object_get(d, "window"), *x2;
			size_t j;

			fputs("<details><summary>", f);
			h(f, S(d, "title"));
			fprintf(f, ": %" JSON_INTEGER_FORMAT " connections, %" JSON_INTEGER_FORMAT
				" failed, %zu edges new, %zu gone</summary>\n", I(w, "connections"),
				I(w, "failed"), json_array_size(json_object_get(w, "new")),
				json_array_size(json_object_get(w, "gone")));
			/* what changed from the window before */
			json_array_foreach(json_object_get(w, "new"), j, x2) {
				const json_t *e = json_array_get(json_object_get(topo, "edges"),
								 (size_t)json_integer_value(x2));

				fprintf(f, "<p class=\"muted\">new: <a href=\"#edge-%" JSON_INTEGER_FORMAT "\">",
					json_integer_value(x2));
				edge_cell(f, e);
				fputs("</a></p>\n", f);
			}
			json_array_foreach(json_object_get(w, "gone"), j, x2) {
				const json_t *e = json_array_get(json_object_get(topo, "edges"),
								 (size_t)json_integer_value(x2));

				fprintf(f, "<p class=\"muted\">gone: <a href=\"#edge-%" JSON_INTEGER_FORMAT "\">",
					json_integer_value(x2));
				edge_cell(f, e);
				fputs("</a></p>\n", f);
			}
			diagram(f, d);
			fputs("</details>\n", f);
		}
	}
	evidence(f, ctx);
	fputs("<p class=\"muted\">Made by ", f);
	h(f, S(ctx, "tool"));
	fputs(" from the bundle alone.</p>\n</body>\n</html>\n", f);
	return ferror(f) ? -EIO : 0;
}
