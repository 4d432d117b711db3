/* ktgen.c - writes a synthetic spool with every record type, shaped like a
 * small cluster: P pods across a few workloads, E edges between them,
 * connections opening and closing with plausible sizes and failures.
 * Deterministic for a seed. Used by the tests, the benchmarks and to make
 * samples/synthetic.tar.zst; a recorded sample replaces that one later.
 *
 *   ktgen SPOOL [--flows N] [--pods P] [--edges E] [--seed S] [--start NS]
 *               [--block RECORDS] [--level ZSTD_LEVEL]
 */
#include "error.h"
#include "manifest.h"
#include "records.h"
#include "spool.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
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

static const char *const workloads[] = {
	"frontend", "cartservice", "checkout", "currency", "redis-cart",
	"productcatalog", "recommendation", "shipping", "payment", "email",
};
#define NWORK (sizeof(workloads) / sizeof(workloads[0]))

struct edge {
	uint32_t src, dst;
	uint16_t port;
};

/* 198.18.1.2 upwards, one address a pod (an OR of the pod number gave
 * pods from 254 on the addresses of others), stepping over 198.18.128.0/17
 * (ClusterIPs) into 198.19.0.0/16; clear of 198.18.0.10 (DNS server) and
 * 198.18.0.100 (ClusterIP). */
#define POD_FIRST 0xc6120102u
#define POD_LOW_N (0xc6128000u - POD_FIRST)

static void pod_ip(uint8_t ip[16], uint32_t pod)
{
	kt_ip_from_v4(ip, htonl(pod < POD_LOW_N ? POD_FIRST + pod : 0xc6130000u + (pod - POD_LOW_N)));
}

static struct kt_spool_opts spool_opts = { .writer = { .block_records = 16384, .zstd_level = 3 } };

static int gen(const char *dir, uint64_t flows, uint32_t pods, uint32_t nedges,
	       uint64_t start)
{
	struct kt_spool *sp = NULL;
	struct edge *edges = calloc(nedges, sizeof(*edges));
	json_t *m = kt_manifest_new("ktgen");
	uint64_t ts = start, conns = 0;
	int err;

	if (!edges || !m)
		return -1;
	for (uint32_t i = 0; i < nedges; i++) {
		edges[i].src = (uint32_t)(next() % pods);
		edges[i].dst = (uint32_t)(next() % pods);
		edges[i].port = (uint16_t)(i % 7 == 0 ? 6379 : i % 3 ? 8080 : 3550);
	}
	if ((err = kt_spool_create(&sp, dir, &spool_opts)))
		goto out;
	kt_manifest_clock_sample(m, "start", NULL);
	json_object_set_new(json_object_get(m, "host"), "node_name", json_string("synthetic-node-1"));
	kt_manifest_set_source(m, "bpf", "ok", "synthetic events written by ktgen",
			       json_pack("{s:i}", "lost", 0));
	kt_manifest_set_source(m, "pcap", "skipped", "ktgen writes no packets", NULL);
	if ((err = kt_spool_save_manifest(sp, m)))
		goto out;

	for (uint32_t p = 0; p < pods; p++) {
		struct kt_proc pr = { 0 };
		char cid[65], uid[37];

		snprintf(cid, sizeof(cid), "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64,
			 next(), next(), next(), next());
		snprintf(uid, sizeof(uid), "%08x-%04x-4%03x-8%03x-%012" PRIx64,
			 (unsigned)next(), (unsigned)(next() & 0xffff), (unsigned)(next() & 0xfff),
			 (unsigned)(next() & 0xfff), (uint64_t)(next() & 0xffffffffffffull));
		pr.ts = ts;
		pr.kind = KT_PROC_SNAPSHOT;
		pr.pid = 1000 + p;
		pr.ppid = 1;
		pr.cgroup_id = 5000 + p;
		pr.netns = 4026532000ull + p;
		pr.comm = (struct kt_str){ workloads[p % NWORK], (uint32_t)strlen(workloads[p % NWORK]) };
		pr.container_id = (struct kt_str){ cid, 64 };
		pr.pod_uid = (struct kt_str){ uid, 36 };
		if ((err = kt_spool_append(sp, &kt_proc_schema, &pr)))
			goto out;
	}
	/* Connections, not independent events: each one opens (or fails) and
	 * later closes with the same endpoints, socket, process and cgroup, up
	 * to 16 in flight at once, as a node's eBPF stream looks. Edges are
	 * picked with a mild skew (u^2): a few callers carry most traffic. */
	{
		struct kt_flow open[16];
		unsigned nopen = 0;

		for (uint64_t i = 0; i < flows; i++) {
			uint64_t r = next();
			struct kt_flow f;

			ts += 1000 + r % 50000;
			if (nopen == 16 || (nopen && (r >> 8) % 2)) {
				unsigned k = (unsigned)((r >> 16) % nopen);

				f = open[k];
				open[k] = open[--nopen];
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
			} else {
				double u = (double)(next() % 1000000) / 1e6;
				struct edge *e = &edges[(uint32_t)(u * u * nedges) % nedges];

				memset(&f, 0, sizeof(f));
				f.ts = ts;
				f.proto = IPPROTO_TCP;
				pod_ip(f.saddr, e->src);
				pod_ip(f.daddr, e->dst);
				f.sport = (uint16_t)(32768 + (conns % 28000));
				f.dport = e->port;
				f.sock_id = 0xffff888000000000ull + (conns << 6);
				f.netns = 4026532000ull + e->src;
				f.cgroup_id = 5000 + e->src;
				f.pid = 1000 + e->src;
				f.tid = f.pid;
				f.comm = (struct kt_str){ workloads[e->src % NWORK],
							  (uint32_t)strlen(workloads[e->src % NWORK]) };
				f.role = KT_ROLE_CLIENT;
				f.kind = KT_FLOW_OPEN;
				f.latency_ns = 20000 + r % 400000;
				conns++;
				if (r % 97 == 0) {
					f.kind = KT_FLOW_FAIL;
					f.cause = r % 2 ? KT_CAUSE_REFUSED : KT_CAUSE_TIMEOUT;
					f.err = f.cause == KT_CAUSE_REFUSED ? 111 : 110;
				} else {
					open[nopen++] = f;
				}
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
			snprintf(ans, sizeof(ans), "A 198.18.%u.%u 30", 2 + i % 4, 10 + i);
			d.answers = (struct kt_str){ ans, (uint32_t)strlen(ans) };
		}
		if ((err = kt_spool_append(sp, &kt_dns_schema, &d)))
			goto out;
	}
	{
		struct kt_conntrack c = { 0 };

		c.ts = start;
		c.kind = KT_CT_NEW;
		c.proto = IPPROTO_TCP;
		pod_ip(c.orig_src, 0);
		kt_ip_from_v4(c.orig_dst, htonl(0xc6120064u));	/* ClusterIP 198.18.0.100 */
		c.orig_sport = 40100;
		c.orig_dport = 80;
		pod_ip(c.reply_src, 1);
		pod_ip(c.reply_dst, 0);
		c.reply_sport = 8080;
		c.reply_dport = 40100;
		if ((err = kt_spool_append(sp, &kt_conntrack_schema, &c)))
			goto out;
	}
	kt_manifest_clock_sample(m, "end", NULL);
	kt_manifest_set_window(m, start, ts);
	err = kt_spool_save_manifest(sp, m);
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
	free(edges);
	return err;
}

int main(int argc, char **argv)
{
	uint64_t flows = 10000, start = 1764057600000000000ull;	/* 2025-11-25T08:00:00Z */
	uint32_t pods = 40, edges = 120;
	const char *dir = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--flows") && v) { flows = strtoull(v, NULL, 10); i++; }
		else if (!strcmp(a, "--pods") && v) { pods = (uint32_t)strtoul(v, NULL, 10); i++; }
		else if (!strcmp(a, "--edges") && v) { edges = (uint32_t)strtoul(v, NULL, 10); i++; }
		else if (!strcmp(a, "--seed") && v) { rng = strtoull(v, NULL, 10) | 1; i++; }
		else if (!strcmp(a, "--start") && v) { start = strtoull(v, NULL, 10); i++; }
		else if (!strcmp(a, "--block") && v) { spool_opts.writer.block_records = (uint32_t)strtoul(v, NULL, 10); i++; }
		else if (!strcmp(a, "--level") && v) { spool_opts.writer.zstd_level = atoi(v); i++; }
		else if (a[0] != '-' && !dir) dir = a;
		else {
			fprintf(stderr, "usage: ktgen SPOOL [--flows N] [--pods P] [--edges E] "
				"[--seed S] [--start NS]\n");
			return 2;
		}
	}
	if (!dir || !pods || !edges || pods > 60000) {
		fprintf(stderr, "usage: ktgen SPOOL [--flows N] [--pods P<=60000] [--edges E]\n");
		return 2;
	}
	return gen(dir, flows, pods, edges, start) ? 1 : 0;
}
