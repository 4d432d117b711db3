/* recorder.h - one recording: start the sources, run the loop, stop, pack.
 *
 * The loop is single-threaded (source.h). It stops at the duration, at the
 * size limit, or at the first SIGINT/SIGTERM, and then always leaves a
 * valid bundle; a second SIGINT ends the process at once, leaving the spool
 * for `ktcap pack`.
 */
#ifndef KT_RECORDER_H
#define KT_RECORDER_H

#include <stdbool.h>
#include <stdint.h>

#include "source.h"

struct kt_record_result {
	uint64_t records;
	uint64_t bytes_out;
	uint64_t lost;
	unsigned sources_ok, sources_failed;
	const char *stop_reason;	/* "duration", "signal", "size limit", ... */
};

/* Record with the named sources (NULL-terminated) into spool_dir, then pack
 * into opts->output. Source failures are recorded, not fatal; an error is
 * returned only when no bundle could be written. */
int kt_record_run(const struct kt_record_opts *opts, const char *const *sources,
		  const char *spool_dir, json_t *options, struct kt_record_result *res);

#endif
