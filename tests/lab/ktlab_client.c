/* ktlab_client.c - the lab's traffic driver and its odd servers.
 *
 * The lab needs traffic whose every connection is known, so capture tests can
 * compare what ktcap saw with what really happened. This program makes that
 * traffic and writes the ground truth as JSON (one object per connection or
 * DNS query, with the outcome the kernel reported to the application):
 *
 *   ktlab_client run --out FILE [steps...]
 *     --short N ADDR:PORT      N HTTP/1.0 GETs, one connection each
 *     --cluster N ADDR:PORT    the same through a ClusterIP; the body names
 *                              the backend that served it ("served_by")
 *     --external N ADDR:PORT   the same to a host outside the cluster
 *     --long SECS ADDR:PORT    one connection to redis, a PING every 100 ms
 *     --keepalive SECS ADDR:PORT  one HTTP/1.1 connection kept SECS seconds,
 *                              a GET every 100 ms (a client's connection
 *                              pool); the body names the backend
 *     --refused ADDR:PORT      expect ECONNREFUSED
 *     --timeout ADDR:PORT      expect ETIMEDOUT (TCP_SYNCNT 1: about 3 s)
 *     --reset ADDR:PORT        expect ECONNRESET from a serve-reset server
 *     --dns SERVER NAME        one A query through libresolv
 *   ktlab_client serve-reset PORT   accept, read, close with SO_LINGER 0 (RST)
 *   ktlab_client serve-hold PORT    accept and close after reading
 *
 * Every loop is bounded in count and time; it only talks to the addresses it
 * is given, which the lab creates inside its own namespaces.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <resolv.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SHORT 100000
#define MAX_LONG_SECS 600
#define IO_TIMEOUT_MS 5000
#define CONNECT_TIMEOUT_MS 10000

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int parse_addr(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535)
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -EINVAL;
	return 0;
}

static const char *result_name(int err)
{
	switch (err) {
	case 0: return "ok";
	case ECONNREFUSED: return "refused";
	case ETIMEDOUT: return "timeout";
	case ECONNRESET: return "reset";
	case EHOSTUNREACH: case ENETUNREACH: return "unreachable";
	default: return "error";
	}
}

/* Wait for fd to become readable; -ETIMEDOUT after IO_TIMEOUT_MS. */
static int wait_in(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n = poll(&p, 1, IO_TIMEOUT_MS);

	if (n < 0)
		return -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

struct conn {
	const char *step;
	struct sockaddr_in asked;
	struct sockaddr_in local;
	int err;		/* positive errno, 0 when all went well */
	const char *failed_at;	/* "connect", "read", "write" */
	uint64_t start_ns, connected_ns, end_ns;
	uint64_t sent, recv;
	char served_by[64];
};

static json_t *conn_json(const struct conn *c)
{
	char src[INET_ADDRSTRLEN] = "", dst[INET_ADDRSTRLEN];
	json_t *o;

	if (c->local.sin_family == AF_INET)
		inet_ntop(AF_INET, &c->local.sin_addr, src, sizeof(src));
	inet_ntop(AF_INET, &c->asked.sin_addr, dst, sizeof(dst));
	o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:i, s:s, s:i, s:I, s:I, s:I, s:I, s:I}",
		      "step", c->step, "proto", "tcp",
		      "src", src, "sport", (int)ntohs(c->local.sin_port),
		      "dst", dst, "dport", (int)ntohs(c->asked.sin_port),
		      "result", result_name(c->err), "errno", c->err,
		      "start_ns", (json_int_t)c->start_ns,
		      "connect_ns", (json_int_t)(c->connected_ns ? c->connected_ns - c->start_ns : 0),
		      "end_ns", (json_int_t)c->end_ns,
		      "bytes_sent", (json_int_t)c->sent, "bytes_recv", (json_int_t)c->recv);
	if (o && c->failed_at)
		json_object_set_new(o, "failed_at", json_string(c->failed_at));
	if (o && c->served_by[0])
		json_object_set_new(o, "served_by", json_string(c->served_by));
	return o;
}

/* The source address the kernel will pick for dst: a connected UDP socket
 * sends nothing, but has it. */
static int route_src(const struct sockaddr_in *dst, struct sockaddr_in *src)
{
	socklen_t len = sizeof(*src);
	int rc = -1, fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) == 0 &&
	    getsockname(fd, (struct sockaddr *)src, &len) == 0)
		rc = 0;
	close(fd);
	src->sin_port = 0;
	return rc;
}

/* Open a connection to c->asked. Returns the fd or -1 with c->err set.
 *
 * Non-blocking connect, as most clients do: a blocking connect holds the
 * socket while the SYN goes out, and an ICMP unreachable that comes back at
 * once (REJECT on the same host) is then only a soft error that waits for
 * the SYN retransmit, a second later. */
static int conn_open(struct conn *c, int syncnt)
{
	socklen_t len = sizeof(c->local);
	struct pollfd p;
	int fd, err = 0;

	c->start_ns = now_ns();
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		c->err = errno;
		c->failed_at = "socket";
		return -1;
	}
	if (syncnt > 0)
		setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &syncnt, sizeof(syncnt));
	/* Bind first so both ends are known even when connect fails. */
	if (route_src(&c->asked, &c->local) == 0 &&
	    bind(fd, (struct sockaddr *)&c->local, sizeof(c->local)) == 0)
		getsockname(fd, (struct sockaddr *)&c->local, &len);
	if (connect(fd, (struct sockaddr *)&c->asked, sizeof(c->asked)) < 0) {
		if (errno != EINPROGRESS) {
			err = errno;
		} else {
			p = (struct pollfd){ .fd = fd, .events = POLLOUT };
			len = sizeof(err);
			/* SYN retries end the wait: TCP_SYNCNT bounds it. */
			if (poll(&p, 1, CONNECT_TIMEOUT_MS) <= 0)
				err = ETIMEDOUT;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				err = errno;
		}
	}
	if (err) {
		c->err = err;
		c->failed_at = "connect";
		close(fd);
		c->end_ns = now_ns();
		return -1;
	}
	c->connected_ns = now_ns();
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

static int send_all(struct conn *c, int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			c->err = errno;
			c->failed_at = "write";
			return -1;
		}
		c->sent += (uint64_t)n;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read until EOF, keeping the last line of the body in served_by. */
static int read_to_eof(struct conn *c, int fd, char *keep, size_t keep_len)
{
	size_t have = 0;

	for (;;) {
		char buf[4096];
		ssize_t n;
		int r = wait_in(fd);

		if (r < 0) {
			c->err = -r;
			c->failed_at = "read";
			return -1;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			c->err = errno;
			c->failed_at = "read";
			return -1;
		}
		if (n == 0)
			break;
		c->recv += (uint64_t)n;
		if (keep && have + (size_t)n < keep_len) {
			memcpy(keep + have, buf, (size_t)n);
			have += (size_t)n;
			keep[have] = '\0';
		}
	}
	return 0;
}

static void http_get(struct conn *c, const char *host)
{
	char req[256], resp[2048] = "";
	int fd = conn_open(c, 0);
	const char *body;

	if (fd < 0)
		return;
	snprintf(req, sizeof(req), "GET / HTTP/1.0\r\nHost: %s\r\nUser-Agent: ktlab\r\n\r\n", host);
	if (send_all(c, fd, req, strlen(req)) == 0 && read_to_eof(c, fd, resp, sizeof(resp)) == 0) {
		body = strstr(resp, "\r\n\r\n");
		if (body && sscanf(body + 4, "%63s", c->served_by) != 1)
			c->served_by[0] = '\0';
	}
	close(fd);
	c->end_ns = now_ns();
}

/* One connection kept open for secs seconds, a redis PING every 100 ms. */
static void long_lived(struct conn *c, long secs)
{
	static const char ping[] = "PING\r\n";
	uint64_t until;
	int fd = conn_open(c, 0);

	if (fd < 0)
		return;
	until = c->connected_ns + (uint64_t)secs * 1000000000u;
	while (now_ns() < until) {
		char buf[64];
		ssize_t n;
		int r;

		if (send_all(c, fd, ping, sizeof(ping) - 1) < 0)
			break;
		if ((r = wait_in(fd)) < 0) {
			c->err = -r;
			c->failed_at = "read";
			break;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0) {
			c->err = n < 0 ? errno : EPIPE;
			c->failed_at = "read";
			break;
		}
		c->recv += (uint64_t)n;
		usleep(100000);
	}
	close(fd);
	c->end_ns = now_ns();
}

/* Read one HTTP/1.1 response whose body is a single line (the lab's
 * nginx: "return 200 NAME"), keeping that line in served_by. Ends at the
 * newline that closes the body. */
static int read_one_response(struct conn *c, int fd)
{
	char resp[2048];
	size_t have = 0;

	for (;;) {
		const char *body;
		ssize_t n;
		int r = wait_in(fd);

		if (r < 0) {
			c->err = -r;
			c->failed_at = "read";
			return -1;
		}
		n = recv(fd, resp + have, sizeof(resp) - 1 - have, 0);
		if (n <= 0) {
			c->err = n < 0 ? errno : EPIPE;
			c->failed_at = "read";
			return -1;
		}
		c->recv += (uint64_t)n;
		have += (size_t)n;
		resp[have] = '\0';
		body = strstr(resp, "\r\n\r\n");
		if (body && strchr(body + 4, '\n')) {
			if (sscanf(body + 4, "%63s", c->served_by) != 1)
				c->served_by[0] = '\0';
			return 0;
		}
		if (have == sizeof(resp) - 1) {
			c->err = EMSGSIZE;
			c->failed_at = "read";
			return -1;
		}
	}
}

/* One HTTP/1.1 connection kept secs seconds, a GET every 100 ms. */
static void keepalive(struct conn *c, long secs, const char *host)
{
	char req[256];
	uint64_t until;
	int fd = conn_open(c, 0);

	if (fd < 0)
		return;
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: ktlab\r\n\r\n", host);
	until = c->connected_ns + (uint64_t)secs * 1000000000u;
	while (now_ns() < until) {
		if (send_all(c, fd, req, strlen(req)) < 0 || read_one_response(c, fd) < 0)
			break;
		usleep(100000);
	}
	close(fd);
	c->end_ns = now_ns();
}

static void reset_probe(struct conn *c)
{
	static const char hello[] = "hello\n";
	int fd = conn_open(c, 0);

	if (fd < 0)
		return;
	if (send_all(c, fd, hello, sizeof(hello) - 1) == 0)
		read_to_eof(c, fd, NULL, 0);
	close(fd);
	c->end_ns = now_ns();
}

static json_t *dns_query(const char *server, const char *name)
{
	struct __res_state st;
	unsigned char ans[1024];
	json_t *o, *answers = json_array();
	uint64_t start = now_ns();
	int n, rcode;

	memset(&st, 0, sizeof(st));
	if (res_ninit(&st) < 0)
		return NULL;
	st.nscount = 1;
	st.nsaddr_list[0].sin_family = AF_INET;
	st.nsaddr_list[0].sin_port = htons(53);
	inet_pton(AF_INET, server, &st.nsaddr_list[0].sin_addr);
	st.retry = 1;
	st.retrans = 2;
	n = res_nquery(&st, name, ns_c_in, ns_t_a, ans, sizeof(ans));
	if (n < 0) {
		/* libresolv hides the rcode of a failed query in h_errno. */
		rcode = st.res_h_errno == HOST_NOT_FOUND ? ns_r_nxdomain :
			st.res_h_errno == TRY_AGAIN ? ns_r_servfail : -1;
	} else {
		ns_msg msg;
		ns_rr rr;

		rcode = 0;
		if (ns_initparse(ans, n, &msg) == 0) {
			rcode = ns_msg_getflag(msg, ns_f_rcode);
			for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
				char ip[INET_ADDRSTRLEN];

				if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
					break;
				if (ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4) {
					inet_ntop(AF_INET, ns_rr_rdata(rr), ip, sizeof(ip));
					json_array_append_new(answers, json_string(ip));
				}
			}
		}
	}
	res_nclose(&st);
	o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:i, s:I, s:I, s:o}",
		      "step", "dns", "proto", "udp", "server", server, "port", 53,
		      "name", name, "rcode", rcode,
		      "start_ns", (json_int_t)start, "end_ns", (json_int_t)now_ns(),
		      "answers", answers);
	return o;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: ktlab_client run --out FILE [--short N A:P] [--cluster N A:P] [--external N A:P]\n"
		"                        [--long SECS A:P] [--keepalive SECS A:P]\n"
		"                        [--refused A:P] [--timeout A:P] [--reset A:P] [--dns SERVER NAME]\n"
		"       ktlab_client serve-reset PORT\n"
		"       ktlab_client serve-hold PORT\n");
	return 2;
}

static int serve(const char *port_s, int reset)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	long port = strtol(port_s, NULL, 10);
	int one = 1, lfd;

	if (port <= 0 || port > 65535)
		return usage();
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		perror("socket");
		return 1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_port = htons((uint16_t)port);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 64) < 0) {
		perror("bind");
		return 1;
	}
	/* Runs until the lab kills it; each connection is handled in bounded time. */
	for (;;) {
		char buf[512];
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			perror("accept");
			return 1;
		}
		if (wait_in(fd) == 0 && recv(fd, buf, sizeof(buf), 0) < 0)
			perror("recv");
		if (reset) {
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };

			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		close(fd);
	}
}

int main(int argc, char **argv)
{
	const char *out = NULL;
	json_t *conns, *doc;
	int i, rc = 1;

	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && !strcmp(argv[1], "serve-reset"))
		return serve(argv[2], 1);
	if (argc == 3 && !strcmp(argv[1], "serve-hold"))
		return serve(argv[2], 0);
	if (argc < 2 || strcmp(argv[1], "run"))
		return usage();

	conns = json_array();
	doc = json_pack("{s:i, s:I, s:o}", "pid", (int)getpid(),
			"start_ns", (json_int_t)now_ns(), "connections", conns);
	for (i = 2; i < argc; i++) {
		const char *opt = argv[i];
		struct conn c = { 0 };
		long n = 1;

		if (!strcmp(opt, "--out") && i + 1 < argc) {
			out = argv[++i];
			continue;
		}
		if (!strcmp(opt, "--dns") && i + 2 < argc) {
			json_t *q = dns_query(argv[i + 1], argv[i + 2]);

			if (!q) {
				fprintf(stderr, "ktlab_client: cannot initialise the resolver\n");
				goto out;
			}
			json_array_append_new(conns, q);
			i += 2;
			continue;
		}
		bool http = !strcmp(opt, "--short") || !strcmp(opt, "--cluster") ||
			    !strcmp(opt, "--external");

		bool timed = !strcmp(opt, "--long") || !strcmp(opt, "--keepalive");

		if (http || timed) {
			char *end;

			if (i + 2 >= argc)
				return usage();
			n = strtol(argv[++i], &end, 10);
			if (*end || n < 1 || n > (timed ? MAX_LONG_SECS : MAX_SHORT))
				return usage();
		} else if (strcmp(opt, "--refused") && strcmp(opt, "--timeout") &&
			   strcmp(opt, "--reset")) {
			return usage();
		}
		if (i + 1 >= argc || parse_addr(argv[++i], &c.asked) < 0) {
			fprintf(stderr, "ktlab_client: bad address for %s\n", opt);
			return 2;
		}
		c.step = opt + 2;
		if (http) {
			for (long k = 0; k < n; k++) {
				struct conn one = c;

				http_get(&one, argv[i]);
				json_array_append_new(conns, conn_json(&one));
			}
			continue;
		}
		if (!strcmp(opt, "--long"))
			long_lived(&c, n);
		else if (!strcmp(opt, "--keepalive"))
			keepalive(&c, n, argv[i]);
		else if (!strcmp(opt, "--timeout")) {
			int fd = conn_open(&c, 1);

			if (fd >= 0)
				close(fd);
			c.end_ns = now_ns();
		} else if (!strcmp(opt, "--refused")) {
			int fd = conn_open(&c, 0);

			if (fd >= 0)
				close(fd);
			c.end_ns = now_ns();
		} else
			reset_probe(&c);
		json_array_append_new(conns, conn_json(&c));
	}
	json_object_set_new(doc, "end_ns", json_integer((json_int_t)now_ns()));
	if (!out) {
		fprintf(stderr, "ktlab_client: --out is required\n");
		goto out;
	}
	if (json_dump_file(doc, out, JSON_INDENT(1)) < 0) {
		fprintf(stderr, "ktlab_client: cannot write '%s'\n", out);
		goto out;
	}
	rc = 0;
out:
	json_decref(doc);
	return rc;
}
