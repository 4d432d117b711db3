/* column.c - column codecs (column.h). The decoder is the hot loop of every
 * bundle read: one tight loop per column, no per-record dispatch. */
#include "column.h"
#include "error.h"

#include <errno.h>

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

static int64_t load_int(uint8_t type, const uint8_t *p)
{
	switch (type) {
	case KT_F_U8: return *p;
	case KT_F_U16: { uint16_t v; memcpy(&v, p, 2); return v; }
	case KT_F_U32: { uint32_t v; memcpy(&v, p, 4); return v; }
	case KT_F_I32: { int32_t v; memcpy(&v, p, 4); return v; }
	default: { int64_t v; memcpy(&v, p, 8); return v; }
	}
}

static void store_int(uint8_t type, uint8_t *p, int64_t v)
{
	switch (type) {
	case KT_F_U8: *p = (uint8_t)v; break;
	case KT_F_U16: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
	case KT_F_U32: case KT_F_I32: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
	default: memcpy(p, &v, 8); break;
	}
}

int kt_col_encode(struct kt_buf *out, uint8_t type, const uint8_t *recs,
		  size_t n, size_t stride, size_t off)
{
	int err = 0;

	switch (kt_ftype_class(type)) {
	case KT_FC_INT: {
		uint64_t prev = 0;

		if ((err = kt_buf_reserve(out, n * 10)))
			return err;
		for (size_t i = 0; i < n; i++) {
			uint64_t v = (uint64_t)load_int(type, recs + i * stride + off);

			out->len += kt_put_varint(out->p + out->len,
						  kt_zigzag((int64_t)(v - prev)));
			prev = v;
		}
		return 0;
	}
	case KT_FC_IP: {
		static const uint8_t zero[16];
		const uint8_t *prev = zero;

		if ((err = kt_buf_reserve(out, n * 17)))
			return err;
		for (size_t i = 0; i < n; i++) {
			const uint8_t *ip = recs + i * stride + off;
			uint8_t *o = out->p + out->len;

			if (i && !memcmp(ip, prev, 16)) {
				*o = 0;
				out->len += 1;
			} else if (!memcmp(ip, zero, 16)) {
				*o = 1;
				out->len += 1;
			} else if (!memcmp(ip, zero, 10) && ip[10] == 0xff && ip[11] == 0xff) {
				*o = 4;
				memcpy(o + 1, ip + 12, 4);
				out->len += 5;
			} else {
				*o = 6;
				memcpy(o + 1, ip, 16);
				out->len += 17;
			}
			prev = ip;
		}
		return 0;
	}
	case KT_FC_STR: {
		struct kt_str prev = { NULL, 0 };

		for (size_t i = 0; i < n; i++) {
			struct kt_str s;

			memcpy(&s, recs + i * stride + off, sizeof(s));
			if (i && s.len == prev.len && (!s.len || !memcmp(s.p, prev.p, s.len))) {
				err = kt_buf_add_varint(out, 0);
			} else {
				err = kt_buf_add_varint(out, (uint64_t)s.len + 1);
				if (!err)
					err = kt_buf_add(out, s.p, s.len);
			}
			if (err)
				return err;
			prev = s;
		}
		return 0;
	}
	default:
		return kt_err_set(-EINVAL, "cannot encode field type %u", type);
	}
}

int kt_col_decode(struct kt_cursor *col, uint8_t src_type, size_t n,
		  uint8_t *recs, size_t stride, size_t off, uint8_t dst_type)
{
	/* Every value takes at least one byte: a cheap bound on hostile counts. */
	if (col->len < n)
		return kt_err_set(-EPROTO, "column shorter than its %zu records", n);

	switch (kt_ftype_class(src_type)) {
	case KT_FC_INT: {
		uint64_t prev = 0, d;

		for (size_t i = 0; i < n; i++) {
			if (!kt_get_varint(col, &d))
				return kt_err_set(-EPROTO, "bad integer at record %zu", i);
			prev += (uint64_t)kt_unzigzag(d);
			store_int(dst_type, recs + i * stride + off, (int64_t)prev);
		}
		break;
	}
	case KT_FC_IP: {
		uint8_t prev[16] = { 0 };

		for (size_t i = 0; i < n; i++) {
			uint8_t tag, *ip = recs + i * stride + off;

			if (!kt_get_u8(col, &tag))
				return kt_err_set(-EPROTO, "truncated address at record %zu", i);
			switch (tag) {
			case 0:
				if (!i)
					return kt_err_set(-EPROTO, "first address refers to a previous one");
				break;
			case 1:
				memset(prev, 0, 16);
				break;
			case 4:
				memset(prev, 0, 10);
				prev[10] = prev[11] = 0xff;
				if (!kt_get_bytes(col, prev + 12, 4))
					return kt_err_set(-EPROTO, "truncated address at record %zu", i);
				break;
			case 6:
				if (!kt_get_bytes(col, prev, 16))
					return kt_err_set(-EPROTO, "truncated address at record %zu", i);
				break;
			default:
				return kt_err_set(-EPROTO, "bad address tag %u at record %zu", tag, i);
			}
			memcpy(ip, prev, 16);
		}
		break;
	}
	case KT_FC_STR: {
		struct kt_str prev = { "", 0 };
		uint64_t v;

		for (size_t i = 0; i < n; i++) {
			if (!kt_get_varint(col, &v))
				return kt_err_set(-EPROTO, "bad string length at record %zu", i);
			if (v == 0) {
				if (!i)
					return kt_err_set(-EPROTO, "first string refers to a previous one");
			} else {
				if (v - 1 > col->len)
					return kt_err_set(-EPROTO, "string at record %zu overruns its column", i);
				prev.p = (const char *)col->p;
				prev.len = (uint32_t)(v - 1);
				kt_skip(col, (size_t)(v - 1));
			}
			memcpy(recs + i * stride + off, &prev, sizeof(prev));
		}
		break;
	}
	default:
		return kt_err_set(-EPROTO, "cannot decode field type %u", src_type);
	}
	if (col->len)
		return kt_err_set(-EPROTO, "%zu stray bytes after the column", col->len);
	return 0;
}
