/* bench_report.c - time to draw a topology (analyze/report/diagram.c):
 * build the graph with cgraph, lay it out and render SVG (and PNG) with
 * gvc. Input: the JSON of `ktana topo --json`.
 *
 *   bench_report TOPO.json [ENGINE] [REPEAT]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "error.h"
#include "report.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct kt_diagram_opts o = { .title = "bench", .link_prefix = "edge-" };
	json_t *topo;
	int repeat = argc > 3 ? atoi(argv[3]) : 3;

	if (argc < 2 || !(topo = json_load_file(argv[1], 0, NULL))) {
		fprintf(stderr, "usage: bench_report TOPO.json [ENGINE] [REPEAT]\n");
		return 2;
	}
	o.engine = argc > 2 && argv[2][0] ? argv[2] : NULL;
	for (int r = 0; r < repeat; r++) {
		const char *formats[2] = { "svg", "png" };
		char *data[2];
		size_t len[2];
		Agraph_t *g = NULL;
		double t0 = now(), t1, t2, t3;
		int err;

		if ((err = kt_diagram_build(topo, &o, &g))) {
			fprintf(stderr, "bench_report: %s\n", kt_err_msg(err));
			return 1;
		}
		t1 = now();
		if ((err = kt_diagram_render(g, o.engine, formats, 1, data, len))) {
			fprintf(stderr, "bench_report: %s\n", kt_err_msg(err));
			return 1;
		}
		t2 = now();
		free(data[0]);
		if ((err = kt_diagram_render(g, o.engine, formats, 2, data, len))) {
			fprintf(stderr, "bench_report: %s\n", kt_err_msg(err));
			return 1;
		}
		t3 = now();
		printf("%d nodes %d edges engine %s: build %.3f s, layout+svg %.3f s, layout+svg+png %.3f s\n",
		       agnnodes(g), agnedges(g), o.engine ? o.engine : kt_diagram_engine(g),
		       t1 - t0, t2 - t1, t3 - t2);
		free(data[0]);
		free(data[1]);
		agclose(g);
	}
	json_decref(topo);
	kt_diagram_cleanup();
	return 0;
}
