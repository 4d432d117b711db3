/* track_dns.c - DNS transactions: a query and its answer make one record.
 *
 * Queries wait in a hash table keyed by (protocol, client, server, ports,
 * id), also linked oldest first so that the ones never answered leave after
 * dns_timeout_ns, or when max_dns_pending is reached, as records with rcode
 * KT_DNS_RCODE_NONE. DNS over TCP is cut out of the in-order byte stream of
 * each direction (2-byte length prefix), within a global byte budget.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "error.h"
#include "hash.h"
#include "track_internal.h"

#define DNS_TCP_MSG_MAX 16384u	/* bigger messages are skipped (zone xfer) */

struct kt_dnsq {
	struct kt_dnsq *hnext;
	struct kt_dnsq *prev, *next;	/* oldest first */
	uint32_t hash;
	uint8_t proto;
	uint8_t client[16], server[16];
	uint16_t cport, sport, id, qtype;
	uint64_t ts;
	uint32_t qname_len;
	char qname[];
};

static uint32_t q_hash(uint8_t proto, const uint8_t *client, uint16_t cport,
		       const uint8_t *server, uint16_t sport, uint16_t id)
{
	uint64_t h = kt_hash_ip(server, kt_hash_ip(client, (uint64_t)proto << 48 |
					       (uint64_t)cport << 32 | (uint64_t)sport << 16 | id));

	return (uint32_t)(h >> 32);
}

int kt_dnsq_init(struct kt_tracker *t)
{
	t->nqbuckets = 64;
	while (t->nqbuckets < t->o.max_dns_pending)
		t->nqbuckets <<= 1;
	t->qbuckets = calloc(t->nqbuckets, sizeof(*t->qbuckets));
	if (!t->qbuckets)
		return kt_err_set(-ENOMEM, "out of memory for the DNS table");
	return 0;
}

static void q_remove(struct kt_tracker *t, struct kt_dnsq *q)
{
	struct kt_dnsq **pp = &t->qbuckets[q->hash & (t->nqbuckets - 1)];

	while (*pp && *pp != q)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = q->hnext;
	if (q->prev)
		q->prev->next = q->next;
	else
		t->q_head = q->next;
	if (q->next)
		q->next->prev = q->prev;
	else
		t->q_tail = q->prev;
	t->nq--;
	free(q);
}

void kt_dnsq_free(struct kt_tracker *t)
{
	while (t->q_head)
		q_remove(t, t->q_head);
	free(t->qbuckets);
	t->qbuckets = NULL;
}

static void emit(struct kt_tracker *t, const struct kt_dns *r)
{
	int err;

	t->st.dns_records++;
	if (t->err || !t->o.emit_dns)
		return;
	err = t->o.emit_dns(t->o.ctx, r);
	if (err)
		kt_track_fail(t, err < 0 ? err : -ECANCELED);
}

static void emit_unanswered(struct kt_tracker *t, const struct kt_dnsq *q)
{
	struct kt_dns r = {
		.ts = q->ts,
		.proto = q->proto,
		.client_port = q->cport,
		.server_port = q->sport,
		.id = q->id,
		.qtype = q->qtype,
		.rcode = KT_DNS_RCODE_NONE,
		.qname = { q->qname, q->qname_len },
	};

	memcpy(r.client, q->client, 16);
	memcpy(r.server, q->server, 16);
	emit(t, &r);
}

void kt_dnsq_expire(struct kt_tracker *t, bool all)
{
	struct kt_dnsq *q;

	while ((q = t->q_head) &&
	       (all || (t->now > q->ts && t->now - q->ts > t->o.dns_timeout_ns))) {
		emit_unanswered(t, q);
		q_remove(t, q);
	}
}

static struct kt_dnsq *q_find(struct kt_tracker *t, uint8_t proto,
			      const uint8_t *client, uint16_t cport,
			      const uint8_t *server, uint16_t sport, uint16_t id)
{
	uint32_t h = q_hash(proto, client, cport, server, sport, id);
	struct kt_dnsq *q;

	for (q = t->qbuckets[h & (t->nqbuckets - 1)]; q; q = q->hnext)
		if (q->hash == h && q->proto == proto && q->id == id &&
		    q->cport == cport && q->sport == sport &&
		    !memcmp(q->client, client, 16) && !memcmp(q->server, server, 16))
			return q;
	return NULL;
}

static void on_query(struct kt_tracker *t, uint64_t ts, uint8_t proto,
		     const struct kt_pkt_l4 *l, const struct kt_dns_msg *m)
{
	struct kt_dnsq *q;

	/* a retransmitted query: latency counts from the first one */
	if (q_find(t, proto, l->src, l->sport, l->dst, l->dport, m->id))
		return;
	if (t->nq >= t->o.max_dns_pending) {
		emit_unanswered(t, t->q_head);
		q_remove(t, t->q_head);
	}
	q = malloc(sizeof(*q) + m->qname_len + 1);
	if (!q) {
		kt_track_fail(t, kt_err_set(-ENOMEM, "out of memory for DNS queries"));
		return;
	}
	memset(q, 0, sizeof(*q));
	q->proto = proto;
	memcpy(q->client, l->src, 16);
	memcpy(q->server, l->dst, 16);
	q->cport = l->sport;
	q->sport = l->dport;
	q->id = m->id;
	q->qtype = m->qtype;
	q->ts = ts;
	q->qname_len = m->qname_len;
	memcpy(q->qname, m->qname, m->qname_len + 1);
	q->hash = q_hash(proto, q->client, q->cport, q->server, q->sport, q->id);
	q->hnext = t->qbuckets[q->hash & (t->nqbuckets - 1)];
	t->qbuckets[q->hash & (t->nqbuckets - 1)] = q;
	q->prev = t->q_tail;
	if (t->q_tail)
		t->q_tail->next = q;
	else
		t->q_head = q;
	t->q_tail = q;
	t->nq++;
}

static void on_answer(struct kt_tracker *t, uint64_t ts, uint8_t proto,
		      const struct kt_pkt_l4 *l, const struct kt_dns_msg *m)
{
	struct kt_dnsq *q;
	struct kt_dns r = {
		.ts = ts,
		.proto = proto,
		.client_port = l->dport,
		.server_port = l->sport,
		.id = m->id,
		.qtype = m->qtype,
		.rcode = m->rcode,
		.qname = { m->qname, m->qname_len },
		.answers = { m->answers, m->answers_len },
	};

	memcpy(r.client, l->dst, 16);
	memcpy(r.server, l->src, 16);
	q = q_find(t, proto, l->dst, l->dport, l->src, l->sport, m->id);
	if (q) {
		r.ts = q->ts;
		r.latency_ns = ts > q->ts ? ts - q->ts : 0;
		if (!m->has_question) {
			r.qtype = q->qtype;
			r.qname.p = q->qname;
			r.qname.len = q->qname_len;
		}
	}
	emit(t, &r);
	if (q)
		q_remove(t, q);
}

void kt_dns_message(struct kt_tracker *t, uint64_t ts, uint8_t proto,
		    const struct kt_pkt_l4 *l, const uint8_t *msg, size_t len)
{
	struct kt_dns_msg *m = &t->msg;

	if (kt_dns_parse(m, msg, len) || m->opcode != 0) {
		t->st.dns_bad++;
		return;
	}
	t->st.dns_msgs++;
	if (m->response)
		on_answer(t, ts, proto, l, m);
	else if (m->has_question)
		on_query(t, ts, proto, l, m);
}

void kt_dns_stream_free(struct kt_tracker *t, struct kt_dns_stream *s)
{
	t->dns_tcp_bytes -= s->cap;
	free(s->buf);
	s->buf = NULL;
	s->len = s->cap = 0;
}

void kt_dns_stream_feed(struct kt_tracker *t, struct kt_dns_stream *s,
			uint64_t ts, const struct kt_pkt_l4 *l)
{
	uint32_t off = 0;

	if (s->broken)
		return;
	if (!s->buf) {
		if (t->dns_tcp_bytes + DNS_TCP_MSG_MAX + 2 > KT_TRACK_DNS_TCP_BUDGET) {
			s->broken = true;
			return;
		}
		s->buf = malloc(DNS_TCP_MSG_MAX + 2);
		if (!s->buf) {
			s->broken = true;
			return;
		}
		s->cap = DNS_TCP_MSG_MAX + 2;
		t->dns_tcp_bytes += s->cap;
	}
	while (off < l->caplen) {
		uint32_t n = l->caplen - off, mlen;

		if (n > s->cap - s->len)
			n = s->cap - s->len;
		memcpy(s->buf + s->len, l->payload + off, n);
		s->len += n;
		off += n;
		/* cut every whole message out of the buffer */
		while (s->len >= 2) {
			mlen = (uint32_t)s->buf[0] << 8 | s->buf[1];
			if (mlen > DNS_TCP_MSG_MAX) {
				s->broken = true;
				return;
			}
			if (s->len < mlen + 2)
				break;
			kt_dns_message(t, ts, IPPROTO_TCP, l, s->buf + 2, mlen);
			memmove(s->buf, s->buf + 2 + mlen, s->len - 2 - mlen);
			s->len -= 2 + mlen;
		}
		if (n == 0)
			break;
	}
}
