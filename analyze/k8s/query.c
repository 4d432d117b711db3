/* query.c - what existed at t. All lookups go through the tables built by
 * kt_k8s_index_finish(); a version answers for t when from_ns <= t <
 * until_ns, and KT_K8S_LATEST picks each object's last version. */
#include "index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool valid_at(const struct kt_k8s_object *v, uint64_t t)
{
	if (t == KT_K8S_LATEST)
		return v->until_ns == UINT64_MAX;
	return v->from_ns <= t && t < v->until_ns;
}

/* The version of r valid at t; for KT_K8S_LATEST the last one even if it
 * ended (an object deleted during the capture still answers "what was it"). */
static const struct kt_k8s_object *rec_at(const struct kt_k8s_rec *r, uint64_t t)
{
	if (!r->nvers)
		return NULL;
	if (t == KT_K8S_LATEST)
		return r->vers[r->nvers - 1];
	for (uint32_t i = r->nvers; i-- > 0;)
		if (valid_at(r->vers[i], t))
			return r->vers[i];
	return NULL;
}

static const struct kt_k8s_object *recs_at(const struct kt_pvec *pv, uint64_t t)
{
	const struct kt_k8s_object *best = NULL;

	for (uint32_t i = 0; pv && i < pv->n; i++) {
		const struct kt_k8s_object *v = rec_at(pv->v[i], t);

		/* Names are reused: at LATEST the most recent object wins. */
		if (v && (!best || v->from_ns > best->from_ns))
			best = v;
	}
	return best;
}

const struct kt_k8s_object *kt_k8s_get(const struct kt_k8s_index *idx,
				       enum kt_k8s_kind kind, const char *ns,
				       const char *name, uint64_t t)
{
	const char *key;

	if (!idx->finished || !name || kind == KT_K8S_OTHER)
		return NULL;
	key = kt_k8s_key3((struct kt_k8s_index *)idx, kt_k8s_kind_name(kind),
			  kt_k8s_kind_cluster_scoped(kind) ? NULL : ns, name, false);
	return key ? recs_at(kt_pmap_get(&idx->by_name, key), t) : NULL;
}

const struct kt_k8s_object *kt_k8s_by_uid(const struct kt_k8s_index *idx,
					  const char *uid, uint64_t t)
{
	const char *key;

	if (!idx->finished || !uid)
		return NULL;
	key = kt_intern_find(&idx->in, uid, strlen(uid));
	return key ? recs_at(kt_pmap_get(&idx->by_uid, key), t) : NULL;
}

int kt_k8s_each(const struct kt_k8s_index *idx, enum kt_k8s_kind kind,
		const char *ns, uint64_t t, kt_k8s_each_fn cb, void *arg)
{
	int lo = kind == KT_K8S_OTHER ? 0 : kind;
	int hi = kind == KT_K8S_OTHER ? KT_K8S__MAX - 1 : kind;

	if (!idx->finished)
		return -EINVAL;
	for (int k = lo; k <= hi; k++) {
		const struct kt_pvec *pv = &idx->per_kind[k];

		for (uint32_t i = 0; i < pv->n; i++) {
			const struct kt_k8s_rec *r = pv->v[i];
			const struct kt_k8s_object *v;
			int ret;

			if (ns && (!r->ns || strcmp(r->ns, ns) != 0))
				continue;
			v = t == KT_K8S_LATEST ?
				(r->vers[r->nvers - 1]->until_ns == UINT64_MAX ?
				 r->vers[r->nvers - 1] : NULL) : rec_at(r, t);
			if (v && (ret = cb(arg, v)) != 0)
				return ret;
		}
	}
	return 0;
}

int kt_k8s_each_version(const struct kt_k8s_index *idx, enum kt_k8s_kind kind,
			kt_k8s_version_fn cb, void *arg)
{
	int lo = kind == KT_K8S_OTHER ? 0 : kind;
	int hi = kind == KT_K8S_OTHER ? KT_K8S__MAX - 1 : kind;

	if (!idx->finished)
		return -EINVAL;
	for (int k = lo; k <= hi; k++) {
		const struct kt_pvec *pv = &idx->per_kind[k];

		for (uint32_t i = 0; i < pv->n; i++) {
			const struct kt_k8s_rec *r = pv->v[i];

			for (uint32_t j = 0; j < r->nvers; j++) {
				int ret = cb(arg, r->vers[j], j ? r->vers[j - 1] : NULL);

				if (ret)
					return ret;
			}
		}
	}
	return 0;
}

static bool iv_valid(const struct kt_ipver *v, uint64_t t)
{
	if (t == KT_K8S_LATEST)
		return v->until_ns == UINT64_MAX;
	return v->from_ns <= t && t < v->until_ns;
}

/* The holder of ip at t in m: when two versions claim it, the later one
 * took the address over. [*lo, *hi) gets the times around t over which the
 * answer (a holder or none) stays the same, for callers that cache it. */
static const struct kt_k8s_object *ip_holder(const struct kt_k8s_index *idx,
					     const struct kt_ipmap *m,
					     const uint8_t ip[16], uint64_t t,
					     uint64_t *lo, uint64_t *hi)
{
	const struct kt_ipver *v, *best = NULL;
	uint32_t n;

	*lo = 0;
	*hi = UINT64_MAX;
	if (!idx->finished) {
		*lo = *hi = t;
		return NULL;
	}
	v = kt_ipmap_get(m, ip, &n);
	for (uint32_t i = 0; i < n; i++)
		if (!v[i].skip && iv_valid(&v[i], t) && (!best || v[i].from_ns > best->from_ns))
			best = &v[i];
	if (t == KT_K8S_LATEST) {
		*lo = *hi = t;
		return best ? best->obj : NULL;
	}
	if (best) {
		*lo = best->from_ns;
		*hi = best->until_ns;
	}
	/* another version changes the answer where it starts later than t
	 * (it is newer than best, or there is no best), and where one newer
	 * than best ended before t */
	for (uint32_t i = 0; i < n; i++) {
		if (v[i].skip || &v[i] == best)
			continue;
		if (v[i].from_ns > t && v[i].from_ns < *hi)
			*hi = v[i].from_ns;
		if ((!best || v[i].from_ns > best->from_ns) && v[i].until_ns <= t &&
		    v[i].until_ns > *lo)
			*lo = v[i].until_ns;
	}
	return best ? best->obj : NULL;
}

const struct kt_k8s_object *kt_k8s_pod_by_ip_span(const struct kt_k8s_index *idx,
						  const uint8_t ip[16], uint64_t t,
						  uint64_t *lo, uint64_t *hi)
{
	return ip_holder(idx, &idx->pod_ip, ip, t, lo, hi);
}

const struct kt_k8s_object *kt_k8s_node_by_ip_span(const struct kt_k8s_index *idx,
						   const uint8_t ip[16], uint64_t t,
						   uint64_t *lo, uint64_t *hi)
{
	return ip_holder(idx, &idx->node_ip, ip, t, lo, hi);
}

const struct kt_k8s_object *kt_k8s_pod_by_ip(const struct kt_k8s_index *idx,
					     const uint8_t ip[16], uint64_t t)
{
	uint64_t lo, hi;

	return ip_holder(idx, &idx->pod_ip, ip, t, &lo, &hi);
}

const struct kt_k8s_object *kt_k8s_pod_by_ip_str(const struct kt_k8s_index *idx,
						 const char *s, uint64_t t)
{
	uint8_t ip[16];

	return kt_k8s_ip_parse(s, ip) == 0 ? kt_k8s_pod_by_ip(idx, ip, t) : NULL;
}

const struct kt_k8s_object *kt_k8s_node_by_ip(const struct kt_k8s_index *idx,
					      const uint8_t ip[16], uint64_t t)
{
	uint64_t lo, hi;

	return ip_holder(idx, &idx->node_ip, ip, t, &lo, &hi);
}

/* The port of service version v serving port/protocol (port 0: its first of
 * that protocol), or NULL. */
static const struct kt_k8s_port *svc_port(const struct kt_k8s_object *v, uint16_t port,
					  const char *protocol)
{
	for (uint32_t k = 0; k < v->u.svc.nports; k++) {
		const struct kt_k8s_port *sp = &v->u.svc.ports[k];

		if ((port == 0 || sp->port == port) && strcmp(sp->protocol, protocol) == 0)
			return sp;
	}
	return NULL;
}

const struct kt_k8s_object *kt_k8s_service_by_ip_span(const struct kt_k8s_index *idx,
						      const uint8_t ip[16], uint16_t port,
						      const char *protocol, uint64_t t,
						      const struct kt_k8s_port **port_out,
						      uint64_t *lo, uint64_t *hi)
{
	const struct kt_ipver *iv, *best_iv = NULL;
	const struct kt_k8s_object *best = NULL;
	const struct kt_k8s_port *bport = NULL;
	uint32_t n;

	*lo = 0;
	*hi = UINT64_MAX;
	if (port_out)
		*port_out = NULL;
	if (!protocol)
		protocol = "TCP";
	if (!idx->finished || t == KT_K8S_LATEST)
		*lo = *hi = t;
	if (!idx->finished)
		return NULL;
	iv = kt_ipmap_get(&idx->svc_ip, ip, &n);
	for (uint32_t i = 0; i < n; i++) {
		const struct kt_k8s_object *v = iv[i].obj;
		const struct kt_k8s_port *p;

		if (!iv_valid(&iv[i], t))
			continue;
		p = svc_port(v, port, protocol);
		if (port && !p)
			continue;
		if (!best || v->from_ns > best->from_ns) {
			best = v;
			best_iv = &iv[i];
			bport = p;
		}
	}
	if (port_out)
		*port_out = bport;
	if (t == KT_K8S_LATEST)
		return best;
	if (best_iv) {
		*lo = best_iv->from_ns;
		*hi = best_iv->until_ns;
	}
	/* as ip_holder: versions serving the port that start after t, or
	 * newer ones that ended before t, change the answer there */
	for (uint32_t i = 0; i < n; i++) {
		const struct kt_k8s_object *v = iv[i].obj;

		if (&iv[i] == best_iv || (port && !svc_port(v, port, protocol)))
			continue;
		if (iv[i].from_ns > t && iv[i].from_ns < *hi)
			*hi = iv[i].from_ns;
		if ((!best || v->from_ns > best->from_ns) && iv[i].until_ns <= t &&
		    iv[i].until_ns > *lo)
			*lo = iv[i].until_ns;
	}
	return best;
}

const struct kt_k8s_object *kt_k8s_service_by_ip(const struct kt_k8s_index *idx,
						 const uint8_t ip[16],
						 uint16_t port,
						 const char *protocol,
						 uint64_t t,
						 const struct kt_k8s_port **port_out)
{
	uint64_t lo, hi;

	return kt_k8s_service_by_ip_span(idx, ip, port, protocol, t, port_out, &lo, &hi);
}

/* The port of an Endpoints/slice that serves service port sp: by name (the
 * controller copies the service port's name), else the numeric targetPort. */
static int32_t backend_port(const struct kt_k8s_object *ep,
			    const struct kt_k8s_port *sp)
{
	if (!sp)
		return 0;
	for (uint32_t i = 0; i < ep->u.ep.nports; i++) {
		const struct kt_k8s_port *p = &ep->u.ep.ports[i];

		if (strcmp(p->protocol, sp->protocol) != 0)
			continue;
		if ((p->name && sp->name && p->name == sp->name) ||
		    (!p->name && !sp->name) || ep->u.ep.nports == 1)
			return p->port;
	}
	return sp->target_port ? sp->target_port : 0;
}

int kt_k8s_backends(const struct kt_k8s_index *idx,
		    const struct kt_k8s_object *svc,
		    const struct kt_k8s_port *sport, uint64_t t,
		    kt_k8s_backend_fn cb, void *arg)
{
	const struct kt_pvec *pv;
	const char *key;
	const char **seen = NULL;
	uint32_t nseen = 0, cap = 0;
	int ret = 0;

	if (!idx->finished || !svc)
		return -EINVAL;
	key = kt_k8s_key3((struct kt_k8s_index *)idx, "svc", svc->ns, svc->name, false);
	pv = key ? kt_pmap_get(&idx->ep_by_svc, key) : NULL;
	/* Slices first: they are what kube-proxy reads today, and they carry
	 * readiness per address; Endpoints only fill in what slices lack. */
	for (int pass = 0; pass < 2 && pv; pass++) {
		enum kt_k8s_kind want = pass == 0 ? KT_K8S_ENDPOINTSLICE :
			KT_K8S_ENDPOINTS;

		for (uint32_t i = 0; i < pv->n; i++) {
			const struct kt_k8s_rec *r = pv->v[i];
			const struct kt_k8s_object *v;

			if (r->kind != want || !(v = rec_at(r, t)))
				continue;
			for (uint32_t a = 0; a < v->u.ep.naddrs; a++) {
				const struct kt_k8s_endpoint *e = &v->u.ep.addrs[a];
				bool dup = false;

				for (uint32_t s = 0; s < nseen; s++)
					dup |= seen[s] == e->ip;
				if (dup)
					continue;
				if (nseen == cap) {
					uint32_t nc = cap ? cap * 2 : 16;
					const char **ns = realloc(seen, nc * sizeof(*ns));

					if (!ns) {
						ret = -ENOMEM;
						goto out;
					}
					seen = ns;
					cap = nc;
				}
				seen[nseen++] = e->ip;
				ret = cb ? cb(arg, e, backend_port(v, sport), v) : 0;
				if (ret)
					goto out;
			}
		}
	}
out:
	free(seen);
	return ret;
}

static const struct kt_k8s_ref *controller_ref(const struct kt_k8s_object *obj)
{
	for (uint32_t i = 0; i < obj->nowners; i++)
		if (obj->owners[i].controller)
			return &obj->owners[i];
	return obj->nowners == 1 ? &obj->owners[0] : NULL;
}

const struct kt_k8s_object *kt_k8s_owner(const struct kt_k8s_index *idx,
					 const struct kt_k8s_object *obj,
					 uint64_t t)
{
	const struct kt_k8s_ref *r = controller_ref(obj);
	const struct kt_k8s_object *o = NULL;

	if (!r)
		return NULL;
	if (r->uid)
		o = kt_k8s_by_uid(idx, r->uid, t);
	if (!o)
		o = kt_k8s_get(idx, kt_k8s_kind_parse(r->kind), obj->ns, r->name, t);
	/* The owner may have been deleted just before t (a ReplicaSet scaled
	 * away); its last version still names the chain. */
	if (!o && r->uid)
		o = kt_k8s_by_uid(idx, r->uid, KT_K8S_LATEST);
	return o;
}

const struct kt_k8s_object *kt_k8s_workload(const struct kt_k8s_index *idx,
					    const struct kt_k8s_object *obj,
					    uint64_t t,
					    const struct kt_k8s_ref **missing)
{
	const struct kt_k8s_object *cur = obj;

	if (missing)
		*missing = NULL;
	/* Chains are short (pod, RS, Deployment); the bound guards against a
	 * dump whose owner references form a cycle. */
	for (int depth = 0; cur && depth < 8; depth++) {
		const struct kt_k8s_object *o = kt_k8s_owner(idx, cur, t);

		if (!o) {
			if (missing)
				*missing = controller_ref(cur);
			break;
		}
		cur = o;
	}
	return cur;
}

static bool uid_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a == '_' ? '-' : *a, y = *b == '_' ? '-' : *b;

		if (x != y)
			return false;
	}
	return *a == *b;
}

const struct kt_k8s_object *kt_k8s_pod_by_uid(const struct kt_k8s_index *idx,
					      const char *uid, uint64_t t)
{
	char buf[64];
	size_t n = strlen(uid);
	const struct kt_k8s_object *o;

	if (n >= sizeof(buf))
		return NULL;
	/* The systemd cgroup driver writes pod UIDs with underscores. */
	for (size_t i = 0; i <= n; i++)
		buf[i] = uid[i] == '_' ? '-' : uid[i];
	o = kt_k8s_by_uid(idx, buf, t);
	return o && o->kind == KT_K8S_POD && uid_eq(o->uid, buf) ? o : NULL;
}

const struct kt_k8s_object *kt_k8s_pod_by_container(const struct kt_k8s_index *idx,
						    const char *id, uint64_t t,
						    const struct kt_k8s_container **c)
{
	const char *sep = strstr(id, "://");
	const struct kt_k8s_object *found = NULL;
	size_t n;

	if (c)
		*c = NULL;
	if (sep)
		id = sep + 3;
	n = strlen(id);
	if (n < 12 || !idx->finished)
		return NULL;
	/* A full ID is a hash lookup; a prefix (as `crictl ps` prints) needs a
	 * walk over every container, still bounded by the number of pods. */
	{
		const char *key = kt_intern_find(&idx->in, id, n);
		const struct kt_pvec *pv = key ? kt_pmap_get(&idx->by_cid, key) : NULL;

		for (uint32_t i = 0; pv && i < pv->n; i++) {
			const struct kt_k8s_object *v = pv->v[i];

			if ((valid_at(v, t) || t == KT_K8S_LATEST) &&
			    (!found || v->from_ns > found->from_ns))
				found = v;
		}
		if (found)
			goto container;
	}
	for (size_t s = 0; s < idx->by_cid.cap; s++) {
		const struct kt_pmap_slot *slot = &idx->by_cid.slots[s];

		if (!slot->key || strncmp(slot->key, id, n) != 0)
			continue;
		for (uint32_t i = 0; i < slot->vals.n; i++) {
			const struct kt_k8s_object *v = slot->vals.v[i];

			if (!valid_at(v, t) && t != KT_K8S_LATEST)
				continue;
			if (found && found->uid != v->uid)
				return NULL;	/* ambiguous prefix */
			if (!found || v->from_ns > found->from_ns)
				found = v;
		}
	}
container:
	if (found && c)
		for (uint32_t i = 0; i < found->u.pod.ncontainers; i++)
			if (found->u.pod.containers[i].container_id &&
			    strncmp(found->u.pod.containers[i].container_id, id, n) == 0)
				*c = &found->u.pod.containers[i];
	return found;
}

struct hostnet {
	const char *node;
	kt_k8s_each_fn cb;
	void *arg;
};

static int hostnet_cb(void *arg, const struct kt_k8s_object *o)
{
	struct hostnet *h = arg;

	if (!o->u.pod.host_network ||
	    (h->node && (!o->u.pod.node || strcmp(o->u.pod.node, h->node) != 0)))
		return 0;
	return h->cb(h->arg, o);
}

int kt_k8s_host_network_pods(const struct kt_k8s_index *idx, const char *node,
			     uint64_t t, kt_k8s_each_fn cb, void *arg)
{
	struct hostnet h = { node, cb, arg };

	return kt_k8s_each(idx, KT_K8S_POD, NULL, t, hostnet_cb, &h);
}

const char *kt_k8s_label(const struct kt_k8s_object *obj, const char *key)
{
	for (uint32_t i = 0; i < obj->nlabels; i++)
		if (strcmp(obj->labels[i].key, key) == 0)
			return obj->labels[i].value;
	return NULL;
}

static const char *label_in(const struct kt_k8s_label *l, uint32_t n,
			    const char *key)
{
	for (uint32_t i = 0; i < n; i++)
		if (strcmp(l[i].key, key) == 0)
			return l[i].value ? l[i].value : "";
	return NULL;
}

bool kt_k8s_selector_match(const struct kt_k8s_selector *sel,
			   const struct kt_k8s_label *labels, uint32_t n)
{
	if (!sel->present)
		return false;
	for (uint32_t i = 0; i < sel->nmatch; i++) {
		const char *v = label_in(labels, n, sel->match[i].key);

		if (!v || !sel->match[i].value || strcmp(v, sel->match[i].value) != 0)
			return false;
	}
	for (uint32_t i = 0; i < sel->nexprs; i++) {
		const struct kt_k8s_expr *e = &sel->exprs[i];
		const char *v = label_in(labels, n, e->key);
		bool in = false;

		for (uint32_t k = 0; v && k < e->nvalues; k++)
			in |= strcmp(v, e->values[k]) == 0;
		if (strcmp(e->op, "In") == 0 && !in)
			return false;
		if (strcmp(e->op, "NotIn") == 0 && in)
			return false;
		if (strcmp(e->op, "Exists") == 0 && !v)
			return false;
		if (strcmp(e->op, "DoesNotExist") == 0 && v)
			return false;
		if (strcmp(e->op, "In") != 0 && strcmp(e->op, "NotIn") != 0 &&
		    strcmp(e->op, "Exists") != 0 && strcmp(e->op, "DoesNotExist") != 0)
			return false;	/* unknown operator: match nothing */
	}
	return true;
}

struct polsel {
	const struct kt_k8s_object *pod;
	kt_k8s_each_fn cb;
	void *arg;
};

static int polsel_cb(void *arg, const struct kt_k8s_object *np)
{
	struct polsel *p = arg;

	if (!kt_k8s_selector_match(&np->u.np.pod_selector, p->pod->labels,
				   p->pod->nlabels))
		return 0;
	return p->cb(p->arg, np);
}

int kt_k8s_policies_for(const struct kt_k8s_index *idx,
			const struct kt_k8s_object *pod, uint64_t t,
			kt_k8s_each_fn cb, void *arg)
{
	struct polsel p = { pod, cb, arg };

	if (!pod->ns)
		return 0;
	return kt_k8s_each(idx, KT_K8S_NETWORKPOLICY, pod->ns, t, polsel_cb, &p);
}

struct hpasel {
	const struct kt_k8s_object *wl, *found;
};

static int hpasel_cb(void *arg, const struct kt_k8s_object *h)
{
	struct hpasel *s = arg;

	if (h->u.hpa.target.name && h->u.hpa.target.kind &&
	    strcmp(h->u.hpa.target.name, s->wl->name) == 0 &&
	    kt_k8s_kind_parse(h->u.hpa.target.kind) == s->wl->kind) {
		s->found = h;
		return 1;
	}
	return 0;
}

const struct kt_k8s_object *kt_k8s_hpa_for(const struct kt_k8s_index *idx,
					   const struct kt_k8s_object *workload,
					   uint64_t t)
{
	struct hpasel s = { workload, NULL };

	if (!workload->ns)
		return NULL;
	kt_k8s_each(idx, KT_K8S_HPA, workload->ns, t, hpasel_cb, &s);
	return s.found;
}

static uint64_t event_time(const struct kt_k8s_object *e)
{
	if (e->u.ev.last_ns)
		return e->u.ev.last_ns;
	if (e->created_ns)
		return e->created_ns;
	return e->from_ns;
}

static int ev_cmp(const void *a, const void *b)
{
	uint64_t x = event_time(*(const struct kt_k8s_object *const *)a);
	uint64_t y = event_time(*(const struct kt_k8s_object *const *)b);

	return x < y ? -1 : x > y;
}

int kt_k8s_events_for(const struct kt_k8s_index *idx, enum kt_k8s_kind kind,
		      const char *ns, const char *name, uint64_t t0,
		      uint64_t t1, kt_k8s_each_fn cb, void *arg)
{
	const struct kt_pvec *pv;
	const struct kt_k8s_object **list = NULL;
	const char *key;
	uint32_t n = 0;
	int ret = 0;

	if (!idx->finished || kind == KT_K8S_OTHER)
		return -EINVAL;
	key = kt_k8s_key3((struct kt_k8s_index *)idx, kt_k8s_kind_name(kind),
			  kt_k8s_kind_cluster_scoped(kind) ? NULL : ns, name, false);
	pv = key ? kt_pmap_get(&idx->ev_by_obj, key) : NULL;
	if (!pv)
		return 0;
	list = calloc(pv->n, sizeof(*list));
	if (!list)
		return -ENOMEM;
	for (uint32_t i = 0; i < pv->n; i++) {
		const struct kt_k8s_rec *r = pv->v[i];
		const struct kt_k8s_object *v = r->vers[r->nvers - 1];
		uint64_t et = event_time(v);

		if (et >= t0 && et <= t1)
			list[n++] = v;
	}
	qsort(list, n, sizeof(*list), ev_cmp);
	for (uint32_t i = 0; i < n && !ret; i++)
		ret = cb(arg, list[i]);
	free(list);
	return ret;
}
