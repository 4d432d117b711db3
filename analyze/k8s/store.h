/* store.h - memory for the Kubernetes index: an arena, interned strings and a
 * map keyed by pointer.
 *
 * The index keeps tens of thousands of small objects for the length of an
 * analysis and frees them all at once, so everything lives in one arena.
 * Strings (names, namespaces, IPs, labels) repeat across every snapshot:
 * interning stores each once and lets the maps compare them by pointer.
 * Internal to ktk8s.
 */
#ifndef KT_K8S_STORE_H
#define KT_K8S_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kt_arena_chunk;

struct kt_arena {
	struct kt_arena_chunk *head;
	uint64_t bytes;		/* allocated from malloc, for the memory figure */
};

/* Zeroed memory from the arena, or NULL. Lives until kt_arena_free(). */
void *kt_arena_alloc(struct kt_arena *a, size_t size);
void *kt_arena_dup(struct kt_arena *a, const void *p, size_t size);
void kt_arena_free(struct kt_arena *a);

struct kt_intern {
	struct kt_arena *arena;
	const char **slots;
	size_t cap, n;
};

/* The interned copy of s[0..len), or NULL when out of memory. The pointer
 * lives as long as the arena; equal strings give equal pointers. */
const char *kt_intern(struct kt_intern *in, const char *s, size_t len);
const char *kt_intern_str(struct kt_intern *in, const char *s);
/* The interned copy if s was interned before, else NULL; never allocates. */
const char *kt_intern_find(const struct kt_intern *in, const char *s, size_t len);
void kt_intern_free(struct kt_intern *in);

/* A growable array of pointers. */
struct kt_pvec {
	void **v;
	uint32_t n, cap;
};

int kt_pvec_push(struct kt_pvec *pv, void *p);
void kt_pvec_free(struct kt_pvec *pv);

/* Map from a pointer (an interned string) to a pvec of values. */
struct kt_pmap_slot {
	const void *key;
	struct kt_pvec vals;
};

struct kt_pmap {
	struct kt_pmap_slot *slots;
	size_t cap, n;
};

int kt_pmap_add(struct kt_pmap *m, const void *key, void *val);
/* The values under key, or NULL. Borrowed until the next kt_pmap_add. */
const struct kt_pvec *kt_pmap_get(const struct kt_pmap *m, const void *key);
void kt_pmap_free(struct kt_pmap *m);

/* Map from a 16-byte address (IPv4 as ::ffff:a.b.c.d) to a pvec: the
 * attribution path looks an IP up per flow, so no text conversion. */
struct kt_ipver {		/* one object version holding the address */
	uint64_t from_ns, until_ns;
	const void *obj;
	bool skip;		/* holds it only nominally (a terminated pod) */
};

struct kt_ipmap_slot {
	uint8_t ip[16];
	bool used;
	uint32_t n, cap;
	struct kt_ipver *v;	/* contiguous: a lookup reads no object */
};

struct kt_ipmap {
	struct kt_ipmap_slot *slots;
	size_t cap, n;
};

int kt_ipmap_add(struct kt_ipmap *m, const uint8_t ip[16], const struct kt_ipver *v);
/* The versions holding ip, or NULL; *n gets their count. */
const struct kt_ipver *kt_ipmap_get(const struct kt_ipmap *m, const uint8_t ip[16],
				    uint32_t *n);
void kt_ipmap_free(struct kt_ipmap *m);

#endif
