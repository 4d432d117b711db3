/* bench_read.c - how fast a bundle's flow records decode: opens BUNDLE,
 * reads every flow record as struct kt_flow, 256 at a time (as ktana's
 * model does, but every field), and prints records, seconds and records per
 * second of CPU time. With --raw FILE it also writes the records as
 * fixed-width structs (comm inline, no pointers): the same data without the
 * format, for zstd to compare with.
 *   bench_read BUNDLE [--raw FILE] */
#include "bundle.h"
#include "error.h"
#include "records.h"
#include "stream.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const struct kt_entry *e;
	struct kt_bundle *b;
	uint64_t n = 0, sum = 0;
	double t0;
	int err, r;

	FILE *raw = NULL;

	if (argc != 2 && !(argc == 4 && !strcmp(argv[2], "--raw"))) {
		fprintf(stderr, "usage: bench_read BUNDLE [--raw FILE]\n");
		return 2;
	}
	if (argc == 4 && !(raw = fopen(argv[3], "wb"))) {
		perror(argv[3]);
		return 2;
	}
	t0 = cpu_s();
	if ((err = kt_bundle_open(&b, argv[1]))) {
		fprintf(stderr, "bench_read: %s\n", kt_err_msg(err));
		return 1;
	}
	while ((r = kt_bundle_next(b, &e)) == 1) {
		struct kt_stream_reader *rd;
		const void *recs;
		size_t k;

		if (e->kind != KT_ENTRY_RECORDS || strcmp(e->stream, "flow"))
			continue;
		if ((err = kt_bundle_open_stream(b, &kt_flow_schema, &rd)))
			break;
		while (!(err = kt_stream_reader_read(rd, 256, &recs, &k)) && k) {
			const struct kt_flow *f = recs;

			for (size_t i = 0; i < k; i++)
				sum += f[i].bytes_recv + f[i].dport;
			for (size_t i = 0; raw && i < k; i++) {
				struct kt_flow flat = f[i];
				char comm[16] = { 0 };

				memcpy(comm, flat.comm.p, flat.comm.len < 16 ? flat.comm.len : 16);
				flat.comm.p = NULL;
				fwrite(&flat, sizeof(flat), 1, raw);
				fwrite(comm, sizeof(comm), 1, raw);
			}
			n += k;
		}
		kt_stream_reader_free(rd);
		if (err)
			break;
	}
	kt_bundle_close(b);
	if (raw)
		fclose(raw);
	if (err || r < 0) {
		fprintf(stderr, "bench_read: %s\n", kt_err_msg(err ? err : r));
		return 1;
	}
	{
		double s = cpu_s() - t0;

		printf("records %llu cpu_s %.3f records_per_s %.0f checksum %llu\n",
		       (unsigned long long)n, s, (double)n / s, (unsigned long long)sum);
	}
	return 0;
}
