/* markdown.c - DIR/report.md, for pasting into a ticket: the capture, the
 * failing edges, the nodes in trouble, the timeline and the busiest edges.
 * Every string from the bundle goes through kt_esc_md(). */
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

int kt_report_markdown(FILE *f, const json_t *ctx)
{
	const json_t *man = json_object_get(ctx, "manifest"), *topo = json_object_get(ctx, "topology");
	const json_t *host = json_object_get(man, "host"), *win = json_object_get(man, "window");
	const json_t *e, *src, *t, *v;
	const char *k;
	size_t i, n = 0;
	char fb[200];

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
	json_array_foreach(json_object_get(topo, "edges"), i, e) {
		if (!kt_report_failed_total(json_object_get(e, "failed")))
			continue;
		if (!n++)
			fputs("| source | destination | port | connections | failed | first seen | last seen |\n"
			      "|---|---|---|---|---|---|---|\n", f);
		if (n > MD_ROWS_MAX)
			continue;
		fputs("| ", f);
		m(f, S(e, "src"));
		fputs(" | ", f);
		m(f, S(e, "dst"));
		fputs(" | ", f);
		m(f, S(e, "protocol"));
		fprintf(f, ":%" JSON_INTEGER_FORMAT " | %" JSON_INTEGER_FORMAT " | ", I(e, "port"),
			I(e, "connections"));
		m(f, kt_report_failed_str(json_object_get(e, "failed"), fb, sizeof(fb)));
		fputs(" | ", f);
		m(f, S(e, "first_seen"));
		fputs(" | ", f);
		m(f, S(e, "last_seen"));
		fputs(" |\n", f);
	}
	if (!n)
		fputs("No connection failed.\n", f);
	else if (n > MD_ROWS_MAX)
		fprintf(f, "\n(%zu more in index.html)\n", n - MD_ROWS_MAX);

	if (json_object_size(json_object_get(ctx, "trouble"))) {
		fputs("\n## Nodes in trouble\n\n", f);
		json_object_foreach((json_t *)json_object_get(ctx, "trouble"), k, v) {
			const json_t *x;
			size_t j;

			fputs("- ", f);
			m(f, k);
			fputs(": ", f);
			json_array_foreach(v, j, x) {
				if (j)
					fputs("; ", f);
				m(f, json_string_value(x));
			}
			fputs("\n", f);
		}
	}

	fputs("\n## Timeline\n\n", f);
	if (!json_array_size(json_object_get(ctx, "timeline")))
		fputs("Nothing changed.\n", f);
	else
		fputs("| time | what | subject | detail |\n|---|---|---|---|\n", f);
	json_array_foreach(json_object_get(ctx, "timeline"), i, t) {
		if (i == MD_ROWS_MAX) {
			fprintf(f, "\n(%zu more in index.html)\n",
				json_array_size(json_object_get(ctx, "timeline")) - MD_ROWS_MAX);
			break;
		}
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

	fputs("\n## Edges\n\n| source | destination | port | connections | failed | bytes sent/received |\n"
	      "|---|---|---|---|---|---|\n", f);
	json_array_foreach(json_object_get(topo, "edges"), i, e) {
		if (i == MD_ROWS_MAX) {
			fprintf(f, "\n(%zu more in topology.json)\n",
				json_array_size(json_object_get(topo, "edges")) - MD_ROWS_MAX);
			break;
		}
		fputs("| ", f);
		m(f, S(e, "src"));
		fputs(" | ", f);
		m(f, S(e, "dst"));
		fputs(" | ", f);
		m(f, S(e, "protocol"));
		fprintf(f, ":%" JSON_INTEGER_FORMAT " | %" JSON_INTEGER_FORMAT " | ", I(e, "port"),
			I(e, "connections"));
		m(f, kt_report_failed_str(json_object_get(e, "failed"), fb, sizeof(fb)));
		fprintf(f, " | %" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT " |\n",
			I(e, "bytes_sent"), I(e, "bytes_received"));
	}
	fputs("\n_Made by ", f);
	m(f, S(ctx, "tool"));
	fputs(" from the bundle alone._\n", f);
	return ferror(f) ? -EIO : 0;
}
