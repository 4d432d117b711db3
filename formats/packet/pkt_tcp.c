/* pkt_tcp.c - TCP header (RFC 9293).
 *
 *  | sport 2 | dport 2 | seq 4 | ack 4 | offset 4 bits, flags 12 bits |
 *  | window 2 | checksum 2 | urgent 2 | options (offset*4 - 20) | data |
 *
 * The layer is kept only when the whole header, options included, was
 * captured: that is when a TCP analyser can trust the flags and sequence.
 */
#include <netinet/in.h>

#include "pkt_internal.h"

void kt_dis_tcp(struct kt_dec *d, struct kt_cur *c, const struct kt_ipctx *ip)
{
	uint16_t sport, dport, offfl;
	uint32_t seq, ack;
	unsigned hl;
	struct kt_pkt_l4 *l;

	CUR_BE16(c, &sport);
	CUR_BE16(c, &dport);
	CUR_BE32(c, &seq);
	CUR_BE32(c, &ack);
	CUR_BE16(c, &offfl);
	hl = (offfl >> 12) * 4u;
	if (hl < 20 || hl > ip->paylen)
		goto bad;
	CUR_SKIP(c, hl - 14);	/* window, checksum, urgent, options */
	l = kt_dec_l4(d, ip, IPPROTO_TCP);
	if (!l)
		return;
	l->sport = sport;
	l->dport = dport;
	l->seq = seq;
	l->ack = ack;
	l->tcp_flags = offfl & 0xff;
	l->paylen = ip->paylen - hl;
	l->payload = kt_cur_ptr(c);
	l->caplen = (uint32_t)kt_cur_left(c);
	if (l->caplen > l->paylen)
		l->caplen = l->paylen;
	return;
trunc:
	kt_dec_trunc(d);
	return;
bad:
	kt_dec_bad(d);
}
