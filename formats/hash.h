/* hash.h - keyed hashing for every table indexed by outside input.
 *
 * The model's maps, the Kubernetes index, the packet tracker: their keys
 * (addresses, ports, cgroup ids, names) come from a bundle, a capture file
 * or the wire, so someone can choose them. With a fixed hash function a
 * bundle can carry thousands of keys made to share one slot, and every
 * lookup becomes a walk of them. These functions mix in a key drawn once
 * per process (kt_hash_init), so collisions made in advance do not collide
 * here.
 *
 * Not cryptographic: the mixer is MurmurHash3's 64-bit finalizer with the
 * key xored in before every word, cheap enough for the per-event path. It
 * stops precomputed collisions, which is what a file carries; it does not
 * stop an attacker who can watch this process's timings and adapt.
 *
 * Outputs never depend on these values: tables are iterated in insertion
 * order (their dense arrays), never in hash order.
 */
#ifndef KT_HASH_H
#define KT_HASH_H

#include <stddef.h>
#include <stdint.h>

/* The process's key, zero until kt_hash_init() runs. A test that needs a
 * known key sets it after kt_hash_init() and before building any table. */
extern uint64_t kt_hash_key;

/* Draw the key (getrandom(2); the time and pid where that fails). Safe to
 * call from any thread and any number of times: the first call draws,
 * later ones return at once. Every constructor of a hashed table calls it. */
void kt_hash_init(void);

static inline uint64_t kt_hash64(uint64_t x)
{
	x ^= kt_hash_key;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* An address (16 bytes) with a small integer (a port, a protocol). */
static inline uint64_t kt_hash_ip(const uint8_t ip[16], uint64_t extra)
{
	uint64_t a, b;

	__builtin_memcpy(&a, ip, 8);
	__builtin_memcpy(&b, ip + 8, 8);
	return kt_hash64(b ^ kt_hash64(a ^ extra));
}

/* Any bytes; seed tells tables with keys of one shape apart. */
uint64_t kt_hash_bytes(const void *p, size_t len, uint64_t seed);

#endif
