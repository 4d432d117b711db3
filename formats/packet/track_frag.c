/* track_frag.c - count non-first IP fragments in their datagram's flow.
 *
 * Only the first fragment carries the ports. Its (src, dst, protocol, id)
 * is remembered for a while so the fragments after it count in the same
 * flow; fragments that arrive before their first wait as counters. Payload is
 * not reassembled: only counting needs the fragments. A fixed ring of slots
 * bounds the memory; the oldest slot is reused first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hash.h"
#include "track_internal.h"

#define KT_FRAG_SLOTS	4096	/* power of two */
#define KT_FRAG_TTL_NS	(30ull * 1000000000ull)

struct kt_frag {
	int32_t hnext;		/* index of the next slot in the chain, -1 */
	int32_t bucket;		/* chain it is on, -1 when unused */
	bool resolved;		/* the first fragment was seen */
	uint8_t proto;
	uint8_t src[16], dst[16];
	uint32_t id;
	uint64_t ts;
	uint16_t sport, dport;	/* resolved */
	uint64_t pkts, bytes;	/* waiting for the first fragment */
	uint64_t last_ts;
};

/* The ring and the bucket heads live in one allocation. */
struct kt_frag_heads {
	int32_t head[KT_FRAG_SLOTS];
};

static int32_t *heads(struct kt_tracker *t)
{
	return (int32_t *)(t->frags + KT_FRAG_SLOTS);
}

int kt_frag_init(struct kt_tracker *t)
{
	size_t sz = KT_FRAG_SLOTS * sizeof(struct kt_frag) +
		    sizeof(struct kt_frag_heads);
	unsigned i;

	t->frags = malloc(sz);
	if (!t->frags)
		return kt_err_set(-ENOMEM, "out of memory for the fragment table");
	for (i = 0; i < KT_FRAG_SLOTS; i++) {
		t->frags[i].bucket = -1;
		t->frags[i].hnext = -1;
		heads(t)[i] = -1;
	}
	t->frag_next = 0;
	return 0;
}

void kt_frag_free(struct kt_tracker *t)
{
	unsigned i;

	if (!t->frags)
		return;
	for (i = 0; i < KT_FRAG_SLOTS; i++)
		if (t->frags[i].bucket >= 0 && !t->frags[i].resolved)
			t->st.frag_orphans += t->frags[i].pkts;
	free(t->frags);
	t->frags = NULL;
}

static uint32_t frag_hash(uint8_t proto, const uint8_t *src, const uint8_t *dst,
			  uint32_t id)
{
	return (uint32_t)(kt_hash_ip(dst, kt_hash_ip(src, (uint64_t)proto << 32 | id)) >> 32) &
	       (KT_FRAG_SLOTS - 1);
}

static struct kt_frag *lookup(struct kt_tracker *t, uint8_t proto,
			      const uint8_t *src, const uint8_t *dst, uint32_t id)
{
	int32_t i = heads(t)[frag_hash(proto, src, dst, id)];

	while (i >= 0) {
		struct kt_frag *e = &t->frags[i];

		if (e->proto == proto && e->id == id && !memcmp(e->src, src, 16) &&
		    !memcmp(e->dst, dst, 16) && t->now - e->ts <= KT_FRAG_TTL_NS)
			return e;
		i = e->hnext;
	}
	return NULL;
}

static struct kt_frag *insert(struct kt_tracker *t, uint8_t proto,
			      const uint8_t *src, const uint8_t *dst,
			      uint32_t id, uint64_t ts)
{
	int32_t slot = (int32_t)t->frag_next;
	struct kt_frag *e = &t->frags[slot];
	uint32_t b;

	t->frag_next = (t->frag_next + 1) & (KT_FRAG_SLOTS - 1);
	if (e->bucket >= 0) {
		int32_t *pp = &heads(t)[e->bucket];

		while (*pp >= 0 && *pp != slot)
			pp = &t->frags[*pp].hnext;
		if (*pp == slot)
			*pp = e->hnext;
		if (!e->resolved)
			t->st.frag_orphans += e->pkts;
	}
	memset(e, 0, sizeof(*e));
	e->proto = proto;
	memcpy(e->src, src, 16);
	memcpy(e->dst, dst, 16);
	e->id = id;
	e->ts = ts;
	b = frag_hash(proto, src, dst, id);
	e->bucket = (int32_t)b;
	e->hnext = heads(t)[b];
	heads(t)[b] = slot;
	return e;
}

void kt_frag_first(struct kt_tracker *t, const struct kt_pkt_l4 *l,
		   struct kt_centry *f)
{
	struct kt_frag *e = lookup(t, l->proto, l->src, l->dst, l->frag_id);
	int dir = memcmp(f->c.src, l->src, 16) || f->c.sport != l->sport;

	if (!e)
		e = insert(t, l->proto, l->src, l->dst, l->frag_id, t->now);
	if (!e->resolved && e->pkts) {
		/* fragments that overtook their first one */
		if (dir == 0) {
			f->c.packets_fwd += e->pkts;
			f->c.bytes_fwd += e->bytes;
		} else {
			f->c.packets_rev += e->pkts;
			f->c.bytes_rev += e->bytes;
		}
		if (e->last_ts > f->last_ts)
			f->last_ts = e->last_ts;
	}
	e->resolved = true;
	e->sport = l->sport;
	e->dport = l->dport;
	e->pkts = e->bytes = 0;
}

void kt_frag_more(struct kt_tracker *t, const struct kt_pkt *p,
		  const struct kt_pkt_frag *fr)
{
	struct kt_frag *e = lookup(t, fr->proto, fr->src, fr->dst, fr->id);
	struct kt_centry *f;
	int dir;

	if (!e)
		e = insert(t, fr->proto, fr->src, fr->dst, fr->id, t->now);
	if (!e->resolved) {
		e->pkts++;
		e->bytes += p->wirelen;
		e->last_ts = p->ts;
		return;
	}
	f = kt_track_find(t, fr->proto, fr->src, e->sport, fr->dst, e->dport, &dir);
	if (!f) {
		t->st.frag_orphans++;
		return;
	}
	kt_track_count(f, dir, p->ts, p->wirelen);
}
