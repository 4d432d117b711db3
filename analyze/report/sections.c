/* sections.c - what index.html and report.md both list, decided once: which
 * items, in what order, how many a document shows, and what it says when
 * there are none or more than it shows. html.c and markdown.c give only
 * their syntax (struct kt_report_syntax) and how one row looks. */
#include "report.h"

bool kt_report_edge_failing(const json_t *edge)
{
	return kt_report_failed_total(json_object_get(edge, "failed")) > 0;
}

size_t kt_report_failing_count(const json_t *topo)
{
	const json_t *e;
	size_t i, n = 0;

	json_array_foreach(json_object_get(topo, "edges"), i, e)
		if (kt_report_edge_failing(e))
			n++;
	return n;
}

/* The items of an array that keep() (NULL: all) as rows of t, at most
 * s->rows_max of them; none: the sentence written instead of an empty
 * table (NULL: the table's head and foot anyway). */
static size_t table(FILE *f, const struct kt_report_syntax *s, const struct kt_report_table *t,
		    const json_t *items, bool (*keep)(const json_t *), const char *none)
{
	const json_t *x;
	size_t i, n = 0, shown = 0;

	json_array_foreach(items, i, x)
		if (!keep || keep(x))
			n++;
	if (!n && none) {
		fputs(s->para_open, f);
		fputs(none, f);
		fputs(s->para_close, f);
		return 0;
	}
	fputs(t->head, f);
	json_array_foreach(items, i, x) {
		if (s->rows_max && shown == s->rows_max)
			break;
		if (keep && !keep(x))
			continue;
		t->row(f, i, x);
		shown++;
	}
	fputs(t->foot, f);
	if (n > shown)
		fprintf(f, "%s%zu more in %s%s", s->more_open, n - shown, t->more_in, s->more_close);
	return n;
}

size_t kt_report_failing_table(FILE *f, const struct kt_report_syntax *s,
			       const struct kt_report_table *t, const json_t *ctx)
{
	return table(f, s, t, json_object_get(json_object_get(ctx, "topology"), "edges"),
		     kt_report_edge_failing, "No connection failed.");
}

size_t kt_report_timeline_table(FILE *f, const struct kt_report_syntax *s,
				const struct kt_report_table *t, const json_t *ctx)
{
	return table(f, s, t, json_object_get(ctx, "timeline"), NULL, "Nothing changed.");
}

size_t kt_report_edges_table(FILE *f, const struct kt_report_syntax *s,
			     const struct kt_report_table *t, const json_t *ctx)
{
	return table(f, s, t, json_object_get(json_object_get(ctx, "topology"), "edges"), NULL, NULL);
}

void kt_report_why(FILE *f, const json_t *edge, int (*text)(FILE *f, const char *s))
{
	const json_t *x;
	size_t i;

	json_array_foreach(json_object_get(edge, "explanations"), i, x) {
		if (i)
			fputs("; ", f);
		text(f, json_string_value(x));
	}
}

bool kt_report_dns_failing(const json_t *lookup)
{
	return !json_is_true(json_object_get(lookup, "search_expansion"));
}

size_t kt_report_dns_table(FILE *f, const struct kt_report_syntax *s,
			   const struct kt_report_table *t, const json_t *ctx)
{
	const json_t *all = json_object_get(json_object_get(ctx, "topology"), "dns_failures"), *x;
	size_t i, tries = 0, n = 0;

	json_array_foreach(all, i, x) {
		if (kt_report_dns_failing(x))
			n++;
		else
			tries += (size_t)json_integer_value(json_object_get(x, "count"));
	}
	if (n || !tries)
		n = table(f, s, t, all, kt_report_dns_failing, "No DNS lookup failed.");
	if (tries)
		fprintf(f, "%s%s%zu NXDOMAIN answers to tries of search domains for names the same "
			"client resolved (topology.json lists them).%s", s->para_open,
			n ? "Not listed: " : "No DNS lookup failed but ", tries, s->para_close);
	return n;
}

void kt_report_trouble_list(FILE *f, const struct kt_report_syntax *s, const char *head,
			    const char *foot, const json_t *ctx)
{
	const json_t *tr = json_object_get(ctx, "trouble"), *v, *x;
	const char *k;
	size_t i;

	if (!json_object_size(tr))
		return;
	fputs(head, f);
	json_object_foreach((json_t *)tr, k, v) {
		fputs(s->item_open, f);
		s->text(f, k);
		fputs(": ", f);
		json_array_foreach(v, i, x) {
			if (i)
				fputs("; ", f);
			s->text(f, json_string_value(x));
		}
		fputs(s->item_close, f);
	}
	fputs(foot, f);
}
