/* check_k8s.c - the Kubernetes object index: every dump in the corpus, and
 * objects that change over time. Facts asserted on corpus files were read
 * from the files themselves (see ../shared/corpus/k8s/). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "k8s.h"

#define CORPUS KT_CORPUS_DIR "/k8s"
#define SEC 1000000000ull

static struct kt_k8s_index *load(const char *rel)
{
	struct kt_k8s_index *idx;
	char path[4096];
	int err;

	snprintf(path, sizeof(path), "%s/%s", CORPUS, rel);
	ck_assert_int_eq(kt_k8s_index_new(&idx), 0);
	err = kt_k8s_index_load_path(idx, path, 1000 * SEC, NULL);
	ck_assert_msg(err == 0, "%s: %s", path, kt_err_msg(err));
	ck_assert_int_eq(kt_k8s_index_finish(idx), 0);
	return idx;
}

static int count_cb(void *arg, const struct kt_k8s_object *o)
{
	(void)o;
	(*(int *)arg)++;
	return 0;
}

static int count(struct kt_k8s_index *idx, enum kt_k8s_kind k, const char *ns,
		 uint64_t t)
{
	int n = 0;

	ck_assert_int_eq(kt_k8s_each(idx, k, ns, t, count_cb, &n), 0);
	return n;
}

static const struct kt_k8s_object *pod_ip(struct kt_k8s_index *idx,
					  const char *ip, uint64_t t)
{
	return kt_k8s_pod_by_ip_str(idx, ip, t);
}

/* ---- every file of the corpus ------------------------------------------ */

static void walk(const char *dir, int *files, uint64_t *objects)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);

	ck_assert_msg(n >= 0, "cannot read %s", dir);
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		if (ents[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
			ck_assert_int_eq(stat(path, &st), 0);
			if (S_ISDIR(st.st_mode)) {
				walk(path, files, objects);
			} else {
				struct kt_k8s_index *idx;
				uint64_t nobj = 0;
				int err;

				ck_assert_int_eq(kt_k8s_index_new(&idx), 0);
				err = kt_k8s_index_load_path(idx, path, SEC, &nobj);
				if (strstr(path, ".yaml")) {
					/* YAML is refused by name; its JSON twin is
					 * in the corpus and read below. */
					char twin[4096];

					ck_assert_int_eq(err, -EPROTONOSUPPORT);
					snprintf(twin, sizeof(twin), "%.*s.json",
						 (int)(strlen(path) - 5), path);
					ck_assert_int_eq(access(twin, R_OK), 0);
				} else {
					ck_assert_msg(err == 0, "%s: %s", path,
						      kt_err_msg(err));
					ck_assert_int_eq(kt_k8s_index_finish(idx), 0);
					*objects += nobj;
				}
				kt_k8s_index_free(idx);
				(*files)++;
			}
		}
		free(ents[i]);
	}
	free(ents);
}

START_TEST(corpus_every_file)
{
	int files = 0;
	uint64_t objects = 0;

	walk(CORPUS, &files, &objects);
	ck_assert_int_eq(files, 59);
	/* Items of every List and array plus the single objects. */
	ck_assert_uint_eq(objects, 684);
}
END_TEST

START_TEST(corpus_whole_tree)
{
	struct kt_k8s_index *idx = load("");
	struct kt_k8s_stats st;

	kt_k8s_index_stats(idx, &st);
	ck_assert_uint_gt(st.objects, 600);
	ck_assert_uint_gt(st.bytes, 0);
	kt_k8s_index_free(idx);
}
END_TEST

/* ---- a support bundle's cluster-resources/ (k3s) ------------------------ */

START_TEST(k3s_pods_owners)
{
	struct kt_k8s_index *idx = load("troubleshoot-k3s-baseline");
	const struct kt_k8s_object *p, *w, *rs;
	const struct kt_k8s_ref *missing;
	uint64_t t = 1000 * SEC;

	ck_assert_int_eq(count(idx, KT_K8S_POD, "kube-system", t), 7);
	ck_assert_int_eq(count(idx, KT_K8S_POD, "default", t), 0);
	ck_assert_int_eq(count(idx, KT_K8S_DEPLOYMENT, NULL, t), 4);
	ck_assert_int_eq(count(idx, KT_K8S_REPLICASET, NULL, t), 4);
	ck_assert_int_eq(count(idx, KT_K8S_NAMESPACE, NULL, t), 4);
	ck_assert_int_eq(count(idx, KT_K8S_EVENT, NULL, t), 97);

	p = pod_ip(idx, "10.42.0.6", t);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->name, "coredns-56f6fc8fd7-p4x9z");
	ck_assert_str_eq(p->u.pod.node, "primary-node");
	ck_assert_str_eq(p->u.pod.qos_class, "Burstable");
	rs = kt_k8s_owner(idx, p, t);
	ck_assert_ptr_nonnull(rs);
	ck_assert_int_eq(rs->kind, KT_K8S_REPLICASET);
	ck_assert_str_eq(rs->name, "coredns-56f6fc8fd7");
	w = kt_k8s_workload(idx, p, t, &missing);
	ck_assert_int_eq(w->kind, KT_K8S_DEPLOYMENT);
	ck_assert_str_eq(w->name, "coredns");
	ck_assert_ptr_null(missing);
	ck_assert_int_eq(w->u.wl.spec_replicas, 1);
	ck_assert_int_eq(w->u.wl.ready, 1);

	w = kt_k8s_workload(idx, pod_ip(idx, "10.42.0.7", t), t, NULL);
	ck_assert_int_eq(w->kind, KT_K8S_DAEMONSET);
	ck_assert_str_eq(w->name, "svclb-traefik-a6edc2ef");

	/* A Succeeded pod no longer holds its IP... */
	ck_assert_ptr_null(pod_ip(idx, "10.42.0.2", t));
	/* ...but is still found by name; its Job's owner (a HelmChart) is
	 * not in the dump and is reported missing. */
	p = kt_k8s_get(idx, KT_K8S_POD, "kube-system", "helm-install-traefik-5wnn9", t);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->u.pod.phase, "Succeeded");
	w = kt_k8s_workload(idx, p, t, &missing);
	ck_assert_int_eq(w->kind, KT_K8S_JOB);
	ck_assert_str_eq(w->name, "helm-install-traefik");
	ck_assert_ptr_nonnull(missing);
	ck_assert_str_eq(missing->kind, "HelmChart");
	ck_assert_str_eq(missing->name, "traefik");
	kt_k8s_index_free(idx);
}
END_TEST

struct backends {
	char ips[8][64];
	int32_t ports[8];
	int n;
};

static int backend_cb(void *arg, const struct kt_k8s_endpoint *ep, int32_t port,
		      const struct kt_k8s_object *from)
{
	struct backends *b = arg;

	(void)from;
	ck_assert_int_lt(b->n, 8);
	snprintf(b->ips[b->n], sizeof(b->ips[0]), "%s", ep->ip);
	b->ports[b->n++] = port;
	return 0;
}

START_TEST(k3s_services)
{
	struct kt_k8s_index *idx = load("troubleshoot-k3s-baseline");
	const struct kt_k8s_object *s;
	const struct kt_k8s_port *port;
	struct backends b = { 0 };
	uint8_t ip[16];
	uint64_t t = 1000 * SEC;

	ck_assert_int_eq(kt_k8s_ip_parse("10.43.150.32", ip), 0);
	s = kt_k8s_service_by_ip(idx, ip, 80, "TCP", t, &port);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->name, "traefik");
	ck_assert_str_eq(port->name, "web");
	ck_assert_str_eq(port->target_port_name, "web");
	ck_assert_int_eq(kt_k8s_backends(idx, s, port, t, backend_cb, &b), 0);
	ck_assert_int_eq(b.n, 1);
	ck_assert_str_eq(b.ips[0], "10.42.0.8");
	ck_assert_int_eq(b.ports[0], 8000);
	ck_assert_ptr_null(kt_k8s_service_by_ip(idx, ip, 8080, "TCP", t, NULL));

	/* kube-dns: the same port number over UDP and TCP. */
	ck_assert_int_eq(kt_k8s_ip_parse("10.43.0.10", ip), 0);
	s = kt_k8s_service_by_ip(idx, ip, 53, "UDP", t, &port);
	ck_assert_str_eq(s->name, "kube-dns");
	ck_assert_str_eq(port->name, "dns");
	s = kt_k8s_service_by_ip(idx, ip, 9153, NULL, t, &port);
	ck_assert_str_eq(port->name, "metrics");
	memset(&b, 0, sizeof(b));
	ck_assert_int_eq(kt_k8s_backends(idx, s, port, t, backend_cb, &b), 0);
	ck_assert_int_eq(b.n, 1);
	ck_assert_str_eq(b.ips[0], "10.42.0.6");
	ck_assert_int_eq(b.ports[0], 9153);

	ck_assert_int_eq(kt_k8s_ip_parse("10.43.0.1", ip), 0);
	s = kt_k8s_service_by_ip(idx, ip, 443, NULL, t, &port);
	ck_assert_str_eq(s->ns, "default");
	ck_assert_str_eq(s->name, "kubernetes");
	ck_assert_int_eq(port->target_port, 6443);
	kt_k8s_index_free(idx);
}
END_TEST

static int name_cb(void *arg, const struct kt_k8s_object *o)
{
	char *buf = arg;

	strcat(buf, o->u.ev.reason ? o->u.ev.reason : "?");
	strcat(buf, " ");
	return 0;
}

START_TEST(k3s_ids_nodes_events)
{
	struct kt_k8s_index *idx = load("troubleshoot-k3s-baseline");
	const struct kt_k8s_container *c;
	const struct kt_k8s_object *p;
	uint8_t ip[16];
	char reasons[256] = "";
	int n = 0;

	p = kt_k8s_pod_by_container(idx, "containerd://64f255d1a591e0002fcf3b2bc"
				    "281076fec156636b8208a100e8c057f389fcc74",
				    KT_K8S_LATEST, &c);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->name, "coredns-56f6fc8fd7-p4x9z");
	ck_assert_str_eq(c->name, "coredns");
	ck_assert_str_eq(c->runtime, "containerd");
	p = kt_k8s_pod_by_container(idx, "4b7f34bbcf17", KT_K8S_LATEST, &c);
	ck_assert_str_eq(p->name, "svclb-traefik-a6edc2ef-c2sjr");
	ck_assert_int_eq(p->u.pod.ncontainers, 2);
	ck_assert_int_eq(strncmp(c->container_id, "4b7f34bbcf17", 12), 0);
	ck_assert_ptr_null(kt_k8s_pod_by_container(idx, "4b7f34", KT_K8S_LATEST, NULL));

	p = kt_k8s_pod_by_uid(idx, "ba046417_ccba_4df3_b7a0_8a7bd2292f46", 1000 * SEC);
	ck_assert_str_eq(p->name, "local-path-provisioner-5cf85fd84d-jntjc");

	ck_assert_int_eq(kt_k8s_ip_parse("172.17.0.2", ip), 0);
	p = kt_k8s_node_by_ip(idx, ip, 1000 * SEC);
	ck_assert_str_eq(p->name, "primary-node");
	ck_assert_str_eq(p->u.node.pod_cidrs[0], "10.42.0.0/24");
	ck_assert(p->u.node.ready);

	ck_assert_int_eq(kt_k8s_events_for(idx, KT_K8S_NODE, NULL, "primary-node",
					   0, UINT64_MAX, count_cb, &n), 0);
	ck_assert_int_eq(n, 12);
	ck_assert_int_eq(kt_k8s_events_for(idx, KT_K8S_POD, "kube-system",
					   "coredns-56f6fc8fd7-p4x9z", 0, UINT64_MAX,
					   name_cb, reasons), 0);
	ck_assert_str_eq(reasons, "Scheduled Pulling Pulled Created Started ");
	kt_k8s_index_free(idx);
}
END_TEST

/* ---- sonobuoy: ns/<ns>/<group>_<version>_<kind>.json -------------------- */

START_TEST(sonobuoy_kind)
{
	struct kt_k8s_index *idx = load("sonobuoy-results-quick-kind");
	const struct kt_k8s_object *s, *p;
	const struct kt_k8s_port *port;
	struct backends b = { 0 };
	uint8_t ip[16];
	uint64_t t = 1000 * SEC;
	int n = 0;

	ck_assert_int_eq(count(idx, KT_K8S_SERVICE, "svc-latency-5249", t), 201);
	ck_assert_int_eq(count(idx, KT_K8S_ENDPOINTS, "svc-latency-5249", t), 201);
	ck_assert_int_eq(count(idx, KT_K8S_POD, NULL, t), 13);
	ck_assert_int_eq(kt_k8s_host_network_pods(idx, "kind-control-plane", t,
						  count_cb, &n), 0);
	ck_assert_int_eq(n, 7);
	/* hostNetwork pods share the node's address: it names the node. */
	ck_assert_ptr_null(pod_ip(idx, "172.18.0.2", t));
	ck_assert_int_eq(kt_k8s_ip_parse("172.18.0.2", ip), 0);
	ck_assert_str_eq(kt_k8s_node_by_ip(idx, ip, t)->name, "kind-control-plane");

	p = pod_ip(idx, "10.244.0.58", t);
	ck_assert_str_eq(p->name, "svc-latency-rc-w2kw6");
	ck_assert_int_eq(kt_k8s_workload(idx, p, t, NULL)->kind,
			 KT_K8S_REPLICATIONCONTROLLER);
	/* Static pods are owned by their Node. */
	p = kt_k8s_get(idx, KT_K8S_POD, "kube-system", "etcd-kind-control-plane", t);
	ck_assert(p->u.pod.host_network);
	ck_assert_int_eq(kt_k8s_owner(idx, p, t)->kind, KT_K8S_NODE);

	ck_assert_int_eq(kt_k8s_ip_parse("10.96.85.153", ip), 0);
	s = kt_k8s_service_by_ip(idx, ip, 80, "TCP", t, &port);
	ck_assert_str_eq(s->name, "latency-svc-24zfp");
	ck_assert_int_eq(kt_k8s_backends(idx, s, port, t, backend_cb, &b), 0);
	ck_assert_int_eq(b.n, 1);
	ck_assert_str_eq(b.ips[0], "10.244.0.58");
	ck_assert_int_eq(b.ports[0], 80);
	kt_k8s_index_free(idx);
}
END_TEST

/* ---- single objects (k9s, kubectl-neat) and troubleshoot analyzers ------ */

START_TEST(single_objects)
{
	struct kt_k8s_index *idx = load("k9s-render-testdata/hpa.json");
	const struct kt_k8s_object *o;
	int n = 0;

	o = kt_k8s_get(idx, KT_K8S_HPA, "default", "nginx", KT_K8S_LATEST);
	ck_assert_str_eq(o->u.hpa.target.kind, "Deployment");
	ck_assert_str_eq(o->u.hpa.target.name, "nginx");
	ck_assert_int_eq(o->u.hpa.min_replicas, 1);
	ck_assert_int_eq(o->u.hpa.max_replicas, 10);
	ck_assert_int_eq(o->u.hpa.target_cpu, 10);
	ck_assert_int_eq(o->u.hpa.current_replicas, 0);
	kt_k8s_index_free(idx);

	idx = load("k9s-render-testdata/po_sidecar.json");
	o = kt_k8s_get(idx, KT_K8S_POD, "default", "sleep", KT_K8S_LATEST);
	ck_assert_int_eq(o->u.pod.ncontainers, 3);
	ck_assert(o->u.pod.containers[0].init);
	ck_assert(o->u.pod.containers[1].init);
	ck_assert(!o->u.pod.containers[2].init);
	ck_assert_str_eq(pod_ip(idx, "10.244.0.8", KT_K8S_LATEST)->name, "sleep");
	kt_k8s_index_free(idx);

	idx = load("k9s-render-testdata/ev.json");
	ck_assert_int_eq(kt_k8s_events_for(idx, KT_K8S_POD, "default",
					   "hello-1567197780-mn4mv", 0, UINT64_MAX,
					   count_cb, &n), 0);
	ck_assert_int_eq(n, 1);
	kt_k8s_index_free(idx);

	idx = load("kubectl-neat-fixtures/list1-raw.json");
	ck_assert_str_eq(pod_ip(idx, "10.244.0.5", KT_K8S_LATEST)->name, "t1");
	ck_assert_str_eq(pod_ip(idx, "10.244.0.7", KT_K8S_LATEST)->name, "t2");
	kt_k8s_index_free(idx);

	idx = load("kubectl-neat-fixtures/service1-raw.json");
	o = kt_k8s_get(idx, KT_K8S_SERVICE, "default", "myappservice", KT_K8S_LATEST);
	ck_assert(o->u.svc.headless);
	ck_assert_int_eq(o->u.svc.ncluster_ips, 0);
	ck_assert_str_eq(o->u.svc.selector[0].value, "myapp");
	kt_k8s_index_free(idx);
}
END_TEST

START_TEST(troubleshoot_analyzers)
{
	struct kt_k8s_index *idx = load("troubleshoot-analyze-files");
	const struct kt_k8s_object *o;
	uint64_t t = KT_K8S_LATEST;

	o = kt_k8s_get(idx, KT_K8S_POD, "message-oomkill-pod", "oom-kill-job3-gbb89", t);
	ck_assert_str_eq(o->u.pod.phase, "Failed");
	ck_assert_str_eq(o->u.pod.containers[0].state, "terminated");
	ck_assert_str_eq(o->u.pod.containers[0].reason, "OOMKilled");
	o = kt_k8s_get(idx, KT_K8S_POD, "message-pod-crashloop-backoff", "init-demo", t);
	ck_assert_str_eq(o->u.pod.containers[o->u.pod.ncontainers - 1].reason,
			 "CrashLoopBackOff");
	ck_assert_str_eq(o->u.pod.containers[o->u.pod.ncontainers - 1].last_reason,
			 "ContainerCannotRun");
	ck_assert_int_eq(o->u.pod.containers[o->u.pod.ncontainers - 1].restarts, 4);
	/* Items without "kind": the List's kind names them. */
	ck_assert_int_eq(count(idx, KT_K8S_DEPLOYMENT, "monitoring", t), 4);
	ck_assert_int_eq(count(idx, KT_K8S_STATEFULSET, "monitoring", t), 2);
	ck_assert_int_eq(count(idx, KT_K8S_NODE, NULL, t), 6);
	o = kt_k8s_get(idx, KT_K8S_REPLICASET, "default", "kotsadm-f98ff7d75", t);
	ck_assert_str_eq(o->owners[0].name, "kotsadm");
	kt_k8s_index_free(idx);
}
END_TEST

/* ---- shapes and malformed input ---------------------------------------- */

static int load_str(struct kt_k8s_index *idx, const char *s, const char *name,
		    uint64_t t)
{
	return kt_k8s_index_load_buffer(idx, s, strlen(s), name, t, NULL);
}

#define POD(name, ns, uid, rv, created, ip, phase, node, extra)                 \
	"{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"" name \
	"\",\"namespace\":\"" ns "\",\"uid\":\"" uid "\",\"resourceVersion\":\"" \
	rv "\",\"creationTimestamp\":\"" created "\"" extra "},\"spec\":{"       \
	"\"nodeName\":\"" node "\"},\"status\":{\"phase\":\"" phase              \
	"\",\"podIP\":\"" ip "\"}}"

START_TEST(cluster_info_dump)
{
	/* `kubectl cluster-info dump` to stdout: Lists back to back, pod logs
	 * framed between them. */
	static const char dump[] =
		"{\"kind\":\"NodeList\",\"apiVersion\":\"v1\",\"items\":[{\"metadata\":"
		"{\"name\":\"n1\"},\"status\":{\"addresses\":[{\"type\":\"InternalIP\","
		"\"address\":\"198.18.0.1\"}]}}]}\n"
		"{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"items\":["
		POD("web-1", "default", "u1", "5", "2026-01-01T00:00:00Z", "198.18.1.5",
		    "Running", "n1", "") "]}\n"
		"==== START logs for container web of pod default/web-1 ====\n"
		"{\"level\":\"info\",\"msg\":\"not an object\"}\n"
		"not json at all {[\n"
		"==== END logs for container web of pod default/web-1 ====\n"
		"{\"kind\":\"EventList\",\"apiVersion\":\"v1\",\"items\":[]}\n";
	struct kt_k8s_index *idx;
	uint64_t n = 0;
	uint8_t ip[16];

	ck_assert_int_eq(kt_k8s_index_new(&idx), 0);
	ck_assert_int_eq(kt_k8s_index_load_buffer(idx, dump, strlen(dump), "dump",
						  SEC, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(kt_k8s_index_finish(idx), 0);
	ck_assert_str_eq(pod_ip(idx, "198.18.1.5", KT_K8S_LATEST)->u.pod.node, "n1");
	kt_k8s_ip_parse("198.18.0.1", ip);
	ck_assert_str_eq(kt_k8s_node_by_ip(idx, ip, KT_K8S_LATEST)->name, "n1");
	kt_k8s_index_free(idx);
}
END_TEST

START_TEST(cluster_info_dump_directory)
{
	/* `kubectl cluster-info dump --output-directory D`: D/nodes.json,
	 * D/<ns>/pods.json (kind-less items would be named by the file),
	 * D/<ns>/<pod>/logs.txt. */
	char dir[] = "/tmp/kt-k8s-dump-XXXXXX", path[256];
	struct kt_k8s_index *idx;
	uint64_t n = 0;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/default", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/default/web-1", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/default/web-1/logs.txt", dir);
	f = fopen(path, "w");
	fputs("{not json\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/default/pods.json", dir);
	f = fopen(path, "w");
	fputs("{\"kind\":\"List\",\"apiVersion\":\"v1\",\"items\":[{\"metadata\":"
	      "{\"name\":\"web-1\",\"namespace\":\"default\",\"uid\":\"w1\"},"
	      "\"status\":{\"podIP\":\"198.18.1.5\"}}]}", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/nodes.json", dir);
	f = fopen(path, "w");
	fputs("{\"kind\":\"NodeList\",\"apiVersion\":\"v1\",\"items\":[{\"metadata\":"
	      "{\"name\":\"n1\"}}]}", f);
	fclose(f);
	ck_assert_int_eq(kt_k8s_index_new(&idx), 0);
	ck_assert_int_eq(kt_k8s_index_load_path(idx, dir, SEC, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(kt_k8s_index_finish(idx), 0);
	ck_assert_str_eq(pod_ip(idx, "198.18.1.5", KT_K8S_LATEST)->name, "web-1");
	ck_assert_int_eq(count(idx, KT_K8S_NODE, NULL, KT_K8S_LATEST), 1);
	kt_k8s_index_free(idx);
	snprintf(path, sizeof(path), "%s/default/web-1/logs.txt", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/default/web-1", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/default/pods.json", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/default", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/nodes.json", dir);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(malformed)
{
	struct kt_k8s_index *idx;
	int err;

	ck_assert_int_eq(kt_k8s_index_new(&idx), 0);
	err = load_str(idx, "{\"kind\":\"PodList\",\"items\":[{\"metadata\":{}}]}",
		       "x.json", SEC);
	ck_assert_int_eq(err, -EPROTO);
	ck_assert_ptr_nonnull(strstr(kt_err_msg(err), "x.json: item 0"));
	err = load_str(idx, "[{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}] {\"kind\":",
		       "y.json", SEC);
	ck_assert_int_eq(err, -EPROTO);
	ck_assert_ptr_nonnull(strstr(kt_err_msg(err), "y.json: invalid JSON at byte"));
	/* Valid JSON that is no Kubernetes object is not an error. */
	ck_assert_int_eq(load_str(idx, "{\"major\":\"1\",\"minor\":\"20\"} 42 \"s\"",
				  "version.json", SEC), 0);
	/* Wrong types everywhere: read as unset, never a crash. */
	ck_assert_int_eq(load_str(idx, "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\","
				  "\"labels\":[1],\"ownerReferences\":{}},\"spec\":"
				  "{\"containers\":7,\"hostNetwork\":\"yes\"},\"status\":"
				  "{\"podIPs\":[1,{\"ip\":5},\"bad\"],\"podIP\":3}}",
				  "p.json", SEC), 0);
	ck_assert_int_eq(kt_k8s_index_finish(idx), 0);
	ck_assert_int_eq(load_str(idx, "[{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}]",
				  "z.json", SEC), -EBUSY);
	kt_k8s_index_free(idx);
}
END_TEST

/* A uid two kinds claim (a bundle is untrusted): each kind keeps its own
 * object, and a key made to collide with another kind's is refused. */
START_TEST(uid_shared_by_kinds)
{
	struct kt_k8s_index *idx;
	const struct kt_k8s_object *p, *np;
	int err;

	ck_assert_int_eq(kt_k8s_index_new(&idx), 0);
	ck_assert_int_eq(load_str(idx, "[{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\","
				  "\"namespace\":\"d\",\"uid\":\"x\",\"resourceVersion\":\"1\"}},"
				  "{\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"n\","
				  "\"namespace\":\"d\",\"uid\":\"x\",\"resourceVersion\":\"1\"},"
				  "\"spec\":{\"podSelector\":{}}}]", "a.json", SEC), 0);
	err = load_str(idx, "[{\"kind\":\"Service\",\"metadata\":{\"name\":\"s\","
		       "\"namespace\":\"d\",\"uid\":\"Pod/d/b\"}},{\"kind\":\"Pod\","
		       "\"metadata\":{\"name\":\"b\",\"namespace\":\"d\"}}]", "b.json", SEC);
	ck_assert_int_eq(err, -EPROTO);
	ck_assert_ptr_nonnull(strstr(kt_err_msg(err), "another kind's uid"));
	ck_assert_int_eq(kt_k8s_index_finish(idx), 0);
	p = kt_k8s_get(idx, KT_K8S_POD, "d", "a", KT_K8S_LATEST);
	np = kt_k8s_get(idx, KT_K8S_NETWORKPOLICY, "d", "n", KT_K8S_LATEST);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(np);
	ck_assert_int_eq(p->kind, KT_K8S_POD);
	ck_assert_int_eq(np->kind, KT_K8S_NETWORKPOLICY);
	ck_assert(np->u.np.pod_selector.present);
	ck_assert_int_eq(count(idx, KT_K8S_NETWORKPOLICY, "d", KT_K8S_LATEST), 1);
	ck_assert_int_eq(count(idx, KT_K8S_POD, "d", KT_K8S_LATEST), 1);
	kt_k8s_index_free(idx);
}
END_TEST

/* ---- over time ------------------------------------------------------------ */

/* 2026-01-01T00:00:00Z */
#define T0 1767225600ull

START_TEST(reused_ip_with_watch)
{
	struct kt_k8s_index *idx;

	/* As a bundle stores them: snapshot files and watch lines. */
	ck_assert_int_eq(kt_k8s_index_new(&idx), 0);
	ck_assert_int_eq(load_str(idx,
		"{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"ktcap\":{\"snapshot\":1,"
		"\"taken_ns\":1767225700000000000},\"items\":["
		POD("a", "d", "ua", "1", "2026-01-01T00:00:50Z", "198.18.1.9",
		    "Running", "n1", "") "]}", "k8s/snapshots/000001/pods/d.json", 0), 0);
	/* Watch lines: a deleted at +150 s, b takes the IP at +160 s. */
	ck_assert_int_eq(load_str(idx,
		"{\"ts_ns\":1767225750000000000,\"type\":\"DELETED\",\"object\":"
		POD("a", "d", "ua", "2", "2026-01-01T00:00:50Z", "198.18.1.9",
		    "Running", "n1", "") "}\n"
		"{\"ts_ns\":1767225760000000000,\"type\":\"ADDED\",\"object\":"
		POD("b", "d", "ub", "3", "2026-01-01T00:02:38Z", "198.18.1.9",
		    "Running", "n1", "") "}\n", "k8s/watch/pods.jsonl", 0), 0);
	ck_assert_int_eq(load_str(idx,
		"{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"ktcap\":{\"snapshot\":2,"
		"\"taken_ns\":1767225800000000000},\"items\":["
		POD("b", "d", "ub", "3", "2026-01-01T00:02:38Z", "198.18.1.9",
		    "Running", "n1", "") "]}", "k8s/snapshots/000002/pods/d.json", 0), 0);
	ck_assert_int_eq(kt_k8s_index_finish(idx), 0);

	/* a existed from its creation (before the first snapshot). */
	ck_assert_ptr_null(pod_ip(idx, "198.18.1.9", (T0 + 40) * SEC));
	ck_assert_str_eq(pod_ip(idx, "198.18.1.9", (T0 + 60) * SEC)->name, "a");
	ck_assert_str_eq(pod_ip(idx, "198.18.1.9", (T0 + 120) * SEC)->name, "a");
	ck_assert_ptr_null(pod_ip(idx, "198.18.1.9", (T0 + 155) * SEC));
	ck_assert_str_eq(pod_ip(idx, "198.18.1.9", (T0 + 159) * SEC)->name, "b");
	ck_assert_str_eq(pod_ip(idx, "198.18.1.9", (T0 + 170) * SEC)->name, "b");
	ck_assert_str_eq(pod_ip(idx, "198.18.1.9", KT_K8S_LATEST)->name, "b");
	ck_assert(kt_k8s_get(idx, KT_K8S_POD, "d", "a", KT_K8S_LATEST) == NULL ||
		  kt_k8s_get(idx, KT_K8S_POD, "d", "a", KT_K8S_LATEST)->deleted);
	ck_assert_int_eq(count(idx, KT_K8S_POD, "d", (T0 + 120) * SEC), 1);
	ck_assert_int_eq(count(idx, KT_K8S_POD, "d", KT_K8S_LATEST), 1);
	kt_k8s_index_free(idx);
}
END_TEST

START_TEST(reused_ip_snapshots_only)
{
	struct kt_k8s_index *idx;
	int s1, s2;
	json_t *a = json_loads(POD("a", "d", "ua", "1", "2026-01-01T00:00:50Z",
				   "198.18.1.9", "Running", "n1", ""), 0, NULL);
	json_t *b = json_loads(POD("b", "d", "ub", "3", "2026-01-01T00:02:38Z",
				   "198.18.1.9", "Running", "n1", ""), 0, NULL);
	json_t *c = json_loads(POD("c", "d", "uc", "4", "2026-01-01T00:00:10Z",
				   "198.18.1.10", "Running", "n2", ""), 0, NULL);

	ck_assert_int_eq(kt_k8s_index_new(&idx), 0);
	s1 = kt_k8s_index_snapshot(idx, (T0 + 100) * SEC, KT_K8S_POD, NULL, NULL);
	ck_assert_int_eq(kt_k8s_index_add(idx, a, NULL, (T0 + 100) * SEC, KT_K8S_SEEN, s1), 0);
	ck_assert_int_eq(kt_k8s_index_add(idx, c, NULL, (T0 + 100) * SEC, KT_K8S_SEEN, s1), 0);
	/* The second snapshot lists only node n1's pods: c (on n2) lives on. */
	s2 = kt_k8s_index_snapshot(idx, (T0 + 200) * SEC, KT_K8S_POD, NULL, "n1");
	ck_assert_int_eq(kt_k8s_index_add(idx, b, NULL, (T0 + 200) * SEC, KT_K8S_SEEN, s2), 0);
	ck_assert_int_eq(kt_k8s_index_finish(idx), 0);

	ck_assert_str_eq(pod_ip(idx, "198.18.1.9", (T0 + 120) * SEC)->name, "a");
	/* Both claim the IP between b's creation and the second snapshot:
	 * the newer pod has it. */
	ck_assert_str_eq(pod_ip(idx, "198.18.1.9", (T0 + 170) * SEC)->name, "b");
	ck_assert_str_eq(pod_ip(idx, "198.18.1.9", (T0 + 250) * SEC)->name, "b");
	ck_assert_int_eq(count(idx, KT_K8S_POD, "d", (T0 + 250) * SEC), 2);
	ck_assert_str_eq(pod_ip(idx, "198.18.1.10", (T0 + 250) * SEC)->name, "c");
	ck_assert(kt_k8s_get(idx, KT_K8S_POD, "d", "a", (T0 + 199) * SEC) != NULL);
	ck_assert(kt_k8s_get(idx, KT_K8S_POD, "d", "a", (T0 + 200) * SEC) == NULL);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	kt_k8s_index_free(idx);
}
END_TEST

#define DEPLOY(rv, replicas)                                                    \
	"{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{"    \
	"\"name\":\"web\",\"namespace\":\"d\",\"uid\":\"dw\",\"resourceVersion\"" \
	":\"" rv "\"},\"spec\":{\"replicas\":" replicas ",\"selector\":{"       \
	"\"matchLabels\":{\"app\":\"web\"}}},\"status\":{\"replicas\":" replicas "}}"

START_TEST(deployment_scaled_and_policies)
{
	struct kt_k8s_index *idx;
	const struct kt_k8s_object *d, *pod;
	int n = 0;

	ck_assert_int_eq(kt_k8s_index_new(&idx), 0);
	ck_assert_int_eq(load_str(idx, DEPLOY("10", "2"), "d1", (T0 + 10) * SEC), 0);
	ck_assert_int_eq(load_str(idx, DEPLOY("10", "2"), "d2", (T0 + 20) * SEC), 0);
	ck_assert_int_eq(load_str(idx, "{\"type\":\"MODIFIED\",\"object\":"
				  DEPLOY("11", "3") "}", "w", (T0 + 25) * SEC), 0);
	ck_assert_int_eq(load_str(idx,
		"{\"kind\":\"NetworkPolicy\",\"apiVersion\":\"networking.k8s.io/v1\","
		"\"metadata\":{\"name\":\"web-in\",\"namespace\":\"d\",\"uid\":\"np\"},"
		"\"spec\":{\"podSelector\":{\"matchLabels\":{\"app\":\"web\"},"
		"\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"NotIn\","
		"\"values\":[\"db\"]}]},\"ingress\":[{\"from\":[]}]}}"
		POD("web-1", "d", "p1", "1", "2026-01-01T00:00:05Z", "198.18.1.1",
		    "Running", "n1", ",\"labels\":{\"app\":\"web\"}")
		POD("db-1", "d", "p2", "1", "2026-01-01T00:00:05Z", "198.18.1.2",
		    "Running", "n1", ",\"labels\":{\"app\":\"web\",\"tier\":\"db\"}"),
		"mixed", (T0 + 10) * SEC), 0);
	ck_assert_int_eq(kt_k8s_index_finish(idx), 0);

	d = kt_k8s_get(idx, KT_K8S_DEPLOYMENT, "d", "web", (T0 + 22) * SEC);
	ck_assert_int_eq(d->u.wl.spec_replicas, 2);
	ck_assert_uint_eq(d->from_ns, (T0 + 10) * SEC);
	d = kt_k8s_get(idx, KT_K8S_DEPLOYMENT, "d", "web", (T0 + 26) * SEC);
	ck_assert_int_eq(d->u.wl.spec_replicas, 3);
	ck_assert_ptr_null(kt_k8s_get(idx, KT_K8S_DEPLOYMENT, "d", "web", (T0 + 5) * SEC));

	pod = pod_ip(idx, "198.18.1.1", (T0 + 30) * SEC);
	ck_assert_int_eq(kt_k8s_policies_for(idx, pod, (T0 + 30) * SEC, count_cb, &n), 0);
	ck_assert_int_eq(n, 1);
	n = 0;
	pod = pod_ip(idx, "198.18.1.2", (T0 + 30) * SEC);
	ck_assert_int_eq(kt_k8s_policies_for(idx, pod, (T0 + 30) * SEC, count_cb, &n), 0);
	ck_assert_int_eq(n, 0);
	d = kt_k8s_get(idx, KT_K8S_NETWORKPOLICY, "d", "web-in", KT_K8S_LATEST);
	ck_assert(d->u.np.ingress);
	ck_assert(!d->u.np.egress);
	ck_assert_ptr_nonnull(strstr(d->u.np.spec_json, "\"podSelector\""));
	kt_k8s_index_free(idx);
}
END_TEST

/* ---- NetworkPolicy rules (netpol.c) --------------------------------------- */

static json_t *np_pod(const char *name, const char *ns, const char *ip, json_t *labels,
		      json_t *ports)
{
	char uid[64];

	snprintf(uid, sizeof(uid), "%s-%s", ns, name);
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:o}, s:{s:[{s:s, s:s, s:o}]},"
			 " s:{s:s, s:s}}", "kind", "Pod", "apiVersion", "v1", "metadata",
			 "name", name, "namespace", ns, "uid", uid, "creationTimestamp",
			 "2026-01-01T00:00:00Z", "labels", labels, "spec", "containers", "name",
			 "c", "image", "i", "ports", ports ? ports : json_array(), "status",
			 "phase", "Running", "podIP", ip);
}

static json_t *np_policy(const char *name, const char *ns, json_t *spec)
{
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:o}", "kind", "NetworkPolicy",
			 "apiVersion", "networking.k8s.io/v1", "metadata", "name", name,
			 "namespace", ns, "uid", name, "spec", spec);
}

/* The verdict of one direction of src -> dst:port (TCP) at +30 s, and the
 * deciding policy's name in *policy (may be NULL). */
static enum kt_np_verdict np(struct kt_k8s_index *idx, bool ingress, const char *src_ip,
			     const char *dst_ip, int port, const char **policy)
{
	const uint64_t t = (T0 + 30) * SEC;
	const struct kt_k8s_object *s = kt_k8s_pod_by_ip_str(idx, src_ip, t);
	const struct kt_k8s_object *d = kt_k8s_pod_by_ip_str(idx, dst_ip, t);
	struct kt_np_result r;

	ck_assert_int_eq(kt_k8s_netpol_check(idx, ingress, s, src_ip, d, dst_ip, "TCP", port, t,
					     &r), 0);
	if (policy)
		*policy = r.policy ? r.policy->name : NULL;
	return r.v;
}

#define CLIENT_IP "198.18.2.1"
#define WEB_IP "198.18.2.2"
#define DB_IP "198.18.2.3"
#define API_IP "198.18.2.4"
#define BACKUP_IP "198.18.2.5"	/* namespace ops, labelled team=ops */
#define DEV_IP "198.18.2.6"	/* namespace dev, no Namespace object */
#define FREE_IP "198.18.2.7"	/* selected by no policy */

START_TEST(netpol_rules)
{
	struct kt_k8s_index *idx;
	const char *pol;
	json_t *list = json_pack("{s:s, s:[]}", "kind", "List", "items");
	json_t *items = json_object_get(list, "items");
	char *txt;

	json_array_append_new(items, json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}}", "kind",
					       "Namespace", "apiVersion", "v1", "metadata", "name",
					       "ops", "uid", "ns-ops", "labels", "team", "ops"));
	json_array_append_new(items, np_pod("client", "d", CLIENT_IP,
					    json_pack("{s:s}", "app", "client"), NULL));
	json_array_append_new(items, np_pod("web", "d", WEB_IP, json_pack("{s:s}", "app", "web"),
					    json_pack("[{s:s, s:i}]", "name", "http",
						      "containerPort", 8080)));
	json_array_append_new(items, np_pod("db", "d", DB_IP, json_pack("{s:s}", "app", "db"), NULL));
	json_array_append_new(items, np_pod("api", "d", API_IP, json_pack("{s:s, s:s}", "app", "api",
					    "tier", "edge"), NULL));
	json_array_append_new(items, np_pod("backup", "ops", BACKUP_IP,
					    json_pack("{s:s}", "app", "backup"), NULL));
	json_array_append_new(items, np_pod("backup", "dev", DEV_IP,
					    json_pack("{s:s}", "app", "backup"), NULL));
	json_array_append_new(items, np_pod("free", "d", FREE_IP, json_pack("{s:s}", "app", "free"),
					    NULL));
	/* web: from the client only, on its named port */
	json_array_append_new(items, np_policy("web-in", "d", json_pack(
		"{s:{s:{s:s}}, s:[{s:[{s:{s:{s:s}}}], s:[{s:s}]}]}", "podSelector", "matchLabels",
		"app", "web", "ingress", "from", "podSelector", "matchLabels", "app", "client",
		"ports", "port", "http")));
	/* db: from backups of namespaces labelled team=ops, on 5000-5010 */
	json_array_append_new(items, np_policy("db-in", "d", json_pack(
		"{s:{s:{s:s}}, s:[{s:[{s:{s:{s:s}}, s:{s:{s:s}}}], s:[{s:i, s:i}]}]}",
		"podSelector", "matchLabels", "app", "db", "ingress", "from", "namespaceSelector",
		"matchLabels", "team", "ops", "podSelector", "matchLabels", "app", "backup",
		"ports", "port", 5000, "endPort", 5010)));
	/* the edge tier (an expression): from 198.18.9.0/24 but its upper half */
	json_array_append_new(items, np_policy("edge-in", "d", json_pack(
		"{s:{s:[{s:s, s:s, s:[s]}]}, s:[{s:[{s:{s:s, s:[s]}}]}]}",
		"podSelector", "matchExpressions", "key", "tier", "operator", "In", "values", "edge",
		"ingress", "from", "ipBlock", "cidr", "198.18.9.0/24", "except", "198.18.9.128/25")));
	/* the client may only reach web on 8080 */
	json_array_append_new(items, np_policy("client-out", "d", json_pack(
		"{s:{s:{s:s}}, s:[s], s:[{s:[{s:{s:{s:s}}}], s:[{s:s, s:i}]}]}",
		"podSelector", "matchLabels", "app", "client", "policyTypes", "Egress", "egress", "to",
		"podSelector", "matchLabels", "app", "web", "ports", "protocol", "TCP", "port", 8080)));
	/* the backup pods reach anything whose namespace is named d */
	json_array_append_new(items, np_policy("backup-out", "ops", json_pack(
		"{s:{}, s:[s], s:[{s:[{s:{s:{s:s}}}]}]}", "podSelector", "policyTypes", "Egress",
		"egress", "to", "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name", "d")));
	ck_assert_ptr_nonnull(txt = json_dumps(list, 0));
	ck_assert_int_eq(kt_k8s_index_new(&idx), 0);
	ck_assert_int_eq(load_str(idx, txt, "netpol", (T0 + 10) * SEC), 0);
	ck_assert_int_eq(kt_k8s_index_finish(idx), 0);
	free(txt);
	json_decref(list);

	/* a named port, resolved in the server's containers */
	ck_assert_int_eq(np(idx, true, CLIENT_IP, WEB_IP, 8080, &pol), KT_NP_ADMITTED);
	ck_assert_str_eq(pol, "web-in");
	ck_assert_int_eq(np(idx, true, CLIENT_IP, WEB_IP, 9090, &pol), KT_NP_DENIED);
	ck_assert_str_eq(pol, "web-in");
	ck_assert_int_eq(np(idx, true, API_IP, WEB_IP, 8080, NULL), KT_NP_DENIED);
	/* egress: the client's own policy */
	ck_assert_int_eq(np(idx, false, CLIENT_IP, WEB_IP, 8080, NULL), KT_NP_ADMITTED);
	ck_assert_int_eq(np(idx, false, CLIENT_IP, DB_IP, 5005, &pol), KT_NP_DENIED);
	ck_assert_str_eq(pol, "client-out");
	ck_assert_int_eq(np(idx, false, WEB_IP, DB_IP, 5005, NULL), KT_NP_OPEN);
	/* namespaceSelector and podSelector together; a port range */
	ck_assert_int_eq(np(idx, true, BACKUP_IP, DB_IP, 5005, NULL), KT_NP_ADMITTED);
	ck_assert_int_eq(np(idx, true, BACKUP_IP, DB_IP, 5010, NULL), KT_NP_ADMITTED);
	ck_assert_int_eq(np(idx, true, BACKUP_IP, DB_IP, 5011, NULL), KT_NP_DENIED);
	ck_assert_int_eq(np(idx, true, DEV_IP, DB_IP, 5005, NULL), KT_NP_DENIED);
	ck_assert_int_eq(np(idx, true, CLIENT_IP, DB_IP, 5005, NULL), KT_NP_DENIED);
	/* the name label every Namespace has, with no Namespace object for d */
	ck_assert_int_eq(np(idx, false, BACKUP_IP, DB_IP, 5005, NULL), KT_NP_ADMITTED);
	ck_assert_int_eq(np(idx, false, BACKUP_IP, "198.18.9.1", 80, NULL), KT_NP_DENIED);
	/* ipBlock with an exception; a source that is no pod */
	ck_assert_int_eq(np(idx, true, "198.18.9.10", API_IP, 443, NULL), KT_NP_ADMITTED);
	ck_assert_int_eq(np(idx, true, "198.18.9.200", API_IP, 443, NULL), KT_NP_DENIED);
	ck_assert_int_eq(np(idx, true, "198.18.8.1", API_IP, 443, NULL), KT_NP_DENIED);
	ck_assert_int_eq(np(idx, true, CLIENT_IP, API_IP, 443, NULL), KT_NP_DENIED);
	/* selected by nothing */
	ck_assert_int_eq(np(idx, true, CLIENT_IP, FREE_IP, 80, NULL), KT_NP_OPEN);
	/* before the policies existed */
	{
		struct kt_np_result r;
		const struct kt_k8s_object *s = kt_k8s_pod_by_ip_str(idx, CLIENT_IP, (T0 + 30) * SEC);
		const struct kt_k8s_object *d = kt_k8s_pod_by_ip_str(idx, WEB_IP, (T0 + 30) * SEC);

		ck_assert_int_eq(kt_k8s_netpol_check(idx, true, s, CLIENT_IP, d, WEB_IP, NULL, 9090,
						     (T0 + 5) * SEC, &r), 0);
		ck_assert_int_eq(r.v, KT_NP_OPEN);
	}
	kt_k8s_index_free(idx);
}
END_TEST

START_TEST(owner_chains_hpa_events)
{
	static const char dump[] =
		"{\"kind\":\"CronJob\",\"apiVersion\":\"batch/v1\",\"metadata\":{\"name\":\"nightly\","
		"\"namespace\":\"d\",\"uid\":\"cj\"},\"spec\":{\"schedule\":\"0 3 * * *\"}}"
		"{\"kind\":\"Job\",\"apiVersion\":\"batch/v1\",\"metadata\":{\"name\":\"nightly-1\","
		"\"namespace\":\"d\",\"uid\":\"job\",\"ownerReferences\":[{\"kind\":\"CronJob\","
		"\"name\":\"nightly\",\"uid\":\"cj\",\"controller\":true}]},\"status\":{\"active\":1}}"
		POD("nightly-1-x", "d", "p1", "1", "2026-01-01T00:00:00Z", "198.18.1.1", "Running",
		    "n1", ",\"ownerReferences\":[{\"kind\":\"Job\",\"name\":\"nightly-1\","
		    "\"uid\":\"job\",\"controller\":true}]")
		"{\"kind\":\"StatefulSet\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":\"db\","
		"\"namespace\":\"d\",\"uid\":\"sts\"},\"spec\":{\"replicas\":3}}"
		POD("db-0", "d", "p2", "1", "2026-01-01T00:00:00Z", "198.18.1.2", "Running",
		    "n1", ",\"ownerReferences\":[{\"kind\":\"StatefulSet\",\"name\":\"db\","
		    "\"controller\":true}]")
		"{\"kind\":\"HorizontalPodAutoscaler\",\"apiVersion\":\"autoscaling/v2\",\"metadata\":"
		"{\"name\":\"db\",\"namespace\":\"d\",\"uid\":\"h\"},\"spec\":{\"scaleTargetRef\":"
		"{\"kind\":\"StatefulSet\",\"name\":\"db\"},\"minReplicas\":2,\"maxReplicas\":6,"
		"\"metrics\":[{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\",\"target\":"
		"{\"type\":\"Utilization\",\"averageUtilization\":70}}}]},\"status\":{\"currentReplicas\":3,"
		"\"desiredReplicas\":4,\"currentMetrics\":[{\"type\":\"Resource\",\"resource\":{\"name\":"
		"\"cpu\",\"current\":{\"averageUtilization\":95}}}]}}"
		"{\"kind\":\"Event\",\"apiVersion\":\"events.k8s.io/v1\",\"metadata\":{\"name\":\"e1\","
		"\"namespace\":\"d\",\"uid\":\"e1\"},\"regarding\":{\"kind\":\"StatefulSet\","
		"\"namespace\":\"d\",\"name\":\"db\"},\"reason\":\"SuccessfulCreate\",\"note\":\"create "
		"Pod db-0\",\"type\":\"Normal\",\"eventTime\":\"2026-01-01T00:00:10.000001Z\"}"
		"{\"kind\":\"Event\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"e2\","
		"\"namespace\":\"d\",\"uid\":\"e2\"},\"involvedObject\":{\"kind\":\"StatefulSet\","
		"\"namespace\":\"d\",\"name\":\"db\"},\"reason\":\"Late\",\"message\":\"m\","
		"\"lastTimestamp\":\"2026-01-01T01:00:00Z\"}";
	struct kt_k8s_index *idx;
	const struct kt_k8s_object *p, *w, *h;
	char reasons[128] = "";

	ck_assert_int_eq(kt_k8s_index_new(&idx), 0);
	ck_assert_int_eq(load_str(idx, dump, "mixed", (T0 + 20) * SEC), 0);
	ck_assert_int_eq(kt_k8s_index_finish(idx), 0);
	p = pod_ip(idx, "198.18.1.1", (T0 + 30) * SEC);
	w = kt_k8s_workload(idx, p, (T0 + 30) * SEC, NULL);
	ck_assert_int_eq(w->kind, KT_K8S_CRONJOB);
	ck_assert_str_eq(w->u.wl.schedule, "0 3 * * *");
	ck_assert_int_eq(kt_k8s_owner(idx, p, (T0 + 30) * SEC)->u.wl.active, 1);
	/* An owner named without uid is found by name. */
	p = pod_ip(idx, "198.18.1.2", (T0 + 30) * SEC);
	w = kt_k8s_workload(idx, p, (T0 + 30) * SEC, NULL);
	ck_assert_int_eq(w->kind, KT_K8S_STATEFULSET);
	h = kt_k8s_hpa_for(idx, w, (T0 + 30) * SEC);
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(h->u.hpa.target_cpu, 70);
	ck_assert_int_eq(h->u.hpa.current_cpu, 95);
	ck_assert_int_eq(h->u.hpa.desired_replicas, 4);
	/* Events by object, in a window: the second is an hour later. */
	ck_assert_int_eq(kt_k8s_events_for(idx, KT_K8S_STATEFULSET, "d", "db", T0 * SEC,
					   (T0 + 60) * SEC, name_cb, reasons), 0);
	ck_assert_str_eq(reasons, "SuccessfulCreate ");
	reasons[0] = 0;
	ck_assert_int_eq(kt_k8s_events_for(idx, KT_K8S_STATEFULSET, "d", "db", 0, UINT64_MAX,
					   name_cb, reasons), 0);
	ck_assert_str_eq(reasons, "SuccessfulCreate Late ");
	kt_k8s_index_free(idx);
}
END_TEST

START_TEST(kinds_and_times)
{
	uint64_t t;

	ck_assert_int_eq(kt_k8s_kind_parse("pods"), KT_K8S_POD);
	ck_assert_int_eq(kt_k8s_kind_parse("PodList"), KT_K8S_POD);
	ck_assert_int_eq(kt_k8s_kind_parse("deploy"), KT_K8S_DEPLOYMENT);
	ck_assert_int_eq(kt_k8s_kind_parse("network-policy"), KT_K8S_NETWORKPOLICY);
	ck_assert_int_eq(kt_k8s_kind_parse("hpa"), KT_K8S_HPA);
	ck_assert_int_eq(kt_k8s_kind_parse("HelmChart"), KT_K8S_OTHER);
	ck_assert_int_eq(kt_k8s_time_parse("2026-01-01T00:00:00Z", &t), 0);
	ck_assert_uint_eq(t, T0 * SEC);
	ck_assert_int_eq(kt_k8s_time_parse("2026-01-01T01:00:00.5+01:00", &t), 0);
	ck_assert_uint_eq(t, T0 * SEC + SEC / 2);
	ck_assert_int_eq(kt_k8s_time_parse("2026-01-01", &t), -EINVAL);
}
END_TEST

Suite *kt_k8s_suite(void)
{
	Suite *s = suite_create("k8s");
	TCase *tc = tcase_create("index");

	tcase_add_test(tc, corpus_every_file);
	tcase_add_test(tc, corpus_whole_tree);
	tcase_add_test(tc, k3s_pods_owners);
	tcase_add_test(tc, k3s_services);
	tcase_add_test(tc, k3s_ids_nodes_events);
	tcase_add_test(tc, sonobuoy_kind);
	tcase_add_test(tc, single_objects);
	tcase_add_test(tc, troubleshoot_analyzers);
	tcase_add_test(tc, cluster_info_dump);
	tcase_add_test(tc, cluster_info_dump_directory);
	tcase_add_test(tc, malformed);
	tcase_add_test(tc, reused_ip_with_watch);
	tcase_add_test(tc, reused_ip_snapshots_only);
	tcase_add_test(tc, deployment_scaled_and_policies);
	tcase_add_test(tc, netpol_rules);
	tcase_add_test(tc, uid_shared_by_kinds);
	tcase_add_test(tc, owner_chains_hpa_events);
	tcase_add_test(tc, kinds_and_times);
	suite_add_tcase(s, tc);
	return s;
}
