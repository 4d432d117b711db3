/* check_column.c - the column decoder (formats/column.c) against a plain
 * decoder of SPEC.md "Columns" written here, on columns built to reach each
 * of its fast paths and their edges: eight one-byte values at a time (delta,
 * plain, reference codes), reference codes of one or two bytes resolved
 * without a branch, addresses; a run ending part way through a fast path,
 * a longer varint inside a run of one-byte ones, a column cut short, a
 * reference out of range among good ones. Good columns must decode to the
 * plain decoder's values, bad ones fail with -EPROTO naming the record the
 * plain decoder stops at, however the records are split into runs. */
#include "column.h"
#include "error.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXN 600
#define MAXCOL (MAXN * 24 + 64)

/* ---- the plain decoder: the spec, one record at a time ------------------- */

/* Whole-column failures (no mode, a bad mode, fewer bytes than records,
 * stray bytes after the last record) name no record. */
#define COLUMN_BAD (-2L)
#define GOOD (-1L)

/* Values of an integer column of n records; GOOD, COLUMN_BAD or the record
 * it fails at. */
static long plain_ints(const uint8_t *col, size_t len, size_t n, uint64_t *vals)
{
	static uint64_t dict[MAXN];
	struct kt_cursor c;
	uint64_t v, prev = 0;
	size_t nd = 0;
	uint8_t mode;

	kt_cursor_init(&c, col, len);
	if (!kt_get_u8(&c, &mode) || mode > 3)
		return COLUMN_BAD;
	if (mode == 3) {
		if (!kt_get_varint(&c, &v) || c.len)
			return COLUMN_BAD;
		for (size_t i = 0; i < n; i++)
			vals[i] = (uint64_t)kt_unzigzag(v);
		return GOOD;
	}
	if (c.len < n)
		return COLUMN_BAD;
	for (size_t i = 0; i < n; i++) {
		if (!kt_get_varint(&c, &v))
			return (long)i;
		if (mode == 0) {
			vals[i] = prev += (uint64_t)kt_unzigzag(v);
		} else if (mode == 1) {
			vals[i] = (uint64_t)kt_unzigzag(v);
		} else if (v == 0) {
			if (!kt_get_varint(&c, &v))
				return (long)i;
			vals[i] = dict[nd++] = (uint64_t)kt_unzigzag(v);
		} else if (v <= KT_COL_BACK) {
			if (v > i)
				return (long)i;
			vals[i] = vals[i - v];
		} else {
			if (v - KT_COL_BACK - 1 >= nd)
				return (long)i;
			vals[i] = dict[v - KT_COL_BACK - 1];
		}
	}
	return c.len ? COLUMN_BAD : GOOD;
}

/* The same for an address column, 16 bytes a value. */
static long plain_ips(const uint8_t *col, size_t len, size_t n, uint8_t (*vals)[16])
{
	static uint8_t dict[MAXN][16];
	struct kt_cursor c;
	size_t nd = 0;
	uint64_t v;

	kt_cursor_init(&c, col, len);
	if (c.len < n)
		return COLUMN_BAD;
	for (size_t i = 0; i < n; i++) {
		if (!kt_get_varint(&c, &v))
			return (long)i;
		memset(vals[i], 0, 16);
		if (v == 1) {
			vals[i][10] = vals[i][11] = 0xff;
			if (!kt_get_bytes(&c, vals[i] + 12, 4))
				return (long)i;
			memcpy(dict[nd++], vals[i], 16);
		} else if (v == 2) {
			if (!kt_get_bytes(&c, vals[i], 16))
				return (long)i;
			memcpy(dict[nd++], vals[i], 16);
		} else if (v >= 3 && v - 2 <= KT_COL_BACK) {
			if (v - 2 > i)
				return (long)i;
			memcpy(vals[i], vals[i - (v - 2)], 16);
		} else if (v > 2) {
			if (v - 2 - KT_COL_BACK - 1 >= nd)
				return (long)i;
			memcpy(vals[i], dict[v - 2 - KT_COL_BACK - 1], 16);
		}
	}
	return c.len ? COLUMN_BAD : GOOD;
}

/* ---- the decoder under test ---------------------------------------------- */

/* A copy of a column on the heap, of its exact size: a read past its end
 * is found in a sanitizer build. Freed by the caller. */
static uint8_t *exact(const uint8_t *col, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, col, len);
	return copy;
}

/* Decode through kt_col_dec in runs of the lengths in runs[] (cycled):
 * 0 or the error, its message in msg. */
static int lib_decode(const uint8_t *col_in, size_t len, uint8_t src, size_t n, uint8_t dst,
		      uint8_t *recs, size_t stride, const size_t *runs, size_t nruns,
		      char *msg, size_t msgsize)
{
	uint8_t *col = exact(col_in, len);
	struct kt_col_dec d;
	struct kt_cursor cur;
	int err;

	kt_cursor_init(&cur, col, len);
	msg[0] = 0;
	if ((err = kt_col_dec_init(&d, &cur, src, n, dst)))
		goto out;
	d.stride = stride;
	for (size_t i = 0, k = 0; i < n; k++) {
		size_t i1 = i + runs[k % nruns] < n ? i + runs[k % nruns] : n;

		if ((err = d.run(&d, i, i1, recs + i * stride))) {
			kt_col_dec_release(&d);
			goto out;
		}
		i = i1;
	}
	err = kt_col_dec_finish(&d);
out:
	if (err)
		snprintf(msg, msgsize, "%s", kt_err_msg(err));
	free(col);
	return err;
}

/* Whether msg names record i: "record <i>" not followed by a digit. */
static bool names_record(const char *msg, long i)
{
	char want[40];
	const char *at;

	snprintf(want, sizeof(want), "record %ld", i);
	at = strstr(msg, want);
	return at && (at[strlen(want)] < '0' || at[strlen(want)] > '9');
}

/* Ways to split a column into runs: whole, short runs that end part way
 * through eight-value groups, runs of the reader's size. */
static const size_t split_whole[] = { MAXN };
static const size_t split_odd[] = { 1, 7, 3, 9, 2, 13, 5 };
static const size_t split_8[] = { 8 };
static const size_t split_256[] = { 256, 5 };
static const struct { const size_t *runs; size_t n; } splits[] = {
	{ split_whole, 1 }, { split_odd, 7 }, { split_8, 1 }, { split_256, 2 },
};

/* An integer column decoded into every width, split every way, agrees with
 * the plain decoder; returns what the plain decoder said. */
static long check_ints(const uint8_t *col, size_t len, size_t n)
{
	static uint64_t want[MAXN], got[MAXN];
	static const uint8_t dsts[] = { KT_F_U8, KT_F_U16, KT_F_U32, KT_F_U64 };
	static const size_t sizes[] = { 1, 2, 4, 8 };
	long bad = plain_ints(col, len, n, want);
	char msg[256];

	for (size_t t = 0; t < 4; t++) {
		for (size_t s = 0; s < sizeof(splits) / sizeof(splits[0]); s++) {
			uint8_t recs[MAXN * 8];
			int err;

			memset(recs, 0xa5, sizeof(recs));
			err = lib_decode(col, len, KT_F_U64, n, dsts[t], recs, sizes[t],
					 splits[s].runs, splits[s].n, msg, sizeof(msg));
			if (bad == GOOD) {
				ck_assert_msg(!err, "good column failed: %s", msg);
				for (size_t i = 0; i < n; i++) {
					memset(got + i, 0, 8);
					memcpy(got + i, recs + i * sizes[t], sizes[t]);
					ck_assert_uint_eq(got[i], sizes[t] == 8 ? want[i] :
							  want[i] & ((1ull << (8 * sizes[t])) - 1));
				}
			} else {
				ck_assert_int_eq(err, -EPROTO);
				if (bad >= 0)
					ck_assert_msg(names_record(msg, bad),
						      "'%s' should name record %ld", msg, bad);
			}
		}
	}
	return bad;
}

static long check_ips(const uint8_t *col, size_t len, size_t n)
{
	static uint8_t want[MAXN][16], recs[MAXN][24];
	long bad = plain_ips(col, len, n, want);
	char msg[256];

	for (size_t s = 0; s < sizeof(splits) / sizeof(splits[0]); s++) {
		int err;

		memset(recs, 0xa5, sizeof(recs));
		err = lib_decode(col, len, KT_F_IP, n, KT_F_IP, recs[0], sizeof(recs[0]),
				 splits[s].runs, splits[s].n, msg, sizeof(msg));
		if (bad == GOOD) {
			ck_assert_msg(!err, "good column failed: %s", msg);
			for (size_t i = 0; i < n; i++)
				ck_assert_msg(!memcmp(recs[i], want[i], 16), "address %zu", i);
		} else {
			ck_assert_int_eq(err, -EPROTO);
			if (bad >= 0)
				ck_assert_msg(names_record(msg, bad), "'%s' should name record %ld",
					      msg, bad);
		}
	}
	return bad;
}

/* ---- columns ------------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A number whose varint takes len bytes (1..10). */
static uint64_t of_length(unsigned len)
{
	uint64_t lo = len == 1 ? 0 : 1ull << (7 * (len - 1));
	uint64_t hi = len >= 10 ? UINT64_MAX : (1ull << (7 * len)) - 1;

	return lo + rnd() % (hi - lo + (hi != UINT64_MAX));
}

/* A reference column of n records the way a writer makes them, with runs
 * of one-byte codes (every fast path), dictionaries that stay small or grow
 * past what a one-byte code reaches (lits: literals in 1000). */
static size_t make_refs(uint8_t *col, size_t n, unsigned lits, bool ip)
{
	size_t len = 0, nd = 0;

	if (!ip)
		col[len++] = 2;
	for (size_t i = 0; i < n; i++) {
		unsigned pick = (unsigned)(rnd() % 1000);
		uint64_t code;

		if (ip && pick < 50) {
			col[len++] = 0;		/* unset */
			continue;
		}
		if (nd == 0 || pick < lits) {
			if (!ip) {
				col[len++] = 0;
				len += kt_put_varint(col + len, of_length(1 + (unsigned)(rnd() % 10)));
			} else if (rnd() & 1) {
				col[len++] = 1;
				for (int k = 0; k < 4; k++)
					col[len++] = (uint8_t)rnd();
			} else {
				col[len++] = 2;
				for (int k = 0; k < 16; k++)
					col[len++] = (uint8_t)rnd();
			}
			nd++;
			continue;
		}
		if (i > 0 && (pick & 1))
			code = 1 + rnd() % (i < KT_COL_BACK ? i : KT_COL_BACK);
		else
			code = KT_COL_BACK + 1 + rnd() % nd;
		len += kt_put_varint(col + len, code + (ip ? 2 : 0));
	}
	return len;
}

/* Delta or plain: mostly one-byte values, a longer one now and then. */
static size_t make_values(uint8_t *col, size_t n, uint8_t mode, unsigned longer)
{
	size_t len = 0;

	col[len++] = mode;
	for (size_t i = 0; i < n; i++)
		len += kt_put_varint(col + len, rnd() % 1000 < longer ?
				     of_length(2 + (unsigned)(rnd() % 9)) : rnd() % 128);
	return len;
}

/* ---- tests --------------------------------------------------------------- */

/* Runs of one-byte delta and plain values, with a longer varint at every
 * place of an eight-value group, and columns ending at every place of one:
 * the eight-at-a-time path must hand over to the careful one exactly. */
START_TEST(one_byte_runs_of_values)
{
	uint8_t col[MAXCOL];

	for (uint8_t mode = 0; mode <= 1; mode++) {
		for (size_t n = 1; n <= 40; n++) {
			size_t len = 0;

			col[len++] = mode;
			for (size_t i = 0; i < n; i++)
				col[len++] = (uint8_t)(i * 37 % 128);
			ck_assert_int_eq(check_ints(col, len, n), GOOD);
			/* a longer value at place k, of each length */
			for (size_t k = 0; k < n && k < 17; k++) {
				for (unsigned vl = 2; vl <= 10; vl += 4) {
					uint8_t c2[MAXCOL];
					size_t l2 = 1 + k;

					memcpy(c2, col, 1 + k);
					l2 += kt_put_varint(c2 + l2, of_length(vl));
					memcpy(c2 + l2, col + 1 + k + 1, len - (1 + k + 1));
					l2 += len - (1 + k + 1);
					ck_assert_int_eq(check_ints(c2, l2, n), GOOD);
					/* and a byte short at the end: fewer bytes than
					 * the last records need, though not than records */
					if (l2 - 1 >= n + 1)
						ck_assert_int_eq(check_ints(c2, l2 - 1, n), (long)n - 1);
				}
			}
			/* cut short: the last value runs off the end (a high bit),
			 * or is missing (one byte fewer than records) */
			col[len - 1] |= 0x80;
			ck_assert_int_eq(check_ints(col, len, n), (long)n - 1);
			ck_assert_int_eq(check_ints(col, len - 1, n), COLUMN_BAD);
			/* a stray byte after the last record */
			col[len - 1] &= 0x7f;
			col[len] = 5;
			ck_assert_int_eq(check_ints(col, len + 1, n), COLUMN_BAD);
			/* an overlong varint in the middle of a run */
			if (n >= 16) {
				uint8_t c2[MAXCOL];

				memcpy(c2, col, len);
				memset(c2 + 5, 0xff, 10);
				c2[15] = 0x02;
				ck_assert_int_eq(check_ints(c2, len, n), 4);
			}
		}
	}
}
END_TEST

/* References of one byte, eight at a time once the ring is full: a back
 * reference to the slot being written (64 back), dictionary numbers up to
 * the last entry, and one past it at every place of a group, with a small
 * dictionary (checked on all bytes at once) and a large one. */
START_TEST(one_byte_references)
{
	uint8_t col[MAXCOL];

	for (size_t ndict = 1; ndict <= 70; ndict += (ndict < 5 || ndict > 60) ? 1 : 13) {
		size_t len = 0, n = 0, good_len, good_n;

		col[len++] = 2;
		for (size_t k = 0; k < ndict; k++, n++) {	/* the dictionary */
			col[len++] = 0;
			len += kt_put_varint(col + len, of_length(1 + k % 10));
		}
		while (n < 64)					/* fill the ring */
			col[len++] = 1, n++;
		for (size_t k = 0; k < 40; k++, n++)		/* one-byte codes */
			col[len++] = (uint8_t)(k % 3 == 0 ? KT_COL_BACK :
					       k % 3 == 1 ? 1 + k % 64 :
					       KT_COL_BACK + 1 + (k * 7) % (ndict < 63 ? ndict : 63));
		good_len = len;
		good_n = n;
		ck_assert_int_eq(check_ints(col, len, n), GOOD);
		for (size_t k = 0; k < 16; k++) {
			uint8_t c2[MAXCOL];
			size_t at = good_len - 16 + k, i = good_n - 16 + k;

			/* one past the dictionary, where a byte reaches */
			if (KT_COL_BACK + 1 + ndict <= 0x7f) {
				memcpy(c2, col, good_len);
				c2[at] = (uint8_t)(KT_COL_BACK + 1 + ndict);
				ck_assert_int_eq(check_ints(c2, good_len, good_n), (long)i);
				c2[at] = 0x7f;
				ck_assert_int_eq(check_ints(c2, good_len, good_n), (long)i);
			}
			/* the last entry: good */
			memcpy(c2, col, good_len);
			c2[at] = (uint8_t)(ndict < 63 ? KT_COL_BACK + ndict : 0x7f);
			ck_assert_int_eq(check_ints(c2, good_len, good_n), GOOD);
			/* a literal inside the run: the careful way, then on */
			memcpy(c2, col, at);
			c2[at] = 0;
			c2[at + 1] = 0x55;
			memcpy(c2 + at + 2, col + at + 1, good_len - at - 1);
			ck_assert_int_eq(check_ints(c2, good_len + 1, good_n), GOOD);
			/* a two-byte code in range, and one out of range */
			memcpy(c2, col, at);
			c2[at] = 0x80 | 65;
			c2[at + 1] = 0;
			memcpy(c2 + at + 2, col + at + 1, good_len - at - 1);
			ck_assert_int_eq(check_ints(c2, good_len + 1, good_n), GOOD);
			/* then a byte short at the end: the last records find
			 * fewer bytes than they are */
			ck_assert_int_eq(check_ints(c2, good_len, good_n), (long)good_n - 1);
			c2[at + 1] = 0x7f;
			ck_assert_int_eq(check_ints(c2, good_len + 1, good_n), (long)i);
			/* a three-byte code */
			memcpy(c2, col, at);
			c2[at] = 0x80 | 65;	/* not the shortest form */
			c2[at + 1] = 0x80;
			c2[at + 2] = 0;
			memcpy(c2 + at + 3, col + at + 1, good_len - at - 1);
			ck_assert_int_eq(check_ints(c2, good_len + 2, good_n), GOOD);
		}
		/* cut short: a two-byte code missing its last byte */
		col[good_len - 1] = 0x80 | 65;
		ck_assert_int_eq(check_ints(col, good_len, good_n), (long)good_n - 1);
		/* before the block, in the first records */
		col[1 + 0] = 1;
		ck_assert_int_eq(check_ints(col, good_len, good_n), 0);
	}
}
END_TEST

/* Addresses: unset, literals, references of one and two bytes; out of
 * range among good ones, and literals cut short. */
START_TEST(address_codes)
{
	uint8_t col[MAXCOL];

	for (size_t n = 60; n <= 200; n += 70) {
		size_t len = 0, nlit = 0, start[MAXN];

		for (size_t i = 0; i < n; i++) {
			start[i] = len;
			if (i < 3 || i % 17 == 0) {
				col[len++] = 1;
				memcpy(col + len, "\x0a\x00\x00", 3);
				col[len + 3] = (uint8_t)i;
				len += 4;
				nlit++;
			} else if (i % 11 == 0) {
				col[len++] = 2;
				memset(col + len, (int)i, 16);
				len += 16;
				nlit++;
			} else if (i % 5 == 0) {
				col[len++] = 0;
			} else if (i % 2) {
				col[len++] = (uint8_t)(2 + 1 + i % (i < 64 ? i : 64));
			} else {
				len += kt_put_varint(col + len, 2 + KT_COL_BACK + 1 + i % nlit);
			}
		}
		ck_assert_int_eq(check_ips(col, len, n), GOOD);
		/* each one-byte reference of the last 20 records out of range,
		 * then unset */
		for (size_t i = n - 20; i < n; i++) {
			uint8_t c2[MAXCOL];

			if (!start[i] || col[start[i]] < 3 || col[start[i]] >= 0x80)
				continue;
			memcpy(c2, col, len);
			c2[start[i]] = (uint8_t)(2 + KT_COL_BACK + 1 + nlit);
			ck_assert_int_eq(check_ips(c2, len, n), (long)i);
			c2[start[i]] = 0;
			ck_assert_int_eq(check_ips(c2, len, n), GOOD);
		}
		/* a literal cut short at the end */
		{
			/* one-byte codes after three literals (eight at a time),
			 * one of two bytes among them, then a byte short */
			uint8_t c3[MAXCOL];
			size_t l3 = 0, n3 = 120;

			for (size_t i = 0; i < 3; i++) {
				c3[l3++] = 1;
				memcpy(c3 + l3, "\x0a\x00\x00\x07", 4);
				l3 += 4;
			}
			for (size_t i = 3; i < n3; i++)
				c3[l3++] = (uint8_t)(i % 4 == 0 ? 0 : i % 4 == 1 ? 3 : 2 + KT_COL_BACK + 1 + i % 3);
			ck_assert_int_eq(check_ips(c3, l3, n3), GOOD);
			for (size_t at = 3 * 5 + 70; at < l3 - 1; at += 7) {
				uint8_t c4[MAXCOL];
				size_t i = 3 + (at - 15);

				memcpy(c4, c3, at);
				c4[at] = 0x80 | (2 + KT_COL_BACK + 1);	/* dictionary 0, two bytes */
				c4[at + 1] = 0;
				memcpy(c4 + at + 2, c3 + at + 1, l3 - at - 1);
				ck_assert_int_eq(check_ips(c4, l3 + 1, n3), GOOD);
				ck_assert_int_eq(check_ips(c4, l3, n3), (long)n3 - 1);
				c4[at + 1] = 0x7f;	/* out of range */
				ck_assert_int_eq(check_ips(c4, l3 + 1, n3), (long)i);
			}
		}
		col[len - 1] = 2;
		ck_assert_int_ne(check_ips(col, len, n), GOOD);
	}
}
END_TEST

/* Two columns of values of every length side by side (kt_col_dec_run2),
 * far from their ends (no check of the end per value) and near them, split
 * into runs every way; then with an overlong value in one of them, at
 * places far from the end and near it. */
START_TEST(pairs_far_and_near_the_end)
{
	static uint8_t ca[MAXCOL], cb[MAXCOL];
	static uint64_t wa[MAXN], wb[MAXN], ga[MAXN], gb[MAXN];
	const size_t n = 500;

	for (int round = 0; round < 12; round++) {
		size_t la = 0, lb = 0, bad_at = SIZE_MAX;
		unsigned bad_col = (unsigned)round & 1;
		long ra, rb;

		ca[la++] = (uint8_t)(round % 3 == 0);	/* delta or plain */
		cb[lb++] = 1;
		for (size_t i = 0; i < n; i++) {
			la += kt_put_varint(ca + la, of_length(1 + (unsigned)(rnd() % (round < 6 ? 4 : 10))));
			lb += kt_put_varint(cb + lb, of_length(1 + (unsigned)(rnd() % 10)));
		}
		if (round >= 4) {
			/* 11 bytes with the high bit: no value; near the end in
			 * some rounds, far from it in others */
			uint8_t *c = bad_col ? cb : ca;
			size_t len = bad_col ? lb : la, at = round % 2 ? len - 12 : len / 3;

			memset(c + at, 0xff, 11);
			bad_at = at;
		}
		ra = plain_ints(ca, la, n, wa);
		rb = plain_ints(cb, lb, n, wb);
		for (size_t s = 0; s < sizeof(splits) / sizeof(splits[0]); s++) {
			uint8_t *ea = exact(ca, la), *eb = exact(cb, lb);
			struct kt_col_dec da, db;
			struct kt_cursor xa, xb;
			unsigned failed = 9;
			int err = 0;

			kt_cursor_init(&xa, ea, la);
			kt_cursor_init(&xb, eb, lb);
			ck_assert_int_eq(kt_col_dec_init(&da, &xa, KT_F_U64, n, KT_F_U64), 0);
			ck_assert_int_eq(kt_col_dec_init(&db, &xb, KT_F_U64, n, KT_F_U64), 0);
			da.stride = db.stride = sizeof(uint64_t);
			for (size_t i = 0, k = 0; i < n && !err; k++) {
				size_t r = splits[s].runs[k % splits[s].n];
				size_t i1 = i + r < n ? i + r : n;

				err = kt_col_dec_run2(&da, &db, i, i1, (uint8_t *)(ga + i),
						      (uint8_t *)(gb + i), &failed);
				i = i1;
			}
			if (bad_at == SIZE_MAX) {
				ck_assert_int_eq(err, 0);
				ck_assert_int_eq(kt_col_dec_finish(&da), 0);
				ck_assert_int_eq(kt_col_dec_finish(&db), 0);
				ck_assert_int_eq(ra, GOOD);
				ck_assert_int_eq(rb, GOOD);
				for (size_t i = 0; i < n; i++) {
					ck_assert_uint_eq(ga[i], wa[i]);
					ck_assert_uint_eq(gb[i], wb[i]);
				}
			} else {
				long want = bad_col ? rb : ra;

				ck_assert_int_eq(err, -EPROTO);
				ck_assert_uint_eq(failed, bad_col);
				ck_assert_int_ge(want, 0);
				ck_assert_msg(names_record(kt_err_msg(err), want), "'%s' should name record %ld",
					      kt_err_msg(err), want);
				kt_col_dec_release(&da);
				kt_col_dec_release(&db);
			}
			free(ea);
			free(eb);
		}
	}
}
END_TEST

/* The eight-at-a-time paths are tried on columns of mostly one-byte
 * values, which the tests above are, and not on others. */
START_TEST(runs_are_tried_where_they_pay)
{
	uint8_t col[MAXCOL];
	struct kt_col_dec d;
	struct kt_cursor cur;
	size_t len = 0;

	col[len++] = 1;
	for (size_t i = 0; i < 100; i++)
		col[len++] = (uint8_t)(i % 128);
	kt_cursor_init(&cur, col, len);
	ck_assert_int_eq(kt_col_dec_init(&d, &cur, KT_F_U64, 100, KT_F_U32), 0);
	ck_assert(d.runs);
	kt_col_dec_release(&d);
	len = 1;
	for (size_t i = 0; i < 100; i++)
		len += kt_put_varint(col + len, 200 + i);
	kt_cursor_init(&cur, col, len);
	ck_assert_int_eq(kt_col_dec_init(&d, &cur, KT_F_U64, 100, KT_F_U32), 0);
	ck_assert(!d.runs);
	kt_col_dec_release(&d);
}
END_TEST

/* Random columns as writers make them, then with one byte changed: the
 * decoder agrees with the plain one on every one of them. */
START_TEST(random_columns_agree)
{
	static const unsigned lits[] = { 2, 20, 150 };
	uint8_t col[MAXCOL];
	size_t goods = 0, bads = 0;

	for (int round = 0; round < 60; round++) {
		size_t n = 1 + rnd() % MAXN, len;
		unsigned kind = (unsigned)(round % 5);

		if (kind < 3)
			len = make_refs(col, n, lits[round % 3], false);
		else if (kind == 3)
			len = make_values(col, n, (uint8_t)(round & 1), (unsigned)(rnd() % 300));
		else
			len = make_refs(col, n, lits[round % 3], true);
		for (int flip = 0; flip < 8; flip++) {
			uint8_t c2[MAXCOL];
			size_t at = rnd() % len, l2 = len;
			long r;

			memcpy(c2, col, len);
			if (flip) {
				if (flip == 7)
					l2 = at + 1;		/* cut */
				else if (at > 0 || kind == 4)
					c2[at] = (uint8_t)rnd();
			}
			r = kind == 4 ? check_ips(c2, l2, n) : check_ints(c2, l2, n);
			if (!flip)
				ck_assert_int_eq(r, GOOD);
			if (r == GOOD)
				goods++;
			else
				bads++;
		}
	}
	ck_assert_uint_gt(goods, 60);
	ck_assert_uint_gt(bads, 60);
}
END_TEST

Suite *kt_column_suite(void)
{
	Suite *s = suite_create("column");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, one_byte_runs_of_values);
	tcase_add_test(tc, one_byte_references);
	tcase_add_test(tc, address_codes);
	tcase_add_test(tc, pairs_far_and_near_the_end);
	tcase_add_test(tc, runs_are_tried_where_they_pay);
	tcase_add_test(tc, random_columns_agree);
	suite_add_tcase(s, tc);
	return s;
}
