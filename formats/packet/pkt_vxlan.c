/* pkt_vxlan.c - VXLAN (RFC 7348).
 *
 *  | flags 1 (I = 0x08) | reserved 3 | VNI 3 | reserved 1 | Ethernet frame |
 */
#include "pkt_internal.h"

void kt_dis_vxlan(struct kt_dec *d, struct kt_cur *c)
{
	uint8_t flags;
	uint32_t vni;

	CUR_U8(c, &flags);
	CUR_SKIP(c, 3);
	CUR_BE24(c, &vni);
	CUR_SKIP(c, 1);
	if (!(flags & 0x08))
		return;		/* not VXLAN after all: some other use of the port */
	d->vni = vni;
	d->vlan = 0;		/* the inner frame's VLAN is the tenant's own */
	kt_dis_ether(d, c);
	return;
trunc:
	kt_dec_trunc(d);
}
