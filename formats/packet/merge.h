/* merge.h - one set of connections from captures taken on several nodes.
 *
 * The same connection captured on its client's node and on its server's node
 * appears once per capture, each stamped by its own node's clock. The merge
 * estimates each capture's clock offset against capture 0 from the
 * connections both saw (the median difference of their first packets, TCP
 * connections whose handshake both captured preferred: it includes the
 * one-way delay between the capture points, well under a millisecond inside
 * a cluster), moves every record onto capture 0's clock, and keeps one
 * record per connection: the one that saw most packets (its l7 filled from
 * the others if it had none).
 *
 * Records are held in memory until kt_merge_finish(): max_conns bounds it.
 */
#ifndef KT_MERGE_H
#define KT_MERGE_H

#include <stdbool.h>
#include <stdint.h>

#include "records.h"

struct kt_merge;

struct kt_merge_clock {
	bool known;		/* matched with capture 0 (always for 0) */
	int64_t offset_ns;	/* this capture's clock minus capture 0's */
	uint32_t matched;	/* connections seen in both */
};

/* ncaptures: kt_conn.capture values are below it. max_conns: records held
 * at most (0: 2 million). *out is freed with kt_merge_free(). */
int kt_merge_new(struct kt_merge **out, uint16_t ncaptures, uint32_t max_conns);

/* Keep a copy of c (l7 included). -E2BIG past max_conns, -EINVAL for a
 * capture index out of range. */
int kt_merge_add(struct kt_merge *m, const struct kt_conn *c);

/* Estimate the clocks (clocks[ncaptures] filled), then emit each
 * connection once, on capture 0's clock, through emit (records borrowed for
 * the call). Returns 0 or emit's error. */
int kt_merge_finish(struct kt_merge *m, struct kt_merge_clock *clocks,
		    int (*emit)(void *ctx, const struct kt_conn *c), void *ctx,
		    uint64_t *duplicates);

void kt_merge_free(struct kt_merge *m);	/* NULL is fine */

#endif
