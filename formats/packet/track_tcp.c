/* track_tcp.c - TCP connection state from the segments both ways.
 *
 * Not a TCP stack: it follows what an observer can tell from headers alone.
 * The handshake orients the connection and gives the RTT; RST and FIN close
 * it; sequence numbers tell retransmissions (a range already seen) from new
 * data. A SYN that is not a retransmission of the entry's own SYN starts a
 * new connection on the same port pair: the old one is emitted first.
 */
#include <netinet/in.h>

#include "track_internal.h"

/* sequence space comparisons, modulo 2^32 (RFC 9293 3.4) */
static bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static bool seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }

static bool established(const struct kt_centry *f)
{
	return f->synack_seen || f->rev_seen;
}

uint8_t kt_track_tcp_outcome(const struct kt_centry *f)
{
	bool rst = f->dir[0].rst || f->dir[1].rst;

	if (f->syn_seen) {
		if (established(f))
			return f->rst_late ? KT_CONN_RESET : KT_CONN_ESTABLISHED;
		if (f->rst_early)
			return KT_CONN_REFUSED;
		return KT_CONN_UNANSWERED;
	}
	if (f->synack_seen)
		return rst ? KT_CONN_RESET : KT_CONN_ESTABLISHED;
	return rst ? KT_CONN_RESET : KT_CONN_PARTIAL;
}

/* Decide what a SYN (without ACK) means for an existing entry. */
static bool syn_starts_new(const struct kt_centry *f, int dir, uint32_t seq)
{
	if (dir != 0 && (f->syn_seen || f->synack_seen))
		return true;	/* the other side opening: a new connection */
	if (f->syn_seen)
		return seq != f->dir[0].isn;
	/* the SYN-ACK came first (capture reordering): this is its SYN */
	if (f->synack_seen && !f->dir[0].data_seen && seq + 1 == f->synack_ack)
		return false;
	return f->c.packets_fwd + f->c.packets_rev > 0;
}

static void on_data(struct kt_tracker *t, struct kt_centry *f, int dir,
		    const struct kt_pkt *p, const struct kt_pkt_l4 *l)
{
	struct kt_tcp_dir *d = &f->dir[dir];
	uint8_t fl = l->tcp_flags;
	uint32_t end = l->seq + l->paylen + ((fl & KT_TCP_FIN) ? 1 : 0);
	bool in_order = !d->has_next || l->seq == d->next;

	if (!l->paylen && !(fl & KT_TCP_FIN))
		return;
	if (d->has_next && seq_le(end, d->next)) {
		/* a keep-alive probes with one old byte (or none) */
		bool keepalive = l->paylen <= 1 && !(fl & KT_TCP_FIN) &&
				 l->seq + 1 == d->next;

		if (!keepalive)
			f->c.retrans++;
		return;
	}
	if (!d->has_next || seq_lt(d->next, end))
		d->next = end;
	d->has_next = true;
	if (!l->paylen)
		return;
	if (!d->data_seen) {
		d->data_seen = true;
		if (!f->l7_done[dir]) {
			f->l7_done[dir] = true;
			kt_http_first_data(f, l->payload, l->caplen);
		}
	}
	if (f->is_dns) {
		if (in_order && l->caplen == l->paylen)
			kt_dns_stream_feed(t, &d->dns, p->ts, l);
		else
			d->dns.broken = true;
	}
}

struct kt_centry *kt_track_tcp(struct kt_tracker *t, const struct kt_pkt *p,
			     const struct kt_pkt_l4 *l)
{
	uint8_t fl = l->tcp_flags;
	bool syn = fl & KT_TCP_SYN, ack = fl & KT_TCP_ACK;
	struct kt_centry *f;
	int dir = 0;

	f = kt_track_find(t, IPPROTO_TCP, l->src, l->sport, l->dst, l->dport, &dir);
	if (f && syn && !ack && syn_starts_new(f, dir, l->seq)) {
		kt_track_end(t, f);
		f = NULL;
	}
	if (!f) {
		/* orient: the SYN-ACK's receiver is the opener */
		if (syn && ack)
			f = kt_track_new(t, IPPROTO_TCP, l->dst, l->dport,
					 l->src, l->sport, p, l);
		else
			f = kt_track_new(t, IPPROTO_TCP, l->src, l->sport,
					 l->dst, l->dport, p, l);
		if (!f)
			return NULL;
		dir = (syn && ack) ? 1 : 0;
	}
	kt_track_count(f, dir, p->ts, p->wirelen);

	if (syn && !ack) {
		if (f->syn_seen && dir == 0 && l->seq == f->dir[0].isn)
			f->c.retrans++;
		f->syn_seen = true;
		f->syn_ts = p->ts;
		f->dir[0].isn = l->seq;
		if (!f->dir[0].has_next) {
			f->dir[0].next = l->seq + 1;
			f->dir[0].has_next = true;
		}
	} else if (syn && ack) {
		if (dir == 1 && !f->synack_seen) {
			f->synack_seen = true;
			f->synack_ts = p->ts;
			f->synack_ack = l->ack;
			f->dir[1].isn = l->seq;
			f->dir[1].next = l->seq + 1;
			f->dir[1].has_next = true;
		} else if (dir == 1 && l->seq == f->dir[1].isn) {
			f->c.retrans++;
		}
	} else if (fl & KT_TCP_RST) {
		f->dir[dir].rst = true;
		if (established(f))
			f->rst_late = true;
		else if (dir == 1)
			f->rst_early = true;
		f->is_closed = true;
	} else {
		if (dir == 1)
			f->rev_seen = true;
		if (dir == 0 && ack && f->synack_seen && !f->hs_acked &&
		    l->ack == f->dir[1].isn + 1) {
			f->hs_acked = true;
			if (f->syn_seen && p->ts > f->syn_ts)
				f->c.rtt_us = (uint32_t)((p->ts - f->syn_ts) / 1000);
		}
	}
	if (!(fl & KT_TCP_RST))
		on_data(t, f, dir, p, l);
	if (fl & KT_TCP_FIN)
		f->dir[dir].fin = true;
	if (f->dir[0].fin && f->dir[1].fin)
		f->is_closed = true;
	return f;
}
