/* pkt_internal.h - the dissectors behind kt_pkt_decode() (internal).
 *
 * One file per protocol, each a function taking a cursor over its header and
 * what follows. They share one decode state: the frame result being filled,
 * the encapsulation depth and the context an inner layer inherits (VLAN,
 * VNI). A dissector that runs out of captured bytes marks the frame
 * KT_PKT_TRUNCATED and returns; what it found before stays.
 */
#ifndef KT_PKT_INTERNAL_H
#define KT_PKT_INTERNAL_H

#include "cursor.h"
#include "packet.h"

struct kt_dec {
	struct kt_pkt *pkt;
	unsigned depth;
	uint16_t vlan;
	uint32_t vni;
};

/* ethertypes, shared by Ethernet, cooked captures and tunnels */
#define KT_ETH_IPV4	0x0800
#define KT_ETH_ARP	0x0806
#define KT_ETH_VLAN	0x8100
#define KT_ETH_IPV6	0x86dd
#define KT_ETH_QINQ	0x88a8
#define KT_ETH_QINQ_OLD	0x9100
#define KT_ETH_TEB	0x6558	/* transparent Ethernet bridging (Geneve) */

/* Each returns nothing: damage is recorded in d->pkt->flags. */
void kt_dis_ether(struct kt_dec *d, struct kt_cur *c);
void kt_dis_ethertype(struct kt_dec *d, struct kt_cur *c, uint16_t type);
void kt_dis_vlan(struct kt_dec *d, struct kt_cur *c);
void kt_dis_sll(struct kt_dec *d, struct kt_cur *c);
void kt_dis_sll2(struct kt_dec *d, struct kt_cur *c);
void kt_dis_null(struct kt_dec *d, struct kt_cur *c, bool network_order);
void kt_dis_nflog(struct kt_dec *d, struct kt_cur *c);
void kt_dis_ip(struct kt_dec *d, struct kt_cur *c);	/* by version nibble */
void kt_dis_ipv4(struct kt_dec *d, struct kt_cur *c);
void kt_dis_ipv6(struct kt_dec *d, struct kt_cur *c);

/* What an IP header hands to the transport dissectors. */
struct kt_ipctx {
	uint8_t ipver;
	uint8_t src[16];
	uint8_t dst[16];
	uint32_t paylen;	/* bytes of upper-layer data the header claims */
	bool first_frag;
	uint32_t frag_id;
};

/* Dispatch on an IP protocol number (TCP, UDP, ICMP, tunnels). */
void kt_dis_ipproto(struct kt_dec *d, struct kt_cur *c, uint8_t proto,
		    const struct kt_ipctx *ip);
void kt_dis_tcp(struct kt_dec *d, struct kt_cur *c, const struct kt_ipctx *ip);
void kt_dis_udp(struct kt_dec *d, struct kt_cur *c, const struct kt_ipctx *ip);
void kt_dis_vxlan(struct kt_dec *d, struct kt_cur *c);
void kt_dis_geneve(struct kt_dec *d, struct kt_cur *c);
void kt_dis_gre(struct kt_dec *d, struct kt_cur *c);
/* ICMP in IPv4, ICMPv6 in IPv6 (ip->ipver says which): into d->pkt->icmp */
void kt_dis_icmp(struct kt_dec *d, struct kt_cur *c, const struct kt_ipctx *ip);

/* IPv6 extension headers followed in one chain at most */
#define KT_IPV6_MAX_EXT 16

/* A new transport layer filled from the IP context, or NULL when the frame
 * already holds KT_PKT_MAX_L4 of them. */
struct kt_pkt_l4 *kt_dec_l4(struct kt_dec *d, const struct kt_ipctx *ip,
			    uint8_t proto);

/* Record a non-first fragment. */
void kt_dec_frag(struct kt_dec *d, const struct kt_ipctx *ip, uint8_t proto);

/* Enter one more encapsulation level; false (and KT_PKT_TOO_DEEP) past the
 * limit, so a crafted frame cannot recurse without end. */
bool kt_dec_enter(struct kt_dec *d);

static inline void kt_dec_trunc(struct kt_dec *d)
{
	d->pkt->flags |= KT_PKT_TRUNCATED;
}

static inline void kt_dec_bad(struct kt_dec *d)
{
	d->pkt->flags |= KT_PKT_MALFORMED;
}

static inline void kt_ip4_mapped(uint8_t out[16], const uint8_t v4[4])
{
	memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	memcpy(out + 12, v4, 4);
}

#endif
