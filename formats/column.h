/* column.h - one column of a block: encoding of a field across n records
 * (SPEC.md, "Columns"). Internal to formats/.
 *
 * A reference code c: 0 a literal follows (the value's first appearance in
 * the block), 1..KT_COL_BACK the value of the record c places back, more a
 * dictionary number (literals in order of appearance) + KT_COL_BACK + 1.
 *
 *   integers (u8..u64, i32, i64, ts): a mode byte, then per record LEB128
 *       zigzag(value - previous) (0, delta), zigzag(value) (1, plain) or a
 *       reference code (2); mode 3 holds one zigzag(value) for every record;
 *   ip:  per record LEB128 0 unset, 1 + 4 bytes IPv4, 2 + 16 bytes IPv6,
 *        else reference code + 2;
 *   str, strlist: per record a reference code; a literal is LEB128 length
 *        and bytes.
 */
#ifndef KT_COLUMN_H
#define KT_COLUMN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytes.h"
#include "schema.h"

/* How far back a reference reaches before a dictionary number is used. */
#define KT_COL_BACK 64

/* Type classes a column can be bound across: any integer to any integer. */
enum kt_fclass { KT_FC_NONE = 0, KT_FC_INT, KT_FC_IP, KT_FC_STR };
enum kt_fclass kt_ftype_class(uint8_t type);

/* Append the column of field (type, off) of n records laid out every stride
 * bytes from recs to out. */
int kt_col_encode(struct kt_buf *out, uint8_t type, const uint8_t *recs,
		  size_t n, size_t stride, size_t off);

/* Decode n values of stream type src_type from col (all of it must be used)
 * into the field (dst_type, off) of n records every stride bytes from recs.
 * Strings point into col's memory. -EPROTO on malformed input. */
int kt_col_decode(struct kt_cursor *col, uint8_t src_type, size_t n,
		  uint8_t *recs, size_t stride, size_t off, uint8_t dst_type);

/* The same, a range of records at a time, so that a block's records are
 * filled a few hundred at a time across all columns and stay in cache.
 * init checks the column header and allocates its dictionary; the caller
 * sets stride, the distance between records; run decodes records [i0, i1)
 * (ranges in order, from 0) into the field at 'at' of record i0 and the
 * records every stride bytes after it: the records of earlier ranges need
 * not be there any more. finish checks the column was used exactly and
 * frees; release frees after an error. */
struct kt_col_dec {
	int (*run)(struct kt_col_dec *c, size_t i0, size_t i1, uint8_t *at);
	uint8_t cls, mode;
	bool pairable;		/* for kt_col_dec_run2(): 64-bit delta or plain
				 * values of varying lengths */
	bool runs;		/* mostly one-byte values: eight at a time */
	const uint8_t *p, *end;
	size_t stride;
	uint64_t prev;
	size_t ntab;
	void *table;		/* history: the last KT_COL_BACK values, then
				 * the dictionary (column.c, HIST_*) */
};

int kt_col_dec_init(struct kt_col_dec *c, const struct kt_cursor *col, uint8_t src_type,
		    size_t n, uint8_t dst_type);

/* run() of two delta or plain integer columns decoded into 64-bit fields,
 * side by side: the same result, faster when their values vary in length,
 * which init marks as pairable. On an error *failed says which column
 * (0 a, 1 b) it is in. */
int kt_col_dec_run2(struct kt_col_dec *a, struct kt_col_dec *b, size_t i0, size_t i1,
		    uint8_t *at_a, uint8_t *at_b, unsigned *failed);
int kt_col_dec_finish(struct kt_col_dec *c);
void kt_col_dec_release(struct kt_col_dec *c);

#endif
