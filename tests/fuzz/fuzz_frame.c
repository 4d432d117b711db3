/* fuzz_frame.c - frames straight into the decoder and the tracker, without
 * the capture file around them (faster to reach deep layers than
 * fuzz_pcap). Input: records of | link type index 1 | length 2 (BE) | frame |. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <pcap/dlt.h>

#include "packet.h"
#include "tracker.h"

static const int dlts[] = { DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW,
			    DLT_NULL, DLT_LOOP, DLT_NFLOG, DLT_IPV4, DLT_IPV6 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kt_tracker_opts o = { .max_flows = 16, .max_dns_pending = 4 };
	struct kt_tracker *t;
	struct kt_pkt p;
	size_t off = 0;
	uint64_t ts = 0;

	if (kt_tracker_new(&t, &o))
		return 0;
	while (size - off >= 3) {
		/* selector: low bits the link type; 0x70 time to the previous
		 * frame (to reach idle expiry); 0x80 a frame cut by a snap length */
		uint8_t sel = data[off];
		int dlt = dlts[(sel & 0x0f) % (sizeof(dlts) / sizeof(dlts[0]))];
		size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
		uint8_t *frame;

		off += 3;
		if (len > size - off)
			len = size - off;
		frame = malloc(len ? len : 1);	/* exact size for ASan */
		if (!frame)
			break;
		memcpy(frame, data + off, len);
		ts += (uint64_t)(sel & 0x70) * 200000000ull;
		kt_pkt_decode(&p, dlt, frame, (uint32_t)len,
			      (uint32_t)len + ((sel & 0x80) ? 1000 : 0), ts);
		/* what an ICMP quote claims holds together: ports only of
		 * TCP/UDP, nothing past a quoted IP header that was not whole,
		 * no quote but an error's */
		if ((p.icmp.quote & ~KT_ICMP_QUOTE_CUT) && !(p.icmp.quote & KT_ICMP_QUOTE_IP))
			abort();
		if ((p.icmp.quote & KT_ICMP_QUOTE_PORTS) && p.icmp.proto != IPPROTO_TCP &&
		    p.icmp.proto != IPPROTO_UDP)
			abort();
		if (p.icmp.quote && !p.icmp.error)
			abort();
		kt_tracker_packet(t, &p);
		free(frame);
		off += len;
	}
	kt_tracker_flush(t);
	kt_tracker_free(t);
	return 0;
}
