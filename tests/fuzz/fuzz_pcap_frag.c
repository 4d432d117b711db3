/* fuzz_pcap_frag.c - the pcap source's own path for captured frames: any
 * frames, decoded (ktpacket) into the key the ring keeps, through a small
 * packet ring (evictions, wraps, the age limit), then every packet the ring
 * holds written as pcapng and read back by libpcap: it must read exactly the
 * packets written, with their lengths, or the target aborts.
 * Input: records of | link type index 1 | length 2 (BE) | frame |, as
 * fuzz_frame reads them (its seeds serve here too). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pcap/pcap.h>

#include "packet.h"
#include "pcapng.h"
#include "pkt_ring.h"

static const int dlts[] = { DLT_EN10MB, DLT_LINUX_SLL, DLT_RAW, DLT_NULL, DLT_IPV4 };

struct out {
	struct kt_pcapng w;
	uint32_t ifid;
	uint64_t n;
	uint32_t lens[4096];
};

static int write_one(void *ctx, const struct kt_ring_pkt *p)
{
	struct out *o = ctx;

	if (kt_pcapng_epb(&o->w, o->ifid, p->ts, p->data, p->caplen, p->wirelen))
		abort();	/* the buffer is sized for the whole ring */
	if (o->n < 4096)
		o->lens[o->n] = p->caplen;
	o->n++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct kt_pkt_ring *r;
	struct out *o = calloc(1, sizeof(*o));
	struct pcap_pkthdr *h;
	const u_char *d;
	uint64_t ts = 1, got = 0;
	size_t off = 0;
	int dlt = -1;
	FILE *f;
	pcap_t *p;

	if (!o || kt_pkt_ring_new(&r, 8192, 3000000000ull)) {
		free(o);
		return 0;
	}
	while (size - off >= 3) {
		uint8_t sel = data[off];
		int this_dlt = dlts[(sel & 0x0f) % (sizeof(dlts) / sizeof(dlts[0]))];
		size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
		struct kt_ring_pkt rp = { 0 };
		struct kt_pkt pkt;

		off += 3;
		if (len > size - off)
			len = size - off;
		if (dlt < 0)
			dlt = this_dlt;	/* one link type per file, as the source does */
		ts += (uint64_t)(sel & 0x70) * 100000000ull;
		kt_pkt_decode(&pkt, this_dlt, data + off, (uint32_t)len,
			      (uint32_t)len + ((sel & 0x80) ? 1000 : 0), ts);
		kt_pkt_ring_key(&rp, &pkt);
		rp.ts = ts;
		rp.caplen = (uint32_t)len;
		rp.wirelen = (uint32_t)len + ((sel & 0x80) ? 1000 : 0);
		rp.data = data + off;
		if (this_dlt == dlt)
			kt_pkt_ring_push(r, &rp);
		kt_pkt_ring_expire(r, ts);
		off += len;
	}
	kt_pcapng_init(&o->w, 1 << 20);
	if (dlt < 0 || kt_pcapng_shb(&o->w, "fuzz", "fuzz_pcap_frag") ||
	    kt_pcapng_idb(&o->w, dlt == DLT_RAW ? 101 : (uint16_t)dlt, 65535, "fuzz0",
			  "node=fuzz", &o->ifid))
		goto out;
	kt_pkt_ring_foreach(r, 0, UINT64_MAX, write_one, o);
	if (!(f = fmemopen(o->w.buf.p, o->w.buf.len, "rb")))
		goto out;
	if (!(p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf)))
		abort();	/* what we wrote must open */
	while (pcap_next_ex(p, &h, &d) == 1) {
		if (got < 4096 && got < o->n && h->caplen != o->lens[got])
			abort();
		got++;
	}
	pcap_close(p);
	if (got != o->n)
		abort();
out:
	kt_pcapng_release(&o->w);
	kt_pkt_ring_free(r);
	free(o);
	return 0;
}
