/* model.c - the model's life, and the one pass over a bundle (model.h). */
#include "model_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "error.h"
#include "k8s.h"
#include "stream.h"

int kt_model_new(struct kt_model **out, const struct kt_model_opts *opts)
{
	struct kt_model *m = calloc(1, sizeof(*m));
	int err;

	kt_hash_init();
	*out = NULL;
	if (!m)
		return kt_err_set(-ENOMEM, "out of memory");
	if (opts)
		m->o = *opts;
	m->node_ent = KT_ENT_NONE;
	m->pcfree = KT_MAP_END;
	if ((err = kt_k8s_index_new(&m->k8s))) {
		free(m);
		return err;
	}
	*out = m;
	return 0;
}

void kt_model_free(struct kt_model *m)
{
	if (!m)
		return;
	kt_k8s_index_free(m->k8s);
	free(m->node_name);
	for (uint32_t i = 0; i < m->ncgs; i++) {
		free(m->cgs[i].cid);
		free(m->cgs[i].path);
	}
	free(m->cgs);
	kt_map_free(&m->cgmap);
	free(m->pids);
	kt_map_free(&m->pidmap);
	free(m->nss);
	kt_map_free(&m->nsmap);
	free(m->nat);
	kt_map_free(&m->natmap);
	kt_map_free(&m->snatmap);
	kt_map_free(&m->dnatmap);
	kt_map_free(&m->natdstmap);
	free(m->nattup_bits);
	for (uint32_t i = 0; i < m->ndns; i++)
		free(m->dns[i].names);
	free(m->dns);
	kt_map_free(&m->dnsmap);
	free(m->listeners);
	kt_map_free(&m->listenmap);
	for (uint32_t i = 0; i < m->nents; i++) {
		struct kt_entity *e = &m->ents[i];

		free(e->id);
		free(e->name);
		free(e->ns);
		free(e->detail);
		free(e->reason);
		free(e->names);
	}
	free(m->ents);
	kt_map_free(&m->entmap);
	for (uint32_t i = 0; i < m->nedges; i++) {
		free(m->edges[i].windows);
		free(m->edges[i].backends);
	}
	free(m->edges);
	free(m->ekeys);
	kt_map_free(&m->edgemap);
	kt_conn_free(m);
	free(m->answers);
	kt_map_free(&m->answermap);
	free(m->dests);
	kt_map_free(&m->destmap);
	kt_dnsfail_free(m);
	free(m);
}

int kt_model_add_k8s_entry(struct kt_model *m, const char *relpath,
			   const char *data, size_t len)
{
	if (m->k8s_done)
		return kt_err_set(-EINVAL, "'%s': Kubernetes objects after the record streams",
				  relpath);
	return kt_k8s_index_feed_entry(m->k8s, relpath, data, len);
}

static int any_version(void *arg, const struct kt_k8s_object *v, const struct kt_k8s_object *prev)
{
	(void)arg;
	(void)v;
	(void)prev;
	return 1;
}

/* The objects are all in once the first record stream starts. */
static int k8s_finish(struct kt_model *m)
{
	struct kt_k8s_stats st;
	int err;

	if (m->k8s_done)
		return 0;
	m->k8s_done = true;
	if ((err = kt_k8s_index_finish(m->k8s)))
		return err;
	kt_k8s_index_stats(m->k8s, &st);
	m->st.k8s_objects = st.objects;
	m->k8s_has_pods = st.objects > 0;
	m->k8s_has_netpol = m->k8s_has_pods &&
		kt_k8s_each_version(m->k8s, KT_K8S_NETWORKPOLICY, any_version, NULL) == 1;
	return 0;
}

static int add_flow(struct kt_model *m, const struct kt_flow *f, uint64_t ahead)
{
	int err;

	if (!m->k8s_done && (err = k8s_finish(m)))
		return err;
	m->st.flow_records++;
	return kt_conn_flow(m, f, ahead);
}

int kt_model_add_flow(struct kt_model *m, const struct kt_flow *f)
{
	return add_flow(m, f, 0);
}

int kt_model_add_conn(struct kt_model *m, const struct kt_conn *c)
{
	int err;

	if (!m->k8s_done && (err = k8s_finish(m)))
		return err;
	m->st.conn_records++;
	return kt_conn_wire(m, c);
}

int kt_model_finish(struct kt_model *m)
{
	int err;

	if (m->finished)
		return 0;
	if ((err = k8s_finish(m)) || (err = kt_conn_flush(m, true)) ||
	    (err = kt_dnsfail_finish(m)))
		return err;
	m->finished = true;
	return 0;
}

void kt_model_stats(const struct kt_model *m, struct kt_model_stats *st)
{
	*st = m->st;
}

const struct kt_k8s_index *kt_model_k8s(const struct kt_model *m)
{
	return m->k8s;
}

/* ---- the pass ------------------------------------------------------------ */

#ifndef FEED_RECORDS
#define FEED_RECORDS 256
#endif

#define FEED_AHEAD 8	/* records whose connection's slot is fetched ahead */

/* Flow records, each connection's index slot fetched FEED_AHEAD records
 * before its event is taken in (kt_conn_ahead). */
static int feed_flows(struct kt_model *m, const void *recs, size_t size, size_t n)
{
	uint64_t ahead[FEED_AHEAD];
	int err;

#define REC(i) ((const struct kt_flow *)((const char *)recs + (i) * size))
	for (size_t i = 0; i < n && i < FEED_AHEAD; i++)
		ahead[i] = kt_conn_ahead(m, REC(i));
	for (size_t i = 0; i < n; i++) {
		uint64_t h = ahead[i % FEED_AHEAD];

		if (i + FEED_AHEAD < n)
			ahead[i % FEED_AHEAD] = kt_conn_ahead(m, REC(i + FEED_AHEAD));
		if ((err = add_flow(m, REC(i), h)))
			return err;
	}
#undef REC
	return 0;
}

static int feed_stream(struct kt_model *m, struct kt_bundle *b, const struct kt_schema *sc)
{
	struct kt_stream_reader *r = NULL;
	const void *recs;
	size_t n;
	int err;

	if ((err = kt_bundle_open_stream(b, sc, &r)))
		return err;
	if (sc == &kt_flow_schema && (err = kt_stream_reader_project(r, kt_model_flow_fields))) {
		kt_stream_reader_free(r);
		return err;
	}
	/* a few hundred records at a time: decoded, then taken in while they
	 * are still in cache */
	while (!(err = kt_stream_reader_read(r, FEED_RECORDS, &recs, &n)) && n) {
		if (sc == &kt_flow_schema) {
			err = feed_flows(m, recs, sc->size, n);
			if (err)
				break;
			continue;
		}
		for (size_t i = 0; i < n && !err; i++) {
			const char *rec = (const char *)recs + i * sc->size;

			if (sc == &kt_conn_schema)
				err = kt_model_add_conn(m, (const struct kt_conn *)rec);
			else if (sc == &kt_proc_schema)
				err = kt_model_add_proc(m, (const struct kt_proc *)rec);
			else if (sc == &kt_conntrack_schema)
				err = kt_model_add_conntrack(m, (const struct kt_conntrack *)rec);
			else if (sc == &kt_dns_schema)
				err = kt_model_add_dns(m, (const struct kt_dns *)rec);
		}
		if (err)
			break;
	}
	kt_stream_reader_free(r);
	return err;
}

static int feed_doc(struct kt_model *m, struct kt_bundle *b, const struct kt_entry *e,
		    bool k8s)
{
	char *buf = NULL;
	size_t len = 0;
	int err;

	if ((err = kt_bundle_read_all(b, KT_JSON_ENTRY_MAX, &buf, &len)))
		return err;
	err = k8s ? kt_model_add_k8s_entry(m, e->path, buf, len)
		  : kt_model_add_host_entry(m, e->path, buf, len);
	free(buf);
	return err;
}

int kt_model_feed_bundle(struct kt_model *m, struct kt_bundle *b)
{
	const struct kt_entry *e;
	int r, err = 0;

	if ((err = kt_model_set_manifest(m, kt_bundle_manifest(b))))
		return err;
	while ((r = kt_bundle_next(b, &e)) == 1) {
		const struct kt_schema *sc;

		if (e->kind == KT_ENTRY_JSON || e->kind == KT_ENTRY_JSONL) {
			if (!strncmp(e->path, "k8s/", 4))
				err = feed_doc(m, b, e, true);
			else if (!strncmp(e->path, "host/", 5) && e->kind == KT_ENTRY_JSON)
				err = feed_doc(m, b, e, false);
		} else if (e->kind == KT_ENTRY_RECORDS && (sc = kt_schema_find(e->stream))) {
			if ((err = k8s_finish(m)))
				return err;
			err = feed_stream(m, b, sc);
		}
		if (err)
			return kt_err_wrap(err, "'%s'", e->path);
	}
	if (r < 0)
		return r;
	return kt_model_finish(m);
}
