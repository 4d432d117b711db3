/* cursor.h - bounds-checked reads over captured bytes (internal).
 *
 * Every dissector reads through a struct kt_cur: a window [p, p + len) of the
 * captured bytes. A read past the end fails instead of touching memory, so a
 * dissector only has to check the return value and jump to its error label.
 * Values are assembled byte by byte: never cast packet bytes onto a struct.
 */
#ifndef KT_PKT_CURSOR_H
#define KT_PKT_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct kt_cur {
	const uint8_t *p;
	size_t len;
	size_t off;
};

static inline void kt_cur_init(struct kt_cur *c, const uint8_t *p, size_t len)
{
	c->p = p;
	c->len = len;
	c->off = 0;
}

static inline size_t kt_cur_left(const struct kt_cur *c)
{
	return c->len - c->off;
}

static inline const uint8_t *kt_cur_ptr(const struct kt_cur *c)
{
	return c->p + c->off;
}

static inline bool kt_cur_has(const struct kt_cur *c, size_t n)
{
	return n <= c->len - c->off;
}

static inline bool kt_cur_skip(struct kt_cur *c, size_t n)
{
	if (!kt_cur_has(c, n))
		return false;
	c->off += n;
	return true;
}

static inline bool kt_cur_u8(struct kt_cur *c, uint8_t *v)
{
	if (!kt_cur_has(c, 1))
		return false;
	*v = c->p[c->off++];
	return true;
}

static inline bool kt_cur_be16(struct kt_cur *c, uint16_t *v)
{
	if (!kt_cur_has(c, 2))
		return false;
	*v = (uint16_t)((unsigned)c->p[c->off] << 8 | c->p[c->off + 1]);
	c->off += 2;
	return true;
}

static inline bool kt_cur_be24(struct kt_cur *c, uint32_t *v)
{
	if (!kt_cur_has(c, 3))
		return false;
	*v = (uint32_t)c->p[c->off] << 16 | (uint32_t)c->p[c->off + 1] << 8 |
	     c->p[c->off + 2];
	c->off += 3;
	return true;
}

static inline bool kt_cur_be32(struct kt_cur *c, uint32_t *v)
{
	if (!kt_cur_has(c, 4))
		return false;
	*v = (uint32_t)c->p[c->off] << 24 | (uint32_t)c->p[c->off + 1] << 16 |
	     (uint32_t)c->p[c->off + 2] << 8 | c->p[c->off + 3];
	c->off += 4;
	return true;
}

static inline bool kt_cur_le16(struct kt_cur *c, uint16_t *v)
{
	if (!kt_cur_has(c, 2))
		return false;
	*v = (uint16_t)(c->p[c->off] | (unsigned)c->p[c->off + 1] << 8);
	c->off += 2;
	return true;
}

static inline bool kt_cur_le32(struct kt_cur *c, uint32_t *v)
{
	if (!kt_cur_has(c, 4))
		return false;
	*v = (uint32_t)c->p[c->off] | (uint32_t)c->p[c->off + 1] << 8 |
	     (uint32_t)c->p[c->off + 2] << 16 | (uint32_t)c->p[c->off + 3] << 24;
	c->off += 4;
	return true;
}

static inline bool kt_cur_bytes(struct kt_cur *c, void *out, size_t n)
{
	if (!kt_cur_has(c, n))
		return false;
	memcpy(out, c->p + c->off, n);
	c->off += n;
	return true;
}

/* A sub-cursor over the next n bytes (or fewer when fewer were captured:
 * a snap length cuts packets, and the caller decides whether that matters). */
static inline void kt_cur_sub(const struct kt_cur *c, size_t n, struct kt_cur *sub)
{
	size_t left = kt_cur_left(c);

	kt_cur_init(sub, kt_cur_ptr(c), n < left ? n : left);
}

/* Fetch-or-bail helpers in tcpdump's manner: each dissector has a 'trunc'
 * label that records how far it got. */
#define CUR_U8(c, v)   do { if (!kt_cur_u8((c), (v)))   goto trunc; } while (0)
#define CUR_BE16(c, v) do { if (!kt_cur_be16((c), (v))) goto trunc; } while (0)
#define CUR_BE24(c, v) do { if (!kt_cur_be24((c), (v))) goto trunc; } while (0)
#define CUR_BE32(c, v) do { if (!kt_cur_be32((c), (v))) goto trunc; } while (0)
#define CUR_SKIP(c, n) do { if (!kt_cur_skip((c), (n))) goto trunc; } while (0)
#define CUR_BYTES(c, o, n) do { if (!kt_cur_bytes((c), (o), (n))) goto trunc; } while (0)

#endif
