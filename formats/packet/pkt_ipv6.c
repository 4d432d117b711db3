/* pkt_ipv6.c - IPv6 (RFC 8200) and its extension headers.
 *
 *  | ver/class/flow 4 | payload length 2 | next header 1 | hop limit 1 |
 *  | src 16 | dst 16 | extension headers ... | upper layer |
 *
 * Hop-by-hop (0), routing (43), destination options (60): | next | len | ...
 * (len + 1) * 8 bytes. AH (51): (len + 2) * 4 bytes. Fragment (44): 8 bytes,
 * | next | res | offset 13 bits, M | id 4 |. A payload length of 0 means a
 * jumbogram (or a GSO packet): the rest of the frame.
 */
#include <netinet/in.h>

#include "pkt_internal.h"

void kt_dis_ipv6(struct kt_dec *d, struct kt_cur *c)
{
	struct kt_ipctx ip = { .ipver = 6 };
	uint8_t vtc, nh;
	uint16_t plen;
	struct kt_cur sub;
	unsigned i;

	CUR_U8(c, &vtc);
	if (vtc >> 4 != 6)
		goto bad;
	CUR_SKIP(c, 3);
	CUR_BE16(c, &plen);
	CUR_U8(c, &nh);
	CUR_SKIP(c, 1);
	CUR_BYTES(c, ip.src, 16);
	CUR_BYTES(c, ip.dst, 16);
	ip.paylen = plen ? plen : (uint32_t)kt_cur_left(c);
	kt_cur_sub(c, ip.paylen, &sub);

	for (i = 0; i < KT_IPV6_MAX_EXT; i++) {
		uint8_t next, len;
		uint16_t offm;
		uint32_t id, hlen;

		switch (nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
			if (!kt_cur_u8(&sub, &next) || !kt_cur_u8(&sub, &len))
				goto trunc;
			hlen = nh == IPPROTO_AH ? (len + 2u) * 4u : (len + 1u) * 8u;
			if (hlen > ip.paylen)
				goto bad;
			if (!kt_cur_skip(&sub, hlen - 2))
				goto trunc;
			ip.paylen -= hlen;
			nh = next;
			break;
		case IPPROTO_FRAGMENT:
			if (!kt_cur_u8(&sub, &next) || !kt_cur_skip(&sub, 1) ||
			    !kt_cur_be16(&sub, &offm) || !kt_cur_be32(&sub, &id))
				goto trunc;
			if (ip.paylen < 8)
				goto bad;
			ip.paylen -= 8;
			ip.frag_id = id;
			if (offm >> 3) {
				kt_dec_frag(d, &ip, next);
				return;
			}
			ip.first_frag = (offm & 1) != 0;
			nh = next;
			break;
		case IPPROTO_NONE:
			return;
		default:
			kt_dis_ipproto(d, &sub, nh, &ip);
			return;
		}
	}
	goto bad;	/* a chain longer than any sender builds */
trunc:
	kt_dec_trunc(d);
	return;
bad:
	kt_dec_bad(d);
}
