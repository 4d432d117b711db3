/* stream_write.c - writing a record segment (stream.h, SPEC.md "Record
 * streams"). Records are buffered as structs (strings copied into a per-block
 * arena) and turned into columns, compressed and written when the block is
 * full or flushed: one write(2) per block, so a kill tears at most one. */
#include "stream.h"
#include "bytes.h"
#include "column.h"
#include "error.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

struct kt_stream_writer {
	int fd;
	const struct kt_schema *schema;
	struct kt_writer_opts opts;
	uint8_t *recs;		/* block_records records */
	uint32_t n;
	struct kt_buf arena;	/* string bytes of the current block */
	struct kt_buf cols;	/* encoded columns */
	struct kt_buf col;	/* one column */
	struct kt_buf out;	/* header + payload */
	ZSTD_CCtx *zc;
	uint32_t seq;
	uint64_t bytes, records;
	int err;		/* sticky: the first write error */
};

static int write_all(int fd, const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len) {
		ssize_t w = write(fd, b, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return kt_err_set(-errno, "write failed: %s", strerror(errno));
		}
		b += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The schema as a JSON text for the segment header. */
static char *schema_json(const struct kt_schema *s)
{
	json_t *o = json_object(), *fields = json_array();
	char *txt;

	json_object_set_new(o, "record", json_string(s->name));
	json_object_set_new(o, "version", json_integer(s->version));
	for (unsigned i = 0; i < s->nfields; i++) {
		const struct kt_field *f = &s->fields[i];
		json_t *jf = json_object();

		json_object_set_new(jf, "name", json_string(f->name));
		json_object_set_new(jf, "type", json_string(kt_ftype_name(f->type)));
		if (f->enums) {
			json_t *e = json_array();

			for (unsigned k = 0; k < f->nenums; k++)
				json_array_append_new(e, json_string(f->enums[k]));
			json_object_set_new(jf, "enum", e);
		}
		json_array_append_new(fields, jf);
	}
	json_object_set_new(o, "fields", fields);
	txt = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return txt;
}

int kt_stream_writer_open(struct kt_stream_writer **out, int fd,
			  const struct kt_schema *schema,
			  const struct kt_writer_opts *opts)
{
	struct kt_stream_writer *w;
	uint8_t hdr[12], crcb[4];
	char *js = NULL;
	size_t jlen;
	uLong crc;
	int err;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w) {
		close(fd);
		return kt_err_set(-ENOMEM, "out of memory");
	}
	w->fd = fd;
	w->schema = schema;
	w->opts.block_records = opts && opts->block_records ? opts->block_records : 16384;
	w->opts.zstd_level = opts ? opts->zstd_level : 3;
	if (w->opts.block_records > KT_BLOCK_MAX_RECORDS)
		w->opts.block_records = KT_BLOCK_MAX_RECORDS;
	w->arena = (struct kt_buf)KT_BUF_INIT(KT_BLOCK_MAX_RAW / 2);
	w->cols = (struct kt_buf)KT_BUF_INIT(KT_BLOCK_MAX_RAW);
	w->col = (struct kt_buf)KT_BUF_INIT(KT_BLOCK_MAX_RAW);
	w->out = (struct kt_buf)KT_BUF_INIT(KT_BLOCK_MAX_PAYLOAD + KT_BLOCK_HDR_LEN);
	w->recs = calloc(w->opts.block_records, schema->size);
	w->zc = ZSTD_createCCtx();
	js = schema_json(schema);
	if (!w->recs || !w->zc || !js) {
		err = kt_err_set(-ENOMEM, "out of memory");
		goto fail;
	}
	if (w->opts.zstd_level)
		ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, w->opts.zstd_level);

	jlen = strlen(js);
	memcpy(hdr, "KTRS", 4);
	kt_put_le16(hdr + 4, KT_STREAM_MAJOR);
	kt_put_le16(hdr + 6, KT_STREAM_MINOR);
	kt_put_le32(hdr + 8, (uint32_t)jlen);
	crc = crc32(0, hdr, sizeof(hdr));
	crc = crc32(crc, (const Bytef *)js, (uInt)jlen);
	kt_put_le32(crcb, (uint32_t)crc);
	if ((err = kt_buf_add(&w->out, hdr, sizeof(hdr))) ||
	    (err = kt_buf_add(&w->out, js, jlen)) ||
	    (err = kt_buf_add(&w->out, crcb, 4)) ||
	    (err = write_all(fd, w->out.p, w->out.len)))
		goto fail;
	w->bytes = w->out.len;
	free(js);
	*out = w;
	return 0;
fail:
	free(js);
	w->err = err;
	kt_stream_writer_close(w);
	return err;
}

static int copy_strings(struct kt_stream_writer *w, uint8_t *rec)
{
	const struct kt_schema *s = w->schema;

	for (unsigned i = 0; i < s->nfields; i++) {
		struct kt_str str;
		int err;

		if (kt_ftype_class(s->fields[i].type) != KT_FC_STR)
			continue;
		memcpy(&str, rec + s->fields[i].offset, sizeof(str));
		if (!str.len) {
			str.p = "";
		} else {
			/* The arena may move while the block fills: keep offsets
			 * now, turn them into pointers before encoding. */
			size_t at = w->arena.len;

			if ((err = kt_buf_add(&w->arena, str.p, str.len)))
				return err;
			str.p = (const char *)(uintptr_t)at;
		}
		memcpy(rec + s->fields[i].offset, &str, sizeof(str));
	}
	return 0;
}

static void fix_strings(struct kt_stream_writer *w)
{
	const struct kt_schema *s = w->schema;

	for (unsigned i = 0; i < s->nfields; i++) {
		if (kt_ftype_class(s->fields[i].type) != KT_FC_STR)
			continue;
		for (uint32_t r = 0; r < w->n; r++) {
			struct kt_str str;
			uint8_t *at = w->recs + (size_t)r * s->size + s->fields[i].offset;

			memcpy(&str, at, sizeof(str));
			if (str.len)
				str.p = (const char *)w->arena.p + (uintptr_t)str.p;
			memcpy(at, &str, sizeof(str));
		}
	}
}

int kt_stream_writer_flush(struct kt_stream_writer *w)
{
	const struct kt_schema *s = w->schema;
	uint64_t first_ts = 0, last_ts = 0;
	uint8_t *hdr;
	size_t payload_len;
	uint8_t codec = w->opts.zstd_level ? 1 : 0;
	int err = 0;

	if (w->err)
		return w->err;
	if (!w->n)
		return 0;
	fix_strings(w);
	kt_buf_reset(&w->cols);
	for (unsigned i = 0; i < s->nfields; i++) {
		kt_buf_reset(&w->col);
		if ((err = kt_col_encode(&w->col, s->fields[i].type, w->recs, w->n,
					 s->size, s->fields[i].offset)) ||
		    (err = kt_buf_add_varint(&w->cols, w->col.len)) ||
		    (err = kt_buf_add(&w->cols, w->col.p, w->col.len)))
			goto out;
	}
	if (s->nfields && s->fields[0].type == KT_F_TS) {
		memcpy(&first_ts, w->recs + s->fields[0].offset, 8);
		memcpy(&last_ts, w->recs + (size_t)(w->n - 1) * s->size + s->fields[0].offset, 8);
	}

	kt_buf_reset(&w->out);
	if ((err = kt_buf_reserve(&w->out, KT_BLOCK_HDR_LEN +
				  (codec ? ZSTD_compressBound(w->cols.len) : w->cols.len))))
		goto out;
	if (codec) {
		payload_len = ZSTD_compress2(w->zc, w->out.p + KT_BLOCK_HDR_LEN,
					     w->out.cap - KT_BLOCK_HDR_LEN,
					     w->cols.p, w->cols.len);
		if (ZSTD_isError(payload_len)) {
			err = kt_err_set(-EIO, "zstd: %s", ZSTD_getErrorName(payload_len));
			goto out;
		}
	} else {
		payload_len = w->cols.len;
		memcpy(w->out.p + KT_BLOCK_HDR_LEN, w->cols.p, payload_len);
	}
	hdr = w->out.p;
	memcpy(hdr, "KTBK", 4);
	hdr[4] = 1;
	hdr[5] = codec;
	kt_put_le16(hdr + 6, 0);
	kt_put_le32(hdr + 8, w->n);
	kt_put_le32(hdr + 12, (uint32_t)payload_len);
	kt_put_le32(hdr + 16, (uint32_t)w->cols.len);
	kt_put_le64(hdr + 20, first_ts);
	kt_put_le64(hdr + 28, last_ts);
	kt_put_le32(hdr + 36, w->seq);
	kt_put_le32(hdr + 40, (uint32_t)crc32(crc32(0, hdr, 40),
					      hdr + KT_BLOCK_HDR_LEN, (uInt)payload_len));
	w->out.len = KT_BLOCK_HDR_LEN + payload_len;
	if ((err = write_all(w->fd, w->out.p, w->out.len)))
		goto out;
	w->bytes += w->out.len;
	w->records += w->n;
	w->seq++;
	w->n = 0;
	kt_buf_reset(&w->arena);
out:
	if (err)
		w->err = err;
	return err;
}

int kt_stream_writer_append(struct kt_stream_writer *w, const void *rec)
{
	uint8_t *slot;
	int err;

	if (w->err)
		return w->err;
	slot = w->recs + (size_t)w->n * w->schema->size;
	memcpy(slot, rec, w->schema->size);
	if ((err = copy_strings(w, slot))) {
		/* the arena is full: write what we have, then retry once */
		if ((err = kt_stream_writer_flush(w)))
			return err;
		slot = w->recs;
		memcpy(slot, rec, w->schema->size);
		if ((err = copy_strings(w, slot)))
			return w->err = err;
	}
	if (++w->n == w->opts.block_records)
		return kt_stream_writer_flush(w);
	return 0;
}

uint64_t kt_stream_writer_bytes(const struct kt_stream_writer *w)
{
	return w->bytes;
}

uint64_t kt_stream_writer_records(const struct kt_stream_writer *w)
{
	return w->records + w->n;
}

int kt_stream_writer_close(struct kt_stream_writer *w)
{
	int err;

	if (!w)
		return 0;
	err = w->err ? w->err : kt_stream_writer_flush(w);
	if (w->fd >= 0 && close(w->fd) && !err)
		err = kt_err_set(-errno, "close failed: %s", strerror(errno));
	ZSTD_freeCCtx(w->zc);
	free(w->recs);
	kt_buf_release(&w->arena);
	kt_buf_release(&w->cols);
	kt_buf_release(&w->col);
	kt_buf_release(&w->out);
	free(w);
	return err;
}
