/* trouble.c - what to draw in red: edges with failed connections, and the
 * nodes behind them, that failed to resolve a name, or whose pods restarted
 * or were not ready at the end. */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "k8s.h"

uint64_t kt_report_failed_total(const json_t *failed)
{
	const char *k;
	json_t *v;
	uint64_t n = 0;

	json_object_foreach((json_t *)failed, k, v)
		if (json_integer_value(v) > 0)
			n += (uint64_t)json_integer_value(v);
	return n;
}

/* Causes in a fixed order (the JSON object's order is the model's). */
const char *kt_report_failed_str(const json_t *failed, char *buf, size_t len)
{
	static const char *const causes[] = { "refused", "timeout", "unreachable", "reset", "error",
						"aborted" };
	size_t n = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(causes) / sizeof(causes[0]); i++) {
		json_int_t v = json_integer_value(json_object_get(failed, causes[i]));
		int w;

		if (v <= 0)
			continue;
		w = snprintf(buf + n, len - n, "%s%s %" JSON_INTEGER_FORMAT, n ? ", " : "", causes[i], v);
		if (w < 0 || (size_t)w >= len - n)
			break;
		n += (size_t)w;
	}
	return buf;
}

bool kt_report_pod_ready(const struct kt_k8s_object *p)
{
	uint32_t n = 0;

	if (p->u.pod.ready)
		return true;
	for (uint32_t i = 0; i < p->u.pod.ncontainers; i++) {
		if (p->u.pod.containers[i].init)
			continue;
		if (!p->u.pod.containers[i].ready)
			return false;
		n++;
	}
	/* no Ready condition, yet every container says ready (or none says) */
	return n > 0;
}

static int add_reason(json_t *tr, const char *id, const char *reason)
{
	json_t *a = json_object_get(tr, id);

	if (!a) {
		if (!(a = json_array()) || json_object_set_new(tr, id, a))
			return kt_err_set(-ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < json_array_size(a); i++)
		if (!strcmp(json_string_value(json_array_get(a, i)), reason))
			return 0;
	if (json_array_append_new(a, json_string(reason)))
		return kt_err_set(-ENOMEM, "out of memory");
	return 0;
}

#define TROUBLE_DNS_NAMES 3	/* failed names listed per client */

static int dns_more(json_t *tr, const char *client, json_int_t more)
{
	char why[80];

	snprintf(why, sizeof(why), "%" JSON_INTEGER_FORMAT " more names did not resolve", more);
	return add_reason(tr, client, why);
}

struct pods {
	const struct kt_k8s_index *idx;
	const char *level;
	const json_t *nodes;	/* id -> true: the ids the view has */
	json_t *tr;
};

static int pod_cb(void *arg, const struct kt_k8s_object *p)
{
	struct pods *w = arg;
	char id[800], why[200];
	int32_t restarts = 0;
	const char *last = NULL;
	int err = 0;

	if (!strcmp(w->level, "namespace")) {
		snprintf(id, sizeof(id), "namespace:%s", p->ns ? p->ns : "");
	} else if (!strcmp(w->level, "node")) {
		snprintf(id, sizeof(id), "node:%s", p->u.pod.node ? p->u.pod.node : "");
	} else {
		const struct kt_k8s_object *wl = strcmp(w->level, "pod") ?
			kt_k8s_workload(w->idx, p, KT_K8S_LATEST, NULL) : p;

		if (wl && wl != p)
			snprintf(id, sizeof(id), "workload:%s/%s/%s", wl->ns ? wl->ns : "",
				 wl->kind_name ? wl->kind_name : "", wl->name ? wl->name : "");
		else
			snprintf(id, sizeof(id), "pod:%s/%s", p->ns ? p->ns : "", p->name ? p->name : "");
	}
	if (!json_object_get(w->nodes, id))
		return 0;
	for (uint32_t i = 0; i < p->u.pod.ncontainers; i++) {
		restarts += p->u.pod.containers[i].restarts;
		if (p->u.pod.containers[i].last_reason)
			last = p->u.pod.containers[i].last_reason;
	}
	if (restarts > 0) {
		snprintf(why, sizeof(why), "%s restarted %d times%s%s", p->name, restarts,
			 last ? ", last: " : "", last ? last : "");
		err = add_reason(w->tr, id, why);
	}
	if (!err && p->u.pod.phase && (!strcmp(p->u.pod.phase, "Running") ||
				       !strcmp(p->u.pod.phase, "Pending")) && !kt_report_pod_ready(p)) {
		snprintf(why, sizeof(why), "%s not ready", p->name);
		err = add_reason(w->tr, id, why);
	}
	if (!err && p->u.pod.phase && !strcmp(p->u.pod.phase, "Failed")) {
		snprintf(why, sizeof(why), "%s failed%s%s", p->name, p->u.pod.reason ? ": " : "",
			 p->u.pod.reason ? p->u.pod.reason : "");
		err = add_reason(w->tr, id, why);
	}
	return err;
}

int kt_report_trouble(const json_t *topo, const struct kt_k8s_index *idx, json_t **out)
{
	json_t *tr = json_object(), *ids = json_object();
	const json_t *e, *n;
	size_t i;
	int err = 0;

	*out = NULL;
	if (!tr || !ids) {
		err = kt_err_set(-ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(json_object_get(topo, "nodes"), i, n)
		json_object_set_new(ids, json_string_value(json_object_get(n, "id")), json_true());
	json_array_foreach(json_object_get(topo, "edges"), i, e) {
		const json_t *failed = json_object_get(e, "failed");
		char why[400], fb[200];

		if (!kt_report_failed_total(failed))
			continue;
		snprintf(why, sizeof(why), "%s on %s:%" JSON_INTEGER_FORMAT,
			 kt_report_failed_str(failed, fb, sizeof(fb)),
			 json_string_value(json_object_get(e, "protocol")),
			 json_integer_value(json_object_get(e, "port")));
		if ((err = add_reason(tr, json_string_value(json_object_get(e, "dst")), why)))
			goto out;
	}
	/* a name that does not resolve is the asking client's trouble: the
	 * first few names each, then how many more (dns_failures is sorted
	 * by client) */
	{
		const char *prev = NULL;
		json_int_t shown = 0, more = 0;

		json_array_foreach(json_object_get(topo, "dns_failures"), i, e) {
			const char *client = json_string_value(json_object_get(e, "client"));
			char why[400];

			if (!kt_report_dns_failing(e) || !client)
				continue;
			if (!prev || strcmp(prev, client)) {
				if (more && (err = dns_more(tr, prev, more)))
					goto out;
				prev = client;
				shown = more = 0;
			}
			if (shown++ >= TROUBLE_DNS_NAMES) {
				more++;
				continue;
			}
			snprintf(why, sizeof(why), "%s %" JSON_INTEGER_FORMAT " for %s",
				 json_string_value(json_object_get(e, "rcode")),
				 json_integer_value(json_object_get(e, "count")),
				 json_string_value(json_object_get(e, "qname")));
			if ((err = add_reason(tr, client, why)))
				goto out;
		}
		if (more && (err = dns_more(tr, prev, more)))
			goto out;
	}
	if (idx) {
		struct pods w = { idx, json_string_value(json_object_get(topo, "level")), ids, tr };

		if (!w.level)
			w.level = "pod";
		err = kt_k8s_each(idx, KT_K8S_POD, NULL, KT_K8S_LATEST, pod_cb, &w);
		if (err == -EINVAL)
			err = 0;	/* no objects: nothing finished */
		if (err)
			goto out;
	}
	*out = tr;
	tr = NULL;
out:
	json_decref(tr);
	json_decref(ids);
	return err;
}
