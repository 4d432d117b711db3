/* report.h - `ktana report`: diagrams, index.html, report.md and
 * topology.json from one bundle (docs/report.md describes the output).
 *
 * The pieces, each in its own file:
 *   escape.c   text from the bundle made safe for HTML and Markdown
 *   changes.c  what changed between windows: edges new and gone, and the
 *              Kubernetes side (pods created and deleted, restarts, scaling,
 *              Warning events) as one timeline
 *   trouble.c  which edges fail and which nodes are in trouble
 *   evidence.c the pcap fragments the manifest lists, matched to edges
 *   diagram.c  the graph built with cgraph, laid out and rendered with gvc
 *   sections.c what the two documents both list: which items, in what order,
 *              how many
 *   html.c, markdown.c   the two documents, from one report context (JSON):
 *              only their syntax
 *   report.c   the whole run: model passes, context, files in DIR
 *
 * Library code: never prints; progress goes through a callback. Output is
 * a function of the bundle and the options only (no clock, stable order).
 */
#ifndef KT_REPORT_H
#define KT_REPORT_H

#include <graphviz/cgraph.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model.h"

struct kt_bundle;
struct kt_k8s_index;
struct kt_k8s_object;

#define KT_REPORT_AT_MAX 16		/* --at moments */
#define KT_REPORT_WINDOWS_MAX 48	/* windows drawn one by one */
#define KT_REPORT_AUTO_WINDOWS 12	/* windows of the timeline by default */
#define KT_REPORT_SPLIT_NODES 120	/* above: an overview plus one diagram per namespace */
#define KT_REPORT_PCAP_MAX (256u << 20)	/* bytes of pcap fragments copied */
#define KT_REPORT_TIMELINE_MAX 2000	/* timeline entries kept (the first ones) */

struct kt_report_opts {
	enum kt_level level;		/* KT_LEVEL_WORKLOAD by default */
	const char *ns;			/* only edges touching this namespace */
	uint64_t window_ns;		/* 0: about KT_REPORT_AUTO_WINDOWS windows */
	bool per_window;		/* a diagram per window (--window given) */
	uint64_t at[KT_REPORT_AT_MAX];	/* UTC ns */
	uint32_t nat;
	const char *engine;		/* graphviz layout engine; NULL: by size */
	bool png;			/* also topology.png */
	bool no_split;			/* one diagram, however many nodes */
	/* progress, called with a short line; may be NULL */
	void (*progress)(void *arg, const char *what);
	void *progress_arg;
};

/* Write the report of the bundle at path into dir (created when missing;
 * files of an earlier report are overwritten). */
int kt_report_write(const char *path, const char *dir,
		    const struct kt_report_opts *o);

/* ---- escape.c ----------------------------------------------------------- */

/* Write s escaped for HTML text and attribute values (& < > " '); control
 * characters other than \n and \t become U+FFFD. NULL writes nothing. */
int kt_esc_html(FILE *f, const char *s);
/* Write s escaped for one Markdown table cell or line: characters that
 * Markdown or HTML would read (\ ` * _ [ ] ~ |, and - + # = at the
 * start) are backslash-escaped, < > & entity-encoded, newlines become
 * spaces. */
int kt_esc_md(FILE *f, const char *s);
/* A name made safe as a file name: [A-Za-z0-9._-] kept, others '_', no
 * leading dot, at most len-1 bytes. */
void kt_safe_filename(const char *s, char *out, size_t len);

/* ---- changes.c ---------------------------------------------------------- */

/* A key naming one edge of a topology JSON: "src dst proto port" (caller
 * frees). NULL on allocation failure. */
char *kt_report_edge_key(const json_t *edge);

/* Edges of topo (with windows, window_ns > 0) compared window by window
 * over the capture [start_ns, end_ns): an edge is "new" in the first window
 * it is seen in, when that is not the capture's first window, and "gone"
 * after the last window it is seen in when it stayed quiet to the end for
 * at least two windows and longer than any pause it made before.
 * *out (caller owns): {"windows": [{"index", "start_ns", "start", "end_ns",
 * "connections", "failed", "edges", "new": [edge i...], "gone": [edge i...]}],
 * "gone": [edge i...]} where edge i is the position in topo's edges. */
int kt_report_changes(const json_t *topo, uint64_t start_ns, uint64_t end_ns,
		      json_t **out);

/* The Kubernetes side of the timeline over [start_ns, end_ns]: pods created
 * and deleted, container restarts, replicas scaled (workloads and HPAs),
 * Warning events. Appends {"t_ns", "time", "kind", "subject", "text"} to
 * timeline (an array). */
int kt_report_k8s_timeline(const struct kt_k8s_index *idx, uint64_t start_ns,
			   uint64_t end_ns, json_t *timeline);

/* Sort a timeline by time, kind, subject, text; keep the first max. */
void kt_report_timeline_sort(json_t *timeline, size_t max);

/* ---- trouble.c ---------------------------------------------------------- */

/* Node id -> array of reasons ("refused x3 on tcp:9002", "NXDOMAIN 2 for
 * NAME", "restarted 2 times", "not ready"), from the failing edges and the
 * failed DNS lookups (the client's) of topo and, when idx is
 * not NULL, the pods at the end of the capture (mapped to the view's ids at
 * topo's level). Caller owns *out. */
int kt_report_trouble(const json_t *topo, const struct kt_k8s_index *idx,
		      json_t **out);

/* A pod's readiness: its Ready condition, or when it has none (dumps that
 * lost it) all its containers ready. */
bool kt_report_pod_ready(const struct kt_k8s_object *p);
/* "refused 3, timeout 1" for an edge's failed object into buf. */
const char *kt_report_failed_str(const json_t *failed, char *buf, size_t len);
uint64_t kt_report_failed_total(const json_t *failed);

/* ---- evidence.c --------------------------------------------------------- */

/* The pcap fragments of the bundle: the lines of pcap/fragments.jsonl,
 * else the manifest's sources.pcap.fragments (docs/report.md, "Evidence").
 * Rewinds b. Caller owns *out (an array, maybe empty). */
int kt_report_fragments(struct kt_bundle *b, json_t **out);

/* The fragments behind each edge of topo: {"<edge i>": [fragment...]}, a
 * fragment being its object plus "copy" (the file name inside the report's
 * pcap/ directory). m: the model whose entities match addresses to the
 * view's ids (NULL: nothing matches). Caller owns *out. */
int kt_report_evidence(const json_t *fragments, const json_t *topo,
		       const struct kt_model *m, json_t **out);

/* ---- diagram.c ---------------------------------------------------------- */

struct kt_diagram_opts {
	const char *title;
	const json_t *trouble;	/* node id -> reasons, or NULL */
	const json_t *gone;	/* array of edge positions drawn dashed, or NULL */
	const char *engine;	/* NULL: dot when small, sfdp when large */
	const char *link_prefix;	/* edges link to "#<prefix><i>", or NULL */
};

/* The graph of topo (caller frees with agclose). */
int kt_diagram_build(const json_t *topo, const struct kt_diagram_opts *o,
		     Agraph_t **out);
/* The engine kt_diagram_render() uses for g when none is asked. */
const char *kt_diagram_engine(Agraph_t *g);
/* Lay g out with engine (NULL: kt_diagram_engine) and render it to each of
 * formats ("svg", "png"...): data[i], len[i] are the caller's to free()
 * (NULL when formats[i] is NULL). The graph's layout is freed after. */
int kt_diagram_render(Agraph_t *g, const char *engine, const char *const *formats,
		      size_t n, char **data, size_t *len);
/* Free the graphviz context the functions above share (made on first use;
 * kt_report_write() frees it when done). */
void kt_diagram_cleanup(void);
/* The graph as DOT, without layout (caller frees). */
int kt_diagram_dot(Agraph_t *g, char **data, size_t *len);

/* ---- sections.c --------------------------------------------------------- */

/* How a document writes what sections.c lists (html.c and markdown.c each
 * have one). The strings are written as they are. */
struct kt_report_syntax {
	int (*text)(FILE *f, const char *s);	/* text from the bundle, escaped */
	const char *para_open, *para_close;	/* around a sentence */
	const char *item_open, *item_close;	/* around a line of a list */
	const char *more_open, *more_close;	/* around "N more in FILE" */
	size_t rows_max;			/* rows of one table; 0: all */
};

/* One table of a document, in its syntax. */
struct kt_report_table {
	const char *head;	/* before the first row: the column names */
	const char *foot;	/* after the last row */
	/* row i of the list: item i of the context's array */
	void (*row)(FILE *f, size_t i, const json_t *item);
	const char *more_in;	/* the file that has the rows past rows_max */
};

/* An edge of a topology JSON with a failed connection. */
bool kt_report_edge_failing(const json_t *edge);
/* The number of such edges in topo. */
size_t kt_report_failing_count(const json_t *topo);

/* The tables of a report context: the failing edges, the timeline, every
 * edge, each in the topology's (timeline's) order. A table with no row is
 * a sentence that says so instead (every edge: the empty table). Each
 * returns the number of items of its list, shown or not. */
size_t kt_report_failing_table(FILE *f, const struct kt_report_syntax *s,
			       const struct kt_report_table *t, const json_t *ctx);
size_t kt_report_timeline_table(FILE *f, const struct kt_report_syntax *s,
				const struct kt_report_table *t, const json_t *ctx);
size_t kt_report_edges_table(FILE *f, const struct kt_report_syntax *s,
			     const struct kt_report_table *t, const json_t *ctx);
/* The failed DNS lookups (topology dns_failures) but search expansions,
 * and a sentence counting those; "No DNS lookup failed." when there is
 * neither. Returns the number listed, shown or not. */
size_t kt_report_dns_table(FILE *f, const struct kt_report_syntax *s,
			   const struct kt_report_table *t, const json_t *ctx);
/* An edge's explanations (topology edges[].explanations), "; " between
 * them, each through text (the document's escaping); nothing when none. */
void kt_report_why(FILE *f, const json_t *edge, int (*text)(FILE *f, const char *s));
/* A failed lookup that means something: not a search domain's try. */
bool kt_report_dns_failing(const json_t *lookup);
/* The nodes in trouble, "node: reason; reason" a line, after head and
 * before foot; nothing at all when there are none. */
void kt_report_trouble_list(FILE *f, const struct kt_report_syntax *s, const char *head,
			    const char *foot, const json_t *ctx);

/* ---- html.c, markdown.c ------------------------------------------------- */

/* The report context (built by report.c, docs/report.md) as documents. */
int kt_report_html(FILE *f, const json_t *ctx);
int kt_report_markdown(FILE *f, const json_t *ctx);

#endif
