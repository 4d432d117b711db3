/* map.h - a hash index over a caller's dense array.
 *
 * The caller keeps its elements in an array and hands the map an element's
 * index with the element's 64-bit hash; the map only chains indices. Lookups
 * walk the chain of a hash and the caller compares keys, so one map type
 * serves every table of the model without copying keys. Internal.
 */
#ifndef KT_MODEL_MAP_H
#define KT_MODEL_MAP_H

#include <stddef.h>
#include <stdint.h>

#define KT_MAP_END UINT32_MAX

struct kt_map {
	uint32_t *heads;	/* cap buckets */
	uint32_t *next;		/* per element index */
	uint64_t *hash;		/* per element index */
	uint32_t cap, n, slots;	/* buckets, linked elements, next[] size */
};

void kt_map_free(struct kt_map *m);
/* Link element idx with hash h. 0 or -ENOMEM. */
int kt_map_put(struct kt_map *m, uint64_t h, uint32_t idx);
/* Unlink element idx (linked with hash h). */
void kt_map_del(struct kt_map *m, uint64_t h, uint32_t idx);
/* First element linked with hash h, then the next ones: KT_MAP_END at the end. */
uint32_t kt_map_first(const struct kt_map *m, uint64_t h);
uint32_t kt_map_next(const struct kt_map *m, uint64_t h, uint32_t idx);

/* Hashing of keys made of bytes. */
uint64_t kt_map_hash(const void *p, size_t len, uint64_t seed);
static inline uint64_t kt_map_hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* An address (16 bytes) with a small integer: the key of most tables here. */
static inline uint64_t kt_map_hash_ip(const uint8_t ip[16], uint64_t extra)
{
	uint64_t a, b;

	__builtin_memcpy(&a, ip, 8);
	__builtin_memcpy(&b, ip + 8, 8);
	return kt_map_hash64(b ^ kt_map_hash64(a ^ extra));
}

#endif
