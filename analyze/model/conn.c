/* conn.c - connections in flight: the events of one connection, from its
 * client's socket and from its server's (and from packets), gathered under
 * the client's address and port, which DNAT leaves alone. Once a side has
 * closed and KT_MODEL_GRACE_NS of stream time has passed without the other
 * half showing up, the connection is attributed and folded into its edge,
 * and its slot reused: memory holds what is in flight, not what happened.
 */
#include "model_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

/* Connections retire in batches of up to KT_FOLD_BATCH, once the oldest
 * has waited KT_FLUSH_SLACK_NS past its grace period. */
#define KT_FOLD_BATCH 16
/* How far two events of one connection may disagree on when it opened. */
#define KT_SKEW_NS (1000ull * 1000ull)
#define KT_FLUSH_SLACK_NS (KT_MODEL_GRACE_NS / 64)
/* How many entries ahead the flush fetches connections and index slots. */
#define DONE_AHEAD 4

static inline void prefetch_conn(const struct kt_pconn *c)
{
	for (size_t o = 0; o < sizeof(*c); o += 64)
		__builtin_prefetch((const char *)c + o);
}

/* The live connection of ip:port, whose key hashes to h. */
static struct kt_pconn *find_h(struct kt_model *m, uint8_t proto, const uint8_t ip[16],
			       uint16_t port, uint64_t h)
{
	for (uint32_t i = kt_map_first(&m->pcmap, h); i != KT_MAP_END;
	     i = kt_map_next(&m->pcmap, h, i)) {
		struct kt_pconn *c = &m->pc[i];

		if (c->live && c->proto == proto && c->cport == port && !memcmp(c->cip, ip, 16))
			return c;
	}
	return NULL;
}

static struct kt_pconn *find(struct kt_model *m, uint8_t proto, const uint8_t ip[16],
			     uint16_t port)
{
	return find_h(m, proto, ip, port, kt_conn_key_hash(proto, ip, port));
}

_Static_assert(sizeof(struct kt_pconn) == 256, "a connection in flight is four cache lines");

/* Room for need connections. On 64-byte boundaries, which realloc does not
 * keep: a connection is then four cache lines, not five. Out of line, as
 * done_make_room(). */
static __attribute__((noinline)) int pc_grow(struct kt_model *m, uint32_t need)
{
	uint32_t n = m->cappc ? m->cappc : 64;
	struct kt_pconn *p;

	if (need <= m->cappc)
		return 0;
	while (n < need) {
		if (n > UINT32_MAX / 2)
			return kt_err_set(-E2BIG, "too many connections in flight");
		n *= 2;
	}
	if (!(p = aligned_alloc(64, (size_t)n * sizeof(*p))))
		return kt_err_set(-ENOMEM, "out of memory");
	if (m->npc)
		memcpy(p, m->pc, (size_t)m->npc * sizeof(*p));
	free(m->pc);
	m->pc = p;
	m->cappc = n;
	return 0;
}

static int create_h(struct kt_model *m, uint8_t proto, const uint8_t ip[16], uint16_t port,
		    uint64_t h, uint64_t ts, struct kt_pconn **out)
{
	uint32_t i;
	struct kt_pconn *c;
	int err;

	if (m->pcfree != KT_MAP_END) {
		i = m->pcfree;
		m->pcfree = m->pc[i].next;
	} else {
		if ((err = pc_grow(m, m->npc + 1)))
			return err;
		i = m->npc++;
	}
	c = &m->pc[i];
	/* zeroed a cache line at a time: gcc makes one memset of the whole
	 * (or a compound literal) a rep stos, whose start-up was half of this
	 * function's time; 64 bytes it stores with vector moves */
	for (size_t o = 0; o < sizeof(*c); o += 64)
		memset((char *)c + o, 0, 64);
	c->hash = h;
	c->cport = port;
	c->proto = proto;
	c->live = true;
	c->fail = KT_FAIL__MAX;
	c->next = KT_MAP_END;
	c->start = ts;
	memcpy(c->cip, ip, 16);
	if ((err = kt_map_put(&m->pcmap, c->hash, i))) {
		c->live = false;
		c->next = m->pcfree;
		m->pcfree = i;
		return err;
	}
	if (++m->inflight > m->st.inflight_max)
		m->st.inflight_max = m->inflight;
	*out = c;
	return 0;
}

static int create(struct kt_model *m, uint8_t proto, const uint8_t ip[16], uint16_t port,
		  uint64_t ts, struct kt_pconn **out)
{
	return create_h(m, proto, ip, port, kt_conn_key_hash(proto, ip, port), ts, out);
}

/* The done queue: connections with a side closed, in the order they were
 * last touched, each entry stamped with that time. A connection touched
 * again gets a new entry and its older one goes stale: an entry counts only
 * while its connection is in the queue (in_done) and its last touch is the
 * entry's (touch numbers are never reused, so neither is a slot's entry
 * after the slot goes to another connection). Being an array, the queue
 * lets the flush fetch the connections it will retire soon. */
static bool done_live(const struct kt_model *m, const struct kt_done *d)
{
	const struct kt_pconn *c = &m->pc[d->idx];

	/* the low 32 bits do: an entry is dropped as stale (done_make_room)
	 * long before its connection is touched 2^32 times more */
	return c->live && c->in_done && c->touch == d->touch;
}

/* Room for one more entry. Stale entries are dropped first, in order: an
 * in_done connection has one live entry, so the queue stays within twice
 * the connections in flight however often they are touched (a stream whose
 * time stands still never ages any out). Rare, and out of line: inlined,
 * its registers made every done_touch() save and restore six. */
static __attribute__((noinline)) int done_make_room(struct kt_model *m)
{
	uint32_t n = m->done_tail - m->done_head, live = 0, cap = m->done_cap;
	struct kt_done *q;

	for (uint32_t k = 0; k < n; k++)
		live += done_live(m, &m->done[(m->done_head + k) & (cap - 1)]);
	if (!cap || live >= cap / 2) {
		if (cap > UINT32_MAX / 4)
			return kt_err_set(-E2BIG, "too many connections in flight");
		cap = cap ? cap * 2 : 1024;
	}
	if (!(q = malloc((size_t)cap * sizeof(*q))))
		return kt_err_set(-ENOMEM, "out of memory");
	live = 0;
	for (uint32_t k = 0; k < n; k++) {
		const struct kt_done *d = &m->done[(m->done_head + k) & (m->done_cap - 1)];

		if (done_live(m, d))
			q[live++] = *d;
	}
	free(m->done);
	m->done = q;
	m->done_cap = cap;
	m->done_head = 0;
	m->done_tail = live;
	return 0;
}

/* Queue c, stamped ts (its older entry, if any, goes stale). */
static int done_touch(struct kt_model *m, struct kt_pconn *c, uint64_t ts)
{
	int err;

	if (m->done_tail - m->done_head == m->done_cap && (err = done_make_room(m)))
		return err;
	c->in_done = true;
	c->touch = (uint32_t)++m->touches;
	m->done[m->done_tail++ & (m->done_cap - 1)] = (struct kt_done){
		.idx = (uint32_t)(c - m->pc), .touch = c->touch, .done_at = ts,
		.pc_tag = (uint32_t)(c->hash >> 32), .nhash = 0,
	};
	return 0;
}

/* log2 of the latency in microseconds, capped: bucket b holds [2^b, 2^(b+1)) */
static unsigned lat_bucket(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned b = us > 1 ? 63 - (unsigned)__builtin_clzll(us) : 0;

	return b < KT_LAT_BUCKETS - 1 ? b : KT_LAT_BUCKETS - 1;
}

static bool is_loopback(const uint8_t ip[16])
{
	static const uint8_t v6[16] = { [15] = 1 };

	/* the first byte of an IPv4 address first: nearly every address
	 * fails it without a call */
	return (ip[12] == 127 && kt_ip_is_v4(ip)) || !memcmp(ip, v6, 16);
}

/* A loopback address is in the client's own network namespace, and its
 * server is whoever listens on the port there. Without a listener known: in
 * a pod, the pod itself; elsewhere nothing says which process served it. */
static int loopback_dst(struct kt_model *m, const struct kt_pconn *c, const uint8_t dip[16],
			uint16_t dport, uint64_t t, uint32_t src, uint32_t *dst)
{
	const struct kt_listener *l = c->proto == IPPROTO_TCP ?
		kt_listen_find(m, c->cli.netns, dport, t) : NULL;
	char id[96];

	if (l) {
		struct kt_side s = { .cgroup = l->cgroup, .netns = l->netns, .pid = l->pid };

		memcpy(s.comm, l->comm, sizeof(s.comm));
		return kt_attrib_local(m, &s, dip, t, dst);
	}
	if (m->ents[src].kind == KT_ENT_POD || m->ents[src].kind == KT_ENT_CONTAINER) {
		*dst = src;
		return 0;
	}
	snprintf(id, sizeof(id), "unattributed:loopback:%" PRIu64 ":%u", c->cli.netns, dport);
	return kt_attrib_unexplained(m, id, "loopback", "a loopback port with no listener in "
				     "the host facts or the capture: the serving process is "
				     "unknown", dst);
}

/* Attribute c: what kt_edge_find/kt_edge_apply add to its edge, or
 * *skip when the options leave it out. nhash: kt_nat_hash of its tuple when
 * the flush took it ahead, else 0. */
static int fold_prepare(struct kt_model *m, const struct kt_pconn *c, uint64_t nhash,
			struct kt_fold *f, bool *skip)
{
	/* filled in place: a copy of it cost as much as all its fields */
	struct kt_one *one = &f->one;
	const uint8_t *dip;
	uint16_t dport, bport = 0;
	const uint8_t *bip = NULL;
	uint32_t src, dst, backend = KT_ENT_NONE, d;
	bool via = false, translated = false;
	uint64_t t = c->start, end = c->end ? c->end : UINT64_MAX;
	int err;

	if ((m->o.since && t < m->o.since) || (m->o.until && t >= m->o.until) ||
	    (m->o.at && (t > m->o.at || end < m->o.at))) {
		m->st.filtered++;
		*skip = true;
		return 0;
	}
	*skip = false;
	if (c->cli.seen && c->srv.seen)
		m->st.stitched++;
	one->n = 1 + c->folded;
	m->st.connections += one->n;
	one->established = c->established;
	one->fail = c->fail;
	one->lat = 0xff;
	one->sent = one->recv = 0;
	/* the client's own counters first, the server's (mirrored) when the
	 * client side was not seen, packets last */
	if (c->cli.seen) {
		one->sent = c->cli.bytes_sent;
		one->recv = c->cli.bytes_recv;
	} else if (c->srv.seen) {
		one->sent = c->srv.bytes_recv;
		one->recv = c->srv.bytes_sent;
	}
	/* a side's missing count from the other side's (UDP replies) */
	if (c->cli.seen && c->srv.seen) {
		if (!one->sent)
			one->sent = c->srv.bytes_recv;
		if (!one->recv)
			one->recv = c->srv.bytes_sent;
	}
	if (c->wire && !one->sent && !one->recv) {
		one->sent = c->wire_sent;
		one->recv = c->wire_recv;
	}
	one->retrans = (uint64_t)c->cli.retrans + c->srv.retrans;
	if (!c->cli.seen && !c->srv.seen)
		one->retrans = c->wire_retrans;
	one->first = t;
	one->last = c->end > t ? c->end : t;
	if (c->established && c->latency && c->proto == IPPROTO_TCP)
		one->lat = (uint8_t)lat_bucket(c->latency);

	/* the source */
	if (c->cli.seen)
		err = kt_attrib_local(m, &c->cli, c->cip, t, &src);
	else
		err = kt_attrib_remote(m, c->cip, t, &src);
	if (err)
		return err;

	/* the destination as the client asked for it, and who served it */
	dip = c->has_dst ? c->dst : c->srv_ip;
	dport = c->has_dst ? c->dport : c->srv_port;
	if ((err = kt_dest_get(m, dip, dport, c->proto, &d)))
		return err;
	if (c->has_dst) {
		/* the server's own socket is the best witness of who served; the
		 * NAT map (whose event times are when they were read) otherwise */
		const struct kt_nat *n = c->srv.seen || !kt_dest_nat(m, d) ||
			!kt_nattup_maybe(m, c->cip, c->cport, dip, dport) ? NULL :
			kt_nat_find(m, c->proto, c->cip, c->cport, dip, dport, t,
				    nhash ? nhash : kt_nat_hash(c->proto, c->cip, c->cport, dip, dport));

		if (c->srv.seen || c->wire_backend) {
			bip = c->srv_ip;
			bport = c->srv_port;
		} else if (n) {
			bip = n->rsrc;
			bport = n->rsport;
		}
		translated = bip && (memcmp(bip, dip, 16) || bport != dport);
	}
	if ((err = kt_attrib_service(m, d, t, translated, &dst, &via)))
		return err;
	if (via) {
		if (c->srv.seen)
			err = kt_attrib_local(m, &c->srv, c->srv_ip, t, &backend);
		else if (bip)
			err = kt_attrib_remote(m, bip, t, &backend);
		if (err)
			return err;
	} else if (c->srv.seen) {
		if ((err = kt_attrib_local(m, &c->srv, c->srv_ip, t, &dst)))
			return err;
	} else if (c->cli.seen && is_loopback(dip)) {
		if ((err = loopback_dst(m, c, dip, dport, t, src, &dst)))
			return err;
	} else if ((err = kt_attrib_owner(m, d, t, &dst))) {
		return err;
	}
	f->src = src;
	f->dst = dst;
	f->backend = backend;
	f->proto = c->proto;
	f->via = via;
	f->port = dport;
	f->bport = bport;
	f->t = t;
	f->hash = kt_edge_hash(src, dst, c->proto, dport);
	return 0;
}

/* Forget c: its slot goes back to the free list. */
static void release(struct kt_model *m, struct kt_pconn *c)
{
	uint32_t i = (uint32_t)(c - m->pc);

	c->in_done = false;
	kt_map_del(&m->pcmap, c->hash, i);
	c->live = false;
	c->next = m->pcfree;
	m->pcfree = i;
	m->inflight--;
}

/* Add folds to their edges in three passes, so that the cache misses of
 * one (the edge index, then the edge) overlap with the others'. */
static int apply(struct kt_model *m, struct kt_fold *f, size_t n)
{
	int err;

	for (size_t i = 0; i < n; i++)
		kt_prefetch_slot(&m->edgemap, f[i].hash);
	for (size_t i = 0; i < n; i++) {
		if ((err = kt_edge_find(m, &f[i])))
			return err;
		__builtin_prefetch(&m->edges[f[i].edge], 1);
		__builtin_prefetch((const char *)&m->edges[f[i].edge] + 64, 1);
		__builtin_prefetch((const char *)&m->edges[f[i].edge] + 128, 1);
	}
	for (size_t i = 0; i < n; i++)
		if ((err = kt_edge_apply(m, &f[i])))
			return err;
	return 0;
}

/* Attribute c, add it to its edge and forget it. */
static int retire(struct kt_model *m, struct kt_pconn *c)
{
	struct kt_fold f;
	bool skip;
	int err = fold_prepare(m, c, 0, &f, &skip);

	release(m, c);
	return err ? err : skip ? 0 : apply(m, &f, 1);
}


/* The NAT map is asked, when folding, about a client's tuple to what it
 * asked for, when nothing better names the backend and the destination may
 * have been translated: the flush takes its hash a few entries ahead (the
 * connection is in cache by then) and fetches the map's slot. */
static void nat_ahead(struct kt_model *m, struct kt_done *a)
{
	const struct kt_pconn *c = &m->pc[a->idx];

	a->nhash = 0;
	if (c->live && c->has_dst && !c->srv.seen && kt_natdst_maybe(m, c->dst, c->dport) &&
	    kt_nattup_maybe(m, c->cip, c->cport, c->dst, c->dport)) {
		a->nhash = kt_nat_hash(c->proto, c->cip, c->cport, c->dst, c->dport);
		kt_prefetch_slot(&m->natmap, a->nhash);
	}
}

int kt_conn_flush(struct kt_model *m, bool all)
{
	struct kt_fold f[KT_FOLD_BATCH];
	size_t n = 0;
	bool skip;
	int err;

	while (m->done_head != m->done_tail) {
		const struct kt_done *d = &m->done[m->done_head & (m->done_cap - 1)];
		struct kt_pconn *c;

		if (!all && d->done_at + KT_MODEL_GRACE_NS > m->now)
			break;
		/* the ones to retire soon were last touched a grace period
		 * ago, out of cache by now: fetch them, and the index slots
		 * release() will look at, while this one is folded; once one
		 * is in, the NAT map's slot its fold may ask for */
		if (m->done_tail - m->done_head > 2 * DONE_AHEAD) {
			const struct kt_done *a = &m->done[(m->done_head + 2 * DONE_AHEAD) & (m->done_cap - 1)];

			prefetch_conn(&m->pc[a->idx]);
			kt_prefetch_slot(&m->pcmap, (uint64_t)a->pc_tag << 32);
		}
		if (m->nnat && m->done_tail - m->done_head > DONE_AHEAD)
			nat_ahead(m, &m->done[(m->done_head + DONE_AHEAD) & (m->done_cap - 1)]);
		m->done_head++;
		if (!done_live(m, d))
			continue;
		c = &m->pc[d->idx];
		/* a side still open keeps the connection in flight until its own
		 * close comes (a server in CLOSE_WAIT), or the stream ends */
		if (!all && ((c->cli.seen && !c->cli.closed) || (c->srv.seen && !c->srv.closed))) {
			c->in_done = false;
			continue;
		}
		err = fold_prepare(m, c, d->nhash, &f[n], &skip);
		release(m, c);
		if (err)
			return err;
		if (!skip && ++n == KT_FOLD_BATCH) {
			if ((err = apply(m, f, n)))
				return err;
			n = 0;
		}
	}
	if (n && (err = apply(m, f, n)))
		return err;
	if (all) {
		for (uint32_t i = 0; i < m->npc; i++)
			if (m->pc[i].live && (err = retire(m, &m->pc[i])))
				return err;
	}
	return 0;
}

void kt_conn_free(struct kt_model *m)
{
	free(m->pc);
	free(m->done);
	kt_map_free(&m->pcmap);
}

/* What an event of c's client (or server) side says about that side. */
static void side_from(struct kt_pconn *c, bool client, const struct kt_flow *f)
{
	struct kt_side *s = client ? &c->cli : &c->srv;

	s->seen = true;
	if (f->cgroup_id)
		s->cgroup = f->cgroup_id;
	if (f->netns)
		s->netns = f->netns;
	if (f->pid) {
		s->pid = f->pid;
		if (f->comm.len) {
			size_t n = f->comm.len < sizeof(s->comm) - 1 ? f->comm.len : sizeof(s->comm) - 1;

			memcpy(s->comm, f->comm.p, n);
			s->comm[n] = '\0';
		}
	}
	/* the client's address and port are the connection's key */
	if (!client) {
		memcpy(c->srv_ip, f->saddr, 16);
		c->srv_port = f->sport;
	}
}

static void totals_from(struct kt_side *s, const struct kt_flow *f)
{
	if (f->bytes_sent > s->bytes_sent)
		s->bytes_sent = f->bytes_sent;
	if (f->bytes_recv > s->bytes_recv)
		s->bytes_recv = f->bytes_recv;
	if (f->retrans > s->retrans)
		s->retrans = f->retrans;
}

static enum kt_fail fail_of(uint8_t cause)
{
	switch (cause) {
	case KT_CAUSE_REFUSED: return KT_FAIL_REFUSED;
	case KT_CAUSE_TIMEOUT: return KT_FAIL_TIMEOUT;
	case KT_CAUSE_UNREACHABLE: return KT_FAIL_UNREACHABLE;
	case KT_CAUSE_RESET: return KT_FAIL_RESET;
	case KT_CAUSE_ABORTED: return KT_FAIL_ABORTED;
	default: return KT_FAIL_ERROR;
	}
}

/* The live connection of client ip:port; a new one when none, or when the
 * side about to open was already seen (the port was reused). */
static int get(struct kt_model *m, const struct kt_flow *f, bool client, bool opening,
	       uint64_t ahead, struct kt_pconn **out)
{
	const uint8_t *ip = client ? f->saddr : f->daddr;
	uint16_t port = client ? f->sport : f->dport;
	struct kt_pconn *c;
	int err;

	uint64_t h;

	/* the server sees the client after any source rewrite: undo it */
	if (!client)
		kt_nat_unsnat(m, f->proto, f->saddr, f->sport, f->daddr, f->dport, f->ts, &ip, &port);
	/* hashed once, for the lookup and a new connection (ahead, when
	 * kt_conn_ahead took it for the key still asked) */
	h = ahead && ip == (client ? f->saddr : f->daddr) ? ahead :
							      kt_conn_key_hash(f->proto, ip, port);
	c = find_h(m, f->proto, ip, port, h);

	if (c && opening && (client ? c->cli.seen : c->srv.seen)) {
		/* that side's socket ended before this one opened, even when
		 * its close event was lost: it was not alive after this */
		if (!c->end)
			c->end = f->ts;
		if ((err = retire(m, c)))
			return err;
		c = NULL;
	}
	if (!c && (err = create_h(m, f->proto, ip, port, h, f->ts, &c)))
		return err;
	*out = c;
	return 0;
}

static void set_dst(struct kt_pconn *c, const struct kt_flow *f)
{
	if (c->has_dst)
		return;
	/* the socket of a client sees the ClusterIP it connected to; connect()
	 * tells it too, before any DNAT */
	if (f->orig_dport && !kt_ip_is_unset(f->orig_daddr)) {
		memcpy(c->dst, f->orig_daddr, 16);
		c->dport = f->orig_dport;
	} else {
		memcpy(c->dst, f->daddr, 16);
		c->dport = f->dport;
	}
	c->has_dst = true;
}

static int udp_send(struct kt_model *m, const struct kt_flow *f)
{
	const uint8_t *ip = f->daddr;
	uint16_t port = f->dport;
	struct kt_pconn *c;
	int err;

	kt_nat_unsnat(m, f->proto, f->saddr, f->sport, f->daddr, f->dport, f->ts, &ip, &port);
	c = find(m, f->proto, ip, port);
	/* a datagram to the address and port a flow came from is its reply */
	if (c) {
		side_from(c, false, f);
		c->srv.closed = true;
		c->srv.bytes_sent += f->bytes_sent;
		c->established = true;
		c->end = f->ts;
		return done_touch(m, c, f->ts);
	}
	/* The reply of a flow its peer sent through a ClusterIP (or with its
	 * source rewritten) whose client half is not in flight under this
	 * port: the capture folded the client's datagrams to that peer under
	 * another of its ports, or they come later. That flow is the client's
	 * and is counted from its sends; the reply is no flow of the server's
	 * (it was one, the other way round, to each ephemeral port). */
	if (kt_nat_is_reply(m, f->proto, f->saddr, f->sport, f->daddr, f->dport))
		return 0;
	c = find(m, f->proto, f->saddr, f->sport);
	if (c && c->has_dst && (memcmp(c->dst, f->daddr, 16) || c->dport != f->dport)) {
		if ((err = retire(m, c)))
			return err;
		c = NULL;
	}
	if (!c && (err = create(m, f->proto, f->saddr, f->sport, f->ts, &c)))
		return err;
	side_from(c, true, f);
	c->cli.closed = true;
	set_dst(c, f);
	c->cli.bytes_sent += f->bytes_sent;
	/* the capture folds a process's sends to one peer into one event
	 * that counts them: each stands for a flow (a DNS query a port) */
	if (f->count > 1)
		c->folded += f->count - 1;
	c->end = f->ts;
	return done_touch(m, c, f->ts);
}

/* Every field of struct kt_flow this file reads: the model's reader
 * decodes only these (kt_stream_reader_project), the rest read as zero.
 * A field used here must be listed here. */
const char *const kt_model_flow_fields[] = {
	"ts", "kind", "proto", "role", "cause", "saddr", "daddr", "sport", "dport",
	"orig_daddr", "orig_dport", "netns", "cgroup_id", "pid", "comm",
	"duration_ns", "latency_ns", "bytes_sent", "bytes_recv", "retrans", "count",
	NULL
};

/* What a TCP event of c's client (or server) side says about c. 0 or
 * -ENOMEM. */
static int tcp_event(struct kt_model *m, struct kt_pconn *c, const struct kt_flow *f,
		     bool client)
{
	struct kt_side *s = client ? &c->cli : &c->srv;

	switch (f->kind) {
	case KT_FLOW_OPEN:
		side_from(c, client, f);
		if (client) {
			set_dst(c, f);
			c->latency = f->latency_ns;
			if (f->latency_ns && f->ts > f->latency_ns)
				c->start = f->ts - f->latency_ns;
		}
		c->established = true;
		return 0;
	case KT_FLOW_FAIL:
		side_from(c, client, f);
		if (client)
			set_dst(c, f);
		if (f->latency_ns && f->ts > f->latency_ns && !c->srv.seen)
			c->start = f->ts - f->latency_ns;
		c->fail = (uint8_t)fail_of(f->cause);
		s->closed = true;
		c->end = f->ts;
		return done_touch(m, c, f->ts);
	default:		/* KT_FLOW_CLOSE, KT_FLOW_STATS */
		/* a server socket opened before its client's SYN: the late
		 * close of an earlier connection on this port, already counted
		 * when the port opened again */
		if (!s->seen && !client && c->cli.seen && f->duration_ns &&
		    f->ts > f->duration_ns && f->ts - f->duration_ns + KT_SKEW_NS < c->start)
			return 0;

		if (!s->seen) {
			/* opened before the capture started */
			side_from(c, client, f);
			if (client)
				set_dst(c, f);
			c->established = true;
			if (f->duration_ns && f->ts > f->duration_ns &&
			    c->start > f->ts - f->duration_ns)
				c->start = f->ts - f->duration_ns;
		}
		totals_from(s, f);
		if (f->kind != KT_FLOW_CLOSE)
			return 0;
		s->closed = true;
		c->end = f->ts;
		if (f->cause == KT_CAUSE_RESET)
			c->fail = KT_FAIL_RESET;
		return done_touch(m, c, f->ts);
	}
}

/* The events other than a TCP socket's opening, failure, figures and
 * close: rarer, and apart, so that the usual path of kt_conn_flow needs no
 * room for theirs. */
static __attribute__((noinline)) int other_event(struct kt_model *m, const struct kt_flow *f)
{
	struct kt_pconn *c;

	if (f->proto == IPPROTO_UDP)
		return f->kind == KT_FLOW_UDP_SEND ? udp_send(m, f) : 0;
	switch (f->kind) {
	case KT_FLOW_ACCEPT: {
		const uint8_t *ip = f->daddr;
		uint16_t port = f->dport;

		kt_nat_unsnat(m, f->proto, f->saddr, f->sport, f->daddr, f->dport, f->ts, &ip, &port);
		if ((c = find(m, f->proto, ip, port)) && f->pid) {
			c->srv.pid = f->pid;
			if (f->comm.len) {
				size_t n = f->comm.len < 15 ? f->comm.len : 15;

				memcpy(c->srv.comm, f->comm.p, n);
				c->srv.comm[n] = '\0';
			}
		}
		return 0;
	}
	case KT_FLOW_LISTEN:
		return kt_listen_add(m, f->netns, f->sport, f->pid, f->comm.p, f->comm.len,
				     f->cgroup_id, f->ts);
	default:
		/* retransmit, reset and drop events are summed in CLOSE totals */
		return 0;
	}
}

int kt_conn_flow(struct kt_model *m, const struct kt_flow *f, uint64_t ahead)
{
	struct kt_pconn *c;
	bool client = f->role != KT_ROLE_SERVER;
	int err;

	if (f->ts > m->now)
		m->now = f->ts;
	if (f->proto != IPPROTO_TCP && f->proto != IPPROTO_UDP)
		return 0;
	if (f->proto == IPPROTO_TCP &&
	    (f->kind == KT_FLOW_OPEN || f->kind == KT_FLOW_FAIL || f->kind == KT_FLOW_CLOSE ||
	     f->kind == KT_FLOW_STATS)) {
		/* one call of get() for all four: it is then inlined, and the
		 * busiest path of all pays no call for it */
		err = get(m, f, client, f->kind == KT_FLOW_OPEN || f->kind == KT_FLOW_FAIL,
			  ahead, &c);
		if (!err)
			err = tcp_event(m, c, f, client);
	} else {
		err = other_event(m, f);
	}
	if (err)
		return err;
	/* retire a few at a time (KT_FLUSH_SLACK_NS worth of them), so
	 * their cache misses overlap (apply) */
	if (m->done_head != m->done_tail &&
	    m->done[m->done_head & (m->done_cap - 1)].done_at + KT_MODEL_GRACE_NS +
	    KT_FLUSH_SLACK_NS <= m->now)
		return kt_conn_flush(m, false);
	return 0;
}

int kt_conn_wire(struct kt_model *m, const struct kt_conn *w)
{
	struct kt_pconn *c;
	uint64_t end = w->ts + w->duration_ns;
	int err;

	if (end > m->now)
		m->now = end;
	if (w->proto != IPPROTO_TCP && w->proto != IPPROTO_UDP)
		return 0;
	/* The same connection seen on a second interface merges here; the
	 * first view (the client's veth, before DNAT) names the destination,
	 * a second one with another destination names the backend. */
	c = find(m, w->proto, w->src, w->sport);
	if (c && c->wire && c->wire_backend &&
	    (memcmp(c->srv_ip, w->dst, 16) || c->srv_port != w->dport) &&
	    (memcmp(c->dst, w->dst, 16) || c->dport != w->dport)) {
		if ((err = retire(m, c)))
			return err;
		c = NULL;
	}
	if (!c) {
		if ((err = create(m, w->proto, w->src, w->sport, w->ts, &c)))
			return err;
	}
	if (!c->has_dst) {
		memcpy(c->dst, w->dst, 16);
		c->dport = w->dport;
		c->has_dst = true;
	} else if (memcmp(c->dst, w->dst, 16) || c->dport != w->dport) {
		memcpy(c->srv_ip, w->dst, 16);
		c->srv_port = w->dport;
		c->wire_backend = true;
	}
	c->wire = true;
	if (w->bytes_fwd > c->wire_sent)
		c->wire_sent = w->bytes_fwd;
	if (w->bytes_rev > c->wire_recv)
		c->wire_recv = w->bytes_rev;
	if (w->retrans > c->wire_retrans)
		c->wire_retrans = w->retrans;
	switch (w->outcome) {
	case KT_CONN_REFUSED: c->fail = KT_FAIL_REFUSED; break;
	case KT_CONN_UNANSWERED: c->fail = KT_FAIL_TIMEOUT; break;
	case KT_CONN_RESET: c->fail = KT_FAIL_RESET; c->established = true; break;
	default: c->established = true; break;
	}
	if (w->rtt_us && !c->latency)
		c->latency = (uint64_t)w->rtt_us * 1000;
	if (end > c->end)
		c->end = end;
	if ((err = done_touch(m, c, end)))
		return err;
	return kt_conn_flush(m, false);
}
