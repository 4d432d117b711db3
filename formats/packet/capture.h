/* capture.h - read pcap and pcapng files through libpcap.
 *
 * A thin layer over pcap_open_offline: nanosecond timestamps, errors as
 * negative errno plus a message (kt_err_msg), and the read loop that feeds a
 * tracker. libpcap parses the file format; nothing here does.
 */
#ifndef KT_CAPTURE_H
#define KT_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "packet.h"
#include "tracker.h"

struct kt_capture;

/* Open a capture file. *out is closed with kt_capture_close(). Fails with
 * -ENOENT/-EACCES (open), -EPROTO (not a capture libpcap reads, or a header
 * it refuses), -EPROTONOSUPPORT (a link type kt_pkt_decode does not know). */
int kt_capture_open(struct kt_capture **out, const char *path);

/* The same from an open stream, e.g. fmemopen(); the capture owns fp from
 * this call on, whatever it returns. name is for messages only. */
int kt_capture_fopen(struct kt_capture **out, FILE *fp, const char *name);

/* Next frame: returns 1 with *frame and *pkt header filled, 0 at the end,
 * or -EPROTO when the file is cut or corrupt (message set; what was read
 * before stays good). *frame borrows libpcap's buffer, valid until the next
 * call. */
int kt_capture_next(struct kt_capture *cap, const uint8_t **frame,
		    uint32_t *caplen, uint32_t *wirelen, uint64_t *ts);

/* libpcap's link type (DLT_*) of the file. */
int kt_capture_dlt(const struct kt_capture *cap);

/* What kt_capture_read_all() did. */
struct kt_read_result {
	uint64_t frames;
	uint64_t cut_frames;	/* caplen < wire length (snap length) */
	uint64_t bad_timestamps; /* fraction of a second out of range */
	bool truncated;		/* stopped at a corrupt or cut record */
	char warning[256];	/* why, when truncated */
};

/* Decode every frame and give it to the tracker. A file that ends in a
 * corrupt or cut record is not an error: res->truncated and res->warning say
 * so and what came before counts. Returns 0, or the tracker's error (a
 * callback failed). Does not flush the tracker: several files can feed one. */
int kt_capture_read_all(struct kt_capture *cap, struct kt_tracker *t,
			struct kt_read_result *res);

void kt_capture_close(struct kt_capture *cap);	/* NULL is fine */

#endif
