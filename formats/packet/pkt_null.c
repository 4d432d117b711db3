/* pkt_null.c - BSD loopback (LINKTYPE_NULL, host byte order of the writer)
 * and OpenBSD loopback (LINKTYPE_LOOP, network order): a 4-byte address
 * family, then the IP packet. Families: 2 is IPv4 everywhere; IPv6 is 10
 * (Linux), 24 (NetBSD, OpenBSD), 28 (FreeBSD), 30 (macOS). */
#include "pkt_internal.h"

void kt_dis_null(struct kt_dec *d, struct kt_cur *c, bool network_order)
{
	uint32_t af;

	if (network_order) {
		CUR_BE32(c, &af);
	} else {
		if (!kt_cur_le32(c, &af))
			goto trunc;
		/* the writer's order is unknown: a family fits in 16 bits */
		if (af & 0xffff0000u)
			af = __builtin_bswap32(af);
	}
	switch (af) {
	case 2:
		kt_dis_ipv4(d, c);
		break;
	case 10: case 24: case 28: case 30:
		kt_dis_ipv6(d, c);
		break;
	default:
		break;
	}
	return;
trunc:
	kt_dec_trunc(d);
}
