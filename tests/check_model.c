/* check_model.c - the topology model (analyze/model/) on bundles built here:
 * a spool with Kubernetes snapshots and watch lines in the layout of
 * formats/SPEC-k8s.md, host facts, and proc, conntrack, dns and flow records
 * of connections whose ground truth the test knows. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "error.h"
#include "manifest.h"
#include "map.h"
#include "model_int.h"
#include "model.h"
#include "records.h"
#include "spool.h"

#define SEC 1000000000ull
#define T0 1767225600ull	/* 2026-01-01T00:00:00Z */
#define AT(s) ((T0 + (s)) * SEC)
#define HOST_NETNS 4026531840ull

#define CLIENT "198.18.1.16"
#define WEB_A "198.18.1.12"
#define WEB_B "198.18.1.13"
#define REUSED "198.18.1.30"
#define VIP "198.19.0.20"
#define EXT "198.19.200.10"
#define UID_CLIENT "11111111-1111-4111-8111-111111111111"
#define UID_A "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define UID_B "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"

struct fx {
	char dir[64];
	struct kt_spool *sp;
	uint16_t next_sock;
};

static void ip(uint8_t out[16], const char *s)
{
	ck_assert_int_eq(kt_ip_parse(out, s), 0);
}

static void fx_open(struct fx *f)
{
	json_t *m = kt_manifest_new("check_model");

	snprintf(f->dir, sizeof(f->dir), "/tmp/kt-check-model-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	rmdir(f->dir);
	ck_assert_int_eq(kt_spool_create(&f->sp, f->dir, NULL), 0);
	json_object_set_new(json_object_get(m, "host"), "node_name", json_string("n1"));
	kt_manifest_set_window(m, AT(0), AT(300));
	ck_assert_int_eq(kt_spool_save_manifest(f->sp, m), 0);
	json_decref(m);
	f->next_sock = 1;
}

static void fx_file(struct fx *f, const char *rel, json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT);

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(kt_spool_write_file(f->sp, rel, s, strlen(s)), 0);
	free(s);
	json_decref(doc);
}

static void fx_line(struct fx *f, const char *rel, json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT);
	size_t n;

	ck_assert_ptr_nonnull(s);
	n = strlen(s);
	s = realloc(s, n + 2);
	s[n] = '\n';
	s[n + 1] = '\0';
	ck_assert_int_eq(kt_spool_append_file(f->sp, rel, s, n + 1), 0);
	free(s);
	json_decref(doc);
}

static json_t *snapshot_list(int snap, uint64_t taken, const char *resource, json_t *items)
{
	return json_pack("{s:s, s:s, s:o, s:{s:i, s:s, s:s, s:I, s:I, s:n, s:n}}",
			 "apiVersion", "v1", "kind", "List", "items", items, "ktcap",
			 "snapshot", snap, "reason", "start", "resource", resource,
			 "taken_ns", (json_int_t)taken, "done_ns", (json_int_t)taken,
			 "namespace", "node");
}

static json_t *pod(const char *name, const char *uid, const char *pip, const char *created,
		   const char *owner_kind, const char *owner)
{
	json_t *p = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}, s:{s:s}, s:{s:s, s:s, s:[{s:s}]}}",
			      "apiVersion", "v1", "kind", "Pod", "metadata", "name", name,
			      "namespace", "shop", "uid", uid, "resourceVersion", "1",
			      "creationTimestamp", created, "spec", "nodeName", "n1", "status",
			      "phase", "Running", "podIP", pip, "podIPs", "ip", pip);

	ck_assert_ptr_nonnull(p);
	if (owner)
		json_object_set_new(json_object_get(p, "metadata"), "ownerReferences",
				    json_pack("[{s:s, s:s, s:s, s:s, s:b}]", "apiVersion", "apps/v1",
					      "kind", owner_kind, "name", owner, "uid", owner,
					      "controller", 1));
	return p;
}

/* The cluster: a Deployment web (ReplicaSet web-6b8d9f7c4, pods web-a and
 * web-b) behind Service web, a pod client, and a pod IP that old-db holds
 * until +100 s and new-cache from +110 s. */
static void fx_k8s(struct fx *f)
{
	const char *created = "2025-12-31T23:00:00Z";
	json_t *rs, *dep, *svc, *node;

	fx_file(f, "k8s/snapshots/000001/pods/shop.json", snapshot_list(1, AT(1), "pods",
		json_pack("[o, o, o, o]",
			  pod("client", UID_CLIENT, CLIENT, created, NULL, NULL),
			  pod("web-a", UID_A, WEB_A, created, "ReplicaSet", "web-6b8d9f7c4"),
			  pod("web-b", UID_B, WEB_B, created, "ReplicaSet", "web-6b8d9f7c4"),
			  pod("old-db", "0ddd0ddd-0ddd-4ddd-8ddd-0ddd0ddd0ddd", REUSED, created,
			      NULL, NULL))));
	rs = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:b}]}}",
		       "apiVersion", "apps/v1", "kind", "ReplicaSet", "metadata", "name",
		       "web-6b8d9f7c4", "namespace", "shop", "uid", "web-6b8d9f7c4",
		       "creationTimestamp", created, "ownerReferences", "kind", "Deployment",
		       "name", "web", "uid", "web", "controller", 1);
	fx_file(f, "k8s/snapshots/000001/replicasets/shop.json",
		snapshot_list(1, AT(1), "replicasets", json_pack("[o]", rs)));
	dep = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "apiVersion", "apps/v1",
			"kind", "Deployment", "metadata", "name", "web", "namespace", "shop",
			"uid", "web", "creationTimestamp", created);
	fx_file(f, "k8s/snapshots/000001/deployments/shop.json",
		snapshot_list(1, AT(1), "deployments", json_pack("[o]", dep)));
	svc = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:[s], s:[{s:s, s:i, s:i}], s:{s:s}}}",
			"apiVersion", "v1", "kind", "Service", "metadata", "name", "web",
			"namespace", "shop", "uid", "svc-web", "creationTimestamp", created,
			"spec", "type", "ClusterIP", "clusterIP", VIP, "clusterIPs", VIP, "ports",
			"protocol", "TCP", "port", 80, "targetPort", 80, "selector", "app", "web");
	fx_file(f, "k8s/snapshots/000001/services/shop.json",
		snapshot_list(1, AT(1), "services", json_pack("[o]", svc)));
	node = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:[{s:s, s:s}]}}", "apiVersion", "v1",
			 "kind", "Node", "metadata", "name", "n1", "uid", "n1", "status",
			 "addresses", "type", "InternalIP", "address", "198.18.0.1");
	fx_file(f, "k8s/snapshots/000001/nodes.json",
		snapshot_list(1, AT(1), "nodes", json_pack("[o]", node)));
	/* old-db goes at +100 s; new-cache takes its IP at +110 s */
	fx_line(f, "k8s/watch/pods.jsonl", json_pack("{s:I, s:s, s:o}", "ts_ns", (json_int_t)AT(100),
		"type", "DELETED", "object", pod("old-db", "0ddd0ddd-0ddd-4ddd-8ddd-0ddd0ddd0ddd",
						 REUSED, created, NULL, NULL)));
	fx_line(f, "k8s/watch/pods.jsonl", json_pack("{s:I, s:s, s:o}", "ts_ns", (json_int_t)AT(110),
		"type", "ADDED", "object", pod("new-cache", "cccccccc-cccc-4ccc-8ccc-cccccccccccc",
					       REUSED, "2026-01-01T00:01:48Z", NULL, NULL)));
}

static void fx_host(struct fx *f)
{
	fx_file(f, "host/start/netns.json", json_pack("{s:I, s:[{s:I, s:[{s:s, s:[{s:s, s:i}]}]}]}",
		"own_netns", (json_int_t)HOST_NETNS, "namespaces", "netns", (json_int_t)HOST_NETNS,
		"links", "name", "eth0", "addresses", "address", "198.18.0.1", "scope", 0));
}

static void proc(struct fx *f, uint32_t pid, uint64_t cg, uint64_t netns, const char *comm,
		 const char *uid, const char *path)
{
	struct kt_proc p = { .ts = AT(0), .kind = KT_PROC_SNAPSHOT, .pid = pid, .ppid = 1,
			     .cgroup_id = cg, .netns = netns };

	p.comm = (struct kt_str){ comm, (uint32_t)strlen(comm) };
	p.path = (struct kt_str){ path, (uint32_t)strlen(path) };
	if (uid)
		p.pod_uid = (struct kt_str){ uid, (uint32_t)strlen(uid) };
	ck_assert_int_eq(kt_spool_append(f->sp, &kt_proc_schema, &p), 0);
}

static void fx_procs(struct fx *f)
{
	proc(f, 1, 1, HOST_NETNS, "systemd", NULL, "/init.scope");
	proc(f, 900, 400, HOST_NETNS, "kubelet", NULL, "/system.slice/kubelet.service");
	proc(f, 1000, 100, 5001, "client", UID_CLIENT, "/kubepods.slice/pod-client");
	proc(f, 2000, 200, 5002, "nginx", UID_A, "/kubepods.slice/pod-a");
	proc(f, 3000, 300, 5003, "nginx", UID_B, "/kubepods.slice/pod-b");
}

/* One socket's event. */
static void ev(struct fx *f, uint8_t kind, uint8_t role, uint64_t ts, const char *sa,
	       uint16_t sp, const char *da, uint16_t dp, uint64_t cg, uint64_t netns,
	       uint8_t cause, uint64_t sent, uint64_t recv)
{
	struct kt_flow fl = { .ts = ts, .kind = kind, .proto = IPPROTO_TCP, .role = role,
			      .cause = cause, .sport = sp, .dport = dp, .cgroup_id = cg,
			      .netns = netns, .bytes_sent = sent, .bytes_recv = recv,
			      .sock_id = f->next_sock, .latency_ns = 150000 };

	ip(fl.saddr, sa);
	ip(fl.daddr, da);
	if (cg == 400) {
		fl.pid = 900;
		fl.comm = (struct kt_str){ "kubelet", 7 };
	}
	ck_assert_int_eq(kt_spool_append(f->sp, &kt_flow_schema, &fl), 0);
}

/* A whole connection as the client sees it, and as the server does when
 * server_cg is not 0. */
static void conn(struct fx *f, uint64_t ts, const char *dst, uint16_t sport, uint16_t dport,
		 const char *server_ip, uint64_t server_cg)
{
	ev(f, KT_FLOW_OPEN, KT_ROLE_CLIENT, ts, CLIENT, sport, dst, dport, 100, 5001, 0, 0, 0);
	if (server_cg)
		ev(f, KT_FLOW_OPEN, KT_ROLE_SERVER, ts + 1000, server_ip, 80, CLIENT, sport,
		   server_cg, 5000 + server_cg / 100, 0, 0, 0);
	ev(f, KT_FLOW_CLOSE, KT_ROLE_CLIENT, ts + 500000, CLIENT, sport, dst, dport, 100, 5001,
	   0, 100, 1000);
	if (server_cg)
		ev(f, KT_FLOW_CLOSE, KT_ROLE_SERVER, ts + 501000, server_ip, 80, CLIENT, sport,
		   server_cg, 5000 + server_cg / 100, 0, 1000, 100);
	f->next_sock++;
}

static void ct(struct fx *f, uint64_t ts, uint16_t sport, const char *backend)
{
	struct kt_conntrack c = { .ts = ts, .kind = KT_CT_NEW, .proto = IPPROTO_TCP,
				  .orig_sport = sport, .orig_dport = 80, .reply_sport = 80,
				  .reply_dport = sport };

	ip(c.orig_src, CLIENT);
	ip(c.orig_dst, VIP);
	ip(c.reply_src, backend);
	ip(c.reply_dst, CLIENT);
	ck_assert_int_eq(kt_spool_append(f->sp, &kt_conntrack_schema, &c), 0);
}

static void dns(struct fx *f, uint64_t ts, const char *name, const char *answers)
{
	struct kt_dns d = { .ts = ts, .proto = IPPROTO_UDP, .client_port = 40000,
			    .server_port = 53, .qtype = 1, .rcode = 0 };

	ip(d.client, CLIENT);
	ip(d.server, "198.19.0.10");
	d.qname = (struct kt_str){ name, (uint32_t)strlen(name) };
	d.answers = (struct kt_str){ answers, (uint32_t)strlen(answers) };
	ck_assert_int_eq(kt_spool_append(f->sp, &kt_dns_schema, &d), 0);
}

/* The standard scenario: 14 connections, 11 edges at pod level. */
static void fx_traffic(struct fx *f)
{
	ct(f, AT(20), 41000, WEB_B);
	dns(f, AT(5), "api.partner.example", "A " EXT " 30");
	/* three to web-a's pod IP, both halves seen */
	conn(f, AT(10), WEB_A, 40001, 80, WEB_A, 200);
	conn(f, AT(11), WEB_A, 40002, 80, WEB_A, 200);
	conn(f, AT(12), WEB_A, 40003, 80, WEB_A, 200);
	/* one to web-b's pod IP, client half only */
	conn(f, AT(13), WEB_B, 40004, 80, NULL, 0);
	/* through the ClusterIP: conntrack names web-b; the server half names web-a */
	conn(f, AT(20), VIP, 41000, 80, NULL, 0);
	conn(f, AT(21), VIP, 41001, 80, WEB_A, 200);
	/* failures against web-b */
	ev(f, KT_FLOW_FAIL, KT_ROLE_CLIENT, AT(30), CLIENT, 42000, WEB_B, 9002, 100, 5001,
	   KT_CAUSE_REFUSED, 0, 0);
	ev(f, KT_FLOW_FAIL, KT_ROLE_CLIENT, AT(31), CLIENT, 42001, WEB_B, 9001, 100, 5001,
	   KT_CAUSE_TIMEOUT, 0, 0);
	ev(f, KT_FLOW_FAIL, KT_ROLE_CLIENT, AT(32), CLIENT, 42002, WEB_B, 9003, 100, 5001,
	   KT_CAUSE_UNREACHABLE, 0, 0);
	ev(f, KT_FLOW_OPEN, KT_ROLE_CLIENT, AT(33), CLIENT, 42003, WEB_B, 9000, 100, 5001, 0, 0, 0);
	ev(f, KT_FLOW_CLOSE, KT_ROLE_CLIENT, AT(33) + 1000000, CLIENT, 42003, WEB_B, 9000, 100,
	   5001, KT_CAUSE_RESET, 7, 0);
	/* the external named by DNS */
	conn(f, AT(40), EXT, 43000, 443, NULL, 0);
	/* the reused pod IP: old-db at +50 s, new-cache at +150 s */
	conn(f, AT(50), REUSED, 44000, 6379, NULL, 0);
	conn(f, AT(150), REUSED, 44001, 6379, NULL, 0);
	/* a host process (kubelet probing the client pod) */
	ev(f, KT_FLOW_OPEN, KT_ROLE_CLIENT, AT(160), "198.18.0.1", 45000, CLIENT, 8080, 400,
	   HOST_NETNS, 0, 0, 0);
	ev(f, KT_FLOW_CLOSE, KT_ROLE_CLIENT, AT(160) + 100000, "198.18.0.1", 45000, CLIENT, 8080,
	   400, HOST_NETNS, 0, 10, 20);
}

static void fx_close(struct fx *f)
{
	ck_assert_int_eq(kt_spool_close(f->sp), 0);
	f->sp = NULL;
}

static void fx_rm(struct fx *f)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	ck_assert_int_eq(system(cmd), 0);
}

static const char *view_ns;	/* -n for the next topo() */

static json_t *topo(struct fx *f, const struct kt_model_opts *mo, enum kt_level level,
		    struct kt_model_stats *st)
{
	struct kt_bundle *b = NULL;
	struct kt_model *m = NULL;
	struct kt_view_opts vo = { .level = level, .ns = view_ns };
	json_t *out = NULL;
	int err;

	ck_assert_int_eq(kt_bundle_open(&b, f->dir), 0);
	ck_assert_int_eq(kt_model_new(&m, mo), 0);
	err = kt_model_feed_bundle(m, b);
	ck_assert_msg(err == 0, "feed: %s", kt_err_msg(err));
	ck_assert_int_eq(kt_model_view(m, &vo, &out), 0);
	if (st)
		kt_model_stats(m, st);
	kt_model_free(m);
	kt_bundle_close(b);
	return out;
}

static json_t *edge(json_t *t, const char *src, const char *dst, int port)
{
	json_t *e, *found = NULL;
	size_t i;

	json_array_foreach(json_object_get(t, "edges"), i, e) {
		if (!strcmp(json_string_value(json_object_get(e, "src")), src) &&
		    !strcmp(json_string_value(json_object_get(e, "dst")), dst) &&
		    json_integer_value(json_object_get(e, "port")) == port) {
			ck_assert_msg(!found, "edge %s -> %s:%d twice", src, dst, port);
			found = e;
		}
	}
	ck_assert_msg(found != NULL, "no edge %s -> %s:%d", src, dst, port);
	return found;
}

static json_t *node(json_t *t, const char *id)
{
	json_t *n;
	size_t i;

	json_array_foreach(json_object_get(t, "nodes"), i, n)
		if (!strcmp(json_string_value(json_object_get(n, "id")), id))
			return n;
	return NULL;
}

static json_int_t num(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	ck_assert_msg(json_is_integer(v), "no integer '%s'", k);
	return json_integer_value(v);
}

static json_int_t failed(json_t *e, const char *cause)
{
	return json_integer_value(json_object_get(json_object_get(e, "failed"), cause));
}

static void build_std(struct fx *f)
{
	fx_open(f);
	fx_k8s(f);
	fx_host(f);
	fx_procs(f);
	fx_traffic(f);
	fx_close(f);
}

#define C "pod:shop/client"

START_TEST(pod_level_edges)
{
	struct fx f;
	struct kt_model_stats st;
	json_t *t, *e;

	build_std(&f);
	t = topo(&f, NULL, KT_LEVEL_POD, &st);
	ck_assert_int_eq(json_array_size(json_object_get(t, "edges")), 11);
	ck_assert_int_eq(st.connections, 14);
	/* both halves of the three to web-a, and of one through the VIP */
	ck_assert_int_eq(st.stitched, 4);

	e = edge(t, C, "pod:shop/web-a", 80);
	ck_assert_int_eq(num(e, "connections"), 3);
	ck_assert_int_eq(num(e, "established"), 3);
	ck_assert_int_eq(num(e, "bytes_sent"), 300);
	ck_assert_int_eq(num(e, "bytes_received"), 3000);
	ck_assert_int_eq(json_object_size(json_object_get(e, "failed")), 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "protocol")), "tcp");
	ck_assert_int_eq(num(e, "first_seen_ns") , (json_int_t)(AT(10) - 150000));
	ck_assert_int_eq(num(e, "connections"), 3);
	ck_assert_int_eq(num(edge(t, C, "pod:shop/web-b", 80), "connections"), 1);

	/* failures, each with its cause */
	e = edge(t, C, "pod:shop/web-b", 9002);
	ck_assert_int_eq(num(e, "connections"), 1);
	ck_assert_int_eq(failed(e, "refused"), 1);
	ck_assert_int_eq(num(e, "established"), 0);
	ck_assert_int_eq(failed(edge(t, C, "pod:shop/web-b", 9001), "timeout"), 1);
	ck_assert_int_eq(failed(edge(t, C, "pod:shop/web-b", 9003), "unreachable"), 1);
	e = edge(t, C, "pod:shop/web-b", 9000);
	ck_assert_int_eq(failed(e, "reset"), 1);
	ck_assert_int_eq(num(e, "established"), 1);
	ck_assert_int_eq(json_object_size(json_object_get(e, "failed")), 1);

	/* the node kinds */
	ck_assert_str_eq(json_string_value(json_object_get(node(t, C), "kind")), "pod");
	ck_assert_str_eq(json_string_value(json_object_get(node(t, C), "namespace")), "shop");
	ck_assert_str_eq(json_string_value(json_object_get(node(t, "pod:shop/web-a"), "workload")),
			 "workload:shop/Deployment/web");
	json_decref(t);
	fx_rm(&f);
}
END_TEST

START_TEST(service_backends)
{
	struct fx f;
	json_t *t, *e, *b;
	size_t i;
	int seen_a = 0, seen_b = 0;

	build_std(&f);
	t = topo(&f, NULL, KT_LEVEL_POD, NULL);
	e = edge(t, C, "service:shop/web", 80);
	ck_assert_int_eq(num(e, "connections"), 2);
	ck_assert_str_eq(json_string_value(json_object_get(e, "via_service")), "service:shop/web");
	ck_assert_int_eq(num(e, "unknown_backend"), 0);
	ck_assert_int_eq(json_array_size(json_object_get(e, "backends")), 2);
	json_array_foreach(json_object_get(e, "backends"), i, b) {
		const char *id = json_string_value(json_object_get(b, "id"));

		ck_assert_int_eq(num(b, "connections"), 1);
		ck_assert_int_eq(num(b, "port"), 80);
		/* web-b through conntrack, web-a through its own server half */
		if (!strcmp(id, "pod:shop/web-b"))
			seen_b++;
		else if (!strcmp(id, "pod:shop/web-a"))
			seen_a++;
	}
	ck_assert_int_eq(seen_a, 1);
	ck_assert_int_eq(seen_b, 1);
	ck_assert_str_eq(json_string_value(json_object_get(node(t, "service:shop/web"), "kind")),
			 "service");
	json_decref(t);
	fx_rm(&f);
}
END_TEST

START_TEST(reused_ip_per_time)
{
	struct fx f;
	struct kt_model_opts mo = { .since = AT(100) };
	json_t *t;

	build_std(&f);
	t = topo(&f, NULL, KT_LEVEL_POD, NULL);
	ck_assert_int_eq(num(edge(t, C, "pod:shop/old-db", 6379), "connections"), 1);
	ck_assert_int_eq(num(edge(t, C, "pod:shop/new-cache", 6379), "connections"), 1);
	json_decref(t);
	/* --since: only what started from +100 s */
	t = topo(&f, &mo, KT_LEVEL_POD, NULL);
	ck_assert_ptr_null(node(t, "pod:shop/old-db"));
	ck_assert_int_eq(num(edge(t, C, "pod:shop/new-cache", 6379), "connections"), 1);
	ck_assert_int_eq(json_array_size(json_object_get(t, "edges")), 2);
	json_decref(t);
	/* --at: only what was alive then (new-cache's lasts 500 us) */
	mo.since = 0;
	mo.at = AT(150) + 1000;
	t = topo(&f, &mo, KT_LEVEL_POD, NULL);
	ck_assert_int_eq(json_array_size(json_object_get(t, "edges")), 1);
	ck_assert_int_eq(num(edge(t, C, "pod:shop/new-cache", 6379), "connections"), 1);
	json_decref(t);
	mo.at = AT(150) + 600000;
	t = topo(&f, &mo, KT_LEVEL_POD, NULL);
	ck_assert_int_eq(json_array_size(json_object_get(t, "edges")), 0);
	json_decref(t);
	fx_rm(&f);
}
END_TEST

START_TEST(external_and_host_process)
{
	struct fx f;
	json_t *t, *e, *n;

	build_std(&f);
	t = topo(&f, NULL, KT_LEVEL_POD, NULL);
	e = edge(t, C, "external:" EXT, 443);
	ck_assert_int_eq(num(e, "connections"), 1);
	n = node(t, "external:" EXT);
	ck_assert_str_eq(json_string_value(json_object_get(n, "kind")), "external");
	ck_assert_str_eq(json_string_value(json_object_get(n, "name")), "api.partner.example");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(n, "dns_names"), 0)),
			 "api.partner.example");
	e = edge(t, "process:n1/kubelet", C, 8080);
	ck_assert_int_eq(num(e, "connections"), 1);
	ck_assert_int_eq(num(e, "bytes_sent"), 10);
	n = node(t, "process:n1/kubelet");
	ck_assert_str_eq(json_string_value(json_object_get(n, "kind")), "host-process");
	ck_assert_str_eq(json_string_value(json_object_get(n, "node")), "node:n1");
	json_decref(t);
	fx_rm(&f);
}
END_TEST

START_TEST(workload_folding)
{
	struct fx f;
	json_t *t, *e, *b;

	build_std(&f);
	t = topo(&f, NULL, KT_LEVEL_WORKLOAD, NULL);
	ck_assert_ptr_null(node(t, "pod:shop/web-a"));
	ck_assert_ptr_null(node(t, "pod:shop/web-b"));
	ck_assert_str_eq(json_string_value(json_object_get(node(t, "workload:shop/Deployment/web"),
							   "kind")), "workload");
	/* web-a's three and web-b's one fold into one edge */
	e = edge(t, C, "workload:shop/Deployment/web", 80);
	ck_assert_int_eq(num(e, "connections"), 4);
	ck_assert_int_eq(num(e, "bytes_sent"), 400);
	/* the two backends of the service fold too */
	e = edge(t, C, "service:shop/web", 80);
	ck_assert_int_eq(json_array_size(json_object_get(e, "backends")), 1);
	b = json_array_get(json_object_get(e, "backends"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(b, "id")), "workload:shop/Deployment/web");
	ck_assert_int_eq(num(b, "connections"), 2);
	ck_assert_int_eq(json_array_size(json_object_get(t, "edges")), 10);
	json_decref(t);
	/* namespace level: everything of shop is one node */
	t = topo(&f, NULL, KT_LEVEL_NAMESPACE, NULL);
	e = edge(t, "namespace:shop", "namespace:shop", 80);
	ck_assert_int_eq(num(e, "connections"), 6);
	json_decref(t);
	/* -n: edges with an end in the namespace */
	view_ns = "kube-system";
	t = topo(&f, NULL, KT_LEVEL_POD, NULL);
	ck_assert_int_eq(json_array_size(json_object_get(t, "edges")), 0);
	ck_assert_int_eq(json_array_size(json_object_get(t, "nodes")), 0);
	json_decref(t);
	view_ns = "shop";
	t = topo(&f, NULL, KT_LEVEL_POD, NULL);
	ck_assert_int_eq(json_array_size(json_object_get(t, "edges")), 11);
	json_decref(t);
	view_ns = NULL;
	fx_rm(&f);
}
END_TEST

START_TEST(windows)
{
	struct fx f;
	struct kt_model_opts mo = { .window_ns = 60 * SEC };
	json_t *t, *w;

	build_std(&f);
	t = topo(&f, &mo, KT_LEVEL_WORKLOAD, NULL);
	/* old-db at +50 s and new-cache at +150 s: two pods, one window each */
	w = json_object_get(edge(t, C, "pod:shop/new-cache", 6379), "windows");
	ck_assert_int_eq(json_array_size(w), 1);
	ck_assert_int_eq(num(json_array_get(w, 0), "start_ns"), (json_int_t)AT(120));
	ck_assert_int_eq(num(json_array_get(w, 0), "connections"), 1);
	json_decref(t);
	fx_rm(&f);
}
END_TEST

/* Without Kubernetes objects: pods by their cgroup's UID, the ClusterIP a
 * service by its DNAT alone, other addresses unattributed with the reason. */
START_TEST(no_k8s)
{
	struct fx f;
	json_t *t, *e, *n;

	fx_open(&f);
	fx_host(&f);
	fx_procs(&f);
	fx_traffic(&f);
	fx_close(&f);
	t = topo(&f, NULL, KT_LEVEL_POD, NULL);
	e = edge(t, "pod:uid/" UID_CLIENT, "pod:uid/" UID_A, 80);
	ck_assert_int_eq(num(e, "connections"), 3);
	n = node(t, "pod:uid/" UID_A);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(n, "reason")),
				     "no Kubernetes objects"));
	e = edge(t, "pod:uid/" UID_CLIENT, "service:" VIP ":80", 80);
	ck_assert_int_eq(num(e, "connections"), 2);
	ck_assert_int_eq(json_array_size(json_object_get(e, "backends")), 2);
	n = node(t, "unattributed:" WEB_B);
	ck_assert_ptr_nonnull(n);
	ck_assert_ptr_nonnull(json_object_get(n, "reason"));
	ck_assert_int_eq(failed(edge(t, "pod:uid/" UID_CLIENT, "unattributed:" WEB_B, 9002),
				"refused"), 1);
	/* DNS still names the external */
	ck_assert_str_eq(json_string_value(json_object_get(node(t, "external:" EXT), "name")),
			 "api.partner.example");
	json_decref(t);
	fx_rm(&f);
}
END_TEST

static void wire(struct fx *f, uint64_t ts, uint16_t sport, const char *dst, uint8_t outcome)
{
	struct kt_conn c = { .ts = ts, .duration_ns = 2000000, .proto = IPPROTO_TCP,
			     .outcome = outcome, .sport = sport, .dport = 80,
			     .packets_fwd = 5, .packets_rev = 5, .bytes_fwd = 400, .bytes_rev = 900 };

	ip(c.src, CLIENT);
	ip(c.dst, dst);
	ck_assert_int_eq(kt_spool_append(f->sp, &kt_conn_schema, &c), 0);
}

/* Connections rebuilt from packets (ktana import): one connection captured
 * on the client's interface (before DNAT) and on the server's (after) is
 * one connection through the service, served by the pod the second names. */
START_TEST(wire_two_interfaces)
{
	struct fx f;
	struct kt_model_stats st;
	json_t *t, *e;

	fx_open(&f);
	fx_k8s(&f);
	wire(&f, AT(10), 46000, VIP, KT_CONN_ESTABLISHED);
	wire(&f, AT(10) + 50000, 46000, WEB_A, KT_CONN_ESTABLISHED);
	wire(&f, AT(11), 46001, WEB_B, KT_CONN_REFUSED);
	fx_close(&f);
	t = topo(&f, NULL, KT_LEVEL_POD, &st);
	ck_assert_int_eq(st.connections, 2);
	ck_assert_int_eq(json_array_size(json_object_get(t, "edges")), 2);
	e = edge(t, C, "service:shop/web", 80);
	ck_assert_int_eq(num(e, "connections"), 1);
	ck_assert_int_eq(num(e, "bytes_sent"), 400);
	ck_assert_int_eq(json_array_size(json_object_get(e, "backends")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(e,
			 "backends"), 0), "id")), "pod:shop/web-a");
	ck_assert_int_eq(failed(edge(t, C, "pod:shop/web-b", 80), "refused"), 1);
	json_decref(t);
	fx_rm(&f);
}
END_TEST

/* A server that closes long after its client (CLOSE_WAIT), with other
 * traffic in between: still one connection. */
START_TEST(late_server_close)
{
	struct fx f;
	struct kt_model_stats st;
	json_t *t;

	fx_open(&f);
	fx_procs(&f);
	ev(&f, KT_FLOW_OPEN, KT_ROLE_CLIENT, AT(10), CLIENT, 47000, WEB_A, 80, 100, 5001, 0, 0, 0);
	ev(&f, KT_FLOW_OPEN, KT_ROLE_SERVER, AT(10) + 1000, WEB_A, 80, CLIENT, 47000, 200, 5002,
	   0, 0, 0);
	ev(&f, KT_FLOW_CLOSE, KT_ROLE_CLIENT, AT(11), CLIENT, 47000, WEB_A, 80, 100, 5001, 0,
	   10, 20);
	conn(&f, AT(20), WEB_B, 47001, 80, NULL, 0);
	conn(&f, AT(40), WEB_B, 47002, 80, NULL, 0);
	ev(&f, KT_FLOW_CLOSE, KT_ROLE_SERVER, AT(60), WEB_A, 80, CLIENT, 47000, 200, 5002, 0,
	   20, 10);
	fx_close(&f);
	t = topo(&f, NULL, KT_LEVEL_POD, &st);
	ck_assert_int_eq(st.connections, 3);
	ck_assert_int_eq(st.stitched, 1);
	ck_assert_int_eq(num(edge(t, "pod:uid/" UID_CLIENT, "pod:uid/" UID_A, 80), "connections"), 1);
	ck_assert_int_eq(json_array_size(json_object_get(t, "edges")), 2);
	json_decref(t);
	fx_rm(&f);
}
END_TEST

/* ktcap folds a process's UDP sends to one peer into one event with a
 * count: the edge counts every datagram flow it stands for. */
START_TEST(folded_udp_sends)
{
	struct kt_flow fl = { .ts = AT(10), .kind = KT_FLOW_UDP_SEND, .proto = IPPROTO_UDP,
			      .role = KT_ROLE_CLIENT, .sport = 40000, .dport = 53,
			      .cgroup_id = 100, .netns = 5001, .count = 1, .bytes_sent = 40 };
	struct kt_model_stats st;
	struct fx f;
	json_t *t;

	fx_open(&f);
	fx_k8s(&f);
	fx_host(&f);
	fx_procs(&f);
	ip(fl.saddr, CLIENT);
	ip(fl.daddr, WEB_B);
	ck_assert_int_eq(kt_spool_append(f.sp, &kt_flow_schema, &fl), 0);
	fl.ts = AT(11);
	fl.sport = 40001;
	fl.count = 4;		/* four more queries, folded */
	fl.bytes_sent = 160;
	ck_assert_int_eq(kt_spool_append(f.sp, &kt_flow_schema, &fl), 0);
	fx_close(&f);
	t = topo(&f, NULL, KT_LEVEL_POD, &st);
	ck_assert_int_eq(num(edge(t, C, "pod:shop/web-b", 53), "connections"), 5);
	ck_assert_int_eq(num(edge(t, C, "pod:shop/web-b", 53), "bytes_sent"), 200);
	ck_assert_int_eq(st.connections, 5);
	json_decref(t);
	fx_rm(&f);
}
END_TEST

static void cgroup(struct fx *f, uint64_t cg, const char *uid, const char *cid)
{
	struct kt_proc p = { .ts = AT(0), .kind = KT_PROC_CGROUP, .cgroup_id = cg };
	char path[200];

	snprintf(path, sizeof(path), "/kubepods.slice/pod-a/cri-containerd-%s.scope", cid);
	p.path = (struct kt_str){ path, (uint32_t)strlen(path) };
	p.pod_uid = (struct kt_str){ uid, (uint32_t)strlen(uid) };
	p.container_id = (struct kt_str){ cid, (uint32_t)strlen(cid) };
	ck_assert_int_eq(kt_spool_append(f->sp, &kt_proc_schema, &p), 0);
}

static json_t *with_container(json_t *pod, const char *name, const char *cid, int restarts)
{
	char id[100];

	/* a new version of the object: the API server's next resourceVersion */
	json_object_set_new(json_object_get(pod, "metadata"), "resourceVersion",
			    json_sprintf("%d", 1 + restarts));
	snprintf(id, sizeof(id), "containerd://%s", cid);
	json_object_set_new(json_object_get(pod, "spec"), "containers",
			    json_pack("[{s:s, s:s}]", "name", name, "image", "nginx"));
	json_object_set_new(json_object_get(pod, "status"), "containerStatuses",
			    json_pack("[{s:s, s:s, s:i, s:b}]", "name", name, "containerID", id,
				      "restartCount", restarts, "ready", 1));
	return pod;
}

/* web-a's container restarts at +100 s: a new container ID under the same
 * name, in the pod's status from then on. Both IDs served; both are listed. */
START_TEST(container_restart)
{
	static const char cid1[] = "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1";
	static const char cid2[] = "c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2";
	const char *created = "2025-12-31T23:00:00Z";
	struct fx f;
	json_t *t, *cs;

	fx_open(&f);
	fx_file(&f, "k8s/snapshots/000001/pods/shop.json", snapshot_list(1, AT(1), "pods",
		json_pack("[o, o]", pod("client", UID_CLIENT, CLIENT, created, NULL, NULL),
			  with_container(pod("web-a", UID_A, WEB_A, created, NULL, NULL), "nginx",
					 cid1, 0))));
	fx_line(&f, "k8s/watch/pods.jsonl", json_pack("{s:I, s:s, s:o}", "ts_ns", (json_int_t)AT(100),
		"type", "MODIFIED", "object",
		with_container(pod("web-a", UID_A, WEB_A, created, NULL, NULL), "nginx", cid2, 1)));
	fx_host(&f);
	fx_procs(&f);
	cgroup(&f, 200, UID_A, cid1);
	cgroup(&f, 210, UID_A, cid2);
	conn(&f, AT(50), WEB_A, 40001, 80, WEB_A, 200);
	conn(&f, AT(150), WEB_A, 40002, 80, WEB_A, 210);
	fx_close(&f);
	t = topo(&f, NULL, KT_LEVEL_POD, NULL);
	ck_assert_int_eq(num(edge(t, C, "pod:shop/web-a", 80), "connections"), 2);
	cs = json_object_get(node(t, "pod:shop/web-a"), "containers");
	ck_assert_int_eq(json_array_size(cs), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(cs, 0), "name")), "nginx");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(cs, 0), "container_id")), cid1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(cs, 1), "name")), "nginx");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(cs, 1), "container_id")), cid2);
	json_decref(t);
	fx_rm(&f);
}
END_TEST

static void reply(struct fx *f, uint16_t port, uint64_t ts)
{
	struct kt_flow fl = { .ts = ts, .kind = KT_FLOW_UDP_SEND, .proto = IPPROTO_UDP,
			      .role = KT_ROLE_CLIENT, .sport = 53, .dport = port, .cgroup_id = 300,
			      .netns = 5003, .count = 1, .bytes_sent = 80 };

	ip(fl.saddr, WEB_B);
	ip(fl.daddr, CLIENT);
	ck_assert_int_eq(kt_spool_append(f->sp, &kt_flow_schema, &fl), 0);
}

/* DNS through a ClusterIP: the capture folded the client's two queries
 * into one event under its last port; the server's replies go to both
 * ports. The reply to the folded port is part of the client's flow, not a
 * flow from the server to the client's ephemeral port. */
START_TEST(udp_reply_to_folded_port)
{
	struct kt_flow fl = { .kind = KT_FLOW_UDP_SEND, .proto = IPPROTO_UDP,
			      .role = KT_ROLE_CLIENT, .cgroup_id = 100, .netns = 5001, .count = 1 };
	struct kt_conntrack c = { .kind = KT_CT_NEW, .proto = IPPROTO_UDP, .orig_dport = 53,
				  .reply_sport = 53 };
	struct kt_model_stats st;
	struct fx f;
	json_t *t, *e;
	size_t i;

	fx_open(&f);
	fx_k8s(&f);
	fx_host(&f);
	fx_procs(&f);
	ip(c.orig_src, CLIENT);
	ip(c.orig_dst, "198.19.0.10");
	ip(c.reply_src, WEB_B);
	ip(c.reply_dst, CLIENT);
	for (uint16_t port = 40000; port <= 40001; port++) {
		c.ts = AT(10) + port;
		c.orig_sport = c.reply_dport = port;
		ck_assert_int_eq(kt_spool_append(f.sp, &kt_conntrack_schema, &c), 0);
	}
	/* the first reply, the client's folded sends, the second reply: the
	 * order the ring delivered them in the lab */
	reply(&f, 40000, AT(10));
	ip(fl.saddr, CLIENT);
	ip(fl.daddr, "198.19.0.10");
	fl.ts = AT(10) + 1000;
	fl.sport = 40001;
	fl.dport = 53;
	fl.count = 2;
	fl.bytes_sent = 60;
	ck_assert_int_eq(kt_spool_append(f.sp, &kt_flow_schema, &fl), 0);
	reply(&f, 40001, AT(10) + 2000);
	fx_close(&f);
	t = topo(&f, NULL, KT_LEVEL_POD, &st);
	e = edge(t, C, "service:198.19.0.10:53", 53);
	ck_assert_int_eq(num(e, "connections"), 2);
	ck_assert_int_eq(num(e, "bytes_received"), 80);
	json_array_foreach(json_object_get(t, "edges"), i, e)
		ck_assert_str_eq(json_string_value(json_object_get(e, "src")), C);
	ck_assert_int_eq(st.connections, 2);
	json_decref(t);
	fx_rm(&f);
}
END_TEST

/* A loopback connection whose server side the capture missed is served by
 * the listener of its port in the client's netns: a LISTEN event or the
 * host facts' sockets name it; with neither, it stays unattributed. */
START_TEST(loopback_listener)
{
	struct kt_flow fl = { .ts = AT(1), .kind = KT_FLOW_LISTEN, .proto = IPPROTO_TCP,
			      .role = KT_ROLE_SERVER, .sport = 6443, .cgroup_id = 450,
			      .netns = HOST_NETNS, .pid = 950 };
	struct fx f;
	json_t *t, *n;

	fx_open(&f);
	fx_k8s(&f);
	fx_host(&f);
	fx_file(&f, "host/start/sockets.json", json_pack("{s:[{s:I, s:[{s:s, s:s, s:i, s:i}]}]}",
		"namespaces", "netns", (json_int_t)HOST_NETNS, "sockets", "proto", "tcp",
		"state", "listen", "sport", 8000, "pid", 950));
	fx_procs(&f);
	proc(&f, 950, 450, HOST_NETNS, "apiserver", NULL, "/system.slice/apiserver.service");
	ip(fl.saddr, "127.0.0.1");
	fl.comm = (struct kt_str){ "apiserver", 9 };
	ck_assert_int_eq(kt_spool_append(f.sp, &kt_flow_schema, &fl), 0);
	for (int i = 0; i < 3; i++) {
		static const uint16_t ports[] = { 6443, 8000, 7000 };
		uint16_t sp = (uint16_t)(46000 + i);

		ev(&f, KT_FLOW_OPEN, KT_ROLE_CLIENT, AT(10 + i), "127.0.0.1", sp, "127.0.0.1",
		   ports[i], 400, HOST_NETNS, 0, 0, 0);
		ev(&f, KT_FLOW_CLOSE, KT_ROLE_CLIENT, AT(10 + i) + 1000, "127.0.0.1", sp,
		   "127.0.0.1", ports[i], 400, HOST_NETNS, 0, 5, 5);
		f.next_sock++;
	}
	fx_close(&f);
	t = topo(&f, NULL, KT_LEVEL_POD, NULL);
	/* the LISTEN event */
	ck_assert_int_eq(num(edge(t, "process:n1/kubelet", "process:n1/apiserver", 6443),
			     "connections"), 1);
	/* the host facts (the name from the process snapshot) */
	ck_assert_int_eq(num(edge(t, "process:n1/kubelet", "process:n1/apiserver", 8000),
			     "connections"), 1);
	/* nobody known: not the client itself */
	n = node(t, "unattributed:loopback:4026531840:7000");
	ck_assert_str_eq(json_string_value(json_object_get(n, "kind")), "unattributed");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(n, "reason")), "listener"));
	ck_assert_int_eq(num(edge(t, "process:n1/kubelet", "unattributed:loopback:4026531840:7000",
				  7000), "connections"), 1);
	json_decref(t);
	fx_rm(&f);
}
END_TEST

/* The hash index against a plain array: elements in pairs sharing a hash,
 * at random homes in a table kept near its full load (long probe runs that
 * wrap around its end), linked and unlinked at random, then looked up:
 * every element linked is found exactly once, none unlinked is. */
static uint64_t map_test_hash(uint32_t i)
{
	return kt_hash64(i / 2 + 1);
}

START_TEST(map_against_model)
{
	enum { N = 6000 };
	static bool linked[N];
	struct kt_map map = { 0 };
	uint64_t seed = 12345, key;

	kt_hash_init();
	key = kt_hash_key;
	kt_hash_key = 0x243f6a8885a308d3ull;	/* the same homes in every run */
	for (uint32_t i = 0; i < N; i++) {
		ck_assert_int_eq(kt_map_put(&map, map_test_hash(i), i), 0);
		linked[i] = true;
	}
	for (int round = 0; round < 6; round++) {
		for (uint32_t k = 0; k < N / 2; k++) {
			uint32_t i;

			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			i = (uint32_t)(seed >> 33) % N;
			if (linked[i])
				kt_map_del(&map, map_test_hash(i), i);
			else
				ck_assert_int_eq(kt_map_put(&map, map_test_hash(i), i), 0);
			linked[i] = !linked[i];
		}
		for (uint32_t i = 0; i < N; i += 2) {
			uint64_t h = map_test_hash(i);
			unsigned found[2] = { 0, 0 };

			for (uint32_t j = kt_map_first(&map, h); j != KT_MAP_END; j = kt_map_next(&map, h, j)) {
				if (j / 2 != i / 2)	/* another hash with these 32 bits */
					continue;
				ck_assert(linked[j]);
				found[j % 2]++;
			}
			ck_assert_uint_eq(found[0], linked[i]);
			ck_assert_uint_eq(found[1], linked[i + 1]);
		}
	}
	/* unlinking what is not linked changes nothing */
	{
		uint32_t n = map.n;

		kt_map_del(&map, map_test_hash(N + 10), 7);
		ck_assert_uint_eq(map.n, n);
	}
	kt_map_free(&map);
	kt_hash_key = key;
}
END_TEST

/* The longest run of occupied slots (runs wrap around the end): what a
 * lookup may have to walk. */
static uint32_t map_longest_run(const struct kt_map *m)
{
	uint32_t start = 0, run = 0, best = 0;

	while (start < m->cap && m->slots[start])	/* load <= 1/2: one is empty */
		start++;
	for (uint32_t k = 1; k <= m->cap; k++) {
		run = m->slots[(start + k) & (m->cap - 1)] ? run + 1 : 0;
		best = run > best ? run : best;
	}
	return best;
}

/* Hash flooding: addresses made to share one hash under a key someone
 * knew (as a bundle built against a fixed hash function would carry them)
 * fill one run of slots, so every lookup walks all of them; under the key
 * of another process they spread like any addresses. */
START_TEST(map_flood)
{
	enum { N = 4096 };
	static uint8_t ips[N][16];
	struct kt_map known = { 0 }, other = { 0 };
	uint64_t key, h0 = 0;

	kt_hash_init();
	key = kt_hash_key;
	kt_hash_key = 0x13198a2e03707344ull;	/* the key the maker knew */
	for (uint32_t i = 0; i < N; i++) {
		/* kt_hash_ip is H(b ^ H(a ^ port)): pick a, then b to cancel */
		uint64_t a = 0x20010db800000000ull | i, b = 0x5eed ^ kt_hash64(a ^ 443);

		memcpy(ips[i], &a, 8);
		memcpy(ips[i] + 8, &b, 8);
		if (!i)
			h0 = kt_hash_ip(ips[i], 443);
		ck_assert_uint_eq(kt_hash_ip(ips[i], 443), h0);
		ck_assert_int_eq(kt_map_put(&known, kt_hash_ip(ips[i], 443), i), 0);
	}
	ck_assert_uint_ge(map_longest_run(&known), N);

	kt_hash_key = 0xa4093822299f31d0ull;	/* this process's key */
	for (uint32_t i = 0; i < N; i++)
		ck_assert_int_eq(kt_map_put(&other, kt_hash_ip(ips[i], 443), i), 0);
	ck_assert_uint_lt(map_longest_run(&other), 64);
	for (uint32_t i = 0; i < N; i += 97) {
		uint64_t h = kt_hash_ip(ips[i], 443);
		uint32_t j = kt_map_first(&other, h);

		while (j != KT_MAP_END && j != i)
			j = kt_map_next(&other, h, j);
		ck_assert_uint_eq(j, i);
	}
	kt_map_free(&known);
	kt_map_free(&other);
	kt_hash_key = key;
}
END_TEST

/* The server half's close of a socket opened at 'opened'. */
static void late_close(struct fx *f, uint64_t ts, uint64_t opened)
{
	struct kt_flow fl = { .ts = ts, .kind = KT_FLOW_CLOSE, .proto = IPPROTO_TCP,
			      .role = KT_ROLE_SERVER, .sport = 80, .dport = 40001,
			      .cgroup_id = 200, .netns = 5002, .bytes_sent = 1000,
			      .bytes_recv = 100, .duration_ns = ts - opened };

	ip(fl.saddr, WEB_A);
	ip(fl.daddr, CLIENT);
	ck_assert_int_eq(kt_spool_append(f->sp, &kt_flow_schema, &fl), 0);
}

/* A client port reused while the first connection's events are still in
 * flight. The first connection's close was lost (a full ring): it ended
 * when its port opened again, so it is not alive at a later --at. The
 * second connection's server half must not be confused with the first's:
 * the first's server close arrives after the second opened. */
START_TEST(port_reuse)
{
	struct kt_model_opts mo = { 0 };
	struct kt_model_stats st;
	struct fx f;
	json_t *t;

	fx_open(&f);
	fx_k8s(&f);
	fx_host(&f);
	fx_procs(&f);
	/* 1: open, both halves; client close lost */
	ev(&f, KT_FLOW_OPEN, KT_ROLE_CLIENT, AT(10), CLIENT, 40001, WEB_A, 80, 100, 5001, 0, 0, 0);
	ev(&f, KT_FLOW_OPEN, KT_ROLE_SERVER, AT(10) + 1000, WEB_A, 80, CLIENT, 40001, 200, 5002,
	   0, 0, 0);
	/* 2: the same port, 20 s later; then 1's server close, late */
	ev(&f, KT_FLOW_OPEN, KT_ROLE_CLIENT, AT(30), CLIENT, 40001, WEB_A, 80, 100, 5001, 0, 0, 0);
	late_close(&f, AT(30) + 500, AT(10) + 1000);
	ev(&f, KT_FLOW_OPEN, KT_ROLE_SERVER, AT(30) + 1000, WEB_A, 80, CLIENT, 40001, 200, 5002,
	   0, 0, 0);
	ev(&f, KT_FLOW_CLOSE, KT_ROLE_CLIENT, AT(31), CLIENT, 40001, WEB_A, 80, 100, 5001,
	   0, 200, 2000);
	ev(&f, KT_FLOW_CLOSE, KT_ROLE_SERVER, AT(31) + 1000, WEB_A, 80, CLIENT, 40001, 200, 5002,
	   0, 2000, 200);
	fx_close(&f);

	t = topo(&f, NULL, KT_LEVEL_POD, &st);
	ck_assert_int_eq(num(edge(t, C, "pod:shop/web-a", 80), "connections"), 2);
	ck_assert_uint_eq(st.connections, 2);
	ck_assert_uint_eq(st.stitched, 2);
	ck_assert_int_eq(num(edge(t, C, "pod:shop/web-a", 80), "bytes_sent"), 200);
	json_decref(t);
	/* at +20 s the first was alive; at +40 s neither is */
	mo.at = AT(20);
	t = topo(&f, &mo, KT_LEVEL_POD, NULL);
	ck_assert_int_eq(num(edge(t, C, "pod:shop/web-a", 80), "connections"), 1);
	json_decref(t);
	mo.at = AT(40);
	t = topo(&f, &mo, KT_LEVEL_POD, NULL);
	ck_assert_uint_eq(json_array_size(json_object_get(t, "edges")), 0);
	json_decref(t);
	fx_rm(&f);
}
END_TEST

/* A pod IP taken over while the old pod was still listed: old-db is in the
 * first snapshot, gone from the second at +200 s; new-cache, created at
 * +110 s, is in the second. Over [+110, +200) both claim the address and
 * the newer wins; the answer for old-db at +50 s must not be reused for a
 * connection at +150 s. */
START_TEST(reused_ip_overlap)
{
	const char *created = "2025-12-31T23:00:00Z";
	struct fx f;
	json_t *t;

	fx_open(&f);
	fx_file(&f, "k8s/snapshots/000001/pods/shop.json", snapshot_list(1, AT(1), "pods",
		json_pack("[o, o]", pod("client", UID_CLIENT, CLIENT, created, NULL, NULL),
			  pod("old-db", "0ddd0ddd-0ddd-4ddd-8ddd-0ddd0ddd0ddd", REUSED, created,
			      NULL, NULL))));
	fx_file(&f, "k8s/snapshots/000002/pods/shop.json", snapshot_list(2, AT(200), "pods",
		json_pack("[o, o]", pod("client", UID_CLIENT, CLIENT, created, NULL, NULL),
			  pod("new-cache", "cccccccc-cccc-4ccc-8ccc-cccccccccccc", REUSED,
			      "2026-01-01T00:01:50Z", NULL, NULL))));
	fx_host(&f);
	fx_procs(&f);
	conn(&f, AT(50), REUSED, 44000, 6379, NULL, 0);
	conn(&f, AT(150), REUSED, 44001, 6379, NULL, 0);
	conn(&f, AT(250), REUSED, 44002, 6379, NULL, 0);
	fx_close(&f);
	t = topo(&f, NULL, KT_LEVEL_POD, NULL);
	ck_assert_int_eq(num(edge(t, C, "pod:shop/old-db", 6379), "connections"), 1);
	ck_assert_int_eq(num(edge(t, C, "pod:shop/new-cache", 6379), "connections"), 2);
	json_decref(t);
	fx_rm(&f);
}
END_TEST

static json_t *service_at(const char *name, const char *vip, int port, const char *created)
{
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:[s], s:[{s:s, s:i, s:i}], s:{s:s}}}",
			 "apiVersion", "v1", "kind", "Service", "metadata", "name", name,
			 "namespace", "shop", "uid", name, "creationTimestamp", created,
			 "spec", "type", "ClusterIP", "clusterIP", vip, "clusterIPs", vip, "ports",
			 "protocol", "TCP", "port", port, "targetPort", port, "selector", "app", name);
}

static json_t *service(const char *name, const char *created)
{
	return service_at(name, VIP, 80, created);
}

/* A ClusterIP handed to a new Service while the old one was still listed
 * (as reused_ip_overlap, for services): each connection goes to the
 * Service that had the address when it started. */
START_TEST(reused_cluster_ip)
{
	const char *created = "2025-12-31T23:00:00Z";
	struct fx f;
	json_t *t;

	fx_open(&f);
	fx_file(&f, "k8s/snapshots/000001/pods/shop.json", snapshot_list(1, AT(1), "pods",
		json_pack("[o]", pod("client", UID_CLIENT, CLIENT, created, NULL, NULL))));
	fx_file(&f, "k8s/snapshots/000001/services/shop.json", snapshot_list(1, AT(1), "services",
		json_pack("[o]", service("web", created))));
	fx_file(&f, "k8s/snapshots/000002/pods/shop.json", snapshot_list(2, AT(200), "pods",
		json_pack("[o]", pod("client", UID_CLIENT, CLIENT, created, NULL, NULL))));
	fx_file(&f, "k8s/snapshots/000002/services/shop.json", snapshot_list(2, AT(200), "services",
		json_pack("[o]", service("web2", "2026-01-01T00:01:50Z"))));
	fx_host(&f);
	fx_procs(&f);
	conn(&f, AT(50), VIP, 41000, 80, NULL, 0);
	conn(&f, AT(150), VIP, 41001, 80, NULL, 0);
	conn(&f, AT(250), VIP, 41002, 80, NULL, 0);
	fx_close(&f);
	t = topo(&f, NULL, KT_LEVEL_POD, NULL);
	ck_assert_int_eq(num(edge(t, C, "service:shop/web", 80), "connections"), 1);
	ck_assert_int_eq(num(edge(t, C, "service:shop/web2", 80), "connections"), 2);
	json_decref(t);
	fx_rm(&f);
}
END_TEST

/* One address and port asked as a pod's, then as a Service's once one
 * takes it (+110 s), while another port of the address stays the pod's:
 * the folded answer of a destination keeps the Service's span and the
 * owner's apart, each checked at the connection's time. */
START_TEST(service_over_pod_ip)
{
	const char *created = "2025-12-31T23:00:00Z";
	struct fx f;
	json_t *t;

	fx_open(&f);
	fx_file(&f, "k8s/snapshots/000001/pods/shop.json", snapshot_list(1, AT(1), "pods",
		json_pack("[o, o]", pod("client", UID_CLIENT, CLIENT, created, NULL, NULL),
			  pod("old-db", "0ddd0ddd-0ddd-4ddd-8ddd-0ddd0ddd0ddd", REUSED, created,
			      NULL, NULL))));
	fx_file(&f, "k8s/snapshots/000002/pods/shop.json", snapshot_list(2, AT(200), "pods",
		json_pack("[o, o]", pod("client", UID_CLIENT, CLIENT, created, NULL, NULL),
			  pod("old-db", "0ddd0ddd-0ddd-4ddd-8ddd-0ddd0ddd0ddd", REUSED, created,
			      NULL, NULL))));
	fx_file(&f, "k8s/snapshots/000002/services/shop.json", snapshot_list(2, AT(200), "services",
		json_pack("[o]", service_at("late", REUSED, 6379, "2026-01-01T00:01:50Z"))));
	fx_host(&f);
	fx_procs(&f);
	conn(&f, AT(50), REUSED, 44000, 6379, NULL, 0);
	conn(&f, AT(60), REUSED, 44001, 7000, NULL, 0);
	conn(&f, AT(150), REUSED, 44002, 6379, NULL, 0);
	conn(&f, AT(160), REUSED, 44003, 7000, NULL, 0);
	conn(&f, AT(250), REUSED, 44004, 6379, NULL, 0);
	fx_close(&f);
	t = topo(&f, NULL, KT_LEVEL_POD, NULL);
	ck_assert_int_eq(num(edge(t, C, "pod:shop/old-db", 6379), "connections"), 1);
	ck_assert_int_eq(num(edge(t, C, "pod:shop/old-db", 7000), "connections"), 2);
	ck_assert_int_eq(num(edge(t, C, "service:shop/late", 6379), "connections"), 2);
	json_decref(t);
	fx_rm(&f);
}
END_TEST

static void flow_conn(struct kt_model *m, uint64_t ts, uint16_t sport)
{
	struct kt_flow f = { .ts = ts, .kind = KT_FLOW_OPEN, .proto = IPPROTO_TCP,
			     .role = KT_ROLE_CLIENT, .sport = sport, .dport = 80,
			     .cgroup_id = 100, .netns = 5001 };

	ip(f.saddr, CLIENT);
	ip(f.daddr, VIP);
	ck_assert_int_eq(kt_model_add_flow(m, &f), 0);
	f.kind = KT_FLOW_CLOSE;
	f.ts = ts + 1000000;
	ck_assert_int_eq(kt_model_add_flow(m, &f), 0);
}

static void flow_ct(struct kt_model *m, uint64_t ts, const char *dst, uint16_t sport)
{
	struct kt_conntrack c = { .ts = ts, .kind = KT_CT_NEW, .proto = IPPROTO_TCP,
				  .orig_sport = sport, .orig_dport = 80, .reply_sport = 80,
				  .reply_dport = sport };

	ip(c.orig_src, CLIENT);
	ip(c.orig_dst, dst);
	ip(c.reply_src, WEB_B);
	ip(c.reply_dst, CLIENT);
	ck_assert_int_eq(kt_model_add_conntrack(m, &c), 0);
}

/* Finish m and expect its client's connections to VIP split: 'direct' to
 * the address (no NAT entry found for them), 'via' through the service
 * VIP:80, served by WEB_B as conntrack said. No Kubernetes objects: the
 * client and the address are unattributed. Frees m. */
static void expect_nat_split(struct kt_model *m, int direct, int via)
{
	struct kt_view_opts vo = { .level = KT_LEVEL_POD };
	json_t *t = NULL, *e;

	ck_assert_int_eq(kt_model_finish(m), 0);
	ck_assert_int_eq(kt_model_view(m, &vo, &t), 0);
	ck_assert_int_eq(num(edge(t, "unattributed:" CLIENT, "unattributed:" VIP, 80),
			     "connections"), direct);
	e = edge(t, "unattributed:" CLIENT, "service:" VIP ":80", 80);
	ck_assert_int_eq(num(e, "connections"), via);
	e = json_array_get(json_object_get(e, "backends"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "id")), "unattributed:" WEB_B);
	json_decref(t);
	kt_model_free(m);
}

/* A destination folded while no NAT entry named it (one named another
 * address), then a NAT entry for it: the next connection to it finds its
 * backend through conntrack (the destination's "nothing translated here"
 * holds only until more entries come). */
START_TEST(nat_learned_late)
{
	struct kt_model *m = NULL;

	ck_assert_int_eq(kt_model_new(&m, NULL), 0);
	flow_ct(m, AT(1), EXT, 41000);
	flow_conn(m, AT(10), 41001);
	/* a connection seconds later retires the first one */
	flow_conn(m, AT(20), 41002);
	ck_assert_uint_eq(m->inflight, 1);
	flow_ct(m, AT(30), VIP, 41003);
	flow_conn(m, AT(30), 41003);
	expect_nat_split(m, 2, 1);
}
END_TEST

/* Thousands of NAT entries (the tuple filter grows and is rebuilt several
 * times): a connection whose tuple conntrack read still finds its backend,
 * one whose tuple it did not goes to the address. */
START_TEST(nat_filter_grows)
{
	struct kt_model *m = NULL;

	ck_assert_int_eq(kt_model_new(&m, NULL), 0);
	for (uint16_t p = 0; p < 3000; p++)
		flow_ct(m, AT(1), VIP, (uint16_t)(40000 + 2 * p));
	/* even p: port 40000 + 4p, which has an entry; odd p: an odd port,
	 * which has none */
	for (uint16_t p = 0; p < 1500; p++)
		flow_conn(m, AT(10) + p * 1000000ull, (uint16_t)(40000 + 4 * p + (p & 1)));
	expect_nat_split(m, 750, 750);
}
END_TEST

/* Connections closed again and again while stream time stands still (a
 * hostile or broken bundle): nothing ages out of the done queue, yet its
 * memory stays with the connections in flight, not with the events. */
START_TEST(done_queue_bounded)
{
	struct kt_model *m = NULL;
	struct kt_model_stats st;
	struct kt_flow f = { .ts = AT(10), .proto = IPPROTO_TCP, .role = KT_ROLE_CLIENT,
			     .dport = 80, .cgroup_id = 100, .netns = 5001 };

	ip(f.saddr, CLIENT);
	ip(f.daddr, WEB_A);
	ck_assert_int_eq(kt_model_new(&m, NULL), 0);
	for (uint16_t p = 0; p < 3; p++) {
		f.kind = KT_FLOW_OPEN;
		f.sport = (uint16_t)(40000 + p);
		ck_assert_int_eq(kt_model_add_flow(m, &f), 0);
	}
	f.kind = KT_FLOW_CLOSE;
	for (int i = 0; i < 300000; i++) {
		f.sport = (uint16_t)(40000 + i % 3);
		f.bytes_sent = (uint64_t)i;
		ck_assert_int_eq(kt_model_add_flow(m, &f), 0);
	}
	ck_assert_uint_le(m->done_cap, 1024);
	ck_assert_int_eq(kt_model_finish(m), 0);
	kt_model_stats(m, &st);
	ck_assert_uint_eq(st.connections, 3);
	kt_model_free(m);
}
END_TEST

/* ---- what the objects say of failed connections (explain.c) -------------- */

/* The rest of both bundles of 'explanations': the host, its processes, the
 * usual traffic and a connection refused through the ClusterIP. */
static void explain_traffic(struct fx *f)
{
	fx_host(f);
	fx_procs(f);
	fx_traffic(f);
	ev(f, KT_FLOW_FAIL, KT_ROLE_CLIENT, AT(60), CLIENT, 46000, VIP, 80, 100, 5001,
	   KT_CAUSE_REFUSED, 0, 0);
	fx_close(f);
}

START_TEST(explanations)
{
	struct fx f;
	json_t *t, *why, *np;

	fx_open(&f);
	fx_k8s(&f);
	/* every pod of shop takes connections from admins only */
	np = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:{s:{s:[{s:s, s:s}]},"
		       " s:[{s:[{s:{s:{s:s}}}]}]}}", "apiVersion", "networking.k8s.io/v1",
		       "kind", "NetworkPolicy", "metadata", "name", "admins-only", "namespace",
		       "shop", "uid", "np-admins", "creationTimestamp", "2025-12-31T23:00:00Z",
		       "spec", "podSelector", "matchExpressions", "key", "app", "operator",
		       "DoesNotExist", "ingress", "from", "podSelector", "matchLabels", "role",
		       "admin");
	fx_file(&f, "k8s/snapshots/000001/networkpolicies/shop.json",
		snapshot_list(1, AT(1), "networkpolicies", json_pack("[o]", np)));
	explain_traffic(&f);

	t = topo(&f, NULL, KT_LEVEL_POD, NULL);
	why = json_object_get(edge(t, C, "pod:shop/web-b", 9001), "explanations");
	ck_assert_int_eq(json_array_size(why), 1);
	ck_assert_str_eq(json_string_value(json_array_get(why, 0)),
			 "NetworkPolicy shop/admins-only isolates shop/web-b for ingress and no rule "
			 "admits connections from shop/client to it on TCP 9001");
	ck_assert_int_eq(json_array_size(json_object_get(edge(t, C, "pod:shop/web-b", 9002),
							 "explanations")), 1);
	/* connections the policy denies, established all the same (one was
	 * reset later): the cluster did not enforce it */
	why = json_object_get(edge(t, C, "pod:shop/web-a", 80), "explanations");
	ck_assert_int_eq(json_array_size(why), 1);
	ck_assert_str_eq(json_string_value(json_array_get(why, 0)),
			 "NetworkPolicy shop/admins-only isolates shop/web-a for ingress and no rule "
			 "admits connections from shop/client to it on TCP 80, yet 3 were established: "
			 "not enforced");
	why = json_object_get(edge(t, C, "pod:shop/web-b", 9000), "explanations");
	ck_assert_int_eq(json_array_size(why), 1);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_array_get(why, 0)),
				     "on TCP 9000, yet 1 was established: not enforced"));
	/* through the Service: the backends that served it are asked */
	why = json_object_get(edge(t, C, "service:shop/web", 80), "explanations");
	ck_assert_int_eq(json_array_size(why), 1);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_array_get(why, 0)), "had no endpoint"));
	/* the kubelet on the node is no pod: no policy speaks of its probe */
	ck_assert_ptr_null(json_object_get(edge(t, "process:n1/kubelet", C, 8080), "explanations"));
	why = json_object_get(edge(t, C, "service:shop/web", 80), "explanations");
	ck_assert_int_eq(json_array_size(why), 1);
	ck_assert_str_eq(json_string_value(json_array_get(why, 0)),
			 "Service shop/web had no endpoint: its selector matched no pod");
	json_decref(t);
	fx_rm(&f);

	/* without the policy, the same failures are not explained; nor is the
	 * refusal when a ready pod is behind the Service but no Endpoints
	 * object was recorded */
	fx_open(&f);
	fx_k8s(&f);
	np = pod("web-c", "cccc0000-cccc-4ccc-8ccc-cccccccccccc", "198.18.1.14",
		 "2025-12-31T23:00:00Z", "ReplicaSet", "web-6b8d9f7c4");
	json_object_set_new(json_object_get(np, "metadata"), "labels",
			    json_pack("{s:s}", "app", "web"));
	json_object_set_new(json_object_get(np, "status"), "conditions",
			    json_pack("[{s:s, s:s}]", "type", "Ready", "status", "True"));
	fx_line(&f, "k8s/watch/pods.jsonl", json_pack("{s:I, s:s, s:o}", "ts_ns",
		(json_int_t)AT(2), "type", "ADDED", "object", np));
	explain_traffic(&f);
	t = topo(&f, NULL, KT_LEVEL_POD, NULL);
	ck_assert_ptr_null(json_object_get(edge(t, C, "pod:shop/web-b", 9001), "explanations"));
	ck_assert_int_eq(failed(edge(t, C, "service:shop/web", 80), "refused"), 1);
	ck_assert_ptr_null(json_object_get(edge(t, C, "service:shop/web", 80), "explanations"));
	json_decref(t);
	fx_rm(&f);
}
END_TEST

/* ---- failed DNS lookups ------------------------------------------------ */

static void dns_ask(struct fx *f, uint64_t ts, const char *client, const char *name,
		    uint16_t qtype, uint16_t rcode)
{
	struct kt_dns d = { .ts = ts, .proto = IPPROTO_UDP, .client_port = 40000,
			    .server_port = 53, .qtype = qtype, .rcode = rcode };

	ip(d.client, client);
	ip(d.server, "198.19.0.10");
	d.qname = (struct kt_str){ name, (uint32_t)strlen(name) };
	ck_assert_int_eq(kt_spool_append(f->sp, &kt_dns_schema, &d), 0);
}

/* The failed lookup of client for name, answered rcode; NULL when none. */
static json_t *lookup(json_t *t, const char *client, const char *name, const char *rcode)
{
	json_t *d, *found = NULL;
	size_t i;

	json_array_foreach(json_object_get(t, "dns_failures"), i, d) {
		if (strcmp(json_string_value(json_object_get(d, "client")), client) ||
		    strcmp(json_string_value(json_object_get(d, "qname")), name) ||
		    strcmp(json_string_value(json_object_get(d, "rcode")), rcode))
			continue;
		ck_assert_msg(!found, "lookup %s %s %s twice", client, name, rcode);
		found = d;
	}
	return found;
}

#define WEB_LONG "api.partner.example.shop.svc.cluster.local"

static void build_dns(struct fx *f)
{
	fx_open(f);
	fx_k8s(f);
	fx_host(f);
	fx_procs(f);
	/* a name that does not exist, three times, once in another spelling */
	dns_ask(f, AT(10), CLIENT, "gone.shop.svc.cluster.local", 1, 3);
	dns_ask(f, AT(20), CLIENT, "gone.shop.svc.cluster.local", 1, 3);
	dns_ask(f, AT(30), CLIENT, "Gone.Shop.svc.cluster.local.", 1, 3);
	/* the resolver's search domain tried first, then the name itself */
	dns_ask(f, AT(4), CLIENT, WEB_LONG, 1, 3);
	dns_ask(f, AT(5), CLIENT, "api.partner.example", 1, 0);
	/* the same try from a pod that never resolved the short name */
	dns_ask(f, AT(6), WEB_A, WEB_LONG, 1, 3);
	/* a server failing both pods of one Deployment */
	dns_ask(f, AT(40), WEB_A, "db.shop.svc.cluster.local", 1, 2);
	dns_ask(f, AT(41), WEB_B, "db.shop.svc.cluster.local", 1, 2);
	/* no answer at all */
	dns_ask(f, AT(50), CLIENT, "slow.example", 28, KT_DNS_RCODE_NONE);
	fx_close(f);
}

START_TEST(dns_failures)
{
	struct fx f;
	struct kt_model_stats st;
	struct kt_model_opts mo = { .since = AT(15) };
	json_t *t, *d;

	build_dns(&f);
	t = topo(&f, NULL, KT_LEVEL_POD, &st);
	ck_assert_uint_eq(st.dns_failures, 8);
	ck_assert_int_eq(json_array_size(json_object_get(t, "dns_failures")), 6);
	ck_assert_int_eq(num(json_object_get(t, "stats"), "dns_failures"), 8);

	d = lookup(t, C, "gone.shop.svc.cluster.local", "NXDOMAIN");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(num(d, "count"), 3);
	ck_assert_int_eq(num(d, "first_seen_ns"), (json_int_t)AT(10));
	ck_assert_int_eq(num(d, "last_seen_ns"), (json_int_t)AT(30));
	ck_assert_str_eq(json_string_value(json_object_get(d, "qtype")), "A");
	ck_assert_str_eq(json_string_value(json_object_get(d, "server")), "198.19.0.10");
	ck_assert(json_is_false(json_object_get(d, "search_expansion")));

	/* a try of a search domain is one only for the client that then
	 * resolved the name */
	ck_assert(json_is_true(json_object_get(lookup(t, C, WEB_LONG, "NXDOMAIN"),
					       "search_expansion")));
	ck_assert(json_is_false(json_object_get(lookup(t, "pod:shop/web-a", WEB_LONG, "NXDOMAIN"),
						"search_expansion")));

	d = lookup(t, "pod:shop/web-b", "db.shop.svc.cluster.local", "SERVFAIL");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(num(d, "count"), 1);
	d = lookup(t, C, "slow.example", "no-answer");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(json_string_value(json_object_get(d, "qtype")), "AAAA");
	/* clients are nodes even without an edge */
	ck_assert_ptr_nonnull(node(t, "pod:shop/web-b"));
	ck_assert_ptr_nonnull(node(t, C));
	json_decref(t);

	/* the pods of a Deployment fold into it, their counts added */
	t = topo(&f, NULL, KT_LEVEL_WORKLOAD, NULL);
	d = lookup(t, "workload:shop/Deployment/web", "db.shop.svc.cluster.local", "SERVFAIL");
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(num(d, "count"), 2);
	ck_assert_int_eq(num(d, "first_seen_ns"), (json_int_t)AT(40));
	ck_assert_int_eq(num(d, "last_seen_ns"), (json_int_t)AT(41));
	ck_assert_ptr_null(node(t, "pod:shop/web-a"));
	json_decref(t);

	/* --since: lookups before it are not counted */
	t = topo(&f, &mo, KT_LEVEL_POD, &st);
	ck_assert_uint_eq(st.dns_failures, 5);
	ck_assert_int_eq(num(lookup(t, C, "gone.shop.svc.cluster.local", "NXDOMAIN"), "count"), 2);
	ck_assert_ptr_null(lookup(t, C, WEB_LONG, "NXDOMAIN"));
	json_decref(t);

	/* -n: only the clients in the namespace */
	view_ns = "other";
	t = topo(&f, NULL, KT_LEVEL_POD, NULL);
	view_ns = NULL;
	ck_assert_int_eq(json_array_size(json_object_get(t, "dns_failures")), 0);
	json_decref(t);
	fx_rm(&f);
}
END_TEST

/* Failed lookups of ever new names are kept up to KT_DNS_FAILS_MAX, and
 * counted beyond. */
START_TEST(dns_failures_bounded)
{
	struct kt_model *m;
	struct kt_model_stats st;
	struct kt_dns d = { .ts = AT(1), .proto = IPPROTO_UDP, .qtype = 1, .rcode = 3 };
	char name[64];

	ip(d.client, CLIENT);
	ck_assert_int_eq(kt_model_new(&m, NULL), 0);
	for (int i = 0; i < KT_DNS_FAILS_MAX + 10; i++) {
		d.qname = (struct kt_str){ name, (uint32_t)snprintf(name, sizeof(name),
								    "n%d.example", i) };
		ck_assert_int_eq(kt_model_add_dns(m, &d), 0);
	}
	ck_assert_int_eq(kt_model_finish(m), 0);
	kt_model_stats(m, &st);
	ck_assert_uint_eq(st.dns_failures, KT_DNS_FAILS_MAX + 10);
	ck_assert_uint_eq(st.dns_failures_dropped, 10);
	ck_assert_uint_eq(m->ndnsfails, KT_DNS_FAILS_MAX);
	kt_model_free(m);
}
END_TEST

Suite *kt_model_suite(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("topology");

	tcase_add_test(tc, pod_level_edges);
	tcase_add_test(tc, service_backends);
	tcase_add_test(tc, reused_ip_per_time);
	tcase_add_test(tc, external_and_host_process);
	tcase_add_test(tc, workload_folding);
	tcase_add_test(tc, windows);
	tcase_add_test(tc, no_k8s);
	tcase_add_test(tc, wire_two_interfaces);
	tcase_add_test(tc, late_server_close);
	tcase_add_test(tc, folded_udp_sends);
	tcase_add_test(tc, udp_reply_to_folded_port);
	tcase_add_test(tc, container_restart);
	tcase_add_test(tc, loopback_listener);
	tcase_add_test(tc, map_against_model);
	tcase_add_test(tc, map_flood);
	tcase_add_test(tc, port_reuse);
	tcase_add_test(tc, reused_ip_overlap);
	tcase_add_test(tc, reused_cluster_ip);
	tcase_add_test(tc, done_queue_bounded);
	tcase_add_test(tc, service_over_pod_ip);
	tcase_add_test(tc, nat_learned_late);
	tcase_add_test(tc, nat_filter_grows);
	tcase_add_test(tc, explanations);
	tcase_add_test(tc, dns_failures);
	tcase_add_test(tc, dns_failures_bounded);
	suite_add_tcase(s, tc);
	return s;
}
