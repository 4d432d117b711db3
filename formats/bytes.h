/* bytes.h - bounds-checked reading and bounded growable buffers.
 *
 * Everything that parses outside input reads through a struct kt_cursor:
 * each read checks the remaining length first and fails without moving.
 * Every struct kt_buf has a size limit fixed when it is set up, so a hostile
 * length can cost at most that limit (curl's dynbuf habit).
 */
#ifndef KT_BYTES_H
#define KT_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct kt_cursor {
	const uint8_t *p;
	size_t len;	/* bytes left */
};

static inline void kt_cursor_init(struct kt_cursor *c, const void *p, size_t len)
{
	c->p = p;
	c->len = len;
}

static inline bool kt_get_bytes(struct kt_cursor *c, void *out, size_t n)
{
	if (c->len < n)
		return false;
	memcpy(out, c->p, n);
	c->p += n;
	c->len -= n;
	return true;
}

static inline bool kt_skip(struct kt_cursor *c, size_t n)
{
	if (c->len < n)
		return false;
	c->p += n;
	c->len -= n;
	return true;
}

static inline bool kt_get_u8(struct kt_cursor *c, uint8_t *v)
{
	if (!c->len)
		return false;
	*v = *c->p++;
	c->len--;
	return true;
}

static inline uint16_t kt_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t kt_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t kt_le64(const uint8_t *p)
{
	return (uint64_t)kt_le32(p) | (uint64_t)kt_le32(p + 4) << 32;
}
static inline void kt_put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void kt_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void kt_put_le64(uint8_t *p, uint64_t v)
{
	kt_put_le32(p, (uint32_t)v);
	kt_put_le32(p + 4, (uint32_t)(v >> 32));
}

/* LEB128: 7 bits a byte, low first; at most 10 bytes for 64 bits. */
static inline bool kt_get_varint(struct kt_cursor *c, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned shift = 0, i = 0; i < 10 && i < c->len; i++, shift += 7) {
		uint8_t b = c->p[i];

		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			if (i == 9 && b > 1)
				return false;	/* more than 64 bits */
			c->p += i + 1;
			c->len -= i + 1;
			*v = x;
			return true;
		}
	}
	return false;
}

static inline size_t kt_put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static inline uint64_t kt_zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t kt_unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

/* ---- growable buffer with a hard limit ---------------------------------- */

struct kt_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
	size_t max;	/* never grows past this */
};

#define KT_BUF_INIT(limit) { NULL, 0, 0, (limit) }

/* Make room for n more bytes: 0, -ENOMEM, or -E2BIG past the limit. */
int kt_buf_reserve(struct kt_buf *b, size_t n);
int kt_buf_add(struct kt_buf *b, const void *p, size_t n);
int kt_buf_add_varint(struct kt_buf *b, uint64_t v);
static inline void kt_buf_reset(struct kt_buf *b) { b->len = 0; }
void kt_buf_release(struct kt_buf *b);

/* Read the regular file at path whole into a new NUL-terminated buffer
 * (caller frees *out), refused past max bytes: 0, or a negative errno with
 * a message naming the file (-E2BIG past max, -EINVAL not a regular file). */
int kt_read_file(const char *path, size_t max, char **out, size_t *len);

#endif
