/* pkt_ipv4.c - IPv4 (RFC 791).
 *
 *  | ver/ihl 1 | tos 1 | total length 2 | id 2 | flags/frag offset 2 |
 *  | ttl 1 | proto 1 | checksum 2 | src 4 | dst 4 | options (ihl*4 - 20) |
 *
 * A total length of 0 is what Linux hands to packet sockets for a TSO/GSO
 * super-packet: the rest of the frame is the datagram then.
 */
#include "pkt_internal.h"

void kt_dis_ipv4(struct kt_dec *d, struct kt_cur *c)
{
	struct kt_ipctx ip = { .ipver = 4 };
	uint8_t vihl, proto, s[4], t[4];
	uint16_t total, id, frag;
	unsigned hl, off;
	struct kt_cur sub;

	CUR_U8(c, &vihl);
	if (vihl >> 4 != 4)
		goto bad;
	hl = (vihl & 0x0fu) * 4u;
	if (hl < 20)
		goto bad;
	CUR_SKIP(c, 1);
	CUR_BE16(c, &total);
	CUR_BE16(c, &id);
	CUR_BE16(c, &frag);
	CUR_SKIP(c, 1);
	CUR_U8(c, &proto);
	CUR_SKIP(c, 2);
	CUR_BYTES(c, s, 4);
	CUR_BYTES(c, t, 4);
	CUR_SKIP(c, hl - 20);

	if (total == 0)
		ip.paylen = (uint32_t)kt_cur_left(c);
	else if (total < hl)
		goto bad;
	else
		ip.paylen = total - hl;
	kt_ip4_mapped(ip.src, s);
	kt_ip4_mapped(ip.dst, t);
	ip.frag_id = id;
	off = (frag & 0x1fffu) * 8u;
	if (off) {
		kt_dec_frag(d, &ip, proto);
		return;
	}
	ip.first_frag = (frag & 0x2000u) != 0;
	/* Ethernet pads short frames: the datagram ends where IP says */
	kt_cur_sub(c, ip.paylen, &sub);
	kt_dis_ipproto(d, &sub, proto, &ip);
	return;
trunc:
	kt_dec_trunc(d);
	return;
bad:
	kt_dec_bad(d);
}
