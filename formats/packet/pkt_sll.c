/* pkt_sll.c - Linux cooked captures (tcpdump -i any).
 *
 * v1 (LINKTYPE_LINUX_SLL, 16 bytes):
 *   | pkttype 2 | hatype 2 | halen 2 | addr 8 | protocol 2 |
 * v2 (LINKTYPE_LINUX_SLL2, 20 bytes):
 *   | protocol 2 | reserved 2 | ifindex 4 | hatype 2 | pkttype 1 | halen 1 | addr 8 |
 * protocol is an ethertype; values up to 1500 are Linux pseudo protocols
 * (802.2, CAN, ...) that carry no IP.
 */
#include "pkt_internal.h"

void kt_dis_sll(struct kt_dec *d, struct kt_cur *c)
{
	uint16_t proto;

	CUR_SKIP(c, 14);
	CUR_BE16(c, &proto);
	if (proto > 1500)
		kt_dis_ethertype(d, c, proto);
	return;
trunc:
	kt_dec_trunc(d);
}

void kt_dis_sll2(struct kt_dec *d, struct kt_cur *c)
{
	uint16_t proto;

	CUR_BE16(c, &proto);
	CUR_SKIP(c, 18);
	if (proto > 1500)
		kt_dis_ethertype(d, c, proto);
	return;
trunc:
	kt_dec_trunc(d);
}
