/* fuzz_report.c - the report's documents from any manifest and topology:
 * the input is a JSON object {"manifest": ..., "topology": ...} (anything
 * else is taken as the manifest, with an empty topology). The manifest is
 * the bundle's, untrusted (sources, warnings, pcap fragments); the topology
 * is what the model makes, but the code that reads it should not trust its
 * shape either. Window changes, trouble, evidence, the graph and its DOT,
 * then index.html and report.md into /dev/null. No layout: graphviz's own
 * code is not ours to fuzz, and it takes seconds per input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *in = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	json_t *man, *topo, *changes = NULL, *trouble = NULL, *evidence = NULL, *ctx, *tl;
	const json_t *win;
	Agraph_t *g = NULL;
	FILE *null;

	if (!in)
		return 0;
	man = json_object_get(in, "manifest") ? json_object_get(in, "manifest") : in;
	topo = json_object_get(in, "topology");
	topo = topo ? json_incref(topo) : json_pack("{s:[], s:[]}", "nodes", "edges");
	win = json_object_get(man, "window");
	if (json_integer_value(json_object_get(topo, "window_ns")) > 1000)
		kt_report_changes(topo, (uint64_t)json_integer_value(json_object_get(win, "start_ns")),
				  (uint64_t)json_integer_value(json_object_get(win, "end_ns")), &changes);
	kt_report_trouble(topo, NULL, &trouble);
	kt_report_evidence(json_object_get(json_object_get(json_object_get(man, "sources"), "pcap"),
					   "fragments"), topo, NULL, &evidence);
	tl = json_deep_copy(json_object_get(in, "timeline"));
	if (json_is_array(tl))
		kt_report_timeline_sort(tl, 100);
	if (json_array_size(json_object_get(topo, "nodes")) <= 64) {
		struct kt_diagram_opts o = { .title = "fuzz", .trouble = trouble,
					     .gone = json_object_get(changes, "gone"),
					     .link_prefix = "edge-" };

		if (!kt_diagram_build(topo, &o, &g)) {
			char *dot = NULL;
			size_t len = 0;

			if (!kt_diagram_dot(g, &dot, &len))
				free(dot);
			agclose(g);
		}
	}
	ctx = json_pack("{s:s, s:s, s:O, s:O, s:o?, s:o?, s:o?, s:o?, s:[], s:[], s:[]}",
			"tool", "ktana fuzz", "bundle", "fuzz", "manifest", man, "topology", topo,
			"changes", changes, "timeline", tl, "trouble", trouble, "evidence", evidence,
			"diagrams", "at", "windows");
	null = fopen("/dev/null", "w");
	if (ctx && null) {
		kt_report_html(null, ctx);
		kt_report_markdown(null, ctx);
	}
	if (null)
		fclose(null);
	json_decref(ctx);
	json_decref(topo);
	json_decref(in);
	return 0;
}
