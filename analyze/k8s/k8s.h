/* k8s.h - Kubernetes objects over time: loading dumps and asking what existed.
 *
 * Load:   every shape people have: `kubectl get -o json` Lists, bare arrays,
 *         single objects, watch events ({"type","object"}), `kubectl
 *         cluster-info dump` output (concatenated Lists and pod logs),
 *         support-bundle `cluster-resources/` trees, sonobuoy
 *         `ns/<ns>/<group>_<version>_<kind>.json`, and the k8s/ tree of a
 *         ktcap bundle (formats/SPEC-k8s.md).
 * Index:  observations (snapshots at times t, watch events between them) are
 *         turned by kt_k8s_index_finish() into versions of each object, each
 *         valid over [from_ns, until_ns). Only what the queries need is kept
 *         (strings interned, no JSON trees).
 * Query:  for any t: the pod that had an IP, the service of a ClusterIP and
 *         port and its backends, owner chains, node, hostNetwork pods,
 *         container IDs and pod UIDs, NetworkPolicies, HPA status, events.
 *
 * Every pointer a query returns is borrowed from the index and lives until
 * kt_k8s_index_free(). Times are UTC nanoseconds.
 */
#ifndef KT_K8S_H
#define KT_K8S_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KT_K8S_LATEST UINT64_MAX	/* as t: the last version of each object */
#define KT_K8S_FILE_MAX (512u << 20)	/* bytes of one dump file */
#define KT_K8S_DEPTH_MAX 64		/* directory levels walked */

enum kt_k8s_kind {
	KT_K8S_OTHER = 0,
	KT_K8S_NAMESPACE,
	KT_K8S_NODE,
	KT_K8S_POD,
	KT_K8S_SERVICE,
	KT_K8S_ENDPOINTS,
	KT_K8S_ENDPOINTSLICE,
	KT_K8S_DEPLOYMENT,
	KT_K8S_REPLICASET,
	KT_K8S_STATEFULSET,
	KT_K8S_DAEMONSET,
	KT_K8S_JOB,
	KT_K8S_CRONJOB,
	KT_K8S_REPLICATIONCONTROLLER,
	KT_K8S_HPA,
	KT_K8S_NETWORKPOLICY,
	KT_K8S_EVENT,
	KT_K8S_PVC,
	KT_K8S_PV,
	KT_K8S_STORAGECLASS,
	KT_K8S_INGRESS,
	KT_K8S_CONFIGMAP,
	KT_K8S_SECRET,
	KT_K8S__MAX
};

/* "Pod", or NULL out of range. */
const char *kt_k8s_kind_name(enum kt_k8s_kind k);
/* Plural resource name as kubectl takes it: "pods". */
const char *kt_k8s_kind_resource(enum kt_k8s_kind k);
/* Cluster-scoped kinds (Node, Namespace, PV, StorageClass). */
bool kt_k8s_kind_cluster_scoped(enum kt_k8s_kind k);
/* A kind from what people write: "Pod", "pods", "pod", "po", "PodList",
 * "deploy", "hpa", "netpol", "network-policy", "pvcs"...; KT_K8S_OTHER when
 * unknown. Case-insensitive. */
enum kt_k8s_kind kt_k8s_kind_parse(const char *s);

struct kt_k8s_label {
	const char *key, *value;
};

struct kt_k8s_expr {			/* matchExpressions entry */
	const char *key, *op;		/* In, NotIn, Exists, DoesNotExist */
	const char **values;
	uint32_t nvalues;
};

struct kt_k8s_selector {
	struct kt_k8s_label *match;
	uint32_t nmatch;
	struct kt_k8s_expr *exprs;
	uint32_t nexprs;
	bool present;			/* false: no selector at all */
};

struct kt_k8s_ref {			/* ownerReference, involvedObject, targetRef */
	const char *kind, *ns, *name, *uid;
	bool controller;
};

struct kt_k8s_port {
	const char *name, *protocol;	/* protocol: "TCP" when unset */
	int32_t port;			/* service port, container port */
	int32_t target_port;		/* numeric targetPort, or 0 */
	const char *target_port_name;	/* named targetPort, or NULL */
	int32_t node_port;
	const char *app_protocol;
};

struct kt_k8s_container {
	const char *name, *image;
	const char *container_id;	/* bare ID without "containerd://", or NULL */
	const char *runtime;		/* "containerd", "docker", "cri-o"... */
	const char *state;		/* running, waiting, terminated, or NULL */
	const char *reason;		/* of the current state */
	const char *last_reason;	/* of lastState.terminated: "OOMKilled" */
	int32_t restarts;
	int32_t last_exit_code;
	bool ready, init, has_env_values;
	struct kt_k8s_port *ports;
	uint32_t nports;
};

struct kt_k8s_pod {
	const char *node, *host_ip, *phase, *qos_class, *reason;
	const char *service_account;
	const char **ips;		/* status.podIPs, canonical text */
	uint32_t nips;
	bool host_network, ready;
	uint64_t start_ns;
	struct kt_k8s_container *containers;	/* init containers first */
	uint32_t ncontainers;
};

struct kt_k8s_service {
	const char *type;		/* ClusterIP, NodePort, LoadBalancer... */
	const char **cluster_ips;	/* none for headless */
	uint32_t ncluster_ips;
	const char **external_ips;	/* spec.externalIPs and LB ingress IPs */
	uint32_t nexternal_ips;
	const char *external_name;
	struct kt_k8s_port *ports;
	uint32_t nports;
	struct kt_k8s_label *selector;
	uint32_t nselector;
	bool headless;
};

struct kt_k8s_endpoint {		/* one address of Endpoints or a slice */
	const char *ip, *node, *hostname;
	struct kt_k8s_ref target;	/* targetRef (kind may be NULL) */
	bool ready;
};

struct kt_k8s_endpoints {
	const char *service;		/* Endpoints: its name; slice: the label */
	const char *address_type;	/* slices: IPv4, IPv6, FQDN */
	struct kt_k8s_endpoint *addrs;
	uint32_t naddrs;
	struct kt_k8s_port *ports;	/* port, name, protocol */
	uint32_t nports;
};

struct kt_k8s_workload {
	int32_t spec_replicas;		/* -1 when unset */
	int32_t replicas, ready, available, updated;
	int32_t active, succeeded, failed;	/* Jobs */
	struct kt_k8s_selector selector;
	const char *schedule;		/* CronJob */
	bool suspend;
};

struct kt_k8s_node_info {
	const char *internal_ip, *external_ip, *hostname;
	const char **addresses;		/* every address, canonical text */
	uint32_t naddresses;
	const char **pod_cidrs;
	uint32_t npod_cidrs;
	const char *kubelet_version, *os_image, *runtime_version;
	bool ready, unschedulable;
};

struct kt_k8s_netpol {
	struct kt_k8s_selector pod_selector;
	bool ingress, egress;		/* policyTypes, defaulted as the API does */
	uint32_t ningress_rules, negress_rules;
	const char *spec_json;		/* spec as compact JSON, for the rule engine */
};

struct kt_k8s_hpa {
	struct kt_k8s_ref target;	/* scaleTargetRef (ns = the HPA's) */
	int32_t min_replicas, max_replicas;
	int32_t current_replicas, desired_replicas;
	int32_t target_cpu, current_cpu;	/* percent, -1 when unknown */
	uint64_t last_scale_ns;
	const char *conditions_json;	/* status.conditions, compact, or NULL */
	const char *metrics_json;	/* status.currentMetrics, compact, or NULL */
};

struct kt_k8s_event {
	struct kt_k8s_ref involved;
	const char *reason, *message, *type, *source, *action;
	int32_t count;
	uint64_t first_ns, last_ns;	/* 0 when absent */
};

struct kt_k8s_misc {			/* PVC, PV, Ingress... */
	const char *phase;		/* PVC, PV */
	const char *volume;		/* PVC: spec.volumeName */
	const char *storage_class;
	const char **backends;		/* Ingress: "host/path -> svc:port" */
	uint32_t nbackends;
};

/* One version of one object, valid over [from_ns, until_ns). */
struct kt_k8s_object {
	enum kt_k8s_kind kind;
	const char *kind_name;		/* as written, also for KT_K8S_OTHER */
	const char *api_version;
	const char *ns, *name, *uid, *resource_version;
	uint64_t created_ns, deleted_ns;	/* metadata timestamps, 0 if none */
	uint64_t from_ns, until_ns;	/* until_ns UINT64_MAX: still there */
	bool deleted;			/* ended by a watch DELETED or absence */
	bool claimed;			/* internal: already a version */
	struct kt_k8s_label *labels;
	uint32_t nlabels;
	struct kt_k8s_label *annotations;	/* values kept only if short */
	uint32_t nannotations;
	struct kt_k8s_ref *owners;
	uint32_t nowners;
	union {
		struct kt_k8s_pod pod;
		struct kt_k8s_service svc;
		struct kt_k8s_endpoints ep;
		struct kt_k8s_workload wl;
		struct kt_k8s_node_info node;
		struct kt_k8s_netpol np;
		struct kt_k8s_hpa hpa;
		struct kt_k8s_event ev;
		struct kt_k8s_misc misc;
	} u;
};

/* ---- building ------------------------------------------------------------ */

struct kt_k8s_index;

enum kt_k8s_op {
	KT_K8S_SEEN = 0,	/* present in a dump at t (snapshot or import) */
	KT_K8S_ADDED,		/* watch events */
	KT_K8S_MODIFIED,
	KT_K8S_DELETED,
};

int kt_k8s_index_new(struct kt_k8s_index **out);
void kt_k8s_index_free(struct kt_k8s_index *idx);

/* Declare a snapshot: a complete listing of 'kind' taken at t, over all
 * namespaces (ns NULL) or one, and for pods optionally one node. An object of
 * that kind and scope seen earlier but absent from the snapshot ends at t.
 * Returns the snapshot id (> 0) to pass to kt_k8s_index_add(), or a negative
 * errno. */
int kt_k8s_index_snapshot(struct kt_k8s_index *idx, uint64_t t,
			  enum kt_k8s_kind kind, const char *ns,
			  const char *node);

/* Record one object (borrowed; nothing of it is kept) observed at t by op.
 * kind_hint names the kind when the object lacks "kind" (items of a typed
 * List); snap is 0 or a snapshot id. An object without metadata.name is
 * refused with -EPROTO. */
int kt_k8s_index_add(struct kt_k8s_index *idx, const json_t *obj,
		     const char *kind_hint, uint64_t t, enum kt_k8s_op op,
		     int snap);

/* Call cb for each JSON document in data (back to back, as kubectl prints
 * them; `cluster-info dump` log sections skipped). doc is borrowed for the
 * call (cb may modify it). Stops at the first error (cb's, or -EPROTO for
 * invalid JSON with the byte offset in the message). */
typedef int (*kt_k8s_doc_fn)(void *arg, json_t *doc);
int kt_k8s_docs(const char *data, size_t len, const char *name,
		kt_k8s_doc_fn cb, void *arg);

/* The kind a dump's file name suggests ("core_v1_pods.json", "pods/x.json",
 * "pods__y.json"), or "" . out gets at most len bytes. */
void kt_k8s_kind_hint(const char *name, char *out, size_t len);

/* Load a buffer of JSON documents in any shape listed at the top; 'name' is
 * the file name it came from, used for the kind of kind-less items and in
 * messages. Everything is observed at t (KT_K8S_SEEN) unless it is a watch
 * event. *nobjects (may be NULL) is incremented per object. */
int kt_k8s_index_load_buffer(struct kt_k8s_index *idx, const char *data,
			     size_t len, const char *name, uint64_t t,
			     uint64_t *nobjects);

/* Load a file or a directory tree (*.json and *.jsonl; other files are
 * skipped, *.yaml refused with -EPROTONOSUPPORT when named directly). When
 * the tree is a ktcap k8s/ tree (it holds snapshots/ or watch/) the times
 * and scopes recorded in it are used, otherwise t. */
int kt_k8s_index_load_path(struct kt_k8s_index *idx, const char *path,
			   uint64_t t, uint64_t *nobjects);

/* Feed one entry of a bundle (relpath as in the archive). Entries under k8s/
 * are used, others ignored (returns 0). Order does not matter. */
int kt_k8s_index_feed_entry(struct kt_k8s_index *idx, const char *relpath,
			    const char *data, size_t len);

/* Build the versions and lookup tables. Queries need it; adding after it is
 * refused with -EBUSY. */
int kt_k8s_index_finish(struct kt_k8s_index *idx);

struct kt_k8s_stats {
	uint64_t objects;	/* distinct objects (by uid, else kind/ns/name) */
	uint64_t versions;
	uint64_t observations;
	uint64_t snapshots;
	uint64_t strings;
	uint64_t bytes;		/* memory held by the index */
	uint64_t first_ns, last_ns;	/* observation times */
};

void kt_k8s_index_stats(const struct kt_k8s_index *idx, struct kt_k8s_stats *st);

/* ---- queries (after finish) --------------------------------------------- */

/* The version of object (kind, ns, name) valid at t; ns NULL for
 * cluster-scoped kinds. Names are reused (a StatefulSet pod): the object that
 * existed at t wins. With KT_K8S_LATEST: the last version seen, also of an
 * object deleted during the capture (its 'deleted' says so); kt_k8s_each()
 * at KT_K8S_LATEST lists only objects still there at the end. */
const struct kt_k8s_object *kt_k8s_get(const struct kt_k8s_index *idx,
				       enum kt_k8s_kind kind, const char *ns,
				       const char *name, uint64_t t);

const struct kt_k8s_object *kt_k8s_by_uid(const struct kt_k8s_index *idx,
					  const char *uid, uint64_t t);

/* Call cb for each object of kind (KT_K8S_OTHER: every kind) in ns (NULL:
 * all) valid at t, sorted by namespace then name. cb returning non-zero
 * stops the walk and is returned. */
typedef int (*kt_k8s_each_fn)(void *arg, const struct kt_k8s_object *obj);
int kt_k8s_each(const struct kt_k8s_index *idx, enum kt_k8s_kind kind,
		const char *ns, uint64_t t, kt_k8s_each_fn cb, void *arg);

/* Every version of every object of kind (KT_K8S_OTHER: every kind), sorted
 * by kind, namespace, name, then time: cb gets each version with the one
 * before it of the same object (NULL for the first), to see what changed
 * (a pod created or deleted, replicas scaled). cb returning non-zero stops
 * the walk and is returned. */
typedef int (*kt_k8s_version_fn)(void *arg, const struct kt_k8s_object *v,
				 const struct kt_k8s_object *prev);
int kt_k8s_each_version(const struct kt_k8s_index *idx, enum kt_k8s_kind kind,
			kt_k8s_version_fn cb, void *arg);

/* The pod that had IP at t (not hostNetwork: those share the node's IP),
 * or NULL. ip is 16 bytes, IPv4 as ::ffff:a.b.c.d (formats/schema.h). When
 * two pods claim the IP at t (a snapshot saw the old one, the new one's
 * creationTimestamp is earlier than the next snapshot), the newer wins and
 * terminated pods (Succeeded, Failed) never do. */
const struct kt_k8s_object *kt_k8s_pod_by_ip(const struct kt_k8s_index *idx,
					     const uint8_t ip[16], uint64_t t);
const struct kt_k8s_object *kt_k8s_pod_by_ip_str(const struct kt_k8s_index *idx,
						 const char *ip, uint64_t t);

/* The node whose address (InternalIP, ExternalIP) is ip at t, or NULL. */
const struct kt_k8s_object *kt_k8s_node_by_ip(const struct kt_k8s_index *idx,
					      const uint8_t ip[16], uint64_t t);

/* The same two queries, with [*lo, *hi): the times around t over which the
 * answer (an object, or NULL) stays the same, for callers that cache it
 * (an object's own validity is not that: a newer pod may take its address
 * over before the older one is gone). *lo == *hi: do not cache. */
const struct kt_k8s_object *kt_k8s_pod_by_ip_span(const struct kt_k8s_index *idx,
						  const uint8_t ip[16], uint64_t t,
						  uint64_t *lo, uint64_t *hi);
const struct kt_k8s_object *kt_k8s_node_by_ip_span(const struct kt_k8s_index *idx,
						   const uint8_t ip[16], uint64_t t,
						   uint64_t *lo, uint64_t *hi);

/* The service with ClusterIP (or external IP) ip at t serving port/protocol
 * (port 0: any; protocol NULL: TCP); *port_out (may be NULL) gets its port. */
const struct kt_k8s_object *kt_k8s_service_by_ip(const struct kt_k8s_index *idx,
						 const uint8_t ip[16],
						 uint16_t port,
						 const char *protocol,
						 uint64_t t,
						 const struct kt_k8s_port **port_out);
/* The same, with the span of its answer as kt_k8s_pod_by_ip_span. */
const struct kt_k8s_object *kt_k8s_service_by_ip_span(const struct kt_k8s_index *idx,
						      const uint8_t ip[16], uint16_t port,
						      const char *protocol, uint64_t t,
						      const struct kt_k8s_port **port_out,
						      uint64_t *lo, uint64_t *hi);

/* The backends of service svc at t from its Endpoints and EndpointSlices:
 * cb gets each address once (the slice wins over the Endpoints object for
 * the same IP) with the port number serving svc port 'sport' (its name
 * matched, or targetPort; 0 when unknown). sport NULL: every address with
 * port 0. */
typedef int (*kt_k8s_backend_fn)(void *arg, const struct kt_k8s_endpoint *ep,
				 int32_t port, const struct kt_k8s_object *from);
int kt_k8s_backends(const struct kt_k8s_index *idx,
		    const struct kt_k8s_object *svc,
		    const struct kt_k8s_port *sport, uint64_t t,
		    kt_k8s_backend_fn cb, void *arg);

/* The controller owner of obj at t (ownerReference with controller true, or
 * the only one), or NULL. */
const struct kt_k8s_object *kt_k8s_owner(const struct kt_k8s_index *idx,
					 const struct kt_k8s_object *obj,
					 uint64_t t);

/* The top of obj's owner chain: pod -> ReplicaSet -> Deployment, pod -> Job
 * -> CronJob, pod -> StatefulSet, DaemonSet... The last object found at t,
 * obj itself when it has no owner. When an owner is referenced but absent
 * from the dumps, *missing (may be NULL) gets its reference. */
const struct kt_k8s_object *kt_k8s_workload(const struct kt_k8s_index *idx,
					    const struct kt_k8s_object *obj,
					    uint64_t t,
					    const struct kt_k8s_ref **missing);

/* The pod whose metadata.uid is uid at t (cgroup paths carry it; dashes or
 * underscores accepted), or NULL. */
const struct kt_k8s_object *kt_k8s_pod_by_uid(const struct kt_k8s_index *idx,
					      const char *uid, uint64_t t);

/* The pod and container running container id (full 64 hex, or a unique
 * prefix of at least 12) at t, with or without the "runtime://" prefix. */
const struct kt_k8s_object *kt_k8s_pod_by_container(const struct kt_k8s_index *idx,
						    const char *id, uint64_t t,
						    const struct kt_k8s_container **c);

/* hostNetwork pods on node (NULL: any) at t. */
int kt_k8s_host_network_pods(const struct kt_k8s_index *idx, const char *node,
			     uint64_t t, kt_k8s_each_fn cb, void *arg);

/* NetworkPolicies in pod's namespace at t whose podSelector selects it. */
int kt_k8s_policies_for(const struct kt_k8s_index *idx,
			const struct kt_k8s_object *pod, uint64_t t,
			kt_k8s_each_fn cb, void *arg);

/* What the NetworkPolicies at t ask of a connection from src to dst on
 * port/protocol ("TCP", "UDP", "SCTP"; NULL: TCP), in one direction:
 * ingress, the policies selecting dst; egress, those selecting src. src and
 * dst are pods, or NULL when that end is no pod (then only an ipBlock can
 * name it, by src_ip / dst_ip, text; may be NULL). A named port is looked up
 * in dst's containers. This is what the objects ask, not what a CNI did:
 * without a CNI that enforces them, policies change nothing. Connections
 * from a pod's own node are always admitted: the caller knows where a
 * connection came from, this does not. 0, or -ENOMEM. */
enum kt_np_verdict {
	KT_NP_OPEN = 0,		/* no policy isolates that end in that direction */
	KT_NP_ADMITTED,		/* isolated, and a rule admits the connection */
	KT_NP_DENIED,		/* isolated, and no rule admits it */
	KT_NP_UNKNOWN,		/* isolated, by a policy whose rules are unreadable */
};
struct kt_np_result {
	enum kt_np_verdict v;
	const struct kt_k8s_object *policy;	/* the admitting one, else the first
						 * isolating one (by name) */
	uint32_t npolicies;			/* policies isolating that end */
};
int kt_k8s_netpol_check(const struct kt_k8s_index *idx, bool ingress,
			const struct kt_k8s_object *src, const char *src_ip,
			const struct kt_k8s_object *dst, const char *dst_ip,
			const char *protocol, int32_t port, uint64_t t,
			struct kt_np_result *out);

/* Does selector sel match these labels? An absent selector matches nothing,
 * an empty one everything (as in NetworkPolicy podSelector). */
bool kt_k8s_selector_match(const struct kt_k8s_selector *sel,
			   const struct kt_k8s_label *labels, uint32_t n);

/* The HPA whose scaleTargetRef is workload (Deployment, StatefulSet...) at t. */
const struct kt_k8s_object *kt_k8s_hpa_for(const struct kt_k8s_index *idx,
					   const struct kt_k8s_object *workload,
					   uint64_t t);

/* Events about object (kind, ns, name) whose lastTimestamp (or eventTime,
 * or observation time) falls in [t0, t1], oldest first, each event once (its
 * last version). */
int kt_k8s_events_for(const struct kt_k8s_index *idx, enum kt_k8s_kind kind,
		      const char *ns, const char *name, uint64_t t0,
		      uint64_t t1, kt_k8s_each_fn cb, void *arg);

/* Labels lookup: value of key, or NULL. */
const char *kt_k8s_label(const struct kt_k8s_object *obj, const char *key);

/* RFC 3339 (fraction optional, Z or +hh:mm) to UTC ns; 0 or -EINVAL. */
int kt_k8s_time_parse(const char *s, uint64_t *out);

/* IP text <-> 16 bytes (IPv4 as ::ffff:a.b.c.d); 0 or -EINVAL. buf >= 46. */
int kt_k8s_ip_parse(const char *s, uint8_t ip[16]);
const char *kt_k8s_ip_str(const uint8_t ip[16], char *buf, size_t len);

#endif
