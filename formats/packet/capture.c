/* capture.c - libpcap offline reading. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <pcap/pcap.h>

#include "capture.h"
#include "error.h"

struct kt_capture {
	pcap_t *p;
	int dlt;
	long last_frac;		/* nanoseconds field of the last record */
	char name[256];
};

static int finish_open(struct kt_capture **out, pcap_t *p, const char *name,
		       const char *errbuf)
{
	struct kt_capture *cap = NULL;
	int err;

	*out = NULL;
	if (!p) {
		err = kt_err_set(-EPROTO, "cannot read capture '%s': %s", name, errbuf);
		goto out;
	}
	cap = calloc(1, sizeof(*cap));
	if (!cap) {
		pcap_close(p);
		err = kt_err_set(-ENOMEM, "cannot read capture '%s': out of memory", name);
		goto out;
	}
	cap->p = p;
	cap->dlt = pcap_datalink(p);
	snprintf(cap->name, sizeof(cap->name), "%s", name);
	if (!kt_pkt_dlt_supported(cap->dlt)) {
		const char *dn = pcap_datalink_val_to_name(cap->dlt);

		err = kt_err_set(-EPROTONOSUPPORT,
				 "cannot read capture '%s': link type %d (%s) is not supported",
				 name, cap->dlt, dn ? dn : "unknown");
		kt_capture_close(cap);
		goto out;
	}
	*out = cap;
	err = 0;
out:
	return err;
}

int kt_capture_open(struct kt_capture **out, const char *path)
{
	FILE *fp;
	int err;

	*out = NULL;
	fp = fopen(path, "rb");
	if (!fp) {
		err = kt_err_set(-errno, "cannot open capture '%s': %s", path, strerror(errno));
		goto out;
	}
	err = kt_capture_fopen(out, fp, path);
out:
	return err;
}

int kt_capture_fopen(struct kt_capture **out, FILE *fp, const char *name)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p;

	p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO,
						     errbuf);
	if (!p)
		fclose(fp);	/* libpcap leaves it open on failure */
	return finish_open(out, p, name, errbuf);
}

int kt_capture_dlt(const struct kt_capture *cap)
{
	return cap->dlt;
}

int kt_capture_next(struct kt_capture *cap, const uint8_t **frame,
		    uint32_t *caplen, uint32_t *wirelen, uint64_t *ts)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int r = pcap_next_ex(cap->p, &h, &data);

	if (r == PCAP_ERROR_BREAK)
		return 0;
	if (r != 1)
		return kt_err_set(-EPROTO, "capture '%s' is corrupt after frame: %s",
				  cap->name, pcap_geterr(cap->p));
	/* libpcap scales a microsecond file's field by 1000 without checking
	 * it: a field past one second is the writer's bug, counted by callers */
	cap->last_frac = (long)h->ts.tv_usec;
	*frame = data;
	*caplen = h->caplen;
	*wirelen = h->len;
	/* unsigned arithmetic: a hostile timestamp wraps, it cannot trap */
	*ts = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
	return 1;
}

int kt_capture_read_all(struct kt_capture *cap, struct kt_tracker *t,
			struct kt_read_result *res)
{
	struct kt_pkt pkt;
	/* set by kt_capture_next; initialised for -O3's flow analysis */
	const uint8_t *frame = NULL;
	uint32_t caplen = 0, wirelen = 0;
	uint64_t ts = 0;
	int r, err = 0;

	memset(res, 0, sizeof(*res));
	for (;;) {
		r = kt_capture_next(cap, &frame, &caplen, &wirelen, &ts);
		if (r == 0)
			break;
		if (r < 0) {
			res->truncated = true;
			snprintf(res->warning, sizeof(res->warning),
				 "capture '%.120s' stops after %llu frames: %.100s",
				 cap->name, (unsigned long long)res->frames,
				 pcap_geterr(cap->p));
			break;
		}
		res->frames++;
		if (caplen < wirelen)
			res->cut_frames++;
		if (cap->last_frac >= 1000000000)
			res->bad_timestamps++;
		kt_pkt_decode(&pkt, cap->dlt, frame, caplen, wirelen, ts);
		err = kt_tracker_packet(t, &pkt);
		if (err)
			break;
	}
	return err;
}

void kt_capture_close(struct kt_capture *cap)
{
	if (!cap)
		return;
	if (cap->p)
		pcap_close(cap->p);
	free(cap);
}
