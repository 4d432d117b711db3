/* pkt_gre.c - GRE (RFC 2784, key and sequence from RFC 2890).
 *
 *  | C.K.S flags, version 2 | protocol type 2 | [checksum 2, reserved 2] |
 *  | [key 4] | [sequence 4] | payload |
 * Only version 0 is followed; PPTP's enhanced GRE (version 1) carries PPP.
 */
#include "pkt_internal.h"

void kt_dis_gre(struct kt_dec *d, struct kt_cur *c)
{
	uint16_t fl, proto;

	if (!kt_dec_enter(d))
		return;
	CUR_BE16(c, &fl);
	CUR_BE16(c, &proto);
	if ((fl & 0x7) != 0)
		return;
	if (fl & 0x8000)
		CUR_SKIP(c, 4);
	if (fl & 0x2000)
		CUR_SKIP(c, 4);
	if (fl & 0x1000)
		CUR_SKIP(c, 4);
	if (proto == KT_ETH_TEB)
		kt_dis_ether(d, c);
	else
		kt_dis_ethertype(d, c, proto);
	return;
trunc:
	kt_dec_trunc(d);
}
