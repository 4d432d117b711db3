/* pkt_udp.c - UDP header (RFC 768) and the tunnels that ride on it.
 *
 *  | sport 2 | dport 2 | length 2 | checksum 2 | data |
 *
 * VXLAN is decapsulated on 4789 and on 8472, the port flannel and the Linux
 * kernel used before IANA assigned one; Geneve on 6081. Senders pick the
 * source port for entropy, so the service is the lower port, as Wireshark
 * decides it too: a DNS query sent from port 4789 to 53 stays DNS.
 */
#include <netinet/in.h>

#include "pkt_internal.h"

#define PORT_VXLAN	  4789
#define PORT_VXLAN_LINUX  8472
#define PORT_GENEVE	  6081

static bool is_port(const struct kt_pkt_l4 *l, uint16_t port)
{
	return (l->sport < l->dport ? l->sport : l->dport) == port;
}

void kt_dis_udp(struct kt_dec *d, struct kt_cur *c, const struct kt_ipctx *ip)
{
	uint16_t sport, dport, ulen;
	struct kt_pkt_l4 *l;
	struct kt_cur pay;

	CUR_BE16(c, &sport);
	CUR_BE16(c, &dport);
	CUR_BE16(c, &ulen);
	CUR_SKIP(c, 2);
	l = kt_dec_l4(d, ip, IPPROTO_UDP);
	if (!l)
		return;
	l->sport = sport;
	l->dport = dport;
	/* 0 is a jumbogram's length; a first fragment holds only part */
	if (ulen >= 8 && !ip->first_frag)
		l->paylen = ulen - 8u;
	else
		l->paylen = ip->paylen >= 8 ? ip->paylen - 8 : 0;
	if (ulen && ulen < 8)
		d->pkt->flags |= KT_PKT_MALFORMED;
	kt_cur_sub(c, l->paylen, &pay);
	l->payload = kt_cur_ptr(&pay);
	l->caplen = (uint32_t)kt_cur_left(&pay);
	if (ip->first_frag)
		return;		/* the rest of the tunnel header is elsewhere */
	if (is_port(l, PORT_VXLAN) || is_port(l, PORT_VXLAN_LINUX)) {
		if (kt_dec_enter(d))
			kt_dis_vxlan(d, &pay);
	} else if (is_port(l, PORT_GENEVE)) {
		if (kt_dec_enter(d))
			kt_dis_geneve(d, &pay);
	}
	return;
trunc:
	kt_dec_trunc(d);
}
