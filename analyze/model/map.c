/* map.c - chained hash index over a caller's array (map.h). */
#include "map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

void kt_map_free(struct kt_map *m)
{
	free(m->heads);
	free(m->next);
	free(m->hash);
	memset(m, 0, sizeof(*m));
}

static int grow_slots(struct kt_map *m, uint32_t idx)
{
	uint32_t n = m->slots ? m->slots : 64;
	uint32_t *nx;
	uint64_t *hs;

	while (n <= idx) {
		if (n > UINT32_MAX / 2)
			return kt_err_set(-E2BIG, "too many elements in a map");
		n *= 2;
	}
	if (!(nx = realloc(m->next, n * sizeof(*nx))))
		return kt_err_set(-ENOMEM, "out of memory");
	m->next = nx;
	if (!(hs = realloc(m->hash, n * sizeof(*hs))))
		return kt_err_set(-ENOMEM, "out of memory");
	m->hash = hs;
	m->slots = n;
	return 0;
}

static int rehash(struct kt_map *m, uint32_t cap)
{
	uint32_t *heads = malloc(cap * sizeof(*heads)), *old = m->heads;
	uint32_t oldcap = m->cap;

	if (!heads)
		return kt_err_set(-ENOMEM, "out of memory");
	memset(heads, 0xff, cap * sizeof(*heads));
	for (uint32_t b = 0; b < oldcap; b++) {
		uint32_t i = old[b];

		while (i != KT_MAP_END) {
			uint32_t nx = m->next[i], nb = (uint32_t)(m->hash[i] & (cap - 1));

			m->next[i] = heads[nb];
			heads[nb] = i;
			i = nx;
		}
	}
	free(old);
	m->heads = heads;
	m->cap = cap;
	return 0;
}

int kt_map_put(struct kt_map *m, uint64_t h, uint32_t idx)
{
	uint32_t b;
	int err;

	if (idx >= m->slots && (err = grow_slots(m, idx)))
		return err;
	if (m->n + 1 > m->cap - m->cap / 4 || !m->cap) {
		if (m->cap > UINT32_MAX / 2)
			return kt_err_set(-E2BIG, "too many elements in a map");
		if ((err = rehash(m, m->cap ? m->cap * 2 : 64)))
			return err;
	}
	b = (uint32_t)(h & (m->cap - 1));
	m->hash[idx] = h;
	m->next[idx] = m->heads[b];
	m->heads[b] = idx;
	m->n++;
	return 0;
}

void kt_map_del(struct kt_map *m, uint64_t h, uint32_t idx)
{
	uint32_t *p;

	if (!m->cap)
		return;
	p = &m->heads[h & (m->cap - 1)];
	while (*p != KT_MAP_END) {
		if (*p == idx) {
			*p = m->next[idx];
			m->n--;
			return;
		}
		p = &m->next[*p];
	}
}

uint32_t kt_map_first(const struct kt_map *m, uint64_t h)
{
	uint32_t i;

	if (!m->cap)
		return KT_MAP_END;
	i = m->heads[h & (m->cap - 1)];
	while (i != KT_MAP_END && m->hash[i] != h)
		i = m->next[i];
	return i;
}

uint32_t kt_map_next(const struct kt_map *m, uint64_t h, uint32_t idx)
{
	uint32_t i = m->next[idx];

	while (i != KT_MAP_END && m->hash[i] != h)
		i = m->next[i];
	return i;
}

uint64_t kt_map_hash(const void *p, size_t len, uint64_t seed)
{
	const unsigned char *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ seed ^ ((uint64_t)len << 56);
	uint64_t w;

	/* eight bytes a step, each word mixed in by a multiply: keys here are
	 * short (addresses and ports), and this is on every event's path */
	while (len >= 8) {
		memcpy(&w, s, 8);
		h = (h ^ kt_map_hash64(w)) * 0x9fb21c651e98df25ull;
		s += 8;
		len -= 8;
	}
	w = 0;
	memcpy(&w, s, len);
	h ^= kt_map_hash64(w ^ 0x5bd1e995ull);
	return kt_map_hash64(h);
}
