/* verify.h - reading every byte of a bundle and checking it.
 *
 * Beyond what kt_bundle_next()/kt_bundle_read() check (names, types, sizes,
 * sha256 against the manifest), kt_verify() decodes every record block,
 * parses every JSON document and line, reads every packet, compares record
 * counts with the manifest, and ends by checking that every listed file was
 * present. The first problem stops it; its message names the file and the
 * block or offset.
 */
#ifndef KT_VERIFY_H
#define KT_VERIFY_H

#include <stdint.h>

#include "bundle.h"

struct kt_verify_stats {
	uint64_t entries;
	uint64_t records;
	uint64_t blocks;
	uint64_t json_docs;
	uint64_t packets;
	uint64_t bytes;		/* entry bytes read */
	uint64_t warnings;	/* spool only: torn tails tolerated */
};

/* Optional progress callback, called after each entry. */
typedef void (*kt_verify_progress_fn)(void *ctx, const struct kt_entry *e,
				      const struct kt_verify_stats *st);

int kt_verify(struct kt_bundle *b, struct kt_verify_stats *st,
	      kt_verify_progress_fn progress, void *ctx);

#endif
