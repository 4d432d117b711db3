/* fuzz_pcap.c - any bytes as a capture file: libpcap opens them from memory,
 * then every frame is decoded and tracked, as `ktana import` does. */
#include <stdint.h>
#include <stdio.h>

#include "capture.h"
#include "tracker.h"

static int sink_conn(void *ctx, const struct kt_conn *c)
{
	/* touch the strings: a dangling l7 pointer shows under ASan */
	volatile const char *p = c->l7.p;
	uint32_t i;

	for (i = 0; i < c->l7.len; i++)
		(void)p[i];
	(void)ctx;
	return 0;
}

static int sink_dns(void *ctx, const struct kt_dns *d)
{
	volatile const char *p = d->qname.p, *a = d->answers.p;
	uint32_t i;

	for (i = 0; i < d->qname.len; i++)
		(void)p[i];
	for (i = 0; i < d->answers.len; i++)
		(void)a[i];
	(void)ctx;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kt_tracker_opts o = { .emit_conn = sink_conn, .emit_dns = sink_dns,
				     .max_flows = 64, .max_dns_pending = 16 };
	struct kt_tracker *t = NULL;
	struct kt_capture *cap = NULL;
	struct kt_read_result res;
	FILE *fp;

	if (!size)
		return 0;
	fp = fmemopen((void *)data, size, "rb");
	if (!fp)
		return 0;
	if (kt_capture_fopen(&cap, fp, "fuzz"))
		return 0;
	if (!kt_tracker_new(&t, &o)) {
		kt_capture_read_all(cap, t, &res);
		kt_tracker_flush(t);
	}
	kt_tracker_free(t);
	kt_capture_close(cap);
	return 0;
}
