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
 * the others if it had none). DNS records likewise: one per transaction,
 * an answered copy preferred.
 *
 * Records are held in memory until kt_merge_finish(): max_conns bounds
 * connections and DNS records together.
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

/* Keep a copy of a DNS record of capture 'capture' (strings included). */
int kt_merge_add_dns(struct kt_merge *m, uint16_t capture, const struct kt_dns *d);

struct kt_merge_result {
	uint64_t conn_duplicates;	/* records dropped as seen elsewhere */
	uint64_t dns_duplicates;
};

/* Estimate the clocks (clocks[ncaptures] filled), then emit each
 * connection and each DNS transaction once, on capture 0's clock (records
 * borrowed for the call; either callback may be NULL). Returns 0 or a
 * callback's error. */
int kt_merge_finish(struct kt_merge *m, struct kt_merge_clock *clocks,
		    int (*emit)(void *ctx, const struct kt_conn *c),
		    int (*emit_dns)(void *ctx, const struct kt_dns *d), void *ctx,
		    struct kt_merge_result *res);

void kt_merge_free(struct kt_merge *m);	/* NULL is fine */

#endif
