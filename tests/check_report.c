/* check_report.c - the pieces of `ktana report` (analyze/report/): escaping
 * of bundle text for HTML and Markdown, window-to-window changes, the
 * Kubernetes timeline from an object index, trouble marks, the failed DNS
 * lookups listed, evidence matching, and the diagram built with cgraph and
 * drawn by gvc. The whole command is covered by tests/golden/ and
 * tests/report_browser.sh. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"
#include "report.h"

#define SEC 1000000000ull
#define T0 (1767225600ull * SEC)	/* 2026-01-01T00:00:00Z */

typedef int (*esc_fn)(FILE *, const char *);

static char *esc(esc_fn fn, const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fn(f, s), 0);
	fclose(f);
	return buf;
}

START_TEST(html_escape)
{
	char *s = esc(kt_esc_html, "a<script>alert('x')</script>&\"b\"\x01\n");

	ck_assert_str_eq(s, "a&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;b&quot;&#xfffd;\n");
	free(s);
	s = esc(kt_esc_html, "caf\xc3\xa9 \xe2\x86\x92");	/* UTF-8 passes */
	ck_assert_str_eq(s, "caf\xc3\xa9 \xe2\x86\x92");
	free(s);
	s = esc(kt_esc_html, NULL);
	ck_assert_str_eq(s, "");
	free(s);
}
END_TEST

START_TEST(md_escape)
{
	char *s = esc(kt_esc_md, "a|b *c* _d_ [e](f) <img> `g`\nh");

	ck_assert_str_eq(s, "a\\|b \\*c\\* \\_d\\_ \\[e\\](f) &lt;img&gt; \\`g\\` h");
	free(s);
	s = esc(kt_esc_md, "# title");
	ck_assert_str_eq(s, "\\# title");
	free(s);
	s = esc(kt_esc_md, "web-6b8d 2026-01-01");	/* dashes inside stay */
	ck_assert_str_eq(s, "web-6b8d 2026-01-01");
	free(s);
}
END_TEST

START_TEST(safe_filename)
{
	char out[16];

	kt_safe_filename("../etc/passwd", out, sizeof(out));
	ck_assert_str_eq(out, "_._etc_passwd");
	kt_safe_filename(".hidden", out, sizeof(out));
	ck_assert_str_eq(out, "_hidden");
	kt_safe_filename("", out, sizeof(out));
	ck_assert_str_eq(out, "_");
	kt_safe_filename("averyveryverylongname.pcapng", out, sizeof(out));
	ck_assert_uint_eq(strlen(out), 15);
}
END_TEST

/* A topology with windows of 10 s over a capture [T0, T0 + 40 s): four
 * windows. Edge 0 in every window; edge 1 only in the first two (gone);
 * edge 2 from the third on (new); edge 3 only in the second (new and gone);
 * edge 4 in bursts, the first and the last, two windows apart. */
static json_t *windowed(void)
{
	static const int seen[5][4] = { { 1, 1, 1, 1 }, { 1, 1, 0, 0 }, { 0, 0, 1, 1 }, { 0, 1, 0, 0 },
					{ 1, 0, 0, 1 } };
	json_t *edges = json_array();

	for (int e = 0; e < 5; e++) {
		json_t *w = json_array();
		char dst[16];

		for (int k = 0; k < 4; k++)
			if (seen[e][k])
				json_array_append_new(w, json_pack("{s:I, s:i, s:{s:i}}", "start_ns",
					(json_int_t)(T0 + (uint64_t)k * 10 * SEC), "connections", 2,
					"failed", "refused", e == 2 ? 1 : 0));
		snprintf(dst, sizeof(dst), "pod:ns/d%d", e);
		json_array_append_new(edges, json_pack("{s:s, s:s, s:s, s:i, s:i, s:{}, s:o}",
			"src", "pod:ns/a", "dst", dst, "protocol", "tcp", "port", 80 + e,
			"connections", 8, "failed", "windows", w));
	}
	return json_pack("{s:s, s:I, s:[], s:o}", "level", "pod", "window_ns", (json_int_t)(10 * SEC),
			 "nodes", "edges", edges);
}

static bool has(const json_t *a, json_int_t v)
{
	size_t i;
	json_t *x;

	json_array_foreach(a, i, x)
		if (json_integer_value(x) == v)
			return true;
	return false;
}

START_TEST(window_changes)
{
	json_t *topo = windowed(), *ch = NULL, *w;

	ck_assert_int_eq(kt_report_changes(topo, T0, T0 + 40 * SEC, &ch), 0);
	w = json_object_get(ch, "windows");
	ck_assert_uint_eq(json_array_size(w), 4);
	/* new: edge 3 in window 1, edge 2 in window 2; nothing new in window 0 */
	ck_assert_uint_eq(json_array_size(json_object_get(json_array_get(w, 0), "new")), 0);
	ck_assert(has(json_object_get(json_array_get(w, 1), "new"), 3));
	ck_assert(has(json_object_get(json_array_get(w, 2), "new"), 2));
	ck_assert_uint_eq(json_array_size(json_object_get(json_array_get(w, 2), "new")), 1);
	/* gone: edge 1 and 3 from window 2 on; edge 0 and 2 run to the end */
	ck_assert(has(json_object_get(json_array_get(w, 2), "gone"), 1));
	ck_assert(has(json_object_get(json_array_get(w, 2), "gone"), 3));
	ck_assert_uint_eq(json_array_size(json_object_get(ch, "gone")), 2);
	ck_assert(!has(json_object_get(ch, "gone"), 0));
	ck_assert(!has(json_object_get(ch, "gone"), 2));
	/* per-window sums */
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(w, 1), "connections")), 6);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(w, 1), "edges")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(w, 3), "failed")), 1);
	json_decref(ch);
	/* quiet for one window at the end: not gone yet */
	ck_assert_int_eq(kt_report_changes(topo, T0, T0 + 50 * SEC, &ch), 0);
	ck_assert(!has(json_object_get(ch, "gone"), 0));
	ck_assert(!has(json_object_get(ch, "gone"), 4));
	json_decref(ch);
	/* a capture longer than the edges: two quiet windows at the end are
	 * gone, except for the bursty edge, which paused that long before */
	ck_assert_int_eq(kt_report_changes(topo, T0, T0 + 60 * SEC, &ch), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(ch, "windows")), 6);
	ck_assert_uint_eq(json_array_size(json_object_get(ch, "gone")), 4);
	ck_assert(!has(json_object_get(ch, "gone"), 4));
	json_decref(ch);
	/* and gone once it is quiet longer than that */
	ck_assert_int_eq(kt_report_changes(topo, T0, T0 + 70 * SEC, &ch), 0);
	ck_assert(has(json_object_get(ch, "gone"), 4));
	json_decref(ch);
	/* without windows there is nothing to compare */
	json_object_set_new(topo, "window_ns", json_integer(0));
	ck_assert_int_eq(kt_report_changes(topo, T0, T0 + 40 * SEC, &ch), -EINVAL);
	json_decref(topo);
}
END_TEST

START_TEST(timeline_sorted)
{
	json_t *t = json_pack("[{s:I, s:s, s:s, s:s}, {s:I, s:s, s:s, s:s}, {s:I, s:s, s:s, s:s}]",
			      "t_ns", (json_int_t)5, "kind", "b", "subject", "x", "text", "",
			      "t_ns", (json_int_t)5, "kind", "a", "subject", "y", "text", "",
			      "t_ns", (json_int_t)1, "kind", "z", "subject", "z", "text", "");

	kt_report_timeline_sort(t, 2);
	ck_assert_uint_eq(json_array_size(t), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(t, 0), "kind")), "z");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(t, 1), "kind")), "a");
	json_decref(t);
}
END_TEST

/* ---- the Kubernetes side ---------------------------------------------- */

static json_t *pod(const char *name, const char *uid, int restarts, const char *created)
{
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:b}]},"
			 " s:{s:s, s:[{s:s}]}, s:{s:s, s:s, s:[{s:s, s:s}], s:[{s:s, s:b, s:i, s:{s:{s:s}}}]}}",
			 "apiVersion", "v1", "kind", "Pod", "metadata", "name", name, "namespace", "shop",
			 "uid", uid, "creationTimestamp", created, "ownerReferences", "kind", "ReplicaSet",
			 "name", "web-7f", "uid", "rs-1", "controller", 1, "spec", "nodeName", "n1", "containers", "name", "web",
			 "status", "phase", "Running", "podIP", "198.18.1.5", "conditions", "type", "Ready",
			 "status", "True", "containerStatuses", "name", "web", "ready", 1, "restartCount",
			 restarts, "lastState", "terminated", "reason", "OOMKilled");
}

static json_t *deploy(int replicas)
{
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:i}}", "apiVersion", "apps/v1",
			 "kind", "Deployment", "metadata", "name", "web", "namespace", "shop", "uid", "d-1",
			 "spec", "replicas", replicas);
}

struct idx_fx {
	struct kt_k8s_index *idx;
};

static void add(struct kt_k8s_index *idx, int snap, json_t *o, uint64_t t)
{
	ck_assert_int_eq(kt_k8s_index_add(idx, o, NULL, t, KT_K8S_SEEN, snap), 0);
	json_decref(o);
}

/* Two complete listings of pods and deployments, at T0 + 1 s and T0 + 9 s:
 * web-a restarted twice in between, web-b deleted, web-c created, the
 * Deployment scaled from 2 to 3; a Warning event in between. */
static struct kt_k8s_index *index_two_snapshots(void)
{
	struct kt_k8s_index *idx;
	int s1p, s1d, s2p, s2d, s2e;

	ck_assert_int_eq(kt_k8s_index_new(&idx), 0);
	s1p = kt_k8s_index_snapshot(idx, T0 + SEC, KT_K8S_POD, NULL, NULL);
	s1d = kt_k8s_index_snapshot(idx, T0 + SEC, KT_K8S_DEPLOYMENT, NULL, NULL);
	add(idx, s1p, pod("web-a", "u-a", 0, "2025-12-31T00:00:00Z"), T0 + SEC);
	add(idx, s1p, pod("web-b", "u-b", 0, "2025-12-31T00:00:00Z"), T0 + SEC);
	add(idx, s1d, deploy(2), T0 + SEC);
	s2p = kt_k8s_index_snapshot(idx, T0 + 9 * SEC, KT_K8S_POD, NULL, NULL);
	s2d = kt_k8s_index_snapshot(idx, T0 + 9 * SEC, KT_K8S_DEPLOYMENT, NULL, NULL);
	s2e = kt_k8s_index_snapshot(idx, T0 + 9 * SEC, KT_K8S_EVENT, NULL, NULL);
	add(idx, s2p, pod("web-a", "u-a", 2, "2025-12-31T00:00:00Z"), T0 + 9 * SEC);
	add(idx, s2p, pod("web-c", "u-c", 0, "2026-01-01T00:00:05Z"), T0 + 9 * SEC);
	add(idx, s2d, deploy(3), T0 + 9 * SEC);
	add(idx, s2e, json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s}, s:s, s:s, s:s,"
				" s:s, s:i}", "apiVersion", "v1", "kind", "Event", "metadata", "name", "e1",
				"namespace", "shop", "uid", "e-1", "involvedObject", "kind", "Pod",
				"namespace", "shop", "name", "web-a", "reason", "BackOff", "type", "Warning",
				"message", "back-off <b>", "lastTimestamp", "2026-01-01T00:00:04Z",
				"count", 3), T0 + 9 * SEC);
	ck_assert_int_eq(kt_k8s_index_finish(idx), 0);
	return idx;
}

static const json_t *find(const json_t *tl, const char *kind, const char *subject)
{
	size_t i;
	json_t *x;

	json_array_foreach(tl, i, x)
		if (!strcmp(json_string_value(json_object_get(x, "kind")), kind) &&
		    strstr(json_string_value(json_object_get(x, "subject")), subject))
			return x;
	return NULL;
}

START_TEST(k8s_timeline)
{
	struct kt_k8s_index *idx = index_two_snapshots();
	json_t *tl = json_array();
	const json_t *x;

	ck_assert_int_eq(kt_report_k8s_timeline(idx, T0, T0 + 10 * SEC, tl), 0);
	kt_report_timeline_sort(tl, 100);
	ck_assert_ptr_nonnull(x = find(tl, "pod-created", "shop/web-c"));
	ck_assert_uint_eq(json_integer_value(json_object_get(x, "t_ns")), T0 + 5 * SEC);
	ck_assert_ptr_nonnull(x = find(tl, "pod-deleted", "shop/web-b"));
	ck_assert_uint_eq(json_integer_value(json_object_get(x, "t_ns")), T0 + 9 * SEC);
	ck_assert_ptr_nonnull(x = find(tl, "restart", "shop/web-a"));
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(x, "text")), "OOMKilled"));
	ck_assert_ptr_nonnull(x = find(tl, "scale", "Deployment shop/web"));
	ck_assert_str_eq(json_string_value(json_object_get(x, "text")), "scaled from 2 to 3 replicas");
	ck_assert_ptr_nonnull(x = find(tl, "warning", "Pod shop/web-a"));
	ck_assert_uint_eq(json_integer_value(json_object_get(x, "t_ns")), T0 + 4 * SEC);
	/* pods that existed before the capture are not "created"; web-a never deleted */
	ck_assert_ptr_null(find(tl, "pod-created", "shop/web-a"));
	ck_assert_ptr_null(find(tl, "pod-deleted", "shop/web-a"));
	/* sorted by time */
	for (size_t i = 1; i < json_array_size(tl); i++)
		ck_assert_uint_le(json_integer_value(json_object_get(json_array_get(tl, i - 1), "t_ns")),
				  json_integer_value(json_object_get(json_array_get(tl, i), "t_ns")));
	json_decref(tl);
	/* a window that ends before the second snapshot sees none of it */
	tl = json_array();
	ck_assert_int_eq(kt_report_k8s_timeline(idx, T0, T0 + 3 * SEC, tl), 0);
	ck_assert_ptr_null(find(tl, "scale", "web"));
	ck_assert_ptr_null(find(tl, "pod-deleted", "web-b"));
	json_decref(tl);
	kt_k8s_index_free(idx);
}
END_TEST

START_TEST(trouble_marks)
{
	struct kt_k8s_index *idx = index_two_snapshots();
	json_t *topo = json_pack("{s:s, s:[{s:s}, {s:s}, {s:s}], s:[{s:s, s:s, s:s, s:i, s:{s:i, s:i}},"
				 " {s:s, s:s, s:s, s:i, s:{}}]}", "level", "workload",
				 "nodes", "id", "pod:shop/client", "id", "workload:shop/Deployment/web",
				 "id", "service:shop/db", "edges",
				 "src", "pod:shop/client", "dst", "service:shop/db", "protocol", "tcp",
				 "port", 5432, "failed", "timeout", 2, "refused", 1,
				 "src", "pod:shop/client", "dst", "workload:shop/Deployment/web",
				 "protocol", "tcp", "port", 80, "failed");
	json_t *tr = NULL, *a;
	char buf[64];

	/* workload level: the failing edge marks its destination; web-a's
	 * ReplicaSet is not in the index, so its chain stops at the pod, which
	 * this view does not show: no mark for it */
	ck_assert_int_eq(kt_report_trouble(topo, idx, &tr), 0);
	a = json_object_get(tr, "service:shop/db");
	ck_assert_uint_eq(json_array_size(a), 1);
	ck_assert_str_eq(json_string_value(json_array_get(a, 0)), "refused 1, timeout 2 on tcp:5432");
	ck_assert_ptr_null(json_object_get(tr, "pod:shop/client"));
	json_decref(tr);
	/* pod level: web-a itself */
	json_object_set_new(topo, "level", json_string("pod"));
	json_array_append_new(json_object_get(topo, "nodes"), json_pack("{s:s}", "id", "pod:shop/web-a"));
	ck_assert_int_eq(kt_report_trouble(topo, idx, &tr), 0);
	a = json_object_get(tr, "pod:shop/web-a");
	ck_assert_uint_eq(json_array_size(a), 1);
	ck_assert_str_eq(json_string_value(json_array_get(a, 0)), "web-a restarted 2 times, last: OOMKilled");
	json_decref(tr);
	ck_assert_str_eq(kt_report_failed_str(json_object_get(json_array_get(json_object_get(topo, "edges"), 0),
							      "failed"), buf, sizeof(buf)), "refused 1, timeout 2");
	json_decref(topo);
	kt_k8s_index_free(idx);
}
END_TEST

/* Markdown of a context whose topology has these failed lookups. */
static char *md_of(json_t *lookups)
{
	json_t *ctx = json_pack("{s:s, s:s, s:{s:s, s:[], s:[], s:o}, s:[], s:{}, s:[]}", "bundle",
				"b.tar.zst", "tool", "ktana test", "topology", "level", "pod",
				"nodes", "edges", "dns_failures", lookups, "timeline", "trouble",
				"diagrams");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(ctx);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(kt_report_markdown(f, ctx), 0);
	fclose(f);
	json_decref(ctx);
	return buf;
}

static json_t *lookup(const char *client, const char *name, const char *rcode, int count,
		      bool expansion)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:b}", "client", client, "qname", name,
			 "qtype", "A", "rcode", rcode, "count", count, "first_seen", "t1",
			 "last_seen", "t2", "search_expansion", expansion);
}

START_TEST(dns_failures_listed)
{
	char *md;
	json_t *topo, *tr = NULL;

	/* none at all */
	md = md_of(json_array());
	ck_assert_ptr_nonnull(strstr(md, "## DNS failures\n\nNo DNS lookup failed.\n"));
	free(md);
	/* only tries of search domains: no table, the tries counted */
	md = md_of(json_pack("[o, o]", lookup("pod:shop/a", "x.shop.svc.cluster.local", "NXDOMAIN", 3, true),
			     lookup("pod:shop/b", "x.svc.cluster.local", "NXDOMAIN", 2, true)));
	ck_assert_ptr_nonnull(strstr(md, "No DNS lookup failed but 5 NXDOMAIN answers to tries"));
	ck_assert_ptr_null(strstr(md, "| client | name |"));
	free(md);
	/* a real one is listed, the try is not */
	md = md_of(json_pack("[o, o]", lookup("pod:shop/a", "gone.shop.svc.cluster.local", "NXDOMAIN", 2, false),
			     lookup("pod:shop/a", "x.shop.svc.cluster.local", "NXDOMAIN", 3, true)));
	ck_assert_ptr_nonnull(strstr(md, "| pod:shop/a | gone.shop.svc.cluster.local | A | NXDOMAIN | 2 | t1 | t2 |\n"));
	ck_assert_ptr_null(strstr(md, "| x.shop.svc.cluster.local |"));
	ck_assert_ptr_nonnull(strstr(md, "Not listed: 3 NXDOMAIN answers to tries"));
	free(md);

	/* the trouble of the client, not of the tries' */
	topo = json_pack("{s:s, s:[], s:[], s:[o, o]}", "level", "pod", "nodes", "edges", "dns_failures",
			 lookup("pod:shop/a", "gone.shop.svc.cluster.local", "SERVFAIL", 2, false),
			 lookup("pod:shop/b", "x.shop.svc.cluster.local", "NXDOMAIN", 3, true));
	ck_assert_int_eq(kt_report_trouble(topo, NULL, &tr), 0);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(tr, "pod:shop/a"), 0)),
			 "SERVFAIL 2 for gone.shop.svc.cluster.local");
	ck_assert_ptr_null(json_object_get(tr, "pod:shop/b"));
	json_decref(tr);
	json_decref(topo);

	/* a client failing many names: the first three, then a count */
	topo = json_pack("{s:s, s:[], s:[], s:[o, o, o, o, o]}", "level", "pod", "nodes", "edges",
			 "dns_failures",
			 lookup("pod:shop/a", "n1.example", "NXDOMAIN", 1, false),
			 lookup("pod:shop/a", "n2.example", "NXDOMAIN", 1, false),
			 lookup("pod:shop/a", "n3.example", "NXDOMAIN", 1, false),
			 lookup("pod:shop/a", "n4.example", "NXDOMAIN", 1, false),
			 lookup("pod:shop/a", "n5.example", "NXDOMAIN", 1, false));
	ck_assert_int_eq(kt_report_trouble(topo, NULL, &tr), 0);
	ck_assert_int_eq(json_array_size(json_object_get(tr, "pod:shop/a")), 4);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(tr, "pod:shop/a"), 3)),
			 "2 more names did not resolve");
	json_decref(tr);
	json_decref(topo);
}
END_TEST

START_TEST(evidence_without_pcap)
{
	json_t *man = json_pack("{s:{s:{s:s}}}", "sources", "pcap", "status", "skipped");
	json_t *topo = windowed(), *ev = NULL;

	ck_assert_int_eq(kt_report_evidence(json_object_get(json_object_get(json_object_get(man,
			 "sources"), "pcap"), "fragments"), topo, NULL, &ev), 0);
	ck_assert_uint_eq(json_object_size(ev), 0);
	json_decref(ev);
	/* hostile fragments: not objects, no file, huge ports: ignored */
	json_object_set_new(json_object_get(json_object_get(man, "sources"), "pcap"), "fragments",
			    json_pack("[i, {}, {s:s, s:I}]", 3, "file", "../../x", "dport",
				      (json_int_t)1 << 40));
	ck_assert_int_eq(kt_report_evidence(json_object_get(json_object_get(json_object_get(man,
			 "sources"), "pcap"), "fragments"), topo, NULL, &ev), 0);
	ck_assert_uint_eq(json_object_size(ev), 0);
	json_decref(ev);
	json_decref(man);
	json_decref(topo);
}
END_TEST

/* ---- the diagram ------------------------------------------------------- */

START_TEST(diagram_draws)
{
	json_t *topo = json_pack("{s:s, s:[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s},"
				 " {s:s, s:s, s:s, s:s}], s:[{s:s, s:s, s:s, s:i, s:i, s:{s:i}},"
				 " {s:s, s:s, s:s, s:i, s:i, s:{}}]}", "level", "pod", "nodes",
				 "id", "pod:a/x", "kind", "pod", "name", "x<script>\\N", "namespace", "a",
				 "id", "service:a/db", "kind", "service", "name", "db", "namespace", "a",
				 "id", "external:1.2.3.4", "kind", "external", "name", "1.2.3.4", "namespace", "",
				 "edges", "src", "pod:a/x", "dst", "service:a/db", "protocol", "tcp", "port", 5432,
				 "connections", 7, "failed", "refused", 3,
				 "src", "pod:a/x", "dst", "external:1.2.3.4", "protocol", "tcp", "port", 443,
				 "connections", 2, "failed");
	json_t *gone = json_pack("[i]", 1), *trouble = json_pack("{s:[s]}", "service:a/db", "refused 3");
	json_t *be;
	struct kt_diagram_opts o = { .title = "t", .gone = gone, .trouble = trouble, .link_prefix = "edge-" };
	const char *formats[2] = { "svg", "png" };
	char *data[2], *dot;
	size_t len[2], dlen;
	Agraph_t *g = NULL;

	/* the service's backend: one dotted edge from the service to it, its
	 * connections summed over the edges through the service */
	json_array_append_new(json_object_get(topo, "nodes"), json_pack("{s:s, s:s, s:s, s:s}",
		"id", "pod:a/db-0", "kind", "pod", "name", "db-0", "namespace", "a"));
	be = json_pack("{s:s, s:[{s:s, s:i, s:i}]}", "via_service", "service:a/db", "backends",
		       "id", "pod:a/db-0", "port", 15432, "connections", 4);
	json_object_update(json_array_get(json_object_get(topo, "edges"), 0), be);
	json_decref(be);
	ck_assert_int_eq(kt_diagram_build(topo, &o, &g), 0);
	ck_assert_int_eq(agnnodes(g), 4);
	ck_assert_int_eq(agnedges(g), 3);
	ck_assert_str_eq(kt_diagram_engine(g), "dot");
	ck_assert_int_eq(kt_diagram_dot(g, &dot, &dlen), 0);
	ck_assert_ptr_nonnull(strstr(dot, "cluster_0"));	/* namespace a */
	ck_assert_ptr_nonnull(strstr(dot, "cluster_1"));	/* outside the cluster */
	ck_assert_ptr_nonnull(strstr(dot, "x<script>\\\\N"));	/* \N stays text */
	free(dot);
	ck_assert_int_eq(kt_diagram_render(g, NULL, formats, 2, data, len), 0);
	ck_assert_ptr_null(strstr(data[0], "<script"));
	ck_assert_ptr_nonnull(strstr(data[0], "x&lt;script&gt;\\N"));
	ck_assert_ptr_nonnull(strstr(data[0], "failed refused 3"));
	ck_assert_ptr_nonnull(strstr(data[0], "#c62828"));		/* red */
	ck_assert_ptr_nonnull(strstr(data[0], "stroke-dasharray"));	/* gone: dashed */
	ck_assert_ptr_nonnull(strstr(data[0], "#edge-0"));
	ck_assert_ptr_nonnull(strstr(data[0], ":15432 x4"));		/* the backend */
	ck_assert_ptr_nonnull(strstr(data[0], "<polygon"));		/* hexagon, box */
	ck_assert_ptr_nonnull(strstr(data[0], "<ellipse"));		/* service */
	ck_assert_uint_gt(len[1], 8);
	ck_assert(!memcmp(data[1], "\x89PNG", 4));
	free(data[0]);
	free(data[1]);
	agclose(g);
	kt_diagram_cleanup();
	json_decref(topo);
	json_decref(gone);
	json_decref(trouble);
}
END_TEST

Suite *kt_report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("report");

	tcase_add_test(tc, html_escape);
	tcase_add_test(tc, md_escape);
	tcase_add_test(tc, safe_filename);
	tcase_add_test(tc, window_changes);
	tcase_add_test(tc, timeline_sorted);
	tcase_add_test(tc, k8s_timeline);
	tcase_add_test(tc, trouble_marks);
	tcase_add_test(tc, dns_failures_listed);
	tcase_add_test(tc, evidence_without_pcap);
	tcase_add_test(tc, diagram_draws);
	suite_add_tcase(s, tc);
	return s;
}
