/* pkt_icmp.c - ICMP (RFC 792) and ICMPv6 (RFC 4443), and the datagram an
 * error quotes.
 *
 *  | type 1 | code 1 | checksum 2 | rest of header 4 | quote ... |
 *
 * Errors: ICMP 3 destination unreachable (code 4, fragmentation needed: the
 * next hop's MTU in the last 2 bytes of the rest), 4 source quench, 11 time
 * exceeded, 12 parameter problem; ICMPv6 1 destination unreachable, 2
 * packet too big (the MTU: the rest), 3 time exceeded, 4 parameter problem.
 * Their quote is the start of the datagram that failed, as its sender sent
 * it: its IP header (IPv4 with options, IPv6 with extension headers), then
 * at least 8 bytes of what followed (RFC 792; Linux quotes up to 576 bytes
 * in all, ICMPv6 up to the minimum MTU):
 *
 *  | IP header of the datagram | sport 2 | dport 2 | 4 more | ...
 *
 * Only those 8 bytes are read: the quote is evidence of which flow failed,
 * not a packet of it (see packet.h).
 */
#include <netinet/in.h>

#include "pkt_internal.h"

#define QUOTE_CUT	0	/* the quote ran out of bytes */
#define QUOTE_OK	1
#define QUOTE_BAD	(-1)	/* not an IP header of the message's version */

static bool icmp4_error(uint8_t type)
{
	return type == 3 || type == 4 || type == 11 || type == 12;
}

static bool icmp6_error(uint8_t type)
{
	return type >= 1 && type <= 4;
}

/* The quoted IPv4 header; *ports: a transport header follows it (not a
 * later fragment). */
static int quote_ipv4(struct kt_pkt_icmp *m, struct kt_cur *c, bool *ports)
{
	uint8_t vihl, proto, s[4], t[4];
	uint16_t frag;
	unsigned hl;

	CUR_U8(c, &vihl);
	hl = (vihl & 0x0fu) * 4u;
	if (vihl >> 4 != 4 || hl < 20)
		return QUOTE_BAD;
	CUR_SKIP(c, 5);		/* tos, total length, id */
	CUR_BE16(c, &frag);
	CUR_SKIP(c, 1);
	CUR_U8(c, &proto);
	CUR_SKIP(c, 2);
	CUR_BYTES(c, s, 4);
	CUR_BYTES(c, t, 4);
	CUR_SKIP(c, hl - 20);
	m->proto = proto;
	kt_ip4_mapped(m->src, s);
	kt_ip4_mapped(m->dst, t);
	*ports = (frag & 0x1fffu) == 0;
	return QUOTE_OK;
trunc:
	return QUOTE_CUT;
}

/* The quoted IPv6 header and its extension headers, as far as the upper
 * layer; the quote of an error does not hold the payload length's bytes,
 * so only the chain itself bounds the walk. */
static int quote_ipv6(struct kt_pkt_icmp *m, struct kt_cur *c, bool *ports)
{
	uint8_t vtc, nh, next, len, s[16], t[16];
	uint16_t offm;
	unsigned i;

	CUR_U8(c, &vtc);
	if (vtc >> 4 != 6)
		return QUOTE_BAD;
	CUR_SKIP(c, 5);		/* class and flow, payload length */
	CUR_U8(c, &nh);
	CUR_SKIP(c, 1);
	CUR_BYTES(c, s, 16);
	CUR_BYTES(c, t, 16);
	*ports = true;
	for (i = 0; i < KT_IPV6_MAX_EXT; i++) {
		switch (nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
			CUR_U8(c, &next);
			CUR_U8(c, &len);
			CUR_SKIP(c, (nh == IPPROTO_AH ? (len + 2u) * 4u : (len + 1u) * 8u) - 2);
			nh = next;
			continue;
		case IPPROTO_FRAGMENT:
			CUR_U8(c, &next);
			CUR_SKIP(c, 1);
			CUR_BE16(c, &offm);
			CUR_SKIP(c, 4);
			if (offm >> 3)
				*ports = false;
			nh = next;
			continue;
		default:
			break;
		}
		m->proto = nh;
		memcpy(m->src, s, 16);
		memcpy(m->dst, t, 16);
		return QUOTE_OK;
	}
	return QUOTE_BAD;	/* a chain longer than any sender builds */
trunc:
	return QUOTE_CUT;
}

void kt_dis_icmp(struct kt_dec *d, struct kt_cur *c, const struct kt_ipctx *ip)
{
	struct kt_pkt_icmp *m = &d->pkt->icmp;
	/* the IP header promised more than was captured: the snap length */
	bool snapped = kt_cur_left(c) < ip->paylen;
	uint8_t type, code, rest[4];
	bool ports = false;
	size_t after;
	int r;

	if (m->ipver)
		return;		/* one message per frame: the first */
	if (!kt_cur_u8(c, &type) || !kt_cur_u8(c, &code))
		return;
	m->ipver = ip->ipver;
	m->type = type;
	m->code = code;
	memcpy(m->from, ip->src, 16);
	m->error = ip->ipver == 4 ? icmp4_error(type) : icmp6_error(type);
	if (!m->error)
		return;
	if (!kt_cur_skip(c, 2) || !kt_cur_bytes(c, rest, 4))
		goto cut;
	if (ip->ipver == 4 && type == 3 && code == 4)
		m->mtu = (uint32_t)rest[2] << 8 | rest[3];
	else if (ip->ipver == 6 && type == 2)
		m->mtu = (uint32_t)rest[0] << 24 | (uint32_t)rest[1] << 16 |
			 (uint32_t)rest[2] << 8 | rest[3];
	r = ip->ipver == 4 ? quote_ipv4(m, c, &ports) : quote_ipv6(m, c, &ports);
	if (r == QUOTE_BAD)
		return;
	if (r == QUOTE_CUT)
		goto cut;
	m->quote |= KT_ICMP_QUOTE_IP;
	after = kt_cur_left(c);	/* of the quoted transport header */
	/* an error about an error: its own quote is not looked at */
	if (ports && after >= 1 && (ip->ipver == 4 ?
	    m->proto == IPPROTO_ICMP && icmp4_error(kt_cur_ptr(c)[0]) :
	    m->proto == IPPROTO_ICMPV6 && kt_cur_ptr(c)[0] < 128))
		m->quote |= KT_ICMP_QUOTE_NESTED;
	if (ports && (m->proto == IPPROTO_TCP || m->proto == IPPROTO_UDP) && after >= 4 &&
	    kt_cur_be16(c, &m->sport) && kt_cur_be16(c, &m->dport))
		m->quote |= KT_ICMP_QUOTE_PORTS;
	if (after >= 8) {
		m->quote |= KT_ICMP_QUOTE_FULL;
		return;
	}
cut:
	if (snapped)
		m->quote |= KT_ICMP_QUOTE_CUT;
}
