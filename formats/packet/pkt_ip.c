/* pkt_ip.c - IP version dispatch, IP protocol dispatch, fragments. */
#include <netinet/in.h>

#include "pkt_internal.h"

void kt_dis_ip(struct kt_dec *d, struct kt_cur *c)
{
	if (!kt_cur_has(c, 1)) {
		kt_dec_trunc(d);
		return;
	}
	switch (kt_cur_ptr(c)[0] >> 4) {
	case 4:
		kt_dis_ipv4(d, c);
		break;
	case 6:
		kt_dis_ipv6(d, c);
		break;
	default:
		kt_dec_bad(d);
		break;
	}
}

void kt_dis_ipproto(struct kt_dec *d, struct kt_cur *c, uint8_t proto,
		    const struct kt_ipctx *ip)
{
	switch (proto) {
	case IPPROTO_TCP:
		kt_dis_tcp(d, c, ip);
		break;
	case IPPROTO_UDP:
		kt_dis_udp(d, c, ip);
		break;
	case IPPROTO_IPIP:
		/* a fragment of a tunnel packet: the inner header is cut */
		if (ip->first_frag || !kt_dec_enter(d))
			break;
		kt_dis_ipv4(d, c);
		break;
	case IPPROTO_IPV6:
		if (ip->first_frag || !kt_dec_enter(d))
			break;
		kt_dis_ipv6(d, c);
		break;
	case IPPROTO_GRE:
		if (ip->first_frag)
			break;
		kt_dis_gre(d, c);
		break;
	case IPPROTO_ICMP:
		if (ip->ipver == 4)
			kt_dis_icmp(d, c, ip);
		break;
	case IPPROTO_ICMPV6:
		if (ip->ipver == 6)
			kt_dis_icmp(d, c, ip);
		break;
	default:
		break;	/* SCTP...: no connection to rebuild here */
	}
}

void kt_dec_frag(struct kt_dec *d, const struct kt_ipctx *ip, uint8_t proto)
{
	struct kt_pkt *p = d->pkt;
	struct kt_pkt_frag *f;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return;
	if (p->nfrag >= KT_PKT_MAX_FRAG)
		return;
	f = &p->frag[p->nfrag++];
	f->ipver = ip->ipver;
	f->proto = proto;
	memcpy(f->src, ip->src, 16);
	memcpy(f->dst, ip->dst, 16);
	f->id = ip->frag_id;
}

struct kt_pkt_l4 *kt_dec_l4(struct kt_dec *d, const struct kt_ipctx *ip,
			    uint8_t proto)
{
	struct kt_pkt *p = d->pkt;
	struct kt_pkt_l4 *l;

	if (p->nl4 >= KT_PKT_MAX_L4) {
		p->flags |= KT_PKT_TOO_DEEP;
		return NULL;
	}
	l = &p->l4[p->nl4++];
	memset(l, 0, sizeof(*l));
	l->proto = proto;
	l->ipver = ip->ipver;
	memcpy(l->src, ip->src, 16);
	memcpy(l->dst, ip->dst, 16);
	l->vlan = d->vlan;
	l->vni = d->vni;
	l->first_frag = ip->first_frag;
	l->frag_id = ip->frag_id;
	return l;
}
