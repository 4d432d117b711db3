/* stream_read.c - reading a record segment (stream.h, SPEC.md "Record
 * streams"). Validates everything it reads: header checksum and version,
 * block magic, sequence, declared lengths against fixed limits, checksum,
 * decompressed length, and each column's bounds. */
#include "stream.h"
#include "bytes.h"
#include "column.h"
#include "error.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>

#define MAX_FIELDS KT_SCHEMA_MAX_FIELDS

struct kt_stream_reader {
	kt_read_fn rd;
	void *ctx;
	char *label;
	char *name;			/* record type from the header */
	/* the stream's columns, from its header */
	uint16_t ncols;			/* up to MAX_FIELDS, which uint8_t cannot hold */
	uint8_t col_type[MAX_FIELDS];
	const struct kt_field *bind[MAX_FIELDS];	/* target field or NULL */
	/* the schema records are returned in */
	const struct kt_schema *want;
	struct kt_schema generic;	/* when want was NULL */
	struct kt_field *gfields;
	json_t *hdr_json;		/* keeps generic names and enums alive */
	const char **genums;		/* enum name arrays, flattened */
	uint8_t *recs;
	size_t recs_cap;		/* records */
	struct kt_buf payload, raw;
	ZSTD_DCtx *zd;
	uint64_t offset, good_offset, blocks, records;
	bool eof;
	/* the block being decoded: its bound columns' decoders, its records
	 * and the next one to decode, where it began */
	bool inblock;
	unsigned nd;
	struct kt_col_dec dec[MAX_FIELDS];
	const struct kt_field *dfield[MAX_FIELDS];
	/* decoders run side by side (kt_col_dec_run2): mate[k] is k's
	 * partner when k runs both, k when it runs alone, and -1 when its
	 * partner runs it */
	int16_t mate[MAX_FIELDS];
	uint32_t bcount, bpos;
	uint64_t bat;
};

/* Read exactly len bytes; returns len, a short count at the end, or < 0. */
static ssize_t read_full(struct kt_stream_reader *r, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = r->rd(r->ctx, (uint8_t *)buf + got, len - got);

		if (n < 0)
			return n;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int bind_columns(struct kt_stream_reader *r)
{
	const struct kt_schema *s = r->want ? r->want : &r->generic;

	for (unsigned c = 0; c < r->ncols; c++) {
		json_t *jf = json_array_get(json_object_get(r->hdr_json, "fields"), c);
		const char *name = json_string_value(json_object_get(jf, "name"));

		r->bind[c] = NULL;
		for (unsigned i = 0; i < s->nfields; i++) {
			if (strcmp(s->fields[i].name, name))
				continue;
			if (kt_ftype_class(s->fields[i].type) == kt_ftype_class(r->col_type[c]))
				r->bind[c] = &s->fields[i];
			break;
		}
	}
	return 0;
}

/* A schema of the stream's own columns: integers as u64/i64/ts, so any
 * value the stream holds can be printed. */
static int build_generic(struct kt_stream_reader *r, json_t *fields)
{
	size_t off = 0, nen = 0, e = 0;

	for (unsigned c = 0; c < r->ncols; c++)
		nen += json_array_size(json_object_get(json_array_get(fields, c), "enum"));
	r->gfields = calloc(r->ncols ? r->ncols : 1, sizeof(*r->gfields));
	r->genums = calloc(nen ? nen : 1, sizeof(*r->genums));
	if (!r->gfields || !r->genums)
		return kt_err_set(-ENOMEM, "out of memory");
	for (unsigned c = 0; c < r->ncols; c++) {
		json_t *jf = json_array_get(fields, c), *en = json_object_get(jf, "enum");
		struct kt_field *f = &r->gfields[c];
		uint8_t t = r->col_type[c];
		size_t sz;

		f->name = json_string_value(json_object_get(jf, "name"));
		switch (kt_ftype_class(t)) {
		case KT_FC_INT:
			f->type = (t == KT_F_I32 || t == KT_F_I64) ? KT_F_I64 :
				  t == KT_F_TS ? KT_F_TS : KT_F_U64;
			break;
		case KT_FC_NONE:
			f->type = 0;	/* unknown type: column skipped */
			break;
		default:
			f->type = t;
		}
		sz = f->type ? kt_ftype_size(f->type) : 0;
		off = (off + 7) & ~(size_t)7;
		f->offset = (uint16_t)off;
		off += sz;
		if (json_is_array(en) && json_array_size(en)) {
			size_t k, n = json_array_size(en);

			f->enums = &r->genums[e];
			f->nenums = (uint8_t)(n > 255 ? 255 : n);
			for (k = 0; k < f->nenums; k++)
				r->genums[e + k] = json_string_value(json_array_get(en, k));
			e += n;
		}
	}
	r->generic.name = r->name;
	r->generic.version = (uint16_t)json_integer_value(json_object_get(r->hdr_json, "version"));
	r->generic.size = (uint32_t)((off + 7) & ~(size_t)7);
	if (!r->generic.size)
		r->generic.size = 8;
	r->generic.fields = r->gfields;
	r->generic.nfields = r->ncols;
	return 0;
}

static int parse_schema(struct kt_stream_reader *r, const char *txt, size_t len)
{
	json_error_t jerr;
	json_t *fields;
	const char *name;

	r->hdr_json = json_loadb(txt, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!r->hdr_json || !json_is_object(r->hdr_json))
		return kt_err_set(-EPROTO, "bad schema in segment header: %s",
				  r->hdr_json ? "not an object" : jerr.text);
	name = json_string_value(json_object_get(r->hdr_json, "record"));
	fields = json_object_get(r->hdr_json, "fields");
	if (!name || !*name || strlen(name) > 64 || !json_is_array(fields))
		return kt_err_set(-EPROTO, "schema in segment header lacks 'record' or 'fields'");
	if (json_array_size(fields) > MAX_FIELDS)
		return kt_err_set(-EPROTO, "schema declares %zu fields, at most %d are allowed",
				  json_array_size(fields), MAX_FIELDS);
	if (!(r->name = strdup(name)))
		return kt_err_set(-ENOMEM, "out of memory");
	r->ncols = (uint16_t)json_array_size(fields);
	for (unsigned c = 0; c < r->ncols; c++) {
		json_t *jf = json_array_get(fields, c), *en = json_object_get(jf, "enum");
		const char *fname = json_string_value(json_object_get(jf, "name"));
		const char *tname = json_string_value(json_object_get(jf, "type"));

		if (!fname || !*fname || !tname)
			return kt_err_set(-EPROTO, "schema field %u lacks a name or type", c);
		for (size_t k = 0; en && k < json_array_size(en); k++)
			if (!json_is_string(json_array_get(en, k)))
				return kt_err_set(-EPROTO, "schema field '%s' has a bad enum", fname);
		/* An unknown type is a newer writer's: its column is skipped. */
		r->col_type[c] = (uint8_t)kt_ftype_parse(tname);
	}
	if (!r->want && build_generic(r, fields))
		return -ENOMEM;
	return bind_columns(r);
}

static int read_header(struct kt_stream_reader *r)
{
	uint8_t hdr[12], crcb[4];
	char *js = NULL;
	uint32_t jlen;
	ssize_t n;
	int err;

	n = read_full(r, hdr, sizeof(hdr));
	if (n < 0)
		return (int)n;
	if (n < (ssize_t)sizeof(hdr))
		return kt_err_set(-EPROTO, "segment header truncated at byte %zd", n);
	if (memcmp(hdr, "KTRS", 4))
		return kt_err_set(-EPROTO, "not a record segment (bad magic)");
	if (kt_le16(hdr + 4) > KT_STREAM_MAJOR)
		return kt_err_set(-EPROTONOSUPPORT,
				  "record segment version %u.%u is newer than this reader (%d.x): upgrade ktana",
				  kt_le16(hdr + 4), kt_le16(hdr + 6), KT_STREAM_MAJOR);
	if (kt_le16(hdr + 4) == 0)
		return kt_err_set(-EPROTO, "record segment version 0 is not valid");
	jlen = kt_le32(hdr + 8);
	if (jlen > KT_SCHEMA_MAX_JSON)
		return kt_err_set(-EPROTO, "segment header declares a %u byte schema (limit %u)",
				  jlen, KT_SCHEMA_MAX_JSON);
	if (!(js = malloc(jlen + 1)))
		return kt_err_set(-ENOMEM, "out of memory");
	n = read_full(r, js, jlen);
	if (n >= 0 && (size_t)n == jlen)
		n = read_full(r, crcb, 4) == 4 ? (ssize_t)jlen : -1;
	if (n < 0 || (size_t)n != jlen) {
		err = n < -1 ? (int)n : kt_err_set(-EPROTO, "segment header truncated");
		goto out;
	}
	if (kt_le32(crcb) != (uint32_t)crc32(crc32(0, hdr, 12), (const Bytef *)js, jlen)) {
		err = kt_err_set(-EPROTO, "segment header checksum mismatch");
		goto out;
	}
	r->offset = r->good_offset = 12 + (uint64_t)jlen + 4;
	err = parse_schema(r, js, jlen);
out:
	free(js);
	return err;
}

int kt_stream_reader_open(struct kt_stream_reader **out, kt_read_fn rd, void *ctx,
			  const struct kt_schema *want, const char *label)
{
	struct kt_stream_reader *r = calloc(1, sizeof(*r));
	int err;

	*out = NULL;
	if (!r)
		return kt_err_set(-ENOMEM, "out of memory");
	r->rd = rd;
	r->ctx = ctx;
	r->want = want;
	r->label = strdup(label ? label : "segment");
	r->payload = (struct kt_buf)KT_BUF_INIT(KT_BLOCK_MAX_PAYLOAD);
	r->raw = (struct kt_buf)KT_BUF_INIT(KT_BLOCK_MAX_RAW);
	r->zd = ZSTD_createDCtx();
	if (!r->label || !r->zd) {
		err = kt_err_set(-ENOMEM, "out of memory");
		goto fail;
	}
	if ((err = read_header(r))) {
		kt_err_wrap(err, "'%s'", r->label);
		goto fail;
	}
	if (want && strcmp(want->name, r->name)) {
		err = kt_err_set(-EPROTO, "'%s': holds '%s' records, not '%s'",
				 r->label, r->name, want->name);
		goto fail;
	}
	*out = r;
	return 0;
fail:
	kt_stream_reader_free(r);
	return err;
}

const struct kt_schema *kt_stream_reader_schema(const struct kt_stream_reader *r)
{
	return r->want ? r->want : &r->generic;
}

const char *kt_stream_reader_name(const struct kt_stream_reader *r)
{
	return r->name;
}

int kt_stream_reader_project(struct kt_stream_reader *r, const char *const *fields)
{
	if (r->blocks || r->recs || r->inblock)
		return kt_err_set(-EINVAL, "'%s': projection after the first block", r->label);
	for (unsigned c = 0; c < r->ncols; c++) {
		const char *const *f = fields;

		if (!r->bind[c])
			continue;
		while (*f && strcmp(*f, r->bind[c]->name))
			f++;
		if (!*f)
			r->bind[c] = NULL;
	}
	return 0;
}

#define CHUNK 256

/* Make room for n records; zeroed once: every bound field of every record
 * is written by its column's decoder, so only unbound fields (and padding)
 * keep the zero they read as, and no block needs the records cleared. */
static int recs_room(struct kt_stream_reader *r, size_t n)
{
	size_t size = kt_stream_reader_schema(r)->size;

	if (n <= r->recs_cap)
		return 0;
	free(r->recs);
	r->recs_cap = 0;
	if (!(r->recs = calloc(n, size)))
		return kt_err_set(-ENOMEM, "out of memory");
	r->recs_cap = n;
	return 0;
}

static void block_abort(struct kt_stream_reader *r)
{
	for (unsigned k = 0; k < r->nd; k++)
		kt_col_dec_release(&r->dec[k]);
	r->nd = 0;
	r->inblock = false;
}

/* Check the block's column lengths and start a decoder for each bound one. */
static int block_begin(struct kt_stream_reader *r, uint32_t count, uint32_t raw_len)
{
	const struct kt_schema *s = kt_stream_reader_schema(r);
	struct kt_cursor cur;
	int err = 0;

	r->nd = 0;
	kt_cursor_init(&cur, r->raw.p, raw_len);
	for (unsigned c = 0; c < r->ncols; c++) {
		struct kt_cursor col;
		uint64_t clen;

		if (!kt_get_varint(&cur, &clen) || clen > cur.len) {
			err = kt_err_set(-EPROTO, "column %u overruns the block", c);
			goto out;
		}
		kt_cursor_init(&col, cur.p, (size_t)clen);
		kt_skip(&cur, (size_t)clen);
		if (!r->bind[c] || !r->bind[c]->type)
			continue;
		err = kt_col_dec_init(&r->dec[r->nd], &col, r->col_type[c], count, r->bind[c]->type);
		if (err) {
			kt_err_wrap(err, "column '%s'", r->bind[c]->name);
			goto out;
		}
		r->dec[r->nd].stride = s->size;
		r->dfield[r->nd++] = r->bind[c];
	}
	if (cur.len) {
		err = kt_err_set(-EPROTO, "%zu stray bytes after the last column", cur.len);
		goto out;
	}
	/* pairs in order of the pairable columns, wherever they are */
	for (unsigned k = 0, alone = MAX_FIELDS; k < r->nd; k++) {
		r->mate[k] = (int16_t)k;
		if (!r->dec[k].pairable)
			continue;
		if (alone == MAX_FIELDS) {
			alone = k;
		} else {
			r->mate[alone] = (int16_t)k;
			r->mate[k] = -1;
			alone = MAX_FIELDS;
		}
	}
out:
	if (err)
		block_abort(r);
	else
		r->inblock = true;
	r->bcount = count;
	r->bpos = 0;
	return err;
}

/* Decode records [i0, i1) of the block into out (record i0 first): a few
 * hundred at a time across every column, so that they stay in cache while
 * all their fields are filled. */
static int block_run(struct kt_stream_reader *r, size_t i0, size_t i1, uint8_t *out)
{
	size_t size = kt_stream_reader_schema(r)->size;
	int err;

	for (size_t j0 = i0; j0 < i1; j0 += CHUNK) {
		size_t j1 = j0 + CHUNK < i1 ? j0 + CHUNK : i1;
		uint8_t *rec = out + (j0 - i0) * size;

		for (unsigned k = 0; k < r->nd; k++) {
			unsigned m = (unsigned)r->mate[k], failed = 0;

			if (r->mate[k] < 0)
				continue;
			if (m != k)
				err = kt_col_dec_run2(&r->dec[k], &r->dec[m], j0, j1,
						      rec + r->dfield[k]->offset,
						      rec + r->dfield[m]->offset, &failed);
			else
				err = r->dec[k].run(&r->dec[k], j0, j1, rec + r->dfield[k]->offset);
			if (err) {
				kt_err_wrap(err, "column '%s'", r->dfield[failed ? m : k]->name);
				block_abort(r);
				return err;
			}
		}
	}
	return 0;
}

/* Every column used exactly: the block is good. */
static int block_end(struct kt_stream_reader *r)
{
	unsigned k;
	int err = 0;

	for (k = 0; k < r->nd && !err; k++)
		if ((err = kt_col_dec_finish(&r->dec[k])))
			kt_err_wrap(err, "column '%s'", r->dfield[k]->name);
	for (; k < r->nd; k++)
		kt_col_dec_release(&r->dec[k]);
	r->nd = 0;
	r->inblock = false;
	if (err)
		return err;
	r->blocks++;
	r->records += r->bcount;
	r->good_offset = r->offset;
	return 0;
}

/* Read and check the next block up to its decoded columns: *count == 0 at
 * the end of the segment. Errors are wrapped with the block and offset. */
static int block_read(struct kt_stream_reader *r, uint32_t *count, uint32_t *raw_len)
{
	uint8_t hdr[KT_BLOCK_HDR_LEN];
	uint32_t plen, rlen, seq;
	uint64_t at = r->offset;
	ssize_t got;
	int err;

	*count = 0;
	r->bat = at;
	if (r->eof)
		return 0;
	got = read_full(r, hdr, sizeof(hdr));
	if (got < 0)
		return kt_err_wrap((int)got, "'%s': block %" PRIu64 " at offset %" PRIu64,
				   r->label, r->blocks, at);
	if (got == 0) {
		r->eof = true;
		return 0;
	}
	if (got < KT_BLOCK_HDR_LEN)
		return kt_err_set(-ENODATA, "'%s': block %" PRIu64 " at offset %" PRIu64
				  " is torn: %zd of %d header bytes", r->label, r->blocks, at,
				  got, KT_BLOCK_HDR_LEN);
	r->offset += (uint64_t)got;
	if (memcmp(hdr, "KTBK", 4)) {
		err = kt_err_set(-EPROTO, "bad block magic");
		goto bad;
	}
	if (hdr[4] != 1 || hdr[5] > 1) {
		err = kt_err_set(-EPROTO, "unknown block version %u or codec %u", hdr[4], hdr[5]);
		goto bad;
	}
	*count = kt_le32(hdr + 8);
	plen = kt_le32(hdr + 12);
	rlen = kt_le32(hdr + 16);
	seq = kt_le32(hdr + 36);
	if (!*count || *count > KT_BLOCK_MAX_RECORDS || plen > KT_BLOCK_MAX_PAYLOAD ||
	    rlen > KT_BLOCK_MAX_RAW || (hdr[5] == 0 && plen != rlen)) {
		err = kt_err_set(-EPROTO, "block declares %u records, %u payload and %u raw bytes,"
				 " beyond the limits", *count, plen, rlen);
		goto bad;
	}
	if (seq != r->blocks) {
		err = kt_err_set(-EPROTO, "block sequence %u where %" PRIu64 " was expected",
				 seq, r->blocks);
		goto bad;
	}
	kt_buf_reset(&r->payload);
	/* never NULL, even for an empty payload: memcpy and zlib's crc32 (which
	 * answers 0 for a NULL buffer, header or not) both need a real one */
	if ((err = kt_buf_reserve(&r->payload, plen ? plen : 1)))
		goto bad;
	got = read_full(r, r->payload.p, plen);
	if (got < 0) {
		err = (int)got;
		goto bad;
	}
	r->offset += (uint64_t)got;
	if ((uint32_t)got < plen) {
		*count = 0;
		return kt_err_set(-ENODATA, "'%s': block %" PRIu64 " at offset %" PRIu64
				  " is torn: %zd of %u payload bytes", r->label, r->blocks, at,
				  got, plen);
	}
	if (kt_le32(hdr + 40) != (uint32_t)crc32(crc32(0, hdr, 40), r->payload.p, plen)) {
		err = kt_err_set(-EPROTO, "checksum mismatch");
		goto bad;
	}
	kt_buf_reset(&r->raw);
	if ((err = kt_buf_reserve(&r->raw, rlen ? rlen : 1)))
		goto bad;
	if (hdr[5] == 1) {
		unsigned long long fcs = ZSTD_getFrameContentSize(r->payload.p, plen);
		size_t z;

		if (fcs != rlen) {
			err = kt_err_set(-EPROTO, "compressed payload does not declare its %u raw bytes", rlen);
			goto bad;
		}
		z = ZSTD_decompressDCtx(r->zd, r->raw.p, rlen, r->payload.p, plen);
		if (ZSTD_isError(z) || z != rlen) {
			err = kt_err_set(-EPROTO, "bad compressed payload: %s",
					 ZSTD_isError(z) ? ZSTD_getErrorName(z) : "short");
			goto bad;
		}
	} else {
		memcpy(r->raw.p, r->payload.p, plen);
	}
	*raw_len = rlen;
	return 0;
bad:
	*count = 0;
	return kt_err_wrap(err, "'%s': block %" PRIu64 " at offset %" PRIu64,
			   r->label, r->blocks, at);
}

static int block_wrap(struct kt_stream_reader *r, int err)
{
	return kt_err_wrap(err, "'%s': block %" PRIu64 " at offset %" PRIu64,
			   r->label, r->blocks, r->bat);
}

int kt_stream_reader_next(struct kt_stream_reader *r, const void **recs, size_t *n)
{
	uint32_t count, rlen = 0;
	int err;

	*recs = NULL;
	*n = 0;
	if (r->inblock)		/* the rest of a block kt_stream_reader_read() began */
		return kt_stream_reader_read(r, SIZE_MAX, recs, n);
	if ((err = block_read(r, &count, &rlen)) || !count)
		return err;
	if ((err = recs_room(r, count)) || (err = block_begin(r, count, rlen)) ||
	    (err = block_run(r, 0, count, r->recs)) || (err = block_end(r)))
		return block_wrap(r, err);
	*recs = r->recs;
	*n = count;
	return 0;
}

int kt_stream_reader_read(struct kt_stream_reader *r, size_t max, const void **recs,
			  size_t *n)
{
	uint32_t count, rlen = 0;
	size_t k;
	int err;

	*recs = NULL;
	*n = 0;
	if (!max)
		return kt_err_set(-EINVAL, "'%s': read of 0 records", r->label);
	if (!r->inblock) {
		if ((err = block_read(r, &count, &rlen)) || !count)
			return err;
		if ((err = block_begin(r, count, rlen)))
			return block_wrap(r, err);
	}
	k = r->bcount - r->bpos < max ? r->bcount - r->bpos : max;
	if ((err = recs_room(r, k))) {
		block_abort(r);
		return block_wrap(r, err);
	}
	if ((err = block_run(r, r->bpos, r->bpos + k, r->recs)))
		return block_wrap(r, err);
	r->bpos += (uint32_t)k;
	if (r->bpos == r->bcount && (err = block_end(r)))
		return block_wrap(r, err);
	*recs = r->recs;
	*n = k;
	return 0;
}

uint64_t kt_stream_reader_good_offset(const struct kt_stream_reader *r) { return r->good_offset; }
uint64_t kt_stream_reader_blocks(const struct kt_stream_reader *r) { return r->blocks; }
uint64_t kt_stream_reader_records(const struct kt_stream_reader *r) { return r->records; }

void kt_stream_reader_free(struct kt_stream_reader *r)
{
	if (!r)
		return;
	block_abort(r);
	free(r->label);
	free(r->name);
	free(r->gfields);
	free(r->genums);
	json_decref(r->hdr_json);
	free(r->recs);
	kt_buf_release(&r->payload);
	kt_buf_release(&r->raw);
	ZSTD_freeDCtx(r->zd);
	free(r);
}
