/* pkt_ring.c - a byte ring of captured packets (pkt_ring.h). */
#include "pkt_ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include "error.h"
#include "packet.h"

/* What precedes each packet's bytes in the buffer (copied with memcpy: the
 * buffer holds it at 8-byte aligned offsets, but stays a byte buffer). */
struct ent {
	uint64_t ts;
	uint32_t size;		/* whole entry, rounded to 8 */
	uint32_t caplen, wirelen;
	uint16_t sport, dport;
	uint8_t proto, flags;
	uint8_t src[16], dst[16];
};

#define HDR ((sizeof(struct ent) + 7) & ~(size_t)7)

struct kt_pkt_ring {
	uint8_t *buf;
	size_t cap;
	size_t head;		/* next write */
	size_t tail;		/* oldest entry */
	size_t wrap_end;	/* while wrapped: where the entries before 0 end */
	uint64_t count;
	uint64_t used;		/* entry bytes */
	uint64_t max_age_ns;
	uint64_t newest_ts;
	struct kt_pkt_ring_stats st;
};

void kt_pkt_ring_key(struct kt_ring_pkt *p, const struct kt_pkt *pkt)
{
	const struct kt_pkt_icmp *m = &pkt->icmp;
	const struct kt_pkt_l4 *l;

	p->proto = 0;
	p->flags = 0;
	p->sport = p->dport = 0;
	memset(p->src, 0, 16);
	memset(p->dst, 0, 16);
	/* nothing follows ICMP in a frame: when there is one, it is the
	 * innermost, inside whatever tunnel l4[] holds */
	if (m->error && (m->quote & KT_ICMP_QUOTE_IP) &&
	    (m->proto == IPPROTO_TCP || m->proto == IPPROTO_UDP)) {
		p->proto = m->proto;
		p->flags = KT_RING_ICMP;
		memcpy(p->src, m->src, 16);
		memcpy(p->dst, m->dst, 16);
		if (m->quote & KT_ICMP_QUOTE_PORTS) {
			p->sport = m->sport;
			p->dport = m->dport;
		}
		return;
	}
	if (!pkt->nl4)
		return;
	l = &pkt->l4[pkt->nl4 - 1];
	p->proto = l->proto;
	memcpy(p->src, l->src, 16);
	memcpy(p->dst, l->dst, 16);
	p->sport = l->sport;
	p->dport = l->dport;
}

int kt_pkt_ring_new(struct kt_pkt_ring **out, size_t bytes, uint64_t max_age_ns)
{
	struct kt_pkt_ring *r;

	*out = NULL;
	if (bytes < 4096)
		return kt_err_set(-EINVAL, "packet ring of %zu bytes: at least 4096", bytes);
	if (!(r = calloc(1, sizeof(*r))) || !(r->buf = malloc(bytes))) {
		free(r);
		return kt_err_set(-ENOMEM, "cannot allocate a packet ring of %zu bytes", bytes);
	}
	r->cap = bytes & ~(size_t)7;
	r->max_age_ns = max_age_ns;
	*out = r;
	return 0;
}

static void read_ent(const struct kt_pkt_ring *r, size_t off, struct ent *e)
{
	memcpy(e, r->buf + off, sizeof(*e));
}

static void drop_oldest(struct kt_pkt_ring *r)
{
	struct ent e;

	read_ent(r, r->tail, &e);
	r->tail += e.size;
	r->used -= e.size;
	r->count--;
	if (r->wrap_end && r->tail == r->wrap_end) {
		r->tail = 0;
		r->wrap_end = 0;
	}
	if (!r->count)
		r->head = r->tail = r->wrap_end = 0;
}

int kt_pkt_ring_push(struct kt_pkt_ring *r, const struct kt_ring_pkt *p)
{
	size_t n = (HDR + p->caplen + 7) & ~(size_t)7;
	size_t at;
	struct ent e;

	if (n > r->cap) {
		r->st.too_big++;
		return -E2BIG;
	}
	for (;;) {
		if (!r->wrap_end) {			/* entries in [tail, head) */
			if (r->cap - r->head >= n) {
				at = r->head;
				break;
			}
			if (r->count && n <= r->tail) {	/* wrap to the start */
				r->wrap_end = r->head;
				at = 0;
				break;
			}
			if (!r->count) {
				r->head = r->tail = 0;
				continue;
			}
		} else if (r->tail - r->head >= n) {	/* free space in [head, tail) */
			at = r->head;
			break;
		}
		drop_oldest(r);
		r->st.evicted_size++;
	}
	memset(&e, 0, sizeof(e));
	e.ts = p->ts;
	e.size = (uint32_t)n;
	e.caplen = p->caplen;
	e.wirelen = p->wirelen;
	e.sport = p->sport;
	e.dport = p->dport;
	e.proto = p->proto;
	e.flags = p->flags;
	memcpy(e.src, p->src, 16);
	memcpy(e.dst, p->dst, 16);
	memcpy(r->buf + at, &e, sizeof(e));
	if (p->caplen)
		memcpy(r->buf + at + HDR, p->data, p->caplen);
	r->head = at + n;
	r->used += n;
	r->count++;
	r->st.pushed++;
	if (p->ts > r->newest_ts)
		r->newest_ts = p->ts;
	return 0;
}

void kt_pkt_ring_expire(struct kt_pkt_ring *r, uint64_t now_ns)
{
	struct ent e;

	if (!r->max_age_ns || now_ns < r->max_age_ns)
		return;
	while (r->count) {
		read_ent(r, r->tail, &e);
		if (e.ts >= now_ns - r->max_age_ns)
			break;
		drop_oldest(r);
		r->st.evicted_age++;
	}
}

int kt_pkt_ring_foreach(const struct kt_pkt_ring *r, uint64_t from_ns, uint64_t to_ns,
			int (*fn)(void *ctx, const struct kt_ring_pkt *p), void *ctx)
{
	size_t off = r->tail;
	uint64_t left = r->count;
	struct kt_ring_pkt p;
	struct ent e;
	int err;

	while (left--) {
		if (r->wrap_end && off == r->wrap_end)
			off = 0;
		read_ent(r, off, &e);
		if (e.ts >= from_ns && e.ts <= to_ns) {
			p.ts = e.ts;
			p.caplen = e.caplen;
			p.wirelen = e.wirelen;
			p.proto = e.proto;
			p.flags = e.flags;
			memcpy(p.src, e.src, 16);
			memcpy(p.dst, e.dst, 16);
			p.sport = e.sport;
			p.dport = e.dport;
			p.data = r->buf + off + HDR;
			if ((err = fn(ctx, &p)))
				return err;
		}
		off += e.size;
	}
	return 0;
}

void kt_pkt_ring_stats(const struct kt_pkt_ring *r, struct kt_pkt_ring_stats *out)
{
	struct ent e;

	*out = r->st;
	out->packets = r->count;
	out->bytes = r->used;
	out->oldest_ts = 0;
	if (r->count) {
		read_ent(r, r->tail, &e);
		out->oldest_ts = e.ts;
	}
}

void kt_pkt_ring_free(struct kt_pkt_ring *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r);
}
