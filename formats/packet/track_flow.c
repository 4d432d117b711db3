/* track_flow.c - the connection table: lookup, LRU, eviction, emission.
 *
 * Entries hash on both endpoints in a fixed order (the smaller address:port
 * first) so both directions find the same entry. Entries queue in the order
 * they were (re)queued; a packet only updates last_ts, and the head is
 * requeued when found touched since it was queued (second chance). The head
 * is then the least recently seen entry: idle expiry and eviction when full
 * take from it, in O(1) amortized, without relinking the list on every
 * packet (that would touch two more cache lines per packet).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "error.h"
#include "hash.h"
#include "track_internal.h"

#define NS (1000000000ull)

static uint32_t flow_hash(uint8_t proto, const uint8_t *a, uint16_t ap,
			  const uint8_t *b, uint16_t bp)
{
	/* the endpoints' hashes added, so either direction of a packet finds
	 * the same bucket without ordering the endpoints first */
	uint64_t h = (kt_hash_ip(a, ap) + kt_hash_ip(b, bp) + proto) * 0xff51afd7ed558ccdull;

	return (uint32_t)(h >> 32);
}

static void lru_unlink(struct kt_tracker *t, struct kt_centry *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		t->lru_head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		t->lru_tail = f->prev;
	f->prev = f->next = NULL;
}

static void lru_push(struct kt_tracker *t, struct kt_centry *f)
{
	f->queued_ts = f->last_ts;
	f->prev = t->lru_tail;
	f->next = NULL;
	if (t->lru_tail)
		t->lru_tail->next = f;
	else
		t->lru_head = f;
	t->lru_tail = f;
}

struct kt_centry *kt_track_find(struct kt_tracker *t, uint8_t proto,
			      const uint8_t *src, uint16_t sport,
			      const uint8_t *dst, uint16_t dport, int *dir)
{
	uint32_t h = flow_hash(proto, src, sport, dst, dport);
	struct kt_centry *f;

	for (f = t->buckets[h & (t->nbuckets - 1)]; f; f = f->hnext) {
		if (f->hash != h || f->c.proto != proto)
			continue;
		if (f->c.sport == sport && f->c.dport == dport &&
		    !memcmp(f->c.src, src, 16) && !memcmp(f->c.dst, dst, 16)) {
			*dir = 0;
			return f;
		}
		if (f->c.sport == dport && f->c.dport == sport &&
		    !memcmp(f->c.src, dst, 16) && !memcmp(f->c.dst, src, 16)) {
			*dir = 1;
			return f;
		}
	}
	return NULL;
}

void kt_track_count(struct kt_centry *f, int dir, uint64_t ts, uint32_t wirelen)
{
	if (dir == 0) {
		f->c.packets_fwd++;
		f->c.bytes_fwd += wirelen;
	} else {
		f->c.packets_rev++;
		f->c.bytes_rev += wirelen;
	}
	if (ts > f->c.ts && ts - f->c.ts > f->c.duration_ns)
		f->c.duration_ns = ts - f->c.ts;
	if (ts > f->last_ts)
		f->last_ts = ts;
}

/* Hand the entry's record to the callback (once). */
static void emit(struct kt_tracker *t, struct kt_centry *f)
{
	int err;

	if (f->c.proto == IPPROTO_TCP)
		f->c.outcome = kt_track_tcp_outcome(f);
	else
		f->c.outcome = KT_CONN_UDP;
	f->c.l7.p = f->l7;
	f->c.l7.len = f->l7 ? f->l7_len : 0;
	t->st.conns++;
	if (t->err || !t->o.emit_conn)
		return;
	err = t->o.emit_conn(t->o.ctx, &f->c);
	if (err)
		kt_track_fail(t, err < 0 ? err : -ECANCELED);
}

static void flow_release(struct kt_tracker *t, struct kt_centry *f)
{
	kt_dns_stream_free(t, &f->dir[0].dns);
	kt_dns_stream_free(t, &f->dir[1].dns);
	free(f->l7);
	f->l7 = NULL;
	f->l7_len = 0;
}

static void flow_remove(struct kt_tracker *t, struct kt_centry *f)
{
	struct kt_centry **pp = &t->buckets[f->hash & (t->nbuckets - 1)];

	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	lru_unlink(t, f);
	flow_release(t, f);
	free(f);
	t->nflows--;
}

static uint64_t idle_limit(const struct kt_tracker *t, const struct kt_centry *f)
{
	if (f->c.proto == IPPROTO_UDP)
		return t->o.udp_idle_ns;
	return f->is_closed ? t->o.tcp_closed_ns : t->o.tcp_idle_ns;
}

/* The least recently seen entry, after requeueing those seen since. */
static struct kt_centry *lru_oldest(struct kt_tracker *t)
{
	struct kt_centry *f;

	while ((f = t->lru_head) && f->last_ts > f->queued_ts && f->next) {
		lru_unlink(t, f);
		lru_push(t, f);
	}
	return f;
}

static void expire(struct kt_tracker *t)
{
	struct kt_centry *f;

	while ((f = lru_oldest(t)) && t->now > f->last_ts &&
	       t->now - f->last_ts > idle_limit(t, f)) {
		emit(t, f);
		flow_remove(t, f);
	}
}

/* Emit and drop the entry, e.g. before a new connection takes its key. */
void kt_track_end(struct kt_tracker *t, struct kt_centry *f)
{
	emit(t, f);
	flow_remove(t, f);
}

struct kt_centry *kt_track_new(struct kt_tracker *t, uint8_t proto,
			     const uint8_t *src, uint16_t sport,
			     const uint8_t *dst, uint16_t dport,
			     const struct kt_pkt *p, const struct kt_pkt_l4 *l)
{
	struct kt_centry *f;
	uint32_t b;

	if (t->nflows >= t->o.max_flows && (f = lru_oldest(t))) {
		t->st.evicted_full++;
		kt_track_end(t, f);
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		kt_track_fail(t, kt_err_set(-ENOMEM, "out of memory tracking flows"));
		return NULL;
	}
	f->c.proto = proto;
	memcpy(f->c.src, src, 16);
	memcpy(f->c.dst, dst, 16);
	f->c.sport = sport;
	f->c.dport = dport;
	f->c.ts = p->ts;
	f->c.capture = t->o.capture;
	f->c.vlan = l->vlan;
	f->c.tunnel_vni = l->vni;
	f->last_ts = p->ts;
	f->hash = flow_hash(proto, src, sport, dst, dport);
	f->is_dns = sport == 53 || dport == 53;
	b = f->hash & (t->nbuckets - 1);
	f->hnext = t->buckets[b];
	t->buckets[b] = f;
	lru_push(t, f);
	t->nflows++;
	return f;
}

static void track_udp(struct kt_tracker *t, const struct kt_pkt *p,
		      const struct kt_pkt_l4 *l)
{
	struct kt_centry *f;
	int dir = 0;

	f = kt_track_find(t, IPPROTO_UDP, l->src, l->sport, l->dst, l->dport, &dir);
	if (!f) {
		f = kt_track_new(t, IPPROTO_UDP, l->src, l->sport, l->dst,
				 l->dport, p, l);
		if (!f)
			return;
	}
	kt_track_count(f, dir, p->ts, p->wirelen);
	if (l->first_frag)
		kt_frag_first(t, l, f);
	else if (f->is_dns && l->caplen == l->paylen)
		kt_dns_message(t, p->ts, IPPROTO_UDP, l, l->payload, l->caplen);
	else if (f->is_dns)
		t->st.dns_cut++;
}

int kt_tracker_packet(struct kt_tracker *t, const struct kt_pkt *p)
{
	unsigned i;

	if (t->err)
		return t->err;
	t->st.packets++;
	if (p->flags & KT_PKT_TRUNCATED)
		t->st.truncated++;
	if (p->flags & KT_PKT_MALFORMED)
		t->st.malformed++;
	if (!p->nl4 && !p->nfrag)
		t->st.frames_no_l4++;
	if (p->ts > t->now) {
		t->now = p->ts;
		expire(t);
		kt_dnsq_expire(t, false);
	}
	for (i = 0; i < p->nl4 && !t->err; i++) {
		const struct kt_pkt_l4 *l = &p->l4[i];
		struct kt_centry *f;

		t->st.layers++;
		if (l->proto == IPPROTO_UDP) {
			track_udp(t, p, l);
		} else if (l->proto == IPPROTO_TCP) {
			f = kt_track_tcp(t, p, l);
			if (f && l->first_frag)
				kt_frag_first(t, l, f);
		}
	}
	for (i = 0; i < p->nfrag && !t->err; i++)
		kt_frag_more(t, p, &p->frag[i]);
	return t->err;
}

int kt_tracker_flush(struct kt_tracker *t)
{
	while (t->lru_head) {
		emit(t, t->lru_head);
		flow_remove(t, t->lru_head);
	}
	kt_dnsq_expire(t, true);
	return t->err;
}

void kt_tracker_set_capture(struct kt_tracker *t, uint16_t capture)
{
	t->o.capture = capture;
}

void kt_tracker_get_stats(const struct kt_tracker *t, struct kt_tracker_stats *out)
{
	*out = t->st;
}

int kt_tracker_new(struct kt_tracker **out, const struct kt_tracker_opts *opts)
{
	struct kt_tracker *t;
	int err = -ENOMEM;

	kt_hash_init();
	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		goto nomem;
	t->o = *opts;
	if (!t->o.max_flows)
		t->o.max_flows = KT_TRACK_DEFAULT_FLOWS;
	if (!t->o.max_dns_pending)
		t->o.max_dns_pending = KT_TRACK_DEFAULT_DNS;
	if (!t->o.tcp_idle_ns)
		t->o.tcp_idle_ns = 300 * NS;
	if (!t->o.tcp_closed_ns)
		t->o.tcp_closed_ns = 30 * NS;
	if (!t->o.udp_idle_ns)
		t->o.udp_idle_ns = 120 * NS;
	if (!t->o.dns_timeout_ns)
		t->o.dns_timeout_ns = 10 * NS;
	if (t->o.max_flows > (1u << 26) || t->o.max_dns_pending > (1u << 24)) {
		err = kt_err_set(-EINVAL, "flow table limit too large");
		goto fail;
	}
	t->nbuckets = 64;
	while (t->nbuckets < t->o.max_flows)
		t->nbuckets <<= 1;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets)
		goto nomem;
	err = kt_frag_init(t);
	if (err)
		goto fail;
	err = kt_dnsq_init(t);
	if (err)
		goto fail;
	*out = t;
	return 0;
nomem:
	err = kt_err_set(-ENOMEM, "out of memory creating the flow tracker");
fail:
	kt_tracker_free(t);
	return err;
}

void kt_tracker_free(struct kt_tracker *t)
{
	if (!t)
		return;
	while (t->lru_head)
		flow_remove(t, t->lru_head);
	kt_frag_free(t);
	kt_dnsq_free(t);
	free(t->buckets);
	free(t);
}
