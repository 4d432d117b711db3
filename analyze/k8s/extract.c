/* extract.c - from one Kubernetes JSON object to the few fields the index
 * keeps. Input is untrusted: every member is type-checked, missing members
 * read as unset, and arrays are capped so a hostile dump cannot make one
 * object hold unbounded memory. */
#include "index.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "error.h"

#define ARRAY_MAX 4096u		/* items kept of any one array */
#define ANNOTATION_VALUE_MAX 256u	/* longer annotation values are not kept */

struct ctx {
	struct kt_k8s_index *idx;
	int err;
};

static const char *S(struct ctx *c, const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	const char *r;

	if (!json_is_string(v))
		return NULL;
	r = kt_intern(&c->idx->in, json_string_value(v), json_string_length(v));
	if (!r)
		c->err = -ENOMEM;
	return r;
}

static int32_t I(const json_t *o, const char *key, int32_t dflt)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v))
		return dflt;
	json_int_t x = json_integer_value(v);
	return x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : (int32_t)x;
}

static bool B(const json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

static uint64_t T(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	uint64_t ns = 0;

	if (json_is_string(v))
		kt_k8s_time_parse(json_string_value(v), &ns);
	return ns;
}

static void *A(struct ctx *c, size_t n, size_t size)
{
	void *p;

	if (!n)
		return NULL;
	p = kt_arena_alloc(&c->idx->arena, n * size);
	if (!p)
		c->err = -ENOMEM;
	return p;
}

static size_t arr_len(const json_t *a)
{
	size_t n = json_is_array(a) ? json_array_size(a) : 0;

	return n > ARRAY_MAX ? ARRAY_MAX : n;
}

static const char *compact(struct ctx *c, const json_t *v)
{
	char *s;
	const char *r;

	if (!v || json_is_null(v))
		return NULL;
	s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (!s) {
		c->err = -ENOMEM;
		return NULL;
	}
	r = kt_intern_str(&c->idx->in, s);
	free(s);
	if (!r)
		c->err = -ENOMEM;
	return r;
}

static const char *IP(struct ctx *c, const char *s)
{
	return s ? kt_k8s_ip_intern(c->idx, s) : NULL;
}

/* A string map ({"app": "web"}) as labels; values not strings are skipped. */
static void labels(struct ctx *c, const json_t *m, struct kt_k8s_label **out,
		   uint32_t *n, size_t vmax)
{
	const char *k;
	const json_t *v;
	size_t cnt = json_is_object(m) ? json_object_size(m) : 0, i = 0;

	if (cnt > ARRAY_MAX)
		cnt = ARRAY_MAX;
	*out = A(c, cnt, sizeof(**out));
	if (!*out)
		return;
	json_object_foreach((json_t *)m, k, v) {
		if (i == cnt)
			break;
		if (!json_is_string(v))
			continue;
		(*out)[i].key = kt_intern_str(&c->idx->in, k);
		(*out)[i].value = json_string_length(v) <= vmax ?
			kt_intern(&c->idx->in, json_string_value(v),
				  json_string_length(v)) : NULL;
		i++;
	}
	*n = (uint32_t)i;
}

static void selector(struct ctx *c, const json_t *s, struct kt_k8s_selector *sel)
{
	const json_t *ex = json_object_get(s, "matchExpressions");
	size_t n = arr_len(ex);

	if (!json_is_object(s))
		return;
	sel->present = true;
	labels(c, json_object_get(s, "matchLabels"), &sel->match, &sel->nmatch,
	       SIZE_MAX);
	sel->exprs = A(c, n, sizeof(*sel->exprs));
	for (size_t i = 0; sel->exprs && i < n; i++) {
		const json_t *e = json_array_get(ex, i);
		const json_t *vals = json_object_get(e, "values");
		struct kt_k8s_expr *x = &sel->exprs[sel->nexprs];
		size_t nv = arr_len(vals);

		x->key = S(c, e, "key");
		x->op = S(c, e, "operator");
		if (!x->key || !x->op)
			continue;
		x->values = A(c, nv, sizeof(*x->values));
		for (size_t j = 0; x->values && j < nv; j++) {
			const json_t *v = json_array_get(vals, j);

			if (json_is_string(v))
				x->values[x->nvalues++] = kt_intern_str(&c->idx->in,
						json_string_value(v));
		}
		sel->nexprs++;
	}
}

static void ref(struct ctx *c, const json_t *r, struct kt_k8s_ref *out)
{
	out->kind = S(c, r, "kind");
	out->ns = S(c, r, "namespace");
	out->name = S(c, r, "name");
	out->uid = S(c, r, "uid");
	out->controller = B(r, "controller");
}

static void ports(struct ctx *c, const json_t *a, const char *portkey,
		  struct kt_k8s_port **out, uint32_t *n)
{
	size_t cnt = arr_len(a);

	*out = A(c, cnt, sizeof(**out));
	for (size_t i = 0; *out && i < cnt; i++) {
		const json_t *p = json_array_get(a, i);
		const json_t *tp = json_object_get(p, "targetPort");
		struct kt_k8s_port *o = &(*out)[*n];

		if (!json_is_object(p))
			continue;
		o->name = S(c, p, "name");
		o->protocol = S(c, p, "protocol");
		if (!o->protocol)
			o->protocol = kt_intern_str(&c->idx->in, "TCP");
		o->port = I(p, portkey, 0);
		o->node_port = I(p, "nodePort", 0);
		o->app_protocol = S(c, p, "appProtocol");
		if (json_is_integer(tp))
			o->target_port = I(p, "targetPort", 0);
		else if (json_is_string(tp))
			o->target_port_name = S(c, p, "targetPort");
		(*n)++;
	}
}

static void container_statuses(struct ctx *c, struct kt_k8s_pod *pod,
			       const json_t *st, bool init)
{
	size_t n = arr_len(st);

	for (size_t i = 0; i < n; i++) {
		const json_t *s = json_array_get(st, i);
		const char *name = S(c, s, "name");
		const char *id = S(c, s, "containerID");
		const json_t *state = json_object_get(s, "state");
		const json_t *last = json_object_get(json_object_get(s, "lastState"),
						     "terminated");
		struct kt_k8s_container *k = NULL;

		for (uint32_t j = 0; j < pod->ncontainers; j++)
			if (pod->containers[j].name == name &&
			    pod->containers[j].init == init)
				k = &pod->containers[j];
		if (!k)
			continue;
		if (id) {
			const char *sep = strstr(id, "://");

			if (sep) {
				k->runtime = kt_intern(&c->idx->in, id, sep - id);
				k->container_id = kt_intern_str(&c->idx->in, sep + 3);
			} else {
				k->container_id = id;
			}
		}
		k->restarts = I(s, "restartCount", 0);
		k->ready = B(s, "ready");
		if (json_is_object(state)) {
			const char *sname;
			const json_t *sv;

			json_object_foreach((json_t *)state, sname, sv) {
				k->state = kt_intern_str(&c->idx->in, sname);
				k->reason = S(c, sv, "reason");
				break;
			}
		}
		if (json_is_object(last)) {
			k->last_reason = S(c, last, "reason");
			k->last_exit_code = I(last, "exitCode", 0);
		}
	}
}

static void containers(struct ctx *c, struct kt_k8s_pod *pod, const json_t *spec)
{
	const json_t *ic = json_object_get(spec, "initContainers");
	const json_t *cc = json_object_get(spec, "containers");
	size_t ni = arr_len(ic), nc = arr_len(cc);

	pod->containers = A(c, ni + nc, sizeof(*pod->containers));
	for (size_t i = 0; pod->containers && i < ni + nc; i++) {
		const json_t *j = i < ni ? json_array_get(ic, i) :
			json_array_get(cc, i - ni);
		struct kt_k8s_container *k = &pod->containers[pod->ncontainers];
		const json_t *env = json_object_get(j, "env");

		if (!json_is_object(j))
			continue;
		k->name = S(c, j, "name");
		k->image = S(c, j, "image");
		k->init = i < ni;
		ports(c, json_object_get(j, "ports"), "containerPort", &k->ports,
		      &k->nports);
		for (size_t e = 0; e < arr_len(env); e++)
			if (json_object_get(json_array_get(env, e), "value"))
				k->has_env_values = true;
		pod->ncontainers++;
	}
}

static void ip_list(struct ctx *c, const json_t *a, const char *field,
		    const char ***out, uint32_t *n, const char *first)
{
	size_t cnt = arr_len(a);

	*out = A(c, cnt + 1, sizeof(**out));
	if (!*out)
		return;
	if (first)
		(*out)[(*n)++] = first;
	for (size_t i = 0; i < cnt; i++) {
		const json_t *v = json_array_get(a, i);
		const char *ip = IP(c, json_is_string(v) ? json_string_value(v) :
			json_string_value(json_object_get(v, field)));

		if (!ip)
			continue;
		bool dup = false;
		for (uint32_t j = 0; j < *n; j++)
			dup |= (*out)[j] == ip;
		if (!dup)
			(*out)[(*n)++] = ip;
	}
}

static void pod(struct ctx *c, struct kt_k8s_object *o, const json_t *j)
{
	const json_t *spec = json_object_get(j, "spec");
	const json_t *st = json_object_get(j, "status");
	const json_t *conds = json_object_get(st, "conditions");
	struct kt_k8s_pod *p = &o->u.pod;

	p->node = S(c, spec, "nodeName");
	p->host_network = B(spec, "hostNetwork");
	p->service_account = S(c, spec, "serviceAccountName");
	p->phase = S(c, st, "phase");
	p->reason = S(c, st, "reason");
	p->qos_class = S(c, st, "qosClass");
	p->host_ip = IP(c, json_string_value(json_object_get(st, "hostIP")));
	p->start_ns = T(st, "startTime");
	ip_list(c, json_object_get(st, "podIPs"), "ip", &p->ips, &p->nips,
		IP(c, json_string_value(json_object_get(st, "podIP"))));
	for (size_t i = 0; i < arr_len(conds); i++) {
		const json_t *k = json_array_get(conds, i);
		const char *type = json_string_value(json_object_get(k, "type"));

		if (type && strcmp(type, "Ready") == 0)
			p->ready = json_is_string(json_object_get(k, "status")) &&
				strcmp(json_string_value(json_object_get(k, "status")),
				       "True") == 0;
	}
	containers(c, p, spec);
	container_statuses(c, p, json_object_get(st, "initContainerStatuses"), true);
	container_statuses(c, p, json_object_get(st, "containerStatuses"), false);
}

static void service(struct ctx *c, struct kt_k8s_object *o, const json_t *j)
{
	const json_t *spec = json_object_get(j, "spec");
	const json_t *ing = json_object_get(json_object_get(json_object_get(j,
				"status"), "loadBalancer"), "ingress");
	struct kt_k8s_service *s = &o->u.svc;
	const char *cip = S(c, spec, "clusterIP");

	s->type = S(c, spec, "type");
	s->external_name = S(c, spec, "externalName");
	s->headless = cip && strcmp(cip, "None") == 0;
	ip_list(c, json_object_get(spec, "clusterIPs"), NULL, &s->cluster_ips,
		&s->ncluster_ips, IP(c, cip));
	ip_list(c, json_object_get(spec, "externalIPs"), NULL, &s->external_ips,
		&s->nexternal_ips, NULL);
	/* Load balancer addresses are external IPs of the service too. */
	if (arr_len(ing)) {
		const char **all = A(c, s->nexternal_ips + arr_len(ing),
				     sizeof(*all));

		if (all) {
			uint32_t n = s->nexternal_ips;

			if (n)
				memcpy(all, s->external_ips, n * sizeof(*all));
			for (size_t i = 0; i < arr_len(ing); i++) {
				const char *ip = IP(c, json_string_value(
					json_object_get(json_array_get(ing, i), "ip")));
				if (ip)
					all[n++] = ip;
			}
			s->external_ips = all;
			s->nexternal_ips = n;
		}
	}
	ports(c, json_object_get(spec, "ports"), "port", &s->ports, &s->nports);
	labels(c, json_object_get(spec, "selector"), &s->selector, &s->nselector,
	       SIZE_MAX);
}

static void ep_addr(struct ctx *c, struct kt_k8s_endpoints *e, const json_t *a,
		    bool ready)
{
	struct kt_k8s_endpoint *x = &e->addrs[e->naddrs];

	x->ip = IP(c, json_string_value(json_object_get(a, "ip")));
	if (!x->ip)
		return;
	x->node = S(c, a, "nodeName");
	x->hostname = S(c, a, "hostname");
	ref(c, json_object_get(a, "targetRef"), &x->target);
	x->ready = ready;
	e->naddrs++;
}

static void endpoints(struct ctx *c, struct kt_k8s_object *o, const json_t *j)
{
	const json_t *subsets = json_object_get(j, "subsets");
	struct kt_k8s_endpoints *e = &o->u.ep;
	size_t total = 0, ns = arr_len(subsets);

	e->service = o->name;
	for (size_t i = 0; i < ns; i++) {
		const json_t *s = json_array_get(subsets, i);

		total += arr_len(json_object_get(s, "addresses")) +
			arr_len(json_object_get(s, "notReadyAddresses"));
	}
	e->addrs = A(c, total, sizeof(*e->addrs));
	for (size_t i = 0; i < ns; i++) {
		const json_t *s = json_array_get(subsets, i);
		const json_t *a = json_object_get(s, "addresses");
		const json_t *na = json_object_get(s, "notReadyAddresses");

		for (size_t k = 0; e->addrs && k < arr_len(a); k++)
			ep_addr(c, e, json_array_get(a, k), true);
		for (size_t k = 0; e->addrs && k < arr_len(na); k++)
			ep_addr(c, e, json_array_get(na, k), false);
		/* Subsets split ports by address group; the index keeps the
		 * union, which is what attribution by port needs. */
		if (!e->nports)
			ports(c, json_object_get(s, "ports"), "port", &e->ports,
			      &e->nports);
	}
}

static void endpointslice(struct ctx *c, struct kt_k8s_object *o, const json_t *j)
{
	const json_t *eps = json_object_get(j, "endpoints");
	struct kt_k8s_endpoints *e = &o->u.ep;
	size_t total = 0, n = arr_len(eps);

	e->service = kt_k8s_label(o, "kubernetes.io/service-name");
	e->address_type = S(c, j, "addressType");
	for (size_t i = 0; i < n; i++)
		total += arr_len(json_object_get(json_array_get(eps, i), "addresses"));
	e->addrs = A(c, total, sizeof(*e->addrs));
	for (size_t i = 0; e->addrs && i < n; i++) {
		const json_t *ep = json_array_get(eps, i);
		const json_t *addrs = json_object_get(ep, "addresses");
		const json_t *cond = json_object_get(ep, "conditions");
		const json_t *rd = json_object_get(cond, "ready");

		for (size_t k = 0; k < arr_len(addrs); k++) {
			struct kt_k8s_endpoint *x = &e->addrs[e->naddrs];
			const json_t *a = json_array_get(addrs, k);

			if (!json_is_string(a))
				continue;
			/* FQDN slices carry names, not IPs. */
			x->ip = IP(c, json_string_value(a));
			if (!x->ip)
				x->ip = kt_intern_str(&c->idx->in, json_string_value(a));
			x->node = S(c, ep, "nodeName");
			x->hostname = S(c, ep, "hostname");
			ref(c, json_object_get(ep, "targetRef"), &x->target);
			/* The API says an unset ready condition means ready. */
			x->ready = !json_is_false(rd);
			e->naddrs++;
		}
	}
	ports(c, json_object_get(j, "ports"), "port", &e->ports, &e->nports);
}

static void workload(struct ctx *c, struct kt_k8s_object *o, const json_t *j)
{
	const json_t *spec = json_object_get(j, "spec");
	const json_t *st = json_object_get(j, "status");
	struct kt_k8s_workload *w = &o->u.wl;

	w->spec_replicas = I(spec, "replicas", -1);
	w->replicas = I(st, "replicas", 0);
	w->ready = I(st, "readyReplicas", I(st, "numberReady", 0));
	w->available = I(st, "availableReplicas", I(st, "numberAvailable", 0));
	w->updated = I(st, "updatedReplicas", I(st, "updatedNumberScheduled", 0));
	if (o->kind == KT_K8S_DAEMONSET) {
		w->spec_replicas = I(st, "desiredNumberScheduled", -1);
		w->replicas = I(st, "currentNumberScheduled", 0);
	}
	w->active = I(st, "active", 0);
	if (json_is_array(json_object_get(st, "active")))
		w->active = (int32_t)arr_len(json_object_get(st, "active"));
	w->succeeded = I(st, "succeeded", 0);
	w->failed = I(st, "failed", 0);
	w->schedule = S(c, spec, "schedule");
	w->suspend = B(spec, "suspend");
	if (o->kind == KT_K8S_REPLICATIONCONTROLLER) {
		/* An RC selector is a plain map. */
		w->selector.present = json_is_object(json_object_get(spec, "selector"));
		labels(c, json_object_get(spec, "selector"), &w->selector.match,
		       &w->selector.nmatch, SIZE_MAX);
	} else {
		selector(c, json_object_get(spec, "selector"), &w->selector);
	}
}

static void node(struct ctx *c, struct kt_k8s_object *o, const json_t *j)
{
	const json_t *spec = json_object_get(j, "spec");
	const json_t *st = json_object_get(j, "status");
	const json_t *addrs = json_object_get(st, "addresses");
	const json_t *conds = json_object_get(st, "conditions");
	const json_t *info = json_object_get(st, "nodeInfo");
	struct kt_k8s_node_info *n = &o->u.node;
	size_t na = arr_len(addrs);

	n->addresses = A(c, na, sizeof(*n->addresses));
	for (size_t i = 0; n->addresses && i < na; i++) {
		const json_t *a = json_array_get(addrs, i);
		const char *type = json_string_value(json_object_get(a, "type"));
		const char *addr = S(c, a, "address");
		const char *ip = addr ? IP(c, addr) : NULL;

		if (!type || !addr)
			continue;
		if (strcmp(type, "Hostname") == 0)
			n->hostname = addr;
		if (!ip)
			continue;
		if (strcmp(type, "InternalIP") == 0 && !n->internal_ip)
			n->internal_ip = ip;
		if (strcmp(type, "ExternalIP") == 0 && !n->external_ip)
			n->external_ip = ip;
		n->addresses[n->naddresses++] = ip;
	}
	{
		const json_t *pc = json_object_get(spec, "podCIDRs");

		n->pod_cidrs = A(c, arr_len(pc) + 1, sizeof(*n->pod_cidrs));
		for (size_t i = 0; n->pod_cidrs && i < arr_len(pc); i++)
			if (json_is_string(json_array_get(pc, i)))
				n->pod_cidrs[n->npod_cidrs++] = kt_intern_str(&c->idx->in,
					json_string_value(json_array_get(pc, i)));
		if (n->pod_cidrs && !n->npod_cidrs && S(c, spec, "podCIDR"))
			n->pod_cidrs[n->npod_cidrs++] = S(c, spec, "podCIDR");
	}
	n->unschedulable = B(spec, "unschedulable");
	n->kubelet_version = S(c, info, "kubeletVersion");
	n->os_image = S(c, info, "osImage");
	n->runtime_version = S(c, info, "containerRuntimeVersion");
	for (size_t i = 0; i < arr_len(conds); i++) {
		const json_t *k = json_array_get(conds, i);
		const char *type = json_string_value(json_object_get(k, "type"));
		const char *status = json_string_value(json_object_get(k, "status"));

		if (type && status && strcmp(type, "Ready") == 0)
			n->ready = strcmp(status, "True") == 0;
	}
}

static void netpol(struct ctx *c, struct kt_k8s_object *o, const json_t *j)
{
	const json_t *spec = json_object_get(j, "spec");
	const json_t *types = json_object_get(spec, "policyTypes");
	struct kt_k8s_netpol *p = &o->u.np;

	selector(c, json_object_get(spec, "podSelector"), &p->pod_selector);
	/* A policy without podSelector selects every pod of its namespace. */
	p->pod_selector.present = true;
	p->ningress_rules = (uint32_t)arr_len(json_object_get(spec, "ingress"));
	p->negress_rules = (uint32_t)arr_len(json_object_get(spec, "egress"));
	if (arr_len(types)) {
		for (size_t i = 0; i < arr_len(types); i++) {
			const char *t = json_string_value(json_array_get(types, i));

			p->ingress |= t && strcmp(t, "Ingress") == 0;
			p->egress |= t && strcmp(t, "Egress") == 0;
		}
	} else {
		/* The API's default: Ingress always, Egress when rules exist. */
		p->ingress = true;
		p->egress = json_object_get(spec, "egress") != NULL;
	}
	p->spec_json = compact(c, spec);
}

static void hpa(struct ctx *c, struct kt_k8s_object *o, const json_t *j)
{
	const json_t *spec = json_object_get(j, "spec");
	const json_t *st = json_object_get(j, "status");
	const json_t *metrics = json_object_get(spec, "metrics");
	struct kt_k8s_hpa *h = &o->u.hpa;

	ref(c, json_object_get(spec, "scaleTargetRef"), &h->target);
	h->target.ns = o->ns;
	h->min_replicas = I(spec, "minReplicas", 1);
	h->max_replicas = I(spec, "maxReplicas", 0);
	h->current_replicas = I(st, "currentReplicas", 0);
	h->desired_replicas = I(st, "desiredReplicas", 0);
	h->target_cpu = I(spec, "targetCPUUtilizationPercentage", -1);
	h->current_cpu = I(st, "currentCPUUtilizationPercentage", -1);
	h->last_scale_ns = T(st, "lastScaleTime");
	/* autoscaling/v2: the CPU target and value sit in the metric lists. */
	for (size_t i = 0; i < arr_len(metrics); i++) {
		const json_t *r = json_object_get(json_array_get(metrics, i), "resource");
		const char *name = json_string_value(json_object_get(r, "name"));

		if (name && strcmp(name, "cpu") == 0)
			h->target_cpu = I(json_object_get(r, "target"),
					  "averageUtilization", h->target_cpu);
	}
	metrics = json_object_get(st, "currentMetrics");
	for (size_t i = 0; i < arr_len(metrics); i++) {
		const json_t *r = json_object_get(json_array_get(metrics, i), "resource");
		const char *name = json_string_value(json_object_get(r, "name"));

		if (name && strcmp(name, "cpu") == 0)
			h->current_cpu = I(json_object_get(r, "current"),
					   "averageUtilization", h->current_cpu);
	}
	h->conditions_json = compact(c, json_object_get(st, "conditions"));
	h->metrics_json = compact(c, json_object_get(st, "currentMetrics"));
}

static void event(struct ctx *c, struct kt_k8s_object *o, const json_t *j)
{
	struct kt_k8s_event *e = &o->u.ev;
	const json_t *inv = json_object_get(j, "involvedObject");
	const json_t *series = json_object_get(j, "series");

	/* core/v1 Events and events.k8s.io/v1 Events name things differently. */
	if (!inv)
		inv = json_object_get(j, "regarding");
	ref(c, inv, &e->involved);
	e->reason = S(c, j, "reason");
	e->message = S(c, j, "message");
	if (!e->message)
		e->message = S(c, j, "note");
	e->type = S(c, j, "type");
	e->action = S(c, j, "action");
	e->source = S(c, json_object_get(j, "source"), "component");
	if (!e->source)
		e->source = S(c, j, "reportingComponent");
	if (!e->source)
		e->source = S(c, j, "reportingController");
	e->count = I(j, "count", I(j, "deprecatedCount", 0));
	if (json_is_object(series))
		e->count = I(series, "count", e->count);
	e->first_ns = T(j, "firstTimestamp");
	if (!e->first_ns)
		e->first_ns = T(j, "deprecatedFirstTimestamp");
	e->last_ns = T(j, "lastTimestamp");
	if (!e->last_ns)
		e->last_ns = T(j, "deprecatedLastTimestamp");
	if (!e->last_ns)
		e->last_ns = T(series, "lastObservedTime");
	if (!e->last_ns)
		e->last_ns = T(j, "eventTime");
	if (!e->first_ns)
		e->first_ns = T(j, "eventTime");
	if (!e->first_ns)
		e->first_ns = e->last_ns;
}

static void ingress(struct ctx *c, struct kt_k8s_object *o, const json_t *j)
{
	const json_t *spec = json_object_get(j, "spec");
	const json_t *rules = json_object_get(spec, "rules");
	struct kt_k8s_misc *m = &o->u.misc;
	size_t total = 0;

	for (size_t i = 0; i < arr_len(rules); i++)
		total += arr_len(json_object_get(json_object_get(json_array_get(rules,
			i), "http"), "paths"));
	m->backends = A(c, total, sizeof(*m->backends));
	for (size_t i = 0; m->backends && i < arr_len(rules); i++) {
		const json_t *r = json_array_get(rules, i);
		const json_t *paths = json_object_get(json_object_get(r, "http"), "paths");
		const char *host = json_string_value(json_object_get(r, "host"));

		for (size_t k = 0; k < arr_len(paths); k++) {
			const json_t *p = json_array_get(paths, k);
			const json_t *svc = json_object_get(json_object_get(p, "backend"),
							    "service");
			const json_t *port = json_object_get(svc, "port");
			const char *path = json_string_value(json_object_get(p, "path"));
			const char *name = json_string_value(json_object_get(svc, "name"));
			char buf[1024];

			if (!name)
				continue;
			if (json_is_string(json_object_get(port, "name")))
				snprintf(buf, sizeof(buf), "%s%s -> %s:%s", host ? host : "*",
					 path ? path : "/", name,
					 json_string_value(json_object_get(port, "name")));
			else
				snprintf(buf, sizeof(buf), "%s%s -> %s:%d", host ? host : "*",
					 path ? path : "/", name, I(port, "number", 0));
			m->backends[m->nbackends++] = kt_intern_str(&c->idx->in, buf);
		}
	}
}

int kt_k8s_extract(struct kt_k8s_index *idx, const json_t *j,
		   const char *kind_hint, struct kt_k8s_object **out)
{
	struct ctx c = { .idx = idx };
	const json_t *md = json_object_get(j, "metadata");
	const json_t *owners = json_object_get(md, "ownerReferences");
	struct kt_k8s_object *o;
	const char *kind;
	int err = 0;

	if (!json_is_object(j) || !json_is_object(md) ||
	    !json_is_string(json_object_get(md, "name"))) {
		err = kt_err_set(-EPROTO, "object without metadata.name");
		goto out;
	}
	o = kt_arena_alloc(&idx->arena, sizeof(*o));
	if (!o) {
		err = -ENOMEM;
		goto out;
	}
	kind = json_string_value(json_object_get(j, "kind"));
	if (!kind)
		kind = kind_hint;
	o->kind = kt_k8s_kind_parse(kind);
	o->kind_name = o->kind ? kt_k8s_kind_name(o->kind) :
		kt_intern_str(&idx->in, kind ? kind : "Unknown");
	o->api_version = S(&c, j, "apiVersion");
	o->name = S(&c, md, "name");
	o->ns = kt_k8s_kind_cluster_scoped(o->kind) ? NULL : S(&c, md, "namespace");
	o->uid = S(&c, md, "uid");
	o->resource_version = S(&c, md, "resourceVersion");
	o->created_ns = T(md, "creationTimestamp");
	o->deleted_ns = T(md, "deletionTimestamp");
	o->until_ns = UINT64_MAX;
	labels(&c, json_object_get(md, "labels"), &o->labels, &o->nlabels, SIZE_MAX);
	/* Long annotation values (last-applied-configuration, JSON blobs) are
	 * what make dumps big; queries only need names and short values. */
	labels(&c, json_object_get(md, "annotations"), &o->annotations,
	       &o->nannotations, ANNOTATION_VALUE_MAX);
	o->owners = A(&c, arr_len(owners), sizeof(*o->owners));
	for (size_t i = 0; o->owners && i < arr_len(owners); i++) {
		ref(&c, json_array_get(owners, i), &o->owners[o->nowners]);
		o->owners[o->nowners].ns = o->ns;
		if (o->owners[o->nowners].kind && o->owners[o->nowners].name)
			o->nowners++;
	}
	switch (o->kind) {
	case KT_K8S_POD: pod(&c, o, j); break;
	case KT_K8S_SERVICE: service(&c, o, j); break;
	case KT_K8S_ENDPOINTS: endpoints(&c, o, j); break;
	case KT_K8S_ENDPOINTSLICE: endpointslice(&c, o, j); break;
	case KT_K8S_DEPLOYMENT:
	case KT_K8S_REPLICASET:
	case KT_K8S_STATEFULSET:
	case KT_K8S_DAEMONSET:
	case KT_K8S_JOB:
	case KT_K8S_CRONJOB:
	case KT_K8S_REPLICATIONCONTROLLER: workload(&c, o, j); break;
	case KT_K8S_NODE: node(&c, o, j); break;
	case KT_K8S_NETWORKPOLICY: netpol(&c, o, j); break;
	case KT_K8S_HPA: hpa(&c, o, j); break;
	case KT_K8S_EVENT: event(&c, o, j); break;
	case KT_K8S_PVC:
		o->u.misc.phase = S(&c, json_object_get(j, "status"), "phase");
		o->u.misc.volume = S(&c, json_object_get(j, "spec"), "volumeName");
		o->u.misc.storage_class = S(&c, json_object_get(j, "spec"),
					    "storageClassName");
		break;
	case KT_K8S_PV:
		o->u.misc.phase = S(&c, json_object_get(j, "status"), "phase");
		o->u.misc.storage_class = S(&c, json_object_get(j, "spec"),
					    "storageClassName");
		break;
	case KT_K8S_INGRESS: ingress(&c, o, j); break;
	default: break;
	}
	err = c.err;
	if (!err)
		*out = o;
out:
	return err;
}

/* Timestamps the API writes: RFC 3339 with an optional fraction ("Z" or an
 * offset). strptime does the calendar; the fraction and offset are ours. */
int kt_k8s_time_parse(const char *s, uint64_t *out)
{
	struct tm tm = { 0 };
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	uint64_t frac = 0, scale = 1000000000ull;
	int64_t off = 0;
	time_t secs;

	if (!p)
		return -EINVAL;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*p - '0') * scale;
			}
			p++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int h = (p[1] - '0') * 10 + (p[2] - '0');
		int m = (p[4] - '0') * 10 + (p[5] - '0');

		off = (int64_t)(h * 3600 + m * 60) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	secs = timegm(&tm);
	if (secs - off < 0)
		return -EINVAL;
	*out = (uint64_t)(secs - off) * 1000000000ull + frac;
	return 0;
}

int kt_k8s_ip_parse(const char *s, uint8_t ip[16])
{
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(ip, 0, 10);
		ip[10] = ip[11] = 0xff;
		memcpy(ip + 12, &a4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip) == 1)
		return 0;
	return -EINVAL;
}

const char *kt_k8s_ip_str(const uint8_t ip[16], char *buf, size_t len)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					      0xff, 0xff };

	if (memcmp(ip, v4mapped, 12) == 0)
		return inet_ntop(AF_INET, ip + 12, buf, (socklen_t)len);
	return inet_ntop(AF_INET6, ip, buf, (socklen_t)len);
}

const char *kt_k8s_ip_intern(struct kt_k8s_index *idx, const char *s)
{
	uint8_t ip[16];
	char buf[64];

	if (kt_k8s_ip_parse(s, ip) < 0 || !kt_k8s_ip_str(ip, buf, sizeof(buf)))
		return NULL;
	return kt_intern_str(&idx->in, buf);
}
