/* changes.c - what changed while the capture ran: edges that appear or go
 * away from one window to the next, and what the Kubernetes object index
 * saw change (pods created and deleted, restarts, readiness, scaling,
 * events). Both end up in one timeline, sorted so that the same bundle
 * always gives the same report. */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "k8s.h"
#include "manifest.h"

#define GONE_MIN_WINDOWS 2
#define WINDOWS_MAX 100000u

char *kt_report_edge_key(const json_t *e)
{
	const char *s = json_string_value(json_object_get(e, "src"));
	const char *d = json_string_value(json_object_get(e, "dst"));
	const char *p = json_string_value(json_object_get(e, "protocol"));
	size_t n = (s ? strlen(s) : 0) + (d ? strlen(d) : 0) + (p ? strlen(p) : 0) + 32;
	char *k = malloc(n);

	if (k)
		snprintf(k, n, "%s %s %s %" JSON_INTEGER_FORMAT, s ? s : "", d ? d : "",
			 p ? p : "", json_integer_value(json_object_get(e, "port")));
	return k;
}

static uint64_t u64(const json_t *o, const char *k)
{
	json_int_t v = json_integer_value(json_object_get(o, k));

	return v > 0 ? (uint64_t)v : 0;
}

int kt_report_changes(const json_t *topo, uint64_t start_ns, uint64_t end_ns, json_t **out)
{
	uint64_t w = u64(topo, "window_ns"), first = UINT64_MAX, last = 0, nw;
	const json_t *edges = json_object_get(topo, "edges"), *e, *x;
	json_t *res = NULL, *wins = NULL, *gone = NULL;
	size_t i, j;
	char ts[40];
	int err = 0;

	*out = NULL;
	if (!w)
		return kt_err_set(-EINVAL, "the topology has no windows");
	if (start_ns && end_ns >= start_ns) {
		first = start_ns / w;
		last = (end_ns > start_ns ? end_ns - 1 : start_ns) / w;
	}
	/* edges outside the capture window (a bundle without one) widen it */
	json_array_foreach(edges, i, e) {
		json_array_foreach(json_object_get(e, "windows"), j, x) {
			uint64_t idx = u64(x, "start_ns") / w;

			if (idx < first)
				first = idx;
			if (idx > last)
				last = idx;
		}
	}
	if (first == UINT64_MAX)
		first = last = 0;
	nw = last - first + 1;
	if (nw > WINDOWS_MAX)
		return kt_err_set(-E2BIG, "%" PRIu64 " windows: at most %u", nw, WINDOWS_MAX);
	res = json_object();
	wins = json_array();
	gone = json_array();
	if (!res || !wins || !gone)
		goto nomem;
	for (uint64_t k = 0; k < nw; k++) {
		uint64_t s = (first + k) * w;
		json_t *wo = json_pack("{s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:[], s:[]}",
				       "index", (json_int_t)k, "start_ns", (json_int_t)s,
				       "start", kt_time_str(s, ts, sizeof(ts)),
				       "end_ns", (json_int_t)(s + w), "connections", (json_int_t)0,
				       "failed", (json_int_t)0, "edges", (json_int_t)0,
				       "new", "gone");

		if (!wo || json_array_append_new(wins, wo))
			goto nomem;
	}
	json_array_foreach(edges, i, e) {
		uint64_t lo = UINT64_MAX, hi = 0, prev = UINT64_MAX, maxgap = 0;

		json_array_foreach(json_object_get(e, "windows"), j, x) {
			uint64_t k = u64(x, "start_ns") / w - first;
			json_t *wo = json_array_get(wins, k);

			if (k < lo)
				lo = k;
			if (k > hi)
				hi = k;
			if (prev != UINT64_MAX && k > prev + 1 && k - prev - 1 > maxgap)
				maxgap = k - prev - 1;
			prev = k;
			json_object_set_new(wo, "connections", json_integer(json_integer_value(
				json_object_get(wo, "connections")) + (json_int_t)u64(x, "connections")));
			json_object_set_new(wo, "failed", json_integer(json_integer_value(
				json_object_get(wo, "failed")) +
				(json_int_t)kt_report_failed_total(json_object_get(x, "failed"))));
			json_object_set_new(wo, "edges", json_integer(json_integer_value(
				json_object_get(wo, "edges")) + 1));
		}
		if (lo == UINT64_MAX)
			continue;	/* no window: nothing started in the capture */
		if (lo > 0 &&
		    json_array_append_new(json_object_get(json_array_get(wins, lo), "new"),
					  json_integer((json_int_t)i)))
			goto nomem;
		/* Gone: quiet for at least two windows at the end, and longer
		 * than any pause it made before; a bursty edge between bursts,
		 * or one quiet for a window, is not gone. */
		if (nw - 1 - hi >= GONE_MIN_WINDOWS && nw - 1 - hi > maxgap &&
		    (json_array_append_new(json_object_get(json_array_get(wins, hi + 1), "gone"),
					   json_integer((json_int_t)i)) ||
		     json_array_append_new(gone, json_integer((json_int_t)i))))
			goto nomem;
	}
	json_object_set_new(res, "window_ns", json_integer((json_int_t)w));
	json_object_set_new(res, "windows", wins);
	json_object_set_new(res, "gone", gone);
	*out = res;
	return 0;
nomem:
	err = kt_err_set(-ENOMEM, "out of memory");
	json_decref(res);
	json_decref(wins);
	json_decref(gone);
	return err;
}

/* ---- the Kubernetes side ------------------------------------------------- */

struct k8s_walk {
	uint64_t start, end;
	json_t *timeline;
	json_t *events;		/* event key -> entry: the last version wins */
	int err;
};

static int add(struct k8s_walk *w, uint64_t t, const char *kind, const char *subject,
	       const char *text)
{
	char ts[40];
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s}", "t_ns", (json_int_t)t,
			      "time", kt_time_str(t, ts, sizeof(ts)), "kind", kind,
			      "subject", subject, "text", text);

	if (!o || json_array_append_new(w->timeline, o))
		return kt_err_set(-ENOMEM, "out of memory");
	return 0;
}

static bool in_window(const struct k8s_walk *w, uint64_t t)
{
	return t && t >= w->start && t <= w->end;
}

static void subject(const struct kt_k8s_object *v, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s%s%s", v->kind_name ? v->kind_name : "?",
		 v->ns ? v->ns : "", v->ns && *v->ns ? "/" : "", v->name ? v->name : "?");
}

static int32_t restarts(const struct kt_k8s_object *v, const char **reason)
{
	int32_t n = 0;

	for (uint32_t i = 0; i < v->u.pod.ncontainers; i++) {
		n += v->u.pod.containers[i].restarts;
		if (v->u.pod.containers[i].last_reason)
			*reason = v->u.pod.containers[i].last_reason;
	}
	return n;
}

static int pod_version(struct k8s_walk *w, const struct kt_k8s_object *v,
		       const struct kt_k8s_object *prev)
{
	char subj[600], text[300];
	const char *reason = NULL;
	int err = 0;

	subject(v, subj, sizeof(subj));
	if (!prev && in_window(w, v->created_ns)) {
		snprintf(text, sizeof(text), "created%s%s", v->u.pod.node ? " on " : "",
			 v->u.pod.node ? v->u.pod.node : "");
		err = add(w, v->created_ns, "pod-created", subj, text);
	}
	if (!err && prev) {
		int32_t a = restarts(prev, &reason), b = restarts(v, &reason);

		if (b > a) {
			snprintf(text, sizeof(text), "restarted (%d restarts%s%s)", b,
				 reason ? ", last: " : "", reason ? reason : "");
			err = add(w, v->from_ns, "restart", subj, text);
		}
		if (!err && kt_report_pod_ready(prev) != kt_report_pod_ready(v))
			err = add(w, v->from_ns, kt_report_pod_ready(v) ? "ready" : "not-ready", subj,
				  kt_report_pod_ready(v) ? "became ready" : "became not ready");
	}
	if (!err && v->deleted && v->until_ns != UINT64_MAX && in_window(w, v->until_ns))
		err = add(w, v->until_ns, "pod-deleted", subj, "deleted");
	return err;
}

static int version_cb(void *arg, const struct kt_k8s_object *v, const struct kt_k8s_object *prev)
{
	struct k8s_walk *w = arg;
	char subj[600], text[400];

	subject(v, subj, sizeof(subj));
	switch (v->kind) {
	case KT_K8S_POD:
		return pod_version(w, v, prev);
	case KT_K8S_DEPLOYMENT:
	case KT_K8S_STATEFULSET:
	case KT_K8S_REPLICATIONCONTROLLER:
		if (prev && prev->u.wl.spec_replicas != v->u.wl.spec_replicas &&
		    in_window(w, v->from_ns)) {
			snprintf(text, sizeof(text), "scaled from %d to %d replicas",
				 prev->u.wl.spec_replicas, v->u.wl.spec_replicas);
			return add(w, v->from_ns, "scale", subj, text);
		}
		return 0;
	case KT_K8S_HPA:
		if (prev && prev->u.hpa.desired_replicas != v->u.hpa.desired_replicas &&
		    in_window(w, v->from_ns)) {
			snprintf(text, sizeof(text), "wants %d replicas (was %d, current %d, cpu %d%%)",
				 v->u.hpa.desired_replicas, prev->u.hpa.desired_replicas,
				 v->u.hpa.current_replicas, v->u.hpa.current_cpu);
			return add(w, v->from_ns, "hpa", subj, text);
		}
		return 0;
	case KT_K8S_EVENT: {
		uint64_t t = v->u.ev.last_ns ? v->u.ev.last_ns : v->u.ev.first_ns ?
			     v->u.ev.first_ns : v->from_ns;
		char key[700], ts[40];
		json_t *o;

		/* an hour before the capture: what led to it */
		if (!t || t + 3600000000000ull < w->start || t > w->end)
			return 0;
		snprintf(key, sizeof(key), "%s/%s/%s", v->uid ? v->uid : "", v->ns ? v->ns : "",
			 v->name ? v->name : "");
		snprintf(subj, sizeof(subj), "%s %s%s%s", v->u.ev.involved.kind ? v->u.ev.involved.kind : "?",
			 v->u.ev.involved.ns ? v->u.ev.involved.ns : "",
			 v->u.ev.involved.ns && *v->u.ev.involved.ns ? "/" : "",
			 v->u.ev.involved.name ? v->u.ev.involved.name : "?");
		snprintf(text, sizeof(text), "%s%s%s%s", v->u.ev.reason ? v->u.ev.reason : "",
			 v->u.ev.message ? ": " : "", v->u.ev.message ? v->u.ev.message : "",
			 v->u.ev.count > 1 ? " (repeated)" : "");
		o = json_pack("{s:I, s:s, s:s, s:s, s:s}", "t_ns", (json_int_t)t,
			      "time", kt_time_str(t, ts, sizeof(ts)),
			      "kind", v->u.ev.type && !strcmp(v->u.ev.type, "Warning") ?
				      "warning" : "event", "subject", subj, "text", text);
		if (!o || json_object_set_new(w->events, key, o))
			return kt_err_set(-ENOMEM, "out of memory");
		return 0;
	}
	default:
		return 0;
	}
}

int kt_report_k8s_timeline(const struct kt_k8s_index *idx, uint64_t start_ns, uint64_t end_ns,
			   json_t *timeline)
{
	static const enum kt_k8s_kind kinds[] = {
		KT_K8S_POD, KT_K8S_DEPLOYMENT, KT_K8S_STATEFULSET,
		KT_K8S_REPLICATIONCONTROLLER, KT_K8S_HPA, KT_K8S_EVENT,
	};
	struct k8s_walk w = { .start = start_ns, .end = end_ns ? end_ns : UINT64_MAX,
			      .timeline = timeline, .events = json_object() };
	const char *k;
	json_t *v;
	int err = 0;

	if (!w.events)
		return kt_err_set(-ENOMEM, "out of memory");
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && !err; i++)
		err = kt_k8s_each_version(idx, kinds[i], version_cb, &w);
	if (err == -EINVAL)
		err = 0;	/* an index not finished: a bundle without k8s/ */
	json_object_foreach(w.events, k, v)
		if (!err && json_array_append(timeline, v))
			err = kt_err_set(-ENOMEM, "out of memory");
	json_decref(w.events);
	return err;
}

static int cmp_entry(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	uint64_t tx = u64(x, "t_ns"), ty = u64(y, "t_ns");
	static const char *const keys[] = { "kind", "subject", "text" };

	if (tx != ty)
		return tx < ty ? -1 : 1;
	for (int i = 0; i < 3; i++) {
		const char *sx = json_string_value(json_object_get(x, keys[i]));
		const char *sy = json_string_value(json_object_get(y, keys[i]));
		int c = strcmp(sx ? sx : "", sy ? sy : "");

		if (c)
			return c;
	}
	return 0;
}

void kt_report_timeline_sort(json_t *timeline, size_t max)
{
	size_t n = json_array_size(timeline);
	json_t **v = malloc((n ? n : 1) * sizeof(*v));

	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(timeline, i));
	qsort(v, n, sizeof(*v), cmp_entry);
	json_array_clear(timeline);
	for (size_t i = 0; i < n; i++) {
		if (i < max)
			json_array_append(timeline, v[i]);
		json_decref(v[i]);
	}
	free(v);
}
