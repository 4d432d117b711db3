/* map.c - open-addressing hash index over a caller's array (map.h). */
#include "map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

void kt_map_free(struct kt_map *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static inline uint32_t tag_of(uint64_t h)
{
	return (uint32_t)(h >> 32);
}

/* A slot's home is a function of its tag alone, so growing needs no hash. */
static inline uint32_t home(const struct kt_map *m, uint32_t tag)
{
	return tag & (m->cap - 1);
}

static int grow(struct kt_map *m)
{
	uint32_t cap = m->cap ? m->cap * 2 : 64, oldcap = m->cap;
	uint64_t *old = m->slots, *slots;

	if (m->cap > UINT32_MAX / 4)
		return kt_err_set(-E2BIG, "too many elements in a map");
	if (!(slots = calloc(cap, sizeof(*slots))))
		return kt_err_set(-ENOMEM, "out of memory");
	m->slots = slots;
	m->cap = cap;
	for (uint32_t i = 0; i < oldcap; i++) {
		uint32_t s;

		if (!old[i])
			continue;
		for (s = home(m, (uint32_t)(old[i] >> 32)); slots[s]; s = (s + 1) & (cap - 1))
			;
		slots[s] = old[i];
	}
	free(old);
	return 0;
}

int kt_map_put(struct kt_map *m, uint64_t h, uint32_t idx)
{
	uint32_t s;
	int err;

	if (idx == KT_MAP_END)
		return kt_err_set(-E2BIG, "too many elements in a map");
	if ((m->n + 1) * 2 > m->cap && (err = grow(m)))
		return err;
	for (s = home(m, tag_of(h)); m->slots[s]; s = (s + 1) & (m->cap - 1))
		;
	m->slots[s] = (uint64_t)tag_of(h) << 32 | ((uint64_t)idx + 1);
	m->n++;
	return 0;
}

/* The slot holding idx, or cap when none. */
static uint32_t slot_of(const struct kt_map *m, uint64_t h, uint32_t idx)
{
	uint64_t want = (uint64_t)tag_of(h) << 32 | ((uint64_t)idx + 1);

	if (!m->cap)
		return 0;
	for (uint32_t s = home(m, tag_of(h));; s = (s + 1) & (m->cap - 1)) {
		if (m->slots[s] == want)
			return s;
		if (!m->slots[s])
			return m->cap;
	}
}

void kt_map_del(struct kt_map *m, uint64_t h, uint32_t idx)
{
	uint32_t mask = m->cap - 1, hole = slot_of(m, h, idx);

	if (hole >= m->cap)
		return;
	/* backward shift: move up every later slot of the run that may live
	 * in the hole, so that no probe ever meets a hole before its element */
	for (uint32_t s = (hole + 1) & mask; m->slots[s]; s = (s + 1) & mask) {
		uint32_t want = home(m, (uint32_t)(m->slots[s] >> 32));

		/* the element at s may move to hole unless its home lies
		 * (cyclically) in (hole, s] */
		if (((s - want) & mask) >= ((s - hole) & mask)) {
			m->slots[hole] = m->slots[s];
			hole = s;
		}
	}
	m->slots[hole] = 0;
	m->n--;
}

static uint32_t scan(const struct kt_map *m, uint32_t tag, uint32_t s)
{
	for (;; s = (s + 1) & (m->cap - 1)) {
		uint64_t e = m->slots[s];

		if (!e)
			return KT_MAP_END;
		if ((uint32_t)(e >> 32) == tag)
			return (uint32_t)e - 1;
	}
}

uint32_t kt_map_first(const struct kt_map *m, uint64_t h)
{
	if (!m->cap)
		return KT_MAP_END;
	return scan(m, tag_of(h), home(m, tag_of(h)));
}

uint32_t kt_map_next(const struct kt_map *m, uint64_t h, uint32_t idx)
{
	uint32_t s = slot_of(m, h, idx);

	if (s >= m->cap)
		return KT_MAP_END;
	return scan(m, tag_of(h), (s + 1) & (m->cap - 1));
}
