/* column.c - column codecs (column.h, SPEC.md "Columns").
 *
 * Dictionary codes number distinct values in order of first appearance in
 * the block. Columns that are functions of one entity (a pod's address,
 * netns, cgroup, pid) then carry byte-identical code sequences, which zstd
 * stores once for the whole block: that, more than anything, keeps a flow
 * event small. The decoder is the hot loop of every read: one tight loop
 * per column and destination width, no per-record dispatch.
 */
#include "column.h"
#include "error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>

enum kt_fclass kt_ftype_class(uint8_t type)
{
	switch (type) {
	case KT_F_U8: case KT_F_U16: case KT_F_U32: case KT_F_U64:
	case KT_F_I32: case KT_F_I64: case KT_F_TS:
		return KT_FC_INT;
	case KT_F_IP:
		return KT_FC_IP;
	case KT_F_STR: case KT_F_STRLIST:
		return KT_FC_STR;
	default:
		return KT_FC_NONE;
	}
}

enum { MODE_DELTA = 0, MODE_PLAIN = 1, MODE_REF = 2, MODE_CONST = 3 };

static uint64_t load_int(uint8_t type, const uint8_t *p)
{
	switch (type) {
	case KT_F_U8: return *p;
	case KT_F_U16: { uint16_t v; memcpy(&v, p, 2); return v; }
	case KT_F_U32: { uint32_t v; memcpy(&v, p, 4); return v; }
	case KT_F_I32: { int32_t v; memcpy(&v, p, 4); return (uint64_t)(int64_t)v; }
	default: { uint64_t v; memcpy(&v, p, 8); return v; }
	}
}

static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint64_t hash64(uint64_t v)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdull;
	v ^= v >> 33;
	return v;
}

static uint64_t hash_bytes(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return hash64(h);
}

/* The encoder's memory of a column: every distinct value of the block with
 * the record it first and last appeared at, found by open addressing. */
struct dict {
	uint32_t *slot;		/* entry + 1, 0 empty */
	uint32_t *first;	/* per entry: record index of first appearance */
	uint32_t *last;		/* per entry: record index of the latest one */
	size_t mask;
	uint32_t n;
};

static int dict_init(struct dict *d, size_t n)
{
	size_t size = 16;

	while (size < 2 * n)
		size <<= 1;
	d->slot = calloc(size, sizeof(*d->slot));
	d->first = malloc((n ? n : 1) * sizeof(*d->first));
	d->last = malloc((n ? n : 1) * sizeof(*d->last));
	d->mask = size - 1;
	d->n = 0;
	if (!d->slot || !d->first || !d->last) {
		free(d->slot);
		free(d->first);
		free(d->last);
		return kt_err_set(-ENOMEM, "out of memory");
	}
	return 0;
}

static void dict_free(struct dict *d)
{
	free(d->slot);
	free(d->first);
	free(d->last);
}

/* The reference code of record i's value: 0 a literal (first appearance),
 * 1..KT_COL_BACK the distance back to its latest appearance, above that
 * KT_COL_BACK + 1 + its dictionary number. eq(a, b) compares the values
 * of records a and b. */
#define DICT_CODE(d, i, h, eq)							\
	({									\
		size_t _s = (size_t)(h) & (d)->mask;				\
		uint64_t _c;							\
		for (;;) {							\
			uint32_t _e = (d)->slot[_s];				\
			if (!_e) {						\
				(d)->slot[_s] = (d)->n + 1;			\
				(d)->first[(d)->n] = (uint32_t)(i);		\
				(d)->last[(d)->n++] = (uint32_t)(i);		\
				_c = 0;						\
				break;						\
			}							\
			if (eq((d)->first[_e - 1], i)) {			\
				uint32_t _back = (uint32_t)(i) - (d)->last[_e - 1]; \
				(d)->last[_e - 1] = (uint32_t)(i);		\
				_c = _back <= KT_COL_BACK ? _back :		\
					(uint64_t)KT_COL_BACK + _e;		\
				break;						\
			}							\
			_s = (_s + 1) & (d)->mask;				\
		}								\
		_c;								\
	})

static bool str_eq(const uint8_t *a, const uint8_t *b)
{
	struct kt_str x, y;

	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));
	return x.len == y.len && (!x.len || !memcmp(x.p, y.p, x.len));
}

int kt_col_encode(struct kt_buf *out, uint8_t type, const uint8_t *recs,
		  size_t n, size_t stride, size_t off)
{
	static const uint8_t zero[16];
	const uint8_t *base = recs + off;
	uint64_t *code = NULL;
	struct dict d;
	int err;

	if ((err = dict_init(&d, n)))
		return err;
	if (!(code = malloc((n ? n : 1) * sizeof(*code)))) {
		dict_free(&d);
		return kt_err_set(-ENOMEM, "out of memory");
	}
	switch (kt_ftype_class(type)) {
	case KT_FC_INT: {
		size_t dlen = 0, plen = 0, rlen = 0;
		uint64_t prev = 0;
		uint8_t mode;

#define INT_EQ(a, b) (load_int(type, base + (size_t)(a) * stride) == \
		      load_int(type, base + (size_t)(b) * stride))
		for (size_t i = 0; i < n; i++) {
			uint64_t v = load_int(type, base + i * stride);

			code[i] = DICT_CODE(&d, i, hash64(v), INT_EQ);
			dlen += varint_len(kt_zigzag((int64_t)(v - prev)));
			plen += varint_len(kt_zigzag((int64_t)v));
			rlen += code[i] ? varint_len(code[i]) : 1 + varint_len(kt_zigzag((int64_t)v));
			prev = v;
		}
#undef INT_EQ
		mode = dlen <= plen && dlen <= rlen ? MODE_DELTA : plen <= rlen ? MODE_PLAIN : MODE_REF;
		if ((err = kt_buf_reserve(out, 1 + n * 11)))
			break;
		if (n && d.n == 1) {
			/* one value in the whole block (a protocol, an unset
			 * field): stored once, filled without decoding */
			out->p[out->len++] = MODE_CONST;
			out->len += kt_put_varint(out->p + out->len,
						  kt_zigzag((int64_t)load_int(type, base)));
			break;
		}
		out->p[out->len++] = mode;
		prev = 0;
		for (size_t i = 0; i < n; i++) {
			uint64_t v = load_int(type, base + i * stride);
			uint8_t *o = out->p + out->len;

			if (mode == MODE_DELTA) {
				o += kt_put_varint(o, kt_zigzag((int64_t)(v - prev)));
			} else if (mode == MODE_PLAIN || !code[i]) {
				if (mode == MODE_REF)
					*o++ = 0;
				o += kt_put_varint(o, kt_zigzag((int64_t)v));
			} else {
				o += kt_put_varint(o, code[i]);
			}
			out->len = (size_t)(o - out->p);
			prev = v;
		}
		break;
	}
	case KT_FC_IP:
#define IP_EQ(a, b) (!memcmp(base + (size_t)(a) * stride, base + (size_t)(b) * stride, 16))
		if ((err = kt_buf_reserve(out, n * 18)))
			break;
		for (size_t i = 0; i < n; i++) {
			const uint8_t *ip = base + i * stride;
			uint64_t c;

			if (!memcmp(ip, zero, 16)) {
				out->p[out->len++] = 0;
				continue;
			}
			c = DICT_CODE(&d, i, hash_bytes(ip, 16), IP_EQ);
			if (c) {
				out->len += kt_put_varint(out->p + out->len, c + 2);
			} else if (!memcmp(ip, zero, 10) && ip[10] == 0xff && ip[11] == 0xff) {
				out->p[out->len++] = 1;
				memcpy(out->p + out->len, ip + 12, 4);
				out->len += 4;
			} else {
				out->p[out->len++] = 2;
				memcpy(out->p + out->len, ip, 16);
				out->len += 16;
			}
		}
#undef IP_EQ
		break;
	case KT_FC_STR:
#define STR_EQ(a, b) str_eq(base + (size_t)(a) * stride, base + (size_t)(b) * stride)
		for (size_t i = 0; i < n && !err; i++) {
			struct kt_str s;
			uint64_t c;

			memcpy(&s, base + i * stride, sizeof(s));
			c = DICT_CODE(&d, i, hash_bytes(s.p, s.len), STR_EQ);
			if (c)
				err = kt_buf_add_varint(out, c);
			else if (!(err = kt_buf_add_varint(out, 0)) &&
				 !(err = kt_buf_add_varint(out, s.len)))
				err = kt_buf_add(out, s.p, s.len);
		}
#undef STR_EQ
		break;
	default:
		err = kt_err_set(-EINVAL, "cannot encode field type %u", type);
	}
	free(code);
	dict_free(&d);
	return err;
}

/* ---- decoding ------------------------------------------------------------ */

/* LEB128 without a bounds check per byte while 10 bytes remain. */
static inline bool varint_at(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t *p = *pp;

	if (end - p >= 10) {
		uint64_t b = *p++, x;

		if (b < 0x80) {
			*v = b;
			*pp = p;
			return true;
		}
		x = b & 0x7f;
		for (unsigned shift = 7; shift < 70; shift += 7) {
			b = *p++;
			x |= (b & 0x7f) << shift;
			if (b < 0x80) {
				if (shift == 63 && b > 1)
					return false;
				*v = x;
				*pp = p;
				return true;
			}
		}
		return false;
	} else {
		struct kt_cursor c = { p, (size_t)(end - p) };

		if (!kt_get_varint(&c, v))
			return false;
		*pp = c.p;
		return true;
	}
}

/* varint_at() out of line, for the rare values the fast paths below leave
 * alone: inlined there, the compiler would load its bytes ahead on the fast
 * path too. The cursor goes in and out by value, so that the caller's stays
 * in a register: the next, or NULL for a bad varint. */
static __attribute__((noinline)) const uint8_t *varint_slow(const uint8_t *p,
							    const uint8_t *end, uint64_t *v)
{
	return varint_at(&p, end, v) ? p : NULL;
}

/* Bytes of a 64-bit word: the high bit of each, and 1 in each. */
#define HIGH_BITS 0x8080808080808080ull
#define LOW_BITS 0x0101010101010101ull

/* The high bit of each byte of w (whose bytes are all below 0x80) that is
 * at least k (k <= 0x80): all bytes at once, as a byte with its high bit
 * set minus k borrows from no other. */
static inline uint64_t bytes_ge(uint64_t w, uint64_t k)
{
	return ((w | HIGH_BITS) - k * LOW_BITS) & HIGH_BITS;
}

/* Whether the 8 bytes of w, all below 0x80, are all one-byte reference
 * codes (none 0, a literal) within a dictionary of ntab: 1..KT_COL_BACK +
 * ntab. */
static inline bool codes_in_range(uint64_t w, size_t ntab)
{
	const size_t lim = KT_COL_BACK + 1 + ntab;

	return bytes_ge(w, 1) == HIGH_BITS && (lim >= 0x80 || !bytes_ge(w, lim));
}

/* The same for address codes: 0 (unset) or a reference, code - 2 in
 * 1..KT_COL_BACK + ntab; not 1 or 2, a literal. */
static inline bool ip_codes_in_range(uint64_t w, size_t ntab)
{
	const size_t lim = KT_COL_BACK + 3 + ntab;

	return (bytes_ge(w, 3) | (~bytes_ge(w, 1) & HIGH_BITS)) == HIGH_BITS &&
	       (lim >= 0x80 || !bytes_ge(w, lim));
}

/* A reference code of one or two bytes at p (two bytes readable), without a
 * branch on its length, which varies from value to value in most columns
 * (a back reference takes one byte, a dictionary number often two): the
 * code, and its length in *len; 0 with *len 0 for a longer code. */
static inline uint64_t code12(const uint8_t *p, unsigned *len)
{
	const unsigned b0 = p[0], b1 = p[1], two = b0 >> 7;

	*len = (b0 & b1 & 0x80) ? 0 : 1 + two;
	return (b0 & 0x7f) | ((uint64_t)(b1 << 7) & (0 - (uint64_t)two));
}

/* Index of the lowest set bit of x, which is not 0. */
static inline unsigned lowest_bit(uint64_t x)
{
#if defined(__GNUC__) || defined(__clang__)
	return (unsigned)__builtin_ctzll(x);
#else
	unsigned n = 0;

	while (!(x & 1)) {
		x >>= 1;
		n++;
	}
	return n;
#endif
}

/* The 7-bit groups of the bytes of w (high bits already clear), low byte
 * first, packed into one number: 8 groups of 7 bits in 56. */
static inline uint64_t varint_gather(uint64_t w)
{
	w = (w & 0x007f007f007f007full) | (w & 0x7f007f007f007f00ull) >> 1;
	w = (w & 0x00003fff00003fffull) | (w & 0x3fff00003fff0000ull) >> 2;
	return (w & 0x000000000fffffffull) | (w & 0x0fffffff00000000ull) >> 4;
}

/* varint_at() without a branch per byte, for columns whose lengths vary (a
 * byte count, a latency), where such a branch mispredicts every other
 * value: one 8-byte load, the first byte with a clear high bit ends the
 * value, found from all the high bits at once, and the 7-bit groups
 * gathered with masks and shifts: on 32 bits, whose masks are immediates,
 * for the values of up to 4 bytes that such columns mostly hold (a branch
 * that rarely changes its mind). Values of 9 and 10 bytes, and the last
 * 9 bytes of a column, go through varint_slow(). It makes each value wait
 * for the load of the one before, so it only pays when two columns are
 * decoded side by side (kt_col_dec_run2). near_end false: the caller knows
 * that 10 bytes remain. The next cursor, NULL for a bad varint. */
static inline const uint8_t *varint_flat(const uint8_t *p, const uint8_t *end, bool near_end,
					 uint64_t *v)
{
	uint64_t w, stop, x;

	if ((near_end && end - p < 10) || !(stop = ~(w = kt_le64(p)) & HIGH_BITS)) {
		/* through x: v's address taken would keep it in memory */
		x = 0;
		p = varint_slow(p, end, &x);
		*v = x;
		return p;
	}
	/* stop ^ (stop - 1): the bits up to the ending byte's high bit */
	x = w & (stop ^ (stop - 1)) & 0x7f7f7f7f7f7f7f7full;
	if (stop & 0x80808080u) {
		uint32_t y = (uint32_t)x;

		y = (y & 0x007f007fu) | (y & 0x7f007f00u) >> 1;
		*v = (y & 0x3fffu) | (y & 0x3fff0000u) >> 2;
	} else {
		*v = varint_gather(x);
	}
	return p + lowest_bit(stop) / 8 + 1;
}

/* The history of a column decoded by reference (integers, addresses,
 * strings), rows of one value: rows 0..KT_COL_BACK - 1 the ring of the last
 * KT_COL_BACK values (record i in row i % KT_COL_BACK), row KT_COL_BACK
 * all zero (an unset address), then the dictionary, whose entry k is row
 * KT_COL_BACK + 1 + k: the row of a reference code c above KT_COL_BACK is
 * c itself. One array, so that either kind of reference is one load from a
 * row chosen without a branch. */
#define HIST_ZERO KT_COL_BACK
#define HIST_DICT (KT_COL_BACK + 1)

/* The history row of reference code c at record i, *row, or -EPROTO when
 * c reaches before the block or past the ntab dictionary entries. */
static inline int ref_row(uint64_t c, size_t i, size_t ntab, size_t *row)
{
	if (c <= KT_COL_BACK) {
		if (c > i)
			return kt_err_set(-EPROTO, "record %zu refers before the block", i);
		*row = (i - (size_t)c) % KT_COL_BACK;
		return 0;
	}
	if (c - HIST_DICT >= ntab)
		return kt_err_set(-EPROTO, "record %zu refers to value %" PRIu64 " of %zu", i,
				  c - HIST_DICT, ntab);
	*row = (size_t)c;
	return 0;
}

/* The row of a reference code c known to be in range (1..KT_COL_BACK +
 * ntab) at record i. With masks: compilers make a branch of a ?: here,
 * which mispredicts as often as back references and dictionary numbers
 * alternate. */
static inline size_t ref_row_ok(uint64_t c, size_t i)
{
	const size_t dict = 0 - (size_t)(c > KT_COL_BACK);

	return (((i - (size_t)c) % KT_COL_BACK) & ~dict) | ((size_t)c & dict);
}

/* One record of an integer reference column the careful way (a literal, a
 * longer code, an error): its history row, a literal's being the next
 * dictionary entry, HIST_DICT + ntab, which the caller then counts; or
 * -EPROTO. Out of line, so that the fast path keeps its state in
 * registers. */
static __attribute__((noinline)) long int_ref_slow(const uint8_t **pp, const uint8_t *end,
						   uint64_t *hist, size_t ntab, size_t i)
{
	size_t row = 0;
	uint64_t d;
	int r;

	if (!varint_at(pp, end, &d))
		return kt_err_set(-EPROTO, "bad integer at record %zu", i);
	if (d == 0) {
		if (!varint_at(pp, end, &d))
			return kt_err_set(-EPROTO, "bad integer at record %zu", i);
		hist[HIST_DICT + ntab] = (uint64_t)kt_unzigzag(d);
		return HIST_DICT + (long)ntab;
	}
	if ((r = ref_row(d, i, ntab, &row)) < 0)
		return r;
	return (long)row;
}

/* Integers: delta and plain share one loop (keep = all ones adds to the
 * previous value, 0 adds to zero); references copy earlier values from the
 * history (HIST_*), whose ring keeps the last KT_COL_BACK so that the
 * records decoded earlier may be gone (a caller taking a block a chunk at a
 * time).
 *
 * Most columns hold mostly one-byte values (an enum, a port's delta, a
 * back reference): when the next 8 bytes all are, 8 values are taken from
 * one load with no branch per value. A reference code of one or two bytes
 * in range is resolved without a branch on its length or kind; anything
 * else (a literal, a longer value, the first KT_COL_BACK records, the end
 * of the column) goes the careful way, which also finds every error. */
#define DEFINE_DECODE_INTS(name, T)						\
static int name(struct kt_col_dec *c, size_t i0, size_t i1, uint8_t *at)	\
{										\
	const uint64_t keep = c->mode == MODE_DELTA ? UINT64_MAX : 0;		\
	const uint8_t *p = c->p, *const end = c->end;				\
	const size_t stride = c->stride;					\
	const bool runs = c->runs;						\
	uint64_t prev = c->prev, d, w, *const hist = c->table;			\
	size_t ntab = c->ntab, i = i0;						\
	T v;									\
										\
	if (c->mode == MODE_CONST) {						\
		v = (T)prev;							\
		for (; i < i1; i++, at += stride)				\
			memcpy(at, &v, sizeof(v));				\
		return 0;							\
	}									\
	/* without runs, the loop as it was: the eight-value test in it	\
	 * costs a column like ts, of two- and three-byte deltas */		\
	if (c->mode != MODE_REF && !runs) {					\
		for (; i < i1; i++, at += stride) {				\
			if (!varint_at(&p, end, &d))				\
				return kt_err_set(-EPROTO, "bad integer at record %zu", i); \
			prev = (prev & keep) + (uint64_t)kt_unzigzag(d);	\
			v = (T)prev;						\
			memcpy(at, &v, sizeof(v));				\
		}								\
		c->p = p;							\
		c->prev = prev;							\
		return 0;							\
	}									\
	if (c->mode != MODE_REF) {						\
		while (i < i1) {						\
			if (i1 - i >= 8 && end - p >= 8 &&			\
			    !((w = kt_le64(p)) & HIGH_BITS)) {			\
				for (unsigned k = 0; k < 8; k++, at += stride) { \
					d = (w >> 8 * k) & 0x7f;		\
					prev = (prev & keep) + (uint64_t)kt_unzigzag(d); \
					v = (T)prev;				\
					memcpy(at, &v, sizeof(v));		\
				}						\
				p += 8;						\
				i += 8;						\
				continue;					\
			}							\
			if (!varint_at(&p, end, &d))				\
				return kt_err_set(-EPROTO, "bad integer at record %zu", i); \
			prev = (prev & keep) + (uint64_t)kt_unzigzag(d);	\
			v = (T)prev;						\
			memcpy(at, &v, sizeof(v));				\
			i++;							\
			at += stride;						\
		}								\
		c->p = p;							\
		c->prev = prev;							\
		return 0;							\
	}									\
	while (i < i1) {							\
		const uint8_t *q;						\
		uint64_t x;							\
		unsigned len;							\
		long row;							\
										\
		if (runs && i >= KT_COL_BACK && end - p >= 8 && i1 - i >= 8 && \
		    !((w = kt_le64(p)) & HIGH_BITS) && codes_in_range(w, ntab)) { \
			for (unsigned k = 0; k < 8; k++, at += stride) {	\
				d = (w >> 8 * k) & 0x7f;			\
				x = hist[ref_row_ok(d, i + k)];			\
				hist[(i + k) % KT_COL_BACK] = x;		\
				v = (T)x;					\
				memcpy(at, &v, sizeof(v));			\
			}							\
			p += 8;							\
			i += 8;							\
			continue;						\
		}								\
		if (i >= KT_COL_BACK && end - p >= 2 && (d = code12(p, &len), len) && \
		    d - 1 < KT_COL_BACK + ntab) {				\
			p += len;						\
			x = hist[ref_row_ok(d, i)];				\
		} else {							\
			q = p;							\
			if ((row = int_ref_slow(&q, end, hist, ntab, i)) < 0) \
				return (int)row;				\
			p = q;							\
			ntab += (size_t)row == HIST_DICT + ntab;		\
			x = hist[row];						\
		}								\
		hist[i % KT_COL_BACK] = x;					\
		v = (T)x;							\
		memcpy(at, &v, sizeof(v));					\
		i++;								\
		at += stride;							\
	}									\
	c->p = p;								\
	c->ntab = ntab;								\
	return 0;								\
}

DEFINE_DECODE_INTS(decode_u8, uint8_t)
DEFINE_DECODE_INTS(decode_u16, uint16_t)
DEFINE_DECODE_INTS(decode_u32, uint32_t)
DEFINE_DECODE_INTS(decode_u64, uint64_t)

/* One record of an address column the careful way, as int_ref_slow(). */
static __attribute__((noinline)) long ip_slow(const uint8_t **pp, const uint8_t *end,
					      uint8_t (*hist)[16], size_t ntab, size_t i)
{
	const size_t lit = HIST_DICT + ntab;
	size_t row = 0;
	uint64_t code;
	int r;

	if (!varint_at(pp, end, &code))
		return kt_err_set(-EPROTO, "bad address code at record %zu", i);
	switch (code) {
	case 0:
		return HIST_ZERO;
	case 1:
		if (end - *pp < 4)
			return kt_err_set(-EPROTO, "truncated address at record %zu", i);
		memset(hist[lit], 0, 10);
		hist[lit][10] = hist[lit][11] = 0xff;
		memcpy(hist[lit] + 12, *pp, 4);
		*pp += 4;
		return (long)lit;
	case 2:
		if (end - *pp < 16)
			return kt_err_set(-EPROTO, "truncated address at record %zu", i);
		memcpy(hist[lit], *pp, 16);
		*pp += 16;
		return (long)lit;
	default:
		if ((r = ref_row(code - 2, i, ntab, &row)) < 0)
			return r;
		return (long)row;
	}
}

/* Addresses: code 0 (unset) is the history's zero row, codes above 2
 * references; in range and of one or two bytes, either is resolved without
 * a branch of its own. Literals and the rest go the careful way. */
static int decode_ips(struct kt_col_dec *c, size_t i0, size_t i1, uint8_t *at)
{
	const uint8_t *p = c->p, *const end = c->end, *q;
	uint8_t (*const hist)[16] = c->table, v[16];
	const size_t stride = c->stride;
	size_t ntab = c->ntab, row, unset;
	uint64_t code;
	unsigned len;
	long r;

	for (size_t i = i0; i < i1; i++, at += stride) {
		uint64_t w;

		/* eight one-byte codes, as for integers */
		if (c->runs && i >= KT_COL_BACK && end - p >= 8 && i1 - i >= 8 &&
		    !((w = kt_le64(p)) & HIGH_BITS) && ip_codes_in_range(w, ntab)) {
			for (unsigned k = 0; k < 8; k++, at += stride) {
				code = (w >> 8 * k) & 0x7f;
				unset = 0 - (size_t)(code == 0);
				row = (ref_row_ok(code - 2, i + k) & ~unset) | (HIST_ZERO & unset);
				memcpy(v, hist[row], 16);
				memcpy(at, v, 16);
				memcpy(hist[(i + k) % KT_COL_BACK], v, 16);
			}
			p += 8;
			i += 7;		/* and the loop's own */
			at -= stride;
			continue;
		}
		/* unset, or a reference: code - 2 in 1..KT_COL_BACK + ntab (an
		 * unset one counts as code 3 there); masks again, not branches */
		if (i >= KT_COL_BACK && end - p >= 2 && (code = code12(p, &len), len) &&
		    code + (3 & (unset = 0 - (size_t)(code == 0))) - 3 < KT_COL_BACK + ntab) {
			p += len;
			row = (ref_row_ok(code - 2, i) & ~unset) | (HIST_ZERO & unset);
		} else {
			q = p;
			if ((r = ip_slow(&q, end, hist, ntab, i)) < 0)
				return (int)r;
			p = q;
			row = (size_t)r;
			ntab += row == HIST_DICT + ntab;
		}
		/* through v: row may be the ring slot about to be written */
		memcpy(v, hist[row], 16);
		memcpy(at, v, 16);
		memcpy(hist[i % KT_COL_BACK], v, 16);
	}
	c->p = p;
	c->ntab = ntab;
	return 0;
}

static int decode_strs(struct kt_col_dec *c, size_t i0, size_t i1, uint8_t *at)
{
	const uint8_t *p = c->p, *end = c->end;
	struct kt_str *hist = c->table, s;
	size_t ntab = c->ntab, row = 0;
	uint64_t code, len;
	int r;

	for (size_t i = i0; i < i1; i++, at += c->stride) {
		if (!varint_at(&p, end, &code))
			return kt_err_set(-EPROTO, "bad string code at record %zu", i);
		if (code) {
			if ((r = ref_row(code, i, ntab, &row)) < 0)
				return r;
			s = hist[row];
		} else {
			if (!varint_at(&p, end, &len) || len > (uint64_t)(end - p))
				return kt_err_set(-EPROTO, "string at record %zu overruns its column", i);
			s.p = (const char *)p;
			s.len = (uint32_t)len;
			p += len;
			hist[HIST_DICT + ntab++] = s;
		}
		hist[i % KT_COL_BACK] = s;
		memcpy(at, &s, sizeof(s));
	}
	c->p = p;
	c->ntab = ntab;
	return 0;
}

/* Two delta or plain columns of 64-bit values, side by side: each value's
 * varint_flat() waits on the one before in its own column only, so the
 * two columns' waits overlap, and neither mispredicts on the lengths. */
static inline int run2(struct kt_col_dec *a, struct kt_col_dec *b, size_t i0, size_t i1,
		       uint8_t *at_a, uint8_t *at_b, unsigned *failed, bool near_end)
{
	const uint64_t keep_a = a->mode == MODE_DELTA ? UINT64_MAX : 0;
	const uint64_t keep_b = b->mode == MODE_DELTA ? UINT64_MAX : 0;
	const uint8_t *pa = a->p, *pb = b->p, *const end_a = a->end, *const end_b = b->end;
	const size_t stride_a = a->stride, stride_b = b->stride;
	uint64_t prev_a = a->prev, prev_b = b->prev, da, db;

	for (size_t i = i0; i < i1; i++, at_a += stride_a, at_b += stride_b) {
		if (!(pa = varint_flat(pa, end_a, near_end, &da))) {
			*failed = 0;
			return kt_err_set(-EPROTO, "bad integer at record %zu", i);
		}
		if (!(pb = varint_flat(pb, end_b, near_end, &db))) {
			*failed = 1;
			return kt_err_set(-EPROTO, "bad integer at record %zu", i);
		}
		prev_a = (prev_a & keep_a) + (uint64_t)kt_unzigzag(da);
		prev_b = (prev_b & keep_b) + (uint64_t)kt_unzigzag(db);
		memcpy(at_a, &prev_a, sizeof(prev_a));
		memcpy(at_b, &prev_b, sizeof(prev_b));
	}
	a->p = pa;
	a->prev = prev_a;
	b->p = pb;
	b->prev = prev_b;
	return 0;
}

int kt_col_dec_run2(struct kt_col_dec *a, struct kt_col_dec *b, size_t i0, size_t i1,
		    uint8_t *at_a, uint8_t *at_b, unsigned *failed)
{
	/* A value takes at most 10 bytes: a run that ends 10 bytes or more
	 * before the end of both columns, as all but the last few of a block
	 * do, needs no check of the end per value. */
	const size_t most = (i1 - i0 + 1) * 10;

	if ((size_t)(a->end - a->p) >= most && (size_t)(b->end - b->p) >= most)
		return run2(a, b, i0, i1, at_a, at_b, failed, false);
	return run2(a, b, i0, i1, at_a, at_b, failed, true);
}

/* Whether the lengths of a column's values vary: the commonest length of
 * its first values (up to 128) covers less than 3 in 4 of them. */
static bool lengths_vary(const uint8_t *p, const uint8_t *end, size_t n)
{
	struct kt_cursor c = { p, (size_t)(end - p) };
	size_t count[11] = { 0 }, most = 0, k;
	uint64_t v;

	for (k = 0; k < n && k < 128; k++) {
		const uint8_t *at = c.p;

		if (!kt_get_varint(&c, &v))
			break;	/* the decoder will say what is wrong */
		count[c.p - at]++;
	}
	for (size_t len = 1; len <= 10; len++)
		if (count[len] > most)
			most = count[len];
	return k && most * 4 < k * 3;
}

/* Whether a column's first bytes are mostly (7 in 8) below 0x80, one-byte
 * values or codes in runs, worth trying eight at a time: elsewhere the
 * test would cost every value and rarely pass. */
static bool mostly_one_byte(const uint8_t *p, const uint8_t *end)
{
	size_t n = end - p < 128 ? (size_t)(end - p) : 128, small = 0;

	for (size_t k = 0; k < n; k++)
		small += p[k] < 0x80;
	return small * 8 >= n * 7;
}

int kt_col_dec_init(struct kt_col_dec *c, const struct kt_cursor *col, uint8_t src_type,
		    size_t n, uint8_t dst_type)
{
	size_t row = 0;	/* bytes of a history row, 0 without one */

	memset(c, 0, sizeof(*c));
	c->p = col->p;
	c->end = col->p + col->len;
	c->cls = (uint8_t)kt_ftype_class(src_type);
	if (c->cls == KT_FC_INT) {
		uint64_t v;

		if (c->p == c->end)
			return kt_err_set(-EPROTO, "empty integer column");
		c->mode = *c->p++;
		if (c->mode == MODE_CONST) {
			if (!varint_at(&c->p, c->end, &v))
				return kt_err_set(-EPROTO, "bad constant in integer column");
			c->prev = (uint64_t)kt_unzigzag(v);
		}
	}
	c->runs = mostly_one_byte(c->p, c->end);
	/* Every value takes at least one byte: a cheap bound on hostile counts,
	 * and a bound on the dictionary too. */
	if (c->mode != MODE_CONST && (size_t)(c->end - c->p) < n)
		return kt_err_set(-EPROTO, "column shorter than its %zu records", n);
	switch (c->cls) {
	case KT_FC_INT:
		if (c->mode > MODE_CONST)
			return kt_err_set(-EPROTO, "bad integer column mode %u", c->mode);
		switch (dst_type) {
		case KT_F_U8: c->run = decode_u8; break;
		case KT_F_U16: c->run = decode_u16; break;
		case KT_F_U32: case KT_F_I32: c->run = decode_u32; break;
		default: c->run = decode_u64; break;
		}
		c->pairable = c->run == decode_u64 &&
			      (c->mode == MODE_DELTA || c->mode == MODE_PLAIN) &&
			      lengths_vary(c->p, c->end, n);
		if (c->mode == MODE_REF)
			row = sizeof(uint64_t);
		break;
	case KT_FC_IP:
		c->run = decode_ips;
		row = 16;
		break;
	case KT_FC_STR:
		c->run = decode_strs;
		row = sizeof(struct kt_str);
		break;
	default:
		return kt_err_set(-EPROTO, "cannot decode field type %u", src_type);
	}
	if (row) {
		/* the ring, the zero row, a dictionary entry per record at most */
		if (!(c->table = malloc((HIST_DICT + n) * row)))
			return kt_err_set(-ENOMEM, "out of memory");
		memset((uint8_t *)c->table + HIST_ZERO * row, 0, row);
	}
	return 0;
}

int kt_col_dec_finish(struct kt_col_dec *c)
{
	free(c->table);
	c->table = NULL;
	if (c->p != c->end)
		return kt_err_set(-EPROTO, "%zu stray bytes after the column", (size_t)(c->end - c->p));
	return 0;
}

void kt_col_dec_release(struct kt_col_dec *c)
{
	free(c->table);
	c->table = NULL;
}

int kt_col_decode(struct kt_cursor *col, uint8_t src_type, size_t n,
		  uint8_t *recs, size_t stride, size_t off, uint8_t dst_type)
{
	struct kt_col_dec c;
	int err = kt_col_dec_init(&c, col, src_type, n, dst_type);

	c.stride = stride;
	if (!err)
		err = c.run(&c, 0, n, recs + off);
	if (err) {
		kt_col_dec_release(&c);
		return err;
	}
	return kt_col_dec_finish(&c);
}
