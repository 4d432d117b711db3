/* bench_attach.c - hold a chosen subset of the ktflow programs attached, to
 * measure what each part of the capture costs a load run meanwhile.
 *
 *   bench_attach [-r] [-s] PROGRAM... | all
 *     -r  read the ring buffer every 100 ms and throw the events away
 *         (without it the ring fills and the rest is counted as lost)
 *     -s  enable BPF run-time statistics while attached, print ns per call
 *
 * Prints "ready" once attached; detaches and prints counts on SIGINT/SIGTERM.
 * Run as root; it changes no sysctl (statistics come from BPF_ENABLE_STATS,
 * held only while it runs).
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ktflow.h"
#include "ktflow.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int discard(void *ctx, void *data, size_t len)
{
	(void)data;
	(void)len;
	++*(unsigned long *)ctx;
	return 0;
}

static bool wanted(const char *name, int argc, char **argv, int first)
{
	for (int i = first; i < argc; i++)
		if (!strcmp(argv[i], "all") || !strcmp(argv[i], name))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	struct bpf_link *links[64] = { 0 };
	struct ring_buffer *rb = NULL;
	struct bpf_program *p;
	struct ktflow *skel;
	unsigned long events = 0;
	bool read_ring = false, stats = false;
	int first = 1, n = 0, stats_fd = -1, err = 1;

	/* first thing: a background job starts with SIGINT ignored */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (; first < argc && argv[first][0] == '-'; first++) {
		read_ring |= !strcmp(argv[first], "-r");
		stats |= !strcmp(argv[first], "-s");
	}
	skel = ktflow__open();
	if (!skel)
		return 1;
	skel->rodata->stats_min_age_ns = 5000000000ULL;
	skel->rodata->fold_interval_ns = 1000000000ULL;
	skel->rodata->wakeup_bytes = (4u << 20) / 4;
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, wanted(bpf_program__name(p), argc, argv, first) &&
					  strcmp(bpf_program__section_name(p), "uprobe"));
	if (ktflow__load(skel)) {
		fprintf(stderr, "bench_attach: load failed\n");
		goto out;
	}
	bpf_object__for_each_program(p, skel->obj) {
		if (!bpf_program__autoload(p) || n == 64)
			continue;
		links[n] = bpf_program__attach(p);
		if (!links[n]) {
			fprintf(stderr, "bench_attach: cannot attach %s\n", bpf_program__name(p));
			goto out;
		}
		n++;
	}
	if (read_ring)
		rb = ring_buffer__new(bpf_map__fd(skel->maps.events), discard, &events, NULL);
	if (stats)
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	printf("ready %d programs\n", n);
	fflush(stdout);
	while (!stop) {
		usleep(100000);
		if (rb)
			ring_buffer__consume(rb);
	}
	{
		int fd = bpf_map__fd(skel->maps.counters);
		__u64 vals[256] = { 0 }, sum[KT_CNT__MAX] = { 0 };
		int ncpu = libbpf_num_possible_cpus();

		for (__u32 k = 0; k < KT_CNT__MAX && ncpu > 0 && ncpu <= 256; k++)
			if (!bpf_map_lookup_elem(fd, &k, vals))
				for (int c = 0; c < ncpu; c++)
					sum[k] += vals[c];
		printf("events %llu lost %llu read %lu\n", (unsigned long long)sum[KT_CNT_EVENTS],
		       (unsigned long long)(sum[KT_CNT_LOST_FLOW] + sum[KT_CNT_LOST_PROC]), events);
	}
	bpf_object__for_each_program(p, skel->obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);

		if (!bpf_program__autoload(p))
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len) == 0 && info.run_cnt)
			printf("  %-18s %10llu calls %6.0f ns/call %8.3f s\n", bpf_program__name(p),
			       (unsigned long long)info.run_cnt,
			       (double)info.run_time_ns / (double)info.run_cnt,
			       (double)info.run_time_ns / 1e9);
	}
	err = 0;
out:
	if (stats_fd >= 0)
		close(stats_fd);
	ring_buffer__free(rb);
	for (int i = 0; i < n; i++)
		bpf_link__destroy(links[i]);
	ktflow__destroy(skel);
	return err;
}
