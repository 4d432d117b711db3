/* check_bpf.c - the ktflow eBPF program on this kernel, with real sockets.
 *
 * Loads the program, makes TCP connections on loopback (a listener on
 * 127.0.0.1, a connect to a closed port, a server that resets with
 * SO_LINGER 0), UDP sends, a fork+exec and cgroup directories, and asserts
 * the exact events. Events of other processes on the host are told apart by
 * port, pid or path. Needs root; skips only when eBPF cannot load at all.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <sys/mount.h>

#include <dirent.h>

#include "bpf_events.h"
#include "bpf_loader.h"
#include "bpf_source.h"
#include "manifest.h"
#include "spool.h"
#include "stream.h"
#include "check_features.h"
#include "error.h"
#include "ktflow.h"
#include "ktflow.skel.h"
#include "records.h"
#include "tracefs.h"

#define MAX_EVENTS 20000

static struct kt_ev_flow *flows;
static size_t nflows;
static struct kt_ev_proc *procs;
static size_t nprocs;
static struct kt_bpf *bpf;
static char skip_reason[256];
static uint64_t missed_start;

/* Events the kernel side could not deliver since setup, all causes. */
static uint64_t unaccounted(void)
{
	uint64_t c[KT_CNT__MAX];

	if (kt_bpf_counters(bpf, c))
		return 0;
	return kt_bpf_missed(bpf) - missed_start + c[KT_CNT_LOST_FLOW] +
	       c[KT_CNT_LOST_PROC] + kt_bpf_lost_folded(bpf);
}

static int collect(void *ctx, const void *data, size_t len)
{
	int t = kt_bpf_event_type(data, len);

	if (t == KT_EV_FLOW && nflows < MAX_EVENTS)
		memcpy(&flows[nflows++], data, sizeof(*flows));
	else if (t == KT_EV_PROC && nprocs < MAX_EVENTS)
		memcpy(&procs[nprocs++], data, sizeof(*procs));
	return t < 0 ? t : 0;
}

/* Load once per test (Check forks each test). stats_min_age 1 ns: every
 * trigger reports every open connection. */
static void setup(void)
{
	/* 16 MiB: a test blocked in connect() for seconds does not read, and
	 * the rest of the host goes on forking and connecting meanwhile */
	struct kt_bpf_opts o = { .stats_min_age_ns = 1, .fold_interval_ns = 60000000000ULL,
				 .ringbuf_bytes = 4u << 20 };
	int err;

	flows = calloc(MAX_EVENTS, sizeof(*flows));
	procs = calloc(MAX_EVENTS, sizeof(*procs));
	ck_assert(flows && procs);
	nflows = nprocs = 0;
	skip_reason[0] = '\0';
	if (geteuid() != 0) {
		snprintf(skip_reason, sizeof(skip_reason), "not root: eBPF cannot load");
		return;
	}
	err = kt_bpf_open(&bpf, &o, collect, NULL);
	if (err == -EPERM || err == -EACCES) {
		snprintf(skip_reason, sizeof(skip_reason), "eBPF refused: %s", kt_err_msg(err));
		return;
	}
	ck_assert_msg(err == 0, "kt_bpf_open: %s", kt_err_msg(err));
	missed_start = kt_bpf_missed(bpf);
}

/* An exact expectation, unless events were lost and counted as lost: a
 * ring buffer filled by the rest of the host, a run the kernel skipped (a
 * tracepoint hit while another eBPF program ran on that CPU), a folded
 * count evicted by a flood of other peers. The capture's promise is that
 * nothing is lost silently: on a busy host the test checks that promise
 * and says so; on a quiet host every expectation holds exactly. */
#define EXPECT(cond)								\
	do {									\
		if (!(cond)) {							\
			uint64_t u_ = unaccounted();				\
									\
			if (u_) {						\
				fprintf(stderr, "%s: not asserted '%s': %llu events "	\
					"lost (and counted) on this busy host\n", \
					__func__, #cond, (unsigned long long)u_); \
				return;						\
			}							\
			ck_assert_msg(0, "%s (no event lost)", #cond);	\
		}								\
	} while (0)

static void teardown(void)
{
	kt_bpf_close(bpf);
	bpf = NULL;
	free(flows);
	free(procs);
}

/* For the tests that load their own program. */
#define SKIP_UNLESS_ROOT()						\
	do {								\
		if (geteuid() != 0) {					\
			fprintf(stderr, "%s: skipped: not root: eBPF "	\
				"cannot load\n", __func__);		\
			return;						\
		}							\
	} while (0)

/* A program of the test's own, with its options and callback. */
static struct kt_bpf *open_own(const struct kt_bpf_opts *o,
			       int (*cb)(void *ctx, const void *data, size_t len), void *ctx)
{
	struct kt_bpf *b = NULL;
	int err = kt_bpf_open(&b, o, cb, ctx);

	ck_assert_msg(err == 0, "kt_bpf_open: %s", kt_err_msg(err));
	return b;
}

#define SKIP_UNLESS_LOADED()						\
	do {								\
		if (skip_reason[0]) {					\
			fprintf(stderr, "%s: skipped: %s\n", __func__,	\
				skip_reason);				\
			return;						\
		}							\
	} while (0)

/* Poll until pred() holds (or, without pred, until 100 ms pass with no
 * event); 3 s bound a failure. Events are written in the syscalls the test
 * made, so by then they are all in the ring buffer. */
static void drain_until(int (*pred)(void *), void *arg)
{
	struct timespec t0, t;
	int quiet = 0, n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		n = kt_bpf_poll(bpf, 20);
		ck_assert_int_ge(n, 0);
		quiet = n ? 0 : quiet + 1;
		if (pred ? pred(arg) : quiet >= 5)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= 3)
			break;
	}
	while (kt_bpf_poll(bpf, 0) > 0)
		;
}

/* The network namespace this test runs in: other processes on the host
 * (and in other namespaces) may use the same port numbers. */
static uint64_t my_netns(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static bool mine(const struct kt_ev_flow *e, int kind, int port, int role, uint64_t ns)
{
	return e->kind == kind && (e->sport == port || e->dport == port) &&
	       (role < 0 || e->role == role) && e->netns == ns;
}

static size_t count_flows(int kind, int port, int role)
{
	uint64_t ns = my_netns();
	size_t i, n = 0;

	for (i = 0; i < nflows; i++)
		n += mine(&flows[i], kind, port, role, ns);
	return n;
}

static const struct kt_ev_flow *find_flow(int kind, int port, int role)
{
	uint64_t ns = my_netns();
	size_t i;

	for (i = 0; i < nflows; i++)
		if (mine(&flows[i], kind, port, role, ns))
			return &flows[i];
	return NULL;
}

struct want { int kind, port, role; size_t n; };

static int have(void *arg)
{
	const struct want *w = arg;

	return count_flows(w->kind, w->port, w->role) >= w->n;
}

static int listener(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static int connect_to(uint16_t port, int *err)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	*err = connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ? errno : 0;
	return fd;
}

static void xfer(int from, int to, size_t n)
{
	static char buf[65536];
	size_t got = 0;

	ck_assert_uint_le(n, sizeof(buf));
	memset(buf, 'k', n);
	ck_assert_int_eq(send(from, buf, n, 0), (ssize_t)n);
	while (got < n) {
		ssize_t r = recv(to, buf, n - got, 0);

		ck_assert_int_gt(r, 0);
		got += (size_t)r;
	}
}

static void my_comm(char *comm, size_t len)
{
	FILE *f = fopen("/proc/self/comm", "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(comm, (int)len, f));
	comm[strcspn(comm, "\n")] = '\0';
	fclose(f);
}

/* Bytes counted by the kernel include the SYN and FIN sequence numbers. */
#define ck_assert_bytes(got, want) \
	ck_assert_msg((got) >= (want) && (got) <= (want) + 2, \
		      "bytes %llu, want %llu (+2)", (unsigned long long)(got), \
		      (unsigned long long)(want))

START_TEST(test_open_close)
{
	enum { N = 5, C2S = 1000, S2C = 3000 };
	uint16_t port;
	int lfd, c[N], s[N], i, err;
	char comm[32];
	struct want w;
	size_t k;
	char buf[16];

	SKIP_UNLESS_LOADED();
	my_comm(comm, sizeof(comm));
	lfd = listener(&port);
	for (i = 0; i < N; i++) {
		c[i] = connect_to(port, &err);
		ck_assert_int_eq(err, 0);
		s[i] = accept(lfd, NULL, NULL);
		ck_assert_int_ge(s[i], 0);
		xfer(c[i], s[i], C2S);
		xfer(s[i], c[i], S2C);
	}
	/* the client closes first, the server sees EOF and closes */
	for (i = 0; i < N; i++) {
		close(c[i]);
		ck_assert_int_eq(recv(s[i], buf, sizeof(buf), 0), 0);
		close(s[i]);
	}
	close(lfd);
	w = (struct want){ KT_EVK_CLOSE, port, -1, 2 * N };
	drain_until(have, &w);

	EXPECT(count_flows(KT_EVK_LISTEN, port, -1) == 1);
	EXPECT(count_flows(KT_EVK_OPEN, port, KT_EVR_CLIENT) == N);
	EXPECT(count_flows(KT_EVK_OPEN, port, KT_EVR_SERVER) == N);
	EXPECT(count_flows(KT_EVK_ACCEPT, port, -1) == N);
	EXPECT(count_flows(KT_EVK_CLOSE, port, KT_EVR_CLIENT) == N);
	EXPECT(count_flows(KT_EVK_CLOSE, port, KT_EVR_SERVER) == N);
	EXPECT(count_flows(KT_EVK_FAIL, port, -1) == 0);
	EXPECT(count_flows(KT_EVK_CONNECT, port, -1) == 0);

	for (k = 0; k < nflows; k++) {
		const struct kt_ev_flow *e = &flows[k];

		if ((e->sport != port && e->dport != port) || e->netns != my_netns() ||
		    (e->kind != KT_EVK_OPEN && e->kind != KT_EVK_CLOSE && e->kind != KT_EVK_ACCEPT))
			continue;
		/* loopback: both ends are 127.0.0.1 as ::ffff:127.0.0.1 */
		ck_assert_int_eq(e->saddr[10], 0xff);
		ck_assert_int_eq(e->saddr[12], 127);
		ck_assert_int_eq(e->daddr[15], 1);
		ck_assert_uint_eq(e->proto, IPPROTO_TCP);
		if (e->kind == KT_EVK_OPEN && e->role == KT_EVR_SERVER)
			continue;	/* softirq: the pid comes with accept */
		ck_assert_uint_eq(e->pid, (uint32_t)getpid());
		ck_assert_str_eq(e->comm, comm);
		if (e->kind == KT_EVK_OPEN) {
			ck_assert_uint_eq(e->dport, port);
			ck_assert_uint_gt(e->latency_ns, 0);
			/* what connect() asked for */
			ck_assert_uint_eq(e->orig_dport, port);
			ck_assert_int_eq(e->orig_daddr[12], 127);
		}
		if (e->kind == KT_EVK_CLOSE) {
			ck_assert_uint_eq(e->cause, KT_EVC_NONE);
			ck_assert_int_eq(e->err, 0);
			ck_assert_uint_gt(e->duration_ns, 0);
			ck_assert_uint_gt(e->segs_out, 0);
			ck_assert_uint_gt(e->segs_in, 0);
			ck_assert_uint_gt(e->srtt_us, 0);
			ck_assert_uint_ne(e->sock_id, 0);
			if (e->role == KT_EVR_CLIENT) {
				ck_assert_uint_eq(e->dport, port);
				ck_assert_uint_eq(e->closer, KT_EVL_LOCAL);
				ck_assert_bytes(e->bytes_sent, C2S);
				ck_assert_bytes(e->bytes_recv, S2C);
			} else {
				ck_assert_uint_eq(e->sport, port);
				ck_assert_uint_eq(e->closer, KT_EVL_REMOTE);
				ck_assert_bytes(e->bytes_sent, S2C);
				ck_assert_bytes(e->bytes_recv, C2S);
			}
		}
	}
}
END_TEST

static uint16_t closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	/* bound, never listening: the port is ours and nobody answers it */
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	return ntohs(a.sin_port);	/* fd left open on purpose until exit */
}

START_TEST(test_refused)
{
	uint16_t port = closed_port();
	const struct kt_ev_flow *e;
	struct want w = { KT_EVK_FAIL, port, -1, 1 };
	char comm[32];
	int fd, err;

	SKIP_UNLESS_LOADED();
	my_comm(comm, sizeof(comm));
	fd = connect_to(port, &err);
	ck_assert_int_eq(err, ECONNREFUSED);
	close(fd);
	drain_until(have, &w);

	EXPECT(count_flows(KT_EVK_FAIL, port, -1) == 1);
	e = find_flow(KT_EVK_FAIL, port, -1);
	ck_assert_uint_eq(e->cause, KT_EVC_REFUSED);
	ck_assert_int_eq(e->err, 111);
	ck_assert_uint_eq(e->role, KT_EVR_CLIENT);
	ck_assert_uint_eq(e->dport, port);
	ck_assert_uint_eq(e->pid, (uint32_t)getpid());
	ck_assert_str_eq(e->comm, comm);
	ck_assert_uint_gt(e->latency_ns, 0);
	/* the state machine reported it: no second report from connect() */
	EXPECT(count_flows(KT_EVK_CONNECT, port, -1) == 0);
	EXPECT(count_flows(KT_EVK_OPEN, port, -1) == 0);
	/* the kernel answered the SYN with a reset from the closed port */
	e = find_flow(KT_EVK_RST_SENT, port, -1);
	EXPECT(e != NULL);
	ck_assert_uint_eq(e->sport, port);
	ck_assert_uint_ne(e->netns, 0);
	/* and dropped the SYN, with this kernel's reason for it */
	e = find_flow(KT_EVK_DROP, port, -1);
	EXPECT(e != NULL);
	ck_assert_uint_eq(e->dport, port);
	ck_assert_uint_eq(e->count, 1);
	{
		json_t *names = kt_bpf_drop_reasons_json();
		char key[16];

		snprintf(key, sizeof(key), "%u", e->reason);
		ck_assert_str_eq(json_string_value(json_object_get(names, key)), "NO_SOCKET");
		json_decref(names);
	}
}
END_TEST

START_TEST(test_reset)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	const struct kt_ev_flow *cli, *srv;
	uint16_t port;
	int lfd, c, s, err;
	char buf[16];
	struct want w;
	size_t i;

	SKIP_UNLESS_LOADED();
	lfd = listener(&port);
	c = connect_to(port, &err);
	ck_assert_int_eq(err, 0);
	s = accept(lfd, NULL, NULL);
	ck_assert_int_ge(s, 0);
	xfer(c, s, 100);
	ck_assert_int_eq(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(s);
	ck_assert_int_lt(recv(c, buf, sizeof(buf), 0), 0);
	ck_assert_int_eq(errno, ECONNRESET);
	close(c);
	close(lfd);
	w = (struct want){ KT_EVK_CLOSE, port, -1, 2 };
	drain_until(have, &w);

	EXPECT(count_flows(KT_EVK_CLOSE, port, -1) == 2);
	cli = find_flow(KT_EVK_CLOSE, port, KT_EVR_CLIENT);
	srv = find_flow(KT_EVK_CLOSE, port, KT_EVR_SERVER);
	EXPECT(cli != NULL && srv != NULL);
	ck_assert_uint_eq(cli->cause, KT_EVC_RESET);
	ck_assert_uint_eq(cli->closer, KT_EVL_REMOTE);
	ck_assert_int_eq(cli->err, ECONNRESET);
	ck_assert_uint_eq(srv->cause, KT_EVC_RESET);
	ck_assert_uint_eq(srv->closer, KT_EVL_LOCAL);
	ck_assert_uint_eq(srv->pid, (uint32_t)getpid());
	ck_assert_bytes(srv->bytes_recv, 100);
	/* the reset, both ways, tied to the right sockets */
	EXPECT(count_flows(KT_EVK_RST_RECV, port, -1) == 1);
	ck_assert_uint_eq(find_flow(KT_EVK_RST_RECV, port, -1)->sock_id, cli->sock_id);
	for (i = 0; i < nflows; i++)
		if (flows[i].kind == KT_EVK_RST_SENT && flows[i].sport == port &&
		    flows[i].netns == my_netns())
			break;
	EXPECT(i < nflows);
	ck_assert_uint_eq(flows[i].dport, cli->sport);
	ck_assert_uint_ne(cli->sock_id, srv->sock_id);
}
END_TEST

START_TEST(test_stats)
{
	uint16_t port;
	int lfd, c, s, err;
	struct want w;
	const struct kt_ev_flow *e;

	SKIP_UNLESS_LOADED();
	ck_assert(kt_bpf_attached(bpf, "kt_stats_trigger"));
	lfd = listener(&port);
	c = connect_to(port, &err);
	ck_assert_int_eq(err, 0);
	s = accept(lfd, NULL, NULL);
	xfer(c, s, 5000);
	ck_assert_int_eq(kt_bpf_trigger_stats(bpf), 0);
	w = (struct want){ KT_EVK_STATS, port, -1, 2 };
	drain_until(have, &w);
	EXPECT(count_flows(KT_EVK_STATS, port, -1) == 2);
	e = find_flow(KT_EVK_STATS, port, KT_EVR_CLIENT);
	EXPECT(e != NULL);
	ck_assert_bytes(e->bytes_sent, 5000);
	ck_assert_uint_eq(e->pid, (uint32_t)getpid());
	ck_assert_uint_gt(e->duration_ns, 0);
	e = find_flow(KT_EVK_STATS, port, KT_EVR_SERVER);
	EXPECT(e != NULL);
	ck_assert_bytes(e->bytes_recv, 5000);
	close(c);
	close(s);
	close(lfd);
}
END_TEST

START_TEST(test_udp_send)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int rx = socket(AF_INET, SOCK_DGRAM, 0), tx1, tx2, i;
	uint64_t sum = 0, bytes = 0;
	uint16_t port;
	size_t k;

	SKIP_UNLESS_LOADED();
	ck_assert_int_eq(bind(rx, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(rx, (struct sockaddr *)&a, &al), 0);
	port = ntohs(a.sin_port);
	/* three sendto() on an unconnected socket, two send() on a connected one */
	tx1 = socket(AF_INET, SOCK_DGRAM, 0);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(sendto(tx1, "dns?", 4, 0, (struct sockaddr *)&a, sizeof(a)), 4);
	tx2 = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_eq(connect(tx2, (struct sockaddr *)&a, sizeof(a)), 0);
	for (i = 0; i < 2; i++)
		ck_assert_int_eq(send(tx2, "query", 5, 0), 5);
	drain_until(NULL, NULL);
	/* one peer, one process: the first send went out at once, the other
	 * four (from two sockets, two source ports) are folded */
	EXPECT(count_flows(KT_EVK_UDP_SEND, port, -1) == 1);
	EXPECT(count_flows(KT_EVK_CONNECT, port, -1) == 1);
	/* entries idle for 1 ns: all of them, pending counts reported */
	ck_assert_int_eq(kt_bpf_prune_folds(bpf, 1), 0);
	EXPECT(count_flows(KT_EVK_UDP_SEND, port, -1) == 2);
	/* the peer starts afresh: reported at once; nothing left to drain */
	ck_assert_int_eq(send(tx2, "query", 5, 0), 5);
	drain_until(NULL, NULL);
	ck_assert_int_eq(kt_bpf_drain_folds(bpf), 0);
	EXPECT(count_flows(KT_EVK_UDP_SEND, port, -1) == 3);
	for (k = 0; k < nflows; k++) {
		if (flows[k].kind != KT_EVK_UDP_SEND || flows[k].dport != port ||
		    flows[k].netns != my_netns())
			continue;
		ck_assert_uint_eq(flows[k].proto, IPPROTO_UDP);
		ck_assert_uint_eq(flows[k].pid, (uint32_t)getpid());
		ck_assert_int_eq(flows[k].daddr[12], 127);
		sum += flows[k].count;
		bytes += flows[k].bytes_sent;
	}
	EXPECT(sum == 6);
	EXPECT(bytes == 3 * 4 + 3 * 5);
	close(tx1);
	close(tx2);
	close(rx);
}
END_TEST

START_TEST(test_sync_connect_failure)
{
	struct stat ns;
	const struct kt_ev_flow *e;
	int fd, err;

	SKIP_UNLESS_LOADED();
	/* a network namespace of our own whose loopback is down: connect()
	 * fails before any packet, with no route */
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	ck_assert_int_eq(stat("/proc/self/ns/net", &ns), 0);
	fd = connect_to(9, &err);
	ck_assert_int_eq(err, ENETUNREACH);
	close(fd);
	drain_until(NULL, NULL);
	EXPECT(count_flows(KT_EVK_CONNECT, 9, -1) == 1);
	e = find_flow(KT_EVK_CONNECT, 9, -1);
	ck_assert_int_eq(e->err, ENETUNREACH);
	ck_assert_uint_eq(e->cause, KT_EVC_UNREACHABLE);
	ck_assert_uint_eq(e->orig_dport, 9);
	ck_assert_uint_eq(e->netns, (uint64_t)ns.st_ino);
	ck_assert_uint_eq(e->pid, (uint32_t)getpid());
	EXPECT(count_flows(KT_EVK_FAIL, 9, -1) == 0);
}
END_TEST


static void write_file(const char *path, const char *v)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "open '%s': %s", path, strerror(errno));
	ck_assert_int_ge(fputs(v, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

static int connect_v4(const char *ip, uint16_t port, int syncnt)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), err;

	ck_assert_int_eq(inet_pton(AF_INET, ip, &a.sin_addr), 1);
	ck_assert_int_eq(setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &syncnt, sizeof(syncnt)), 0);
	err = connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ? errno : 0;
	close(fd);
	return err;
}

/* In a network namespace of our own: a veth pair whose other end has no
 * address, so nothing ever answers. 198.18.201.3 has no neighbour entry:
 * ARP fails and the kernel reports the host unreachable. 198.18.201.2 has a
 * permanent one: the SYNs leave and vanish, and connect() times out. */
START_TEST(test_unreachable_and_timeout)
{
	const struct kt_ev_flow *e;
	struct want w;

	SKIP_UNLESS_LOADED();
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	/* lo up: the kernel's ICMP to itself travels through it */
	ck_assert_int_eq(system("ip link set lo up && "
				"ip link add kt0 type veth peer name kt1 && ip link set kt1 up && "
				"ip addr add 198.18.201.1/24 dev kt0 && ip link set kt0 up && "
				"ip neigh add 198.18.201.2 lladdr 02:00:00:00:00:02 dev kt0 "
				"nud permanent"), 0);
	/* ARP gives up after one try of 100 ms (this namespace only) */
	write_file("/proc/sys/net/ipv4/neigh/kt0/mcast_solicit", "1");
	write_file("/proc/sys/net/ipv4/neigh/kt0/ucast_solicit", "1");
	write_file("/proc/sys/net/ipv4/neigh/kt0/retrans_time_ms", "100");

	ck_assert_int_eq(connect_v4("198.18.201.3", 8080, 2), EHOSTUNREACH);
	w = (struct want){ KT_EVK_FAIL, 8080, -1, 1 };
	drain_until(have, &w);
	e = find_flow(KT_EVK_FAIL, 8080, -1);
	EXPECT(e != NULL);
	ck_assert_uint_eq(e->cause, KT_EVC_UNREACHABLE);
	ck_assert_int_eq(e->err, EHOSTUNREACH);
	ck_assert_int_eq(e->daddr[15], 3);

	/* one SYN retry: 1 s + 2 s */
	ck_assert_int_eq(connect_v4("198.18.201.2", 8081, 1), ETIMEDOUT);
	w = (struct want){ KT_EVK_FAIL, 8081, -1, 1 };
	drain_until(have, &w);
	e = find_flow(KT_EVK_FAIL, 8081, -1);
	EXPECT(e != NULL);
	ck_assert_uint_eq(e->cause, KT_EVC_TIMEOUT);
	ck_assert_int_eq(e->err, ETIMEDOUT);
	ck_assert_uint_ge(e->latency_ns, 1000000000ULL);
	ck_assert_uint_eq(e->pid, (uint32_t)getpid());
	/* the retried SYN: folded per socket, the first one reported */
	e = find_flow(KT_EVK_RETRANS, 8081, -1);
	EXPECT(e != NULL);
	ck_assert_uint_eq(e->count, 1);
	ck_assert_uint_ne(e->sock_id, 0);
	ck_assert_uint_eq(e->sock_id, find_flow(KT_EVK_FAIL, 8081, -1)->sock_id);

	/* the application gives up first: a non-blocking connect closed while
	 * its SYN is unanswered carries no socket error, and is "aborted" */
	{
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(8082) };
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

		ck_assert_int_eq(inet_pton(AF_INET, "198.18.201.2", &a.sin_addr), 1);
		ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), -1);
		ck_assert_int_eq(errno, EINPROGRESS);
		usleep(100000);
		close(fd);
	}
	w = (struct want){ KT_EVK_FAIL, 8082, -1, 1 };
	drain_until(have, &w);
	e = find_flow(KT_EVK_FAIL, 8082, -1);
	EXPECT(e != NULL);
	ck_assert_uint_eq(e->cause, KT_EVC_ABORTED);
	ck_assert_int_eq(e->err, 0);
	ck_assert_uint_ge(e->latency_ns, 100000000ULL);
}
END_TEST

/* The state change to CLOSE never reaches the state machine (here its
 * programs are detached; on some machines the kernel skips them uncounted):
 * the close goes out when the socket is destroyed, with the cause the
 * socket still tells. A connect that used up its SYN retries timed out,
 * though its error was read; one closed before any retry was aborted. */
START_TEST(test_late_close)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	const struct kt_ev_flow *e;
	uint64_t c[KT_CNT__MAX];
	int fd[2], syncnt = 1, i, err = 0;
	socklen_t len = sizeof(err);
	struct pollfd p;
	struct want w;

	SKIP_UNLESS_LOADED();
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	ck_assert_int_eq(system("ip link set lo up && "
				"ip link add kt0 type veth peer name kt1 && ip link set kt1 up && "
				"ip addr add 198.18.202.1/24 dev kt0 && ip link set kt0 up && "
				"ip neigh add 198.18.202.2 lladdr 02:00:00:00:00:02 dev kt0 "
				"nud permanent"), 0);
	ck_assert_int_eq(inet_pton(AF_INET, "198.18.202.2", &a.sin_addr), 1);
	for (i = 0; i < 2; i++) {
		fd[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		ck_assert_int_eq(setsockopt(fd[i], IPPROTO_TCP, TCP_SYNCNT, &syncnt,
					    sizeof(syncnt)), 0);
		a.sin_port = htons(8090 + i);
		ck_assert_int_eq(connect(fd[i], (struct sockaddr *)&a, sizeof(a)), -1);
		ck_assert_int_eq(errno, EINPROGRESS);
	}
	ck_assert_int_eq(kt_bpf_detach_program(bpf, "kt_set_state"), 0);
	ck_assert_int_eq(kt_bpf_detach_program(bpf, "kt_set_state_nested"), 0);
	ck_assert_int_eq(kt_bpf_detach_program(bpf, "kt_set_state"), -ENOENT);

	/* 8091 is closed before its first SYN retry (1 s), 8090 times out
	 * (1 s + 2 s), and its error read clears sk_err */
	usleep(300000);
	close(fd[1]);
	p = (struct pollfd){ .fd = fd[0], .events = POLLOUT };
	ck_assert_int_eq(poll(&p, 1, 10000), 1);
	ck_assert_int_eq(getsockopt(fd[0], SOL_SOCKET, SO_ERROR, &err, &len), 0);
	ck_assert_int_eq(err, ETIMEDOUT);
	close(fd[0]);

	w = (struct want){ KT_EVK_FAIL, 8090, -1, 1 };
	drain_until(have, &w);
	/* the close runs kt_destroy_sock in this process: nothing on this
	 * CPU can make the kernel skip it */
	e = find_flow(KT_EVK_FAIL, 8090, -1);
	ck_assert_msg(e != NULL, "no late FAIL for the timed-out connect");
	ck_assert_uint_eq(e->cause, KT_EVC_TIMEOUT);
	ck_assert_int_eq(e->err, ETIMEDOUT);
	ck_assert_uint_ge(e->latency_ns, 3000000000ULL);
	ck_assert_uint_eq(e->pid, (uint32_t)getpid());
	ck_assert_uint_eq(e->role, KT_EVR_CLIENT);
	e = find_flow(KT_EVK_FAIL, 8091, -1);
	ck_assert_msg(e != NULL, "no late FAIL for the aborted connect");
	ck_assert_uint_eq(e->cause, KT_EVC_ABORTED);
	ck_assert_int_eq(e->err, 0);
	/* and more if other sockets of the host closed meanwhile */
	ck_assert_int_eq(kt_bpf_counters(bpf, c), 0);
	ck_assert_uint_ge(c[KT_CNT_LATE_CLOSE], 2);
}
END_TEST

START_TEST(test_proc_lineage)
{
	pid_t child;
	int status, seen_exec = 0, seen_exit = 0, seen_fork = 0;
	size_t i;

	SKIP_UNLESS_LOADED();
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		execl("/bin/sh", "sh", "-c", "exit 3", (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_int_eq(WEXITSTATUS(status), 3);
	drain_until(NULL, NULL);
	for (i = 0; i < nprocs; i++) {
		const struct kt_ev_proc *p = &procs[i];

		if (p->pid != (uint32_t)child)
			continue;
		if (p->kind == KT_EVP_FORK) {
			seen_fork++;
			ck_assert_uint_eq(p->ppid, (uint32_t)getpid());
		} else if (p->kind == KT_EVP_EXEC) {
			seen_exec++;
			ck_assert_str_eq(p->path, "/bin/sh");
			ck_assert_uint_eq(p->ppid, (uint32_t)getpid());
		} else if (p->kind == KT_EVP_EXIT) {
			seen_exit++;
			ck_assert_int_eq((p->exit_code >> 8) & 0xff, 3);
			ck_assert_str_eq(p->comm, "sh");
		}
	}
	ck_assert_int_eq(seen_fork, 1);
	ck_assert_int_eq(seen_exec, 1);
	ck_assert_int_eq(seen_exit, 1);
}
END_TEST

START_TEST(test_cgroup_events)
{
	static const char uid[] = "0b5e1a2c-3d4f-4a6b-8c9d-0e1f2a3b4c5d";
	static const char cid[] =
		"4f3e2d1c0b0a99887766554433221100ffeeddccbbaa00112233445566778899";
	char top[128], kp[160], qos[192], pod[256], ctr[400];
	struct kt_bpf_proc_hold hold;
	struct kt_proc rec;
	int mk = 0, rm = 0;
	size_t i;

	SKIP_UNLESS_LOADED();
	snprintf(top, sizeof(top), "/sys/fs/cgroup/unified/ktcap-test-%d", (int)getpid());
	/* kubelet's cgroupfs layout, under a directory of our own */
	snprintf(kp, sizeof(kp), "%s/kubepods", top);
	snprintf(qos, sizeof(qos), "%s/burstable", kp);
	snprintf(pod, sizeof(pod), "%s/pod%s", qos, uid);
	snprintf(ctr, sizeof(ctr), "%s/%s", pod, cid);
	ck_assert_msg(mkdir(top, 0755) == 0, "mkdir '%s': %s", top, strerror(errno));
	ck_assert_int_eq(mkdir(kp, 0755), 0);
	ck_assert_int_eq(mkdir(qos, 0755), 0);
	ck_assert_int_eq(mkdir(pod, 0755), 0);
	ck_assert_int_eq(mkdir(ctr, 0755), 0);
	rmdir(ctr);
	rmdir(pod);
	rmdir(qos);
	rmdir(kp);
	rmdir(top);
	drain_until(NULL, NULL);
	for (i = 0; i < nprocs; i++) {
		const struct kt_ev_proc *p = &procs[i];
		size_t pl = strlen(p->path);

		/* the kernel reports the path inside the hierarchy */
		if (pl < 64 || strcmp(p->path + pl - 64, cid) ||
		    strcmp(p->path, ctr + strlen("/sys/fs/cgroup/unified")))
			continue;
		ck_assert_uint_eq(p->pid, (uint32_t)getpid());
		ck_assert_int_eq(p->hierarchy, 0);	/* cgroup v2 */
		ck_assert_uint_ne(p->cgroup_id, 0);
		ck_assert_int_eq(kt_bpf_proc_convert(&rec, &hold, p, sizeof(*p), 0), 0);
		ck_assert_uint_eq(rec.pod_uid.len, 36);
		ck_assert_int_eq(memcmp(rec.pod_uid.p, uid, 36), 0);
		ck_assert_uint_eq(rec.container_id.len, 64);
		ck_assert_int_eq(memcmp(rec.container_id.p, cid, 64), 0);
		if (p->kind == KT_EVP_CGROUP_MKDIR)
			mk++;
		else if (p->kind == KT_EVP_CGROUP_RMDIR)
			rm++;
	}
	ck_assert_msg(mk == 1 && rm == 1, "mkdir events %d, rmdir events %d for '%s'", mk, rm, ctr);
}
END_TEST

START_TEST(test_programs_report)
{
	json_t *j;
	size_t i;
	uint64_t c[KT_CNT__MAX];

	SKIP_UNLESS_LOADED();
	j = kt_bpf_programs_json(bpf);
	ck_assert_ptr_nonnull(j);
	/* every program this kernel should run is attached */
	for (i = 0; i < json_array_size(j); i++) {
		json_t *p = json_array_get(j, i);

		ck_assert_msg(!strcmp(json_string_value(json_object_get(p, "status")), "attached"),
			      "%s: %s", json_string_value(json_object_get(p, "program")),
			      json_string_value(json_object_get(p, "error")));
	}
	ck_assert_uint_ge(json_array_size(j), 15);
	json_decref(j);
	/* this kernel's drop reason names, for the manifest */
	j = kt_bpf_drop_reasons_json();
	ck_assert_str_eq(json_string_value(json_object_get(j, "2")), "NOT_SPECIFIED");
	ck_assert_str_eq(json_string_value(json_object_get(j, "1")), "SKB_CONSUMED");
	json_decref(j);
	ck_assert_int_eq(kt_bpf_counters(bpf, c), 0);
	ck_assert_uint_eq(c[KT_CNT_LOST_FLOW], 0);
	ck_assert_uint_eq(c[KT_CNT_LOST_PROC], 0);
}
END_TEST


START_TEST(test_ipv6)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t al = sizeof(a);
	const struct kt_ev_flow *e;
	int lfd, c, s;
	uint16_t port;
	struct want w;
	char buf[8];

	SKIP_UNLESS_LOADED();
	lfd = socket(AF_INET6, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
	port = ntohs(a.sin6_port);
	c = socket(AF_INET6, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(c, (struct sockaddr *)&a, sizeof(a)), 0);
	s = accept(lfd, NULL, NULL);
	xfer(c, s, 700);
	close(c);
	ck_assert_int_eq(recv(s, buf, sizeof(buf), 0), 0);
	close(s);
	close(lfd);
	w = (struct want){ KT_EVK_CLOSE, port, -1, 2 };
	drain_until(have, &w);
	EXPECT(count_flows(KT_EVK_OPEN, port, -1) == 2);
	EXPECT(count_flows(KT_EVK_CLOSE, port, -1) == 2);
	e = find_flow(KT_EVK_CLOSE, port, KT_EVR_CLIENT);
	EXPECT(e != NULL);
	/* ::1, not a mapped IPv4 address */
	ck_assert_int_eq(memcmp(e->daddr, &in6addr_loopback, 16), 0);
	ck_assert_int_eq(memcmp(e->saddr, &in6addr_loopback, 16), 0);
	ck_assert_int_eq(memcmp(e->orig_daddr, &in6addr_loopback, 16), 0);
	ck_assert_bytes(e->bytes_sent, 700);
	ck_assert_uint_eq(e->pid, (uint32_t)getpid());
}
END_TEST

/* A kernel without one tracepoint: its program is left out, the others
 * run. The missing tracepoint is simulated with a tracefs look-alike that
 * lacks skb/kfree_skb (attaching still uses the real tracefs). */
START_TEST(test_missing_tracepoint)
{
	char dir[] = "/tmp/kt-tracefs-XXXXXX", p[512];
	struct kt_bpf_opts o = { 0 };
	struct kt_bpf *b = NULL;
	struct ktflow *skel;
	struct bpf_program *prog;
	json_t *j;
	size_t i;
	int err, missing = 0;

	SKIP_UNLESS_ROOT();
	ck_assert_ptr_nonnull(mkdtemp(dir));
	skel = ktflow__open();
	ck_assert_ptr_nonnull(skel);
	bpf_object__for_each_program(prog, skel->obj) {
		const char *sec = bpf_program__section_name(prog);
		char cat[64];
		const char *slash;

		if (strncmp(sec, "tracepoint/", 11) || strstr(sec, "kfree_skb"))
			continue;
		slash = strchr(sec + 11, '/');
		snprintf(cat, sizeof(cat), "%.*s", (int)(slash - sec - 11), sec + 11);
		snprintf(p, sizeof(p), "%s/events", dir);
		mkdir(p, 0755);
		snprintf(p, sizeof(p), "%s/events/%s", dir, cat);
		mkdir(p, 0755);
		snprintf(p, sizeof(p), "%s/events/%s", dir, sec + 11);
		ck_assert_int_eq(mkdir(p, 0755), 0);
	}
	/* the state machine's raw tracepoints, whose events the look-alike has */
	snprintf(p, sizeof(p), "%s/events/sock/inet_sock_set_state", dir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/events/tcp/tcp_destroy_sock", dir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	ktflow__destroy(skel);
	o.tracefs = dir;
	err = kt_bpf_open(&b, &o, collect, NULL);
	ck_assert_msg(err == 0, "kt_bpf_open: %s", kt_err_msg(err));
	ck_assert_int_eq(kt_bpf_attached(b, "kt_kfree_skb"), 0);
	ck_assert_int_eq(kt_bpf_attached(b, "kt_set_state"), 1);
	ck_assert_int_eq(kt_bpf_attached(b, "kt_destroy_sock"), 1);
	ck_assert_int_eq(kt_bpf_attached(b, "kt_exec"), 1);
	/* sched_process_fork is a raw tracepoint; the look-alike lacks it */
	ck_assert_int_eq(kt_bpf_attached(b, "kt_fork"), 0);
	j = kt_bpf_programs_json(b);
	for (i = 0; i < json_array_size(j); i++) {
		json_t *e = json_array_get(j, i);

		if (!strcmp(json_string_value(json_object_get(e, "status")), "missing")) {
			missing++;
			ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(e, "error")),
						     "no tracepoint"));
		}
	}
	ck_assert_int_eq(missing, 2);
	json_decref(j);
	kt_bpf_close(b);
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(p), 0);
}
END_TEST


/* The bytes records take in the ring: 8 of header, the data rounded up. */
static int ring_bytes(void *ctx, const void *data, size_t len)
{
	(void)data;
	*(size_t *)ctx += 8 + ((len + 7) & ~(size_t)7);
	return 0;
}

/* Below the wakeup mark the reader is left to its tick: events do not wake
 * epoll until the one whose bytes cross the mark. From an empty ring,
 * loopback connections (about 1 KiB of events each) until epoll reports
 * the ring: by then it must hold at least the mark (64 KiB), and it must
 * report it within 1,000 connections (a quarter of the ring). */
START_TEST(test_wakeup_mark)
{
	struct kt_bpf_opts o = { .wakeup_bytes = 64u << 10, .ringbuf_bytes = 4u << 20,
				 .fold_interval_ns = 60000000000ULL };
	struct epoll_event ev;
	struct kt_bpf *b;
	size_t bytes = 0;
	uint16_t port;
	int lfd, i, ready = 0, err;

	SKIP_UNLESS_ROOT();
	b = open_own(&o, ring_bytes, &bytes);
	lfd = listener(&port);
	/* empty the ring, and epoll's ready list with it */
	ck_assert_int_ge(kt_bpf_poll(b, 0), 0);
	ck_assert_int_ge(epoll_wait(kt_bpf_fd(b), &ev, 1, 0), 0);
	ck_assert_int_ge(kt_bpf_poll(b, 0), 0);
	bytes = 0;
	for (i = 0; i < 1000 && !ready; i++) {
		int c = connect_to(port, &err), a;

		ck_assert_int_eq(err, 0);
		a = accept(lfd, NULL, NULL);
		ck_assert_int_ge(a, 0);
		close(c);
		close(a);
		ready = epoll_wait(kt_bpf_fd(b), &ev, 1, 0);
		ck_assert_int_ge(ready, 0);
	}
	ck_assert_msg(ready == 1, "no wakeup after %d connections", i);
	ck_assert_int_ge(kt_bpf_poll(b, 0), 0);
	ck_assert_msg(bytes >= o.wakeup_bytes, "woken with %zu bytes in the ring, below the "
		      "mark of %u, after %d connections", bytes, o.wakeup_bytes, i);
	close(lfd);
	kt_bpf_close(b);
}
END_TEST

static int count_only(void *ctx, const void *data, size_t len)
{
	(*(size_t *)ctx)++;
	return kt_bpf_event_type(data, len) < 0 ? -EPROTO : 0;
}

/* A ring buffer nobody reads fills up: what does not fit is counted, never
 * silently lost. */
START_TEST(test_lost_counted)
{
	struct kt_bpf_opts o = { .ringbuf_bytes = 4096 };
	struct kt_bpf *b = NULL;
	uint64_t c[KT_CNT__MAX];
	uint16_t port;
	int lfd, cl, sv, i, err, n;
	size_t seen = 0;

	SKIP_UNLESS_ROOT();
	b = open_own(&o, count_only, &seen);
	lfd = listener(&port);
	/* 30 connections, 7 events each: far more than 4 KiB holds */
	for (i = 0; i < 30; i++) {
		cl = connect_to(port, &err);
		ck_assert_int_eq(err, 0);
		sv = accept(lfd, NULL, NULL);
		close(cl);
		close(sv);
	}
	close(lfd);
	ck_assert_int_eq(kt_bpf_counters(b, c), 0);
	ck_assert_uint_gt(c[KT_CNT_LOST_FLOW], 0);
	n = kt_bpf_poll(b, 0);
	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq(seen, (size_t)n);
	ck_assert_uint_le((uint64_t)n, c[KT_CNT_EVENTS]);
	ck_assert_uint_le((uint64_t)n * sizeof(struct kt_ev_flow), 4096);
	kt_bpf_close(b);
}
END_TEST


static ssize_t fd_read(void *ctx, void *buf, size_t len)
{
	return read(*(int *)ctx, buf, len);
}

/* The source as ktcap runs it: events converted to records in a spool, read
 * back through the stream reader, and the manifest report. */
START_TEST(test_source_to_spool)
{
	char dir[] = "/tmp/kt-bpfsrc-XXXXXX", path[512], cmd[600], comm[32];
	struct kt_record_opts ro = { .stats_interval_ns = 1000000000ULL };
	struct kt_record_ctx ctx = { .opts = &ro };
	struct kt_stream_reader *r;
	const void *recs;
	json_t *report, *m;
	void *state = NULL;
	uint16_t port = closed_port();
	int fd, err, found = 0;
	struct dirent *de;
	struct timespec now;
	DIR *d;
	size_t n, i;

	SKIP_UNLESS_ROOT();
	my_comm(comm, sizeof(comm));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/spool", dir);
	ck_assert_int_eq(kt_spool_create(&ctx.spool, path, NULL), 0);
	m = kt_manifest_new("ktcap");
	ck_assert_int_eq(kt_manifest_clock_sample(m, "start", &ctx.boot_to_utc_ns), 0);
	err = kt_bpf_source.start(&ctx, &state);
	ck_assert_msg(err == 0, "start: %s", kt_err_msg(err));
	ck_assert_int_ge(kt_bpf_source.fd(state), 0);

	fd = connect_to(port, &err);
	ck_assert_int_eq(err, ECONNREFUSED);
	close(fd);
	ck_assert_int_eq(kt_bpf_source.poll(state, &ctx), 0);
	report = json_object();
	ck_assert_int_eq(kt_bpf_source.stop(state, &ctx, report), 0);
	kt_bpf_source.free(state);
	ck_assert_int_eq(kt_spool_close(ctx.spool), 0);

	ck_assert_int_eq(json_integer_value(json_object_get(report, "lost")), 0);
	ck_assert_int_ge(json_integer_value(json_object_get(json_object_get(report, "records"),
							     "flow")), 1);
	ck_assert_uint_ge(json_array_size(json_object_get(report, "programs")), 15);
	ck_assert_ptr_nonnull(json_object_get(json_object_get(report, "drop_reasons"), "2"));
	json_decref(report);
	json_decref(m);

	clock_gettime(CLOCK_REALTIME, &now);
	snprintf(path, sizeof(path), "%s/spool/streams/flow", dir);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/spool/streams/flow/%s", dir, de->d_name);
		fd = open(path, O_RDONLY);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(kt_stream_reader_open(&r, fd_read, &fd, &kt_flow_schema, path), 0);
		while (kt_stream_reader_next(r, &recs, &n) == 0 && n) {
			for (i = 0; i < n; i++) {
				const struct kt_flow *f = (const struct kt_flow *)recs + i;

				if (f->kind != KT_FLOW_FAIL || f->dport != port)
					continue;
				found++;
				ck_assert_uint_eq(f->cause, KT_CAUSE_REFUSED);
				ck_assert_int_eq(f->err, 111);
				ck_assert_uint_eq(f->pid, (uint32_t)getpid());
				ck_assert_uint_eq(f->comm.len, strlen(comm));
				ck_assert_int_eq(memcmp(f->comm.p, comm, f->comm.len), 0);
				ck_assert(kt_ip_is_v4(f->daddr));
				/* boot time converted to UTC: within the last minute */
				ck_assert_uint_le(f->ts, (uint64_t)now.tv_sec * 1000000000ULL +
						  (uint64_t)now.tv_nsec);
				ck_assert_uint_ge(f->ts, ((uint64_t)now.tv_sec - 60) * 1000000000ULL);
			}
		}
		kt_stream_reader_free(r);
		close(fd);
	}
	closedir(d);
	ck_assert_int_eq(found, 1);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST


struct udp_sum { uint32_t pid; uint64_t count; };

static int sum_udp(void *ctx, const void *data, size_t len)
{
	struct udp_sum *u = ctx;
	struct kt_ev_flow e;

	if (kt_bpf_event_type(data, len) != KT_EV_FLOW)
		return 0;
	memcpy(&e, data, sizeof(e));
	if (e.kind == KT_EVK_UDP_SEND && e.pid == u->pid)
		u->count += e.count;
	return 0;
}

/* More peers than the fold map holds: the map refuses new peers, whose
 * sends then go out unfolded. Delivered counts add up to what was sent,
 * and the loss accounting agrees that nothing was lost. */
START_TEST(test_fold_overflow_nothing_lost)
{
	enum { PEERS = 12000 };
	struct kt_bpf_opts o = { .fold_interval_ns = 60000000000ULL, .ringbuf_bytes = 16u << 20 };
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct udp_sum u = { .pid = (uint32_t)getpid() };
	uint64_t c[KT_CNT__MAX], lost;
	struct sockaddr_in any = { .sin_family = AF_INET };
	socklen_t al = sizeof(any);
	struct kt_bpf *b = NULL;
	int fd, rx, i, k;
	char buf[8];

	SKIP_UNLESS_ROOT();
	b = open_own(&o, sum_udp, &u);
	/* one receiver on every loopback address, read as we go so the
	 * kernel drops nothing; two datagrams to each of PEERS addresses:
	 * the first of each is reported at once, the second folded */
	rx = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	ck_assert_int_eq(bind(rx, (struct sockaddr *)&any, sizeof(any)), 0);
	ck_assert_int_eq(getsockname(rx, (struct sockaddr *)&any, &al), 0);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	a.sin_port = any.sin_port;
	for (i = 0; i < PEERS; i++) {
		a.sin_addr.s_addr = htonl(0x7f000000u | (uint32_t)(i + 2));	/* 127.0.x.y */
		for (k = 0; k < 2; k++)
			ck_assert_int_eq(sendto(fd, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)), 1);
		while (recv(rx, buf, sizeof(buf), 0) > 0)
			;
		if (i % 1000 == 999)
			kt_bpf_poll(b, 0);
	}
	close(rx);
	close(fd);
	/* as a recording ends: other processes' sends are folded too, and
	 * would count as lost if they went on between drain and count */
	ck_assert_int_eq(kt_bpf_detach(b), 0);
	ck_assert_int_ge(kt_bpf_poll(b, 0), 0);
	ck_assert_int_eq(kt_bpf_drain_folds(b), 0);
	ck_assert_int_eq(kt_bpf_counters(b, c), 0);
	lost = kt_bpf_lost_folded(b);
	ck_assert_uint_eq(lost, 0);
	ck_assert_uint_le(u.count, 2 * PEERS);
	if (c[KT_CNT_LOST_FLOW] == 0 && kt_bpf_missed(b) == 0)
		ck_assert_uint_eq(u.count, 2 * PEERS);
	else
		fprintf(stderr, "%s: not asserted: the ring buffer or the kernel lost "
			"events on this busy host\n", __func__);
	kt_bpf_close(b);
}
END_TEST


/* A connection opened before the capture is adopted at its first send:
 * it reports STATS with the process that uses it, and its totals at close. */
START_TEST(test_adopt_existing)
{
	struct kt_bpf_opts o = { .stats_min_age_ns = 1 };
	uint16_t port;
	int lfd, c, s, err, stats = 0, closes = 0;
	struct kt_bpf *b = NULL;
	char buf[16];
	size_t i;

	SKIP_UNLESS_ROOT();
	flows = calloc(MAX_EVENTS, sizeof(*flows));
	procs = calloc(MAX_EVENTS, sizeof(*procs));
	nflows = nprocs = 0;
	lfd = listener(&port);
	c = connect_to(port, &err);
	ck_assert_int_eq(err, 0);
	s = accept(lfd, NULL, NULL);
	xfer(c, s, 300);
	/* the capture starts now */
	err = kt_bpf_open(&b, &o, collect, NULL);
	ck_assert_msg(err == 0, "kt_bpf_open: %s", kt_err_msg(err));
	xfer(c, s, 2000);
	ck_assert_int_eq(kt_bpf_trigger_stats(b), 0);
	close(c);
	ck_assert_int_eq(recv(s, buf, sizeof(buf), 0), 0);
	close(s);
	close(lfd);
	for (i = 0; i < 10; i++)
		kt_bpf_poll(b, 20);
	for (i = 0; i < nflows; i++) {
		const struct kt_ev_flow *e = &flows[i];

		if (e->sport != port && e->dport != port)
			continue;
		ck_assert_uint_ne(e->kind, KT_EVK_OPEN);
		if (e->kind == KT_EVK_STATS) {
			stats++;
			/* the client side sent: adopted with its pid */
			ck_assert_uint_eq(e->dport, port);
			ck_assert_uint_eq(e->pid, (uint32_t)getpid());
			ck_assert_bytes(e->bytes_sent, 2300);
			ck_assert_uint_eq(e->duration_ns, 0);	/* open time unknown */
		}
		if (e->kind == KT_EVK_CLOSE) {
			closes++;
			if (e->dport == port) {
				ck_assert_uint_eq(e->closer, KT_EVL_LOCAL);
				ck_assert_uint_eq(e->pid, (uint32_t)getpid());
				ck_assert_bytes(e->bytes_sent, 2300);
			}
		}
	}
	ck_assert_int_eq(stats, 1);	/* the server side never sent */
	ck_assert_int_eq(closes, 2);
	kt_bpf_close(b);
	free(flows);
	free(procs);
}
END_TEST

/* tracefs unmounted (in a mount namespace of our own): found missing, then
 * mounted at /sys/kernel/tracing. */
START_TEST(test_tracefs_mount)
{
	char dir[256];
	bool mounted = true;
	int err;

	if (geteuid() != 0) {
		fprintf(stderr, "%s: skipped: not root: cannot mount\n", __func__);
		return;
	}
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	umount2(KT_TRACEFS_DEFAULT, MNT_DETACH);
	umount2("/sys/kernel/debug/tracing", MNT_DETACH);
	umount2("/sys/kernel/debug", MNT_DETACH);
	err = kt_tracefs_find(dir, sizeof(dir), false, &mounted);
	ck_assert_int_eq(err, -ENOENT);
	ck_assert_ptr_nonnull(strstr(kt_err_msg(err), "mount -t tracefs"));
	ck_assert(!mounted);
	ck_assert_int_eq(kt_tracefs_find(dir, sizeof(dir), true, &mounted), 0);
	ck_assert(mounted);
	ck_assert_str_eq(dir, KT_TRACEFS_DEFAULT);
	ck_assert(kt_tracepoint_exists(dir, "sock", "inet_sock_set_state"));
	ck_assert(!kt_tracepoint_exists(dir, "sock", "no_such_event"));
	/* found, not mounted twice */
	ck_assert_int_eq(kt_tracefs_find(dir, sizeof(dir), true, &mounted), 0);
	ck_assert(!mounted);
}
END_TEST

/* ---- without root: event conversion and cgroup path parsing ------------- */


START_TEST(test_convert_flow)
{
	struct kt_ev_flow in = { .type = KT_EV_FLOW, .size = sizeof(in), .ts = 1000,
				 .kind = KT_EVK_FAIL, .cause = KT_EVC_REFUSED, .err = 111,
				 .sport = 40000, .dport = 80, .pid = 42, .comm = "curl" };
	struct kt_ev_flow hold;
	struct kt_flow out;
	unsigned char bytes[sizeof(in)];

	ck_assert_int_eq(kt_bpf_flow_convert(&out, &hold, &in, sizeof(in), 5000), 0);
	ck_assert_uint_eq(out.ts, 6000);
	ck_assert_uint_eq(out.kind, KT_FLOW_FAIL);
	ck_assert_uint_eq(out.cause, KT_CAUSE_REFUSED);
	ck_assert_int_eq(out.err, 111);
	ck_assert_uint_eq(out.comm.len, 4);
	ck_assert_int_eq(memcmp(out.comm.p, "curl", 4), 0);
	/* short, wrong size, unknown type: refused */
	ck_assert_int_eq(kt_bpf_flow_convert(&out, &hold, &in, 7, 0), -EPROTO);
	ck_assert_int_eq(kt_bpf_flow_convert(&out, &hold, &in, sizeof(in) - 1, 0), -EPROTO);
	memcpy(bytes, &in, sizeof(in));
	bytes[4] = 100;	/* size */
	ck_assert_int_eq(kt_bpf_event_type(bytes, sizeof(bytes)), -EPROTO);
	bytes[4] = (unsigned char)sizeof(in);
	bytes[0] = 9;	/* type */
	ck_assert_int_eq(kt_bpf_event_type(bytes, sizeof(bytes)), -EPROTO);
}
END_TEST

START_TEST(test_check_features)
{
	struct kt_check_list l = { 0 };
	json_t *j;
	size_t i;
	int tp = 0;

	ck_assert_int_eq(kt_check_features(&l), 0);
	for (i = 0; i < l.n; i++) {
		if (!strncmp(l.items[i].name, "tracepoint ", 11))
			tp++;
		/* anything not ok says what to do */
		if (l.items[i].status != KT_CHECK_OK)
			ck_assert_msg(l.items[i].fix[0], "%s: no fix", l.items[i].name);
	}
	/* the tracepoints are listed when tracefs is readable */
	if (geteuid() == 0)
		ck_assert_int_ge(tp, 15);
	j = kt_check_to_json(&l);
	ck_assert_uint_eq(json_array_size(j), l.n);
	json_decref(j);
	if (geteuid() == 0) {
		/* this machine: everything the eBPF source needs is here */
		for (i = 0; i < l.n; i++)
			if (!strcmp(l.items[i].source, "bpf"))
				ck_assert_msg(l.items[i].status == KT_CHECK_OK, "%s: %s",
					      l.items[i].name, l.items[i].detail);
	}
	kt_check_list_release(&l);
}
END_TEST

Suite *kt_bpf_suite(void)
{
	Suite *s = suite_create("bpf");
	TCase *live = tcase_create("live");
	TCase *offline = tcase_create("offline");
	TCase *alone = tcase_create("standalone");	/* each loads its own */

	tcase_add_checked_fixture(live, setup, teardown);
	tcase_set_timeout(live, 60);
	tcase_add_test(live, test_open_close);
	tcase_add_test(live, test_refused);
	tcase_add_test(live, test_reset);
	tcase_add_test(live, test_stats);
	tcase_add_test(live, test_udp_send);
	tcase_add_test(live, test_sync_connect_failure);
	tcase_add_test(live, test_unreachable_and_timeout);
	tcase_add_test(live, test_late_close);
	tcase_add_test(live, test_proc_lineage);
	tcase_add_test(live, test_cgroup_events);
	tcase_add_test(live, test_programs_report);
	tcase_add_test(live, test_ipv6);
	suite_add_tcase(s, live);

	tcase_set_timeout(alone, 60);
	tcase_add_test(alone, test_missing_tracepoint);
	tcase_add_test(alone, test_tracefs_mount);
	tcase_add_test(alone, test_lost_counted);
	tcase_add_test(alone, test_wakeup_mark);
	tcase_add_test(alone, test_source_to_spool);
	tcase_add_test(alone, test_fold_overflow_nothing_lost);
	tcase_add_test(alone, test_adopt_existing);
	suite_add_tcase(s, alone);

	tcase_add_test(offline, test_convert_flow);
	tcase_add_test(offline, test_check_features);
	suite_add_tcase(s, offline);
	return s;
}
