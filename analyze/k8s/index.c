/* index.c - observations in, versions out.
 *
 * Adding only records what was seen when (struct kt_k8s_obs); the order of
 * files does not matter. kt_k8s_index_finish() sorts each object's
 * observations with the snapshots that should have listed it, and cuts its
 * life into versions:
 *
 *   snapshot t1   watch MODIFIED t2   snapshot t3 (absent)
 *   |-- v1 ------|-- v2 --------------|  ends at t3, deleted
 *
 * A first version starts at creationTimestamp when that is earlier than the
 * first sighting: a pod created between two snapshots existed before the
 * second one saw it.
 */
#include "index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hash.h"

int kt_k8s_index_new(struct kt_k8s_index **out)
{
	struct kt_k8s_index *idx = calloc(1, sizeof(*idx));

	kt_hash_init();
	if (!idx)
		return -ENOMEM;
	idx->in.arena = &idx->arena;
	idx->first_ns = UINT64_MAX;
	*out = idx;
	return 0;
}

void kt_k8s_index_free(struct kt_k8s_index *idx)
{
	if (!idx)
		return;
	for (uint32_t i = 0; i < idx->recs.n; i++)
		free(((struct kt_k8s_rec *)idx->recs.v[i])->obs);
	kt_pvec_free(&idx->recs);
	kt_pmap_free(&idx->by_key);
	kt_pmap_free(&idx->snap_by_key);
	kt_pmap_free(&idx->by_name);
	kt_pmap_free(&idx->by_uid);
	kt_ipmap_free(&idx->pod_ip);
	kt_ipmap_free(&idx->svc_ip);
	kt_ipmap_free(&idx->node_ip);
	kt_pmap_free(&idx->by_cid);
	kt_pmap_free(&idx->ep_by_svc);
	kt_pmap_free(&idx->ev_by_obj);
	for (int k = 0; k < KT_K8S__MAX; k++)
		kt_pvec_free(&idx->per_kind[k]);
	free(idx->snaps);
	kt_intern_free(&idx->in);
	kt_arena_free(&idx->arena);
	free(idx);
}

const char *kt_k8s_key3(struct kt_k8s_index *idx, const char *a, const char *b,
			const char *c, bool insert)
{
	char stack[512], *buf = stack;
	size_t la = a ? strlen(a) : 0, lb = b ? strlen(b) : 0, lc = c ? strlen(c) : 0;
	size_t len = la + lb + lc + 2;
	const char *r;

	if (len + 1 > sizeof(stack)) {
		buf = malloc(len + 1);
		if (!buf)
			return NULL;
	}
	memcpy(buf, a ? a : "", la);
	buf[la] = '/';
	memcpy(buf + la + 1, b ? b : "", lb);
	buf[la + 1 + lb] = '/';
	memcpy(buf + la + lb + 2, c ? c : "", lc);
	buf[len] = 0;
	r = insert ? kt_intern(&idx->in, buf, len) : kt_intern_find(&idx->in, buf, len);
	if (buf != stack)
		free(buf);
	return r;
}

int kt_k8s_index_snapshot(struct kt_k8s_index *idx, uint64_t t,
			  enum kt_k8s_kind kind, const char *ns, const char *node)
{
	struct kt_k8s_snap *s;

	if (idx->finished)
		return kt_err_set(-EBUSY, "k8s index already finished");
	if (idx->nsnaps == idx->csnaps) {
		uint32_t n = idx->csnaps ? idx->csnaps * 2 : 16;
		struct kt_k8s_snap *v = realloc(idx->snaps, n * sizeof(*v));

		if (!v)
			return -ENOMEM;
		idx->snaps = v;
		idx->csnaps = n;
	}
	s = &idx->snaps[idx->nsnaps];
	memset(s, 0, sizeof(*s));
	s->t = t;
	s->kind = kind;
	s->ns = kt_intern_str(&idx->in, ns);
	s->node = kt_intern_str(&idx->in, node);
	if ((ns && !s->ns) || (node && !s->node))
		return -ENOMEM;
	return (int)++idx->nsnaps;
}

static struct kt_k8s_rec *rec_get(struct kt_k8s_index *idx, const char *key,
				  bool create, enum kt_k8s_kind kind,
				  const char *kind_name, const char *ns,
				  const char *name, const char *uid)
{
	const struct kt_pvec *pv = kt_pmap_get(&idx->by_key, key);
	struct kt_k8s_rec *r;

	if (pv)
		return pv->v[0];
	if (!create)
		return NULL;
	r = kt_arena_alloc(&idx->arena, sizeof(*r));
	if (!r || kt_pmap_add(&idx->by_key, key, r) < 0 ||
	    kt_pvec_push(&idx->recs, r) < 0)
		return NULL;
	r->key = key;
	r->kind = kind;
	r->kind_name = kind_name;
	r->ns = ns;
	r->name = name;
	r->uid = uid;
	return r;
}

static int obs_push(struct kt_k8s_index *idx, struct kt_k8s_rec *r, uint64_t t,
		    const struct kt_k8s_object *data, enum kt_k8s_op op, int snap)
{
	if (r->nobs == r->cobs) {
		uint32_t n = r->cobs ? r->cobs * 2 : 2;
		struct kt_k8s_obs *v = realloc(r->obs, n * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->obs = v;
		r->cobs = n;
	}
	r->obs[r->nobs++] = (struct kt_k8s_obs){ t, data, (uint8_t)op, snap };
	idx->nobs++;
	if (t && t < idx->first_ns)
		idx->first_ns = t;
	if (t > idx->last_ns)
		idx->last_ns = t;
	return 0;
}

/* The same resourceVersion seen again (every snapshot lists unchanged
 * objects) shares the data extracted the first time. */
static const struct kt_k8s_object *known_version(const struct kt_k8s_rec *r,
						 const char *rv)
{
	if (!r || !rv || !*rv)
		return NULL;
	for (uint32_t i = r->nobs; i-- > 0;)
		if (r->obs[i].data->resource_version &&
		    strcmp(r->obs[i].data->resource_version, rv) == 0)
			return r->obs[i].data;
	return NULL;
}

int kt_k8s_index_add(struct kt_k8s_index *idx, const json_t *obj,
		     const char *kind_hint, uint64_t t, enum kt_k8s_op op,
		     int snap)
{
	const json_t *md = json_object_get(obj, "metadata");
	const char *uid = json_string_value(json_object_get(md, "uid"));
	const char *rv = json_string_value(json_object_get(md, "resourceVersion"));
	const struct kt_k8s_object *data = NULL;
	struct kt_k8s_object *o = NULL;
	struct kt_k8s_rec *r = NULL;
	const char *key = NULL;
	int err = 0;

	if (idx->finished) {
		err = kt_err_set(-EBUSY, "k8s index already finished");
		goto out;
	}
	if (uid && *uid) {
		const char *kind = json_string_value(json_object_get(obj, "kind"));

		key = kt_intern_str(&idx->in, uid);
		if (!key) {
			err = -ENOMEM;
			goto out;
		}
		r = rec_get(idx, key, false, 0, NULL, NULL, NULL, NULL);
		/* a uid another kind already holds (a bundle's uids are not
		 * to be trusted): this one goes by kind, namespace and name,
		 * so that a kind's list never holds another kind's data */
		if (r && r->kind != kt_k8s_kind_parse(kind ? kind : kind_hint)) {
			r = NULL;
			key = NULL;
		}
		data = known_version(r, rv);
	}
	if (!data) {
		err = kt_k8s_extract(idx, obj, kind_hint, &o);
		if (err < 0)
			goto out;
		data = o;
	}
	if (!r) {
		if (!key)
			key = kt_k8s_key3(idx, data->kind_name, data->ns, data->name,
					  true);
		r = key ? rec_get(idx, key, true, data->kind, data->kind_name,
				  data->ns, data->name, data->uid) : NULL;
		if (!r) {
			err = -ENOMEM;
			goto out;
		}
	}
	if (r->kind != data->kind) {
		/* "Pod/ns/name" as another kind's uid: made to collide */
		err = kt_err_set(-EPROTO, "%s '%s': its key is another kind's uid",
				 data->kind_name, data->name);
		goto out;
	}
	err = obs_push(idx, r, t, data, op, snap);
out:
	return err;
}

/* ---- finish -------------------------------------------------------------- */

static int obs_cmp(const void *a, const void *b)
{
	const struct kt_k8s_obs *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	/* At the same instant a deletion is the last word. */
	if ((x->op == KT_K8S_DELETED) != (y->op == KT_K8S_DELETED))
		return x->op == KT_K8S_DELETED ? 1 : -1;
	return 0;
}

static bool same_version(const struct kt_k8s_object *a,
			 const struct kt_k8s_object *b)
{
	if (a == b)
		return true;
	return a->resource_version && b->resource_version &&
		strcmp(a->resource_version, b->resource_version) == 0;
}

struct builder {
	struct kt_arena *arena;
	struct kt_k8s_object **v;
	uint32_t n, cap;
	int open;		/* index of the open version, or -1 */
};

static int ver_open(struct builder *b, const struct kt_k8s_object *data,
		    uint64_t t)
{
	struct kt_k8s_object *o;

	if (b->n == b->cap) {
		uint32_t n = b->cap ? b->cap * 2 : 4;
		struct kt_k8s_object **v = realloc(b->v, n * sizeof(*v));

		if (!v)
			return -ENOMEM;
		b->v = v;
		b->cap = n;
	}
	/* The extracted object becomes the version itself; only data that
	 * serves twice (an object back with the same resourceVersion) is
	 * copied. Extracted objects live in the index's arena. */
	if (!data->claimed) {
		o = (struct kt_k8s_object *)data;
	} else {
		o = kt_arena_dup(b->arena, data, sizeof(*data));
		if (!o)
			return -ENOMEM;
	}
	o->claimed = true;
	b->v[b->n] = o;
	o->from_ns = t;
	/* Nothing seen before: the object existed since it was created. An
	 * import without a time (t == 0) starts there too. creationTimestamp
	 * has whole seconds: taken as the end of its second, so a pod created
	 * in the same second its predecessor on an IP was deleted does not
	 * claim the IP before the deletion. */
	if (b->n == 0 && o->created_ns) {
		uint64_t c = o->created_ns % 1000000000ull ? o->created_ns :
			o->created_ns + 999999999ull;

		if (t == 0)
			o->from_ns = o->created_ns;
		else if (c < t)
			o->from_ns = c;
	}
	o->until_ns = UINT64_MAX;
	o->deleted = false;
	b->open = (int)b->n++;
	return 0;
}

static void ver_close(struct builder *b, uint64_t t, bool deleted)
{
	if (b->open < 0)
		return;
	b->v[b->open]->until_ns = t < b->v[b->open]->from_ns ? b->v[b->open]->from_ns : t;
	b->v[b->open]->deleted = deleted;
	b->open = -1;
}

static bool snap_covers(const struct kt_k8s_snap *s, const struct kt_k8s_rec *r,
			const struct kt_k8s_object *cur)
{
	if (s->kind != r->kind || r->kind == KT_K8S_OTHER)
		return false;
	if (s->ns && s->ns != r->ns)
		return false;
	if (s->node && (r->kind != KT_K8S_POD || !cur || cur->u.pod.node != s->node))
		return false;
	return true;
}

static bool rec_in_snap(const struct kt_k8s_rec *r, int snap)
{
	for (uint32_t i = 0; i < r->nobs; i++)
		if (r->obs[i].snap == snap)
			return true;
	return false;
}

static int snap_cmp(const void *a, const void *b)
{
	const struct kt_k8s_snap *x = *(const struct kt_k8s_snap *const *)a;
	const struct kt_k8s_snap *y = *(const struct kt_k8s_snap *const *)b;

	return x->t < y->t ? -1 : x->t > y->t;
}

static int build_versions(struct kt_k8s_index *idx, struct kt_k8s_rec *r,
			  struct kt_k8s_snap **snaps, uint32_t nsnaps)
{
	struct builder b = { .arena = &idx->arena, .open = -1 };
	uint32_t si = 0;
	int err = 0;

	qsort(r->obs, r->nobs, sizeof(*r->obs), obs_cmp);
	/* Snapshots before the first sighting say nothing about this object. */
	while (si < nsnaps && snaps[si]->t <= r->obs[0].t)
		si++;
	for (uint32_t i = 0; i < r->nobs || si < nsnaps;) {
		if (i < r->nobs && (si == nsnaps || r->obs[i].t <= snaps[si]->t)) {
			const struct kt_k8s_obs *o = &r->obs[i++];

			if (o->op == KT_K8S_DELETED) {
				if (b.open < 0 && (err = ver_open(&b, o->data, o->t)) < 0)
					goto out;
				ver_close(&b, o->t, true);
				continue;
			}
			if (b.open >= 0 && same_version(b.v[b.open], o->data))
				continue;
			ver_close(&b, o->t, false);
			if ((err = ver_open(&b, o->data, o->t)) < 0)
				goto out;
		} else {
			const struct kt_k8s_snap *s = snaps[si++];
			int id = (int)(s - idx->snaps) + 1;

			if (b.open >= 0 && snap_covers(s, r, b.v[b.open]) &&
			    !rec_in_snap(r, id))
				ver_close(&b, s->t, true);
		}
	}
	r->vers = kt_arena_dup(&idx->arena, b.v, b.n * sizeof(*b.v));
	if (!r->vers) {
		err = -ENOMEM;
		goto out;
	}
	r->nvers = b.n;
	idx->nvers += b.n;
out:
	free(b.v);
	return err;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct kt_k8s_rec *x = *(const struct kt_k8s_rec *const *)a;
	const struct kt_k8s_rec *y = *(const struct kt_k8s_rec *const *)b;
	int c = strcmp(x->ns ? x->ns : "", y->ns ? y->ns : "");

	if (c)
		return c;
	c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->vers[0]->from_ns < y->vers[0]->from_ns ? -1 :
		x->vers[0]->from_ns > y->vers[0]->from_ns;
}

static int add_ips(struct kt_ipmap *m, const char *const *s, uint32_t n,
		   const struct kt_k8s_object *v)
{
	/* A pod that ran to completion no longer holds its IP (the kubelet
	 * released it); it stays findable by name, UID and container. */
	bool done = v->kind == KT_K8S_POD && v->u.pod.phase &&
		(strcmp(v->u.pod.phase, "Succeeded") == 0 ||
		 strcmp(v->u.pod.phase, "Failed") == 0);
	struct kt_ipver iv = { v->from_ns, v->until_ns, v, done };
	uint8_t ip[16];
	int err = 0;

	/* Every string here went through kt_k8s_ip_intern(): it parses. */
	for (uint32_t i = 0; i < n && !err; i++)
		if (kt_k8s_ip_parse(s[i], ip) == 0)
			err = kt_ipmap_add(m, ip, &iv);
	return err;
}

static int index_version(struct kt_k8s_index *idx, struct kt_k8s_object *v)
{
	int err = 0;

	switch (v->kind) {
	case KT_K8S_POD:
		if (!v->u.pod.host_network)
			err = add_ips(&idx->pod_ip, v->u.pod.ips, v->u.pod.nips, v);
		for (uint32_t i = 0; !err && i < v->u.pod.ncontainers; i++)
			if (v->u.pod.containers[i].container_id)
				err = kt_pmap_add(&idx->by_cid,
					v->u.pod.containers[i].container_id, v);
		break;
	case KT_K8S_SERVICE:
		err = add_ips(&idx->svc_ip, v->u.svc.cluster_ips,
				  v->u.svc.ncluster_ips, v);
		if (!err)
			err = add_ips(&idx->svc_ip, v->u.svc.external_ips,
					  v->u.svc.nexternal_ips, v);
		break;
	case KT_K8S_NODE:
		err = add_ips(&idx->node_ip, v->u.node.addresses,
				  v->u.node.naddresses, v);
		break;
	default:
		break;
	}
	return err;
}

static int index_rec(struct kt_k8s_index *idx, struct kt_k8s_rec *r)
{
	const char *key;
	int err;

	key = kt_k8s_key3(idx, r->kind_name, r->ns, r->name, true);
	if (!key)
		return -ENOMEM;
	if ((err = kt_pmap_add(&idx->by_name, key, r)) < 0)
		return err;
	if (r->uid && (err = kt_pmap_add(&idx->by_uid, r->uid, r)) < 0)
		return err;
	if ((err = kt_pvec_push(&idx->per_kind[r->kind], r)) < 0)
		return err;
	/* Versions of one object may name different services or involved
	 * objects only in theory; the first version's are used. */
	if ((r->kind == KT_K8S_ENDPOINTS || r->kind == KT_K8S_ENDPOINTSLICE) &&
	    r->vers[0]->u.ep.service) {
		key = kt_k8s_key3(idx, "svc", r->ns, r->vers[0]->u.ep.service, true);
		if (!key || (err = kt_pmap_add(&idx->ep_by_svc, key, r)) < 0)
			return key ? err : -ENOMEM;
	}
	if (r->kind == KT_K8S_EVENT && r->vers[0]->u.ev.involved.name) {
		const struct kt_k8s_ref *inv = &r->vers[r->nvers - 1]->u.ev.involved;
		enum kt_k8s_kind k = kt_k8s_kind_parse(inv->kind);

		key = kt_k8s_key3(idx, k ? kt_k8s_kind_name(k) : inv->kind,
				  kt_k8s_kind_cluster_scoped(k) ? NULL : inv->ns,
				  inv->name, true);
		if (!key || (err = kt_pmap_add(&idx->ev_by_obj, key, r)) < 0)
			return key ? err : -ENOMEM;
	}
	for (uint32_t i = 0; i < r->nvers; i++)
		if ((err = index_version(idx, r->vers[i])) < 0)
			return err;
	return 0;
}

int kt_k8s_index_finish(struct kt_k8s_index *idx)
{
	struct kt_k8s_snap **by_kind[KT_K8S__MAX] = { 0 };
	uint32_t nby_kind[KT_K8S__MAX] = { 0 };
	int err = 0;

	if (idx->finished)
		return kt_err_set(-EBUSY, "k8s index already finished");
	for (uint32_t i = 0; i < idx->nsnaps; i++) {
		enum kt_k8s_kind k = idx->snaps[i].kind;

		if (!by_kind[k]) {
			by_kind[k] = calloc(idx->nsnaps, sizeof(*by_kind[k]));
			if (!by_kind[k]) {
				err = -ENOMEM;
				goto out;
			}
		}
		by_kind[k][nby_kind[k]++] = &idx->snaps[i];
	}
	for (int k = 0; k < KT_K8S__MAX; k++)
		if (by_kind[k])
			qsort(by_kind[k], nby_kind[k], sizeof(*by_kind[k]), snap_cmp);
	for (uint32_t i = 0; i < idx->recs.n; i++) {
		struct kt_k8s_rec *r = idx->recs.v[i];

		err = build_versions(idx, r, by_kind[r->kind], nby_kind[r->kind]);
		if (err < 0)
			goto out;
		free(r->obs);
		r->obs = NULL;
		r->nobs = r->cobs = 0;
		if ((err = index_rec(idx, r)) < 0)
			goto out;
	}
	for (int k = 0; k < KT_K8S__MAX; k++)
		if (idx->per_kind[k].n)
			qsort(idx->per_kind[k].v, idx->per_kind[k].n, sizeof(void *), rec_cmp);
	idx->finished = true;
out:
	for (int k = 0; k < KT_K8S__MAX; k++)
		free(by_kind[k]);
	return err;
}

void kt_k8s_index_stats(const struct kt_k8s_index *idx, struct kt_k8s_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->objects = idx->recs.n;
	st->versions = idx->nvers;
	st->observations = idx->nobs;
	st->snapshots = idx->nsnaps;
	st->strings = idx->in.n;
	st->bytes = idx->arena.bytes + idx->in.cap * sizeof(char *) +
		idx->recs.cap * sizeof(void *);
	st->first_ns = idx->first_ns == UINT64_MAX ? 0 : idx->first_ns;
	st->last_ns = idx->last_ns;
}
