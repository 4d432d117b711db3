/* pcapng.h - write pcapng (the IETF draft "PCAP Next Generation (pcapng)
 * Capture File Format", draft-ietf-opsawg-pcapng) into memory.
 *
 * libpcap reads pcapng but cannot write it, and the bundle needs what only
 * pcapng carries: one interface block per captured interface with its name
 * and a description (node, netns, pod, namespace, container), nanosecond
 * timestamps (if_tsresol = 9), and a comment saying why the file was kept.
 *
 * Blocks are appended to a growable buffer with a fixed size limit; the
 * caller writes w->buf.p[0 .. w->buf.len) where it wants (a whole fragment
 * at once, or whole blocks appended to a continuous capture) and may reset
 * the buffer between writes (kt_buf_reset): the interface ids stay.
 *
 *   file := SHB IDB* (EPB | IDB)*
 *   block := u32 type, u32 total_len, body (padded to 4), u32 total_len
 *   option := u16 code, u16 len, value (padded to 4); ends with code 0
 *
 * Everything is written little-endian with the byte-order magic 0x1A2B3C4D,
 * so readers on any host swap as the format says. Readers (libpcap, hence
 * tcpdump) want every interface of a section to have the same link type:
 * callers start a new file for another link type.
 */
#ifndef KT_PCAPNG_H
#define KT_PCAPNG_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

#define KT_PCAPNG_OPT_MAX 4096	/* bytes of one option value (names, comments) */

struct kt_pcapng {
	struct kt_buf buf;	/* blocks written so far (or since a reset) */
	uint32_t nif;		/* interface blocks written: the next id */
	uint64_t packets;	/* enhanced packet blocks written */
};

/* Start a writer whose buffer never grows past max bytes. Nothing is
 * allocated until the first block. */
void kt_pcapng_init(struct kt_pcapng *w, size_t max);

/* Section header block: comment (opt_comment, may be NULL) and the writing
 * application (shb_userappl, may be NULL). Starts a new section: interface
 * ids count from 0 again. */
int kt_pcapng_shb(struct kt_pcapng *w, const char *comment, const char *app);

/* Interface description block: LINKTYPE_* value, snap length, if_name and
 * if_description (either may be NULL), if_tsresol 9. *id receives the
 * interface id EPBs refer to. */
int kt_pcapng_idb(struct kt_pcapng *w, uint16_t linktype, uint32_t snaplen,
		  const char *name, const char *description, uint32_t *id);

/* Enhanced packet block: caplen bytes of data, wirelen the frame's length
 * on the wire, ts_ns in UTC nanoseconds. -EINVAL for an unknown interface
 * or caplen > wirelen; -E2BIG past the buffer's limit. */
int kt_pcapng_epb(struct kt_pcapng *w, uint32_t ifid, uint64_t ts_ns,
		  const void *data, uint32_t caplen, uint32_t wirelen);

/* Bytes an EPB of caplen bytes takes (for size budgets). */
size_t kt_pcapng_epb_size(uint32_t caplen);

void kt_pcapng_release(struct kt_pcapng *w);

#endif
