/* ktgen.c - writes a synthetic spool with every record type, shaped like a
 * small cluster: P pods across a few workloads, E edges between them,
 * connections opening and closing with plausible sizes and failures.
 * Deterministic for a seed. Used by the tests, the benchmarks and to make
 * samples/synthetic.tar.zst (the main sample, samples/boutique.tar.zst, is
 * recorded from the lab).
 *
 *   ktgen SPOOL [--flows N] [--pods P] [--edges E] [--seed S] [--start NS]
 *               [--block RECORDS] [--level ZSTD_LEVEL] [--k8s] [--truth FILE]
 *
 * --k8s: the spool also holds the cluster's Kubernetes objects, as the k8s
 * source writes them (ktgen_k8s.c), and half of the edges (the even ones)
 * go through their destination's Service: the client's socket sees the
 * ClusterIP, and a conntrack source limited to KTGEN_CT_BUDGET new entries
 * a second tells the backend of some of those connections.
 * --truth FILE: what `ktana topo --level pod --format json` must find, as
 * its own edges[] (one entry per generated edge: equal keys add up), and
 * the counts; written after the spool (ktgen.h has the addresses).
 */
#include "error.h"
#include "ktgen.h"
#include "manifest.h"
#include "records.h"
#include "spool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

const char *const ktgen_workloads[KTGEN_NWORK] = {
	"frontend", "cartservice", "checkout", "currency", "redis-cart",
	"productcatalog", "recommendation", "shipping", "payment", "email",
};
const uint16_t ktgen_ports[KTGEN_NPORTS] = { 8080, 3550, 6379 };
const char *const ktgen_port_names[KTGEN_NPORTS] = { "http", "grpc", "redis" };

/* New conntrack entries recorded a second at most, as a rate-limited
 * conntrack source keeps: not every connection through a Service. */
#define KTGEN_CT_BUDGET 256u

struct edge {
	uint32_t src, dst;
	uint16_t port;
	bool via;		/* through the Service of dst's workload */
	/* what happened on it, for --truth */
	uint64_t conns, refused, timeout, named, bytes_sent, bytes_recv, retrans;
};

/* 198.18.1.2 upwards, one address a pod, stepping over the ClusterIP range
 * 198.18.128.0/17 into 198.19.0.0/16 (ktgen.h). */
#define POD_FIRST 0xc6120102u
#define POD_LOW_N (0xc6128000u - POD_FIRST)

uint32_t ktgen_pod_ip(uint32_t pod)
{
	return pod < POD_LOW_N ? POD_FIRST + pod : 0xc6130000u + (pod - POD_LOW_N);
}

uint32_t ktgen_cluster_ip(uint32_t workload)
{
	return 0xc612800au + workload;	/* 198.18.128.10 + w */
}

static void pod_ip(uint8_t ip[16], uint32_t pod)
{
	kt_ip_from_v4(ip, htonl(ktgen_pod_ip(pod)));
}

static struct kt_spool_opts spool_opts = { .writer = { .block_records = 16384, .zstd_level = 3 } };

static unsigned port_bit(uint16_t port)
{
	for (unsigned i = 0; i < KTGEN_NPORTS; i++)
		if (ktgen_ports[i] == port)
			return 1u << i;
	return 0;
}

/* The conntrack events of a connection through a ClusterIP, as the node
 * sees them: client -> ClusterIP:port translated to the backend pod. */
static int conntrack(struct kt_spool *sp, const struct kt_flow *f, const struct edge *e,
		     uint8_t kind, uint64_t ts)
{
	struct kt_conntrack c = { 0 };

	c.ts = ts;
	c.kind = kind;
	c.proto = IPPROTO_TCP;
	memcpy(c.orig_src, f->saddr, 16);
	memcpy(c.orig_dst, f->orig_daddr, 16);
	c.orig_sport = f->sport;
	c.orig_dport = f->orig_dport;
	pod_ip(c.reply_src, e->dst);
	memcpy(c.reply_dst, f->saddr, 16);
	c.reply_sport = e->port;
	c.reply_dport = f->sport;
	/* IPS_CONFIRMED | IPS_DST_NAT | IPS_DST_NAT_DONE, and at the end
	 * IPS_SEEN_REPLY | IPS_ASSURED when it was answered */
	c.status = 0x128u | (kind == KT_CT_DESTROY && f->kind != KT_FLOW_FAIL ? 0x6u : 0u);
	return kt_spool_append(sp, &kt_conntrack_schema, &c);
}

/* Pod p's id in the topology: by its name with the objects; without them
 * the UID of its cgroup (a socket's own side) or its address (far side). */
static void pod_id(uint32_t p, bool k8s, bool local, const struct ktgen_pod *pods, char *buf,
		   size_t len)
{
	uint32_t ip = ktgen_pod_ip(p);
	char name[96];

	if (k8s) {
		ktgen_pod_name(p, name, sizeof(name));
		snprintf(buf, len, "pod:%s/%s", KTGEN_NS, name);
	} else if (local) {
		snprintf(buf, len, "pod:uid/%s", pods[p].uid);
	} else {
		snprintf(buf, len, "unattributed:%u.%u.%u.%u", ip >> 24, ip >> 16 & 255,
			 ip >> 8 & 255, ip & 255);
	}
}

/* --truth: the edges and counts `ktana topo --level pod --format json`
 * must show, in its own member names. */
static int write_truth(const char *path, const struct edge *edges, uint32_t nedges,
		       const struct ktgen_pod *pods, uint32_t npods, bool k8s, uint64_t conns,
		       uint64_t ct_entries)
{
	json_t *t = json_object(), *arr = json_array();
	uint8_t *used = calloc(npods, 1);
	uint64_t via = 0, named = 0;
	uint32_t nused = 0;
	int err = 0;

	if (!t || !arr || !used) {
		err = kt_err_set(-ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < nedges; i++) {
		const struct edge *e = &edges[i];
		char src[160], dst[160];
		json_t *o, *failed;

		if (!e->conns)
			continue;
		/* pod entities: the clients, and with the objects the servers
		 * (by address) and the backends conntrack named */
		used[e->src] = 1;
		if (k8s && (!e->via || e->named))
			used[e->dst] = 1;
		pod_id(e->src, k8s, true, pods, src, sizeof(src));
		if (e->via)
			snprintf(dst, sizeof(dst), "service:%s/%s", KTGEN_NS,
				 ktgen_workloads[e->dst % KTGEN_NWORK]);
		else
			pod_id(e->dst, k8s, false, pods, dst, sizeof(dst));
		failed = json_object();
		if (e->refused)
			json_object_set_new(failed, "refused", json_integer((json_int_t)e->refused));
		if (e->timeout)
			json_object_set_new(failed, "timeout", json_integer((json_int_t)e->timeout));
		o = json_pack("{s:s,s:s,s:s,s:i,s:I,s:I,s:o,s:I,s:I,s:I}", "src", src, "dst", dst,
			      "protocol", "tcp", "port", e->port, "connections", (json_int_t)e->conns,
			      "established", (json_int_t)(e->conns - e->refused - e->timeout),
			      "failed", failed, "bytes_sent", (json_int_t)e->bytes_sent,
			      "bytes_received", (json_int_t)e->bytes_recv,
			      "retransmits", (json_int_t)e->retrans);
		if (o && e->via) {
			char b[160];

			pod_id(e->dst, k8s, false, pods, b, sizeof(b));
			json_object_set_new(o, "via_service", json_string(dst));
			json_object_set_new(o, "backends", e->named ? json_pack("[{s:s,s:i,s:I}]",
					    "id", b, "port", e->port, "connections",
					    (json_int_t)e->named) : json_array());
			json_object_set_new(o, "unknown_backend",
					    json_integer((json_int_t)(e->conns - e->named)));
			via += e->conns;
			named += e->named;
		}
		if (!o || json_array_append_new(arr, o)) {
			err = kt_err_set(-ENOMEM, "out of memory");
			goto out;
		}
	}
	for (uint32_t p = 0; p < npods; p++)
		nused += used[p];
	json_object_set_new(t, "pods", json_integer(npods));
	json_object_set_new(t, "pods_seen", json_integer(nused));
	json_object_set_new(t, "connections", json_integer((json_int_t)conns));
	json_object_set_new(t, "via_service", json_integer((json_int_t)via));
	json_object_set_new(t, "backends_named", json_integer((json_int_t)named));
	json_object_set_new(t, "conntrack_entries", json_integer((json_int_t)ct_entries));
	json_object_set(t, "edges", arr);
	if (json_dump_file(t, path, JSON_INDENT(1)))
		err = kt_err_set(-EIO, "cannot write '%s'", path);
out:
	free(used);
	json_decref(arr);
	json_decref(t);
	return err;
}

struct opts {
	uint64_t flows, start;
	uint32_t pods, nedges;
	bool k8s;
	const char *dir, *truth;
};

static int gen(const struct opts *o)
{
	const uint32_t pods = o->pods, nedges = o->nedges;
	const uint64_t start = o->start;
	struct kt_spool *sp = NULL;
	struct edge *edges = calloc(nedges, sizeof(*edges));
	struct ktgen_pod *pinfo = calloc(pods, sizeof(*pinfo));
	struct ktgen_cluster cl = { .npods = pods, .start_ns = start };
	json_t *m = kt_manifest_new("ktgen");
	uint64_t ts = start, conns = 0, ct_entries = 0, ct_sec = UINT64_MAX, end = 0;
	unsigned ct_left = 0;
	int err;

	if (!edges || !pinfo || !m) {
		err = kt_err_set(-ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < nedges; i++) {
		edges[i].src = (uint32_t)(next() % pods);
		edges[i].dst = (uint32_t)(next() % pods);
		edges[i].port = (uint16_t)(i % 7 == 0 ? 6379 : i % 3 ? 8080 : 3550);
		edges[i].via = o->k8s && i % 2 == 0;
		cl.ports[edges[i].dst % KTGEN_NWORK] |= (uint8_t)port_bit(edges[i].port);
	}
	if ((err = kt_spool_create(&sp, o->dir, &spool_opts)))
		goto out;
	kt_manifest_clock_sample(m, "start", NULL);
	json_object_set_new(json_object_get(m, "host"), "node_name", json_string(KTGEN_NODE));
	kt_manifest_set_source(m, "bpf", "ok", "synthetic events written by ktgen",
			       json_pack("{s:i}", "lost", 0));
	kt_manifest_set_source(m, "pcap", "skipped", "ktgen writes no packets", NULL);
	if (o->k8s)
		kt_manifest_set_source(m, "conntrack", "ok", "synthetic events written by ktgen",
				       json_pack("{s:i,s:i}", "lost", 0, "budget_per_s",
						 KTGEN_CT_BUDGET));
	if ((err = kt_spool_save_manifest(sp, m)))
		goto out;

	for (uint32_t p = 0; p < pods; p++) {
		struct kt_proc pr = { 0 };
		char *cid = pinfo[p].cid, *uid = pinfo[p].uid;
		const char *comm = ktgen_workloads[p % KTGEN_NWORK];

		snprintf(cid, sizeof(pinfo[p].cid), "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64,
			 next(), next(), next(), next());
		snprintf(uid, sizeof(pinfo[p].uid), "%08x-%04x-4%03x-8%03x-%012" PRIx64,
			 (unsigned)next(), (unsigned)(next() & 0xffff), (unsigned)(next() & 0xfff),
			 (unsigned)(next() & 0xfff), (uint64_t)(next() & 0xffffffffffffull));
		pr.ts = ts;
		pr.kind = KT_PROC_SNAPSHOT;
		pr.pid = 1000 + p;
		pr.ppid = 1;
		pr.cgroup_id = 5000 + p;
		pr.netns = 4026532000ull + p;
		pr.comm = (struct kt_str){ comm, (uint32_t)strlen(comm) };
		pr.container_id = (struct kt_str){ cid, 64 };
		pr.pod_uid = (struct kt_str){ uid, 36 };
		if ((err = kt_spool_append(sp, &kt_proc_schema, &pr)))
			goto out;
	}
	{
		/* a translated connection the flows never show */
		struct kt_conntrack c = { 0 };

		c.ts = start;
		c.kind = KT_CT_NEW;
		c.proto = IPPROTO_TCP;
		pod_ip(c.orig_src, 0);
		kt_ip_from_v4(c.orig_dst, htonl(0xc6120064u));	/* 198.18.0.100, no Service */
		c.orig_sport = 40100;
		c.orig_dport = 80;
		pod_ip(c.reply_src, 1 % pods);
		pod_ip(c.reply_dst, 0);
		c.reply_sport = 8080;
		c.reply_dport = 40100;
		if ((err = kt_spool_append(sp, &kt_conntrack_schema, &c)))
			goto out;
	}
	/* Connections, not independent events: each one opens (or fails) and
	 * later closes with the same endpoints, socket, process and cgroup, up
	 * to 16 in flight at once, as a node's eBPF stream looks. Edges are
	 * picked with a mild skew (u^2): a few callers carry most traffic.
	 * --k8s draws no more random numbers: the same seed gives the same
	 * connections with and without it, only their addresses differ. */
	{
		struct kt_flow open[16];
		uint32_t open_edge[16];
		bool open_ct[16];
		unsigned nopen = 0;

		for (uint64_t i = 0; i < o->flows; i++) {
			uint64_t r = next();
			struct kt_flow f;

			ts += 1000 + r % 50000;
			if (nopen == 16 || (nopen && (r >> 8) % 2)) {
				unsigned k = (unsigned)((r >> 16) % nopen);
				struct edge *e = &edges[open_edge[k]];
				bool ct = open_ct[k];

				f = open[k];
				open[k] = open[--nopen];
				open_edge[k] = open_edge[nopen];
				open_ct[k] = open_ct[nopen];
				f.ts = ts;
				f.kind = KT_FLOW_CLOSE;
				f.latency_ns = 0;
				f.closer = r % 3 ? KT_CLOSER_LOCAL : KT_CLOSER_REMOTE;
				f.duration_ns = 100000 + r % 5000000;
				f.bytes_sent = 100 + (r >> 24) % 2000;
				f.bytes_recv = 200 + (r >> 32) % 60000;
				f.segs_out = (uint32_t)(2 + f.bytes_sent / 1448);
				f.segs_in = (uint32_t)(2 + f.bytes_recv / 1448);
				f.srtt_us = (uint32_t)(30 + (r >> 40) % 400);
				f.retrans = r % 211 == 0;
				e->bytes_sent += f.bytes_sent;
				e->bytes_recv += f.bytes_recv;
				e->retrans += f.retrans;
				if (ct && (err = conntrack(sp, &f, e, KT_CT_DESTROY, ts)))
					goto out;
			} else {
				double u = (double)(next() % 1000000) / 1e6;
				uint32_t ei = (uint32_t)(u * u * nedges) % nedges;
				struct edge *e = &edges[ei];
				bool ct = false;

				memset(&f, 0, sizeof(f));
				f.ts = ts;
				f.proto = IPPROTO_TCP;
				pod_ip(f.saddr, e->src);
				if (e->via) {
					/* the socket sees the ClusterIP; kube-proxy's DNAT
					 * happens below it */
					kt_ip_from_v4(f.daddr, htonl(ktgen_cluster_ip(e->dst % KTGEN_NWORK)));
					memcpy(f.orig_daddr, f.daddr, 16);
					f.orig_dport = e->port;
				} else {
					pod_ip(f.daddr, e->dst);
				}
				f.sport = (uint16_t)(32768 + (conns % 28000));
				f.dport = e->port;
				f.sock_id = 0xffff888000000000ull + (conns << 6);
				f.netns = 4026532000ull + e->src;
				f.cgroup_id = 5000 + e->src;
				f.pid = 1000 + e->src;
				f.tid = f.pid;
				f.comm = (struct kt_str){ ktgen_workloads[e->src % KTGEN_NWORK],
							  (uint32_t)strlen(ktgen_workloads[e->src % KTGEN_NWORK]) };
				f.role = KT_ROLE_CLIENT;
				f.kind = KT_FLOW_OPEN;
				f.latency_ns = 20000 + r % 400000;
				conns++;
				e->conns++;
				if (e->via) {
					if (ts / 1000000000ull != ct_sec) {
						ct_sec = ts / 1000000000ull;
						ct_left = KTGEN_CT_BUDGET;
					}
					if (ct_left) {
						ct_left--;
						ct = true;
						ct_entries++;
						e->named++;
					}
				}
				if (r % 97 == 0) {
					f.kind = KT_FLOW_FAIL;
					f.cause = r % 2 ? KT_CAUSE_REFUSED : KT_CAUSE_TIMEOUT;
					f.err = f.cause == KT_CAUSE_REFUSED ? 111 : 110;
					e->refused += f.cause == KT_CAUSE_REFUSED;
					e->timeout += f.cause == KT_CAUSE_TIMEOUT;
				} else {
					open_edge[nopen] = ei;
					open_ct[nopen] = ct;
					open[nopen++] = f;
				}
				if (ct && ((err = conntrack(sp, &f, e, KT_CT_NEW, ts)) ||
					   (f.kind == KT_FLOW_FAIL &&
					    (err = conntrack(sp, &f, e, KT_CT_DESTROY, ts)))))
					goto out;
			}
			if ((err = kt_spool_append(sp, &kt_flow_schema, &f)))
				goto out;
		}
	}
	for (uint32_t i = 0; i < 8; i++) {
		static const char *const names[] = {
			"redis-cart.default.svc.cluster.local", "api.example-payments.test",
			"cartservice.default.svc.cluster.local", "nosuch.default.svc.cluster.local",
		};
		struct kt_dns d = { 0 };
		char ans[64];
		uint32_t a;

		d.ts = start + i * 1000000000ull;
		d.latency_ns = 150000 + i * 1000;
		d.proto = IPPROTO_UDP;
		pod_ip(d.client, i % pods);
		kt_ip_from_v4(d.server, htonl(0xc612000au));	/* 198.18.0.10 */
		d.client_port = (uint16_t)(40000 + i);
		d.server_port = 53;
		d.id = (uint16_t)(0x1000 + i);
		d.qtype = 1;
		d.qname = (struct kt_str){ names[i % 4], (uint32_t)strlen(names[i % 4]) };
		if (i % 4 == 3) {
			d.rcode = 3;
		} else {
			/* a Service's name resolves to its ClusterIP, the
			 * outside name to hosts of its own */
			a = i % 4 == 0 ? ktgen_cluster_ip(4) : i % 4 == 2 ? ktgen_cluster_ip(1) :
				0xc613fa00u + 10 + i;	/* 198.19.250.x */
			snprintf(ans, sizeof(ans), "A %u.%u.%u.%u 30", a >> 24, a >> 16 & 255,
				 a >> 8 & 255, a & 255);
			d.answers = (struct kt_str){ ans, (uint32_t)strlen(ans) };
		}
		if ((err = kt_spool_append(sp, &kt_dns_schema, &d)))
			goto out;
	}
	end = ts;
	if (o->k8s) {
		cl.pods = pinfo;
		cl.end_ns = ts;
		if ((err = ktgen_k8s_write(sp, &cl, m, &end)))
			goto out;
	}
	kt_manifest_clock_sample(m, "end", NULL);
	kt_manifest_set_window(m, start, end);
	if ((err = kt_spool_save_manifest(sp, m)))
		goto out;
	fprintf(stderr, "ktgen: %" PRIu64 " connections, %" PRIu64 " conntrack entries\n",
		conns, ct_entries);
	if (o->truth)
		err = write_truth(o->truth, edges, nedges, pinfo, pods, o->k8s, conns, ct_entries);
out:
	if (err)
		fprintf(stderr, "ktgen: %s\n", kt_err_msg(err));
	{
		int e2 = kt_spool_close(sp);

		if (!err && e2) {
			fprintf(stderr, "ktgen: %s\n", kt_err_msg(e2));
			err = e2;
		}
	}
	json_decref(m);
	free(pinfo);
	free(edges);
	return err;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.flows = 10000, .start = 1764057600000000000ull,	/* 2025-11-25T08:00:00Z */
		.pods = 40, .nedges = 120,
	};

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--flows") && v) { o.flows = strtoull(v, NULL, 10); i++; }
		else if (!strcmp(a, "--pods") && v) { o.pods = (uint32_t)strtoul(v, NULL, 10); i++; }
		else if (!strcmp(a, "--edges") && v) { o.nedges = (uint32_t)strtoul(v, NULL, 10); i++; }
		else if (!strcmp(a, "--seed") && v) { rng = strtoull(v, NULL, 10) | 1; i++; }
		else if (!strcmp(a, "--start") && v) { o.start = strtoull(v, NULL, 10); i++; }
		else if (!strcmp(a, "--block") && v) { spool_opts.writer.block_records = (uint32_t)strtoul(v, NULL, 10); i++; }
		else if (!strcmp(a, "--level") && v) { spool_opts.writer.zstd_level = atoi(v); i++; }
		else if (!strcmp(a, "--truth") && v) { o.truth = v; i++; }
		else if (!strcmp(a, "--k8s")) o.k8s = true;
		else if (a[0] != '-' && !o.dir) o.dir = a;
		else {
			fprintf(stderr, "usage: ktgen SPOOL [--flows N] [--pods P] [--edges E] "
				"[--seed S] [--start NS] [--k8s] [--truth FILE]\n");
			return 2;
		}
	}
	if (!o.dir || !o.pods || !o.nedges || o.pods > KTGEN_PODS_MAX ||
	    o.start < 86400 * 1000000000ull) {
		fprintf(stderr, "usage: ktgen SPOOL [--flows N] [--pods P<=%u] [--edges E]\n",
			KTGEN_PODS_MAX);
		return 2;
	}
	return gen(&o) ? 1 : 0;
}
