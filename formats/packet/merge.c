/* merge.c - connections seen in several captures: clock offsets, one record
 * per connection (see merge.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "error.h"
#include "merge.h"

#define DEFAULT_MAX  (2u << 20)
#define SAME_CONN_NS (1000000000ll)	/* slack when matching start times */

struct item {
	struct kt_conn c;
	char *l7;		/* own copy, or NULL */
	uint8_t lo[16], hi[16];	/* endpoints in a fixed order: the key */
	uint16_t lop, hip;
	int64_t t;		/* start on capture 0's clock */
	uint64_t end;
};

struct ditem {
	struct kt_dns d;
	uint16_t capture;
	char *qname, *answers;	/* own copies, or NULL */
	int64_t t;		/* query time on capture 0's clock */
};

struct kt_merge {
	struct item *v;
	size_t n, cap, max;
	struct ditem *dv;
	size_t dn, dcap;
	uint16_t ncap;
};

int kt_merge_new(struct kt_merge **out, uint16_t ncaptures, uint32_t max_conns)
{
	struct kt_merge *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m)
		return kt_err_set(-ENOMEM, "out of memory merging captures");
	m->ncap = ncaptures;
	m->max = max_conns ? max_conns : DEFAULT_MAX;
	*out = m;
	return 0;
}

void kt_merge_free(struct kt_merge *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].l7);
	for (size_t i = 0; i < m->dn; i++) {
		free(m->dv[i].qname);
		free(m->dv[i].answers);
	}
	free(m->v);
	free(m->dv);
	free(m);
}

int kt_merge_add(struct kt_merge *m, const struct kt_conn *c)
{
	struct item *it;
	int r, err = 0;

	if (c->capture >= m->ncap) {
		err = kt_err_set(-EINVAL, "connection from capture %u of %u", c->capture, m->ncap);
		goto out;
	}
	if (m->n == m->max) {
		err = kt_err_set(-E2BIG, "more than %zu connections in the captures: too many "
				 "to merge in memory, import the files one at a time", m->max);
		goto out;
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		struct item *v = realloc(m->v, cap * sizeof(*v));

		if (!v)
			goto nomem;
		m->v = v;
		m->cap = cap;
	}
	it = &m->v[m->n];
	memset(it, 0, sizeof(*it));
	it->c = *c;
	it->c.l7.p = NULL;
	it->c.l7.len = 0;
	if (c->l7.len) {
		it->l7 = malloc(c->l7.len);
		if (!it->l7)
			goto nomem;
		memcpy(it->l7, c->l7.p, c->l7.len);
		it->c.l7.len = c->l7.len;
	}
	r = memcmp(c->src, c->dst, 16);
	if (r < 0 || (r == 0 && c->sport <= c->dport)) {
		memcpy(it->lo, c->src, 16); it->lop = c->sport;
		memcpy(it->hi, c->dst, 16); it->hip = c->dport;
	} else {
		memcpy(it->lo, c->dst, 16); it->lop = c->dport;
		memcpy(it->hi, c->src, 16); it->hip = c->sport;
	}
	m->n++;
out:
	return err;
nomem:
	err = kt_err_set(-ENOMEM, "out of memory merging captures");
	goto out;
}

static char *dup_str(const struct kt_str *s)
{
	char *p = malloc(s->len ? s->len : 1);

	if (p && s->len)
		memcpy(p, s->p, s->len);
	return p;
}

int kt_merge_add_dns(struct kt_merge *m, uint16_t capture, const struct kt_dns *d)
{
	struct ditem *it;
	int err = 0;

	if (capture >= m->ncap) {
		err = kt_err_set(-EINVAL, "DNS record from capture %u of %u", capture, m->ncap);
		goto out;
	}
	if (m->n + m->dn >= m->max) {
		err = kt_err_set(-E2BIG, "more than %zu records in the captures: too many "
				 "to merge in memory, import the files one at a time", m->max);
		goto out;
	}
	if (m->dn == m->dcap) {
		size_t cap = m->dcap ? m->dcap * 2 : 256;
		struct ditem *v = realloc(m->dv, cap * sizeof(*v));

		if (!v)
			goto nomem;
		m->dv = v;
		m->dcap = cap;
	}
	it = &m->dv[m->dn];
	memset(it, 0, sizeof(*it));
	it->d = *d;
	it->capture = capture;
	it->qname = dup_str(&d->qname);
	it->answers = dup_str(&d->answers);
	it->d.iface.p = NULL;
	it->d.iface.len = 0;
	it->d.qname.p = it->qname;
	it->d.answers.p = it->answers;
	m->dn++;	/* counted before the check: freed with the rest */
	if (!it->qname || !it->answers)
		goto nomem;
out:
	return err;
nomem:
	err = kt_err_set(-ENOMEM, "out of memory merging captures");
	goto out;
}

static int dns_cmp(const void *pa, const void *pb)
{
	const struct ditem *a = pa, *b = pb;
	const struct kt_dns *x = &a->d, *y = &b->d;
	int r;

	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if ((r = memcmp(x->client, y->client, 16)) || (r = memcmp(x->server, y->server, 16)))
		return r;
	if (x->client_port != y->client_port)
		return x->client_port < y->client_port ? -1 : 1;
	if (x->server_port != y->server_port)
		return x->server_port < y->server_port ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->qtype != y->qtype)
		return x->qtype < y->qtype ? -1 : 1;
	return 0;
}

static int dns_cmp_time(const void *pa, const void *pb)
{
	const struct ditem *a = pa, *b = pb;
	int r = dns_cmp(pa, pb);

	if (r)
		return r;
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	return (int)a->capture - (int)b->capture;
}

/* One DNS record per transaction: the copies other captures hold of it
 * (same key, within SAME_CONN_NS once on one clock) are dropped; an
 * answered copy is preferred to a query the capture saw no answer to. */
static int finish_dns(struct kt_merge *m, const struct kt_merge_clock *clocks,
		      int (*emit)(void *ctx, const struct kt_dns *d), void *ctx,
		      uint64_t *dups)
{
	size_t i = 0;
	int err = 0;

	for (size_t k = 0; k < m->dn; k++)
		m->dv[k].t = (int64_t)m->dv[k].d.ts - clocks[m->dv[k].capture].offset_ns;
	if (m->dn > 1)
		qsort(m->dv, m->dn, sizeof(*m->dv), dns_cmp_time);
	while (i < m->dn) {
		size_t j = i + 1, best = i;
		struct kt_dns out;

		while (j < m->dn && !dns_cmp(&m->dv[i], &m->dv[j]) &&
		       m->dv[j].t <= m->dv[i].t + SAME_CONN_NS) {
			bool seen = false;

			for (size_t k = i; k < j; k++)
				if (m->dv[k].capture == m->dv[j].capture)
					seen = true;
			if (seen)
				break;
			if (m->dv[best].d.rcode == KT_DNS_RCODE_NONE &&
			    m->dv[j].d.rcode != KT_DNS_RCODE_NONE)
				best = j;
			j++;
		}
		out = m->dv[best].d;
		out.ts = (uint64_t)m->dv[best].t;
		*dups += j - i - 1;
		if (emit && (err = emit(ctx, &out)))
			break;
		i = j;
	}
	return err;
}

static int key_cmp(const struct item *a, const struct item *b)
{
	int r;

	if (a->c.proto != b->c.proto)
		return a->c.proto < b->c.proto ? -1 : 1;
	if ((r = memcmp(a->lo, b->lo, 16)))
		return r;
	if (a->lop != b->lop)
		return a->lop < b->lop ? -1 : 1;
	if ((r = memcmp(a->hi, b->hi, 16)))
		return r;
	if (a->hip != b->hip)
		return a->hip < b->hip ? -1 : 1;
	return 0;
}

static int by_key_then_time(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;
	int r = key_cmp(a, b);

	if (r)
		return r;
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	return (int)a->c.capture - (int)b->c.capture;
}

static int cmp_i64(const void *pa, const void *pb)
{
	int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;

	return (a > b) - (a < b);
}

static bool handshake_seen(const struct kt_conn *c)
{
	return c->proto == IPPROTO_TCP && c->outcome != KT_CONN_PARTIAL;
}

/* Median of the start-time differences to capture 0, per capture, over
 * connections each saw exactly once; those with a handshake in both first. */
static int estimate_clocks(struct kt_merge *m, struct kt_merge_clock *clocks)
{
	int64_t *good = malloc((m->n + 1) * sizeof(*good));
	int64_t *any = malloc((m->n + 1) * sizeof(*any));
	int err = 0;

	memset(clocks, 0, m->ncap * sizeof(*clocks));
	if (m->ncap)
		clocks[0].known = true;
	if (!good || !any) {
		err = kt_err_set(-ENOMEM, "out of memory merging captures");
		goto out;
	}
	for (uint16_t cap = 1; cap < m->ncap; cap++) {
		size_t ng = 0, na = 0, i = 0;

		while (i < m->n) {
			size_t j = i, n0 = 0, nc = 0, i0 = 0, ic = 0;

			while (j < m->n && !key_cmp(&m->v[i], &m->v[j])) {
				if (m->v[j].c.capture == 0) { n0++; i0 = j; }
				if (m->v[j].c.capture == cap) { nc++; ic = j; }
				j++;
			}
			if (n0 == 1 && nc == 1) {
				int64_t d = (int64_t)(m->v[ic].c.ts - m->v[i0].c.ts);

				any[na++] = d;
				if (handshake_seen(&m->v[ic].c) && handshake_seen(&m->v[i0].c))
					good[ng++] = d;
			}
			i = j;
		}
		clocks[cap].matched = (uint32_t)na;
		if (ng) {
			qsort(good, ng, sizeof(*good), cmp_i64);
			clocks[cap].offset_ns = good[ng / 2];
			clocks[cap].known = true;
		} else if (na) {
			qsort(any, na, sizeof(*any), cmp_i64);
			clocks[cap].offset_ns = any[na / 2];
			clocks[cap].known = true;
		}
	}
out:
	free(good);
	free(any);
	return err;
}

int kt_merge_finish(struct kt_merge *m, struct kt_merge_clock *clocks,
		    int (*emit)(void *ctx, const struct kt_conn *c),
		    int (*emit_dns)(void *ctx, const struct kt_dns *d), void *ctx,
		    struct kt_merge_result *res)
{
	size_t i = 0;
	int err;

	memset(res, 0, sizeof(*res));
	/* group by key first, to find the connections captures share */
	for (size_t k = 0; k < m->n; k++)
		m->v[k].t = (int64_t)m->v[k].c.ts;
	if (m->n > 1)
		qsort(m->v, m->n, sizeof(*m->v), by_key_then_time);
	if ((err = estimate_clocks(m, clocks)))
		return err;
	for (size_t k = 0; k < m->n; k++) {
		struct item *it = &m->v[k];

		it->t = (int64_t)it->c.ts - clocks[it->c.capture].offset_ns;
		it->end = (uint64_t)it->t + it->c.duration_ns;
	}
	if (m->n > 1)
		qsort(m->v, m->n, sizeof(*m->v), by_key_then_time);

	while (i < m->n) {
		size_t j = i + 1, best = i;
		int64_t end = (int64_t)m->v[i].end;

		/* one cluster: same key, overlapping in time, other captures */
		while (j < m->n && !key_cmp(&m->v[i], &m->v[j]) &&
		       m->v[j].t <= end + SAME_CONN_NS) {
			bool seen = false;

			for (size_t k = i; k < j; k++)
				if (m->v[k].c.capture == m->v[j].c.capture)
					seen = true;
			if (seen)
				break;	/* the same capture again: a new connection */
			if ((int64_t)m->v[j].end > end)
				end = (int64_t)m->v[j].end;
			if (m->v[j].c.packets_fwd + m->v[j].c.packets_rev >
			    m->v[best].c.packets_fwd + m->v[best].c.packets_rev)
				best = j;
			j++;
		}
		{
			struct kt_conn out = m->v[best].c;
			const char *l7 = m->v[best].l7;
			uint32_t l7len = m->v[best].c.l7.len;

			for (size_t k = i; k < j && !l7; k++) {
				l7 = m->v[k].l7;
				l7len = m->v[k].c.l7.len;
			}
			out.ts = (uint64_t)m->v[best].t;
			out.l7.p = l7;
			out.l7.len = l7 ? l7len : 0;
			res->conn_duplicates += j - i - 1;
			if (emit && (err = emit(ctx, &out)))
				return err;
		}
		i = j;
	}
	return finish_dns(m, clocks, emit_dns, ctx, &res->dns_duplicates);
}
