/* markdown.c - DIR/report.md, for pasting into a ticket: the capture, the
 * failing edges, the failed DNS lookups, the nodes in trouble, the timeline and the busiest edges, in
 * Markdown's syntax (sections.c decides what they list). Every string from
 * the bundle goes through kt_esc_md(). */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define S(o, k) json_string_value(json_object_get((o), (k)))
#define I(o, k) json_integer_value(json_object_get((o), (k)))
#define MD_ROWS_MAX 200	/* rows of one table: a ticket, not a database */

static void m(FILE *f, const char *s)
{
	kt_esc_md(f, s);
}

static const struct kt_report_syntax md = {
	.text = kt_esc_md,
	.para_open = "", .para_close = "\n",
	.item_open = "- ", .item_close = "\n",
	.more_open = "\n(", .more_close = ")\n",
	.rows_max = MD_ROWS_MAX,
};

/* "| src | dst | proto:port | connections | failed", the cells an edge
 * starts with in both tables */
static void edge_cells(FILE *f, const json_t *e)
{
	char fb[200];

	fputs("| ", f);
	m(f, S(e, "src"));
	fputs(" | ", f);
	m(f, S(e, "dst"));
	fputs(" | ", f);
	m(f, S(e, "protocol"));
	fprintf(f, ":%" JSON_INTEGER_FORMAT " | %" JSON_INTEGER_FORMAT " | ", I(e, "port"),
		I(e, "connections"));
	m(f, kt_report_failed_str(json_object_get(e, "failed"), fb, sizeof(fb)));
}

static void failing_row(FILE *f, size_t i, const json_t *e)
{
	(void)i;
	edge_cells(f, e);
	fputs(" | ", f);
	m(f, S(e, "first_seen"));
	fputs(" | ", f);
	m(f, S(e, "last_seen"));
	fputs(" | ", f);
	kt_report_why(f, e, kt_esc_md);
	fputs(" |\n", f);
}

static void edge_row(FILE *f, size_t i, const json_t *e)
{
	(void)i;
	edge_cells(f, e);
	fprintf(f, " | %" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT " | ",
		I(e, "bytes_sent"), I(e, "bytes_received"));
	kt_report_why(f, e, kt_esc_md);
	fputs(" |\n", f);
}

static void timeline_row(FILE *f, size_t i, const json_t *t)
{
	(void)i;
	fputs("| ", f);
	m(f, S(t, "time"));
	fputs(" | ", f);
	m(f, S(t, "kind"));
	fputs(" | ", f);
	m(f, S(t, "subject"));
	fputs(" | ", f);
	m(f, S(t, "text"));
	fputs(" |\n", f);
}

static void dns_row(FILE *f, size_t i, const json_t *d)
{
	(void)i;
	fputs("| ", f);
	m(f, S(d, "client"));
	fputs(" | ", f);
	m(f, S(d, "qname"));
	fputs(" | ", f);
	m(f, S(d, "qtype"));
	fputs(" | ", f);
	m(f, S(d, "rcode"));
	fprintf(f, " | %" JSON_INTEGER_FORMAT " | ", I(d, "count"));
	m(f, S(d, "first_seen"));
	fputs(" | ", f);
	m(f, S(d, "last_seen"));
	fputs(" |\n", f);
}

static const struct kt_report_table dns = {
	.head = "| client | name | type | answer | lookups | first seen | last seen |\n"
		"|---|---|---|---|---|---|---|\n",
	.foot = "", .row = dns_row, .more_in = "topology.json",
};

static const struct kt_report_table failing = {
	.head = "| source | destination | port | connections | failed | first seen | last seen "
		"| what the objects say |\n|---|---|---|---|---|---|---|---|\n",
	.foot = "", .row = failing_row, .more_in = "index.html",
};

static const struct kt_report_table timeline = {
	.head = "| time | what | subject | detail |\n|---|---|---|---|\n",
	.foot = "", .row = timeline_row, .more_in = "index.html",
};

static const struct kt_report_table edges = {
	.head = "| source | destination | port | connections | failed | bytes sent/received "
		"| what the objects say |\n|---|---|---|---|---|---|---|\n",
	.foot = "", .row = edge_row, .more_in = "topology.json",
};

int kt_report_markdown(FILE *f, const json_t *ctx)
{
	const json_t *man = json_object_get(ctx, "manifest"), *topo = json_object_get(ctx, "topology");
	const json_t *host = json_object_get(man, "host"), *win = json_object_get(man, "window");
	const json_t *src, *v;
	const char *k;
	size_t i;

	fputs("# ktana report: ", f);
	m(f, S(ctx, "bundle"));
	fputs("\n\n- node: ", f);
	m(f, S(host, "node_name"));
	fputs(" (kernel ", f);
	m(f, S(host, "kernel"));
	fputs(")\n- window: ", f);
	m(f, S(win, "start"));
	fputs(" .. ", f);
	m(f, S(win, "end"));
	fprintf(f, "\n- complete: %s\n- level: ", json_is_true(json_object_get(man, "complete")) ? "yes" : "no");
	m(f, S(topo, "level"));
	fprintf(f, ", %zu nodes, %zu edges\n- sources:", json_array_size(json_object_get(topo, "nodes")),
		json_array_size(json_object_get(topo, "edges")));
	json_object_foreach((json_t *)json_object_get(man, "sources"), k, src) {
		fputs(" ", f);
		m(f, k);
		fputs(" ", f);
		m(f, S(src, "status"));
		if (I(src, "lost"))
			fprintf(f, " (lost %" JSON_INTEGER_FORMAT ")", I(src, "lost"));
		if (S(src, "status") && strcmp(S(src, "status"), "ok") && S(src, "message")) {
			fputs(" (", f);
			m(f, S(src, "message"));
			fputs(")", f);
		}
		fputs(";", f);
	}
	fputs("\n\nDiagram:", f);
	json_array_foreach(json_object_get(json_array_get(json_object_get(ctx, "diagrams"), 0), "files"),
			   i, v) {
		fputs(" `", f);
		m(f, json_string_value(v));
		fputs("`", f);
	}
	fputs("; full report: `index.html`.\n", f);

	fputs("\n## Failing edges\n\n", f);
	kt_report_failing_table(f, &md, &failing, ctx);
	fputs("\n## DNS failures\n\n", f);
	kt_report_dns_table(f, &md, &dns, ctx);
	kt_report_trouble_list(f, &md, "\n## Nodes in trouble\n\n", "", ctx);
	fputs("\n## Timeline\n\n", f);
	kt_report_timeline_table(f, &md, &timeline, ctx);
	fputs("\n## Edges\n\n", f);
	kt_report_edges_table(f, &md, &edges, ctx);
	fputs("\n_Made by ", f);
	m(f, S(ctx, "tool"));
	fputs(" from the bundle alone._\n", f);
	return ferror(f) ? -EIO : 0;
}
