/* hash.c - the process's hash key, and hashing of byte strings (hash.h). */
#include "hash.h"

#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

uint64_t kt_hash_key;

static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void draw_key(void)
{
	uint64_t k = 0;

	/* GRND_NONBLOCK: early in boot a node's pool may not be ready, and
	 * a recorder must not wait for it; the fallback still differs per
	 * run, which is all precomputed collisions need */
	if (getrandom(&k, sizeof(k), GRND_NONBLOCK) != (ssize_t)sizeof(k)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		k = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^
		    (uint64_t)ts.tv_sec << 20 ^ (uint64_t)getpid();
	}
	kt_hash_key = k;
}

void kt_hash_init(void)
{
	pthread_once(&key_once, draw_key);
}

uint64_t kt_hash_bytes(const void *p, size_t len, uint64_t seed)
{
	const unsigned char *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ seed ^ ((uint64_t)len << 56);
	uint64_t w;

	/* eight bytes a step, each word through the keyed mixer, so that no
	 * difference between two words cancels without knowing the key */
	while (len >= 8) {
		memcpy(&w, s, 8);
		h = (h ^ kt_hash64(w)) * 0x9fb21c651e98df25ull;
		s += 8;
		len -= 8;
	}
	w = 0;
	memcpy(&w, s, len);
	h ^= kt_hash64(w ^ 0x5bd1e995ull);
	return kt_hash64(h);
}
