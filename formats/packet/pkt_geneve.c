/* pkt_geneve.c - Geneve (RFC 8926).
 *
 *  | ver 2 bits, opt len 6 bits | O, C, reserved | protocol type 2 |
 *  | VNI 3 | reserved 1 | options (opt len * 4) | payload |
 * Protocol type 0x6558 carries an Ethernet frame, an ethertype otherwise.
 */
#include "pkt_internal.h"

void kt_dis_geneve(struct kt_dec *d, struct kt_cur *c)
{
	uint8_t vo;
	uint16_t proto;
	uint32_t vni;

	CUR_U8(c, &vo);
	if (vo >> 6 != 0)
		return;		/* unknown version: do not guess */
	CUR_SKIP(c, 1);
	CUR_BE16(c, &proto);
	CUR_BE24(c, &vni);
	CUR_SKIP(c, 1);
	CUR_SKIP(c, (vo & 0x3fu) * 4u);
	d->vni = vni;
	d->vlan = 0;
	if (proto == KT_ETH_TEB)
		kt_dis_ether(d, c);
	else
		kt_dis_ethertype(d, c, proto);
	return;
trunc:
	kt_dec_trunc(d);
}
