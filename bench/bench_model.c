/* bench_model.c - how fast flow records go into the topology model: reads
 * BUNDLE four times: decoding every field (as bench_read does), decoding
 * the fields the model reads (a few hundred at a time, as it does), its
 * Kubernetes objects alone (when it has any), and through
 * kt_model_feed_bundle(); prints
 * records/s of CPU time for each, the model's own share (the difference
 * between the last two), and memory: peak RSS and per edge. With --repeat
 * N each pass runs N times and the fastest counts.
 * One thread: the figures are per core.
 *   bench_model BUNDLE [--repeat N]   (make one: ktgen DIR --flows 10000000
 *                              --pods 1000 --edges 5000 [--k8s]) */
#include "bundle.h"
#include "cli.h"
#include "error.h"
#include "model.h"
#include "records.h"
#include "stream.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Decoding alone: every column of a flow record, or (project) only those
 * the model reads, as kt_model_feed_bundle() does. */
static int decode_only(struct kt_bundle *b, bool project, uint64_t *n)
{
	const struct kt_entry *e;
	int r, err = 0;

	while ((r = kt_bundle_next(b, &e)) == 1) {
		struct kt_stream_reader *sr;
		const void *recs;
		size_t k;

		if (e->kind != KT_ENTRY_RECORDS || strcmp(e->stream, "flow"))
			continue;
		if ((err = kt_bundle_open_stream(b, &kt_flow_schema, &sr)))
			return err;
		if (project && (err = kt_stream_reader_project(sr, kt_model_flow_fields))) {
			kt_stream_reader_free(sr);
			return err;
		}
		while (!(err = project ? kt_stream_reader_read(sr, 256, &recs, &k) :
			     kt_stream_reader_next(sr, &recs, &k)) && k)
			*n += k;
		kt_stream_reader_free(sr);
		if (err)
			return err;
	}
	return r < 0 ? r : 0;
}

/* The Kubernetes objects alone, into a model of their own: what
 * kt_model_feed_bundle() spends on them before the first flow record (a
 * fixed cost, whatever the number of flows). */
static int objects_only(struct kt_bundle *b)
{
	const struct kt_entry *e;
	struct kt_model *m = NULL;
	int r, err;

	if ((err = kt_model_new(&m, NULL)))
		return err;
	while ((r = kt_bundle_next(b, &e)) == 1) {
		char *buf = NULL;
		size_t len = 0;

		if ((e->kind != KT_ENTRY_JSON && e->kind != KT_ENTRY_JSONL) ||
		    strncmp(e->path, "k8s/", 4))
			continue;
		if (!(err = kt_bundle_read_all(b, KT_JSON_ENTRY_MAX, &buf, &len)))
			err = kt_model_add_k8s_entry(m, e->path, buf, len);
		free(buf);
		if (err)
			break;
	}
	if (!err && r < 0)
		err = r;
	if (!err)
		err = kt_model_finish(m);
	kt_model_free(m);
	return err;
}

static double min2(double a, double b) { return a < b ? a : b; }

int main(int argc, char **argv)
{
	struct kt_bundle *b = NULL;
	struct kt_model *m = NULL;
	struct kt_model_stats st;
	uint64_t n = 0;
	uint32_t nedges, nents;
	double t0, t_full = 1e9, t_dec = 1e9, t_all = 1e9, t_obj = 1e9;
	long rss0 = 0, rss1 = 0;	/* peak before and after the first model pass */
	int err = 0, reps = 1;

	kt_cli_tune_malloc();	/* as ktana runs */
	if (argc == 4 && !strcmp(argv[2], "--repeat"))
		reps = atoi(argv[3]);
	if ((argc != 2 && argc != 4) || reps < 1) {
		fprintf(stderr, "usage: bench_model BUNDLE [--repeat N]\n");
		return 2;
	}
	if ((err = kt_bundle_open(&b, argv[1])))
		goto fail;
	/* each pass N times, interleaved, the best kept: the machine is shared */
	for (int r = 0; r < reps; r++) {
		n = 0;
		if (r && (err = kt_bundle_rewind(b)))
			goto fail;
		t0 = cpu_s();
		if ((err = decode_only(b, false, &n)))
			goto fail;
		t_full = min2(t_full, cpu_s() - t0);
		n = 0;
		if ((err = kt_bundle_rewind(b)))
			goto fail;
		t0 = cpu_s();
		if ((err = decode_only(b, true, &n)))
			goto fail;
		t_dec = min2(t_dec, cpu_s() - t0);
		if (!r)
			rss0 = rss_kib();
		kt_model_free(m);
		m = NULL;
		if ((err = kt_bundle_rewind(b)) || (err = kt_model_new(&m, NULL)))
			goto fail;
		t0 = cpu_s();
		if ((err = kt_model_feed_bundle(m, b)))
			goto fail;
		t_all = min2(t_all, cpu_s() - t0);
		if (!r)
			rss1 = rss_kib();
		/* after the model pass: its memory stays out of rss0; and only
		 * with objects, or it reads the whole bundle for nothing */
		kt_model_stats(m, &st);
		if (!st.k8s_objects)
			continue;
		if ((err = kt_bundle_rewind(b)))
			goto fail;
		t0 = cpu_s();
		if ((err = objects_only(b)))
			goto fail;
		t_obj = min2(t_obj, cpu_s() - t0);
	}
	kt_model_stats(m, &st);
	kt_model_edges(m, &nedges);
	kt_model_entities(m, &nents);
	printf("flow records      %llu\n", (unsigned long long)st.flow_records);
	printf("decode all fields %.2f s CPU, %.2f M records/s\n", t_full, n / t_full / 1e6);
	printf("decode only       %.2f s CPU, %.2f M records/s (the fields the model reads)\n",
	       t_dec, n / t_dec / 1e6);
	printf("decode + model    %.2f s CPU, %.2f M records/s\n", t_all,
	       st.flow_records / t_all / 1e6);
	printf("model alone       %.2f s CPU, %.2f M records/s\n", t_all - t_dec,
	       t_all > t_dec ? st.flow_records / (t_all - t_dec) / 1e6 : 0.0);
	if (st.k8s_objects) {
		/* a fixed cost inside the two lines above: the flows without it */
		printf("objects alone     %.2f s CPU (the Kubernetes objects, loaded first)\n",
		       t_obj);
		printf("without objects   decode + model %.2f M records/s, model alone %.2f\n",
		       t_all > t_obj ? st.flow_records / (t_all - t_obj) / 1e6 : 0.0,
		       t_all > t_obj + t_dec ? st.flow_records / (t_all - t_obj - t_dec) / 1e6 :
					       0.0);
	}
	printf("connections       %llu (in flight at most %llu)\n",
	       (unsigned long long)st.connections, (unsigned long long)st.inflight_max);
	printf("entities, edges   %u, %u\n", nents, nedges);
	printf("k8s objects       %llu, conntrack entries %llu\n",
	       (unsigned long long)st.k8s_objects, (unsigned long long)st.nat_entries);
	printf("peak RSS          %ld KiB (%ld KiB before the model pass)\n", rss1, rss0);
	if (nedges)
		printf("RSS per edge      %.0f bytes\n", (double)(rss1 - rss0) * 1024.0 / nedges);
	kt_model_free(m);
	kt_bundle_close(b);
	return 0;
fail:
	fprintf(stderr, "bench_model: %s\n", kt_err_msg(err));
	kt_model_free(m);
	kt_bundle_close(b);
	return 1;
}
