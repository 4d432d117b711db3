/* store.c - arena, string interning and pointer maps for the k8s index. */
#include "store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

#define CHUNK_SIZE (64u << 10)

struct kt_arena_chunk {
	struct kt_arena_chunk *next;
	size_t used, size;
	_Alignas(16) unsigned char data[];
};

void *kt_arena_alloc(struct kt_arena *a, size_t size)
{
	struct kt_arena_chunk *c = a->head;
	void *p;

	size = (size + 15) & ~(size_t)15;
	if (size == 0)
		size = 16;
	if (!c || c->size - c->used < size) {
		/* A large block gets a chunk of its own behind the current one so
		 * the space left in the current chunk is not wasted. */
		size_t csize = size > CHUNK_SIZE / 4 ? size : CHUNK_SIZE;
		struct kt_arena_chunk *n = malloc(sizeof(*n) + csize);

		if (!n)
			return NULL;
		n->used = 0;
		n->size = csize;
		a->bytes += sizeof(*n) + csize;
		if (c && csize != CHUNK_SIZE) {
			n->next = c->next;
			c->next = n;
		} else {
			n->next = c;
			a->head = n;
		}
		c = n;
	}
	p = c->data + c->used;
	c->used += size;
	memset(p, 0, size);
	return p;
}

void *kt_arena_dup(struct kt_arena *a, const void *p, size_t size)
{
	void *d = kt_arena_alloc(a, size);

	if (d && size)
		memcpy(d, p, size);
	return d;
}

void kt_arena_free(struct kt_arena *a)
{
	struct kt_arena_chunk *c = a->head, *n;

	for (; c; c = n) {
		n = c->next;
		free(c);
	}
	a->head = NULL;
	a->bytes = 0;
}

static size_t slot_find(const char **slots, size_t cap, const char *s, size_t len)
{
	size_t i = kt_hash_bytes(s, len, 0) & (cap - 1);

	while (slots[i]) {
		if (strlen(slots[i]) == len && memcmp(slots[i], s, len) == 0)
			return i;
		i = (i + 1) & (cap - 1);
	}
	return i;
}

static int intern_grow(struct kt_intern *in)
{
	size_t ncap = in->cap ? in->cap * 2 : 1024;
	const char **ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < in->cap; i++) {
		if (in->slots[i])
			ns[slot_find(ns, ncap, in->slots[i], strlen(in->slots[i]))] =
				in->slots[i];
	}
	free(in->slots);
	in->slots = ns;
	in->cap = ncap;
	return 0;
}

const char *kt_intern_find(const struct kt_intern *in, const char *s, size_t len)
{
	if (!in->cap || memchr(s, 0, len))
		return NULL;
	return in->slots[slot_find(in->slots, in->cap, s, len)];
}

const char *kt_intern(struct kt_intern *in, const char *s, size_t len)
{
	size_t i;
	char *c;

	/* An embedded NUL would make two different strings look equal. */
	if (memchr(s, 0, len))
		len = strlen(s);
	if ((in->n + 1) * 2 > in->cap && intern_grow(in) < 0)
		return NULL;
	i = slot_find(in->slots, in->cap, s, len);
	if (in->slots[i])
		return in->slots[i];
	c = kt_arena_alloc(in->arena, len + 1);
	if (!c)
		return NULL;
	memcpy(c, s, len);
	in->slots[i] = c;
	in->n++;
	return c;
}

const char *kt_intern_str(struct kt_intern *in, const char *s)
{
	return s ? kt_intern(in, s, strlen(s)) : NULL;
}

void kt_intern_free(struct kt_intern *in)
{
	free(in->slots);
	in->slots = NULL;
	in->cap = in->n = 0;
}

int kt_pvec_push(struct kt_pvec *pv, void *p)
{
	if (pv->n == pv->cap) {
		uint32_t ncap = pv->cap ? pv->cap * 2 : 2;
		void **nv = realloc(pv->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		pv->v = nv;
		pv->cap = ncap;
	}
	pv->v[pv->n++] = p;
	return 0;
}

void kt_pvec_free(struct kt_pvec *pv)
{
	free(pv->v);
	pv->v = NULL;
	pv->n = pv->cap = 0;
}

static size_t pslot(const struct kt_pmap_slot *slots, size_t cap, const void *key)
{
	size_t i = kt_hash64((uint64_t)(uintptr_t)key) & (cap - 1);

	while (slots[i].key && slots[i].key != key)
		i = (i + 1) & (cap - 1);
	return i;
}

int kt_pmap_add(struct kt_pmap *m, const void *key, void *val)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 256;
		struct kt_pmap_slot *ns = calloc(ncap, sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		for (size_t j = 0; j < m->cap; j++)
			if (m->slots[j].key)
				ns[pslot(ns, ncap, m->slots[j].key)] = m->slots[j];
		free(m->slots);
		m->slots = ns;
		m->cap = ncap;
	}
	i = pslot(m->slots, m->cap, key);
	if (!m->slots[i].key) {
		m->slots[i].key = key;
		m->n++;
	}
	return kt_pvec_push(&m->slots[i].vals, val);
}

const struct kt_pvec *kt_pmap_get(const struct kt_pmap *m, const void *key)
{
	size_t i;

	if (!m->cap || !key)
		return NULL;
	i = pslot(m->slots, m->cap, key);
	return m->slots[i].key ? &m->slots[i].vals : NULL;
}

void kt_pmap_free(struct kt_pmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		kt_pvec_free(&m->slots[i].vals);
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}

static size_t ipslot(const struct kt_ipmap_slot *slots, size_t cap, const uint8_t ip[16])
{
	size_t i = kt_hash_ip(ip, 0) & (cap - 1);

	while (slots[i].used && memcmp(slots[i].ip, ip, 16) != 0)
		i = (i + 1) & (cap - 1);
	return i;
}

int kt_ipmap_add(struct kt_ipmap *m, const uint8_t ip[16], const struct kt_ipver *v)
{
	struct kt_ipmap_slot *sl;

	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 256;
		struct kt_ipmap_slot *ns = calloc(ncap, sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		for (size_t j = 0; j < m->cap; j++)
			if (m->slots[j].used)
				ns[ipslot(ns, ncap, m->slots[j].ip)] = m->slots[j];
		free(m->slots);
		m->slots = ns;
		m->cap = ncap;
	}
	i = ipslot(m->slots, m->cap, ip);
	sl = &m->slots[i];
	if (!sl->used) {
		sl->used = true;
		memcpy(sl->ip, ip, 16);
		m->n++;
	}
	if (sl->n == sl->cap) {
		uint32_t ncap = sl->cap ? sl->cap * 2 : 2;
		struct kt_ipver *nv = realloc(sl->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		sl->v = nv;
		sl->cap = ncap;
	}
	sl->v[sl->n++] = *v;
	return 0;
}

const struct kt_ipver *kt_ipmap_get(const struct kt_ipmap *m, const uint8_t ip[16],
				    uint32_t *n)
{
	size_t i;

	*n = 0;
	if (!m->cap)
		return NULL;
	i = ipslot(m->slots, m->cap, ip);
	if (!m->slots[i].used)
		return NULL;
	*n = m->slots[i].n;
	return m->slots[i].v;
}

void kt_ipmap_free(struct kt_ipmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].v);
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}
