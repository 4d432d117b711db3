/* ktgen_k8s.c - the Kubernetes objects of ktgen's cluster (ktgen.h), in the
 * layout and shape the k8s source of `ktcap record` writes
 * (formats/SPEC-k8s.md, capture/k8s/k8scap.c): `kubectl get -o json` Lists
 * cut by namespace, each with its "ktcap" member, redacted by the source's
 * own rules, and a _snapshot.json per snapshot:
 *
 *   k8s/snapshots/000001/version.json, namespaces.json, nodes.json, ...
 *   k8s/snapshots/000001/pods/default.json        namespaced, with objects
 *   k8s/snapshots/000001/statefulsets/_all.json   namespaced, none listed
 *   k8s/snapshots/000001/_snapshot.json
 *   k8s/snapshots/000002/...                       "end", the same objects
 *
 * Per workload W (ktgen_workloads): Deployment W, ReplicaSet W-<hash> owned
 * by it, its pods owned by the ReplicaSet, Service W (ClusterIP
 * 198.18.128.10 + W, the ports edges to W use, selector app=W), Endpoints W
 * and EndpointSlices of at most 100 endpoints. Every name, UID and time is
 * derived from indexes: the objects are the same for the same options.
 */
#include "ktgen.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "manifest.h"
#include "redact.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define SLICE_MAX 100u		/* endpoints per EndpointSlice, as the controller cuts them */

/* The resources the source lists, in its order (k8scap.c). */
static const struct res {
	const char *name, *kind;
	bool cluster;
} resources[] = {
	{ "namespaces", "Namespace", true },
	{ "nodes", "Node", true },
	{ "pods", "Pod", false },
	{ "services", "Service", false },
	{ "endpoints", "Endpoints", false },
	{ "endpointslices", "EndpointSlice", false },
	{ "deployments", "Deployment", false },
	{ "replicasets", "ReplicaSet", false },
	{ "statefulsets", "StatefulSet", false },
	{ "daemonsets", "DaemonSet", false },
	{ "jobs", "Job", false },
	{ "cronjobs", "CronJob", false },
	{ "horizontalpodautoscalers", "HorizontalPodAutoscaler", false },
	{ "networkpolicies", "NetworkPolicy", false },
	{ "events", "Event", false },
	{ "persistentvolumeclaims", "PersistentVolumeClaim", false },
	{ "persistentvolumes", "PersistentVolume", true },
	{ "storageclasses", "StorageClass", true },
	{ "ingresses", "Ingress", false },
	{ "configmaps", "ConfigMap", false },
};
#define NRES (sizeof(resources) / sizeof(resources[0]))

static const char *const namespaces[] = { KTGEN_NS, "kube-node-lease", "kube-public",
					  "kube-system" };

/* Object kinds, for UIDs and resourceVersions. */
enum tag { T_NS = 1, T_NODE, T_DEPLOY, T_RS, T_SVC, T_SLICE, T_EP };

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static const char *uid_of(enum tag t, uint32_t i, char buf[37])
{
	uint64_t a = mix((uint64_t)t << 32 | i), b = mix(a);

	snprintf(buf, 37, "%08" PRIx32 "-%04x-4%03x-8%03x-%012" PRIx64, (uint32_t)a,
		 (unsigned)(a >> 32 & 0xffff), (unsigned)(a >> 48 & 0xfff),
		 (unsigned)(b & 0xfff), (uint64_t)(b >> 16 & 0xffffffffffffull));
	return buf;
}

static const char *rv_of(enum tag t, uint32_t i, char buf[24])
{
	snprintf(buf, 24, "%" PRIu32, 1000u + (uint32_t)t * 100000u + i);
	return buf;
}

/* The characters Kubernetes makes generated names of (no vowels). */
static const char alnum[] = "bcdfghjklmnpqrstvwxz2456789";
#define NALNUM 27u

static void name_chars(uint64_t v, char *out, unsigned n)
{
	for (unsigned i = 0; i < n; i++, v /= NALNUM)
		out[i] = alnum[v % NALNUM];
	out[n] = '\0';
}

static void rs_hash(uint32_t w, char out[11])
{
	name_chars(mix(0xab5ull << 32 | w), out, 10);
}

void ktgen_pod_name(uint32_t pod, char *buf, size_t len)
{
	uint32_t w = pod % KTGEN_NWORK;
	char hash[11], sfx[6];

	rs_hash(w, hash);
	/* a bijection of the pod's rank in its workload onto 5 characters
	 * (27^5 = 3^15, 5882353 not a multiple of 3): names unique, not in order */
	name_chars(((uint64_t)(pod / KTGEN_NWORK) * 5882353u + 104729u * (w + 1)) % 14348907u,
		   sfx, 5);
	snprintf(buf, len, "%s-%s-%s", ktgen_workloads[w], hash, sfx);
}

static const char *ip_str(uint32_t ip, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255);
	return buf;
}

/* RFC 3339 in whole seconds, as the API server writes object times. */
static const char *secs_str(uint64_t ns, char buf[24])
{
	time_t s = (time_t)(ns / SEC);
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(buf, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

struct gen {
	const struct ktgen_cluster *c;
	uint32_t pods_of[KTGEN_NWORK];	/* pods of each workload */
	char created[24];		/* workloads, services, namespaces, node */
	char pod_created[24];
	char pod_started[24];
};

static json_t *labels_app(uint32_t w, bool hash)
{
	char h[11];

	rs_hash(w, h);
	return hash ? json_pack("{s:s,s:s}", "app", ktgen_workloads[w], "pod-template-hash", h) :
		json_pack("{s:s}", "app", ktgen_workloads[w]);
}

static json_t *owner_ref(const char *api, const char *kind, const char *name,
			 const char *uid)
{
	return json_pack("[{s:s,s:s,s:s,s:s,s:b,s:b}]", "apiVersion", api, "kind", kind,
			 "name", name, "uid", uid, "controller", 1, "blockOwnerDeletion", 1);
}

static uint8_t ports_of(const struct gen *g, uint32_t w)
{
	/* a workload no edge reaches still serves its main port */
	return g->c->ports[w] ? g->c->ports[w] : 1;
}

static json_t *container_ports(const struct gen *g, uint32_t w)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < KTGEN_NPORTS; i++)
		if (ports_of(g, w) >> i & 1)
			json_array_append_new(a, json_pack("{s:s,s:i,s:s}", "name",
					      ktgen_port_names[i], "containerPort",
					      ktgen_ports[i], "protocol", "TCP"));
	return a;
}

/* The pod template's spec: one container named after the workload, its
 * port in an env value (which the source redacts). */
static json_t *pod_spec(const struct gen *g, uint32_t w, bool on_node)
{
	char image[96], port[8];
	json_t *s;

	snprintf(image, sizeof(image), "example/%s:v0.10.1", ktgen_workloads[w]);
	snprintf(port, sizeof(port), "%u", ktgen_ports[__builtin_ctz(ports_of(g, w))]);
	s = json_pack("{s:[{s:s,s:s,s:o,s:[{s:s,s:s}],s:{s:{s:s,s:s}},s:s,s:s,s:s}],"
		      "s:s,s:i,s:s,s:s,s:s,s:{},s:s}",
		      "containers", "name", ktgen_workloads[w], "image", image,
		      "ports", container_ports(g, w), "env", "name", "PORT", "value", port,
		      "resources", "requests", "cpu", "100m", "memory", "64Mi",
		      "terminationMessagePath", "/dev/termination-log",
		      "terminationMessagePolicy", "File", "imagePullPolicy", "IfNotPresent",
		      "restartPolicy", "Always", "terminationGracePeriodSeconds", 30,
		      "dnsPolicy", "ClusterFirst", "serviceAccountName", "default",
		      "serviceAccount", "default", "securityContext",
		      "schedulerName", "default-scheduler");
	if (s && on_node)
		json_object_set_new(s, "nodeName", json_string(KTGEN_NODE));
	return s;
}

static json_t *condition(const char *type, const char *at)
{
	return json_pack("{s:s,s:s,s:n,s:s}", "type", type, "status", "True",
			 "lastProbeTime", "lastTransitionTime", at);
}

static json_t *pod_obj(const struct gen *g, uint32_t p)
{
	const struct ktgen_pod *pod = &g->c->pods[p];
	uint32_t w = p % KTGEN_NWORK;
	char name[96], gen_name[96], rs[80], h[11], rsuid[37], rv[24], ip[16], host[16];
	char cid[80], image[96], image_id[128];
	json_t *o;

	ktgen_pod_name(p, name, sizeof(name));
	rs_hash(w, h);
	snprintf(rs, sizeof(rs), "%s-%s", ktgen_workloads[w], h);
	snprintf(gen_name, sizeof(gen_name), "%s-", rs);
	snprintf(cid, sizeof(cid), "containerd://%s", pod->cid);
	snprintf(image, sizeof(image), "example/%s:v0.10.1", ktgen_workloads[w]);
	snprintf(image_id, sizeof(image_id), "example/%s@sha256:%.64s",
		 ktgen_workloads[w], pod->cid);
	ip_str(ktgen_pod_ip(p), ip);
	ip_str(KTGEN_NODE_IP, host);
	o = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o},s:o,"
		      "s:{s:s,s:[o,o,o,o,o],s:s,s:[{s:s}],s:s,s:[{s:s}],s:s,"
		      "s:[{s:s,s:{s:{s:s}},s:{},s:b,s:i,s:s,s:s,s:s,s:b}],s:s}}",
		      "apiVersion", "v1", "kind", "Pod",
		      "metadata", "name", name, "generateName", gen_name, "namespace", KTGEN_NS,
		      "uid", pod->uid, "resourceVersion", rv_of(0, p, rv),
		      "creationTimestamp", g->pod_created, "labels", labels_app(w, true),
		      "ownerReferences", owner_ref("apps/v1", "ReplicaSet", rs,
						   uid_of(T_RS, w, rsuid)),
		      "spec", pod_spec(g, w, true),
		      "status", "phase", "Running",
		      "conditions", condition("PodReadyToStartContainers", g->pod_started),
		      condition("Initialized", g->pod_created), condition("Ready", g->pod_started),
		      condition("ContainersReady", g->pod_started),
		      condition("PodScheduled", g->pod_created),
		      "hostIP", host, "hostIPs", "ip", host, "podIP", ip, "podIPs", "ip", ip,
		      "startTime", g->pod_created,
		      "containerStatuses", "name", ktgen_workloads[w], "state", "running",
		      "startedAt", g->pod_started, "lastState", "ready", 1, "restartCount", 0,
		      "image", image, "imageID", image_id, "containerID", cid, "started", 1,
		      "qosClass", "Burstable");
	return o;
}

static json_t *workload_status(uint32_t n, const char *at, bool deploy)
{
	json_t *s = json_pack("{s:i,s:i,s:i,s:i}", "observedGeneration", 1, "replicas", (int)n,
			      "readyReplicas", (int)n, "availableReplicas", (int)n);

	if (!s)
		return NULL;
	if (deploy) {
		json_object_set_new(s, "updatedReplicas", json_integer(n));
		json_object_set_new(s, "conditions", json_pack("[{s:s,s:s,s:s,s:s,s:s,s:s}]",
				    "type", "Available", "status", "True", "lastUpdateTime", at,
				    "lastTransitionTime", at, "reason", "MinimumReplicasAvailable",
				    "message", "Deployment has minimum availability."));
	} else {
		json_object_set_new(s, "fullyLabeledReplicas", json_integer(n));
	}
	return s;
}

static json_t *deployment_obj(const struct gen *g, uint32_t w)
{
	char uid[37], rv[24];

	return json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:i,s:s,s:o,s:{s:s}},"
		      "s:{s:i,s:{s:o},s:{s:{s:o},s:o},s:{s:s},s:i,s:i},s:o}",
		      "apiVersion", "apps/v1", "kind", "Deployment",
		      "metadata", "name", ktgen_workloads[w], "namespace", KTGEN_NS,
		      "uid", uid_of(T_DEPLOY, w, uid), "resourceVersion", rv_of(T_DEPLOY, w, rv),
		      "generation", 1, "creationTimestamp", g->created, "labels", labels_app(w, false),
		      "annotations", "deployment.kubernetes.io/revision", "1",
		      "spec", "replicas", (int)g->pods_of[w], "selector", "matchLabels",
		      labels_app(w, false), "template", "metadata", "labels", labels_app(w, false),
		      "spec", pod_spec(g, w, false), "strategy", "type", "RollingUpdate",
		      "revisionHistoryLimit", 10, "progressDeadlineSeconds", 600,
		      "status", workload_status(g->pods_of[w], g->created, true));
}

static json_t *replicaset_obj(const struct gen *g, uint32_t w)
{
	char name[80], h[11], uid[37], duid[37], rv[24], n[12];

	rs_hash(w, h);
	snprintf(name, sizeof(name), "%s-%s", ktgen_workloads[w], h);
	snprintf(n, sizeof(n), "%u", g->pods_of[w]);
	return json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:i,s:s,s:o,s:{s:s,s:s,s:s},s:o},"
		      "s:{s:i,s:{s:o},s:{s:{s:o},s:o}},s:o}",
		      "apiVersion", "apps/v1", "kind", "ReplicaSet",
		      "metadata", "name", name, "namespace", KTGEN_NS, "uid", uid_of(T_RS, w, uid),
		      "resourceVersion", rv_of(T_RS, w, rv), "generation", 1,
		      "creationTimestamp", g->created, "labels", labels_app(w, true),
		      "annotations", "deployment.kubernetes.io/desired-replicas", n,
		      "deployment.kubernetes.io/max-replicas", n,
		      "deployment.kubernetes.io/revision", "1",
		      "ownerReferences", owner_ref("apps/v1", "Deployment", ktgen_workloads[w],
						   uid_of(T_DEPLOY, w, duid)),
		      "spec", "replicas", (int)g->pods_of[w], "selector", "matchLabels",
		      labels_app(w, true), "template", "metadata", "labels", labels_app(w, true),
		      "spec", pod_spec(g, w, false),
		      "status", workload_status(g->pods_of[w], g->created, false));
}

static json_t *service_ports(const struct gen *g, uint32_t w, bool target)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < KTGEN_NPORTS; i++) {
		json_t *p;

		if (!(ports_of(g, w) >> i & 1))
			continue;
		p = json_pack("{s:s,s:s,s:i}", "name", ktgen_port_names[i], "protocol", "TCP",
			      "port", ktgen_ports[i]);
		if (target)
			json_object_set_new(p, "targetPort", json_integer(ktgen_ports[i]));
		json_array_append_new(a, p);
	}
	return a;
}

static json_t *service_obj(const struct gen *g, uint32_t w)
{
	char uid[37], rv[24], ip[16];

	ip_str(ktgen_cluster_ip(w), ip);
	return json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s,s:o},"
		      "s:{s:o,s:o,s:s,s:[s],s:s,s:s,s:[s],s:s,s:s},s:{s:{}}}",
		      "apiVersion", "v1", "kind", "Service",
		      "metadata", "name", ktgen_workloads[w], "namespace", KTGEN_NS,
		      "uid", uid_of(T_SVC, w, uid), "resourceVersion", rv_of(T_SVC, w, rv),
		      "creationTimestamp", g->created, "labels", labels_app(w, false),
		      "spec", "ports", service_ports(g, w, true), "selector", labels_app(w, false),
		      "clusterIP", ip, "clusterIPs", ip, "type", "ClusterIP",
		      "sessionAffinity", "None", "ipFamilies", "IPv4",
		      "ipFamilyPolicy", "SingleStack", "internalTrafficPolicy", "Cluster",
		      "status", "loadBalancer");
}

static json_t *target_ref(uint32_t p, const struct ktgen_pod *pod)
{
	char name[96];

	ktgen_pod_name(p, name, sizeof(name));
	return json_pack("{s:s,s:s,s:s,s:s}", "kind", "Pod", "namespace", KTGEN_NS,
			 "name", name, "uid", pod->uid);
}

/* The slices of workload w: its pods in order, SLICE_MAX a slice. */
static int slices_add(const struct gen *g, uint32_t w, json_t *items)
{
	char name[96], gen_name[96], uid[37], suid[37], rv[24], ip[16];
	uint32_t n = g->pods_of[w], nslices = n ? (n + SLICE_MAX - 1) / SLICE_MAX : 1;

	for (uint32_t s = 0; s < nslices; s++) {
		uint32_t id = w * 1000u + s;
		char sfx[6];
		json_t *eps = json_array(), *o;

		name_chars(mix(0x511ce0000ull | id), sfx, 5);
		snprintf(name, sizeof(name), "%s-%s", ktgen_workloads[w], sfx);
		snprintf(gen_name, sizeof(gen_name), "%s-", ktgen_workloads[w]);
		for (uint32_t k = s * SLICE_MAX; k < n && k < (s + 1) * SLICE_MAX; k++) {
			uint32_t p = w + k * KTGEN_NWORK;

			json_array_append_new(eps, json_pack("{s:[s],s:{s:b,s:b,s:b},s:o,s:s}",
					      "addresses", ip_str(ktgen_pod_ip(p), ip),
					      "conditions", "ready", 1, "serving", 1, "terminating", 0,
					      "targetRef", target_ref(p, &g->c->pods[p]),
					      "nodeName", KTGEN_NODE));
		}
		o = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:{s:s,s:s,s:s},s:o},"
			      "s:s,s:o,s:o}",
			      "kind", "EndpointSlice", "apiVersion", "discovery.k8s.io/v1",
			      "metadata", "name", name, "generateName", gen_name,
			      "namespace", KTGEN_NS, "uid", uid_of(T_SLICE, id, suid),
			      "resourceVersion", rv_of(T_SLICE, id, rv), "generation", 1,
			      "creationTimestamp", g->created,
			      "labels", "endpointslice.kubernetes.io/managed-by",
			      "endpointslice-controller.k8s.io", "kubernetes.io/service-name",
			      ktgen_workloads[w], "app", ktgen_workloads[w],
			      "ownerReferences", owner_ref("v1", "Service", ktgen_workloads[w],
							   uid_of(T_SVC, w, uid)),
			      "addressType", "IPv4", "endpoints", eps,
			      "ports", service_ports(g, w, false));
		if (!o || json_array_append_new(items, o))
			return -ENOMEM;
	}
	return 0;
}

static json_t *endpoints_obj(const struct gen *g, uint32_t w)
{
	char uid[37], rv[24], ip[16];
	json_t *addrs = json_array();

	for (uint32_t k = 0; k < g->pods_of[w]; k++) {
		uint32_t p = w + k * KTGEN_NWORK;

		json_array_append_new(addrs, json_pack("{s:s,s:s,s:o}", "ip",
				      ip_str(ktgen_pod_ip(p), ip), "nodeName", KTGEN_NODE,
				      "targetRef", target_ref(p, &g->c->pods[p])));
	}
	return json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s,s:o},s:[{s:o,s:o}]}",
			 "kind", "Endpoints", "apiVersion", "v1",
			 "metadata", "name", ktgen_workloads[w], "namespace", KTGEN_NS,
			 "uid", uid_of(T_EP, w, uid), "resourceVersion", rv_of(T_EP, w, rv),
			 "creationTimestamp", g->created, "labels", labels_app(w, false),
			 "subsets", "addresses", addrs, "ports", service_ports(g, w, false));
}

static json_t *node_obj(const struct gen *g)
{
	char uid[37], rv[24], ip[16];

	return json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s}},"
			 "s:{s:s},s:{s:{s:s,s:s,s:s},s:[{s:s,s:s,s:s,s:s,s:s,s:s}],"
			 "s:[{s:s,s:s},{s:s,s:s}],s:{s:s,s:s,s:s,s:s,s:s,s:s}}}",
			 "kind", "Node", "apiVersion", "v1",
			 "metadata", "name", KTGEN_NODE, "uid", uid_of(T_NODE, 0, uid),
			 "resourceVersion", rv_of(T_NODE, 0, rv), "creationTimestamp", g->created,
			 "labels", "kubernetes.io/arch", "amd64", "kubernetes.io/hostname", KTGEN_NODE,
			 "kubernetes.io/os", "linux", "node-role.kubernetes.io/worker", "",
			 "spec", "providerID", "ktgen://" KTGEN_NODE,
			 "status", "capacity", "cpu", "16", "memory", "65843072Ki", "pods", "110",
			 "conditions", "type", "Ready", "status", "True",
			 "lastHeartbeatTime", g->pod_started, "lastTransitionTime", g->created,
			 "reason", "KubeletReady", "message", "kubelet is posting ready status",
			 "addresses", "type", "InternalIP", "address", ip_str(KTGEN_NODE_IP, ip),
			 "type", "Hostname", "address", KTGEN_NODE,
			 "nodeInfo", "kernelVersion", "6.1.0-ktgen", "osImage", "Debian GNU/Linux 12",
			 "containerRuntimeVersion", "containerd://1.7.22",
			 "kubeletVersion", "v1.31.2", "kubeProxyVersion", "v1.31.2",
			 "architecture", "amd64");
}

static json_t *namespace_obj(const struct gen *g, uint32_t i)
{
	char uid[37], rv[24];

	return json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:{s:s}},s:{s:[s]},s:{s:s}}",
			 "kind", "Namespace", "apiVersion", "v1",
			 "metadata", "name", namespaces[i], "uid", uid_of(T_NS, i, uid),
			 "resourceVersion", rv_of(T_NS, i, rv), "creationTimestamp", g->created,
			 "labels", "kubernetes.io/metadata.name", namespaces[i],
			 "spec", "finalizers", "kubernetes", "status", "phase", "Active");
}

/* Every object of resource r, all in namespace KTGEN_NS (namespaced) or
 * none (cluster-scoped). New reference, NULL when out of memory. */
static json_t *list_items(const struct gen *g, const struct res *r)
{
	json_t *items = json_array();
	int err = 0;

	for (uint32_t w = 0; items && !err && w < KTGEN_NWORK; w++) {
		if (!g->pods_of[w])
			continue;
		if (!strcmp(r->name, "deployments"))
			err = json_array_append_new(items, deployment_obj(g, w));
		else if (!strcmp(r->name, "replicasets"))
			err = json_array_append_new(items, replicaset_obj(g, w));
		else if (!strcmp(r->name, "services"))
			err = json_array_append_new(items, service_obj(g, w));
		else if (!strcmp(r->name, "endpoints"))
			err = json_array_append_new(items, endpoints_obj(g, w));
		else if (!strcmp(r->name, "endpointslices"))
			err = slices_add(g, w, items);
	}
	if (!strcmp(r->name, "pods"))
		for (uint32_t p = 0; items && !err && p < g->c->npods; p++)
			err = json_array_append_new(items, pod_obj(g, p));
	if (!strcmp(r->name, "nodes"))
		err = json_array_append_new(items, node_obj(g));
	if (!strcmp(r->name, "namespaces"))
		for (uint32_t i = 0; !err && i < sizeof(namespaces) / sizeof(namespaces[0]); i++)
			err = json_array_append_new(items, namespace_obj(g, i));
	if (err) {
		json_decref(items);
		return NULL;
	}
	return items;
}

static int write_json(struct kt_spool *sp, const char *path, const json_t *doc)
{
	char *s = doc ? json_dumps(doc, JSON_INDENT(1)) : NULL;
	int err;

	if (!s)
		return kt_err_set(-ENOMEM, "out of memory");
	err = kt_spool_write_file(sp, path, s, strlen(s));
	free(s);
	return err;
}

static json_t *ktcap_block(uint32_t seq, const char *reason, const char *resource,
			   const char *kind, uint64_t taken, uint64_t done, size_t items)
{
	char ts[40];

	return json_pack("{s:I,s:s,s:s,s:s?,s:s,s:I,s:I,s:n,s:n,s:I}", "snapshot",
			 (json_int_t)seq, "reason", reason, "resource", resource, "kind", kind,
			 "taken", kt_time_str(taken, ts, sizeof(ts)), "taken_ns", (json_int_t)taken,
			 "done_ns", (json_int_t)done, "namespace", "node", "items", (json_int_t)items);
}

/* One snapshot: every resource listed in turn, 30 ms apart, each call
 * taking 100 ms and 20 µs an item; *end is when the last one finished. */
static int snapshot(struct kt_spool *sp, const struct gen *g, uint32_t seq, const char *reason,
		    uint64_t t0, struct kt_k8s_redaction *red, uint64_t *end)
{
	json_t *index = json_pack("{s:{s:s,s:s}}", "secrets", "status", "skipped", "message",
				  "never requested");
	json_t *doc = NULL, *items = NULL;
	char path[256], t0s[40], t1s[40];
	uint64_t last = t0 + 60 * MS;
	int err = 0;

	if (!index)
		return kt_err_set(-ENOMEM, "out of memory");
	doc = json_pack("{s:{s:s,s:s,s:s},s:s,s:{s:s,s:s,s:s},s:o}",
			"clientVersion", "major", "1", "minor", "31", "gitVersion", "v1.31.2",
			"kustomizeVersion", "v5.4.2",
			"serverVersion", "major", "1", "minor", "31", "gitVersion", "v1.31.2",
			"ktcap", ktcap_block(seq, reason, "version", NULL, t0, t0 + 60 * MS, 0));
	snprintf(path, sizeof(path), "k8s/snapshots/%06u/version.json", seq);
	if ((err = write_json(sp, path, doc)))
		goto out;
	json_decref(doc);
	doc = NULL;
	json_object_set_new(index, "version", json_pack("{s:i,s:s,s:s}", "duration_ms", 60,
			    "server", "v1.31.2", "status", "ok"));
	for (unsigned i = 0; i < NRES; i++) {
		const struct res *r = &resources[i];
		struct kt_k8s_redaction rr = { 0 };
		uint64_t taken = t0 + (i + 1) * 30 * MS, done;
		size_t n = 0;

		if (!(items = list_items(g, r))) {
			err = kt_err_set(-ENOMEM, "out of memory");
			goto out;
		}
		/* what the source does to every item before it is written */
		for (size_t k = 0; k < json_array_size(items);)
			if (kt_k8s_redact(json_array_get(items, k), r->kind, false, &rr))
				json_array_remove(items, k);
			else
				k++;
		kt_k8s_redaction_add(red, &rr);
		n = json_array_size(items);
		done = taken + 100 * MS + n * 20000ull;
		if (done > last)
			last = done;
		if (r->cluster)
			snprintf(path, sizeof(path), "k8s/snapshots/%06u/%s.json", seq, r->name);
		else
			snprintf(path, sizeof(path), "k8s/snapshots/%06u/%s/%s.json", seq, r->name,
				 n ? KTGEN_NS : "_all");
		doc = json_pack("{s:s,s:s,s:{s:s},s:o,s:o}", "apiVersion", "v1", "kind", "List",
				"metadata", "resourceVersion", "", "items", items,
				"ktcap", ktcap_block(seq, reason, r->name, r->kind, taken, done, n));
		items = NULL;
		if ((err = write_json(sp, path, doc)))
			goto out;
		json_decref(doc);
		doc = NULL;
		json_object_set_new(index, r->name, json_pack("{s:I,s:s,s:I,s:[s]}", "duration_ms",
				    (json_int_t)((done - taken) / MS), "status", "ok",
				    "items", (json_int_t)n, "files", path + 4));
	}
	doc = json_pack("{s:I,s:s,s:s,s:I,s:s,s:I,s:n,s:n,s:b,s:O}", "snapshot", (json_int_t)seq,
			"reason", reason, "started", kt_time_str(t0, t0s, sizeof(t0s)),
			"started_ns", (json_int_t)t0, "finished", kt_time_str(last, t1s, sizeof(t1s)),
			"finished_ns", (json_int_t)last, "namespace", "node", "redacted", 1,
			"resources", index);
	snprintf(path, sizeof(path), "k8s/snapshots/%06u/_snapshot.json", seq);
	err = write_json(sp, path, doc);
	*end = last;
out:
	json_decref(items);
	json_decref(doc);
	json_decref(index);
	return err;
}

int ktgen_k8s_write(struct kt_spool *sp, const struct ktgen_cluster *c, json_t *m,
		    uint64_t *done_ns)
{
	struct gen g = { .c = c };
	struct kt_k8s_redaction red = { 0 };
	uint64_t end1 = 0, end2 = 0;
	json_t *rj, *top;
	int err;

	for (uint32_t p = 0; p < c->npods; p++)
		g.pods_of[p % KTGEN_NWORK]++;
	/* the application was deployed a day before, its pods an hour before */
	secs_str(c->start_ns - 86400 * SEC, g.created);
	secs_str(c->start_ns - 3600 * SEC, g.pod_created);
	secs_str(c->start_ns - 3590 * SEC, g.pod_started);
	if ((err = snapshot(sp, &g, 1, "start", c->start_ns, &red, &end1)) ||
	    (err = snapshot(sp, &g, 2, "end", c->end_ns + MS, &red, &end2)))
		return err;
	rj = kt_k8s_redaction_json(&red, false);
	if (!rj)
		return kt_err_set(-ENOMEM, "out of memory");
	kt_manifest_set_source(m, "k8s", "ok", NULL, json_pack(
		"{s:s,s:n,s:I,s:i,s:i,s:I,s:I,s:{},s:i,s:[],s:[],s:O}",
		"kubectl", "kubectl", "namespace", "interval_ns", (json_int_t)0,
		"snapshots", 2, "snapshots_skipped", 0,
		"resources_ok", (json_int_t)(2 * NRES), "resources_failed", (json_int_t)0,
		"watches", "errors_total", 0, "errors", "imports", "redaction", rj));
	top = json_object_get(m, "redaction");
	if (!json_is_object(top)) {
		top = json_object();
		json_object_set_new(m, "redaction", top);
	}
	json_object_set_new(top, "k8s", rj);
	*done_ns = end2;
	(void)end1;
	return 0;
}
