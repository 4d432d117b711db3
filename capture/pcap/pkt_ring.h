/* pkt_ring.h - the last seconds of one interface's packets, in memory.
 *
 * The pcap source keeps every captured packet here for a while, so that
 * when trouble is reported (a refused connect, a reset) the packets from
 * before it can still be written. The ring is bounded twice: by bytes (the
 * oldest packets go to make room) and by age (packets older than max_age_ns
 * behind the newest go on kt_pkt_ring_expire). Each packet keeps the key of
 * its innermost TCP/UDP layer, so fragments select a flow or a host pair
 * without decoding again; an ICMP error keeps the key of the flow its quote
 * names (kt_pkt_ring_key), so the error that failed a connect is found with
 * that connect's packets.
 *
 * Layout: one byte buffer used circularly; each entry is a fixed header and
 * the captured bytes, rounded to 8. An entry never wraps: when it does not
 * fit before the end, the rest of the buffer is skipped (wrap_end) and the
 * entry starts at 0.
 *
 *   [ e5 e6 | free | e1 e2 e3 e4 | skipped ]
 *   0       head   tail          wrap_end  cap
 */
#ifndef KT_PKT_RING_H
#define KT_PKT_RING_H

#include <stddef.h>
#include <stdint.h>

/* struct kt_ring_pkt.flags */
#define KT_RING_ICMP 0x1	/* an ICMP error: the key is its quote's flow */

/* A packet in the ring, as kt_pkt_ring_foreach() hands it out. data borrows
 * the ring's memory: valid until the next push or expire. */
struct kt_ring_pkt {
	uint64_t ts;		/* UTC ns */
	uint32_t caplen, wirelen;
	uint8_t proto;		/* of the innermost TCP/UDP layer, 0 none */
	uint8_t flags;		/* KT_RING_* */
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	const uint8_t *data;
};

struct kt_pkt;

/* The key a decoded frame is kept under (proto, addresses, ports, flags of
 * p; ts, lengths and data are the caller's): its innermost TCP/UDP layer,
 * or for an ICMP error the flow its quote names, as the failing packet went
 * (client to server; ports 0 when the snap length cut them off). proto 0
 * when the frame has neither. */
void kt_pkt_ring_key(struct kt_ring_pkt *p, const struct kt_pkt *pkt);

struct kt_pkt_ring_stats {
	uint64_t pushed;
	uint64_t evicted_size;	/* pushed out for room */
	uint64_t evicted_age;	/* expired */
	uint64_t too_big;	/* refused: larger than the ring */
	uint64_t packets;	/* in the ring now */
	uint64_t bytes;		/* of the buffer in use now */
	uint64_t oldest_ts;	/* 0 when empty */
};

struct kt_pkt_ring;

/* A ring of 'bytes' bytes (at least 4096) holding max_age_ns of packets
 * (0: no age limit). Freed with kt_pkt_ring_free(). */
int kt_pkt_ring_new(struct kt_pkt_ring **out, size_t bytes, uint64_t max_age_ns);

/* Copy one packet in (p->data, p->caplen bytes), pushing out the oldest as
 * needed. -E2BIG (counted, nothing changed) when it could never fit. */
int kt_pkt_ring_push(struct kt_pkt_ring *r, const struct kt_ring_pkt *p);

/* Drop packets older than max_age_ns before now_ns. */
void kt_pkt_ring_expire(struct kt_pkt_ring *r, uint64_t now_ns);

/* Call fn for each packet with from_ns <= ts <= to_ns, oldest first; a
 * non-zero return stops the walk and is returned. */
int kt_pkt_ring_foreach(const struct kt_pkt_ring *r, uint64_t from_ns, uint64_t to_ns,
			int (*fn)(void *ctx, const struct kt_ring_pkt *p), void *ctx);

void kt_pkt_ring_stats(const struct kt_pkt_ring *r, struct kt_pkt_ring_stats *out);

void kt_pkt_ring_free(struct kt_pkt_ring *r);	/* NULL is fine */

#endif
