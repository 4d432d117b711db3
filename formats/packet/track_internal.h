/* track_internal.h - the tracker's tables (internal). */
#ifndef KT_TRACK_INTERNAL_H
#define KT_TRACK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "dns.h"
#include "tracker.h"

/* A byte stream of one direction of a TCP connection on port 53, kept only
 * to cut DNS messages out of it (2-byte length prefix, RFC 1035 4.2.2). */
struct kt_dns_stream {
	uint8_t *buf;
	uint32_t len, cap;
	bool broken;		/* a gap or an oversized message: stop */
};

struct kt_tcp_dir {
	uint32_t isn;
	uint32_t next;		/* highest sequence end seen */
	bool has_next;
	bool fin, rst;
	bool data_seen;
	struct kt_dns_stream dns;
};

struct kt_centry {
	struct kt_centry *hnext;		/* hash chain */
	struct kt_centry *prev, *next;	/* LRU: head is the least recent */
	uint32_t hash;
	struct kt_conn c;		/* key (src/dst oriented) and counters */
	uint64_t last_ts;
	uint64_t queued_ts;		/* last_ts when put at the LRU tail */
	/* TCP */
	struct kt_tcp_dir dir[2];	/* 0: from c.src, 1: from c.dst */
	uint64_t syn_ts, synack_ts;
	uint32_t synack_ack;
	bool syn_seen, synack_seen, hs_acked, rev_seen, rst_early, rst_late;
	bool is_dns, is_closed;
	char *l7;			/* malloc'd request line, or NULL */
	uint16_t l7_len;
	bool l7_done[2];
};

struct kt_frag;
struct kt_dnsq;

struct kt_tracker {
	struct kt_tracker_opts o;
	struct kt_tracker_stats st;
	struct kt_centry **buckets;
	uint32_t nbuckets;		/* power of two */
	uint32_t nflows;
	struct kt_centry *lru_head, *lru_tail;
	uint64_t now;			/* latest timestamp seen */
	uint64_t dns_tcp_bytes;		/* DNS-over-TCP buffers, all streams */
	int err;			/* first callback failure, sticky */
	/* fragments */
	struct kt_frag *frags;		/* ring of KT_FRAG_SLOTS */
	uint32_t frag_next;
	/* DNS transactions waiting for an answer */
	struct kt_dnsq **qbuckets;
	uint32_t nqbuckets;
	uint32_t nq;
	struct kt_dnsq *q_head, *q_tail;	/* oldest first */
	struct kt_dns_msg msg;		/* scratch, too big for the stack */
};

/* track_flow.c */
struct kt_centry *kt_track_find(struct kt_tracker *t, uint8_t proto,
			      const uint8_t *src, uint16_t sport,
			      const uint8_t *dst, uint16_t dport, int *dir);
void kt_track_count(struct kt_centry *f, int dir, uint64_t ts, uint32_t wirelen);
/* A new entry oriented src -> dst (NULL and t->err set when out of memory);
 * evicts the least recent entry when the table is full. */
struct kt_centry *kt_track_new(struct kt_tracker *t, uint8_t proto,
			     const uint8_t *src, uint16_t sport,
			     const uint8_t *dst, uint16_t dport,
			     const struct kt_pkt *p, const struct kt_pkt_l4 *l);
/* Emit the entry's record and drop it. */
void kt_track_end(struct kt_tracker *t, struct kt_centry *f);

/* track_tcp.c */
struct kt_centry *kt_track_tcp(struct kt_tracker *t, const struct kt_pkt *p,
			     const struct kt_pkt_l4 *l);
uint8_t kt_track_tcp_outcome(const struct kt_centry *f);

/* track_frag.c */
int kt_frag_init(struct kt_tracker *t);
void kt_frag_free(struct kt_tracker *t);
void kt_frag_first(struct kt_tracker *t, const struct kt_pkt_l4 *l,
		   struct kt_centry *f);
void kt_frag_more(struct kt_tracker *t, const struct kt_pkt *p,
		  const struct kt_pkt_frag *fr);

/* track_dns.c */
int kt_dnsq_init(struct kt_tracker *t);
void kt_dnsq_free(struct kt_tracker *t);
void kt_dns_message(struct kt_tracker *t, uint64_t ts, uint8_t proto,
		    const struct kt_pkt_l4 *l, const uint8_t *msg, size_t len);
void kt_dns_stream_feed(struct kt_tracker *t, struct kt_dns_stream *s,
			uint64_t ts, const struct kt_pkt_l4 *l);
void kt_dns_stream_free(struct kt_tracker *t, struct kt_dns_stream *s);
void kt_dnsq_expire(struct kt_tracker *t, bool all);

/* track_http.c */
void kt_http_first_data(struct kt_centry *f, const uint8_t *p, uint32_t len);

/* sticky error: after a callback failed, do nothing more */
static inline void kt_track_fail(struct kt_tracker *t, int err)
{
	if (!t->err)
		t->err = err;
}

#endif
