/* pkt_ether.c - Ethernet II, 802.3 LLC/SNAP, 802.1Q and 802.1ad tags.
 *
 *  +--------+--------+------+---------------     802.1Q / 802.1ad tag:
 *  | dst 6  | src 6  | type | payload            +-----------+------+
 *  +--------+--------+------+---------------     | TCI 2     | type |
 *  type <= 1500 is an 802.3 length: LLC follows   +-----------+------+
 */
#include "pkt_internal.h"

void kt_dis_ethertype(struct kt_dec *d, struct kt_cur *c, uint16_t type)
{
	switch (type) {
	case KT_ETH_IPV4:
		kt_dis_ipv4(d, c);
		break;
	case KT_ETH_IPV6:
		kt_dis_ipv6(d, c);
		break;
	case KT_ETH_VLAN:
	case KT_ETH_QINQ:
	case KT_ETH_QINQ_OLD:
		kt_dis_vlan(d, c);
		break;
	default:
		break;	/* ARP, LLDP...: no transport layer to find */
	}
}

void kt_dis_vlan(struct kt_dec *d, struct kt_cur *c)
{
	uint16_t tci, inner;

	if (!kt_dec_enter(d))
		return;
	CUR_BE16(c, &tci);
	CUR_BE16(c, &inner);
	/* the outermost tag names the VLAN; QinQ's inner tag is the customer's */
	if (!d->vlan)
		d->vlan = tci & 0x0fff;
	kt_dis_ethertype(d, c, inner);
	return;
trunc:
	kt_dec_trunc(d);
}

void kt_dis_ether(struct kt_dec *d, struct kt_cur *c)
{
	uint16_t type;
	uint8_t dsap, ssap, ctl;

	CUR_SKIP(c, 12);
	CUR_BE16(c, &type);
	if (type > 1500) {
		kt_dis_ethertype(d, c, type);
		return;
	}
	/* 802.3 frame: only SNAP carries an ethertype */
	CUR_U8(c, &dsap);
	CUR_U8(c, &ssap);
	CUR_U8(c, &ctl);
	if (dsap != 0xaa || ssap != 0xaa || ctl != 0x03)
		return;
	CUR_SKIP(c, 3);		/* OUI */
	CUR_BE16(c, &type);
	kt_dis_ethertype(d, c, type);
	return;
trunc:
	kt_dec_trunc(d);
}
