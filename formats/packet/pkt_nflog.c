/* pkt_nflog.c - LINKTYPE_NFLOG: packets logged by netfilter's NFLOG target.
 *
 *   | family 1 | version 1 | resource id 2 (BE) | TLV ... |
 *   TLV: | length 2 | type 2 | value, padded to 4 bytes |
 * TLV length and type are in host byte order; libpcap swaps them to ours when
 * the file came from a host of the other order. The packet is the value of
 * TLV type 9 (NFULA_PAYLOAD), starting at the IP header.
 */
#include "pkt_internal.h"

#define NFULA_PAYLOAD 9
#define NFLOG_MAX_TLVS 64

static bool cur_ne16(struct kt_cur *c, uint16_t *v)
{
	if (!kt_cur_has(c, 2))
		return false;
	memcpy(v, kt_cur_ptr(c), 2);
	c->off += 2;
	return true;
}

void kt_dis_nflog(struct kt_dec *d, struct kt_cur *c)
{
	uint8_t family, version;
	unsigned i;

	CUR_U8(c, &family);
	CUR_U8(c, &version);
	CUR_SKIP(c, 2);
	if (version != 0) {
		kt_dec_bad(d);
		return;
	}
	for (i = 0; i < NFLOG_MAX_TLVS && kt_cur_left(c) > 0; i++) {
		uint16_t len, type;
		size_t padded;
		struct kt_cur v;

		if (!cur_ne16(c, &len) || !cur_ne16(c, &type))
			goto trunc;
		if (len < 4) {
			kt_dec_bad(d);
			return;
		}
		kt_cur_sub(c, len - 4u, &v);
		if ((type & 0x7fff) == NFULA_PAYLOAD) {
			if (family == 10)
				kt_dis_ipv6(d, &v);
			else if (family == 2)
				kt_dis_ipv4(d, &v);
			else
				kt_dis_ip(d, &v);
			return;
		}
		padded = ((size_t)len - 4 + 3) & ~(size_t)3;
		if (padded > kt_cur_left(c)) {
			/* the last TLV may lack its padding */
			if ((size_t)len - 4 > kt_cur_left(c))
				goto trunc;
			break;
		}
		CUR_SKIP(c, padded);
	}
	/* no payload TLV: legitimate (a size-0 NFLOG rule), unless cut */
	if (d->pkt->caplen < d->pkt->wirelen)
		kt_dec_trunc(d);
	return;
trunc:
	kt_dec_trunc(d);
}
