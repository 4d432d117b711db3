/* pack.h - turning a spool into a bundle archive.
 *
 * kt_pack() walks the spool, validates every record segment (cutting a torn
 * tail block, recorded as a warning), completes the manifest (files with size
 * and sha256, record and block counts per stream, "complete"), and writes the
 * archive to a temporary name beside 'out' before renaming it into place, so
 * 'out' is either the old file or a whole new bundle.
 */
#ifndef KT_PACK_H
#define KT_PACK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

enum kt_compress { KT_COMPRESS_AUTO = 0, KT_COMPRESS_NONE, KT_COMPRESS_GZIP, KT_COMPRESS_ZSTD };

struct kt_pack_opts {
	enum kt_compress compress;	/* AUTO: by the suffix of out */
	int level;			/* 0: the codec's default */
	bool finished;			/* the recorder ended cleanly */
};

struct kt_pack_result {
	uint64_t files;
	uint64_t records;
	uint64_t bytes_in;		/* spool bytes packed */
	uint64_t bytes_out;		/* archive size */
	uint64_t torn_blocks;		/* tail blocks dropped */
};

/* Pack spool directory 'spool' into 'out'. The bundle's manifest gains
 * "warnings" for anything dropped. */
int kt_pack(const char *spool, const char *out, const struct kt_pack_opts *opts,
	    struct kt_pack_result *res);

/* Compression chosen by the name: .tar.zst/.tzst zstd, .tar.gz/.tgz gzip,
 * .tar none; anything else -EINVAL. */
int kt_compress_from_name(const char *path, enum kt_compress *out);

#endif
