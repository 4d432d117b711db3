/* bench_bpf.c - cost of the eBPF capture under a loopback connection load.
 *
 * Runs a short-connection load (a client process: connect, send 64 bytes,
 * close; a server process: accept, read to EOF, close) for D seconds with no
 * capture, then D seconds with ktflow loaded and its events converted and
 * appended to a spool, as `ktcap record` does. Prints connections/s for
 * both, events/s delivered and events lost in the kernel.
 *
 * Built with everything; run as root:
 *   build/bench/bench_bpf [SECONDS] [RINGBUF_KIB]
 * Loopback only; the load is bounded by the time given (default 5 s).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bpf_events.h"
#include "bpf_loader.h"
#include "error.h"
#include "records.h"
#include "spool.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Connections made in 'secs' against a fresh server; -1 on setup failure. */
static long load(double secs)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1, pfd[2];
	pid_t srv, cli;
	long n = 0;
	char buf[64] = { 0 };

	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1024) ||
	    getsockname(lfd, (struct sockaddr *)&a, &al) || pipe(pfd))
		return -1;
	srv = fork();
	if (srv == 0) {
		for (;;) {
			int s = accept(lfd, NULL, NULL);

			if (s < 0)
				_exit(0);
			while (read(s, buf, sizeof(buf)) > 0)
				;
			close(s);
		}
	}
	close(lfd);
	cli = fork();
	if (cli == 0) {
		double end = now_s() + secs;
		struct linger lg = { 1, 0 };

		while (now_s() < end) {
			int c = socket(AF_INET, SOCK_STREAM, 0);

			/* no TIME_WAIT pile-up over a long run: a reset close
			 * every 4th connection */
			if ((n & 3) == 3)
				setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			if (connect(c, (struct sockaddr *)&a, sizeof(a)) == 0 &&
			    write(c, buf, sizeof(buf)) == (ssize_t)sizeof(buf))
				n++;
			close(c);
		}
		if (write(pfd[1], &n, sizeof(n)) != (ssize_t)sizeof(n))
			_exit(1);
		_exit(0);
	}
	waitpid(cli, NULL, 0);
	if (read(pfd[0], &n, sizeof(n)) != (ssize_t)sizeof(n))
		n = -1;
	kill(srv, SIGKILL);
	waitpid(srv, NULL, 0);
	close(pfd[0]);
	close(pfd[1]);
	return n;
}

struct consumer {
	struct kt_bpf *bpf;
	struct kt_spool *spool;
	atomic_bool stop;
	uint64_t events;
	int err;
};

static int on_event(void *arg, const void *data, size_t len)
{
	struct consumer *c = arg;
	int t = kt_bpf_event_type(data, len);

	c->events++;
	if (t == KT_EV_FLOW) {
		struct kt_ev_flow ev;
		struct kt_flow rec;

		if (kt_bpf_flow_convert(&rec, &ev, data, len, 0) == 0)
			return kt_spool_append(c->spool, &kt_flow_schema, &rec);
	} else if (t == KT_EV_PROC) {
		struct kt_bpf_proc_hold h;
		struct kt_proc rec;

		if (kt_bpf_proc_convert(&rec, &h, data, len, 0) == 0)
			return kt_spool_append(c->spool, &kt_proc_schema, &rec);
	}
	return 0;
}

static void *consume(void *arg)
{
	struct consumer *c = arg;
	double last = now_s();

	while (!atomic_load(&c->stop)) {
		int r = kt_bpf_poll(c->bpf, 100);

		if (r < 0) {
			c->err = r;
			break;
		}
		if (now_s() - last >= 1.0) {
			kt_spool_flush(c->spool);
			last = now_s();
		}
	}
	kt_bpf_poll(c->bpf, 0);
	return NULL;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 5.0;
	struct kt_bpf_opts o = { .ringbuf_bytes = (argc > 2 ? (uint32_t)atoi(argv[2]) : 4096) * 1024u };
	struct consumer c = { 0 };
	uint64_t cnt[KT_CNT__MAX];
	char dir[] = "/tmp/kt-bench-XXXXXX", spool[64], cmd[128];
	pthread_t th;
	long base, cap;
	int stats_fd;
	json_t *ps;
	size_t i;
	double t0, t1;
	int err;

	if (secs <= 0 || secs > 600)
		secs = 5.0;
	base = load(secs);
	/* run-time statistics while this fd is open; no sysctl changed */
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (!mkdtemp(dir))
		return 1;
	snprintf(spool, sizeof(spool), "%s/spool", dir);
	if ((err = kt_spool_create(&c.spool, spool, NULL)) ||
	    (err = kt_bpf_open(&c.bpf, &o, on_event, &c))) {
		fprintf(stderr, "bench_bpf: %s\n", kt_err_msg(err));
		return 1;
	}
	pthread_create(&th, NULL, consume, &c);
	t0 = now_s();
	cap = load(secs);
	t1 = now_s();
	atomic_store(&c.stop, true);
	pthread_join(th, NULL);
	kt_bpf_counters(c.bpf, cnt);
	printf("load %.0f s, ring buffer %u KiB\n", secs, o.ringbuf_bytes / 1024);
	printf("no capture:   %ld connections, %.0f/s\n", base, (double)base / secs);
	printf("with capture: %ld connections, %.0f/s (%.1f%% of no capture)\n", cap,
	       (double)cap / secs, base > 0 ? 100.0 * (double)cap / (double)base : 0.0);
	printf("events: %llu delivered (%.0f/s), %llu lost (flow %llu, proc %llu), "
	       "%llu folded, consumer %s\n",
	       (unsigned long long)cnt[KT_CNT_EVENTS], (double)cnt[KT_CNT_EVENTS] / (t1 - t0),
	       (unsigned long long)(cnt[KT_CNT_LOST_FLOW] + cnt[KT_CNT_LOST_PROC]),
	       (unsigned long long)cnt[KT_CNT_LOST_FLOW], (unsigned long long)cnt[KT_CNT_LOST_PROC],
	       (unsigned long long)cnt[KT_CNT_FOLDED], c.err ? kt_err_msg(c.err) : "ok");
	ps = kt_bpf_prog_stats_json(c.bpf);
	printf("kernel time per program (calls, ns/call)%s:\n",
	       stats_fd < 0 ? " unavailable" : "");
	for (i = 0; i < json_array_size(ps); i++) {
		json_t *p = json_array_get(ps, i);
		json_int_t runs = json_integer_value(json_object_get(p, "runs"));
		json_int_t ns = json_integer_value(json_object_get(p, "run_time_ns"));

		if (runs)
			printf("  %-18s %10lld %8.0f\n", json_string_value(json_object_get(p, "program")),
			       (long long)runs, (double)ns / (double)runs);
	}
	json_decref(ps);
	if (stats_fd >= 0)
		close(stats_fd);
	kt_bpf_close(c.bpf);
	kt_spool_close(c.spool);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? 1 : 0;
}
