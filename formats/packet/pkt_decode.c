/* pkt_decode.c - entry of the frame decoder: link type dispatch. */
#include <errno.h>
#include <string.h>
#include <pcap/dlt.h>

#include "pkt_internal.h"

bool kt_pkt_dlt_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_NULL:
	case DLT_LOOP:
	case DLT_NFLOG:
		return true;
	default:
		return false;
	}
}

bool kt_dec_enter(struct kt_dec *d)
{
	if (d->depth >= KT_PKT_MAX_DEPTH) {
		d->pkt->flags |= KT_PKT_TOO_DEEP;
		return false;
	}
	d->depth++;
	return true;
}

int kt_pkt_decode(struct kt_pkt *out, int dlt, const uint8_t *frame,
		  uint32_t caplen, uint32_t wirelen, uint64_t ts)
{
	struct kt_dec d = { .pkt = out };
	struct kt_cur c;

	out->ts = ts;
	out->wirelen = wirelen;
	out->caplen = caplen;
	out->flags = 0;
	out->nl4 = 0;
	out->nfrag = 0;
	memset(&out->icmp, 0, sizeof(out->icmp));
	/* caplen < wirelen is not an error by itself: headers may all be there */
	kt_cur_init(&c, frame, frame ? caplen : 0);

	switch (dlt) {
	case DLT_EN10MB:
		kt_dis_ether(&d, &c);
		break;
	case DLT_LINUX_SLL:
		kt_dis_sll(&d, &c);
		break;
	case DLT_LINUX_SLL2:
		kt_dis_sll2(&d, &c);
		break;
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		kt_dis_ip(&d, &c);
		break;
	case DLT_NULL:
		kt_dis_null(&d, &c, false);
		break;
	case DLT_LOOP:
		kt_dis_null(&d, &c, true);
		break;
	case DLT_NFLOG:
		kt_dis_nflog(&d, &c);
		break;
	default:
		out->flags |= KT_PKT_UNSUPPORTED;
		return -EPROTONOSUPPORT;
	}
	return 0;
}
