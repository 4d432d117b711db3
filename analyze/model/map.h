/* map.h - a hash index over a caller's dense array.
 *
 * The caller keeps its elements in an array and hands the map an element's
 * index with the element's 64-bit hash; the map only stores indices. Lookups
 * return every element whose hash matches and the caller compares keys, so
 * one map type serves every table of the model without copying keys.
 *
 * Open addressing, linear probing: a slot is the index with 32 bits of its
 * hash, eight to a cache line, so a lookup usually costs one miss in the map
 * and one in the caller's array (a chained map cost three: bucket, hash,
 * next). Internal.
 */
#ifndef KT_MODEL_MAP_H
#define KT_MODEL_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"	/* the keyed hashes every caller uses */

#define KT_MAP_END UINT32_MAX

struct kt_map {
	uint64_t *slots;	/* cap slots: tag << 32 | (index + 1), 0 empty */
	uint32_t cap, n;	/* cap a power of two, n <= cap / 2 */
};

void kt_map_free(struct kt_map *m);
/* Link element idx with hash h. 0 or -ENOMEM / -E2BIG (kt_err_set). */
int kt_map_put(struct kt_map *m, uint64_t h, uint32_t idx);
/* Unlink element idx (linked with hash h); nothing when it is not linked. */
void kt_map_del(struct kt_map *m, uint64_t h, uint32_t idx);
/* First element linked with a hash like h, then the next ones, KT_MAP_END at
 * the end. Only the high 32 bits of a hash are kept: callers compare keys. */
uint32_t kt_map_first(const struct kt_map *m, uint64_t h);
uint32_t kt_map_next(const struct kt_map *m, uint64_t h, uint32_t idx);

#endif
