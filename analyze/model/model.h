/* model.h - the timed topology of a bundle: who talked to whom, when, and
 * how it went (docs/topology-schema.md is the JSON it produces).
 *
 * One pass over a bundle, in bundle order (formats/SPEC.md, "Layout"):
 *
 *   k8s/...            -> the object index (analyze/k8s/k8s.h), finished
 *                         when the first record stream arrives
 *   host/...           -> node name, node addresses, the node's netns
 *   streams/proc       -> cgroup id / pid / netns -> pod UID, container, comm
 *   streams/conntrack  -> NAT map: original tuple -> reply tuple, over time
 *   streams/dns        -> IP -> names answered for it, over time; the
 *                         lookups that failed, counted (dns.c)
 *   streams/conn, flow -> connections: halves stitched by the client's
 *                         address and port, counted once, attributed at
 *                         their start and folded into edges
 *
 * Memory grows with entities, edges and windows, plus the connections in
 * flight: a connection is folded once every side seen has closed and
 * KT_MODEL_GRACE_NS of stream time has passed since the first close without
 * a missing half showing up (flow events come in time order, one ring
 * buffer). The lineage, NAT and DNS maps grow with processes, translated
 * connections and answers.
 *
 * Library code: never prints. Every pointer returned is borrowed from the
 * model and lives until kt_model_free().
 */
#ifndef KT_MODEL_H
#define KT_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "records.h"

#define KT_TOPO_SCHEMA_VERSION "1.1"
#define KT_MODEL_GRACE_NS (500ull * 1000000ull)
#define KT_LAT_BUCKETS 24	/* connect latency, log2 of microseconds */
#define KT_ENT_NONE UINT32_MAX

struct kt_bundle;
struct kt_k8s_index;

enum kt_ent_kind {
	KT_ENT_CLUSTER = 0,
	KT_ENT_NODE,
	KT_ENT_NAMESPACE,
	KT_ENT_WORKLOAD,
	KT_ENT_POD,
	KT_ENT_CONTAINER,
	KT_ENT_SERVICE,
	KT_ENT_EXTERNAL,
	KT_ENT_PROCESS,		/* a host process, not in a pod */
	KT_ENT_UNATTRIBUTED,	/* an address nothing in the bundle explains */
	KT_ENT__KINDS
};

/* "pod", "host-process", ... as in the JSON. */
const char *kt_ent_kind_name(enum kt_ent_kind k);

struct kt_entity {
	enum kt_ent_kind kind;
	char *id;		/* unique: "pod:shop/web-1", "external:1.2.3.4" */
	char *name;
	char *ns;		/* "" when none */
	char *detail;		/* workload kind, IP, process comm... or NULL */
	char *reason;		/* why it is not better attributed, or NULL */
	char *names;		/* externals: DNS names, '\n'-separated, or NULL */
	uint32_t workload;	/* pods: their workload entity, or KT_ENT_NONE */
	uint32_t node;		/* pods, processes: their node, or KT_ENT_NONE */
	uint32_t pod;		/* containers: their pod */
};

enum kt_fail {
	KT_FAIL_REFUSED = 0,
	KT_FAIL_TIMEOUT,
	KT_FAIL_UNREACHABLE,
	KT_FAIL_RESET,
	KT_FAIL_ERROR,
	KT_FAIL_ABORTED,
	KT_FAIL__MAX
};

const char *kt_fail_name(enum kt_fail f);

struct kt_edge_stats {
	uint64_t connections;	/* attempts (TCP) or flows (UDP) */
	uint64_t established;
	uint64_t failed[KT_FAIL__MAX];
	uint64_t bytes_sent;	/* by the source */
	uint64_t bytes_received;
	uint64_t retransmits;
	uint64_t first_seen, last_seen;
	uint32_t latency[KT_LAT_BUCKETS];	/* [i]: connect in [2^i, 2^(i+1)) us */
};

struct kt_edge_window {
	uint64_t index;		/* start = index * window_ns */
	struct kt_edge_stats st;
};

struct kt_backend {
	uint32_t ent;
	uint16_t port;
	uint64_t connections;
};

struct kt_edge {
	uint32_t src, dst;	/* entities; dst is the service for a ClusterIP */
	uint8_t proto;
	uint16_t port;		/* destination port (the service port) */
	struct kt_edge_stats total;
	struct kt_edge_window *windows;	/* sorted by index; only with window_ns */
	uint32_t nwindows, capwindows;
	struct kt_backend *backends;	/* through a service: who served */
	uint32_t nbackends, capbackends;
	uint64_t unknown_backend;	/* connections whose backend is unknown */
	uint64_t first_failed;		/* start of its first failed connection, 0: none */
};

struct kt_model_opts {
	uint64_t window_ns;	/* 0: one window, the whole capture */
	uint64_t since, until;	/* connections starting in [since, until); 0: open */
	uint64_t at;		/* non-zero: only connections alive at 'at' */
};

struct kt_model_stats {
	uint64_t flow_records, conn_records, proc_records, ct_records, dns_records;
	uint64_t connections;	/* counted into edges */
	uint64_t stitched;	/* seen from both sides, counted once */
	uint64_t filtered;	/* outside --since/--until/--at */
	uint64_t inflight_max;
	uint64_t nat_entries, dns_ips, cgroups;
	uint64_t k8s_objects;
	uint64_t dns_failures;		/* lookups answered other than NOERROR, or not */
	uint64_t dns_failures_dropped;	/* of those, not kept: KT_DNS_FAILS_MAX reached */
	uint64_t dns_oks_dropped;	/* names resolved not kept: KT_DNS_OKS_MAX reached */
};

struct kt_model;

int kt_model_new(struct kt_model **out, const struct kt_model_opts *opts);
void kt_model_free(struct kt_model *m);

/* The whole pass over an open bundle (from its current entry to the end),
 * then kt_model_finish(). */
int kt_model_feed_bundle(struct kt_model *m, struct kt_bundle *b);

/* The pieces of that pass, for tests and benchmarks. Records must come
 * in bundle order: proc, conntrack and dns before conn and flow, flow events
 * in time order. */
int kt_model_add_k8s_entry(struct kt_model *m, const char *relpath,
			   const char *data, size_t len);
int kt_model_add_host_entry(struct kt_model *m, const char *relpath,
			    const char *data, size_t len);
int kt_model_set_manifest(struct kt_model *m, const json_t *manifest);
int kt_model_add_proc(struct kt_model *m, const struct kt_proc *p);
int kt_model_add_conntrack(struct kt_model *m, const struct kt_conntrack *c);
int kt_model_add_dns(struct kt_model *m, const struct kt_dns *d);
int kt_model_add_flow(struct kt_model *m, const struct kt_flow *f);
/* The fields of a flow record kt_model_add_flow() reads (NULL-terminated):
 * a reader may decode only these (kt_stream_reader_project). */
extern const char *const kt_model_flow_fields[];
int kt_model_add_conn(struct kt_model *m, const struct kt_conn *c);
/* Fold every connection still in flight. Idempotent. */
int kt_model_finish(struct kt_model *m);

/* Results (after finish). */
const struct kt_entity *kt_model_entities(const struct kt_model *m, uint32_t *n);
const struct kt_edge *kt_model_edges(const struct kt_model *m, uint32_t *n);
void kt_model_stats(const struct kt_model *m, struct kt_model_stats *st);
/* The object index (finished), borrowed. */
const struct kt_k8s_index *kt_model_k8s(const struct kt_model *m);

/* ---- views: the topology at one aggregation level, as JSON -------------- */

enum kt_level {
	KT_LEVEL_POD = 0,
	KT_LEVEL_WORKLOAD,
	KT_LEVEL_SERVICE,
	KT_LEVEL_NAMESPACE,
	KT_LEVEL_NODE,
};

/* "pod"... to a level; -EINVAL when unknown. */
int kt_level_parse(const char *s, enum kt_level *out);

struct kt_view_opts {
	enum kt_level level;
	const char *ns;		/* only edges touching this namespace, or NULL */
};

/* The topology JSON (docs/topology-schema.md). Caller owns *out. */
int kt_model_view(const struct kt_model *m, const struct kt_view_opts *o,
		  json_t **out);

#endif
