/* ktgen.h - the synthetic cluster ktgen writes records of (ktgen.c) and,
 * with --k8s, the Kubernetes objects of (ktgen_k8s.c).
 *
 * Addresses, all inside 198.18.0.0/15 and apart from each other:
 *
 *   198.18.0.2                  the node (InternalIP, pods' hostIP)
 *   198.18.0.10, 198.18.0.100   the DNS server, a ClusterIP without Service
 *   198.18.1.2 - 198.18.127.255 pods 0 .. 32509, one address each
 *   198.18.128.0/17             ClusterIPs: 198.18.128.10 + workload
 *   198.19.0.0 - 198.19.234.x   pods 32510 .. 59999
 *   198.19.250.0/24             external hosts named by DNS answers
 */
#ifndef KTGEN_H
#define KTGEN_H

#include <jansson.h>
#include <stdint.h>

#include "spool.h"

#define KTGEN_NODE "synthetic-node-1"
#define KTGEN_NODE_IP 0xc6120002u		/* 198.18.0.2 */
#define KTGEN_NS "default"
#define KTGEN_PODS_MAX 60000u

/* The ports edges use, and the bit of each in struct ktgen_cluster ports. */
#define KTGEN_NPORTS 3
extern const uint16_t ktgen_ports[KTGEN_NPORTS];
extern const char *const ktgen_port_names[KTGEN_NPORTS];

extern const char *const ktgen_workloads[];
#define KTGEN_NWORK 10u

struct ktgen_pod {
	char uid[37];		/* as in the proc records' cgroup paths */
	char cid[65];		/* container ID, likewise */
};

struct ktgen_cluster {
	const struct ktgen_pod *pods;	/* pod p runs workload p % KTGEN_NWORK */
	uint32_t npods;
	uint8_t ports[KTGEN_NWORK];	/* bit i: some edge to it uses ktgen_ports[i] */
	uint64_t start_ns, end_ns;	/* the first and last record */
};

/* Addresses, IPv4 in host order. */
uint32_t ktgen_pod_ip(uint32_t pod);
uint32_t ktgen_cluster_ip(uint32_t workload);

/* Pod p's name: "<workload>-<replicaset hash>-<suffix>", into buf. */
void ktgen_pod_name(uint32_t pod, char *buf, size_t len);

/* Write the objects of cluster c into sp as the k8s source of ktcap record
 * does (formats/SPEC-k8s.md): snapshot 000001 ("start") at c->start_ns,
 * 000002 ("end") after c->end_ns, the same objects in both; and set the
 * manifest's sources.k8s and redaction.k8s (m is borrowed). Returns the UTC
 * ns the end snapshot finished at through *done_ns. 0 or negative errno. */
int ktgen_k8s_write(struct kt_spool *sp, const struct ktgen_cluster *c, json_t *m,
		    uint64_t *done_ns);

#endif
