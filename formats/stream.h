/* stream.h - record stream segments: a header, then checksummed blocks.
 *
 * Layout (SPEC.md, "Record streams"; all integers little-endian):
 *
 *   segment := header block*
 *   header  := "KTRS" u16 major u16 minor u32 schema_len schema_json u32 crc32
 *   block   := "KTBK" u8 hdr_version u8 codec u16 reserved u32 count
 *              u32 payload_len u32 raw_len u64 first_ts u64 last_ts
 *              u32 seq u32 crc32                       (44 bytes)
 *              payload (payload_len bytes: zstd of the columns when codec=1)
 *   columns := (varint col_len, col_len bytes) per schema field, in order
 *
 * The writer appends one whole block per write(2), so a writer killed at any
 * moment leaves every finished block intact and at most one torn block at the
 * tail, which readers report and packers drop.
 */
#ifndef KT_STREAM_H
#define KT_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "schema.h"

#define KT_STREAM_MAJOR 1
#define KT_STREAM_MINOR 0
#define KT_BLOCK_HDR_LEN 44
#define KT_BLOCK_MAX_RECORDS (1u << 16)	/* refuse blocks claiming more */
#define KT_BLOCK_MAX_RAW (32u << 20)	/* decoded columns of one block */
#define KT_BLOCK_MAX_PAYLOAD (32u << 20)
#define KT_SCHEMA_MAX_JSON (64u << 10)
#define KT_SCHEMA_MAX_FIELDS 256	/* columns a segment may declare */

/* ---- writing ------------------------------------------------------------ */

struct kt_stream_writer;

struct kt_writer_opts {
	uint32_t block_records;	/* records per block, default 16384 */
	int zstd_level;		/* default 3; 0 stores columns uncompressed */
};

/* Start a segment on fd (owned by the writer from here on, closed by
 * kt_stream_writer_close even on error) for records of 'schema' (borrowed,
 * must outlive the writer). Writes the header at once. */
int kt_stream_writer_open(struct kt_stream_writer **out, int fd,
			  const struct kt_schema *schema,
			  const struct kt_writer_opts *opts);

/* Copy one record (a struct of schema->size bytes, strings included) into the
 * current block; writes the block when full. */
int kt_stream_writer_append(struct kt_stream_writer *w, const void *rec);

/* Write the current block now, if it holds any record. */
int kt_stream_writer_flush(struct kt_stream_writer *w);

/* Flush, close the fd and free. Returns the first error seen, if any. */
int kt_stream_writer_close(struct kt_stream_writer *w);

/* Bytes written to the segment so far, header included. */
uint64_t kt_stream_writer_bytes(const struct kt_stream_writer *w);
uint64_t kt_stream_writer_records(const struct kt_stream_writer *w);

/* ---- reading ------------------------------------------------------------ */

/* Where a reader gets its bytes: like read(2), returns bytes read, 0 at end,
 * or a negative errno (with kt_err_set) on failure. */
typedef ssize_t (*kt_read_fn)(void *ctx, void *buf, size_t len);

struct kt_stream_reader;

/* Read a segment through 'rd'. 'want' is the record type the caller wants
 * records as (columns bound by name); NULL asks for the stream's own schema,
 * built from its header, with integers widened to uint64_t: what dump uses.
 * 'label' names the segment in error messages (copied). */
int kt_stream_reader_open(struct kt_stream_reader **out, kt_read_fn rd, void *ctx,
			  const struct kt_schema *want, const char *label);

/* The schema the returned records follow ('want', or the generic one).
 * Borrowed, lives as long as the reader. */
const struct kt_schema *kt_stream_reader_schema(const struct kt_stream_reader *r);

/* The record type named in the header ("flow"). Borrowed. */
const char *kt_stream_reader_name(const struct kt_stream_reader *r);

/* Decode only the fields named in 'fields' (NULL-terminated, borrowed for
 * the call) of kt_stream_reader_schema(r); the others read as zero. Columns
 * are most of the cost of a read: a consumer that uses a few fields of a
 * record names them. Call before the first kt_stream_reader_next();
 * -EINVAL after it. */
int kt_stream_reader_project(struct kt_stream_reader *r, const char *const *fields);

/* Decode the next block. On success *recs points at *n records of
 * kt_stream_reader_schema(r)->size bytes each, valid until the next call;
 * *n == 0 means the end of the segment. Errors name the segment, block
 * number and byte offset: "'streams/flow/000001.ktr': block 3 at offset
 * 12345: checksum mismatch". */
int kt_stream_reader_next(struct kt_stream_reader *r, const void **recs, size_t *n);

/* The same, up to max records at a time (a consumer's cache-sized share),
 * decoding only those: *recs points at *n records, valid until the next
 * call; *n == 0 at the end. A block is taken in as many calls as it needs;
 * its records all come from blocks whose checksum held, but a malformed
 * column found late in a block fails the call after some of the block's
 * records were returned (kt_stream_reader_next() returns none of such a
 * block). The two calls may be mixed: next() returns the rest of a block
 * read() began. */
int kt_stream_reader_read(struct kt_stream_reader *r, size_t max, const void **recs,
			  size_t *n);

/* Position after the last block decoded without error: where a torn segment
 * can be cut. */
uint64_t kt_stream_reader_good_offset(const struct kt_stream_reader *r);
uint64_t kt_stream_reader_blocks(const struct kt_stream_reader *r);
uint64_t kt_stream_reader_records(const struct kt_stream_reader *r);

void kt_stream_reader_free(struct kt_stream_reader *r);

#endif
