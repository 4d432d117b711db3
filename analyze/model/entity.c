/* entity.c - entities and edges, each stored once, and their statistics
 * per time window. */
#include "model_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

const char *kt_ent_kind_name(enum kt_ent_kind k)
{
	static const char *const names[KT_ENT__KINDS] = {
		"cluster", "node", "namespace", "workload", "pod", "container",
		"service", "external", "host-process", "unattributed",
	};

	return (unsigned)k < KT_ENT__KINDS ? names[k] : "unknown";
}

const char *kt_fail_name(enum kt_fail f)
{
	static const char *const names[KT_FAIL__MAX] = {
		"refused", "timeout", "unreachable", "reset", "error", "aborted",
	};

	return (unsigned)f < KT_FAIL__MAX ? names[f] : "unknown";
}

int kt_entity_get(struct kt_model *m, enum kt_ent_kind kind, const char *id,
		  const char *name, const char *ns, uint32_t *out)
{
	uint64_t h = kt_hash_bytes(id, strlen(id), 2);
	struct kt_entity *e;
	int err;

	for (uint32_t i = kt_map_first(&m->entmap, h); i != KT_MAP_END;
	     i = kt_map_next(&m->entmap, h, i)) {
		if (!strcmp(m->ents[i].id, id)) {
			*out = i;
			return 0;
		}
	}
	if ((err = kt_grow((void **)&m->ents, &m->capents, m->nents + 1, sizeof(*m->ents))))
		return err;
	e = &m->ents[m->nents];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->workload = e->node = e->pod = KT_ENT_NONE;
	e->id = strdup(id);
	e->name = strdup(name);
	e->ns = strdup(ns ? ns : "");
	if (!e->id || !e->name || !e->ns) {
		free(e->id);
		free(e->name);
		free(e->ns);
		return kt_err_set(-ENOMEM, "out of memory");
	}
	if ((err = kt_map_put(&m->entmap, h, m->nents))) {
		free(e->id);
		free(e->name);
		free(e->ns);
		return err;
	}
	*out = m->nents++;
	return 0;
}

static void stats_add(struct kt_edge_stats *a, const struct kt_edge_stats *b)
{
	a->connections += b->connections;
	a->established += b->established;
	for (int i = 0; i < KT_FAIL__MAX; i++)
		a->failed[i] += b->failed[i];
	a->bytes_sent += b->bytes_sent;
	a->bytes_received += b->bytes_received;
	a->retransmits += b->retransmits;
	if (b->first_seen && (!a->first_seen || b->first_seen < a->first_seen))
		a->first_seen = b->first_seen;
	if (b->last_seen > a->last_seen)
		a->last_seen = b->last_seen;
	for (int i = 0; i < KT_LAT_BUCKETS; i++)
		a->latency[i] += b->latency[i];
}

void kt_edge_stats_add(struct kt_edge_stats *a, const struct kt_edge_stats *b)
{
	stats_add(a, b);
}

/* Inline: every connection adds to its edge's total through here. */
static inline __attribute__((always_inline)) void stats_one(struct kt_edge_stats *a,
							    const struct kt_one *o)
{
	uint32_t n = o->n ? o->n : 1;

	a->connections += n;
	a->established += o->established ? n : 0;
	if (o->fail < KT_FAIL__MAX)
		a->failed[o->fail]++;
	a->bytes_sent += o->sent;
	a->bytes_received += o->recv;
	a->retransmits += o->retrans;
	if (!a->first_seen || o->first < a->first_seen)
		a->first_seen = o->first;
	if (o->last > a->last_seen)
		a->last_seen = o->last;
	if (o->lat < KT_LAT_BUCKETS)
		a->latency[o->lat]++;
}

static int window_add(struct kt_edge *e, uint64_t idx, const struct kt_one *one)
{
	uint32_t lo = 0, hi = e->nwindows;
	int err;

	/* time mostly goes forward: the last window is the usual one */
	if (e->nwindows && e->windows[e->nwindows - 1].index == idx) {
		stats_one(&e->windows[e->nwindows - 1].st, one);
		return 0;
	}
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (e->windows[mid].index < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < e->nwindows && e->windows[lo].index == idx) {
		stats_one(&e->windows[lo].st, one);
		return 0;
	}
	if ((err = kt_grow((void **)&e->windows, &e->capwindows, e->nwindows + 1,
			   sizeof(*e->windows))))
		return err;
	memmove(e->windows + lo + 1, e->windows + lo, (e->nwindows - lo) * sizeof(*e->windows));
	memset(&e->windows[lo], 0, sizeof(e->windows[lo]));
	e->windows[lo].index = idx;
	stats_one(&e->windows[lo].st, one);
	e->nwindows++;
	return 0;
}

static int backend_add(struct kt_edge *e, uint32_t ent, uint16_t port, uint32_t n)
{
	int err;

	for (uint32_t i = 0; i < e->nbackends; i++) {
		if (e->backends[i].ent == ent && e->backends[i].port == port) {
			e->backends[i].connections += n;
			return 0;
		}
	}
	if ((err = kt_grow((void **)&e->backends, &e->capbackends, e->nbackends + 1,
			   sizeof(*e->backends))))
		return err;
	e->backends[e->nbackends++] = (struct kt_backend){ ent, port, n };
	return 0;
}

int kt_edge_add(struct kt_model *m, struct kt_fold *f)
{
	struct kt_edge *e;
	int err;

	if ((err = kt_grow((void **)&m->edges, &m->capedges, m->nedges + 1, sizeof(*m->edges))) ||
	    (err = kt_grow((void **)&m->ekeys, &m->capekeys, m->nedges + 1, sizeof(*m->ekeys))))
		return err;
	m->ekeys[m->nedges] = (struct kt_edge_key){ .src = f->src, .dst = f->dst,
						    .port = f->port, .proto = f->proto };
	e = &m->edges[m->nedges];
	memset(e, 0, sizeof(*e));
	e->src = f->src;
	e->dst = f->dst;
	e->proto = f->proto;
	e->port = f->port;
	if ((err = kt_map_put(&m->edgemap, f->hash, m->nedges)))
		return err;
	f->edge = m->nedges++;
	return 0;
}

int kt_edge_apply(struct kt_model *m, const struct kt_fold *f)
{
	struct kt_edge *e = &m->edges[f->edge];
	const struct kt_one *one = &f->one;
	int err;

	stats_one(&e->total, one);
	if (one->fail < KT_FAIL__MAX && (!e->first_failed || one->first < e->first_failed))
		e->first_failed = one->first;
	if (m->o.window_ns && (err = window_add(e, f->t / m->o.window_ns, one)))
		return err;
	if (f->via) {
		if (f->backend == KT_ENT_NONE)
			e->unknown_backend += one->n ? one->n : 1;
		else if ((err = backend_add(e, f->backend, f->bport, one->n ? one->n : 1)))
			return err;
	}
	return 0;
}

const struct kt_entity *kt_model_entities(const struct kt_model *m, uint32_t *n)
{
	*n = m->nents;
	return m->ents;
}

const struct kt_edge *kt_model_edges(const struct kt_model *m, uint32_t *n)
{
	*n = m->nedges;
	return m->edges;
}
